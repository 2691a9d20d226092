"""The root program and every example pass the pack's default configuration: a preview of each
stack gets no mandatory violation. The advisories they get are the reminders the defaults are
meant to give: declare which in-app events the measurement partner sends (only Install is assumed)
and, in production stacks, protect the audiences."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.host import REPO_ROOT
from tests.policy.conftest import AnalyzerFor
from tests.policy.programs import preview

EXAMPLES = REPO_ROOT / "examples"
PROGRAMS = [
    (REPO_ROOT, "dev"),
    (EXAMPLES / "single-audience", "dev"),
    (EXAMPLES / "promotion", "dev"),
    (EXAMPLES / "promotion", "prod"),
    (EXAMPLES / "ad-group-audiences", "dev"),
    (EXAMPLES / "lookalike-and-share", "dev"),
    (EXAMPLES / "pr-workflow", "dev"),
    (EXAMPLES / "pr-workflow", "prod"),
]


def test_every_example_is_covered() -> None:
    assert {path for path, _ in PROGRAMS} == {REPO_ROOT, *(p for p in EXAMPLES.iterdir() if p.is_dir())}


@pytest.mark.parametrize(
    ("project_dir", "stack"), PROGRAMS, ids=lambda v: v.name if isinstance(v, Path) else v
)
def test_program_passes_the_default_configuration(
    analyzer_for: AnalyzerFor, project_dir: Path, stack: str
) -> None:
    analyzer = analyzer_for(stack)
    analyzer.configure()
    resources = preview(project_dir, stack)
    assert resources, "the program declares resources"

    diagnostics = [d for r in resources for d in analyzer.analyze(r)] + analyzer.analyze_stack(resources)

    assert [d for d in diagnostics if d.level == "mandatory"] == []
    reminders = {"tracked-events-only"} | ({"protect-in-production"} if stack == "prod" else set())
    assert {d.policy for d in diagnostics} <= reminders
    audiences = [r for r in resources if r.type.endswith("tiktok:AppActivityAudience")]
    if stack == "prod":
        assert len([d for d in diagnostics if d.policy == "protect-in-production"]) == len(resources)
    # Every audience that uses an event other than Install gets the reminder.
    events = {
        r.name
        for r in audiences
        if any(x["event"] != "INSTALL" for x in r.props["include"] + r.props["exclude"])
    }
    assert {
        d.message.split("(resource ", 1)[1].split(")", 1)[0]
        for d in diagnostics
        if d.policy == "tracked-events-only"
    } == events
