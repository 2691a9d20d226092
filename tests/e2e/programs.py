"""The Pulumi programs under test (the root program and each example) and how to change them.

Scenarios change a program the way a user would: by editing its ``__main__.py`` (in a copy).
Each edit names text that must occur exactly once, so a program change that invalidates an
edit fails loudly instead of silently testing nothing.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator import DEFAULT_TOKEN, Emulator
from tests.harness.engine import Engine, stack_config
from tests.harness.host import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
TOKEN_KEY = "tiktok:accessToken"
ENDPOINT_KEY = "tiktok:endpoint"
WRITE_PATHS = (constants.PATH_RULE_CREATE, constants.PATH_UPDATE, constants.PATH_DELETE)
NO_WRITES = dict.fromkeys(WRITE_PATHS, 0)


@dataclass(frozen=True)
class Edit:
    """Replace ``old`` by ``new`` in the program; ``audience`` is the resource it changes."""

    audience: str
    old: str
    new: str


@dataclass(frozen=True)
class Program:
    key: str
    source: Path
    audiences: tuple[str, ...]
    rename: Edit
    rule_change: Edit
    stack: str = "dev"
    others: tuple[str, ...] = ()
    """Resources of other types (stand-ins) the program declares."""

    def copy_to(self, target: Path) -> Path:
        """A working copy of the project: Pulumi.yaml, its stack files and its Python modules."""
        target.mkdir(parents=True)
        for path in sorted(self.source.glob("Pulumi*.yaml")) + sorted(self.source.glob("*.py")):
            shutil.copy2(path, target / path.name)
        return target

    def config(self, project_dir: Path, endpoint: str) -> dict[str, str]:
        """The stack's own config, pointed at ``endpoint`` with the emulator's token as a secret."""
        return {**stack_config(project_dir, self.stack), ENDPOINT_KEY: endpoint, TOKEN_KEY: DEFAULT_TOKEN}

    def engine(self, project_dir: Path, endpoint: str) -> Engine:
        return Engine(
            project_dir,
            stack=self.stack,
            config=self.config(project_dir, endpoint),
            secret_keys={TOKEN_KEY},
        )


def apply(edit: Edit, project_dir: Path) -> None:
    path = project_dir / "__main__.py"
    text = path.read_text(encoding="utf-8")
    assert text.count(edit.old) == 1, f"{edit.old!r} must occur once in {path}"
    path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")


def live(emulator: Emulator, advertiser_id: str | None = None) -> dict[str, dict[str, Any]]:
    """The emulator's (non-deleted) audiences by id."""
    return {a["audience_id"]: a for a in emulator.audiences(advertiser_id)}


def writes(emulator: Emulator) -> dict[str, int]:
    """Write requests per path (rule/create, update, delete), zeros included."""
    counts = emulator.request_counts()
    return {path: counts.get(path, 0) for path in WRITE_PATHS}


ROOT = Program(
    key="root",
    source=REPO_ROOT,
    audiences=("installed-not-launched", "lapsed-purchasers", "cart-abandoners", "active-no-recent-purchase"),
    rename=Edit(
        "cart-abandoners",
        "presets.cart_abandoners_args(app_id)",
        'presets.cart_abandoners_args(app_id, name="Cart abandoners (14 days)")',
    ),
    rule_change=Edit(
        "lapsed-purchasers",
        "presets.lapsed_purchasers_args(app_id)",
        "presets.lapsed_purchasers_args(app_id, within_days=60)",
    ),
)
SINGLE = Program(
    key="single-audience",
    source=EXAMPLES / "single-audience",
    audiences=("lapsed-purchasers",),
    rename=Edit("lapsed-purchasers", 'name="Lapsed purchasers"', 'name="Lapsed buyers"'),
    rule_change=Edit(
        "lapsed-purchasers",
        "EventRule(event=AppEvent.PURCHASE, lookback_days=30)",
        "EventRule(event=AppEvent.PURCHASE, lookback_days=60)",
    ),
)
PROMOTION = Program(
    key="promotion",
    source=EXAMPLES / "promotion",
    audiences=("lapsed-purchasers", "cart-abandoners"),
    rename=Edit(
        "cart-abandoners",
        'presets.cart_abandoners("cart-abandoners", app_id)',
        'presets.cart_abandoners("cart-abandoners", app_id, name="Abandoned carts")',
    ),
    rule_change=Edit(
        "lapsed-purchasers",
        'presets.lapsed_purchasers("lapsed-purchasers", app_id)',
        'presets.lapsed_purchasers("lapsed-purchasers", app_id, not_within_days=3)',
    ),
)
AD_GROUP = Program(
    key="ad-group-audiences",
    source=EXAMPLES / "ad-group-audiences",
    audiences=("lapsed-purchasers", "cart-abandoners", "installed-not-launched"),
    others=("win-back",),
    rename=Edit(
        "installed-not-launched",
        'presets.installed_not_launched("installed-not-launched", app_id)',
        'presets.installed_not_launched("installed-not-launched", app_id, name="Never opened")',
    ),
    rule_change=Edit(
        "cart-abandoners",
        'presets.cart_abandoners("cart-abandoners", app_id)',
        'presets.cart_abandoners("cart-abandoners", app_id, lookback_days=30)',
    ),
)
PROGRAMS = (ROOT, SINGLE, PROMOTION, AD_GROUP)
