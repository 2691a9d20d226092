"""The account endpoints beside the audience ones: which advertisers a token may use, and their apps.

* ``GET /oauth2/advertiser/get/`` (TikTok's "Get authorized ad accounts"; no yml is published, so it
  follows the API Reference page, see constants.py): ``app_id`` and ``secret`` are required, the
  answer is ``data.list`` of ``{advertiser_id, advertiser_name}`` for every advertiser the token may
  act for. The emulator has no developer apps, so any non-empty ``app_id`` and ``secret`` are taken.
* ``GET /app/list/`` (``app_list.yml``; its response_rule is ``apps: $.rpc.output.apps``): the
  advertiser's apps as ``data.apps`` of ``{app_id, app_name}``; an advertiser the token may not use
  gets 40001, as every audience endpoint does.
"""

from __future__ import annotations

from typing import Any

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator import validation
from pulumi_tiktok_audiences.emulator.directory import Directory, Principal
from pulumi_tiktok_audiences.emulator.errors import permission_error
from pulumi_tiktok_audiences.emulator.service import Endpoint

AUTHORIZED_ADVERTISERS = validation.Obj(
    {"app_id": validation.Str(non_blank=True), "secret": validation.Str(non_blank=True)},
    frozenset({"app_id", "secret"}),
)
APP_LIST = validation.Obj({"advertiser_id": validation.ID}, frozenset({"advertiser_id"}))


class AccountService:
    """Read-only answers from the seed's account facts."""

    def __init__(self, directory: Directory) -> None:
        self._directory = directory

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(constants.PATH_AUTHORIZED_ADVERTISERS, "GET", AUTHORIZED_ADVERTISERS, self.advertisers),
            Endpoint(constants.PATH_APP_LIST, "GET", APP_LIST, self.apps),
        ]

    def advertisers(self, principal: Principal, query: dict[str, Any]) -> dict[str, Any]:
        items = []
        for advertiser_id in sorted(principal.advertiser_ids):
            advertiser = self._directory.advertiser(advertiser_id)
            name = advertiser.display_name if advertiser else f"Advertiser {advertiser_id}"
            items.append({"advertiser_id": advertiser_id, "advertiser_name": name})
        return {"list": items}

    def apps(self, principal: Principal, query: dict[str, Any]) -> dict[str, Any]:
        advertiser_id = query["advertiser_id"]
        advertiser = self._directory.advertiser(advertiser_id)
        if advertiser_id not in principal.advertiser_ids or advertiser is None:
            raise permission_error(
                f"advertiser_id: the access token has no permission for advertiser {advertiser_id}"
            )
        return {
            "apps": [
                {"app_id": app_id, "app_name": f"Emulator App {app_id}"} for app_id in advertiser.app_ids
            ]
        }
