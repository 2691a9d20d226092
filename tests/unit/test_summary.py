"""AudienceSpec.summary(): the plain-English sentence shown in previews, docs and the CLI."""

from collections.abc import Sequence
from typing import Any

import pytest

from pulumi_tiktok_audiences.spec import AppEvent, AudienceSpec


def summary(
    include: Sequence[tuple[str, int]], exclude: Sequence[tuple[str, int]] = (), **fields: Any
) -> str:
    data: dict[str, Any] = {"advertiser_id": "1", "name": "n", "app_ids": ["123"], **fields}
    data["include"] = [{"event": e, "lookback_days": d} for e, d in include]
    data["exclude"] = [{"event": e, "lookback_days": d} for e, d in exclude]
    return AudienceSpec.model_validate(data).summary()


def test_lapsed_purchasers() -> None:
    assert summary([("PURCHASE", 30)], [("PURCHASE", 7)]) == (
        "People who purchased in app 123 in the last 30 days, except those who purchased in the last 7 days."
    )


def test_installed_but_never_launched() -> None:
    assert summary([("INSTALL", 30)], [("LAUNCH_APP", 30)]) == (
        "People who installed app 123 in the last 30 days, "
        "except those who launched the app in the last 30 days."
    )


def test_cart_abandoners() -> None:
    assert summary([("add to cart", 14)], [("purchase", 14)]) == (
        "People who added to cart in app 123 in the last 14 days, "
        "except those who purchased in the last 14 days."
    )


def test_exclude_recent_purchasers() -> None:
    assert summary([("LAUNCH APP", 30)], [("PURCHASE", 3)]) == (
        "People who launched app 123 in the last 30 days, except those who purchased in the last 3 days."
    )


def test_include_rules_are_alternatives_and_so_are_exclusions() -> None:
    text = summary([("INSTALL", 7), ("LOGIN", 1)], [("PURCHASE", 7), ("SUBSCRIBE", 90)])
    assert text == (
        "People who installed app 123 in the last 7 days or logged in to the app in the last 1 day, "
        "except those who purchased in the last 7 days or subscribed in the last 90 days."
    )


def test_each_rule_names_its_own_apps_when_they_differ() -> None:
    spec = AudienceSpec.model_validate(
        {
            "advertiser_id": "1",
            "name": "n",
            "include": [{"event": "PURCHASE", "lookback_days": 30, "app_ids": ["456", "123"]}],
            "exclude": [{"event": "SEARCH", "lookback_days": 2, "app_ids": ["7", "8", "9"]}],
        }
    )
    assert spec.summary() == (
        "People who purchased in apps 123 or 456 in the last 30 days, "
        "except those who searched in apps 7, 8 or 9 in the last 2 days."
    )


def test_settings_are_mentioned_only_when_they_differ_from_the_defaults() -> None:
    assert "auto-refresh" not in summary([("PURCHASE", 30)])
    assert "xpires" not in summary([("PURCHASE", 30)])
    text = summary([("PURCHASE", 30)], auto_refresh=False, retention_in_days=1)
    assert (
        text == "People who purchased in app 123 in the last 30 days (auto-refresh off). Expires after 1 day."
    )
    assert summary([("PURCHASE", 30)], retention_in_days=90).endswith(" Expires after 90 days.")
    assert "Reach & Frequency" in summary([("PURCHASE", 30)], audience_sub_type="REACH_FREQUENCY")


def test_every_event_has_its_own_natural_phrase() -> None:
    texts = {event: summary([(event.value, 5)]) for event in AppEvent}
    assert len(set(texts.values())) == len(AppEvent)
    for event, text in texts.items():
        assert text.startswith("People who ")
        assert text.endswith(" in the last 5 days.")
        assert event.value not in text  # words, not API constants
        assert "123" in text


@pytest.mark.parametrize(("days", "words"), [(1, "in the last 1 day."), (2, "in the last 2 days.")])
def test_day_counts_are_singular_or_plural(days: int, words: str) -> None:
    assert summary([("PURCHASE", days)]).endswith(words)
