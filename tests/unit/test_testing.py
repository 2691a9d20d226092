"""``AudienceMocks`` used as a user would: small programs under ``@pulumi.runtime.test``.

No provider host and no API: the mocks run the provider's check in-process and answer with the
outputs a ``pulumi up`` gives. No ``asyncio.run`` here: it would break ``@pulumi.runtime.test``.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest

from pulumi_tiktok_audiences import (
    AppActivityAudience,
    AudienceShare,
    EventRule,
    LookalikeAudience,
    audience_size,
)
from pulumi_tiktok_audiences.errors import InvalidArgumentsError
from pulumi_tiktok_audiences.settings import ADVERTISER_ENV, ADVERTISER_KEY
from pulumi_tiktok_audiences.spec import LOOKBACK_DAYS_ALLOWED
from pulumi_tiktok_audiences.testing import AudienceMocks

ADVERTISER = "7000000000000000001"
SISTER = "7000000000000000002"
APP = "6400000001"
AD_GROUP_TYPE = "example:ads:AdGroup"


GUIDE = Path(__file__).parents[2] / "docs" / "guides" / "platform-engineer.md"


def _use(mocks: pulumi.runtime.Mocks, config: dict[str, str] | None = None) -> None:
    pulumi.runtime.set_mocks(mocks, project="shop", stack="dev", preview=False)
    pulumi.runtime.set_all_config({ADVERTISER_KEY: ADVERTISER} if config is None else config)


@pytest.fixture(autouse=True)
def _mocks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(ADVERTISER_ENV, raising=False)  # the stack config alone names the advertiser
    _use(AudienceMocks())
    yield
    # A failed program leaves Outputs holding its error, never retrieved. Finalized by a GC pass
    # that happens to run inside a later ast.parse (pytest's rewriting), their "never retrieved"
    # log parses its traceback, which trips CPython 3.11's shared AST depth counter
    # (python/cpython#106905, pytest-dev/pytest#10763). Finalize them here instead.
    _use(AudienceMocks())
    gc.collect()


def _buyers(name: str = "buyers", **overrides: Any) -> AppActivityAudience:
    args: dict[str, Any] = {
        "name": "Recent buyers",
        "app_ids": [APP, APP],
        "include": [EventRule(event="purchase", lookback_days=30)],
        **overrides,
    }
    return AppActivityAudience(name, **args)


def _resolved(program: Callable[[], pulumi.Output[Any]]) -> Any:
    """What ``program``'s output resolves to, run under ``@pulumi.runtime.test``. An apply on an
    output that stays unknown never runs, so assertions inside one would pass unseen: this fails."""
    seen: list[Any] = []

    @pulumi.runtime.test
    def run() -> pulumi.Output[None]:
        return program().apply(seen.append)

    run()
    assert seen, "the output stayed unknown"
    return seen[0]


def test_outputs_are_those_of_a_fresh_create() -> None:
    def program() -> pulumi.Output[list[Any]]:
        buyers = _buyers()
        return pulumi.Output.all(
            buyers.audience_id,
            buyers.advertiser_id,
            buyers.app_ids,
            buyers.include,
            buyers.summary,
            buyers.size,
            buyers.is_valid,
            buyers.targetable,
        )

    audience_id, advertiser_id, app_ids, include, summary, size, is_valid, targetable = _resolved(program)
    assert audience_id.isdigit()
    assert len(audience_id) == 19  # like TikTok's ids
    assert advertiser_id == ADVERTISER  # the stack config's default, as the provider applies it
    assert (app_ids, include) == ([APP], [{"event": "PURCHASE", "lookback_days": 30}])  # canonical
    assert summary == f"People who purchased in app {APP} in the last 30 days."
    assert (size, is_valid, targetable) == (None, False, False)  # TikTok is still calculating


def test_a_lookalike_and_its_share_wire_up_like_a_deployment() -> None:
    def program() -> pulumi.Output[list[Any]]:
        buyers = _buyers()
        lookalike = LookalikeAudience(
            "buyers-lookalike",
            source=buyers,
            locations=["6252001"],
            audience_size="broad",
            wait_until_targetable=True,
        )
        share = AudienceShare("buyers-share", audience=lookalike, advertiser_ids=[SISTER])
        return pulumi.Output.all(
            buyers.audience_id,
            lookalike.audience_id,
            lookalike.source_audience_id,
            lookalike.size,
            lookalike.targetable,
            share.id,
            share.shared_advertiser_ids,
            share.summary,
        )

    buyers_id, lookalike_id, source_id, size, targetable, share_id, shared_with, summary = _resolved(program)
    assert source_id == buyers_id != lookalike_id
    assert (size, targetable) == (1000, True)  # create waited until TikTok's targeting minimum
    assert share_id == f"{ADVERTISER}/{lookalike_id}"
    assert shared_with == [SISTER]
    assert summary == f"Audience {lookalike_id} shared with advertiser {SISTER}."


def test_size_sets_what_every_audience_reports() -> None:
    _use(AudienceMocks(size=2500))

    def program() -> pulumi.Output[list[Any]]:
        buyers = _buyers(wait_until_targetable=True)
        return pulumi.Output.all(buyers.size, buyers.is_valid, buyers.targetable)

    assert _resolved(program) == [2500, True, True]


def test_a_preview_with_values_not_known_yet_leaves_computed_outputs_unknown() -> None:
    pulumi.runtime.set_mocks(AudienceMocks(), project="shop", stack="dev", preview=True)
    seen: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        buyers = _buyers()
        ready_id = audience_size(buyers, wait_until_targetable=True).apply(lambda size: size.audience_id)
        share = AudienceShare("buyers-share", audience=ready_id, advertiser_ids=[SISTER])
        outputs = {"buyers id": buyers.audience_id, "shared with": share.shared_advertiser_ids}
        for key, output in {**outputs, "share summary": share.summary}.items():
            output.apply(lambda value, key=key: seen.update({key: value}))  # runs only once known
        return pulumi.Output.all(*outputs.values())

    program()
    assert sorted(seen) == ["buyers id", "shared with"]  # the share's summary stays unknown
    assert seen["buyers id"].isdigit()
    assert seen["shared with"] == [SISTER]


def test_an_adopted_audience_keeps_its_id() -> None:
    adopted = _resolved(lambda: _buyers(adopt_audience_id="7300000000000000042").audience_id)
    assert adopted == "7300000000000000042"


class AdGroup(pulumi.CustomResource):
    """Another provider's resource in the user's program: it targets audiences by id."""

    audience_ids: pulumi.Output[list[str]]
    lookback_days: pulumi.Output[int]

    def __init__(self, name: str, audience_ids: list[pulumi.Output[str]]) -> None:
        super().__init__(AD_GROUP_TYPE, name, {"audience_ids": audience_ids, "lookback_days": None})


class ShopMocks(AudienceMocks):
    """The documented way to answer for other resource types: subclass, and super() for the rest."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        if args.typ == AD_GROUP_TYPE:
            return "ad-group-1", {**args.inputs, "lookback_days": 200}
        return super().new_resource(args)


def test_a_bad_value_from_another_resources_output_fails_the_test() -> None:
    """Known only once the other resource exists: the mocks' check catches it, with its path."""
    _use(ShopMocks())

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        buyers = _buyers()
        group = AdGroup("group", [buyers.audience_id])
        retargeted = _buyers("retargeted", include=[{"event": "LOGIN", "lookback_days": group.lookback_days}])
        return pulumi.Output.all(group.audience_ids, retargeted.audience_id)

    with pytest.raises(InvalidArgumentsError) as caught:
        program()
    assert caught.value.problems == [
        ("include[0].lookback_days", f"must be a whole number from {LOOKBACK_DAYS_ALLOWED}; got 200.0")
    ]


def test_functions_of_other_providers_say_how_to_answer_them() -> None:
    mocks = AudienceMocks()
    with pytest.raises(NotImplementedError, match="override call"):
        mocks.call(pulumi.runtime.MockCallArgs("example:ads:getCampaign", {}, ""))


def test_the_guide_example_passes() -> None:
    section = GUIDE.read_text().split("## Testing your program", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(compile(code[1], str(GUIDE), "exec"), namespace)
    namespace["test_lapsed_buyers"]()
