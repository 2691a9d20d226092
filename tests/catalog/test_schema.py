"""The shipped JSON Schema is the models' schema, and editors using it agree with the validator."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from pulumi_tiktok_audiences.catalog import json_schema, resolve_text
from pulumi_tiktok_audiences.cli import main
from pulumi_tiktok_audiences.spec import AppEvent

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


def _spellings(event: AppEvent) -> list[str]:
    """Ways people write one event that the spec accepts: TikTok's string, the member name, variants."""
    return [
        event.value,
        event.name,
        event.name.lower(),
        event.value.title(),
        event.name.lower().replace("_", "-"),
        f"  {event.value.lower().replace(' ', '  ')} ",
    ]


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json_schema())


def test_the_schema_accepts_every_event_spelling_the_validator_accepts(
    validator: jsonschema.Draft202012Validator,
) -> None:
    """Editors must not underline a catalog the CLI accepts (`purchase` was once flagged)."""
    entries = "".join(
        f"  a{number}-{index}:\n    include: [{{event: {json.dumps(spelling)}, lookback_days: 9}}]\n"
        for number, event in enumerate(AppEvent)
        for index, spelling in enumerate(_spellings(event))
    )
    text = 'advertiser_id: "1"\napp_ids: ["2"]\naudiences:\n' + entries
    assert resolve_text(text, "c.yaml").problems == ()
    validator.validate(yaml.safe_load(text))


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="adtocrpuhsADTOCRPUHSE2 _-x", max_size=20) | st.sampled_from(list(AppEvent)))
def test_schema_and_validator_agree_on_any_event_text(text: str) -> None:
    """The schema's pattern accepts exactly what the spec's event parser accepts (ASCII text)."""
    try:
        AppEvent.parse(text)
        accepted = True
    except ValueError:
        accepted = False
    assert EVENTS.is_valid(str(text)) is accepted, text


EVENTS = jsonschema.Draft202012Validator(json_schema()["$defs"]["AppEvent"])
