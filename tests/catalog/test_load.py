"""load_catalog in a Pulumi program (under the SDK's mocks): one resource per audience, as resolved."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest

from pulumi_tiktok_audiences.catalog import CatalogError, load_catalog, resolve_catalog
from pulumi_tiktok_audiences.provider import props_from_spec
from tests.catalog.helpers import Recorder

CATALOG = """\
advertiser_id: "111"
app_ids: ["11"]
stacks:
  dev: {}
  prod: {advertiser_id: "222", app_ids: ["22"]}
audiences:
  lapsed:
    name: Lapsed purchasers
    include: [{event: PURCHASE, lookback_days: 30}]
    exclude: [{event: PURCHASE, lookback_days: 7}]
    retention_in_days: 90
  adopted:
    include: [{event: LOGIN, lookback_days: 3}]
    stacks:
      prod: {adopt_audience_id: "7300000000000000001"}
"""


@pytest.fixture
def recorder() -> Recorder:
    mocks = Recorder()
    pulumi.runtime.set_mocks(mocks, project="catalog-test", stack="prod", preview=False)
    return mocks


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "audiences.yaml"
    path.write_text(CATALOG)
    return path


@pytest.mark.parametrize("stack", [None, "dev"])
def test_declares_one_resource_per_audience_of_the_stack(
    recorder: Recorder, catalog: Path, stack: str | None
) -> None:
    expected_stack = stack or "prod"  # None: the program's own stack (the mocks run "prod")

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        audiences = load_catalog(catalog, stack)
        return pulumi.Output.all(*(a.audience_id for a in audiences.values()))

    program()
    resolved = resolve_catalog(catalog, expected_stack).audiences[expected_stack]
    assert set(recorder.inputs) == set(resolved) == {"lapsed", "adopted"}
    for key, audience in resolved.items():
        inputs = recorder.inputs[key]
        assert {k: inputs[k] for k in props_from_spec(audience.spec)} == props_from_spec(audience.spec)
        assert inputs.get("adopt_audience_id") == audience.adopt_audience_id
    assert recorder.inputs["lapsed"]["advertiser_id"] == ("222" if expected_stack == "prod" else "111")
    adopted = recorder.inputs["adopted"].get("adopt_audience_id")
    assert adopted == ("7300000000000000001" if expected_stack == "prod" else None)


def test_refuses_a_catalog_with_problems_before_declaring_anything(
    recorder: Recorder, tmp_path: Path
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(CATALOG.replace("lookback_days: 7", "lookback_days: 700"))

    @pulumi.runtime.test
    def program() -> None:
        load_catalog(path)

    with pytest.raises(CatalogError) as raised:
        program()
    assert f"{path}:10: audiences.lapsed.exclude[0].lookback_days: must be a whole number" in str(
        raised.value
    )
    assert "for stack prod" in str(raised.value)
    assert recorder.inputs == {}


def test_warnings_are_logged_and_do_not_refuse(
    recorder: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "named-alike.yaml"
    path.write_text(
        CATALOG.replace("include: [{event: LOGIN", "name: Lapsed purchasers\n    include: [{event: LOGIN")
    )
    warned: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: warned.append(message))

    @pulumi.runtime.test
    def program() -> None:
        load_catalog(path)

    program()
    assert set(recorder.inputs) == {"lapsed", "adopted"}
    (warning,) = warned
    assert (
        "warning: audiences.adopted.name: the name 'Lapsed purchasers' is also used by audiences.lapsed"
        in warning
    )


@pytest.mark.parametrize(
    ("given", "recorded"),
    [
        (lambda project: project / "audiences.yaml", "audiences.yaml"),  # Path(__file__).with_name(...)
        (lambda project: Path("audiences.yaml"), "audiences.yaml"),
        (lambda project: project.parent / "elsewhere.yaml", "{parent}/elsewhere.yaml"),
    ],
    ids=["absolute-inside-the-project", "relative", "absolute-outside-the-project"],
)
def test_each_audience_records_its_catalog_as_its_owner_knows_it(
    recorder: Recorder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    given: Callable[[Path], Path],
    recorded: str,
) -> None:
    """The guardrails quote this path in their YAML advice: relative to the project (Pulumi's working
    directory), not the absolute path a program builds with Path(__file__)."""
    project = tmp_path / "project"
    project.mkdir()
    for path in (project / "audiences.yaml", tmp_path / "elsewhere.yaml"):
        path.write_text(CATALOG)
    monkeypatch.chdir(project)

    @pulumi.runtime.test
    def program() -> None:
        load_catalog(given(project))

    program()
    assert {inputs["catalog"] for inputs in recorder.inputs.values()} == {recorded.format(parent=tmp_path)}
