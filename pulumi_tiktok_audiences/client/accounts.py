"""Typed answers of the two account endpoints the doctor reads (app/list, oauth2/advertiser/get).

Kept apart from models.py (the audience answers): same tolerance (unknown fields ignored, IDs as
strings, ``null`` lists read as empty), but nothing the provider depends on.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, Field

from pulumi_tiktok_audiences.client.models import _Model, _NoneAsEmpty


class AppSummary(_Model):
    """One app of ``app/list``: an event source whose id App Activity rules name."""

    app_id: str
    app_name: str | None = None
    platform: str | None = None


class AuthorizedAdvertiser(_Model):
    """One advertiser (ad account) the access token may act for."""

    advertiser_id: str
    advertiser_name: str | None = None


class AppListData(_Model):
    """``data`` of app/list: ``apps`` per app_list.yml's response_rule (``list`` read too)."""

    apps: Annotated[list[AppSummary], _NoneAsEmpty] = Field(
        default_factory=list, validation_alias=AliasChoices("apps", "list")
    )


class AuthorizedAdvertisersData(_Model):
    """``data`` of oauth2/advertiser/get."""

    items: Annotated[list[AuthorizedAdvertiser], _NoneAsEmpty] = Field(default_factory=list, alias="list")
