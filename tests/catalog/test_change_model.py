"""The reviewer's diff says what `pulumi up` does: a property test against the real provider host.

Hypothesis makes a catalog and a changed copy of it (rules reordered, events spelled otherwise,
keys renamed with or without previous_keys, lookbacks, apps, ad accounts, names, purposes, tracked
events, waiting, sub types). Both are declared by ``load_catalog`` under Pulumi's mocks, which
record each resource's inputs as the program sends them; the engine's steps are then replayed on
one real ``python -m pulumi.dynamic`` host: Check of the base (the state), Check of the head
against it, Diff. Every audience must be classified by ``tiktok-audiences diff`` exactly as that
Diff classifies it, and a key the engine cannot match (no alias) must be an add and a delete.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pulumi.runtime.proto import provider_pb2

from pulumi_tiktok_audiences.catalog import diff_catalogs, resolve_text
from pulumi_tiktok_audiences.emulator import DEFAULT_TOKEN
from pulumi_tiktok_audiences.settings import ENDPOINT_KEY, TOKEN_KEY
from pulumi_tiktok_audiences.spec import AppEvent
from tests.catalog.helpers import declared
from tests.harness.host import ProviderHost, secret

APPS = ["6400000001", "6400000002", "6400000003"]
ACCOUNTS = ["7000000000000000001", "7000000000000000002"]
EVENTS = ["INSTALL", "LAUNCH_APP", "REGISTRATION", "ADD_TO_CART", "CHECKOUT", "PURCHASE", "SEARCH"]
SPELLINGS = {  # other ways users write each event: TikTok's string in lower case, the name with dashes
    name: [AppEvent[name].value.lower(), name.lower().replace("_", "-")] for name in EVENTS
}
MUTATIONS = [
    "reorder",
    "spelling",
    "rename-key-with-alias",
    "rename-key",
    "lookback",
    "apps",
    "account",
    "name",
    "purpose",
    "wait",
    "sub-type",
    "auto-refresh",
]
PROJECT = "catalog-test"  # as helpers.declared runs the program
TYPE = "pulumi-python:dynamic/tiktok:AppActivityAudience"


def _rules(draw: st.DrawFn, events: list[str], count: int) -> list[dict[str, Any]]:
    return [
        {"event": event, "lookback_days": draw(st.sampled_from([1, 7, 30, 60]))}
        for event in draw(st.permutations(events))[:count]
    ]


@st.composite
def audience(draw: st.DrawFn, index: int) -> dict[str, Any]:
    included = draw(st.lists(st.sampled_from(EVENTS), min_size=1, max_size=3, unique=True))
    excluded = [e for e in EVENTS if e not in included]
    entry: dict[str, Any] = {
        "name": f"Audience {index}",
        "app_ids": draw(st.lists(st.sampled_from(APPS), min_size=1, max_size=2, unique=True)),
        "include": _rules(draw, included, len(included)),
        "exclude": _rules(draw, excluded, draw(st.integers(0, 2))),
    }
    if draw(st.booleans()):
        entry["purpose"] = draw(st.sampled_from(["acquisition", "retargeting", "exclusion"]))
    return entry


@st.composite
def catalogs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A base catalog and a head made from it by a few mutations per audience."""
    count = draw(st.integers(1, 3))
    base: dict[str, Any] = {
        "advertiser_id": ACCOUNTS[0],
        "audiences": {f"audience-{i}": draw(audience(i)) for i in range(count)},
    }
    if draw(st.booleans()):
        base["tracked_events"] = {APPS[0]: sorted(EVENTS)}
    head = copy.deepcopy(base)
    if draw(st.booleans()):  # the tracked events change: stored only
        head["tracked_events"] = {APPS[0]: ["INSTALL", "PURCHASE"], APPS[1]: sorted(EVENTS)}
    renamed: dict[str, Any] = {}
    for key, entry in head["audiences"].items():
        for mutation in draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3, unique=True)):
            key = _mutate(draw, mutation, key, entry)
        renamed[key] = entry
    head["audiences"] = renamed
    return base, head


def _mutate(draw: st.DrawFn, mutation: str, key: str, entry: dict[str, Any]) -> str:
    """Apply one mutation to ``entry`` in place; the audience's key afterwards."""
    rules = [*entry["include"], *entry["exclude"]]
    if mutation == "reorder":
        entry["include"].reverse()
        entry["exclude"].reverse()
    elif mutation == "spelling":
        for rule in rules:
            rule["event"] = draw(st.sampled_from(SPELLINGS[rule["event"]]))
    elif mutation.startswith("rename-key"):
        if mutation == "rename-key-with-alias":
            entry["previous_keys"] = [key]
        entry.setdefault("name", key)
        return f"{key}-renamed"
    elif mutation == "lookback":
        rule = draw(st.sampled_from(rules))
        rule["lookback_days"] = draw(st.sampled_from([2, 14, 90]))
    elif mutation == "apps":
        entry["app_ids"] = draw(st.lists(st.sampled_from(APPS), min_size=1, max_size=3, unique=True))
    elif mutation == "account":
        entry["advertiser_id"] = ACCOUNTS[1]
    elif mutation == "name":
        entry["name"] = f"{entry['name']} (new)"
    elif mutation == "purpose":
        entry["purpose"] = draw(st.sampled_from(["acquisition", "retargeting", "exclusion"]))
    elif mutation == "wait":
        entry["wait_until_targetable"] = True
    elif mutation == "sub-type":
        entry["audience_sub_type"] = "REACH_FREQUENCY"
    elif mutation == "auto-refresh":
        entry["auto_refresh"] = False
    return key


def urn(key: str) -> str:
    return f"urn:pulumi:dev::{PROJECT}::{TYPE}::{key}"


@pytest.fixture(scope="module")
def host() -> Iterator[ProviderHost]:
    """One host for every example: check and diff call no API, and one host serves them all."""
    with ProviderHost(project=PROJECT) as started:
        started.configure({TOKEN_KEY: secret(DEFAULT_TOKEN), ENDPOINT_KEY: "http://127.0.0.1:9"})
        yield started


def engine_verdict(host: ProviderHost, old_key: str, new_key: str, olds: Any, news: Any) -> str:
    """Check the base (what the state holds), Check the head against it, then Diff, as `pulumi up`."""
    state = host.check(urn(old_key), {}, olds)
    assert state.failures == []
    checked = host.check(urn(new_key), state.inputs, news)
    assert checked.failures == []
    result = host.diff(urn(new_key), f"{old_key}-id", state.inputs, checked.inputs)
    if result.replaces:
        return "replace"
    return "update" if result.changes == provider_pb2.DiffResponse.DIFF_SOME else "same"


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
@given(pair=catalogs())
def test_the_diff_classifies_each_audience_as_the_providers_diff_does(
    host: ProviderHost, tmp_path: Path, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    base_text, head_text = (yaml.safe_dump(side, sort_keys=False) for side in pair)
    base, head = resolve_text(base_text, "base.yaml"), resolve_text(head_text, "head.yaml")
    assume(not base.problems and not head.problems)  # a mutation may make an audience always empty
    (base_path := tmp_path / "base.yaml").write_text(base_text)
    (head_path := tmp_path / "head.yaml").write_text(head_text)
    olds, news = declared(base_path, "dev"), declared(head_path, "dev")

    (diff,) = diff_catalogs(base, head)
    said = {change.key: change.kind for change in diff.changes} | dict.fromkeys(diff.unchanged, "same")
    deleted = {change.key for change in diff.changes if change.kind == "delete"}
    matched: set[str] = set()
    for key, inputs in news.items():
        aliases = pair[1]["audiences"][key].get("previous_keys", [])
        old_key = key if key in olds else next((k for k in aliases if k in olds), None)
        if old_key is None:  # the engine creates it
            assert said[key] == "add", key
            continue
        matched.add(old_key)
        assert said[key] == engine_verdict(host, old_key, key, olds[old_key], inputs), (
            key,
            base_text,
            head_text,
        )
    assert deleted == set(olds) - matched  # the engine deletes exactly the unmatched old audiences
