"""The Pulumi program the reliability scenarios deploy: one audience per entry of audiences.json.

Tests change the deployment by rewriting that file between runs (rename, change rules, add,
remove), the way a user edits a program. Copied into each test's project directory as
``__main__.py``.
"""

import json
from pathlib import Path

from pulumi_tiktok_audiences import AppActivityAudience

for entry in json.loads((Path(__file__).parent / "audiences.json").read_text(encoding="utf-8")):
    AppActivityAudience(
        entry["resource"],
        name=entry["name"],
        advertiser_id=entry["advertiser_id"],
        app_ids=[entry["app_id"]],
        include=[{"event": entry["event"], "lookback_days": entry["lookback_days"]}],
    )
