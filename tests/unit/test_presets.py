"""Presets: each one is the audience the issue describes, and its documented summary is true."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from pulumi_tiktok_audiences import presets
from pulumi_tiktok_audiences.spec import AppEvent, AudienceSpec, EventRule

ADVERTISER = "7000000000000000001"
APP = "6400000001"  # the app the docstrings' summaries name


def spec(include: list[tuple[AppEvent, int]], exclude: list[tuple[AppEvent, int]], name: str) -> AudienceSpec:
    """The audience written out rule by rule, independently of the presets."""
    return AudienceSpec(
        advertiser_id=ADVERTISER,
        name=name,
        app_ids=[APP],
        include=[EventRule(event=e, lookback_days=d) for e, d in include],
        exclude=[EventRule(event=e, lookback_days=d) for e, d in exclude],
    )


ACTIVE = presets.AudienceArgs(
    name="Active users", app_ids=(APP,), include=(EventRule(event=AppEvent.LAUNCH_APP, lookback_days=30),)
)

DEFAULTS: list[tuple[Callable[..., presets.AudienceArgs], presets.AudienceArgs, AudienceSpec]] = [
    (
        presets.installed_not_launched_args,
        presets.installed_not_launched_args(APP),
        spec([(AppEvent.INSTALL, 30)], [(AppEvent.LAUNCH_APP, 30)], "Installed, never launched"),
    ),
    (
        presets.lapsed_purchasers_args,
        presets.lapsed_purchasers_args(APP),
        spec([(AppEvent.PURCHASE, 30)], [(AppEvent.PURCHASE, 7)], "Lapsed purchasers"),
    ),
    (
        presets.cart_abandoners_args,
        presets.cart_abandoners_args(APP),
        spec([(AppEvent.ADD_TO_CART, 14)], [(AppEvent.PURCHASE, 14)], "Cart abandoners"),
    ),
    (
        presets.exclude_recent_purchasers,
        presets.exclude_recent_purchasers(ACTIVE),
        spec([(AppEvent.LAUNCH_APP, 30)], [(AppEvent.PURCHASE, 7)], "Active users"),
    ),
]
IDS = [function.__name__ for function, _, _ in DEFAULTS]


@pytest.mark.parametrize(("function", "args", "expected"), DEFAULTS, ids=IDS)
def test_preset_is_the_described_audience(
    function: Callable[..., presets.AudienceArgs], args: presets.AudienceArgs, expected: AudienceSpec
) -> None:
    assert args.to_spec(ADVERTISER) == expected
    assert args.summary() == expected.summary()


@pytest.mark.parametrize(("function", "args", "expected"), DEFAULTS, ids=IDS)
def test_docstring_quotes_the_summary(
    function: Callable[..., presets.AudienceArgs], args: presets.AudienceArgs, expected: AudienceSpec
) -> None:
    doc = " ".join(inspect.getdoc(function).split())  # type: ignore[union-attr]
    assert f'"{expected.summary()}"' in doc


def test_lapsed_purchasers_windows_are_parameters() -> None:
    args = presets.lapsed_purchasers_args([APP], within_days=90, not_within_days=14)
    assert args.to_spec(ADVERTISER) == spec(
        [(AppEvent.PURCHASE, 90)], [(AppEvent.PURCHASE, 14)], "Lapsed purchasers"
    )


@pytest.mark.parametrize(("within", "not_within"), [(7, 7), (7, 30)])
def test_lapsed_purchasers_refuse_an_empty_audience(within: int, not_within: int) -> None:
    with pytest.raises(ValueError, match="must be less than within_days"):
        presets.lapsed_purchasers_args(APP, within_days=within, not_within_days=not_within)


def test_windows_are_checked_against_tiktoks_lookback_range() -> None:
    with pytest.raises(ValidationError, match="lookback_days"):
        presets.cart_abandoners_args(APP, lookback_days=181)


def test_presets_accept_one_app_id_or_several() -> None:
    assert presets.cart_abandoners_args(APP).app_ids == (APP,)
    assert presets.cart_abandoners_args([APP, "6400000002"]).app_ids == (APP, "6400000002")


def test_excluding_recent_purchasers_adds_one_rule_and_is_idempotent() -> None:
    once = presets.exclude_recent_purchasers(ACTIVE)
    assert once.exclude == (EventRule(event=AppEvent.PURCHASE, lookback_days=7),)
    assert presets.exclude_recent_purchasers(once) == once


@pytest.mark.parametrize(
    "args", [presets.lapsed_purchasers_args(APP), presets.cart_abandoners_args(APP)], ids=["lapsed", "cart"]
)
def test_audiences_that_already_exclude_recent_purchasers_are_unchanged(args: presets.AudienceArgs) -> None:
    assert presets.exclude_recent_purchasers(args) == args


def test_excluding_recent_purchasers_over_another_window_and_name() -> None:
    args = presets.exclude_recent_purchasers(ACTIVE, days=14, name="Active, no purchase in 2 weeks")
    assert args.to_spec(ADVERTISER) == spec(
        [(AppEvent.LAUNCH_APP, 30)], [(AppEvent.PURCHASE, 14)], "Active, no purchase in 2 weeks"
    )


def test_args_form_does_not_import_the_pulumi_sdk() -> None:
    code = (
        "import sys; from pulumi_tiktok_audiences import presets; "
        "presets.cart_abandoners_args('1').summary(); assert 'pulumi' not in sys.modules, 'pulumi imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
