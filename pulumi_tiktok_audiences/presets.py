"""Presets: the App Activity segments most advertisers start with, ready to declare.

Each preset comes in two forms. ``*_args`` returns :class:`AudienceArgs` (the audience without
an advertiser, plain data: a catalog or a test can inspect, combine or summarise it without the
Pulumi SDK); the plain name declares the :class:`~pulumi_tiktok_audiences.resources.AppActivityAudience`
at once. :func:`exclude_recent_purchasers` adds "except recent purchasers" to any args.

The summaries quoted below are what ``AudienceArgs.summary()`` (and the resource's ``summary``
output) say for app 6400000001 with the default windows; a unit test keeps them true.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pulumi_tiktok_audiences.spec import AppEvent, AudienceSpec, EventRule, covered_includes

if TYPE_CHECKING:
    import pulumi

    from pulumi_tiktok_audiences.resources import AppActivityAudience

__all__ = [
    "AudienceArgs",
    "cart_abandoners",
    "cart_abandoners_args",
    "exclude_recent_purchasers",
    "installed_not_launched",
    "installed_not_launched_args",
    "lapsed_purchasers",
    "lapsed_purchasers_args",
]

RECENT_PURCHASE_DAYS = 7
"""What "recent purchasers" means in the presets: purchased in the last 7 days."""

_SUMMARY_ADVERTISER = "1"
"""Any valid advertiser id: summaries never mention the advertiser, but a spec needs one."""


@dataclass(frozen=True)
class AudienceArgs:
    """An audience's arguments without its advertiser (that may come from the stack config).

    Rules without their own ``app_ids`` apply to ``app_ids``. Rule values are validated as the
    rules are built (``EventRule``); the whole audience is validated by :meth:`to_spec` and, in a
    Pulumi program, by the provider's ``check``.
    """

    name: str
    app_ids: tuple[str, ...]
    include: tuple[EventRule, ...]
    exclude: tuple[EventRule, ...] = ()

    def to_spec(self, advertiser_id: str) -> AudienceSpec:
        """The validated spec for ``advertiser_id`` (raises pydantic's ValidationError with paths)."""
        return AudienceSpec(
            advertiser_id=advertiser_id,
            name=self.name,
            app_ids=list(self.app_ids),
            include=list(self.include),
            exclude=list(self.exclude),
        )

    def summary(self) -> str:
        """The audience in plain English (``AudienceSpec.summary``)."""
        return self.to_spec(_SUMMARY_ADVERTISER).summary()

    def declare(
        self,
        resource_name: str,
        *,
        advertiser_id: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> AppActivityAudience:
        """Declare the audience in the running Pulumi program.

        ``advertiser_id`` defaults to the stack config ``tiktok:advertiserId``.
        """
        from pulumi_tiktok_audiences.resources import AppActivityAudience

        return AppActivityAudience(
            resource_name,
            advertiser_id=advertiser_id,
            name=self.name,
            app_ids=list(self.app_ids),
            include=list(self.include),
            exclude=list(self.exclude),
            opts=opts,
        )


def _app_ids(app_ids: str | Sequence[str]) -> tuple[str, ...]:
    return (app_ids,) if isinstance(app_ids, str) else tuple(app_ids)


def installed_not_launched_args(
    app_ids: str | Sequence[str], *, lookback_days: int = 30, name: str = "Installed, never launched"
) -> AudienceArgs:
    """People who installed the app but have not opened it since: Install, excluding Launch App.

    Both rules use the same window, so a launch any time after the install leaves the audience.
    "People who installed app 6400000001 in the last 30 days, except those who launched the app
    in the last 30 days."
    """
    return AudienceArgs(
        name=name,
        app_ids=_app_ids(app_ids),
        include=(EventRule(event=AppEvent.INSTALL, lookback_days=lookback_days),),
        exclude=(EventRule(event=AppEvent.LAUNCH_APP, lookback_days=lookback_days),),
    )


def lapsed_purchasers_args(
    app_ids: str | Sequence[str],
    *,
    within_days: int = 30,
    not_within_days: int = 7,
    name: str = "Lapsed purchasers",
) -> AudienceArgs:
    """People who purchased within ``within_days`` but not within the last ``not_within_days``.

    "People who purchased in app 6400000001 in the last 30 days, except those who purchased in
    the last 7 days."
    """
    include = (EventRule(event=AppEvent.PURCHASE, lookback_days=within_days),)
    exclude = (EventRule(event=AppEvent.PURCHASE, lookback_days=not_within_days),)
    if covered_includes(include, exclude):
        raise ValueError(
            f"lapsed purchasers: not_within_days ({not_within_days}) must be less than within_days "
            f"({within_days}), otherwise everyone who purchased is excluded and the audience is empty"
        )
    return AudienceArgs(name=name, app_ids=_app_ids(app_ids), include=include, exclude=exclude)


def cart_abandoners_args(
    app_ids: str | Sequence[str], *, lookback_days: int = 14, name: str = "Cart abandoners"
) -> AudienceArgs:
    """People who added to cart but did not purchase, over the same window.

    "People who added to cart in app 6400000001 in the last 14 days, except those who purchased
    in the last 14 days."
    """
    return AudienceArgs(
        name=name,
        app_ids=_app_ids(app_ids),
        include=(EventRule(event=AppEvent.ADD_TO_CART, lookback_days=lookback_days),),
        exclude=(EventRule(event=AppEvent.PURCHASE, lookback_days=lookback_days),),
    )


def exclude_recent_purchasers(
    args: AudienceArgs, *, days: int = RECENT_PURCHASE_DAYS, name: str | None = None
) -> AudienceArgs:
    """``args`` minus people who purchased in the last ``days`` days (and renamed to ``name``, if given).

    Applied to people who launched app 6400000001 in the last 30 days: "People who launched app
    6400000001 in the last 30 days, except those who purchased in the last 7 days."
    An audience that already excludes purchasers over ``days`` or more is returned unchanged
    (those people are already left out), so the helper is safe to apply to any audience.
    """
    covered = any(
        rule.event is AppEvent.PURCHASE and rule.lookback_days >= days and rule.app_ids is None
        for rule in args.exclude
    )
    recent = EventRule(event=AppEvent.PURCHASE, lookback_days=days)
    return replace(
        args,
        name=args.name if name is None else name,
        exclude=args.exclude if covered else (*args.exclude, recent),
    )


def installed_not_launched(
    resource_name: str,
    app_ids: str | Sequence[str],
    *,
    lookback_days: int = 30,
    name: str = "Installed, never launched",
    advertiser_id: pulumi.Input[str] | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> AppActivityAudience:
    """Declare :func:`installed_not_launched_args` (same summary)."""
    args = installed_not_launched_args(app_ids, lookback_days=lookback_days, name=name)
    return args.declare(resource_name, advertiser_id=advertiser_id, opts=opts)


def lapsed_purchasers(
    resource_name: str,
    app_ids: str | Sequence[str],
    *,
    within_days: int = 30,
    not_within_days: int = 7,
    name: str = "Lapsed purchasers",
    advertiser_id: pulumi.Input[str] | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> AppActivityAudience:
    """Declare :func:`lapsed_purchasers_args` (same summary)."""
    args = lapsed_purchasers_args(
        app_ids, within_days=within_days, not_within_days=not_within_days, name=name
    )
    return args.declare(resource_name, advertiser_id=advertiser_id, opts=opts)


def cart_abandoners(
    resource_name: str,
    app_ids: str | Sequence[str],
    *,
    lookback_days: int = 14,
    name: str = "Cart abandoners",
    advertiser_id: pulumi.Input[str] | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> AppActivityAudience:
    """Declare :func:`cart_abandoners_args` (same summary)."""
    args = cart_abandoners_args(app_ids, lookback_days=lookback_days, name=name)
    return args.declare(resource_name, advertiser_id=advertiser_id, opts=opts)
