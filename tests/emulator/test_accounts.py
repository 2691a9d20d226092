"""The account endpoints (accounts.py): app/list and oauth2/advertiser/get, on both front doors."""

from __future__ import annotations

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    OTHER_BC_ADVERTISER_ID,
    OTHER_BC_APP_ID,
    SECOND_APP_ID,
    THIRD_APP_ID,
    Emulator,
)
from tests.emulator.conftest import in_process_client
from tests.emulator.helpers import Api


def test_app_list_answers_the_advertisers_apps_under_apps(door: Api) -> None:
    data = door.ok("GET", constants.PATH_APP_LIST, {"advertiser_id": DEFAULT_ADVERTISER_ID})
    assert [app["app_id"] for app in data["apps"]] == [DEFAULT_APP_ID, SECOND_APP_ID, THIRD_APP_ID]
    assert all(app["app_name"] for app in data["apps"])
    other = door.ok("GET", constants.PATH_APP_LIST, {"advertiser_id": OTHER_BC_ADVERTISER_ID})
    assert [app["app_id"] for app in other["apps"]] == [OTHER_BC_APP_ID]


def test_app_list_refuses_an_advertiser_the_token_may_not_use(api: Api) -> None:
    answer = api.get(constants.PATH_APP_LIST, advertiser_id="7000000000000000555")
    assert answer["code"] == constants.CODE_PERMISSION_ERROR
    assert "7000000000000000555" in answer["message"]
    assert api.get(constants.PATH_APP_LIST)["code"] == constants.CODE_PARAM_ERROR


def test_authorized_advertisers_needs_the_developer_app_and_lists_the_tokens_advertisers(api: Api) -> None:
    missing = api.get(constants.PATH_AUTHORIZED_ADVERTISERS, app_id="7200000000000000001")
    assert missing["code"] == constants.CODE_PARAM_ERROR
    assert "secret" in missing["message"]
    data = api.ok(
        "GET", constants.PATH_AUTHORIZED_ADVERTISERS, {"app_id": "7200000000000000001", "secret": "s3cret"}
    )
    ids = [item["advertiser_id"] for item in data["list"]]
    assert DEFAULT_ADVERTISER_ID in ids
    assert OTHER_BC_ADVERTISER_ID in ids
    assert all(item["advertiser_name"] for item in data["list"])


def test_account_endpoints_need_a_token(emulator: Emulator) -> None:
    with in_process_client(emulator, token=None) as client:
        answer = Api(client).get(constants.PATH_APP_LIST, advertiser_id=DEFAULT_ADVERTISER_ID)
    assert answer["code"] == constants.CODE_EMPTY_ACCESS_TOKEN
