"""What each example is about, beyond the shared scenarios (test_scenarios.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    SECOND_ADVERTISER_ID,
    SECOND_APP_ID,
    Emulator,
)
from tests.e2e.conftest import EngineFor
from tests.e2e.programs import AD_GROUP, NO_WRITES, PROMOTION, SINGLE, Edit, apply, live, writes
from tests.harness.engine import EngineError, project_name

# --- promotion ------------------------------------------------------------------------------------


def stack_file(stack: str) -> dict[str, str]:
    text = (PROMOTION.source / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
    config: dict[str, str] = yaml.safe_load(text)["config"]
    return config


def test_promotion_stacks_differ_only_in_advertiser_app_and_endpoint() -> None:
    dev, prod = stack_file("dev"), stack_file("prod")
    app_key = f"{project_name(PROMOTION.source)}:appId"
    assert set(dev) == set(prod)
    assert {key for key in dev if dev[key] != prod[key]} == {
        "tiktok:advertiserId",
        app_key,
        "tiktok:endpoint",
    }
    assert (dev["tiktok:endpoint"], prod["tiktok:endpoint"]) == ("local", "production")
    assert not any("token" in key.lower() for key in dev | prod), "tokens belong in encrypted config"


def test_same_code_lands_each_stack_in_its_own_ad_account(
    tmp_path: Path, engine_for: EngineFor, emulator: Emulator
) -> None:
    workdir = PROMOTION.copy_to(tmp_path / "promotion")
    prod = dataclasses.replace(PROMOTION, stack="prod")  # prod's endpoint points at the emulator here
    dev_engine = engine_for(PROMOTION, workdir)
    prod_engine = engine_for(prod, workdir)

    dev_out, prod_out = dev_engine.up().outputs, prod_engine.up().outputs

    assert (dev_out["advertiser_id"], prod_out["advertiser_id"]) == (
        DEFAULT_ADVERTISER_ID,
        SECOND_ADVERTISER_ID,
    )
    for advertiser, app, outputs in (
        (DEFAULT_ADVERTISER_ID, DEFAULT_APP_ID, dev_out),
        (SECOND_ADVERTISER_ID, SECOND_APP_ID, prod_out),
    ):
        remote = live(emulator, advertiser)
        assert set(remote) == set(outputs["audience_ids"].values())
        for audience in remote.values():
            rules = audience["rule_spec"]["inclusion_rule_set"]["rules"]
            assert {app_id for rule in rules for app_id in rule["event_source_ids"]} == {app}
    names = {
        stack: {a["name"] for a in live(emulator, adv).values()}
        for stack, adv in (("dev", DEFAULT_ADVERTISER_ID), ("prod", SECOND_ADVERTISER_ID))
    }
    assert names["dev"] == names["prod"]


# --- ad group ---------------------------------------------------------------------------------------


@pytest.fixture
def ad_group_workdir(tmp_path: Path) -> Path:
    return AD_GROUP.copy_to(tmp_path / "ad-group")


def test_ad_group_targets_the_audiences_by_their_ids(ad_group_workdir: Path, engine_for: EngineFor) -> None:
    engine = engine_for(AD_GROUP, ad_group_workdir)

    outputs = engine.up().outputs

    ids = {name: engine.resource(name).id for name in AD_GROUP.audiences}
    ad_group = engine.resource("win-back")
    assert ad_group.outputs["audience_ids"] == [ids["lapsed-purchasers"], ids["cart-abandoners"]]
    assert ad_group.outputs["excluded_audience_ids"] == [ids["installed-not-launched"]]
    assert outputs["audience_ids"] == ad_group.outputs["audience_ids"]


def test_replaced_audience_moves_the_ad_group_before_the_old_one_is_deleted(
    ad_group_workdir: Path, engine_for: EngineFor
) -> None:
    engine = engine_for(AD_GROUP, ad_group_workdir)
    engine.up()
    old_id = engine.resource(AD_GROUP.rule_change.audience).id
    apply(AD_GROUP.rule_change, ad_group_workdir)
    calls = len(engine.calls)

    engine.up()

    new_id = engine.resource(AD_GROUP.rule_change.audience).id
    ad_group = engine.resource("win-back")
    steps = [(c.op, c.id) for c in engine.calls[calls:] if c.op in ("create", "update", "delete")]
    assert steps == [("create", new_id), ("update", ad_group.id), ("delete", old_id)]
    assert new_id in ad_group.outputs["audience_ids"]
    assert old_id not in ad_group.outputs["audience_ids"]


# --- a failing program --------------------------------------------------------------------------------


def test_a_run_that_fails_check_changes_nothing(
    tmp_path: Path, engine_for: EngineFor, emulator: Emulator
) -> None:
    workdir = SINGLE.copy_to(tmp_path / "single")
    engine = engine_for(SINGLE, workdir)
    engine.up()
    before = repr(engine.state)
    # From an Output: known in the program, the value would fail there, before the engine (tested in
    # tests/contract/test_program_mocks.py); this run fails in the provider's check.
    bad = 'app_ids=[app_id, pulumi.Output.from_input("not-an-app-id")]'
    apply(Edit("lapsed-purchasers", "app_ids=[app_id]", bad), workdir)
    emulator.reset_request_counts()

    with pytest.raises(EngineError, match=r"app_ids\[1\]"):
        engine.up()

    assert repr(engine.state) == before
    assert writes(emulator) == NO_WRITES


def test_delete_before_replace_option_deletes_the_old_audience_first(
    tmp_path: Path, engine_for: EngineFor, emulator: Emulator
) -> None:
    workdir = SINGLE.copy_to(tmp_path / "single")
    opts = "opts=pulumi.ResourceOptions(delete_before_replace=True),\n        include=["
    apply(Edit("lapsed-purchasers", "include=[", opts), workdir)
    engine = engine_for(SINGLE, workdir)
    engine.up()
    old_id = engine.resource("lapsed-purchasers").id
    apply(SINGLE.rule_change, workdir)
    calls = len(engine.calls)

    engine.up()

    new_id = engine.resource("lapsed-purchasers").id
    steps = [(c.op, c.id) for c in engine.calls[calls:] if c.op in ("create", "delete")]
    assert steps == [("delete", old_id), ("create", new_id)]
    assert set(live(emulator)) == {new_id}
