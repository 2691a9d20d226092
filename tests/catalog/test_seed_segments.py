"""examples/seed-segments: the four seed segments pass validate --strict and deploy on the test engine.

The policy pack's verdict on the same example (nothing reported) is in tests/policy/test_examples.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.catalog import resolve_catalog
from pulumi_tiktok_audiences.cli import main
from pulumi_tiktok_audiences.emulator import DEFAULT_TOKEN, Emulator, RunningServer
from pulumi_tiktok_audiences.settings import ENDPOINT_KEY, TOKEN_KEY
from pulumi_tiktok_audiences.spec import AppEvent, Purpose
from tests.harness.engine import Engine
from tests.harness.host import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "seed-segments"
CATALOG = EXAMPLE / "audiences.yaml"
WRITES = (constants.PATH_RULE_CREATE, constants.PATH_UPDATE, constants.PATH_DELETE)
# The seed's segments: key -> (what it is for, its rules as (event, days) pairs).
SEGMENTS = {
    "installed-not-launched": (Purpose.RETARGETING, [("INSTALL", 30)], [("LAUNCH APP", 30)]),
    "lapsed-purchasers": (Purpose.RETARGETING, [("PURCHASE", 30)], [("PURCHASE", 7)]),
    "cart-abandoners": (Purpose.RETARGETING, [("APP ADD TO CART", 14)], [("PURCHASE", 14)]),
    "recent-purchasers": (Purpose.EXCLUSION, [("PURCHASE", 7)], []),
}


def test_the_catalog_declares_the_four_seed_segments_in_every_stack() -> None:
    resolved = resolve_catalog(CATALOG)
    assert resolved.problems == ()
    assert resolved.warnings == ()
    assert resolved.stacks == ("dev", "prod")
    for stack, audiences in resolved.audiences.items():
        assert set(audiences) == set(SEGMENTS), stack
        for key, (purpose, include, exclude) in SEGMENTS.items():
            spec = audiences[key].spec
            assert spec.purpose is purpose
            assert [(r.event.value, r.lookback_days) for r in spec.include] == include
            assert [(r.event.value, r.lookback_days) for r in spec.exclude] == exclude
            assert spec.tracked_events is not None, f"{stack}: {key} declares no tracked events"
            assert spec.untracked_rules() == []
            (app,) = spec.app_ids or []
            assert spec.tracked_for(app) == (
                AppEvent.INSTALL,
                AppEvent.LAUNCH_APP,
                AppEvent.ADD_TO_CART,
                AppEvent.PURCHASE,
            )
        assert {audience.protect for audience in audiences.values()} == {True if stack == "prod" else None}


@pytest.mark.parametrize("stack", [None, "dev", "prod"])
def test_validate_strict_passes(stack: str | None) -> None:
    args = ["validate", "--strict", str(CATALOG), *(["--stack", stack] if stack else [])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output.lower()


def test_its_program_deploys_each_stack_and_a_second_up_changes_nothing(
    tmp_path: Path, server: RunningServer, emulator: Emulator
) -> None:
    project = Path(shutil.copytree(EXAMPLE, tmp_path / "project"))
    config = {ENDPOINT_KEY: server.url, TOKEN_KEY: DEFAULT_TOKEN}
    for stack in ("dev", "prod"):
        engine = Engine(project, stack=stack, config=config, secret_keys={TOKEN_KEY})
        result = engine.up()
        expected = resolve_catalog(project / "audiences.yaml", stack).audiences[stack]
        assert sorted(urn.rsplit("::", 1)[1] for urn in result.urns("create")) == sorted(SEGMENTS)
        live = {a["audience_id"]: a for a in emulator.audiences()}
        for key, audience in expected.items():
            state = engine.resource(key)
            remote = live[state.id]
            assert (remote["advertiser_id"], remote["name"]) == (
                audience.spec.advertiser_id,
                audience.spec.name,
            )
            assert remote["rule_spec"] == audience.spec.to_rule_spec()
            assert state.protect is (stack == "prod")
            assert state.outputs["purpose"] == audience.spec.purpose
        emulator.reset_request_counts()
        assert set(engine.up().steps.values()) == {"same"}
        counts = emulator.request_counts()
        assert {path: counts.get(path, 0) for path in WRITES} == dict.fromkeys(WRITES, 0)
