"""Typed models of TikTok's answers (reference §1-2), tolerant of what TikTok may add.

Only documented fields are modelled; unknown fields are ignored so that a new TikTok field
never breaks a deployment. IDs are strings on the wire but are accepted as numbers too.
Times stay TikTok's ``"YYYY-MM-DD HH:MM:SS"`` (GMT) strings, exactly as sent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from pulumi_tiktok_audiences import constants


def _none_as_empty(value: Any) -> Any:
    return [] if value is None else value


# TikTok may send ``null`` for an empty list (reference Q10); read it as ``[]``.
_NoneAsEmpty = BeforeValidator(_none_as_empty)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


class Envelope(_Model):
    """``{code, message, request_id, data}``, the wrapper of every TikTok answer."""

    code: int
    message: str | None = None
    request_id: str | None = None
    data: Any = None


class AudienceHistoryEntry(_Model):
    """One row of ``audience_history`` in get: an operation on the audience."""

    action: str | None = None
    action_detail: str | None = None
    editor: str | None = None
    msg: str | None = None
    opt_time: str | None = None


def _named(codes: dict[str, int]) -> BeforeValidator:
    """An enum TikTok may return as the gateway's integer (20, "20") rather than its name (reference §6.1)."""
    by_code = {str(code): name for name, code in codes.items()}

    def name(value: Any) -> Any:
        if isinstance(value, int | str) and not isinstance(value, bool):
            return by_code.get(str(value).strip(), value)
        return value

    return BeforeValidator(name)


def _placement_list(value: Any) -> Any:
    """Placements as a list: a list at create time, maybe one string in get (Q12), comma-separated."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class LookalikeSpec(_Model):
    """A lookalike audience's settings as get reports them, under either name.

    Get's response_rule maps them from backend fields (Y:get: ``seed_id``, ``is_contain_seed``,
    ``platform``, ``app_names``, ``country_ids``, ``lookalike_num``), which TikTok may return as
    they are and typed differently (reference §6.4): both names and either type are read.
    """

    source_audience_id: str | None = Field(
        default=None, validation_alias=AliasChoices("source_audience_id", "seed_id")
    )
    include_source: bool | None = Field(
        default=None, validation_alias=AliasChoices("include_source", "is_contain_seed")
    )
    mobile_os: str | None = Field(default=None, validation_alias=AliasChoices("mobile_os", "platform"))
    placements: Annotated[list[str] | None, BeforeValidator(_placement_list)] = Field(
        default=None, validation_alias=AliasChoices("placements", "app_names")
    )
    location_ids: list[str] | None = Field(
        default=None, validation_alias=AliasChoices("location_ids", "country_ids")
    )
    audience_size: Annotated[str | None, _named(constants.LOOKALIKE_SIZE_CODES)] = Field(
        default=None, validation_alias=AliasChoices("audience_size", "lookalike_num")
    )


def parse_time(text: str | None) -> datetime | None:
    """TikTok's "YYYY-MM-DD HH:MM:SS" (UTC) times; None when absent or malformed."""
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


class _AudienceFields(_Model):
    """Fields that list and get both report."""

    audience_id: str
    name: str | None = None
    cover_num: int | None = None
    is_valid: bool | None = None
    is_expiring: bool | None = None
    expired_time: str | None = None
    create_time: str | None = None
    shared: bool | None = None
    is_creator: bool | None = None
    calculate_type: str | None = None

    def created_at(self) -> datetime | None:
        return parse_time(self.create_time)

    def is_expired(self, server_now: datetime) -> bool:
        """Past ``expired_time``: TikTok still lists it (size 0), but it can only be deleted."""
        expires = parse_time(self.expired_time)
        return expires is not None and expires <= server_now


class AudienceSummary(_AudienceFields):
    """One audience of the list endpoint."""

    audience_type: str | None = None


class AudienceDetail(_AudienceFields):
    """One audience of the get endpoint: ``audience_details`` plus its ``audience_history``."""

    type: str | None = None  # "type" in get, "audience_type" in list (reference §2.3)
    audience_sub_type: Annotated[str | None, _named(constants.AUDIENCE_SUB_TYPE_CODES)] = None
    owner_id: str | None = None
    is_auto_refresh: bool | None = None
    rule: str | None = None  # JSON text; its inner format is not documented (Q3)
    lookalike_spec: list[LookalikeSpec] = Field(default_factory=list)
    msg: str | None = None
    error_msg: str | None = None
    history: list[AudienceHistoryEntry] = Field(default_factory=list)

    @field_validator("rule", mode="before")
    @classmethod
    def _rule_as_text(cls, value: Any) -> Any:
        """Keep ``rule`` as JSON text even if a server sends the object itself."""
        return json.dumps(value) if isinstance(value, dict | list) else value

    @field_validator("lookalike_spec", mode="before")
    @classmethod
    def _spec_as_list(cls, value: Any) -> Any:
        """TikTok's files disagree on one object or a list (Q12): accept both, and null."""
        return [value] if isinstance(value, dict) else _none_as_empty(value)


class PageInfo(_Model):
    """Paging of the list endpoint."""

    page: int | None = None
    page_size: int | None = None
    total_number: int | None = None
    total_page: int | None = None


class ShareLogEntry(_Model):
    """One row of share/log: with whom an audience is shared, and the state of that share."""

    custom_audience_id: str | None = None
    shared_advertiser_id: str | None = None
    shared_advertiser_name: str | None = None
    status: str | None = None


# --- The ``data`` objects of each endpoint (internal to the client) ---------------------------


class CreatedAudience(_Model):
    """``data`` of rule/create and lookalike/create (``audience_id`` as get names it is read too)."""

    custom_audience_id: Annotated[str, Field(pattern=r"^\d+$")] = Field(
        validation_alias=AliasChoices("custom_audience_id", "audience_id")
    )


class _GetItem(_Model):
    audience_details: AudienceDetail
    audience_history: Annotated[list[AudienceHistoryEntry], _NoneAsEmpty] = Field(default_factory=list)

    def detail(self) -> AudienceDetail:
        return self.audience_details.model_copy(update={"history": self.audience_history})


class GetData(_Model):
    """``data`` of get."""

    items: Annotated[list[_GetItem], _NoneAsEmpty] = Field(default_factory=list, alias="list")

    def details(self) -> list[AudienceDetail]:
        return [item.detail() for item in self.items]


class ListData(_Model):
    """``data`` of list."""

    items: Annotated[list[AudienceSummary], _NoneAsEmpty] = Field(default_factory=list, alias="list")
    page_info: PageInfo | None = None


class ShareLogData(_Model):
    """``data`` of share/log."""

    items: Annotated[list[ShareLogEntry], _NoneAsEmpty] = Field(default_factory=list, alias="list")
