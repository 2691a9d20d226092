"""Benchmark of the shared rate budget: stacks of one developer app at once, on TikTok's Basic tier.

The emulator runs as its own process (``tiktok-audiences emulator serve --rate-tier basic``), enforcing
the tier per developer app as TikTok does (10 a second and 600 a minute in rolling windows, the whole
app suspended past a limit: for the rest of the second, 5 minutes, or until 00:00 UTC). Each stack is
the real dynamic-provider host (``python -m pulumi.dynamic``, one process per stack, driven over gRPC
with 8 creates in flight), with its own token of the same developer app, ``tiktok:developerApp`` set,
and the budget in the store under test: ``local`` (the SQLite file in the cache folder) or a
redis-server started for the run. Scenarios, in real time:

- **shared**: 4 stacks creating 300 audiences each (each in its own ad account) while another tool of
  the same app (a token of its own, no budget of ours, a process of its own) reads at 30% of the tier,
  keeping to it in every rolling second (``--other-tool within``, the default) or on a fixed schedule
  that puts 4 of its requests into some rolling seconds (``--other-tool even``; see OTHER_TOOL).
  Targets: no minute or daily suspension; per-second suspensions cost at most 3% of the time; the
  total time is at most 1.15 x the least that what the other tool left allows (our calls / (10 less
  its measured rate)). Each suspension's tripping second is broken down by token, so the table shows
  how many of them the other tool's requests helped fill.
- **alone**: one stack creating 300 audiences, nobody else: at least 0.9 x the tier's 10 a second.

Run from the repository root (about 10 minutes for both stores; heavy for a 2-core machine)::

    .venv/bin/python -m bench.ratelimit                   # both scenarios, both stores
    .venv/bin/python -m bench.ratelimit --store redis --scenario alone
    .venv/bin/python -m bench.ratelimit --store local --scenario shared --other-tool even

Exit status 1 when a target is missed. The figures depend on the machine's load: the emulator stamps
each request when its process gets to it, so scheduling delays bunch requests that left evenly spaced.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python bench/ratelimit.py` as well as `python -m bench.ratelimit`
    sys.path.insert(0, str(REPO_ROOT))

from bench.run import BLOB, IN_FLIGHT, PROVIDER_KEY, Row, machine, spec_for, table, urn  # noqa: E402
from pulumi_tiktok_audiences import constants  # noqa: E402
from pulumi_tiktok_audiences.emulator.directory import fingerprint  # noqa: E402
from pulumi_tiktok_audiences.provider import props_from_spec  # noqa: E402
from pulumi_tiktok_audiences.ratestore import SQLiteStore, local_store_path, open_store  # noqa: E402
from pulumi_tiktok_audiences.settings import (  # noqa: E402
    DEVELOPER_APP_KEY,
    ENDPOINT_KEY,
    STORE_KEY,
    TIER_KEY,
    TOKEN_KEY,
)
from pulumi_tiktok_audiences.throttle import pace_at  # noqa: E402
from tests.harness.host import HostError, ProviderHost, secret  # noqa: E402
from tests.harness.redis_server import redis_server  # noqa: E402

TIER = "basic"
APP = "agency-app"  # the developer app of every token below, on the emulator's side
OTHER_TOOL_TOKEN = "agency-reporting-tool"  # noqa: S105 - a local bench token
OTHER_TOOL_SHARE = 0.3
ADVERTISERS = [f"70000000000{index:05d}" for index in range(1, 21)]
STACK_TOKENS = [f"agency-stack-{index}" for index in range(1, 5)]


def seed_file(folder: Path) -> Path:
    """Tokens of one developer app (4 stacks and another tool), 20 ad accounts, instant audiences."""
    seed = {
        "tokens": [
            {"token": token, "advertiser_ids": ADVERTISERS, "developer_app": APP}
            for token in [*STACK_TOKENS, OTHER_TOOL_TOKEN]
        ],
        "advertisers": [
            {"advertiser_id": a, "business_center_id": "7100000000000000001", "app_ids": ["6400000001"]}
            for a in ADVERTISERS
        ],
        "population": {"calculating_seconds": 0, "growth_seconds": 0},
    }
    path = folder / "seed.yaml"
    path.write_text(yaml.safe_dump(seed))
    return path


@contextlib.contextmanager
def emulator_process(folder: Path) -> Iterator[str]:
    """The emulator in a process of its own, enforcing the tier; yields its URL."""
    command = [sys.executable, "-m", "pulumi_tiktok_audiences.cli", "emulator", "serve", "--port", "0"]
    command += ["--seed", str(seed_file(folder)), "--rate-tier", TIER, "--processing-seconds", "0"]
    process = subprocess.Popen(  # noqa: S603 - this interpreter, our own command
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=30)


def control(url: str, method: str, path: str, body: Any = None) -> Any:
    answer = httpx.request(method, f"{url}/_emulator{path}", json=body, timeout=30)
    answer.raise_for_status()
    return answer.json()["data"]


# Another tool, in a process of its own as another tool would be: one list request at a time until the
# stop file appears; prints sent, refused and its running time. "within": each request leaves at least
# (1 + SHARE_MARGIN) / per_second after the one before left, so that no rolling second holds more than
# its share (a tool keeping to 30% of a rolling-second quota, with the margin a rolling window needs). "even":
# on a fixed schedule, start + n / per_second: a late request is followed by one on time, and about
# half the time the emulator's stamps put 4 of them (40% of Basic) into one rolling second.
OTHER_TOOL = """
import json, os, sys, time
import httpx
url, token, advertiser, per_second, schedule, margin, stop = sys.argv[1:]
interval = 1.0 / float(per_second)
sent = refused = 0
with httpx.Client(headers={"Access-Token": token}, timeout=30) as http:
    start = time.monotonic()
    while not os.path.exists(stop):
        last = time.monotonic()
        code = http.get(url, params={"advertiser_id": advertiser, "page_size": "1"}).json()["code"]
        sent, refused = sent + 1, refused + (code != 0)
        if sent == 3:
            print("sending", flush=True)
        due = start + sent * interval if schedule == "even" else last + interval * (1 + float(margin))
        time.sleep(max(0.0, due - time.monotonic()))
print(json.dumps([sent, refused, time.monotonic() - start]), flush=True)
"""
SHARE_MARGIN = 0.02
SCHEDULES = ("within", "even")


class OtherTool:
    """Another tool of the same developer app (a token of its own, no budget of ours), reading at
    ``per_second`` on ``schedule`` (see OTHER_TOOL) in a process of its own; refusals are counted, not
    retried."""

    def __init__(self, url: str, per_second: float, schedule: str, folder: Path) -> None:
        self._stop_file = folder / "stop-other-tool"
        self._stop_file.unlink(missing_ok=True)
        args = [url + constants.API_PREFIX + constants.PATH_LIST, OTHER_TOOL_TOKEN, ADVERTISERS[-1]]
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter and a fixed script
            [
                sys.executable,
                "-c",
                OTHER_TOOL,
                *args,
                str(per_second),
                schedule,
                str(SHARE_MARGIN),
                str(self._stop_file),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        assert self._process.stdout.readline().strip() == "sending"  # it is running before the stacks start
        self.sent = self.refused = 0
        self.rate = 0.0
        """Requests a second it sent, over its whole run."""

    def stop(self) -> None:
        self._stop_file.touch()
        out, _ = self._process.communicate(timeout=60)
        self.sent, self.refused, elapsed = json.loads(out.strip().splitlines()[-1])
        self.rate = self.sent / elapsed


def drain(host: ProviderHost) -> list[str]:
    """Read what ``host`` writes to stderr as it writes it (a full pipe would block the host), for the
    count of announced waits."""
    lines: list[str] = []
    stream = getattr(host.process, "stderr", None)
    if stream is not None:
        threading.Thread(
            target=lambda: lines.extend(line.decode(errors="replace") for line in stream), daemon=True
        ).start()
    return lines


@dataclass
class Outcome:
    elapsed: float
    ours: int
    failures: list[str]
    suspensions: list[dict[str, Any]]
    other: OtherTool | None
    announced: int
    """Lines the hosts wrote about waiting out a suspension."""
    mean_pace: float
    """The budget's pace (requests a second), sampled every half second while the stacks ran."""


def run_stacks(
    url: str,
    store: str,
    cache: Path,
    stacks: int,
    creates: int,
    app: str,
    first: int,
    other_tool: tuple[float, str] | None,
) -> Outcome:
    """``stacks`` hosts creating ``creates`` audiences each, all at once, with the budget in ``store``; stack
    ``i`` in ad account ``first + i`` (each run in accounts of its own: TikTok holds 400 audiences each)."""
    hosts = [
        ProviderHost(project=f"agency-{index}", env={"XDG_CACHE_HOME": str(cache)}) for index in range(stacks)
    ]
    stderr = [drain(host) for host in hosts]
    failures: list[str] = []
    try:
        for index, host in enumerate(hosts):
            host.configure(
                {
                    TOKEN_KEY: secret(STACK_TOKENS[index]),
                    ENDPOINT_KEY: url,
                    TIER_KEY: TIER,
                    DEVELOPER_APP_KEY: app,
                    STORE_KEY: store,
                }
            )
        control(url, "POST", "/rate_tier", {"tier": TIER})  # counts from zero
        control(url, "POST", "/requests/reset")
        other = None
        if other_tool is not None:
            share, schedule = other_tool
            other = OtherTool(url, constants.RATE_TIERS[TIER].per_second * share, schedule, cache.parent)

        def stack(index: int) -> None:
            advertiser = ADVERTISERS[first + index]
            names = [f"agency {index} audience {i:04d}" for i in range(creates)]

            def create(name: str) -> None:
                inputs = {**props_from_spec(spec_for(advertiser, name)), PROVIDER_KEY: BLOB}
                try:
                    hosts[index].create(urn(name), inputs)
                except HostError as error:
                    failures.append(error.details[:300])

            with ThreadPoolExecutor(IN_FLIGHT) as pool:
                list(pool.map(create, names))

        paces: list[float] = []
        running = threading.Event()

        def sample() -> None:
            """The pace every process of the app paces by, as the store holds it."""
            path = local_store_path({"XDG_CACHE_HOME": str(cache)})
            budget = SQLiteStore(path) if store == "local" else open_store(store)
            lane = f"{url}|{app}"
            while not running.wait(0.5):
                paces.append(pace_at(budget.read(lane), time.time(), constants.RATE_TIERS[TIER].per_second))

        sampler = threading.Thread(target=sample, daemon=True)
        start = time.perf_counter()
        sampler.start()
        threads = [threading.Thread(target=stack, args=(index,)) for index in range(stacks)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        running.set()
        if other is not None:
            other.stop()
        suspensions = control(url, "GET", "/rate_tier")["suspensions"]
        total = sum(control(url, "GET", "/requests")["counts"].values())
    finally:
        for host in hosts:
            host.close()
    announced = sum("Trying again in" in line for lines in stderr for line in lines)
    mean = sum(paces) / len(paces) if paces else 0.0
    ours = total - (other.sent if other else 0)
    return Outcome(elapsed, ours, failures, suspensions, other, announced, mean)


def shared_rows(outcome: Outcome, store: str, stacks: int, creates: int, schedule: str) -> list[Row]:
    tier = constants.RATE_TIERS[TIER]
    label = (
        f"{stacks} stacks x {creates} creates, {TIER} tier, another tool at 30% ({schedule}), store {store}"
    )
    windows = [s["window"] for s in outcome.suspensions]
    long_ones = [s for s in outcome.suspensions if s["window"] != "second"]
    refused_seconds = sum(s["seconds"] for s in outcome.suspensions if s["window"] == "second")
    share = refused_seconds / outcome.elapsed
    other_sender = fingerprint(OTHER_TOOL_TOKEN)
    tripping = Counter(
        s["senders"].get(other_sender, 0) for s in outcome.suspensions if s["window"] == "second"
    )
    other = outcome.other
    left = tier.per_second - (other.rate if other else 0.0)  # what the other tool really left
    minimum = outcome.ours / left
    return [
        Row(f"{label}: failed operations", str(len(outcome.failures)), "0", not outcome.failures),
        Row(
            f"{label}: minute or daily suspensions",
            ", ".join(f"{s['window']} at {s['start']}" for s in long_ones) or "0",
            "0",
            not long_ones,
        ),
        Row(
            f"{label}: per-second suspensions; their share of the time",
            f"{windows.count('second')}; {refused_seconds:.1f} s = {share:.1%}",
            "<= 3%",
            share <= 0.03,
        ),
        Row(
            f"{label}: per-second suspensions by the other tool's requests in the second that tripped them",
            ", ".join(f"{n} of its: {times}" for n, times in sorted(tripping.items())) or "-",
            "-",
            None,
        ),
        Row(f"{label}: waits announced on the hosts' stderr", str(outcome.announced), "-", None),
        Row(f"{label}: the budget's pace, mean of samples", f"{outcome.mean_pace:.2f} /s", "-", None),
        Row(
            f"{label}: our calls; the other tool's (refused; its rate)",
            f"{outcome.ours}; {other.sent if other else 0} ({other.refused if other else 0}; "
            f"{other.rate if other else 0.0:.2f} /s)",
            f"{stacks * (creates + 1)}; -",
            None,
        ),
        Row(
            f"{label}: wall time against the least what the other tool left allows "
            f"(our calls / {left:.2f} a second = {minimum:.1f} s)",
            f"{outcome.elapsed:.1f} s ({outcome.elapsed / minimum:.2f} x)",
            "<= 1.15 x",
            outcome.elapsed <= 1.15 * minimum,
        ),
    ]


def alone_rows(outcome: Outcome, store: str, creates: int) -> list[Row]:
    tier = constants.RATE_TIERS[TIER]
    label = f"1 stack x {creates} creates, {TIER} tier, nobody else, store {store}"
    rate = outcome.ours / outcome.elapsed
    return [
        Row(f"{label}: failed operations", str(len(outcome.failures)), "0", not outcome.failures),
        Row(
            f"{label}: suspensions",
            ", ".join(f"{s['window']} at {s['start']}" for s in outcome.suspensions) or "0",
            "-",
            None,
        ),
        Row(
            f"{label}: achieved rate ({outcome.ours} calls in {outcome.elapsed:.1f} s)",
            f"{rate:.2f} /s ({rate / tier.per_second:.2f} x the tier)",
            f">= 0.9 x {tier.per_second}",
            rate >= 0.9 * tier.per_second,
        ),
    ]


@contextlib.contextmanager
def store_for(kind: str, folder: Path) -> Iterator[str]:
    if kind == "local":
        yield "local"
    else:
        with redis_server(folder) as url:
            yield url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["local", "redis", "both"], default="both")
    parser.add_argument("--scenario", choices=["shared", "alone", "both"], default="both")
    parser.add_argument("--stacks", type=int, default=4, help="stacks of the shared scenario (default 4)")
    parser.add_argument("--creates", type=int, default=300, help="audiences each stack creates (default 300)")
    parser.add_argument(
        "--other-tool",
        choices=SCHEDULES,
        default=SCHEDULES[0],
        help="the other tool's schedule in the shared scenario (default within; see OTHER_TOOL)",
    )
    args = parser.parse_args()
    print(f"Machine: {machine()}\n")
    rows: list[Row] = []
    stores = ["local", "redis"] if args.store == "both" else [args.store]
    with tempfile.TemporaryDirectory(prefix="bench-ratelimit-") as tmp:
        folder = Path(tmp)
        with emulator_process(folder) as url:
            first = 0  # the next unused ad account
            for kind in stores:
                with store_for(kind, folder) as store:
                    cache = folder / f"cache-{kind}"
                    if args.scenario in ("shared", "both"):
                        outcome = run_stacks(
                            url,
                            store,
                            cache,
                            args.stacks,
                            args.creates,
                            APP + kind,
                            first,
                            (OTHER_TOOL_SHARE, args.other_tool),
                        )
                        first += args.stacks
                        rows += shared_rows(outcome, kind, args.stacks, args.creates, args.other_tool)
                    if args.scenario in ("alone", "both"):
                        # A budget of its own name: what the shared run learnt of others is not carried over.
                        outcome = run_stacks(
                            url, store, cache, 1, args.creates, APP + kind + "-alone", first, None
                        )
                        first += 1
                        rows += alone_rows(outcome, kind, args.creates)
    print(table(rows))
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
