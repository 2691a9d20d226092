"""Fixes written in the user's own form: YAML for an audience of a catalog, Python for a program.

An audience declared by ``load_catalog`` carries the catalog's path in its ``catalog`` input
(CATALOG_KEY); its owner edits audiences.yaml and never sees the Python the catalog becomes, so a
fix quoted to them must be a line they can paste there. Everyone else wrote a program.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pulumi_tiktok_audiences.spec import AppEvent, EventRule

__all__ = ["CATALOG_KEY", "Form"]

CATALOG_KEY: Final = "catalog"
"""The input load_catalog sets on each audience it declares: the catalog file, as given to it."""


@dataclass(frozen=True)
class Form:
    """How the user declared one resource: ``catalog`` is its catalog file, None for a program."""

    resource_name: str
    catalog: str | None = None

    @classmethod
    def of(cls, resource_name: str, props: Mapping[str, Any]) -> Form:
        catalog = props.get(CATALOG_KEY)
        return cls(resource_name, catalog if isinstance(catalog, str) and catalog else None)

    @property
    def where(self) -> str:
        """Where the fix goes: the audience's entry in the catalog, or the program's resource."""
        if self.catalog is None:
            return f"on the resource {self.resource_name!r} in the program"
        return f"in {self.catalog}, under audiences.{self.resource_name}"

    def rules(self, field: str, rules: Sequence[EventRule]) -> str:
        """``field`` set to ``rules``: ``exclude: [{event: PURCHASE, lookback_days: 7}]`` or
        ``exclude=[EventRule(event=AppEvent.PURCHASE, lookback_days=7)]``."""
        if self.catalog is None:
            return f"{field}=[{', '.join(map(_python_rule, rules))}]"
        return f"{field}: [{', '.join(map(_yaml_rule, rules))}]"

    def setting(self, field: str, value: bool) -> str:
        """``protect: true`` or ``protect=True``."""
        return f"{field}: {json.dumps(value)}" if self.catalog is not None else f"{field}={value!r}"

    def tracked_events(self, app_id: str, events: Iterable[AppEvent]) -> str:
        """One app's tracked events: ``tracked_events: {"640...": [INSTALL, PURCHASE]}`` at the top of
        the catalog, or ``tracked_events={"640...": [AppEvent.INSTALL, AppEvent.PURCHASE]}``."""
        if self.catalog is None:
            listed = ", ".join(f"AppEvent.{event.name}" for event in events)
            return f'tracked_events={{"{app_id}": [{listed}]}}'
        return f'tracked_events: {{"{app_id}": [{", ".join(event.name for event in events)}]}}'


def _yaml_rule(rule: EventRule) -> str:
    apps = f", app_ids: {json.dumps(rule.app_ids)}" if rule.app_ids else ""
    return f"{{event: {rule.event.name}, lookback_days: {rule.lookback_days}{apps}}}"


def _python_rule(rule: EventRule) -> str:
    apps = f", app_ids={json.dumps(rule.app_ids)}" if rule.app_ids else ""
    return f"EventRule(event=AppEvent.{rule.event.name}, lookback_days={rule.lookback_days}{apps})"
