"""Resources of the stand-in provider as ``program.json`` in the project declares them:
``{name: {"props": {...}, "source": <name>, "protect": bool, "delete_before_replace": bool,
"deleted_with": <name>}}``; ``source`` passes that resource's ``derived`` output and id as inputs."""

import json
from pathlib import Path

import pulumi
from recorder import Recorded

made: dict[str, Recorded] = {}
for name, entry in json.loads((Path(__file__).parent / "program.json").read_text(encoding="utf-8")).items():
    props = dict(entry.get("props", {}))
    if "source" in entry:
        props["source"] = made[entry["source"]].derived
        props["source_id"] = made[entry["source"]].id
    opts = pulumi.ResourceOptions(
        protect=entry.get("protect", False),
        delete_before_replace=entry.get("delete_before_replace"),
        deleted_with=made[entry["deleted_with"]] if "deleted_with" in entry else None,
    )
    made[name] = Recorded(name, props, opts)
