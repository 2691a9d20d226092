"""The emulator's world: which tokens exist, which advertisers they may act for, and who owns which app.

TikTok knows these facts from its own account system; the emulator takes them from a *seed*: the
:data:`DEFAULT_SEED`, one built from CLI flags (:meth:`Seed.from_flags`), or a YAML file
(:func:`load_seed`)::

    tokens:
      - token: my-token                       # any string; kept in memory only, never printed
        advertiser_ids: ["7000000000000000001"]
        developer_app: my-app                 # optional; tokens of one app share its rate limits
    advertisers:
      - advertiser_id: "7000000000000000001"
        name: Shop One                          # optional; shown in share/log
        business_center_id: "7100000000000000001"
        app_ids: ["6400000001"]
    population:                                 # optional; see population.py
      calculating_seconds: 1.0
      growth_seconds: 2.0

The default seed (:data:`DEFAULT_SEED`): token ``emulator-token`` may act for advertisers
7000000000000000001, ...0002 and ...0003 (Business Center 7100000000000000001; each of them owns apps
6400000001, 6400000002 and 6400000003) and 7000000000000000009 (Business Center 7100000000000000009,
app 6400000009), the last one for "different Business Center" share errors and foreign-app errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, model_validator

DEFAULT_TOKEN = "emulator-token"  # noqa: S105 - a public, local-only test token
DEFAULT_DEVELOPER_APP = "emulator-app"  # every token's developer app unless the seed names another
DEFAULT_BUSINESS_CENTER_ID = "7100000000000000001"
OTHER_BUSINESS_CENTER_ID = "7100000000000000009"
DEFAULT_ADVERTISER_ID = "7000000000000000001"
SECOND_ADVERTISER_ID = "7000000000000000002"
THIRD_ADVERTISER_ID = "7000000000000000003"
OTHER_BC_ADVERTISER_ID = "7000000000000000009"
DEFAULT_APP_ID = "6400000001"
SECOND_APP_ID = "6400000002"
THIRD_APP_ID = "6400000003"
OTHER_BC_APP_ID = "6400000009"

# How long a new audience is "calculating" and how long it then takes to reach its full size. Fast on
# purpose: demos and tests see an audience become targetable within seconds, not TikTok's 24-48 h.
DEFAULT_CALCULATING_SECONDS = 1.0
DEFAULT_GROWTH_SECONDS = 2.0


def _id_to_str(value: Any) -> Any:
    """YAML reads unquoted IDs as integers; TikTok IDs are strings."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


NumericId = Annotated[str, BeforeValidator(_id_to_str), Field(pattern=r"^[0-9]{1,19}$")]


class AdvertiserSeed(BaseModel):
    """One ad account: its Business Center and the apps it may use as event sources."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    advertiser_id: NumericId
    business_center_id: NumericId
    name: str | None = None
    app_ids: tuple[NumericId, ...] = ()

    @property
    def display_name(self) -> str:
        return self.name or f"Advertiser {self.advertiser_id}"


class TokenSeed(BaseModel):
    """An access token, the advertisers it is authorised for, and the developer app it was issued to
    (TikTok's rate limits count every token of an app together)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token: SecretStr = Field(min_length=1)
    advertiser_ids: tuple[NumericId, ...]
    developer_app: str = Field(default=DEFAULT_DEVELOPER_APP, min_length=1)


class PopulationConfig(BaseModel):
    """Timing of the audience size model (population.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    calculating_seconds: float = Field(default=DEFAULT_CALCULATING_SECONDS, ge=0)
    growth_seconds: float = Field(default=DEFAULT_GROWTH_SECONDS, ge=0)


class Seed(BaseModel):
    """Everything the emulator must know that TikTok's API cannot create."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tokens: tuple[TokenSeed, ...] = Field(min_length=1)
    advertisers: tuple[AdvertiserSeed, ...] = Field(min_length=1)
    population: PopulationConfig = PopulationConfig()

    @model_validator(mode="after")
    def _references_resolve(self) -> Seed:
        known = [a.advertiser_id for a in self.advertisers]
        if len(set(known)) != len(known):
            raise ValueError("advertisers: each advertiser_id may appear only once")
        for index, grant in enumerate(self.tokens):
            for advertiser_id in grant.advertiser_ids:
                if advertiser_id not in known:
                    raise ValueError(f"tokens[{index}]: advertiser {advertiser_id} is not in advertisers")
        return self

    @classmethod
    def from_flags(
        cls,
        tokens: tuple[str, ...] | list[str],
        advertiser_ids: tuple[str, ...] | list[str],
        app_ids: tuple[str, ...] | list[str] = (),
    ) -> Seed:
        """The CLI's flat form: every token acts for every advertiser, every app belongs to every one.

        All advertisers share :data:`DEFAULT_BUSINESS_CENTER_ID`; no token means :data:`DEFAULT_TOKEN`.
        """
        advertisers = tuple(
            AdvertiserSeed(
                advertiser_id=advertiser_id,
                business_center_id=DEFAULT_BUSINESS_CENTER_ID,
                app_ids=tuple(app_ids),
            )
            for advertiser_id in dict.fromkeys(advertiser_ids)
        )
        grants = tuple(
            TokenSeed(token=SecretStr(token), advertiser_ids=tuple(a.advertiser_id for a in advertisers))
            for token in dict.fromkeys(tokens or (DEFAULT_TOKEN,))
        )
        return cls(tokens=grants, advertisers=advertisers)


def load_seed(path: str | Path) -> Seed:
    """Read a YAML seed file (format in the module docstring); pydantic reports what is wrong."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return Seed.model_validate(data)


_SHARED_APPS = (DEFAULT_APP_ID, SECOND_APP_ID, THIRD_APP_ID)
DEFAULT_SEED = Seed(
    tokens=(
        TokenSeed(
            token=SecretStr(DEFAULT_TOKEN),
            advertiser_ids=(
                DEFAULT_ADVERTISER_ID,
                SECOND_ADVERTISER_ID,
                THIRD_ADVERTISER_ID,
                OTHER_BC_ADVERTISER_ID,
            ),
        ),
    ),
    advertisers=(
        AdvertiserSeed(
            advertiser_id=DEFAULT_ADVERTISER_ID,
            business_center_id=DEFAULT_BUSINESS_CENTER_ID,
            name="Emulator Advertiser 1",
            app_ids=_SHARED_APPS,
        ),
        AdvertiserSeed(
            advertiser_id=SECOND_ADVERTISER_ID,
            business_center_id=DEFAULT_BUSINESS_CENTER_ID,
            name="Emulator Advertiser 2",
            app_ids=_SHARED_APPS,
        ),
        AdvertiserSeed(
            advertiser_id=THIRD_ADVERTISER_ID,
            business_center_id=DEFAULT_BUSINESS_CENTER_ID,
            name="Emulator Advertiser 3",
            app_ids=_SHARED_APPS,
        ),
        AdvertiserSeed(
            advertiser_id=OTHER_BC_ADVERTISER_ID,
            business_center_id=OTHER_BUSINESS_CENTER_ID,
            name="Emulator Advertiser 9 (other Business Center)",
            app_ids=(OTHER_BC_APP_ID,),
        ),
    ),
)
