"""Strict YAML: values that only YAML 1.1 reads so are refused with how to write them; type errors
in the catalog's words; syntax errors on the line of the mistake (issue 18, point 4)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pulumi_tiktok_audiences.catalog import ResolvedCatalog, resolve_text
from pulumi_tiktok_audiences.cli import main

HEAD = 'advertiser_id: "111"\napp_ids: ["11"]\naudiences:\n'
RULE = "  a:\n    name: Buyers\n    include:\n      - event: PURCHASE\n        lookback_days: {}\n"
LOOKBACK_LINE = 8


def resolve(text: str) -> ResolvedCatalog:
    return resolve_text(text, "audiences.yaml")


def messages(text: str) -> list[str]:
    return [str(problem) for problem in resolve(text).problems]


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("030", "`030` is read by YAML 1.1 as octal 24; write 30"),
        ("0x1E", "`0x1E` is read by YAML 1.1 as hexadecimal 30; write 30"),
        ("0b11110", "`0b11110` is read by YAML 1.1 as binary 30; write 30"),
        ("+30", "`+30`: no sign here; write 30"),
        ("3_0", "`3_0` is read by YAML 1.1 as 30; write 30"),
        ("1:30", "`1:30` is read by YAML 1.1 as 90 (minutes:seconds, base 60); write 90"),
    ],
)
def test_numbers_only_yaml_1_1_reads_so_are_refused_with_the_number_to_write(
    written: str, message: str
) -> None:
    resolved = resolve(HEAD + RULE.format(written))
    assert [str(p) for p in resolved.problems] == [
        f"audiences.yaml:{LOOKBACK_LINE}: audiences.a.include[0].lookback_days: {message}"
    ]
    assert resolved.audiences == {None: {}}  # not deployed as YAML 1.1 reads it


def test_explain_no_longer_says_24_days_for_030() -> None:
    result = CliRunner().invoke(main, ["explain", "-"], input=HEAD + RULE.format("030"))
    assert result.exit_code == 1
    assert "24 days" not in result.output
    assert "`030` is read by YAML 1.1 as octal 24; write 30" in result.stderr


@pytest.mark.parametrize("word", ["no", "No", "off", "n", "yes", "on", "y"])
def test_yes_no_on_off_where_text_goes_are_refused_with_the_quoted_form(word: str) -> None:
    text = HEAD + f"  a:\n    name: {word}\n    include: [{{event: PURCHASE, lookback_days: 3}}]\n"
    truth = "true" if word.lower() in ("yes", "on", "y") else "false"
    assert messages(text) == [
        f"audiences.yaml:5: audiences.a.name: `{word}` is read by YAML 1.1 as {truth}, not as text; "
        f'write it in quotes: name: "{word}"'
    ]


def test_yes_where_a_number_goes_says_how_yaml_read_it() -> None:
    (message,) = messages(HEAD + RULE.format("yes"))
    assert message.startswith(
        f"audiences.yaml:{LOOKBACK_LINE}: audiences.a.include[0].lookback_days: `yes` is read by YAML 1.1 as "
        "true; must be a whole number from 1 to 180 days"
    )


def test_ids_written_as_yaml_1_1_numbers_are_refused() -> None:
    text = 'advertiser_id: 030\napp_ids: ["11", 0x10]\naudiences:\n' + RULE.format("30")
    assert messages(text) == [
        "audiences.yaml:1: advertiser_id: `030` is read by YAML 1.1 as octal 24, not as text; "
        'write it in quotes: advertiser_id: "030"',
        "audiences.yaml:2: app_ids[1]: `0x10` is read by YAML 1.1 as hexadecimal 16, not as text; "
        'write it in quotes: "0x10"',
    ]


@pytest.mark.parametrize(("word", "write"), [("y", "true"), ("n", "false")])
def test_y_and_n_where_true_or_false_goes_say_which_to_write(word: str, write: str) -> None:
    text = HEAD + f"  a:\n    include: [{{event: LOGIN, lookback_days: 3}}]\n    auto_refresh: {word}\n"
    assert messages(text) == [
        f"audiences.yaml:6: audiences.a.auto_refresh: `{word}` is read by YAML 1.1 as {write} but as text "
        f"by other YAML readers; write {write}"
    ]


def test_an_event_yaml_1_1_reads_as_true_is_said_in_yaml_words() -> None:
    text = HEAD + "  a:\n    include: [{event: on, lookback_days: 3}]\n"
    assert messages(text) == [
        "audiences.yaml:5: audiences.a.include[0].event: `on` is read by YAML 1.1 as true; an app event is "
        "written by name (e.g. PURCHASE, ADD_TO_CART or add-to-cart, in any case)"
    ]


def test_a_value_yaml_reads_as_true_is_quoted_as_written_not_as_python_says_it() -> None:
    text = 'advertiser_id: true\napp_ids: ["11"]\naudiences:\n' + RULE.format("3")
    (message,) = messages(text)
    assert message.startswith("audiences.yaml:1: advertiser_id: an advertiser id must be")
    assert message.endswith("; got `true`")


def test_a_yaml_1_1_number_where_true_or_false_goes_says_what_it_must_be() -> None:
    """Not the y/n advice ("write hexadecimal 1"): a number is no way to write true or false."""
    text = HEAD + "  a:\n    include: [{event: LOGIN, lookback_days: 3}]\n    protect: 0x1\n"
    assert messages(text) == [
        "audiences.yaml:6: audiences.a.protect: `0x1` is read by YAML 1.1 as hexadecimal 1; "
        "must be true or false"
    ]


@pytest.mark.parametrize(
    ("value", "read_as"),
    [("123", "the number 123"), ("2026-01-01", "a date"), ("1.5", "the number 1.5")],
)
def test_a_name_yaml_reads_as_something_else_is_quoted(value: str, read_as: str) -> None:
    text = HEAD + f"  a:\n    name: {value}\n    include: [{{event: PURCHASE, lookback_days: 3}}]\n"
    assert messages(text) == [
        f"audiences.yaml:5: audiences.a.name: `{value}` is read by YAML as {read_as}, not as text; "
        f'write it in quotes: name: "{value}"'
    ]


def test_what_every_yaml_reader_reads_alike_is_accepted() -> None:
    text = (
        "advertiser_id: 7000000000000000001\napp_ids: [6400000001]\naudiences:\n"
        '  a:\n    name: "no"\n    include: [{event: PURCHASE, lookback_days: 30}]\n'
        "    auto_refresh: yes\n    retention_in_days: 90\n"
        "  b:\n    name: 'on'\n    include: [{event: LOGIN, lookback_days: 7}]\n    auto_refresh: false\n"
    )
    resolved = resolve(text)
    assert resolved.problems == ()
    a, b = resolved.audiences[None].values()
    assert (a.spec.name, a.spec.auto_refresh, a.spec.advertiser_id, b.spec.name) == (
        "no",
        True,
        "7000000000000000001",
        "on",
    )


@pytest.mark.parametrize(
    ("entry", "line", "message"),
    [
        ("  a: 5\n", 4, "audiences.a: must be a mapping (`key: value` lines, indented below it); got `5`"),
        (
            "  a: [x]\n",
            4,
            "audiences.a: must be a mapping (`key: value` lines, indented below it); got a list",
        ),
        (
            "  a:\n    include: 7\n",
            5,
            "audiences.a.include: must be a list (`- item` lines, or [a, b]); got `7`",
        ),
        (
            "  a:\n    include: [{event: LOGIN, lookback_days: 3}]\n    auto_refresh: maybe\n",
            6,
            "audiences.a.auto_refresh: must be true or false; got 'maybe'",
        ),
        (
            "  a:\n    include: [{event: LOGIN, lookback_days: 3}]\n    audience_sub_type: 3\n",
            6,
            "audiences.a.audience_sub_type: must be 'NORMAL' or 'REACH_FREQUENCY'; got `3`",
        ),
    ],
)
def test_type_errors_speak_the_catalogs_words(entry: str, line: int, message: str) -> None:
    (problem,) = messages(HEAD + entry)
    assert problem == f"audiences.yaml:{line}: {message}"
    assert "Input should" not in problem
    assert "CatalogAudienceEntry" not in problem


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        pytest.param(
            HEAD + "  a: {include: [{event: LOGIN, lookback_days: 3}\n  b: {}\n",
            4,
            "the [ opened on this line is never closed: add ] after its last item",
            id="unclosed-bracket",
        ),
        pytest.param(
            HEAD + '  a:\n    name: "Buyers\n    include: []\n',
            5,
            'the quoted value that starts here is not closed: end it with "',
            id="unclosed-quote",
        ),
        pytest.param(
            HEAD + "  a\n    name: Buyers\n",
            4,
            "`a` is not `key: value`: a key needs a colon and a space after it (YAML read this line and the "
            "next as one value)",
            id="key-without-colon",
        ),
        pytest.param(
            HEAD + "  a:\n    name:Buyers\n    include: []\n",
            5,
            "`name:Buyers` is not `key: value`: a key needs a colon and a space after it (YAML read this "
            "line and the next as one value)",
            id="colon-without-space",
        ),
        pytest.param(
            HEAD + "  a:\n    name: Buyers: last 30 days\n",
            5,
            'a value holding ": " (a colon and a space) must be in quotes: name: "Buyers: last 30 days"',
            id="colon-in-value",
        ),
        pytest.param(
            HEAD + "  a:\n    name: Buyers\n   include: []\n",
            6,
            "the indentation of this line does not fit the lines above: line it up with its siblings",
            id="indentation",
        ),
        pytest.param(
            HEAD + "  a:\n    include:\n      - event: LOGIN\n    - event: PURCHASE\n",
            7,
            "a list item (-) where a key was expected: check the indentation of this line",
            id="list-item-out-of-place",
        ),
    ],
)
def test_syntax_errors_name_the_line_of_the_mistake_in_plain_words(
    text: str, line: int, message: str
) -> None:
    assert messages(text) == [f"audiences.yaml:{line}: YAML syntax error: {message}"]


KEYED = 'advertiser_id: "111"\napp_ids: ["11"]\nstacks:\n  {stack}: {{}}\naudiences:\n  {key}:\n' + (
    "    name: Buyers\n    include: [{{event: PURCHASE, lookback_days: 3}}]\n"
    "    stacks: {{{override}: {{protect: true}}}}\n"
)


@pytest.mark.parametrize(
    ("where", "word", "line", "path", "read_as"),
    [
        ("stack", "off", 4, "stacks.off", "YAML 1.1 as false"),
        ("key", "yes", 6, "audiences.yes", "YAML 1.1 as true"),
        ("key", "0x1E", 6, "audiences.0x1E", "YAML 1.1 as hexadecimal 30"),
        ("key", "123", 6, "audiences.123", "YAML as the number 123"),
        ("key", "1.5", 6, "audiences.1.5", "YAML as the number 1.5"),
        ("override", "on", 9, "audiences.a.stacks.on", "YAML 1.1 as true"),
    ],
)
def test_a_key_yaml_reads_as_something_else_is_refused_with_the_quoted_form(
    where: str, word: str, line: int, path: str, read_as: str
) -> None:
    """Stack names and audience keys are text: `off:` is a stack YAML 1.1 names false, and an audience
    keyed `yes:` once stopped validation with pydantic's own text."""
    keys = {"stack": "dev", "key": "a", "override": "dev"} | {where: word}
    found = messages(KEYED.format(**keys))
    expected = (
        f"audiences.yaml:{line}: {path}: the key `{word}` is read by {read_as}, not as text; "
        f'write it in quotes: "{word}":'
    )
    assert expected in found, found
    assert not any("[key]" in message or "got True" in message or "got False" in message for message in found)


def test_an_app_id_key_only_yaml_1_1_reads_as_a_number_is_refused() -> None:
    """`0x1E:` under tracked_events was app "30" without a word (and `036:` then a duplicate of it)."""
    text = (
        'advertiser_id: "111"\napp_ids: ["30"]\ntracked_events: {0x1E: [PURCHASE]}\naudiences:\n'
        "  a: {name: Buyers, include: [{event: PURCHASE, lookback_days: 3}]}\n"
    )
    resolved = resolve(text)
    assert [str(p) for p in resolved.problems] == [
        "audiences.yaml:3: tracked_events.0x1E: the key `0x1E` is read by YAML 1.1 as hexadecimal 30, "
        'not as text; write it in quotes: "0x1E":'
    ]
    assert not any(resolved.audiences.values())  # not deployed with app "30"


def test_an_audience_keyed_yes_is_reported_and_the_others_still_resolve() -> None:
    text = KEYED.format(stack="dev", key="yes", override="dev") + (
        "  b: {name: Lapsed, include: [{event: PURCHASE, lookback_days: 30}]}\n"
    )
    resolved = resolve(text)
    assert len(resolved.problems) == 1
    assert list(resolved.audiences["dev"]) == ["b"]
