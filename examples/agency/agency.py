"""The agency's ad accounts (accounts.yaml) and what each one's stack is: its name and its config.

One Pulumi stack per ad account, so that each account's state, locks and history stay its own and
any K of them can run at once. Everything that turns accounts.yaml into stacks lives here, shared by
the program (``__main__.py`` reads the config back), ``deploy.py`` (Automation API) and the GitHub
workflow (``python agency.py matrix`` and ``python agency.py configure``)::

    accounts:
      - name: acme-shoes                  # the stack's name (after --stack-prefix); default: the id
        advertiser_id: "7000000000000000001"
        app_ids: ["6400000001"]
        audiences: [lapsed-purchasers]    # optional: which presets; default: all of PRESETS
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import click
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from pulumi_tiktok_audiences import presets
from pulumi_tiktok_audiences.spec import AdvertiserId, item_count, numeric_id, property_path

PROJECT = "tiktok-agency"
"""The project's name in Pulumi.yaml: its stack config keys are ``tiktok-agency:<key>``."""
ADVERTISER_KEY = "tiktok:advertiserId"  # the provider's default ad account: every audience uses it
ACCOUNT_KEY = f"{PROJECT}:account"
APP_IDS_KEY = f"{PROJECT}:appIds"
AUDIENCES_KEY = f"{PROJECT}:audiences"

PRESETS: Mapping[str, Callable[[Sequence[str]], presets.AudienceArgs]] = {
    "lapsed-purchasers": presets.lapsed_purchasers_args,
    "cart-abandoners": presets.cart_abandoners_args,
    "installed-not-launched": presets.installed_not_launched_args,
}
"""The audiences an account can have, by resource name: the package's presets, for its apps."""

_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
"""Pulumi's rule for a stack name (sdk/go/common/tokens/stack_name.go ``ParseStackName``)."""


def _name(value: object) -> object:
    if isinstance(value, str) and not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", value):
        raise PydanticCustomError(
            "account_name",
            f"must be 1 to 64 letters, digits, '-', '_' or '.' (it names the stack); got {value!r}",
        )
    return value


def _presets(value: object) -> object:
    if isinstance(value, list | tuple):
        unknown = [key for key in value if key not in PRESETS]
        if unknown or not value:
            raise PydanticCustomError(
                "presets", f"must be some of {list(PRESETS)} (leave it out for all); got {list(value)}"
            )
    return value


AppId = Annotated[str, BeforeValidator(numeric_id("an app id"))]


class Account(BaseModel):
    """One ad account of the agency, as accounts.yaml lists it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, BeforeValidator(_name)] = ""
    """Default: the advertiser id."""
    advertiser_id: AdvertiserId
    app_ids: Annotated[tuple[AppId, ...], BeforeValidator(item_count(1, None, "app id"))]
    audiences: Annotated[tuple[str, ...], BeforeValidator(_presets)] = tuple(PRESETS)

    @model_validator(mode="after")
    def _named(self) -> Account:
        return self if self.name else self.model_copy(update={"name": self.advertiser_id})


class AccountsError(Exception):
    """accounts.yaml cannot be used: every problem, each with where it is and what to do."""


def load_accounts(path: str | Path) -> list[Account]:
    """The accounts of ``path`` in file order, or :class:`AccountsError` naming every problem."""
    text = Path(path).read_text(encoding="utf-8")
    return parse_accounts(text, str(path))


def parse_accounts(text: str, file: str = "accounts.yaml") -> list[Account]:
    """:func:`load_accounts` for the file's text; ``file`` names it in problems."""
    stream = io.StringIO(text)
    stream.name = file  # PyYAML's errors name the stream: the file, not <unicode string>
    try:
        data = yaml.safe_load(stream)
    except yaml.YAMLError as exc:
        raise AccountsError(f"{file}: not YAML: {exc}") from None
    entries = data.get("accounts") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise AccountsError(f"{file}: expected `accounts:` with a list of ad accounts (see agency.py)")
    accounts: dict[int, Account] = {}
    problems: list[str] = []
    for index, entry in enumerate(entries):
        try:
            accounts[index] = Account.model_validate(entry)
        except ValidationError as exc:
            problems += [f"{file}: accounts[{index}]{'.' + p if p else ''}: {m}" for p, m in _problems(exc)]
    for field in ("name", "advertiser_id"):
        seen: dict[str, int] = {}
        for index, account in accounts.items():
            value = getattr(account, field)
            if value in seen:
                problems.append(
                    f"{file}: accounts[{index}].{field}: {value} is also accounts[{seen[value]}]'s; "
                    "each ad account is one stack, listed once"
                )
            seen.setdefault(value, index)
    if problems:
        raise AccountsError("\n".join(problems))
    return list(accounts.values())


_FIELDS = "an account takes name, advertiser_id, app_ids and audiences"


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    """(property path, message) of each error, pydantic's generic words replaced by what to write."""
    words = {
        "extra_forbidden": f"unknown key: {_FIELDS}",
        "missing": "missing: every account needs it",
        "model_type": f"expected a mapping (`key: value` lines): {_FIELDS}",
    }
    return [(property_path(e["loc"]), words.get(e["type"], e["msg"])) for e in exc.errors()]


def stack_name(prefix: str, account: Account) -> str:
    """``prefix`` + the account's name, checked as Pulumi checks stack names. A prefix may qualify
    the stack with an organization (``acme/``) or an organization and a project (``acme/agency/``)."""
    qualified = prefix + account.name
    *owners, name = qualified.split("/")
    if len(owners) > 2 or not all(owners) or not _STACK_NAME.fullmatch(name):
        raise AccountsError(
            f"stack name {qualified!r}: a stack name is 1 to 100 letters, digits, '-', '_' or '.', "
            "optionally after 'org/' or 'org/project/'; change --stack-prefix"
        )
    return qualified


def stack_config(account: Account) -> dict[str, str]:
    """The stack config that makes the program deploy ``account`` (values as Pulumi keeps them: text)."""
    return {
        ADVERTISER_KEY: account.advertiser_id,
        ACCOUNT_KEY: account.name,
        APP_IDS_KEY: json.dumps(list(account.app_ids)),
        AUDIENCES_KEY: json.dumps(list(account.audiences)),
    }


def account_from_config(get: Callable[[str], Any]) -> Account:
    """The account a stack deploys, from its config (``get(key)``: the value or None); the inverse
    of :func:`stack_config`, and the same checks as accounts.yaml."""
    missing = [key for key in (ADVERTISER_KEY, APP_IDS_KEY) if get(key) in (None, "")]
    if missing:
        raise AccountsError(
            f"this stack has no {' or '.join(missing)}: it is made from accounts.yaml by deploy.py "
            "or `python agency.py configure NAME` (see README.md)"
        )
    entry: dict[str, Any] = {"advertiser_id": get(ADVERTISER_KEY)}
    for field, key in (("name", ACCOUNT_KEY), ("app_ids", APP_IDS_KEY), ("audiences", AUDIENCES_KEY)):
        text = get(key)
        if text in (None, ""):
            continue
        try:
            entry[field] = text if field == "name" else json.loads(text)
        except json.JSONDecodeError:
            raise AccountsError(f"this stack's {key}: expected a JSON list, got {text!r}") from None
    try:
        return Account.model_validate(entry)
    except ValidationError as exc:
        problems = "; ".join(f"{p}: {m}" if p else m for p, m in _problems(exc))
        raise AccountsError(f"this stack's config: {problems}") from None


def github_matrix(accounts: Sequence[Account], prefix: str) -> dict[str, list[dict[str, str]]]:
    """The GitHub Actions matrix of one job per account: ``{"include": [{"account", "stack"}]}``."""
    return {"include": [{"account": a.name, "stack": stack_name(prefix, a)} for a in accounts]}


def configure(account: Account, stack: str, project_dir: Path) -> Path:
    """Write the account's config into the stack's settings file, ``Pulumi.<stack name>.yaml``,
    keeping whatever else it holds (other keys, a secrets provider's salt); returns the file."""
    path = project_dir / f"Pulumi.{stack.rsplit('/', 1)[-1]}.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    settings = settings if isinstance(settings, dict) else {}
    settings["config"] = {**(settings.get("config") or {}), **stack_config(account)}
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return path


# -- the commands the GitHub workflow runs ---------------------------------------------------------

_ACCOUNTS_OPTION = click.option(
    "--accounts",
    "accounts_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=Path(__file__).with_name("accounts.yaml"),
    show_default="accounts.yaml beside this file",
)
_PREFIX_OPTION = click.option("--stack-prefix", default="", help="Put before each account's name.")


@click.group()
def cli() -> None:
    """accounts.yaml for CI: the matrix of stacks, and one stack's config."""


@cli.command()
@_ACCOUNTS_OPTION
@_PREFIX_OPTION
def matrix(accounts_file: Path, stack_prefix: str) -> None:
    """Print the GitHub Actions matrix (JSON, one line) of one job per account."""
    try:
        jobs = github_matrix(_load(accounts_file), stack_prefix)
    except AccountsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(jobs, separators=(",", ":")))


@cli.command(name="configure")
@click.argument("account_name")
@_ACCOUNTS_OPTION
@_PREFIX_OPTION
def configure_command(account_name: str, accounts_file: Path, stack_prefix: str) -> None:
    """Write ACCOUNT_NAME's config into its stack's settings file, Pulumi.<stack>.yaml."""
    accounts = {a.name: a for a in _load(accounts_file)}
    if account_name not in accounts:
        raise click.ClickException(f"{accounts_file} has no account named {account_name!r}: {list(accounts)}")
    account = accounts[account_name]
    path = configure(account, _stack(stack_prefix, account), accounts_file.parent)
    click.echo(f"{path.name}: {account.name} ({account.advertiser_id})")


def _load(path: Path) -> list[Account]:
    try:
        return load_accounts(path)
    except AccountsError as exc:
        raise click.ClickException(str(exc)) from None


def _stack(prefix: str, account: Account) -> str:
    try:
        return stack_name(prefix, account)
    except AccountsError as exc:
        raise click.ClickException(str(exc)) from None


if __name__ == "__main__":
    cli()
