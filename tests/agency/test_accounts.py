"""accounts.yaml -> stacks: parsing with problems a person can act on, stack names, stack config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    SECOND_ADVERTISER_ID,
    THIRD_ADVERTISER_ID,
)
from tests.agency.example import AGENCY_DIR, agency
from tests.harness.engine import project_name


def test_the_example_lists_three_of_the_emulators_ad_accounts_with_their_presets() -> None:
    accounts = agency.load_accounts(AGENCY_DIR / "accounts.yaml")

    assert [a.advertiser_id for a in accounts] == [
        DEFAULT_ADVERTISER_ID,
        SECOND_ADVERTISER_ID,
        THIRD_ADVERTISER_ID,
    ]
    assert [a.name for a in accounts] == ["acme-shoes", "globex-games", "initech-fitness"]
    assert accounts[0].audiences == tuple(agency.PRESETS)  # left out: every preset
    assert accounts[1].audiences == ("installed-not-launched", "lapsed-purchasers")
    assert accounts[2].app_ids == ("6400000003", "6400000001")


def test_config_keys_are_the_projects() -> None:
    assert project_name(AGENCY_DIR) == agency.PROJECT


def test_ids_may_be_numbers_and_the_name_defaults_to_the_advertiser_id() -> None:
    (account,) = agency.parse_accounts("accounts:\n  - {advertiser_id: 7000000000000000005, app_ids: [64]}\n")

    assert (account.name, account.advertiser_id, account.app_ids) == ("7000000000000000005",) * 2 + (("64",),)


def test_every_problem_is_reported_with_where_it_is_and_what_to_write() -> None:
    text = """accounts:
  - {name: "acme shoes", advertiser_id: 0, app_ids: []}
  - {name: ok, advertiser_id: 5, app_ids: ["x"], audiences: [lookalikes]}
  - {name: dup, advertiser_id: 6, app_ids: [1], region: eu}
  - {name: dup, advertiser_id: 7, app_ids: "1"}
  - {name: other, advertiser_id: 7, app_ids: [1]}
  - {app_ids: [1]}
  - just text
"""
    with pytest.raises(agency.AccountsError) as caught:
        agency.parse_accounts(text, "accounts.yaml")

    problems = str(caught.value).splitlines()
    expected = [
        "accounts.yaml: accounts[0].name: must be 1 to 64 letters, digits, '-', '_' or '.'",
        "accounts.yaml: accounts[0].advertiser_id: an advertiser id must be a positive whole number",
        "accounts.yaml: accounts[0].app_ids: must hold at least 1 app id; got 0",
        "accounts.yaml: accounts[1].app_ids[0]: an app id must be a positive whole number",
        "accounts.yaml: accounts[1].audiences: must be some of ['lapsed-purchasers', 'cart-abandoners', "
        "'installed-not-launched'] (leave it out for all); got ['lookalikes']",
        "accounts.yaml: accounts[2].region: unknown key: an account takes name, advertiser_id, app_ids and "
        "audiences",
        "accounts.yaml: accounts[3].app_ids: must be a list of at least 1 app id; got the string '1'",
        "accounts.yaml: accounts[5].advertiser_id: missing: every account needs it",
        "accounts.yaml: accounts[6]: expected a mapping (`key: value` lines)",
    ]
    for start in expected:
        assert sum(line.startswith(start) for line in problems) == 1, (start, problems)
    # accounts[3] is refused, so accounts[2]'s name and accounts[4]'s id are no duplicates.
    assert len(problems) == len(expected)


def test_an_account_listed_twice_is_refused_naming_both_entries() -> None:
    text = """accounts:
  - {name: a, advertiser_id: 5, app_ids: [1]}
  - {app_ids: x}
  - {name: a, advertiser_id: 5, app_ids: [2]}
"""

    with pytest.raises(agency.AccountsError) as caught:
        agency.parse_accounts(text, "accounts.yaml")

    lines = str(caught.value).splitlines()
    assert (
        "accounts.yaml: accounts[2].name: a is also accounts[0]'s; each ad account is one stack, listed once"
        in lines
    )
    assert any(
        line.startswith("accounts.yaml: accounts[2].advertiser_id: 5 is also accounts[0]'s") for line in lines
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("accounts: []\n", "expected `accounts:` with a list of ad accounts"),
        ("- {advertiser_id: 5}\n", "expected `accounts:` with a list of ad accounts"),
        ("accounts: [\n", "not YAML"),
    ],
)
def test_a_file_that_is_not_a_list_of_accounts_says_so(text: str, says: str) -> None:
    with pytest.raises(agency.AccountsError, match=says):
        agency.parse_accounts(text)


def test_a_yaml_error_points_at_the_files_line_and_column() -> None:
    text = 'accounts:\n  - name: a\n    advertiser_id: "1"\n   app_ids: [1]\n'
    with pytest.raises(agency.AccountsError) as caught:
        agency.parse_accounts(text, "clients/accounts.yaml")
    assert 'in "clients/accounts.yaml", line 4, column 4' in str(caught.value)
    assert "<unicode string>" not in str(caught.value)


@pytest.mark.parametrize(
    ("prefix", "stack"),
    [
        ("", "acme-shoes"),
        ("agency-", "agency-acme-shoes"),
        ("my-org/", "my-org/acme-shoes"),
        ("o/p/x.", "o/p/x.acme-shoes"),
    ],
)
def test_stack_names_are_the_prefix_and_the_account_name(prefix: str, stack: str) -> None:
    account = agency.Account(name="acme-shoes", advertiser_id="5", app_ids=["1"])

    assert agency.stack_name(prefix, account) == stack


@pytest.mark.parametrize("prefix", ["/", "a/b/c/", "agency ", "x" * 91, "ü-"])
def test_a_prefix_that_makes_no_stack_name_is_refused(prefix: str) -> None:
    account = agency.Account(name="acme-shoes", advertiser_id="5", app_ids=["1"])

    with pytest.raises(agency.AccountsError, match="change --stack-prefix"):
        agency.stack_name(prefix, account)


def test_the_stack_config_gives_the_program_back_its_account() -> None:
    for account in agency.load_accounts(AGENCY_DIR / "accounts.yaml"):
        config = agency.stack_config(account)

        assert config[agency.ADVERTISER_KEY] == account.advertiser_id
        assert all(isinstance(value, str) for value in config.values())  # as Pulumi keeps config
        assert agency.account_from_config(config.get) == account


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ({}, "this stack has no tiktok:advertiserId or tiktok-agency:appIds: it is made from accounts.yaml"),
        (
            {"tiktok:advertiserId": "5", "tiktok-agency:appIds": "[6"},
            "tiktok-agency:appIds: expected a JSON list",
        ),
        ({"tiktok:advertiserId": "5", "tiktok-agency:appIds": '["x"]'}, r"app_ids\[0\]: an app id must be"),
    ],
)
def test_a_stack_without_a_usable_account_says_how_to_make_one(config: dict[str, str], says: str) -> None:
    with pytest.raises(agency.AccountsError, match=says):
        agency.account_from_config(config.get)


def test_configure_writes_the_accounts_keys_and_keeps_the_rest(tmp_path: Path) -> None:
    account = agency.load_accounts(AGENCY_DIR / "accounts.yaml")[1]
    settings = tmp_path / "Pulumi.globex-games.yaml"
    settings.write_text(
        "encryptionsalt: v1:abc\nconfig:\n  tiktok:rateLimitTier: advanced\n  tiktok:advertiserId: '1'\n",
        encoding="utf-8",
    )

    written = agency.configure(account, "my-org/globex-games", tmp_path)

    assert written == settings
    data = yaml.safe_load(settings.read_text(encoding="utf-8"))
    assert data["encryptionsalt"] == "v1:abc"
    assert data["config"] == {"tiktok:rateLimitTier": "advanced", **agency.stack_config(account)}


def test_the_matrix_command_prints_one_job_per_account() -> None:
    result = CliRunner().invoke(agency.cli, ["matrix", "--stack-prefix", "acme/"])

    assert result.exit_code == 0, result.output
    jobs = json.loads(result.output)["include"]
    assert jobs == [
        {"account": "acme-shoes", "stack": "acme/acme-shoes"},
        {"account": "globex-games", "stack": "acme/globex-games"},
        {"account": "initech-fitness", "stack": "acme/initech-fitness"},
    ]


def test_the_configure_command_refuses_an_unknown_account(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.yaml"
    accounts.write_bytes((AGENCY_DIR / "accounts.yaml").read_bytes())

    result = CliRunner().invoke(agency.cli, ["configure", "acme", "--accounts", str(accounts)])

    assert result.exit_code == 1
    assert "has no account named 'acme'" in result.output
    assert "acme-shoes" in result.output
    assert list(tmp_path.iterdir()) == [accounts]


def test_the_configure_command_writes_the_named_accounts_stack_file(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.yaml"
    accounts.write_bytes((AGENCY_DIR / "accounts.yaml").read_bytes())

    result = CliRunner().invoke(
        agency.cli, ["configure", "initech-fitness", "--accounts", str(accounts), "--stack-prefix", "org/ag-"]
    )

    assert result.exit_code == 0, result.output
    config = yaml.safe_load((tmp_path / "Pulumi.ag-initech-fitness.yaml").read_text(encoding="utf-8"))[
        "config"
    ]
    assert config[agency.ADVERTISER_KEY] == THIRD_ADVERTISER_ID
    assert json.loads(config[agency.APP_IDS_KEY]) == ["6400000003", "6400000001"]
