"""Catalog resolution without Pulumi: defaults and stack overrides, adoption, and where problems are."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pulumi_tiktok_audiences import AppEvent, AudienceSpec, EventRule
from pulumi_tiktok_audiences.catalog import ResolvedCatalog, resolve_catalog, resolve_text
from tests.catalog.helpers import line_with

BASE = """\
advertiser_id: "111"
app_ids: ["11"]
stacks:
  dev: {}
  prod:
    advertiser_id: "222"
    app_ids: ["22"]
"""


def resolve(text: str, stack: str | None = None) -> ResolvedCatalog:
    return resolve_text(textwrap.dedent(text), "audiences.yaml", stack)


def lines(resolved: ResolvedCatalog) -> list[str]:
    return [str(problem) for problem in resolved.problems]


def test_each_layer_overrides_the_ones_below_it() -> None:
    resolved = resolve(
        BASE
        + """\
audiences:
  plain:
    include: [{event: PURCHASE, lookback_days: 30}]
  own-apps:
    app_ids: ["33"]
    include: [{event: PURCHASE, lookback_days: 30}]
  prod-special:
    include: [{event: PURCHASE, lookback_days: 30}]
    stacks:
      prod: {advertiser_id: "444", app_ids: ["44"]}
"""
    )
    assert resolved.problems == ()
    assert resolved.stacks == ("dev", "prod")
    placed = {
        (stack, key): (a.spec.advertiser_id, a.spec.app_ids)
        for stack, audiences in resolved.audiences.items()
        for key, a in audiences.items()
    }
    assert placed == {
        ("dev", "plain"): ("111", ["11"]),
        ("prod", "plain"): ("222", ["22"]),
        ("dev", "own-apps"): ("111", ["33"]),
        ("prod", "own-apps"): ("222", ["33"]),  # the audience's own apps beat the stack's default
        ("dev", "prod-special"): ("111", ["11"]),
        ("prod", "prod-special"): ("444", ["44"]),
    }


LAYERS = ("the audience's stacks.prod", "the audience", "the catalog's stacks.prod", "the top level")
"""Where advertiser_id and app_ids may be set, nearest first (the order resolution follows)."""


def layered(nearest: int) -> str:
    """A catalog for stack prod where each layer from LAYERS[nearest] down sets its own advertiser
    ("100<layer>") and apps (["2<layer>"]), and the layers above it set nothing."""

    def placed(layer: int, indent: str) -> str:
        if layer < nearest:
            return ""
        return f'{indent}advertiser_id: "100{layer}"\n{indent}app_ids: ["2{layer}"]\n'

    own_stack = placed(0, " " * 8)
    return (
        placed(3, "")
        + "stacks:\n  prod:\n"
        + (placed(2, "    ") or "    {}\n")
        + "audiences:\n  a:\n    include: [{event: LOGIN, lookback_days: 3}]\n"
        + placed(1, "    ")
        + ("    stacks:\n      prod:\n" + own_stack if own_stack else "")
    )


@pytest.mark.parametrize("nearest", range(len(LAYERS)), ids=LAYERS)
def test_the_nearest_layer_that_sets_a_value_wins_over_every_layer_below(nearest: int) -> None:
    """Each adjacent pair of layers is pinned by one case (an audience's stacks.<stack> over the
    audience first), and every layer also beats those further down."""
    resolved = resolve(layered(nearest), "prod")
    assert resolved.problems == ()
    spec = resolved.audiences["prod"]["a"].spec
    assert (spec.advertiser_id, spec.app_ids) == (f"100{nearest}", [f"2{nearest}"]), LAYERS[nearest]


def test_an_audiences_stack_adoption_beats_its_adoption_for_every_stack() -> None:
    resolved = resolve(
        BASE
        + """\
audiences:
  a:
    include: [{event: LOGIN, lookback_days: 3}]
    adopt_audience_id: "7300000000000000001"
    stacks:
      prod: {adopt_audience_id: "7300000000000000002"}
""",
    )
    assert resolved.problems == ()
    adopted = {stack: audiences["a"].adopt_audience_id for stack, audiences in resolved.audiences.items()}
    assert adopted == {"dev": "7300000000000000001", "prod": "7300000000000000002"}


def test_an_entry_becomes_the_canonical_spec_named_after_its_key_by_default() -> None:
    resolved = resolve(
        BASE
        + """\
audiences:
  lapsed:
    include: [{event: purchase, lookback_days: 30.0}]
    exclude: [{event: "APP ADD TO CART", lookback_days: 7, app_ids: [11]}]
  named:
    name: Named in Ads Manager
    include: [{event: LOGIN, lookback_days: 1}]
""",
        stack="dev",
    )
    assert resolved.problems == ()
    expected = AudienceSpec(
        advertiser_id="111",
        name="lapsed",
        app_ids=["11"],
        include=[EventRule(event=AppEvent.PURCHASE, lookback_days=30)],
        exclude=[EventRule(event=AppEvent.ADD_TO_CART, lookback_days=7)],
    )
    assert resolved.audiences["dev"]["lapsed"].spec == expected
    assert resolved.audiences["dev"]["named"].spec.name == "Named in Ads Manager"


def test_a_catalog_without_stacks_serves_any_stack() -> None:
    text = (
        'advertiser_id: "1"\napp_ids: ["2"]\naudiences:\n  a: {include: [{event: LOGIN, lookback_days: 3}]}\n'
    )
    assert resolve(text).stacks == (None,)
    assert list(resolve(text, "anything").audiences["anything"]) == ["a"]


def test_adoption_on_the_audience_or_for_one_stack() -> None:
    resolved = resolve(
        BASE
        + """\
audiences:
  everywhere:
    include: [{event: LOGIN, lookback_days: 3}]
    adopt_audience_id: 7300000000000000001
  prod-only:
    include: [{event: LOGIN, lookback_days: 3}]
    stacks:
      prod: {adopt_audience_id: "7300000000000000002"}
""",
        stack="prod",
    )
    assert resolved.problems == ()
    adopted = {key: a.adopt_audience_id for key, a in resolved.audiences["prod"].items()}
    assert adopted == {"everywhere": "7300000000000000001", "prod-only": "7300000000000000002"}
    dev = resolve(
        BASE + "audiences:\n  a:\n    include: [{event: LOGIN, lookback_days: 3}]\n    stacks:\n"
        "      prod: {adopt_audience_id: '5'}\n",
        stack="dev",
    )
    assert dev.audiences["dev"]["a"].adopt_audience_id is None


def test_one_audience_adopted_twice_is_a_problem_at_the_second_place() -> None:
    text = (
        BASE
        + """\
audiences:
  first:
    include: [{event: LOGIN, lookback_days: 3}]
    stacks:
      dev: {adopt_audience_id: "5"}
  second:
    include: [{event: LOGIN, lookback_days: 3}]
    stacks:
      dev: {adopt_audience_id: "5"}
  everywhere:
    include: [{event: LOGIN, lookback_days: 3}]
    adopt_audience_id: "6"
"""
    )
    second, everywhere = line_with(text, '"5"', nth=2), line_with(text, '"6"')
    assert lines(resolve(text)) == [
        f"audiences.yaml:{second}: audiences.second.stacks.dev.adopt_audience_id: audience 5 is already "
        "adopted by audiences.first: one TikTok audience can be managed by one resource only (in stack dev)",
        f"audiences.yaml:{everywhere}: audiences.everywhere.adopt_audience_id: audience 6 is adopted in "
        "stacks dev and prod, but a TikTok audience belongs to one stack: put adopt_audience_id under this "
        "audience's stacks.<stack> (in stack prod)",
    ]


@pytest.mark.parametrize(
    ("text", "stack", "expected"),
    [
        pytest.param(
            BASE + "audiences: {}\n",
            "qa",
            "audiences.yaml:3: stacks: stack 'qa' is not declared here; declared: dev, prod",
            id="unknown-stack-asked",
        ),
        pytest.param(
            BASE
            + "audiences:\n  a:\n    include: [{event: LOGIN, lookback_days: 3}]\n"
            + "    stacks:\n      prd: {}\n",
            None,
            "audiences.yaml:12: audiences.a.stacks.prd: stack 'prd' is not in the catalog's top-level "
            "stacks: did you mean 'prod'? declared: dev, prod",
            id="unknown-stack-in-entry",
        ),
        pytest.param(
            "audiences:\n  a:\n    include: [{event: LOGIN, lookback_days: 3}]\n    app_ids: [1]\n",
            None,
            "audiences.yaml:2: audiences.a.advertiser_id: no advertiser_id for this audience: set "
            "advertiser_id at the top of the catalog, under stacks.<stack>, or on the audience",
            id="no-advertiser",
        ),
        pytest.param(
            "audiences:\n  a: {include: []}\n  a: {include: []}\n",
            None,
            "audiences.yaml:3: audiences.a: duplicate key 'a': it is already defined on line 2",
            id="duplicate-key",
        ),
        pytest.param(
            "audiences:\n  a: {include: [\n",
            None,
            "audiences.yaml:2: YAML syntax error: the [ opened on this line is never closed: add ] after "
            "its last item",
            id="yaml-syntax",
        ),
        pytest.param(
            "- a\n- b\n",
            None,
            "audiences.yaml:1: a catalog is a YAML mapping with an 'audiences' "
            "mapping (see `tiktok-audiences schema`)",
            id="not-a-mapping",
        ),
    ],
)
def test_problems_name_their_line_and_path(text: str, stack: str | None, expected: str) -> None:
    assert expected in lines(resolve(text, stack))


def test_a_problem_of_some_stacks_says_which() -> None:
    # Only prod lacks apps for this audience: dev has a default, prod sets no apps and neither does the rule.
    text = """\
advertiser_id: "1"
stacks:
  dev: {app_ids: ["2"]}
  prod: {}
audiences:
  a:
    include: [{event: LOGIN, lookback_days: 3}]
"""
    (problem,) = resolve(text).problems
    assert (problem.line, problem.path) == (7, "audiences.a.include[0].app_ids")
    assert problem.message.endswith("(in stack prod)")
    assert list(resolve(text).audiences["dev"]) == ["a"]


def test_valid_audiences_still_resolve_next_to_broken_ones() -> None:
    resolved = resolve(
        BASE
        + """\
audiences:
  good:
    include: [{event: LOGIN, lookback_days: 3}]
  bad:
    include: [{event: LOGIN, lookback_days: 0}]
"""
    )
    assert [p.path for p in resolved.problems] == ["audiences.bad.include[0].lookback_days"]
    assert {stack: list(a) for stack, a in resolved.audiences.items()} == {"dev": ["good"], "prod": ["good"]}


def test_resolve_catalog_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cat.yaml"
    path.write_text(BASE + "audiences:\n  a: {include: [{event: LOGIN, lookback_days: 3}]}\n")
    resolved = resolve_catalog(path, "prod")
    assert resolved.file == str(path)
    assert resolved.audiences["prod"]["a"].spec.advertiser_id == "222"
