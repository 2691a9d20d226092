"""The live suite's flows, as plain functions of a :class:`LiveTarget`.

``test_live.py`` runs them against a real account (``pytest -m live``); ``test_flows_on_emulator.py``
runs the same functions against the emulator served over HTTP, so the suite itself is tested here.
Each flow creates audiences named with the target's prefix and deletes them before it returns; the
target's ``cleanup()`` (run by the fixtures even when a step fails) removes anything left.
"""

from __future__ import annotations

from typing import Any

import yaml
from click.testing import CliRunner

from pulumi_tiktok_audiences.cli import main
from pulumi_tiktok_audiences.client import TikTokError
from pulumi_tiktok_audiences.spec import AppEvent, AudienceSpec, EventRule
from tests.live.harness import ACCEPTED, BudgetSpentError, LiveTarget, Outcome

ADOPT_KEY = "adopt_audience_id"  # the resource argument (README, "Bringing an existing audience ...")
LOOKBACKS = (0, 1, 180, 181, 365)
"""Around the assumed 1-180 day bounds (constants.LOOKBACK_DAYS_*) and up to the 365 of retention."""


def lifecycle_props(target: LiveTarget, label: str) -> dict[str, Any]:
    """An audience with an include and an exclude rule, as a program declares it."""
    return {
        "advertiser_id": target.advertiser_id,
        "name": target.name(label),
        "app_ids": [target.app_id],
        "include": [
            {"event": "PURCHASE", "lookback_days": 30},
            {"event": "ADD_TO_CART", "lookback_days": 14},
        ],
        "exclude": [{"event": "PURCHASE", "lookback_days": 7}],
    }


def lifecycle(target: LiveTarget) -> None:
    """create (include + exclude) -> get -> list -> rename -> adopt -> import -> delete, via the provider."""
    provider = target.provider()
    with target.package_clients(), target.client() as client:
        checked = provider.check({}, lifecycle_props(target, "lifecycle"))
        assert not checked.failures, checked.failures
        props = dict(checked.inputs)
        created = provider.create(props)
        audience_id = created.id
        assert audience_id

        (detail,) = client.get_audiences(target.advertiser_id, [audience_id])
        assert detail.name == props["name"]
        assert detail.rule, "get returned no rule text"
        read = provider.read(audience_id, created.outs)
        assert read.id == audience_id
        assert audience_id in {a.audience_id for a in client.list_audiences(target.advertiser_id)}

        renamed = {**props, "name": target.name("lifecycle-renamed")}
        provider.update(audience_id, created.outs, provider.check({}, renamed).inputs)
        (detail,) = client.get_audiences(target.advertiser_id, [audience_id])
        assert detail.name == renamed["name"]

        before = {a.audience_id for a in client.list_audiences(target.advertiser_id)}
        adopter = target.provider()
        adopted = adopter.create({**provider.check({}, renamed).inputs, ADOPT_KEY: audience_id})
        assert adopted.id == audience_id
        assert {a.audience_id for a in client.list_audiences(target.advertiser_id)} == before, "adopt created"

        catalog = import_account(target)
        adoptions = {entry.get(ADOPT_KEY): key for key, entry in (catalog.get("audiences") or {}).items()}
        assert audience_id in adoptions, f"import did not adopt audience {audience_id}: {catalog}"

        provider.delete(audience_id, adopted.outs)
        assert client.get_audiences(target.advertiser_id, [audience_id], missing_ok=True) == []
        assert audience_id not in {a.audience_id for a in client.list_audiences(target.advertiser_id)}


def import_account(target: LiveTarget) -> dict[str, Any]:
    """``tiktok-audiences import`` of the target's advertiser, through the command line; the catalog."""
    result = CliRunner().invoke(
        main,
        ["import", "--advertiser-id", target.advertiser_id, "--endpoint", target.settings.endpoint],
        env=target.environment(),
    )
    assert result.exit_code == 0, result.output
    catalog: dict[str, Any] = yaml.safe_load(result.stdout)
    return catalog


def probe_all(target: LiveTarget, payloads: list[tuple[str, dict[str, Any]]]) -> list[Outcome]:
    """Send each rule/create within the run's budget, read the accepted ones back (so a recording holds
    TikTok's rule text for each), then delete them in one call, also when a step failed.

    A probe TikTok answers with a server or backend code (5xxxx, 40700, 61000) or not at all is
    reported as inconclusive, not an abort; whatever it may have created, the sweeper finds by prefix.
    """
    outcomes: list[Outcome] = []
    with target.client() as client:
        try:
            for label, payload in payloads:
                try:
                    outcomes.append(Outcome(label, ACCEPTED, client.create_rule_audience(payload)))
                except (TikTokError, BudgetSpentError) as error:
                    outcomes.append(Outcome.of(label, error))
            accepted = [o.audience_id for o in outcomes if o.audience_id]
            details = client.get_audiences(target.advertiser_id, accepted) if accepted else []
            assert [d.audience_id for d in details] == accepted
        finally:
            made = [o.audience_id for o in outcomes if o.audience_id]
            if made:
                client.delete_audiences(target.advertiser_id, made)
    return outcomes


def spec_for(target: LiveTarget, label: str, event: AppEvent, lookback_days: int = 30) -> AudienceSpec:
    return AudienceSpec(
        advertiser_id=target.advertiser_id,
        name=target.name(label),
        app_ids=[target.app_id],
        include=[EventRule(event=event, lookback_days=lookback_days)],
    )


def events(target: LiveTarget) -> list[Outcome]:
    """One audience per App Activity event: which events TikTok accepts for this app."""
    payloads = [
        (event.value, spec_for(target, f"event-{event.name.lower()}", event).to_create_payload())
        for event in AppEvent
    ]
    return probe_all(target, payloads)


def lookbacks(target: LiveTarget) -> list[Outcome]:
    """Lookbacks around the assumed bounds, sent as written (the spec would refuse 0, 181 and 365)."""
    payloads = []
    for days in LOOKBACKS:
        payload = spec_for(target, f"lookback-{days}", AppEvent.PURCHASE).to_create_payload()
        for rule in payload["rule_spec"]["inclusion_rule_set"]["rules"]:
            rule["retention_days"] = days
        payloads.append((f"{days} days", payload))
    return probe_all(target, payloads)
