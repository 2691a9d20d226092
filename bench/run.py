"""Performance benchmark: what the provider costs in API calls, time, memory and imports, against targets.

Everything runs through the real provider host (``python -m pulumi.dynamic``, driven over gRPC as
the engine drives it, eight requests in flight) against the emulator served over HTTP on
127.0.0.1. Run from the repository root:

    .venv/bin/python -m bench.run            # prints the machine, then metric | measured | target | ok

Exit status 1 when a target is missed. Not part of the test suite: the figures depend on the
machine; docs/how-it-works/benchmarks.md holds the latest ones. The rate-limit scenarios (stacks of
one developer app sharing TikTok's tier) are ``bench/ratelimit.py``.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python bench/run.py` as well as `python -m bench.run`
    sys.path.insert(0, str(REPO_ROOT))

from pulumi.dynamic.dynamic import serialize_provider  # noqa: E402
from pulumi.runtime.proto import provider_pb2  # noqa: E402

from bench.noop import NoOp  # noqa: E402
from pulumi_tiktok_audiences import constants  # noqa: E402
from pulumi_tiktok_audiences.emulator import (  # noqa: E402
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    DEFAULT_BUSINESS_CENTER_ID,
    DEFAULT_SEED,
    DEFAULT_TOKEN,
    SECOND_ADVERTISER_ID,
    AdvertiserSeed,
    Emulator,
    PopulationConfig,
    RunningServer,
    Seed,
)
from pulumi_tiktok_audiences.provider import AppActivity, props_from_spec  # noqa: E402
from pulumi_tiktok_audiences.settings import ENDPOINT_KEY, RATE_KEY, TOKEN_KEY  # noqa: E402
from pulumi_tiktok_audiences.spec import AudienceSpec  # noqa: E402
from tests.harness.bulk import add_audiences, stack_outputs  # noqa: E402
from tests.harness.host import HostError, ProviderHost, encode, secret  # noqa: E402

PROJECT = "tiktok-bench"
TYPE = "pulumi-python:dynamic/tiktok:AppActivityAudience"
PROVIDER_KEY = "__provider"
BLOB = serialize_provider(AppActivity())
IN_FLIGHT = 8  # requests the benchmark keeps in flight; the host serves 4 at a time
AGENCY_ADVERTISERS = [f"70000000000{index:05d}" for index in range(1, 21)]  # 20 ad accounts of one stack
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Row:
    metric: str
    measured: str
    target: str
    ok: bool | None  # None: reported, no target


def urn(name: str) -> str:
    return f"urn:pulumi:bench::{PROJECT}::{TYPE}::{name}"


def spec_for(advertiser_id: str, name: str) -> AudienceSpec:
    return AudienceSpec.model_validate(
        {
            "advertiser_id": advertiser_id,
            "name": name,
            "app_ids": [DEFAULT_APP_ID],
            "include": [{"event": "PURCHASE", "lookback_days": 30}],
            "exclude": [{"event": "PURCHASE", "lookback_days": 7}],
        }
    )


def parallel(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        return list(pool.map(fn, items))


def api_calls(emulator: Emulator) -> int:
    return sum(emulator.request_counts().values())


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def start_host(server: RunningServer, **config: str) -> ProviderHost:
    host = ProviderHost(project=PROJECT)
    host.configure({TOKEN_KEY: secret(DEFAULT_TOKEN), ENDPOINT_KEY: server.url, **config})
    return host


# --- scenarios ------------------------------------------------------------------------------------


def bench_stack(
    emulator: Emulator, server: RunningServer, advertisers: list[str], per_account: int, overhead: bool
) -> list[Row]:
    """Preview, refresh and memory for ``per_account`` audiences in each of ``advertisers``, in one stack
    (one host); then, with ``overhead``, the host's overhead per operation."""
    n = len(advertisers) * per_account
    label = f"{n:,} ({len(advertisers)} ad account{'s' if len(advertisers) > 1 else ''})"
    names: list[str] = []
    ids: list[str] = []
    outs: list[dict[str, Any]] = []
    inputs: list[dict[str, Any]] = []
    for advertiser in advertisers:
        mine = [f"bench audience {advertiser[-4:]} {i:04d}" for i in range(per_account)]
        spec = spec_for(advertiser, mine[0])
        made = add_audiences(emulator, spec, mine)
        names += mine
        ids += made
        outs += [{**o, PROVIDER_KEY: BLOB} for o in stack_outputs(spec, made, mine)]
        inputs += [{**props_from_spec(spec.model_copy(update={"name": m})), PROVIDER_KEY: BLOB} for m in mine]
    rows: list[Row] = []
    with start_host(server) as host:
        emulator.reset_request_counts()

        def preview(i: int) -> None:
            checked = host.check(urn(names[i]), inputs[i], inputs[i])
            assert not checked.failures, checked.failures
            diff = host.diff(urn(names[i]), ids[i], outs[i], checked.inputs)
            assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE, diff

        parallel(preview, range(n))
        calls = api_calls(emulator)
        rows.append(Row(f"preview / no-change up of {label}: API calls", str(calls), "0", calls == 0))

        emulator.reset_request_counts()
        start = time.perf_counter()
        results = parallel(lambda i: host.read(urn(names[i]), ids[i], outs[i], inputs[i]), range(n))
        elapsed = time.perf_counter() - start
        for i, (read_id, props, _) in enumerate(results):
            assert read_id == ids[i], (read_id, ids[i])
            assert props["name"] == names[i], (props.get("name"), names[i])
        limit = len(advertisers) * (math.ceil(per_account / 100) + 1)
        calls = api_calls(emulator)
        rows.append(Row(f"refresh of {label}: API calls", str(calls), f"<= {limit}", calls <= limit))
        rows.append(Row(f"refresh of {label}: wall time", f"{elapsed:.2f} s", "-", None))
        rss = peak_rss_mb(host.process.pid)
        rows.append(Row(f"host peak RSS, check+diff+read of {label}", f"{rss:.0f} MB", "< 150 MB", rss < 150))
        if overhead:
            rows.extend(bench_overhead(host, inputs[0], outs[0], ids[0]))
    return rows


def bench_overhead(host: ProviderHost, inputs: dict[str, Any], outs: dict[str, Any], id_: str) -> list[Row]:
    """Median check + diff of one audience, ours against a do-nothing provider, interleaved."""
    noop_inputs = {**inputs, PROVIDER_KEY: serialize_provider(NoOp())}
    noop_outs = {**outs, PROVIDER_KEY: noop_inputs[PROVIDER_KEY]}

    def requests(news: dict[str, Any], olds: dict[str, Any]) -> tuple[Any, Any]:
        struct, old_struct = encode(news), encode(olds)
        return (
            provider_pb2.CheckRequest(urn=urn("one"), olds=struct, news=struct),
            provider_pb2.DiffRequest(id=id_, urn=urn("one"), olds=old_struct, news=struct),
        )

    cases = {"ours": requests(inputs, outs), "noop": requests(noop_inputs, noop_outs)}
    samples: dict[str, list[float]] = {"ours": [], "noop": []}
    for round_ in range(12):
        for name, (check, diff) in cases.items():
            for _ in range(25):
                start = time.perf_counter()
                host.stub.Check(check, timeout=30)
                host.stub.Diff(diff, timeout=30)
                if round_ > 1:  # the first rounds warm up both
                    samples[name].append(time.perf_counter() - start)
    ours, noop = statistics.median(samples["ours"]) * 1e3, statistics.median(samples["noop"]) * 1e3
    return [
        Row("check+diff of one audience: median", f"{ours:.2f} ms", "-", None),
        Row("check+diff, do-nothing provider: median", f"{noop:.2f} ms", "-", None),
        Row("check+diff overhead: ours / do-nothing", f"{ours / noop:.2f} x", "<= 2", ours <= 2 * noop),
    ]


def bench_creates(
    emulator: Emulator, server: RunningServer, n: int, rate: float, burst: int, provider_rate: float
) -> list[Row]:
    """``n`` creates through the host against an emulator limit of ``rate``/s (bucket of ``burst``),
    the provider configured to pace at ``provider_rate``."""
    names = [f"bench create {i:04d}" for i in range(n)]
    inputs = [{**props_from_spec(spec_for(SECOND_ADVERTISER_ID, m)), PROVIDER_KEY: BLOB} for m in names]
    failures: list[str] = []

    def create(i: int) -> None:
        try:
            host.create(urn(names[i]), inputs[i])
        except HostError as error:
            failures.append(error.details[:200])

    with start_host(server, **{RATE_KEY: f"{provider_rate:g}"}) as host:
        emulator.reset_request_counts()
        emulator.set_rate_limit(DEFAULT_TOKEN, rate, burst)
        start = time.perf_counter()
        parallel(create, range(n))
        elapsed = time.perf_counter() - start
        emulator.clear_rate_limits()
    counts = emulator.request_counts()
    attempts = counts.get(constants.PATH_RULE_CREATE, 0)
    others = sum(counts.values()) - attempts
    made = len(emulator.audiences(SECOND_ADVERTISER_ID))
    budget = 1.1 * n / rate
    label = f"{n} creates at {rate:g} req/s (burst {burst})"
    if provider_rate != rate:
        label += f", provider at {provider_rate:g}/s"
    return [
        Row(f"{label}: wall time", f"{elapsed:.2f} s", f"<= {budget:.2f}", elapsed <= budget),
        Row(f"{label}: failed operations", str(len(failures)), "0", not failures),
        Row(f"{label}: audiences / calls", f"{made} / {attempts}", f"{n} / {n}", made == attempts == n),
        Row(f"{label}: calls refused with 40100, retried", str(attempts - made), "-", None),
        Row(f"{label}: other calls (one orphan listing per advertiser)", str(others), "1", others == 1),
    ]


def bench_import(runs: int) -> list[Row]:
    """What importing the package adds once pulumi is loaded, and what the host imports to unpickle."""
    code = (
        "import time; t0 = time.perf_counter(); import pulumi; t1 = time.perf_counter(); "
        "import {module}; t2 = time.perf_counter(); print(t2 - t1)"
    )

    def median_ms(module: str) -> float:
        times = [
            float(
                subprocess.run(  # noqa: S603 - this interpreter, fixed code
                    [sys.executable, "-c", code.format(module=module)],
                    check=True,
                    capture_output=True,
                    text=True,
                    cwd=REPO_ROOT,
                ).stdout
            )
            for _ in range(runs)
        ]
        return statistics.median(times) * 1e3

    package, provider = median_ms("pulumi_tiktok_audiences"), median_ms("pulumi_tiktok_audiences.provider")
    return [
        Row("import pulumi_tiktok_audiences after pulumi", f"{package:.0f} ms", "<= 150", package <= 150),
        Row("import ...provider after pulumi (host unpickle)", f"{provider:.0f} ms", "-", None),
        Row("serialized provider", f"{len(BLOB)} chars", "88", len(BLOB) == 88),
    ]


# --- report ---------------------------------------------------------------------------------------


def _proc_field(path: str, key: str) -> str:
    lines = Path(path).read_text().splitlines()
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(key)), "?")


def machine() -> str:
    cpu, memory = _proc_field("/proc/cpuinfo", "model name"), _proc_field("/proc/meminfo", "MemTotal")
    return (
        f"{cpu}, {os.cpu_count()} CPUs, {memory} RAM, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, pulumi {metadata.version('pulumi')}, "
        f"grpcio {metadata.version('grpcio')}"
    )


def table(rows: list[Row]) -> str:
    lines = ["| metric | measured | target | ok |", "|---|---|---|---|"]
    marks = {True: "yes", False: "**NO**", None: ""}
    lines += [f"| {r.metric} | {r.measured} | {r.target} | {marks[r.ok]} |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audiences", type=int, default=1000, help="audiences refreshed (default 1000)")
    parser.add_argument("--creates", type=int, default=300, help="audiences created (default 300)")
    parser.add_argument("--rate", type=float, default=50, help="emulator's requests per second (default 50)")
    parser.add_argument("--burst", type=int, default=None, help="emulator's bucket size (default: rate)")
    parser.add_argument(
        "--provider-rate", type=float, default=None, help="the provider's requestsPerSecond (default: rate)"
    )
    parser.add_argument("--import-runs", type=int, default=7, help="runs per import measurement")
    parser.add_argument("--per-account", type=int, default=400, help="audiences in each of 20 ad accounts")
    args = parser.parse_args()
    burst = args.burst if args.burst is not None else max(1, int(args.rate))

    print(f"Machine: {machine()}\n")
    token = DEFAULT_SEED.tokens[0]
    agency = [
        AdvertiserSeed(
            advertiser_id=a, business_center_id=DEFAULT_BUSINESS_CENTER_ID, app_ids=(DEFAULT_APP_ID,)
        )
        for a in AGENCY_ADVERTISERS
    ]
    seed = Seed(
        tokens=(token.model_copy(update={"advertiser_ids": (*token.advertiser_ids, *AGENCY_ADVERTISERS)}),),
        advertisers=(*DEFAULT_SEED.advertisers, *agency),
        population=PopulationConfig(calculating_seconds=0, growth_seconds=0),
    )
    rows: list[Row] = []
    with Emulator(seed=seed) as emulator, emulator.serve("127.0.0.1", 0) as server:
        rows += bench_stack(emulator, server, [DEFAULT_ADVERTISER_ID], args.audiences, overhead=True)
        rows += bench_stack(emulator, server, AGENCY_ADVERTISERS, args.per_account, overhead=False)
        provider_rate = args.provider_rate or args.rate
        rows += bench_creates(emulator, server, args.creates, args.rate, burst, provider_rate)
    rows += bench_import(args.import_runs)
    print(table(rows))
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
