"""The stack policies through AnalyzeStack, which gets every resource's outputs after all steps."""

from __future__ import annotations

from pulumi_tiktok_audiences.spec import AppEvent
from tests.policy.analyzer import PolicyAnalyzer, Resource, urn
from tests.policy.helpers import (
    ADVERTISER,
    OTHER_ADVERTISER,
    audience,
    created,
    lookalike,
    message,
    of,
    rule,
    share,
)

AD_GROUP_TYPE = "tiktok:index:AdGroup"


def audiences(count: int, advertiser: str = ADVERTISER) -> list[Resource]:
    return [
        audience(f"a{i}", f"Audience {i}", [rule(AppEvent.LAUNCH_APP, 1 + i % 180)], advertiser=advertiser)
        for i in range(count)
    ]


# --- audience-cap --------------------------------------------------------------------------------


def test_more_audiences_than_tiktoks_cap_for_one_advertiser_is_refused(dev: PolicyAnalyzer) -> None:
    resources = [*audiences(399), lookalike("lal", "Lookalike", "7300000000000000001")]
    assert of("audience-cap", dev.analyze_stack(resources)) == []
    resources.append(audience("one-more", "One more", [rule(AppEvent.INSTALL, 30)]))
    found = of("audience-cap", dev.analyze_stack(resources))
    assert [(d.level, d.urn) for d in found] == [("mandatory", "")]  # the stack itself
    text = message(found[0])
    assert f"Advertiser {ADVERTISER} has 401 audiences" in text
    assert "TikTok's cap of 400" in text


def test_each_advertiser_has_its_own_cap_and_shares_do_not_count(dev: PolicyAnalyzer) -> None:
    resources = [
        *audiences(300),
        *audiences(300, OTHER_ADVERTISER),
        *(share(f"s{i}", f"73000000000000{i:05d}") for i in range(200)),
    ]
    assert of("audience-cap", dev.analyze_stack(resources)) == []


def test_a_team_limit_below_the_cap(dev: PolicyAnalyzer) -> None:
    dev.configure({"audience-cap": {"max_audiences": 10}})
    found = of("audience-cap", dev.analyze_stack(audiences(11)))
    assert "the team's limit of 10" in message(found[0])
    assert of("audience-cap", dev.analyze_stack(audiences(10))) == []


# --- targetable-before-use -------------------------------------------------------------------------


def ad_group(name: str, *audience_ids: str) -> Resource:
    return Resource(AD_GROUP_TYPE, name, {"name": name, "audience_ids": list(audience_ids), "budget": 50.0})


def test_using_an_audience_below_1000_people_is_reported(dev: PolicyAnalyzer) -> None:
    small = created(audience("buyers", "Buyers", [rule(AppEvent.PURCHASE, 30)]), "7300000000000000011", 640)
    big = created(
        audience("launchers", "Launchers", [rule(AppEvent.LAUNCH_APP, 30)]), "7300000000000000012", 5000
    )
    group = ad_group("spring", "7300000000000000011", "7300000000000000012")
    group.dependencies = [urn("dev", small.type, small.name), urn("dev", big.type, big.name)]
    found = of("targetable-before-use", dev.analyze_stack([small, big, group]))
    assert [(d.level, d.urn) for d in found] == [("advisory", urn("dev", AD_GROUP_TYPE, "spring"))]
    text = message(found[0])
    assert "Resource spring uses the audience 'Buyers' (resource buyers) (id 7300000000000000011)" in text
    assert "640 matched users, fewer than the 1,000" in text
    assert "wait_until_targetable=True" in text


def test_the_boundary_is_exactly_1000_people(dev: PolicyAnalyzer) -> None:
    """TikTok targets from 1,000 matched users: 999 is reported, 1,000 is not."""
    for size, reported in ((999, True), (1000, False)):
        edge = created(audience("edge", "Edge", [rule(AppEvent.PURCHASE, 30)]), "7300000000000000041", size)
        found = of("targetable-before-use", dev.analyze_stack([edge, ad_group("g", "7300000000000000041")]))
        assert bool(found) is reported, size
        if reported:
            assert "999 matched users, fewer than the 1,000" in message(found[0])


def test_unknown_sizes_targetable_audiences_and_own_resources_pass(dev: PolicyAnalyzer) -> None:
    calculating = created(audience("new", "New", [rule(AppEvent.PURCHASE, 30)]), "7300000000000000021", None)
    small = created(audience("small", "Small", [rule(AppEvent.PURCHASE, 30)]), "7300000000000000022", 150)
    resources = [
        calculating,
        small,
        ad_group("g", "7300000000000000021"),
        lookalike("lal", "Lookalike of small", "7300000000000000022"),  # needs 100, not 1,000
        share("small-share", "7300000000000000022"),
    ]
    assert of("targetable-before-use", dev.analyze_stack(resources)) == []


def test_preview_outputs_without_a_size_pass(dev: PolicyAnalyzer) -> None:
    planned = audience("buyers", "Buyers", [rule(AppEvent.PURCHASE, 30)])  # preview: outputs = inputs
    assert of("targetable-before-use", dev.analyze_stack([planned, ad_group("g", "unknown")])) == []


def test_a_higher_team_minimum(dev: PolicyAnalyzer) -> None:
    mid = created(audience("mid", "Mid", [rule(AppEvent.PURCHASE, 30)]), "7300000000000000031", 1500)
    resources = [mid, ad_group("g", "7300000000000000031")]
    assert of("targetable-before-use", dev.analyze_stack(resources)) == []
    dev.configure({"targetable-before-use": {"min_size": 2000}})
    assert "fewer than the 2,000" in message(of("targetable-before-use", dev.analyze_stack(resources))[0])
