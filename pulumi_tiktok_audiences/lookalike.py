"""Specs of lookalike audiences and audience shares: validation, canonical form, payloads, words.

The counterpart of ``spec.py`` for the two other things a stack declares about audiences (TikTok
reference §2.6-2.9). Like ``spec.py`` it knows nothing of Pulumi or HTTP. What only TikTok can
check (the source audience exists, is not a lookalike and covers at least 100 people; shared
advertisers are in the owner's Business Center) is left to TikTok, whose reasons the provider
reports; everything that can be checked before an API call is checked here, with property paths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, WithJsonSchema, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from pulumi_tiktok_audiences import constants as c
from pulumi_tiktok_audiences.reading import UnreadableAnswerError
from pulumi_tiktok_audiences.spec import (
    AdvertiserId,
    AudienceName,
    StrictModel,
    canonical_ids,
    error_paths,
    id_schema,
    item_count,
    numeric_id,
)

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.client.models import LookalikeSpec

__all__ = [
    "DEFAULT_READINESS_TIMEOUT_SECONDS",
    "LookalikeAudienceSpec",
    "LookalikeOptions",
    "ReadinessOptions",
    "ShareSpec",
]

DEFAULT_READINESS_TIMEOUT_SECONDS = 600.0
"""How long ``wait_until_targetable`` waits by default: plenty for the emulator, and a bounded
block on TikTok, which can take 24-48 hours (raise it, or run `pulumi up` again later)."""


def _one_of(allowed: tuple[str, ...], what: str) -> Callable[[object], object]:
    """Accept TikTok's value in any case ("broad" -> "BROAD"); name every allowed value otherwise."""
    by_key = {value.casefold(): value for value in allowed}

    def check(value: object) -> object:
        if isinstance(value, str) and value.strip().casefold() in by_key:
            return by_key[value.strip().casefold()]
        raise PydanticCustomError("one_of", f"{what} must be one of {', '.join(allowed)}; got {value!r}")

    return check


def _in_table_order(allowed: tuple[str, ...]) -> Callable[[list[str]], list[str]]:
    """Deduplicated, in the order of TikTok's table, so that order and repeats make no difference."""

    def order(values: list[str]) -> list[str]:
        return [value for value in allowed if value in values]

    return order


_AudienceId = Annotated[
    str, BeforeValidator(numeric_id("an audience id")), id_schema("TikTok custom audience id")
]
_LocationId = Annotated[
    str,
    BeforeValidator(numeric_id("a location id")),
    id_schema("TikTok location id (Lookalike Locations enumeration)"),
]
_Size = Annotated[
    str,
    BeforeValidator(_one_of(c.LOOKALIKE_SIZES, "audience_size")),
    WithJsonSchema({"type": "string", "enum": list(c.LOOKALIKE_SIZES)}),
]
_MobileOs = Annotated[
    str,
    BeforeValidator(_one_of(c.LOOKALIKE_MOBILE_OS, "mobile_os")),
    WithJsonSchema({"type": "string", "enum": list(c.LOOKALIKE_MOBILE_OS)}),
]
_Placement = Annotated[
    str,
    BeforeValidator(_one_of(c.LOOKALIKE_PLACEMENTS, "a placement")),
    WithJsonSchema({"type": "string", "enum": list(c.LOOKALIKE_PLACEMENTS)}),
]
_NORMAL = c.AUDIENCE_SUB_TYPES[0]


def _normal_only(value: object) -> object:
    """TikTok's lookalike/create has no audience_sub_type (Y:lookalike_create) and update refuses
    one on lookalikes (reference §2.2): NORMAL is the only sub-type a lookalike can have."""
    checked = _one_of(c.AUDIENCE_SUB_TYPES, "audience_sub_type")(value)
    if checked != _NORMAL:
        raise PydanticCustomError(
            "lookalike_sub_type",
            f"a lookalike audience can only be {_NORMAL}: TikTok's lookalike/create takes no "
            f"audience_sub_type and update refuses to change it on lookalikes; got {value!r}",
        )
    return checked


_SubType = Annotated[
    str,
    BeforeValidator(_normal_only),
    WithJsonSchema({"type": "string", "enum": [_NORMAL]}),
]


class LookalikeAudienceSpec(StrictModel):
    """A lookalike audience: people similar to a source audience, in some locations (§2.8)."""

    advertiser_id: AdvertiserId
    name: AudienceName
    source_audience_id: _AudienceId = Field(
        description="The audience to find lookalikes of: not itself a lookalike, at least 100 people."
    )
    locations: Annotated[
        list[_LocationId],
        Field(min_length=1),
        BeforeValidator(item_count(1, None, "location id")),
        AfterValidator(canonical_ids),
    ] = Field(description="Location ids (TikTok's Lookalike Locations enumeration).")
    audience_size: _Size = Field(description="NARROW (closest match), BALANCED or BROAD (largest reach).")
    mobile_os: _MobileOs = Field(default="ALL", description="Devices to find people on.")
    placements: Annotated[
        list[_Placement],
        Field(min_length=1),
        BeforeValidator(item_count(1, None, "placement")),
        AfterValidator(_in_table_order(c.LOOKALIKE_PLACEMENTS)),
    ] = Field(default_factory=lambda: [c.LOOKALIKE_PLACEMENTS[0]], description="Where to find them.")
    include_source: bool = Field(
        default=False, strict=True, description="Whether the source audience's people are in it too."
    )
    audience_sub_type: _SubType = Field(
        default="NORMAL", description="REACH_FREQUENCY audiences serve Reach & Frequency ads only."
    )

    def replacement_key(self) -> dict[str, Any]:
        """Everything TikTok fixes at creation: all but the name (the update endpoint renames)."""
        return self.model_dump(mode="json", exclude={"name"})

    def to_create_payload(self) -> dict[str, Any]:
        """The exact JSON body of ``POST /dmp/custom_audience/lookalike/create/``."""
        return {  # only the fields Y:lookalike_create documents (no audience_sub_type)
            "advertiser_id": self.advertiser_id,
            "custom_audience_name": self.name,
            "lookalike_spec": {
                "source_audience_id": self.source_audience_id,
                "include_source": self.include_source,
                "mobile_os": self.mobile_os,
                "placements": list(self.placements),
                "location_ids": list(self.locations),
                "audience_size": self.audience_size,
            },
        }

    def mismatches(self, live: LookalikeSpec) -> list[str]:
        """How TikTok's report of a lookalike (get's lookalike_spec, either naming) differs from this.

        Raises UnreadableAnswerError when the report lacks a setting or holds one this spec cannot
        read: a lookalike is never matched by guess.
        """
        fields = {
            "source_audience_id": live.source_audience_id,
            "locations": live.location_ids,
            "audience_size": live.audience_size,
            "mobile_os": live.mobile_os,
            "placements": live.placements,
            "include_source": live.include_source,
        }
        missing = [key for key, value in fields.items() if value is None]
        if missing:
            raise UnreadableAnswerError(f"TikTok's lookalike_spec does not report {', '.join(missing)}")
        try:
            reported = LookalikeAudienceSpec.model_validate(
                {"advertiser_id": self.advertiser_id, "name": self.name, **fields}
            )
        except ValidationError as exc:
            problems = "; ".join(f"{path}: {message}" for path, message in error_paths(exc))
            raise UnreadableAnswerError(f"TikTok's lookalike_spec cannot be read ({problems})") from None
        theirs, ours = reported.replacement_key(), self.replacement_key()
        return [
            f"{key}: TikTok has {theirs[key]!r}, declared {ours[key]!r}"
            for key in ours
            if theirs[key] != ours[key]
        ]

    def summary(self) -> str:
        """The audience in plain English, for previews, docs and the CLI."""
        places = _listing("location", self.locations)
        devices = "all devices" if self.mobile_os == "ALL" else f"{_OS_WORDS[self.mobile_os]} devices"
        text = (
            f"People similar to audience {self.source_audience_id} ({self.audience_size.lower()} "
            f"lookalike) in {places}, on {devices}, placements {' and '.join(self.placements)}"
        )
        text += ", source audience included." if self.include_source else "."
        if self.audience_sub_type == "REACH_FREQUENCY":
            text += " For Reach & Frequency ads only."
        return text


class ReadinessOptions(StrictModel):
    """Whether create waits until TikTok can target the audience; never a reason to replace it."""

    wait_until_targetable: bool = Field(
        default=False,
        strict=True,
        description="Wait in create until the audience reaches 1,000 people (TikTok's targeting minimum).",
    )
    readiness_timeout_seconds: float = Field(
        default=DEFAULT_READINESS_TIMEOUT_SECONDS, gt=0, description="How long each wait may last."
    )


class LookalikeOptions(ReadinessOptions):
    """How the provider manages a lookalike; not part of the audience, so never a reason to replace it.

    With ``wait_until_targetable`` create first waits for the source to be calculated.
    """

    refresh_trigger: str | None = Field(
        default=None, description="Change it (any text) to have TikTok recompute the lookalike now."
    )


_OS_WORDS = {"ANDROID": "Android", "IOS": "iOS"}


def _listing(kind: str, ids: list[str]) -> str:
    return f"{kind} {ids[0]}" if len(ids) == 1 else f"{kind}s {', '.join(ids[:-1])} and {ids[-1]}"


class ShareSpec(StrictModel):
    """One audience shared with advertisers of its owner's Business Center (§2.6)."""

    advertiser_id: AdvertiserId = Field(description="The audience's owner, who shares it.")
    audience_id: _AudienceId
    shared_advertiser_ids: Annotated[
        list[AdvertiserId],
        Field(min_length=1, max_length=c.SHARE_ADVERTISERS_MAX),
        BeforeValidator(
            item_count(1, c.SHARE_ADVERTISERS_MAX, "advertiser ids (TikTok's limit per share request)")
        ),
        AfterValidator(canonical_ids),
    ] = Field(description="Advertisers of the same Business Center to share the audience with.")

    @model_validator(mode="after")
    def _not_with_owner(self) -> Self:
        if self.advertiser_id in self.shared_advertiser_ids:
            error = PydanticCustomError(
                "share_with_owner",
                f"advertiser {self.advertiser_id} owns the audience; share it with other advertisers only",
            )
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=error, loc=("shared_advertiser_ids",), input=self.shared_advertiser_ids
                    )
                ],
            )
        return self

    def share_id(self) -> str:
        """The resource id: owner and audience (an update changes the advertisers, never the id)."""
        return f"{self.advertiser_id}/{self.audience_id}"

    def summary(self) -> str:
        return (
            f"Audience {self.audience_id} shared with {_listing('advertiser', self.shared_advertiser_ids)}."
        )
