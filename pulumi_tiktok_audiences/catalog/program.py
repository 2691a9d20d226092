"""In a Pulumi program: declare every audience of a catalog for the current stack."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pulumi_tiktok_audiences.catalog.validation import CatalogAudience, CatalogError, resolve_catalog

if TYPE_CHECKING:
    import pulumi

    from pulumi_tiktok_audiences.resources import AppActivityAudience

__all__ = ["load_catalog"]


def load_catalog(
    path: str | Path, stack: str | None = None, *, opts: pulumi.ResourceOptions | None = None
) -> dict[str, AppActivityAudience]:
    """Declare every audience of the catalog for ``stack`` (default: the current Pulumi stack).

    A relative ``path`` is relative to the working directory, which Pulumi sets to the project's.
    Returns the resources by key. Raises :class:`CatalogError` listing every problem (the same
    lines as ``tiktok-audiences validate --stack``) before declaring anything. ``opts`` applies
    to every resource (a parent, a provider ...); an audience's ``protect`` overrides its protect,
    and its ``previous_keys`` are added to its aliases.
    """
    import pulumi

    from pulumi_tiktok_audiences.resources import AppActivityAudience

    name = stack if stack is not None else pulumi.get_stack()
    resolved = resolve_catalog(path, name)
    if resolved.problems:
        count = len(resolved.problems)
        raise CatalogError(
            f"{path} has {count} problem{'s' if count > 1 else ''} for stack {name}:\n"
            + "\n".join(f"  {problem}" for problem in resolved.problems)
        )
    for warning in resolved.warnings:
        pulumi.log.warn(str(warning))
    return {
        key: AppActivityAudience(
            key,
            advertiser_id=audience.spec.advertiser_id,
            name=audience.spec.name,
            app_ids=audience.spec.app_ids,
            include=audience.spec.include,
            exclude=audience.spec.exclude,
            auto_refresh=audience.spec.auto_refresh,
            retention_in_days=audience.spec.retention_in_days,
            audience_sub_type=audience.spec.audience_sub_type,
            match=audience.spec.match,
            purpose=audience.spec.purpose,
            tracked_events=audience.spec.model_dump(mode="json")["tracked_events"],
            adopt_audience_id=audience.adopt_audience_id,
            wait_until_targetable=audience.wait_until_targetable,
            catalog=_shown(path),
            opts=pulumi.ResourceOptions.merge(opts, _options(audience)),
        )
        for key, audience in resolved.audiences[name].items()
    }


def _shown(path: str | Path) -> str:
    """The catalog as its owner knows it: relative to the project (Pulumi's working directory)."""
    given, here = Path(path), Path.cwd()
    return str(given.relative_to(here) if given.is_absolute() and given.is_relative_to(here) else given)


def _options(audience: CatalogAudience) -> pulumi.ResourceOptions:
    """The audience's own resource options: protect when it says so, an alias per previous key."""
    import pulumi

    aliases: list[pulumi.Input[str | pulumi.Alias]] = [
        pulumi.Alias(name=key) for key in audience.previous_keys
    ]
    return pulumi.ResourceOptions(protect=audience.protect, aliases=aliases or None)
