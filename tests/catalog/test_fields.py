"""The catalog fields beyond the spec: previous_keys, protect, wait_until_targetable.

Each is checked by validate, shown by explain and honoured by load_catalog.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
from click.testing import CliRunner

from pulumi_tiktok_audiences.catalog import resolve_text
from pulumi_tiktok_audiences.cli import main
from tests.catalog.helpers import declared

CATALOG = """\
advertiser_id: "111"
app_ids: ["11"]
stacks:
  dev: {}
  prod: {}
audiences:
  cart-abandoners:
    previous_keys: [carts, abandoned-carts]
    protect: false
    include: [{event: ADD_TO_CART, lookback_days: 30}]
    exclude: [{event: PURCHASE, lookback_days: 30}]
    stacks:
      prod: {protect: true, wait_until_targetable: true}
  buyers:
    wait_until_targetable: true
    include: [{event: PURCHASE, lookback_days: 30}]
"""


def test_options_resolve_per_stack_and_the_stack_wins() -> None:
    resolved = resolve_text(CATALOG, "audiences.yaml")
    assert resolved.problems == ()
    dev, prod = resolved.audiences["dev"], resolved.audiences["prod"]
    assert dev["cart-abandoners"].previous_keys == ("carts", "abandoned-carts")
    assert (dev["cart-abandoners"].protect, dev["cart-abandoners"].wait_until_targetable) == (False, None)
    assert (prod["cart-abandoners"].protect, prod["cart-abandoners"].wait_until_targetable) == (True, True)
    assert (dev["buyers"].protect, dev["buyers"].wait_until_targetable) == (None, True)


@pytest.mark.parametrize(
    ("entry", "path", "fragment"),
    [
        (
            "previous_keys: [buyers]",
            "audiences.cart-abandoners.previous_keys[0]",
            "audiences.buyers still exists",
        ),
        ("previous_keys: [cart-abandoners]", "audiences.cart-abandoners.previous_keys[0]", "own key"),
        ("previous_keys: [not a key]", "audiences.cart-abandoners.previous_keys[0]", "a key must start"),
        ("protect: yes please", "audiences.cart-abandoners.protect", "must be true or false"),
        (
            "wait_until_targetable: 1",
            "audiences.cart-abandoners.wait_until_targetable",
            "must be true or false",
        ),
    ],
)
def test_validate_refuses_what_cannot_work(entry: str, path: str, fragment: str) -> None:
    text = CATALOG.replace("previous_keys: [carts, abandoned-carts]", entry)
    problems = [p for p in resolve_text(text, "audiences.yaml").problems if p.path == path]
    assert problems, resolve_text(text, "audiences.yaml").problems
    assert fragment in problems[0].message


def test_one_old_key_can_move_to_one_audience_only() -> None:
    text = CATALOG.replace(
        "    wait_until_targetable: true\n    include: [{event: PURCHASE",
        ("    previous_keys: [carts]\n    include: [{event: PURCHASE"),
    )
    (problem,) = resolve_text(text, "audiences.yaml").problems
    assert problem.path == "audiences.buyers.previous_keys[0]"
    assert "'carts' is also a previous key of audiences.cart-abandoners" in problem.message


def test_explain_shows_the_options(tmp_path: Path) -> None:
    path = tmp_path / "audiences.yaml"
    path.write_text(CATALOG)
    result = CliRunner().invoke(main, ["explain", str(path), "--stack", "prod"])
    assert result.exit_code == 0, result.output
    assert "    Formerly carts, abandoned-carts (previous_keys): the same audience.\n" in result.stdout
    assert "    Protected: `pulumi up` refuses to delete or replace it.\n" in result.stdout
    assert "  When created, `pulumi up` waits until TikTok has calculated it" in result.stdout
    report = json.loads(CliRunner().invoke(main, ["explain", str(path), "--format", "json"]).stdout)
    dev, prod = ({a["key"]: a for a in stack["audiences"]} for stack in report["stacks"])
    assert dev["cart-abandoners"]["previous_keys"] == ["carts", "abandoned-carts"]
    assert (dev["cart-abandoners"]["protect"], prod["cart-abandoners"]["protect"]) == (False, True)


def test_load_catalog_declares_aliases_protect_and_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audiences.yaml"
    path.write_text(CATALOG)
    seen: dict[str, pulumi.ResourceOptions] = {}
    original = pulumi.CustomResource.__init__

    def spy(
        self: pulumi.CustomResource, t: str, name: str, props: Any = None, opts: Any = None, **kw: Any
    ) -> None:
        seen[name] = opts
        original(self, t, name, props, opts, **kw)

    monkeypatch.setattr(pulumi.CustomResource, "__init__", spy)
    program_opts = pulumi.ResourceOptions(protect=False, aliases=[pulumi.Alias(project="p")])
    inputs = declared(path, "prod", opts=program_opts)
    carts, buyers = seen["cart-abandoners"], seen["buyers"]
    assert carts.protect is True  # the stack's protect: true wins over the program's opts
    program_alias, *catalog_aliases = carts.aliases or []
    assert [alias.name for alias in catalog_aliases] == ["carts", "abandoned-carts"]
    assert program_alias.project == "p"
    assert buyers.protect is False  # not set in the catalog: the program's opts stand
    assert len(buyers.aliases or []) == 1
    assert inputs["cart-abandoners"]["wait_until_targetable"] is True
    assert inputs["buyers"]["wait_until_targetable"] is True


TRACKED = """\
advertiser_id: "111"
app_ids: ["11"]
tracked_events: {"11": [INSTALL, LAUNCH_APP, purchase], "12": [LOGIN]}
stacks:
  dev: {}
  prod: {tracked_events: {"11": [INSTALL, LAUNCH_APP]}}
audiences:
  never-launched:
    purpose: retargeting
    include: [{event: INSTALL, lookback_days: 30}]
    exclude: [{event: LAUNCH_APP, lookback_days: 30}]
  recent-purchasers:
    purpose: exclusion
    include: [{event: PURCHASE, lookback_days: 7}]
  other-app:
    app_ids: ["13"]
    include: [{event: SEARCH, lookback_days: 7}]
"""


def test_each_audience_gets_the_tracked_events_of_its_apps_and_the_stack_wins() -> None:
    resolved = resolve_text(TRACKED, "audiences.yaml")
    dev, prod = resolved.audiences["dev"], resolved.audiences["prod"]
    assert dev["never-launched"].spec.model_dump(mode="json")["tracked_events"] == {
        "11": ["INSTALL", "LAUNCH APP", "PURCHASE"]
    }
    assert prod["never-launched"].spec.model_dump(mode="json")["tracked_events"] == {
        "11": ["INSTALL", "LAUNCH APP"]
    }
    assert dev["other-app"].spec.tracked_events is None  # its app declares none: not checked
    assert str(dev["recent-purchasers"].spec.purpose) == "exclusion"


def test_validate_warns_of_a_rule_on_an_event_its_app_does_not_post_back() -> None:
    resolved = resolve_text(TRACKED, "audiences.yaml")
    assert resolved.problems == ()
    (warning,) = resolved.warnings
    assert (warning.line, warning.path) == (14, "audiences.recent-purchasers.include[0].event")
    assert warning.message == (
        "app 11 does not post PURCHASE back to TikTok (its tracked_events: INSTALL, LAUNCH_APP), so this "
        "rule matches nobody from that app: add PURCHASE to the app's tracked_events if your measurement "
        "partner (MMP) sends it (in stack prod)"
    )


@pytest.mark.parametrize(
    ("replace", "path", "fragment"),
    [
        ('"12": [LOGIN]', "tracked_events.12[0]", "unknown app event"),
        ('"12": [LOGIN]', "stacks.prod.tracked_events", "must map app ids"),
        ("purpose: exclusion", "audiences.recent-purchasers.purpose", "acquisition"),
    ],
)
def test_validate_refuses_wrong_tracked_events_and_purposes(replace: str, path: str, fragment: str) -> None:
    wrong = {
        "tracked_events.12[0]": '"12": [LOGN]',
        "stacks.prod.tracked_events": "",
        "audiences.recent-purchasers.purpose": "purpose: exclude",
    }[path]
    text = TRACKED.replace(replace, wrong)
    if path == "stacks.prod.tracked_events":
        text = TRACKED.replace(
            '{tracked_events: {"11": [INSTALL, LAUNCH_APP]}}', "{tracked_events: [INSTALL]}"
        )
    problems = [p for p in resolve_text(text, "audiences.yaml").problems if p.path.startswith(path)]
    assert problems, resolve_text(text, "audiences.yaml").problems
    assert fragment in problems[0].message


def test_explain_shows_purpose_and_tracked_events(tmp_path: Path) -> None:
    path = tmp_path / "audiences.yaml"
    path.write_text(TRACKED)
    result = CliRunner().invoke(main, ["explain", str(path), "--stack", "prod"])
    assert (
        "    Purpose: retargeting.\n    App 11 posts back (tracked_events): INSTALL, LAUNCH_APP.\n"
        in result.stdout
    )
