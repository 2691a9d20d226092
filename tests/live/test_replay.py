"""Replay every committed recording (tests/fixtures/recordings/<run>/) through the client's readers.

A recording from a real account becomes a regression test by copying its folder in (README, "Live
acceptance tests"). The committed ones were made by running the live suite against the emulator.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import pytest

from pulumi_tiktok_audiences.client.recording import CREDENTIAL_PARAMS
from pulumi_tiktok_audiences.emulator import DEFAULT_TOKEN
from tests.live.replay import EXCHANGE_GLOB, replay

RECORDINGS = Path(__file__).parents[1] / "fixtures" / "recordings"
FOLDERS = sorted({path.parent for path in RECORDINGS.rglob(EXCHANGE_GLOB)})
# TikTok's access tokens are 40 hexadecimal characters; app secrets are long hex too.
TOKEN_LIKE = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32,}(?![0-9a-fA-F])")


def assert_no_credentials(folder: Path, known: Iterable[str] = ()) -> None:
    for path in sorted(folder.glob("*.json")):
        text = path.read_text(encoding="utf-8")
        for token in known:
            assert token not in text, f"{path}: holds a token"
        assert not TOKEN_LIKE.search(text), f"{path}: holds something shaped like a token"
        entry = json.loads(text)
        if isinstance(entry, dict) and isinstance(entry.get("query"), dict):
            assert not {key.lower() for key in entry["query"]} & CREDENTIAL_PARAMS, (
                f"{path}: credential parameter"
            )


def test_recordings_are_committed() -> None:
    assert FOLDERS, f"no recordings under {RECORDINGS}"


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: str(folder.relative_to(RECORDINGS)))
def test_every_recorded_answer_reads(folder: Path) -> None:
    result = replay(folder)
    assert result.problems == []
    assert result.answers_read > 0


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: str(folder.relative_to(RECORDINGS)))
def test_no_recording_holds_a_token(folder: Path) -> None:
    assert_no_credentials(folder, [DEFAULT_TOKEN])


def test_replay_reports_a_rule_that_reads_differently_from_its_create(tmp_path: Path) -> None:
    """The check can fail: a get whose rule text says 31 days for a rule created with 30."""
    thirty_days = '\\"retention_days\\":30'
    source = next(
        folder
        for folder in FOLDERS
        if replay(folder).rules_read
        and any(thirty_days in path.read_text(encoding="utf-8") for path in folder.glob("*-get.json"))
    )
    for path in source.glob(EXCHANGE_GLOB):
        text = path.read_text(encoding="utf-8")
        if path.name.endswith("-get.json"):
            text = text.replace(thirty_days, thirty_days[:-2] + "31")
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    problems = replay(tmp_path).problems
    assert problems
    assert all("reads as" in problem for problem in problems)


def test_replay_reports_an_answer_its_reader_cannot_read(tmp_path: Path) -> None:
    entry = {
        "method": "GET",
        "path": "/open_api/v1.3/dmp/custom_audience/list/",
        "endpoint": "list",
        "query": {},
        "body": None,
        "status": 200,
        "answer": {"code": 0, "message": "OK", "request_id": "r", "data": {"list": [{"name": "no id"}]}},
    }
    (tmp_path / "0001-list.json").write_text(json.dumps(entry), encoding="utf-8")
    (problem,) = replay(tmp_path).problems
    assert problem.startswith("0001-list.json: list data unreadable")
