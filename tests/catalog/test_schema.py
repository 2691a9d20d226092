"""The shipped JSON Schema is the models' schema, and editors using it agree with the validator."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from pulumi_tiktok_audiences.catalog import json_schema, resolve_text
from pulumi_tiktok_audiences.cli import main

REGENERATE = "tiktok-audiences schema > pulumi_tiktok_audiences/audiences.schema.json"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pr-workflow" / "audiences.yaml"


def shipped() -> str:
    return resources.files("pulumi_tiktok_audiences").joinpath("audiences.schema.json").read_text("utf-8")


def test_shipped_schema_is_the_generated_one() -> None:
    assert json.loads(shipped()) == json_schema(), f"the schema is stale; regenerate it: {REGENERATE}"


def test_schema_command_prints_the_shipped_file() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert result.stdout == shipped(), f"regenerate the shipped schema: {REGENERATE}"


def test_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json_schema())


GOOD = """\
advertiser_id: 111
app_ids: ["11"]
stacks: {dev: null, prod: {advertiser_id: "222"}}
audiences:
  a:
    include: [{event: ADD_TO_CART, lookback_days: 14}, {event: "APP ADD TO CART", lookback_days: 3}]
    stacks: {prod: {adopt_audience_id: 7300000000000000001}}
"""


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(GOOD, id="example-in-test"),
        pytest.param(EXAMPLE.read_text(encoding="utf-8"), id="pr-workflow-example"),
    ],
)
def test_catalogs_the_validator_accepts_pass_the_schema(text: str) -> None:
    assert resolve_text(text, "c.yaml").problems == ()
    jsonschema.validate(yaml.safe_load(text), json_schema())


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("lookback_days: 14", "lookback_days: 181"),
        ("event: ADD_TO_CART", "event: ADD_TO_BASKET"),
        ("  a:\n", "  a b:\n"),
        ("stacks: {prod:", "stacks: {prod: {app_idz: [1]}, x:"),
        ("adopt_audience_id: 7300000000000000001", "adopt_audience_id: abc"),
        ('app_ids: ["11"]', "app_ids: []"),
    ],
)
def test_catalogs_the_validator_refuses_fail_the_schema(old: str, new: str) -> None:
    assert old in GOOD
    text = GOOD.replace(old, new)
    assert resolve_text(text, "c.yaml").problems != ()
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(text), json_schema())
