"""`tiktok-audiences import` end to end: an account of 150 audiences of mixed types in the emulator.

The emulator creates App Activity audiences (rule/create) and lookalikes (lookalike/create) through
its API, and shares audiences between advertisers of one Business Center. It cannot create the other
types TikTok has (customer files, partner segments ...) through the API, so the fixture writes those
straight into its store, with the type name TikTok's list reports for them added to its renderer.
The imported catalog must re-validate, resolve to the very specs that were created, and adopt every
one of them through the provider (the SDK's real host) without a single rule/create call.
"""

from __future__ import annotations

import json
import math
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from pulumi.dynamic.dynamic import serialize_provider

from pulumi_tiktok_audiences import AppEvent, AudienceSpec, EventRule, constants, settings
from pulumi_tiktok_audiences.catalog import resolve_catalog, resolve_text
from pulumi_tiktok_audiences.cli import main
from pulumi_tiktok_audiences.client import AudienceDetail, RetryPolicy, TikTokClient
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    DEFAULT_TOKEN,
    IN_PROCESS_BASE_URL,
    SECOND_ADVERTISER_ID,
    SECOND_APP_ID,
    THIRD_APP_ID,
    Clock,
    Emulator,
    RunningServer,
)
from pulumi_tiktok_audiences.emulator import service as emulator_service
from pulumi_tiktok_audiences.emulator.store import AudienceRow
from pulumi_tiktok_audiences.importing import classify
from pulumi_tiktok_audiences.provider import AppActivity, props_from_spec
from pulumi_tiktok_audiences.settings import ENDPOINT_KEY, TOKEN_KEY
from tests.emulator.helpers import lookalike_body
from tests.harness.host import ProviderHost, secret

START = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
APPS = (DEFAULT_APP_ID, SECOND_APP_ID, THIRD_APP_ID)
EVENTS = list(AppEvent)
APP_COUNT, LOOKALIKES, SHARED_IN, CUSTOMER_FILES, UNREADABLE = 120, 20, 4, 3, 3
CUSTOMER_FILE_KIND = "CUSTOMER_FILE"
CUSTOMER_FILE_TYPE = "Customer File Audience"  # reference §2.4
PARTNER_RULE = '{"inclusions": null, "exclusions": null}'  # the get fixture's rule of a Partner audience


def app_spec(i: int) -> AudienceSpec:
    """Varied: events, lookbacks, one or two apps, per-rule apps, exclusions, settings, odd names."""
    event, other = EVENTS[i % len(EVENTS)], EVENTS[(i * 5 + 3) % len(EVENTS)]
    include = [EventRule(event=event, lookback_days=1 + (i * 13) % constants.LOOKBACK_DAYS_MAX)]
    if i % 5 == 0:
        include.append(EventRule(event=other, lookback_days=30, app_ids=[APPS[(i + 1) % 3]]))
    names = {7: "Käufer, letzte 30 Tage", 11: "🎯🎯", 30: "Duplicate name", 60: "Duplicate name"}
    return AudienceSpec(
        advertiser_id=DEFAULT_ADVERTISER_ID,
        name=names.get(i, f"Segment {i}: {event.name.lower()}"),
        app_ids=sorted({APPS[i % 3], APPS[(i // 4) % 3]}),
        include=include,
        exclude=[EventRule(event=AppEvent.PURCHASE, lookback_days=7)] if i % 3 == 0 else [],
        auto_refresh=i % 7 != 0,
        retention_in_days=90 if i % 9 == 0 else None,
        audience_sub_type="REACH_FREQUENCY" if i % 11 == 0 else "NORMAL",
    )


@dataclass(frozen=True)
class Account:
    emulator: Emulator
    server: RunningServer
    app: dict[str, AudienceSpec]  # id -> the spec it was created from
    lookalikes: list[str]
    shared_in: list[str]
    customer_files: list[str]
    unreadable: list[str]

    @property
    def total(self) -> int:
        return sum(
            map(len, (self.app, self.lookalikes, self.shared_in, self.customer_files, self.unreadable))
        )


def insert(emulator: Emulator, kind: str, name: str, rule: str | None) -> str:
    now = emulator.clock.time()
    with emulator.store.write() as tx:
        audience_id = tx.next_audience_id()
        tx.insert_audience(
            AudienceRow(
                audience_id=audience_id,
                advertiser_id=DEFAULT_ADVERTISER_ID,
                name=name,
                kind=kind,
                sub_type="NORMAL",
                is_auto_refresh=False,
                audience_enhancement=False,
                rule=rule,
                lookalike_spec=None,
                retention_in_days=None,
                target_size=5_000,
                create_time=now,
                calc_start=now,
                modify_time=now,
            )
        )
    return audience_id


@pytest.fixture(scope="module")
def account() -> Iterator[Account]:
    with (
        pytest.MonkeyPatch.context() as patch,
        Emulator(clock=Clock(START, frozen=True)) as emulator,
        emulator.serve(port=0) as server,
        TikTokClient(DEFAULT_TOKEN, base_url=IN_PROCESS_BASE_URL, transport=emulator.transport()) as client,
    ):
        patch.setitem(emulator_service._TYPE_NAMES, CUSTOMER_FILE_KIND, CUSTOMER_FILE_TYPE)
        app = {}
        for i in range(APP_COUNT):
            spec = app_spec(i)
            app[client.create_rule_audience(spec.to_create_payload())] = spec
        emulator.clock.advance(60)  # calculated: big enough to seed lookalikes
        sources = [
            a["audience_id"] for a in emulator.audiences(DEFAULT_ADVERTISER_ID) if a["cover_num"] >= 1000
        ]
        lookalikes = [
            client.create_lookalike({**lookalike_body(sources[n]), "custom_audience_name": f"Lookalike {n}"})
            for n in range(LOOKALIKES)
        ]
        shared_spec = app_spec(1).model_copy(update={"advertiser_id": SECOND_ADVERTISER_ID})
        shared_in = [client.create_rule_audience(shared_spec.to_create_payload()) for _ in range(SHARED_IN)]
        client.share_audiences(SECOND_ADVERTISER_ID, shared_in, [DEFAULT_ADVERTISER_ID])
        customer_files = [
            insert(emulator, CUSTOMER_FILE_KIND, f"Customers {n}", None) for n in range(CUSTOMER_FILES)
        ]
        unreadable = [insert(emulator, "APP", f"Legacy {n}", PARTNER_RULE) for n in range(UNREADABLE)]
        created = Account(emulator, server, app, lookalikes, shared_in, customer_files, unreadable)
        assert created.total == 150
        yield created


def import_(account: Account, *args: str) -> Result:
    return CliRunner(env={"TIKTOK_ACCESS_TOKEN": DEFAULT_TOKEN}).invoke(
        main,
        ["import", "--advertiser-id", DEFAULT_ADVERTISER_ID, "--endpoint", account.server.url, *args],
    )


@dataclass(frozen=True)
class Imported:
    result: Result
    path: Path
    text: str
    requests: dict[str, int]


@pytest.fixture(scope="module")
def imported(account: Account, tmp_path_factory: pytest.TempPathFactory) -> Imported:
    path = tmp_path_factory.mktemp("import") / "audiences.yaml"
    account.emulator.reset_request_counts()
    result = import_(account, "--output", str(path))
    assert result.exit_code == 0, result.output
    return Imported(result, path, path.read_text(encoding="utf-8"), account.emulator.request_counts())


def test_reads_every_page_and_details_in_batches_of_100(account: Account, imported: Imported) -> None:
    pages = math.ceil(account.total / constants.LIST_PAGE_SIZE_MAX)
    batches = math.ceil(account.total / constants.IDS_PER_GET_MAX)
    assert imported.requests == {constants.PATH_LIST: pages, constants.PATH_GET: batches}


def test_app_activity_audiences_become_entries_that_adopt_them(account: Account, imported: Imported) -> None:
    entries = yaml.safe_load(imported.text)["audiences"]
    assert {entry["adopt_audience_id"] for entry in entries.values()} == set(account.app)
    keys = {entry["adopt_audience_id"]: key for key, entry in entries.items()}
    slugs = [keys[audience_id] for audience_id, spec in account.app.items() if spec.name == "Duplicate name"]
    assert slugs == ["duplicate-name", "duplicate-name-2"]
    by_name = {spec.name: audience_id for audience_id, spec in account.app.items()}
    assert keys[by_name["Käufer, letzte 30 Tage"]] == "kaufer-letzte-30-tage"
    assert keys[by_name["🎯🎯"]] == f"audience-{by_name['🎯🎯']}"


def test_every_other_audience_is_skipped_with_its_reason(account: Account, imported: Imported) -> None:
    not_app = "only App Activity audiences can be managed"
    expected = {
        **dict.fromkeys(account.lookalikes, (constants.LOOKALIKE_TYPE_NAME, not_app)),
        **dict.fromkeys(account.customer_files, (CUSTOMER_FILE_TYPE, not_app)),
        **dict.fromkeys(
            account.shared_in, (f"shared in by advertiser {SECOND_ADVERTISER_ID}: only its owner",)
        ),
        **dict.fromkeys(
            account.unreadable,
            ("NOT VERIFIED", "rule holds no inclusion rules", "Ads Manager", "adopt_audience_id"),
        ),
    }
    reported = [line.strip() for line in imported.result.stderr.splitlines() if line.startswith("  skipped ")]
    commented = [line for line in imported.text.splitlines() if line.startswith("#   ")]
    assert len(reported) == len(commented) == len(expected) == 30
    for lines in (reported, commented):
        by_id = {line.split()[1]: line for line in lines}  # "skipped <id> ..." and "#   <id> ..."
        assert set(by_id) == set(expected)
        for audience_id, fragments in expected.items():
            assert all(fragment in by_id[audience_id] for fragment in fragments), by_id[audience_id]
    assert f"Adopting {APP_COUNT} App Activity audiences" in imported.result.stderr


def test_the_catalog_revalidates_and_resolves_to_the_created_specs(
    account: Account, imported: Imported
) -> None:
    check = CliRunner().invoke(main, ["validate", str(imported.path)])
    warning, summary = check.stdout.splitlines()
    assert check.exit_code == 0
    assert summary == f"{imported.path}: {APP_COUNT} audiences, no problems, 1 warning"
    # The account really holds two audiences named alike: the import says so, and so does validate.
    assert "warning: audiences.duplicate-name-2.name: the name 'Duplicate name' is also used" in warning
    assert warning.split(": ", 1)[1] in imported.result.stderr
    (resolved,) = resolve_catalog(imported.path).audiences.values()
    # TikTok does not report retention_in_days, so the import cannot know it; all else round-trips.
    by_id = {a.adopt_audience_id: a.spec for a in resolved.values()}
    assert by_id == {
        i: spec.model_copy(update={"retention_in_days": None}) for i, spec in account.app.items()
    }


def test_deploying_the_catalog_adopts_every_audience_and_creates_none(
    account: Account, imported: Imported
) -> None:
    (resolved,) = resolve_catalog(imported.path).audiences.values()
    blob = serialize_provider(AppActivity())
    adopted = {}
    with ProviderHost(project="imported") as host:
        host.configure({TOKEN_KEY: secret(DEFAULT_TOKEN), ENDPOINT_KEY: account.server.url})
        account.emulator.reset_request_counts()
        for key, audience in resolved.items():
            urn = f"urn:pulumi:dev::imported::pulumi-python:dynamic/tiktok:AppActivityAudience::{key}"
            news = {**props_from_spec(audience.spec), "adopt_audience_id": audience.adopt_audience_id}
            checked = host.check(urn, {}, {**news, "__provider": blob})
            assert checked.failures == [], checked.failures
            audience_id, outputs = host.create(urn, checked.inputs)
            assert outputs["name"] == audience.spec.name
            adopted[key] = audience_id
        writes = {path: account.emulator.request_counts().get(path, 0) for path in _WRITES}
    assert writes == dict.fromkeys(_WRITES, 0)
    assert sorted(adopted.values()) == sorted(account.app)
    assert all(adopted[key] == a.adopt_audience_id for key, a in resolved.items())


_WRITES = (constants.PATH_RULE_CREATE, constants.PATH_UPDATE, constants.PATH_DELETE)


def test_for_one_stack_the_account_and_adoptions_go_under_it(account: Account, tmp_path: Path) -> None:
    result = import_(account, "--stack", "prod")
    assert result.exit_code == 0, result.output
    path = tmp_path / "prod.yaml"
    path.write_text(result.stdout)
    data = yaml.safe_load(result.stdout)
    assert set(data) == {"stacks", "audiences"}
    assert data["stacks"]["prod"]["advertiser_id"] == DEFAULT_ADVERTISER_ID
    resolved = resolve_catalog(path, "prod")
    assert resolved.problems == ()
    assert {a.adopt_audience_id for a in resolved.audiences["prod"].values()} == set(account.app)


def test_failures_are_one_line_and_never_show_the_token(account: Account, tmp_path: Path) -> None:
    bad_token = "not-a-valid-token-6d1f"
    result = CliRunner(env={"TIKTOK_ACCESS_TOKEN": bad_token}).invoke(
        main, ["import", "--advertiser-id", DEFAULT_ADVERTISER_ID, "--endpoint", account.server.url]
    )
    assert result.exit_code == 1
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert "access token" in error.lower()
    assert "Traceback" not in result.output
    assert bad_token not in result.output
    no_token = CliRunner().invoke(main, ["import", "--advertiser-id", "1", "--endpoint", account.server.url])
    assert no_token.exit_code == 2
    assert "TIKTOK_ACCESS_TOKEN" in no_token.stderr
    existing = tmp_path / "audiences.yaml"
    existing.write_text("keep me")
    assert import_(account, "--output", str(existing)).exit_code == 2
    assert existing.read_text() == "keep me"
    assert import_(account, "--endpoint", "ftp://example.com").exit_code == 2


def test_skipped_lines_name_the_audience(account: Account, imported: Imported) -> None:
    lookalike = account.lookalikes[0]
    line = next(line for line in imported.result.stderr.splitlines() if lookalike in line)
    assert json.dumps("Lookalike 0") in line


def detail(**fields: object) -> AudienceDetail:
    base = {
        "audience_id": "42",
        "name": "Buyers",
        "type": constants.APP_ACTIVITY_TYPE_NAME,
        "is_creator": True,
        "owner_id": DEFAULT_ADVERTISER_ID,
        "is_auto_refresh": True,
        "expired_time": "2026-01-01 00:00:00",
        "rule": json.dumps(app_spec(0).to_rule_spec()),
    }
    return AudienceDetail.model_validate({**base, **fields})


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"expired_time": "2024-12-31 23:59:59"}, "expired on 2024-12-31 23:59:59"),
        ({"rule": None}, "TikTok reported no rule"),
        ({"rule": "{not json"}, "rule is not JSON text"),
        ({"name": " "}, "its settings are not valid here: name: must be 1 to 128 characters"),
        (
            {"is_creator": False, "owner_id": SECOND_ADVERTISER_ID},
            f"shared in by advertiser {SECOND_ADVERTISER_ID}",
        ),
        ({"type": None}, "NOT VERIFIED: TikTok's answer does not say what type of audience it is"),
        ({"type": "Lookalike Audience"}, "only App Activity audiences can be managed"),
        ({"rule": '{"inclusions": {"operator": 7, "rules": []}}'}, "NOT VERIFIED: its rules could not"),
        ({"rule": '{"inclusion_rule_set": null, "audience_rule": {"x": 1}}'}, "does not know: audience_rule"),
    ],
)
def test_classify_explains_each_skip(fields: dict[str, object], reason: str) -> None:
    """Nothing is adopted by guess, nothing skipped in silence: each skip says why (and what to do)."""
    now = datetime(2025, 1, 1, tzinfo=UTC)
    result = classify(DEFAULT_ADVERTISER_ID, [detail(**fields)], now)
    assert result.adopted == ()
    (skipped,) = result.skipped
    assert reason in skipped.reason
    (adopted,) = classify(DEFAULT_ADVERTISER_ID, [detail()], now).adopted
    assert (adopted.key, adopted.audience_id) == ("buyers", "42")


def test_an_account_with_nothing_to_adopt_gives_an_empty_valid_catalog() -> None:
    result = classify(DEFAULT_ADVERTISER_ID, [detail(type=constants.LOOKALIKE_TYPE_NAME)], datetime.now(UTC))
    text = result.to_yaml()
    assert yaml.safe_load(text)["audiences"] == {}
    resolved = resolve_text(text, "empty.yaml")
    assert resolved.problems == ()
    assert "#   42 Lookalike Audience" in text


def test_the_endpoint_comes_from_tiktok_endpoint_like_the_provider(account: Account) -> None:
    result = CliRunner(
        env={"TIKTOK_ACCESS_TOKEN": DEFAULT_TOKEN, "TIKTOK_ENDPOINT": account.server.url}
    ).invoke(main, ["import", "--advertiser-id", DEFAULT_ADVERTISER_ID])
    assert result.exit_code == 0, result.output
    assert (
        result.stderr.splitlines()[0]
        == f"Reading advertiser {DEFAULT_ADVERTISER_ID} from {account.server.url}"
    )
    assert len(yaml.safe_load(result.stdout)["audiences"]) == APP_COUNT


def test_output_dash_is_stdout(account: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = import_(account, "--output", "-")
    assert result.exit_code == 0, result.output
    assert len(yaml.safe_load(result.stdout)["audiences"]) == APP_COUNT
    assert list(tmp_path.iterdir()) == []  # no file named "-"


@pytest.mark.parametrize("problem", ["exists", "no-folder", "directory", "read-only"])
def test_the_output_is_checked_before_the_account_is_read(
    account: Account, tmp_path: Path, problem: str
) -> None:
    output = {
        "exists": tmp_path / "audiences.yaml",
        "no-folder": tmp_path / "missing" / "audiences.yaml",
        "directory": tmp_path,
        "read-only": tmp_path / "locked" / "audiences.yaml",
    }[problem]
    if problem == "exists":
        output.write_text("keep me")
    if problem == "read-only":
        output.parent.mkdir()
        output.parent.chmod(0o500)
        if os.access(output.parent, os.W_OK):  # root may write anywhere
            pytest.skip("running as a user who can write to read-only folders")
    account.emulator.reset_request_counts()
    result = import_(account, "--output", str(output))
    assert result.exit_code == 2
    assert account.emulator.request_counts() == {}  # not one API call spent
    assert str(output) in result.stderr
    assert "Traceback" not in result.output


def test_a_refused_connection_says_where_and_announces_each_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setattr(
        settings, "provider_retry_policy", lambda: RetryPolicy(max_attempts=3, initial_backoff=0.01)
    )
    result = CliRunner(env={"TIKTOK_ACCESS_TOKEN": DEFAULT_TOKEN}).invoke(
        main, ["import", "--advertiser-id", DEFAULT_ADVERTISER_ID, "--endpoint", url]
    )
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == f"Reading advertiser {DEFAULT_ADVERTISER_ID} from {url}"
    retries = [line for line in lines if line.startswith("  retrying in ")]
    assert [line.split(" after attempt ")[1][:1] for line in retries] == ["1", "2"]
    assert lines[-1].startswith("Error: ")
    assert "Traceback" not in result.output
    assert DEFAULT_TOKEN not in result.output
