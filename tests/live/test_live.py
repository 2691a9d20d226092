"""The live acceptance suite: `pytest -m live` against a production ad account set aside for tests
(docs/operations/live-tests.md). Skipped without TIKTOK_ACCESS_TOKEN, TIKTOK_ADVERTISER_ID and
TIKTOK_APP_ID; refused on TikTok's sandbox, which serves no audience endpoint. The probes run in this
file's order within the run's budget of creates (``--live-budget``): lifecycle, lookbacks, events."""

from __future__ import annotations

import json

import pytest

from pulumi_tiktok_audiences import constants
from tests.live import flows
from tests.live.harness import ACCEPTED, REFUSED, LiveTarget, Outcome, table

# Paced at one request per 0.5 s (harness.py); waits for audiences TikTok is still processing.
pytestmark = [pytest.mark.live, pytest.mark.timeout(900)]

REFUSALS = frozenset({constants.CODE_INVALID_PARAMS, constants.CODE_PARAM_ERROR})
"""How TikTok refuses a value it does not accept; any other code is a failure of the run itself."""


def report(
    target: LiveTarget, name: str, title: str, outcomes: list[Outcome], capsys: pytest.CaptureFixture[str]
) -> None:
    """Print the table (even under capture) and keep it beside the recording."""
    with capsys.disabled():
        print("\n" + table(title, outcomes))
    if target.recorder is not None:
        target.recorder.folder.mkdir(parents=True, exist_ok=True)
        rows = [
            {"value": o.label, "result": o.result, "code": o.code, "message": o.message} for o in outcomes
        ]
        (target.recorder.folder / f"{name}.json").write_text(json.dumps(rows, indent=1) + "\n")


def test_lifecycle_create_get_list_rename_adopt_import_delete(target: LiveTarget) -> None:
    flows.lifecycle(target)


def test_lookbacks_around_the_assumed_bounds(target: LiveTarget, capsys: pytest.CaptureFixture[str]) -> None:
    outcomes = flows.lookbacks(target)
    report(target, "lookbacks", "Lookback windows (retention_days) of an App Activity rule", outcomes, capsys)
    assert {o.code for o in outcomes if o.result == REFUSED} <= REFUSALS


def test_which_app_events_tiktok_accepts(target: LiveTarget, capsys: pytest.CaptureFixture[str]) -> None:
    outcomes = flows.events(target)
    report(target, "events", f"App Activity events for app {target.app_id}", outcomes, capsys)
    assert {o.code for o in outcomes if o.result == REFUSED} <= REFUSALS
    sent = [o for o in outcomes if o.result in (ACCEPTED, REFUSED)]
    assert not sent or any(o.accepted for o in sent), "TikTok accepted no event at all: check TIKTOK_APP_ID"
