"""The root program and every example pass the pack's default configuration: a preview of each
stack gets no mandatory violation, and the only advisories are the reminders to protect the
audiences of production stacks; examples/seed-segments gets nothing at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulumi_tiktok_audiences.emulator import Clock, Emulator
from pulumi_tiktok_audiences.policies import AUDIENCE_TYPE
from tests.agency.example import AGENCY_DIR, agency
from tests.e2e.conftest import START
from tests.e2e.programs import AD_GROUP
from tests.harness.host import REPO_ROOT
from tests.policy.analyzer import Resource
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
    (EXAMPLES / "seed-segments", "dev"),
    (EXAMPLES / "seed-segments", "prod"),
]
SEED = EXAMPLES / "seed-segments"
"""The seed's four segments declare their purposes and tracked events and protect prod: nothing to say."""


def test_every_example_is_covered() -> None:
    covered = {AGENCY_DIR, *(path for path, _ in PROGRAMS)}  # agency: below
    assert covered == {REPO_ROOT, *(p for p in EXAMPLES.iterdir() if p.is_dir())}


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
    # Only the reminder to protect production audiences: the examples declare no tracked events,
    # and the pack then says nothing about them.
    if project_dir == SEED:
        assert [r.type for r in resources].count(AUDIENCE_TYPE) == 4
        assert diagnostics == []  # nothing at all: no violation, no advisory
        return
    reminders = {"protect-in-production"} if stack == "prod" else set()
    assert {d.policy for d in diagnostics} == reminders
    if stack == "prod":
        assert len([d for d in diagnostics if d.policy == "protect-in-production"]) == len(resources)


def test_every_agency_account_passes_the_default_configuration(analyzer_for: AnalyzerFor) -> None:
    """The agency's stacks get their config from accounts.yaml (agency.stack_config), not a file."""
    analyzer = analyzer_for("agency")
    analyzer.configure()
    for account in agency.load_accounts(AGENCY_DIR / "accounts.yaml"):
        resources = preview(AGENCY_DIR, account.name, agency.stack_config(account))
        assert len(resources) == len(account.audiences)

        diagnostics = [d for r in resources for d in analyzer.analyze(r)] + analyzer.analyze_stack(resources)

        assert diagnostics == [], account.name


def test_a_catalog_program_is_advised_in_yaml(analyzer_for: AnalyzerFor) -> None:
    """load_catalog marks its audiences, so their owners get YAML to paste, not Python."""
    analyzer = analyzer_for("prod")
    analyzer.configure()
    resources = preview(EXAMPLES / "pr-workflow", "prod")
    found = [d for r in resources for d in analyzer.analyze(r) if d.policy == "protect-in-production"]
    assert len(found) == len(resources)
    for diagnostic in found:
        name = diagnostic.message.split("(resource ", 1)[1].split(")", 1)[0]
        assert "Set protect: true in " in diagnostic.message
        assert f"audiences.yaml, under audiences.{name} (or under its stacks.prod)" in diagnostic.message
        assert "ResourceOptions" not in diagnostic.message


def test_after_up_an_ad_group_using_audiences_still_too_small_is_reported(
    analyzer_for: AnalyzerFor, tmp_path: Path
) -> None:
    """The ad-group example deployed against the emulator: once TikTok has sized the audiences
    (the emulator's clock moved past their calculation) a refresh records the sizes, and the
    stack policy reports the ad group for each audience it uses that is still under 1,000."""
    analyzer = analyzer_for("dev")
    analyzer.configure()
    workdir = AD_GROUP.copy_to(tmp_path / "ad-group")
    with Emulator(clock=Clock(START, frozen=True)) as emulator, emulator.serve(port=0) as server:
        engine = AD_GROUP.engine(workdir, server.url)
        engine.up()

        def reported() -> tuple[set[str], set[str]]:
            engine.refresh()
            resources = [Resource(s.type, s.urn.rsplit("::", 1)[1], s.outputs) for s in engine.state.values()]
            small = {
                r.name
                for r in resources
                if isinstance(r.props.get("size"), float) and r.props["size"] < 1000  # protobuf numbers
            }
            found = [d for d in analyzer.analyze_stack(resources) if d.policy == "targetable-before-use"]
            assert {d.urn.rsplit("::", 1)[1] for d in found} <= {"win-back"}
            return small, {d.message.split("(resource ", 1)[1].split(")", 1)[0] for d in found}

        emulator.clock.advance(1.0)  # just calculated: 10 % of the final size (population.py)
        small, named = reported()
        used = {"lapsed-purchasers", "cart-abandoners", "installed-not-launched"}
        assert small & used, "at 10 % at least one audience of the ad group is under 1,000"
        assert named == small & used
        emulator.clock.advance(10)  # grown to full size: all targetable
        assert reported() == (set(), set())
