"""The resources' type hints, checked by running mypy on small programs.

Hints must accept what the runtime accepts (events as ``AppEvent`` or strings, Outputs anywhere,
lists and tuples) and refuse what it refuses: ``app_ids="123"`` type-checks as ``Sequence[str]``
and then fails at run time. Both ways a user may run mypy: plain ``--strict``, and with pydantic's
plugin (which types model constructors its own way).

mypy runs in a process of its own: run in the test process (its API) it leaves its analysis of the
SDKs behind, some 200,000 objects more than the rest of a run holds, and every later full garbage
collection of the run walks them (seconds each on a loaded machine).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

PRELUDE = """\
from typing import Any

import pulumi

from pulumi_tiktok_audiences import (
    AppActivityAudience,
    AppEvent,
    AudienceShare,
    EventRule,
    LookalikeAudience,
)

app_id: pulumi.Output[str] = pulumi.Output.from_input("6400000002")
ids: list[str] = ["6400000001"]
id_outputs: list[pulumi.Output[str]] = [app_id]
from_config: Any = pulumi.Config().require_object("appIds")
rules: list[EventRule] = [EventRule(event=AppEvent.PURCHASE, lookback_days=30)]
dict_rules: list[dict[str, Any]] = [{"event": "login", "lookback_days": app_id.apply(len)}]
buyers = AppActivityAudience("buyers", app_ids=ids, include=rules)
sister = "7000000000000000002"
"""

ACCEPTED = {
    "event as member, string, wire string": 'AppActivityAudience("a", app_ids=ids, include=['
    'EventRule(event="purchase", lookback_days=7), EventRule(event="APP ADD TO CART", lookback_days=7)])',
    "rule app ids as a tuple": 'EventRule(event="Login", lookback_days=1, app_ids=("6400000001",))',
    "dict rules holding Outputs": 'AppActivityAudience("a", app_ids=id_outputs, include=dict_rules)',
    "ids mixing Outputs and strings": 'AppActivityAudience("a", app_ids=[app_id, "1"], include=rules)',
    "ids as a tuple, rules as a tuple": 'AppActivityAudience("a", app_ids=("1", "2"), include=tuple(rules))',
    "ids as one Output": 'AppActivityAudience("a", app_ids=pulumi.Output.from_input(ids), include=rules)',
    "ids from config": 'AppActivityAudience("a", app_ids=from_config, include=rules)',
    "dict rule literal": 'AppActivityAudience("a", include=[{"event": AppEvent.LOGIN, "lookback_days": 3}])',
    "lookalike of a resource": 'LookalikeAudience("l", source=buyers, locations=ids, audience_size="BROAD")',
    "lookalike of an id": 'LookalikeAudience("l", source=buyers.audience_id, locations=[app_id], '
    'audience_size="narrow", placements=("TikTok",))',
    "share of a resource": 'AudienceShare("s", audience=buyers, advertiser_ids=[sister])',
    "share of an id": 'AudienceShare("s", audience="7300000000000000001", advertiser_ids=id_outputs)',
}

REFUSED = {
    "app_ids as a bare string": 'AppActivityAudience("a", app_ids="123", include=rules)',
    "include as a bare string": 'AppActivityAudience("a", app_ids=ids, include="PURCHASE")',
    "rule app_ids as a bare string": 'EventRule(event="LOGIN", lookback_days=1, app_ids="123")',
    "event as a number": "EventRule(event=3, lookback_days=1)",
    "lookback as a string": 'EventRule(event="LOGIN", lookback_days="30")',
    "ids as a set": 'AppActivityAudience("a", app_ids={"1"}, include=rules)',
    "locations as a bare string": 'LookalikeAudience("l", source=buyers, locations="1", '
    'audience_size="BROAD")',
    "placements as a bare string": 'LookalikeAudience("l", source=buyers, locations=ids, '
    'audience_size="NARROW", placements="TikTok")',
    "advertiser_ids as a bare string": 'AudienceShare("s", audience=buyers, advertiser_ids=sister)',
}

CONFIGS = {
    "strict": "[mypy]\nstrict = True\n",
    "strict with the pydantic plugin": "[mypy]\nstrict = True\nplugins = pydantic.mypy\n",
}


def _program(statements: dict[str, str]) -> tuple[str, dict[int, str]]:
    """The prelude plus one statement per line; returns the source and the case on each line."""
    first = PRELUDE.count("\n") + 1
    lines = {first + index: case for index, case in enumerate(statements)}
    return PRELUDE + "\n".join(statements.values()) + "\n", lines


@pytest.fixture(scope="module", params=list(CONFIGS))
def errors(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[int]]:
    """mypy's error lines per program (accepted, refused), one mypy run per configuration."""
    folder = tmp_path_factory.mktemp("typing")
    # mypy's own cache (it checks files' hashes) saves each run the ~20 s of analysing the SDKs.
    cache = Path(__file__).parents[2] / ".mypy_cache" / f"typing-tests-{list(CONFIGS).index(request.param)}"
    config = folder / "mypy.ini"
    config.write_text(CONFIGS[request.param])
    files = {}
    for name, statements in (("accepted", ACCEPTED), ("refused", REFUSED)):
        files[name] = folder / f"{name}.py"
        files[name].write_text(_program(statements)[0])
    command = [sys.executable, "-m", "mypy", "--config-file", str(config), "--cache-dir", str(cache)]
    run = subprocess.run([*command, *map(str, files.values())], capture_output=True, text=True)
    assert not run.stderr, run.stderr
    found: dict[str, set[int]] = {name: set() for name in files}
    for match in re.finditer(r"^(.+?\.py):(\d+): error:", run.stdout, re.MULTILINE):
        found[Path(match[1]).stem].add(int(match[2]))
    return found


def test_what_the_runtime_accepts_type_checks(errors: dict[str, set[int]]) -> None:
    lines = _program(ACCEPTED)[1]
    assert sorted(lines.get(line, f"prelude line {line}") for line in errors["accepted"]) == []


def test_what_the_runtime_refuses_does_not(errors: dict[str, set[int]]) -> None:
    lines = _program(REFUSED)[1]
    assert errors["refused"] <= set(lines)  # no error outside the statements
    assert sorted(case for line, case in lines.items() if line not in errors["refused"]) == []
