"""The access token never leaves the provider host's memory: not in state, errors, logs or TikTok's data.

One run through every operation, successes and failures, with a distinctive token; then every
place a token could leak to is searched for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator import DEFAULT_ADVERTISER_ID, OTHER_BC_APP_ID, Emulator, RunningServer
from pulumi_tiktok_audiences.settings import ENDPOINT_KEY, TOKEN_KEY
from tests.contract.helpers import PROJECT, PROVIDER_KEY, SECRET_TOKEN, Engine, declared
from tests.harness.host import HostError, ProviderHost, secret


def test_the_token_appears_nowhere(server: RunningServer, emulator: Emulator) -> None:
    seen: list[Any] = []  # everything the engine would store or show
    errors: list[str] = []

    def expect_error(call: Callable[[], object]) -> None:
        with pytest.raises(HostError) as caught:
            call()
        errors.append(caught.value.details)

    host = ProviderHost(project=PROJECT)
    try:
        host.configure({TOKEN_KEY: secret(SECRET_TOKEN), ENDPOINT_KEY: server.url})
        engine = Engine(host)
        checked = engine.checked(declared(name="secret run"))
        seen.append(checked)
        id_, outs = engine.create(declared(name="secret run"))
        seen.append(outs)
        read_id, read_outs, read_inputs = engine.read(id_, outs)
        assert read_id == id_
        seen += [read_outs, read_inputs]
        seen.append(engine.diff(id_, read_outs, declared(name="secret run 2")))
        new_outs = engine.update(id_, read_outs, declared(name="secret run 2"))
        seen.append(new_outs)

        emulator.inject_fault(constants.PATH_RULE_CREATE, drop=True, count=1)
        lost_id, lost_outs = engine.create(declared(name="secret lost answer"))
        seen.append(lost_outs)
        emulator.inject_fault(constants.PATH_DELETE, code=constants.CODE_PARAM_ERROR, count=1)
        expect_error(lambda: engine.delete(id_, new_outs))
        expect_error(lambda: engine.create(declared(name="secret refused", app_ids=[OTHER_BC_APP_ID])))
        expect_error(lambda: engine.create(declared(adopt_audience_id="7399999999999999999")))
        expect_error(lambda: engine.read(id_, {**new_outs, "advertiser_id": "7000000000000000404"}))
        seen.append(engine.check(declared(retention_in_days=0, include=[])).failures)
        engine.delete(id_, new_outs)
        engine.delete(lost_id, lost_outs)
    finally:
        stderr = host.close()

    assert len(errors) == 4
    assert all(isinstance(props, dict) and props[PROVIDER_KEY] for props in (checked, outs, new_outs))
    places = {
        "returned properties": json.dumps(seen, default=repr),
        "host errors": "\n".join(errors),
        "host stderr": stderr,
        "emulator audiences": json.dumps(emulator.audiences(include_deleted=True)),
        "emulator audiences of the advertiser": json.dumps(emulator.audiences(DEFAULT_ADVERTISER_ID)),
    }
    for place, text in places.items():
        assert SECRET_TOKEN not in text, place
