"""The live suite tested here: its flows against the emulator served over HTTP, as a user would run
them with TIKTOK_ENDPOINT=http://127.0.0.1:<port>, plus its clean-up and selection rules."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import RetriesExhaustedError
from pulumi_tiktok_audiences.client.errors import api_error
from pulumi_tiktok_audiences.client.recording import Recorder
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    DEFAULT_TOKEN,
    Clock,
    Emulator,
)
from pulumi_tiktok_audiences.settings import ProviderSettings
from pulumi_tiktok_audiences.spec import AppEvent
from tests.conftest import pytest_collection_modifyitems
from tests.live import flows
from tests.live.harness import (
    INCONCLUSIVE,
    NOT_SENT,
    PACE_ENV,
    PREFIX_ROOT,
    REQUIRED_ENV,
    SANDBOX_REFUSAL,
    LiveTarget,
    Outcome,
    refuse_sandbox,
)
from tests.live.replay import READERS, replay
from tests.live.test_replay import assert_no_credentials

ROOT = Path(__file__).parents[2]


PROCESSING_SECONDS = 0.5
"""The emulator refuses update and delete for this long after a create, as TikTok does (reference
§7.3): the flows rename and delete right after creating, so they meet it and must wait it out."""


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    start = datetime(2026, 1, 5, tzinfo=UTC).timestamp()
    with Emulator(clock=Clock(start), processing_seconds=PROCESSING_SECONDS) as instance:
        yield instance


@pytest.fixture
def target(emulator: Emulator, tmp_path: Path) -> Iterator[LiveTarget]:
    with emulator.serve() as server:
        settings = ProviderSettings(
            access_token=DEFAULT_TOKEN, endpoint=server.url, advertiser_id=DEFAULT_ADVERTISER_ID
        )
        recorder = Recorder(tmp_path / "recording", secrets=[DEFAULT_TOKEN])
        yield LiveTarget(settings, DEFAULT_APP_ID, recorder=recorder, pace_seconds=0, budget=100)


def left(emulator: Emulator, prefix: str) -> list[str]:
    return [a["name"] for a in emulator.audiences(DEFAULT_ADVERTISER_ID) if a["name"].startswith(prefix)]


def test_the_lifecycle_flow_passes_and_leaves_nothing(target: LiveTarget, emulator: Emulator) -> None:
    flows.lifecycle(target)  # renames right after the create: refused as "being processed", waited out
    assert left(emulator, target.prefix) == []
    deleted = emulator.audiences(DEFAULT_ADVERTISER_ID, include_deleted=True)
    assert [a["name"] for a in deleted] == [target.name("lifecycle-renamed")]  # one audience, renamed


def test_every_event_is_probed_once_and_deleted_again(target: LiveTarget, emulator: Emulator) -> None:
    outcomes = flows.events(target)
    assert [o.label for o in outcomes] == [event.value for event in AppEvent]
    assert all(o.accepted for o in outcomes)  # the emulator takes every published event
    assert len({o.audience_id for o in outcomes}) == len(AppEvent)
    assert left(emulator, target.prefix) == []


def test_lookbacks_outside_the_assumed_bounds_are_refused_by_the_emulator(
    target: LiveTarget, emulator: Emulator
) -> None:
    outcomes = {o.label: o for o in flows.lookbacks(target)}
    assert {label for label, o in outcomes.items() if o.accepted} == {"1 days", "180 days"}
    assert {o.code for o in outcomes.values() if not o.accepted} == {constants.CODE_PARAM_ERROR}
    assert "retention_days" in outcomes["181 days"].message
    assert left(emulator, target.prefix) == []


def test_the_budget_caps_the_audiences_a_run_creates(target: LiveTarget, emulator: Emulator) -> None:
    target.limiter.budget = 3
    outcomes = flows.events(target)
    assert [o.result for o in outcomes[:3]] == ["accepted"] * 3
    assert {o.result for o in outcomes[3:]} == {NOT_SENT}
    assert "--live-budget" in outcomes[3].message
    assert emulator.request_counts()[constants.PATH_RULE_CREATE] == 3
    assert len(emulator.audiences(DEFAULT_ADVERTISER_ID, include_deleted=True)) == 3
    assert left(emulator, target.prefix) == []


def test_the_probes_report_server_and_backend_codes_instead_of_aborting(
    target: LiveTarget, emulator: Emulator
) -> None:
    faults = [
        {"code": constants.CODE_DMP_ERROR},  # 0 days
        {"code": constants.CODE_TOO_MANY_REQUESTS_BL, "processed": True},  # 1 day: made, answered 61000
        {"code": constants.CODE_RPC_VALIDATION_ERROR},  # 180 days
        {"code": 52001},  # 181 days: another 5xxxx
    ]
    for fault in faults:
        emulator.inject_fault(constants.PATH_RULE_CREATE, count=1, **fault)  # type: ignore[arg-type]
    outcomes = flows.lookbacks(target)
    assert [(o.result, o.code) for o in outcomes[:4]] == [
        (INCONCLUSIVE, constants.CODE_DMP_ERROR),
        (INCONCLUSIVE, constants.CODE_TOO_MANY_REQUESTS_BL),
        (INCONCLUSIVE, constants.CODE_RPC_VALIDATION_ERROR),
        (INCONCLUSIVE, 52001),
    ]
    assert "may or may not have created" in outcomes[0].message  # outcome unknown, said so
    assert outcomes[-1].result == "refused"  # the probe went on to the last value (365 days)
    assert left(emulator, target.prefix) == [target.name("lookback-1")]  # made, its answer an error
    target.cleanup()  # the sweeper finds it by its prefix
    assert left(emulator, target.prefix) == []


def test_a_failing_step_leaves_nothing_behind_after_cleanup(target: LiveTarget, emulator: Emulator) -> None:
    emulator.inject_fault(constants.PATH_UPDATE, code=constants.CODE_PARAM_ERROR)  # the rename fails
    with pytest.raises(Exception, match="40002"):
        flows.lifecycle(target)
    assert left(emulator, target.prefix) == [target.name("lifecycle")]
    target.cleanup()
    assert left(emulator, target.prefix) == []


def test_cleanup_sweeps_old_leftovers_of_other_runs_but_not_running_ones(
    target: LiveTarget, emulator: Emulator
) -> None:
    with target.client() as client:
        for label in ("crashed-run", "running-run"):
            spec = flows.spec_for(target, label, AppEvent.INSTALL)
            client.create_rule_audience(
                spec.model_copy(update={"name": f"{PREFIX_ROOT}{label}"}).to_create_payload()
            )
            emulator.clock.advance(2 * 3600 if label == "crashed-run" else 0)
        client.create_rule_audience(
            flows.spec_for(target, "x", AppEvent.INSTALL)
            .model_copy(update={"name": "mine"})
            .to_create_payload()
        )
    assert len(target.cleanup()) == 1
    assert sorted(a["name"] for a in emulator.audiences(DEFAULT_ADVERTISER_ID)) == [
        "mine",
        f"{PREFIX_ROOT}running-run",
    ]


def test_the_recording_of_a_run_replays_and_holds_no_token(target: LiveTarget) -> None:
    flows.lifecycle(target)
    assert target.recorder is not None
    folder = target.recorder.folder
    result = replay(folder)
    assert result.problems == []
    assert result.rules_read >= 2  # the created audience, read back by get (create, then adopt)
    entries = [json.loads(path.read_text()) for path in folder.glob("*.json")]
    successes = [e for e in entries if e["endpoint"] in READERS and e["answer"]["code"] == 0]
    assert result.answers_read == len(successes)
    assert_no_credentials(folder, [DEFAULT_TOKEN])
    endpoints = {path.name.split("-", 1)[1] for path in folder.glob("*.json")}
    assert {"rule_create.json", "get.json", "list.json", "update.json", "delete.json"} <= endpoints


def live_environment(url: str) -> dict[str, str]:
    """What a user sets to run the live suite against the emulator at ``url`` (unpaced)."""
    return {
        "TIKTOK_ENDPOINT": url,
        "TIKTOK_ACCESS_TOKEN": DEFAULT_TOKEN,
        "TIKTOK_ADVERTISER_ID": DEFAULT_ADVERTISER_ID,
        "TIKTOK_APP_ID": DEFAULT_APP_ID,
        PACE_ENV: "0",
    }


def run_pytest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if k not in REQUIRED_ENV}, **(env or {})}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rs",
            "tests/live/test_live.py",
            *args,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_live_suite_stops_at_once_against_an_emulator_in_sandbox_mode_saying_why() -> None:
    """TikTok's sandbox serves no audience endpoint (reference §7.1): its answer to the start sweep's
    first request (40014) stops the run, with the reason, before any test."""
    with Emulator(sandbox=True) as sandbox, sandbox.serve() as server:
        run = run_pytest("-m", "live", env=live_environment(server.url))
        requests = sandbox.request_counts()
    output = run.stdout + run.stderr
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert " ".join(SANDBOX_REFUSAL.split()) in " ".join(output.split()), output
    assert "[40014]" in output
    assert "passed" not in run.stdout
    assert requests == {constants.PATH_LIST: 1}  # the sweep's list, refused; nothing after it


@pytest.mark.parametrize("endpoint", ["sandbox", "SANDBOX", constants.SANDBOX_URL + "/"])
def test_the_sandbox_endpoint_is_refused_before_any_request(endpoint: str) -> None:
    settings = ProviderSettings(
        access_token=DEFAULT_TOKEN, endpoint=endpoint, advertiser_id=DEFAULT_ADVERTISER_ID
    )
    with pytest.raises(pytest.exit.Exception) as stopped:
        refuse_sandbox(settings)
    assert str(stopped.value) == SANDBOX_REFUSAL
    refuse_sandbox(dataclasses.replace(settings, endpoint="production"))  # production passes


def test_live_tests_are_skipped_under_m_live_naming_the_variables_to_set() -> None:
    live = run_pytest("-m", "live")
    assert "3 skipped" in live.stdout, live.stdout
    assert "live tests need TIKTOK_ACCESS_TOKEN, TIKTOK_ADVERTISER_ID, TIKTOK_APP_ID" in live.stdout


@pytest.mark.parametrize(
    ("markexpr", "kept"), [("", ["unit"]), ("live", ["unit", "live"]), ("slow", ["unit", "live"])]
)
def test_without_m_the_live_tests_are_deselected(markexpr: str, kept: list[str]) -> None:
    """The selection hook (tests/conftest.py); an ``-m`` expression, whatever it is, decides alone."""
    deselected: list[object] = []
    items = [
        SimpleNamespace(name="unit", get_closest_marker=lambda _name: None),
        SimpleNamespace(name="live", get_closest_marker=lambda name: object() if name == "live" else None),
    ]
    config = SimpleNamespace(
        option=SimpleNamespace(markexpr=markexpr),
        hook=SimpleNamespace(pytest_deselected=lambda items: deselected.extend(items)),
    )
    pytest_collection_modifyitems(config, items)  # type: ignore[arg-type]
    assert [item.name for item in items] == kept
    assert len(deselected) == 2 - len(kept)


@pytest.mark.timeout(300)
def test_the_live_suite_runs_against_an_emulator_url_and_records_with_the_option(
    emulator: Emulator, tmp_path: Path
) -> None:
    """The user's way in: environment variables, ``pytest -m live --record DIR``, an emulator URL."""
    folder = tmp_path / "recording"
    with emulator.serve() as server:
        env = live_environment(server.url)
        run = run_pytest("-m", "live", "-k", "lifecycle or lookbacks", "--record", str(folder), env=env)
    assert "2 passed" in run.stdout, run.stdout + run.stderr
    assert "Lookback windows (retention_days)" in run.stdout  # the table, printed under capture
    assert emulator.audiences(DEFAULT_ADVERTISER_ID) == []  # everything made was deleted
    assert "lookbacks.json" in {path.name for path in folder.iterdir()}
    result = replay(folder)
    assert result.problems == []
    assert result.rules_read >= 1 + 2  # the lifecycle audience, and the lookbacks of 1 and 180 days
    assert_no_credentials(folder, [DEFAULT_TOKEN])


@pytest.mark.parametrize(
    ("code", "result"),
    [
        (constants.CODE_PARAM_ERROR, "refused"),
        (constants.CODE_SANDBOX_ENDPOINT_UNSUPPORTED, "refused"),
        (constants.CODE_REQUEST_TOO_FREQUENT, INCONCLUSIVE),  # says nothing about the value probed
        (constants.CODE_DMP_ERROR, INCONCLUSIVE),
        (constants.CODE_RPC_VALIDATION_ERROR, INCONCLUSIVE),
    ],
)
def test_a_probe_is_refused_only_by_an_answer_about_its_value(code: int, result: str) -> None:
    error = api_error(endpoint="rule/create", code=code, tiktok_message="no", request_id="1")
    exhausted = RetriesExhaustedError(error, attempts=5, elapsed_seconds=9.0)
    assert Outcome.of("probe", error).result == result
    assert Outcome.of("probe", exhausted).result == result
    assert Outcome.of("probe", exhausted).code == code
