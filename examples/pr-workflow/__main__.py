"""The program is the catalog: every audience of audiences.yaml, for the current stack.

Reviewers never read this file; they read audiences.yaml, the CI's `tiktok-audiences explain`
summary and each stack's `pulumi preview` diff posted on the pull request.
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
