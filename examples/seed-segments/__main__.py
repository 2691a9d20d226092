"""The four seed segments, declared from audiences.yaml for the current stack.

Everything a marketer changes is in audiences.yaml; this program only declares it and exports each
audience's id (for ad groups) and its plain-English summary.
"""

from pathlib import Path

import pulumi

from pulumi_tiktok_audiences.catalog import load_catalog

audiences = load_catalog(Path(__file__).with_name("audiences.yaml"))
pulumi.export(
    "audiences",
    {
        key: {"id": audience.audience_id, "targetable": audience.targetable, "summary": audience.summary}
        for key, audience in audiences.items()
    },
)
