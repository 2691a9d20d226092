"""The account calls: app/list and oauth2/advertiser/get (what they send, what they read)."""

from __future__ import annotations

import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import PermissionDeniedError
from tests.client.helpers import ADVERTISER, TOKEN, Recorder, envelope, make_client, query

SECRET = "dev-app-secret-3f9a1c77e2"


@pytest.mark.parametrize(
    "data",
    [
        {"apps": [{"app_id": 6400000001, "app_name": "Shop", "platform": "ANDROID", "extra": 1}]},
        {"list": [{"app_id": "6400000001", "app_name": "Shop", "platform": "ANDROID"}]},
    ],
    ids=["apps (app_list.yml)", "list"],
)
def test_list_apps_reads_the_apps_of_an_advertiser(data: dict[str, object]) -> None:
    recorder = Recorder([envelope(data)])
    with make_client(recorder) as client:
        (app,) = client.list_apps(ADVERTISER)
    assert (app.app_id, app.app_name, app.platform) == ("6400000001", "Shop", "ANDROID")
    (request,) = recorder.requests
    assert request.url.path == constants.API_PREFIX + constants.PATH_APP_LIST
    assert query(request) == {"advertiser_id": ADVERTISER}


def test_list_apps_reads_null_as_no_apps() -> None:
    with make_client(Recorder([envelope({"apps": None})])) as client:
        assert client.list_apps(ADVERTISER) == []


def test_authorized_advertisers_sends_the_developer_app_and_reads_the_list() -> None:
    answer = envelope({"list": [{"advertiser_id": 7000000000000000001, "advertiser_name": "Shop"}]})
    recorder = Recorder([answer])
    with make_client(recorder) as client:
        (advertiser,) = client.authorized_advertisers("7200000000000000001", SECRET)
    assert (advertiser.advertiser_id, advertiser.advertiser_name) == (ADVERTISER, "Shop")
    (request,) = recorder.requests
    assert request.method == "GET"
    assert request.url.path == constants.API_PREFIX + constants.PATH_AUTHORIZED_ADVERTISERS
    assert query(request) == {"app_id": "7200000000000000001", "secret": SECRET}
    assert request.headers[constants.ACCESS_TOKEN_HEADER] == TOKEN


def test_the_app_secret_is_kept_out_of_errors() -> None:
    refusal = envelope(
        code=constants.CODE_PERMISSION_ERROR, message=f"secret {SECRET} and token {TOKEN} refused"
    )
    with make_client(Recorder([refusal])) as client, pytest.raises(PermissionDeniedError) as caught:
        client.authorized_advertisers("7200000000000000001", SECRET)
    assert SECRET not in str(caught.value)
    assert TOKEN not in str(caught.value)
