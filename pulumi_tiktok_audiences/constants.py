"""TikTok's published constants for custom audiences: one table each, with its source.

Both the spec/client side and the emulator read these tables and nothing else of each
other, so that the emulator can catch the client's mistakes instead of repeating them.
Source tags refer to ``../shared/reference/tiktok-audience-api.md`` (section numbers) and
TikTok's OpenAPI files (``dmp_custom_audience_*.yml``, "Y:<endpoint>").
"""

from __future__ import annotations

from typing import Final, NamedTuple

# --- Hosts and paths (reference §1) -------------------------------------------------------
PRODUCTION_URL: Final = "https://business-api.tiktok.com"
SANDBOX_URL: Final = "https://sandbox-ads.tiktok.com"
API_PREFIX: Final = "/open_api/v1.3"

# Endpoint paths below API_PREFIX; every TikTok path ends in a slash (reference §1).
PATH_RULE_CREATE: Final = "/dmp/custom_audience/rule/create/"
PATH_UPDATE: Final = "/dmp/custom_audience/update/"
PATH_GET: Final = "/dmp/custom_audience/get/"
PATH_LIST: Final = "/dmp/custom_audience/list/"
PATH_DELETE: Final = "/dmp/custom_audience/delete/"
PATH_SHARE: Final = "/dmp/custom_audience/share/"
PATH_SHARE_CANCEL: Final = "/dmp/custom_audience/share/cancel/"
PATH_SHARE_LOG: Final = "/dmp/custom_audience/share/log/"
PATH_LOOKALIKE_CREATE: Final = "/dmp/custom_audience/lookalike/create/"
PATH_LOOKALIKE_UPDATE: Final = "/dmp/custom_audience/lookalike/update/"
# Account endpoints the doctor reads: app/list (TikTok's app_list.yml, vendored) and "Get authorized
# ad accounts" (no yml is published for it: its path, app_id/secret query and data.list of
# {advertiser_id, advertiser_name} follow a public copy of TikTok's API Reference page, reference §6
# DOCS, "Ad Accounts/Get authorized ad accounts"; per reference §1 it does not work in the sandbox).
PATH_APP_LIST: Final = "/app/list/"
PATH_AUTHORIZED_ADVERTISERS: Final = "/oauth2/advertiser/get/"

ACCESS_TOKEN_HEADER: Final = "Access-Token"  # noqa: S105 - a header name, not a secret

# --- App Activity events (reference §3.2: BB FilterValue constants, corroborated one-to-one
# by the 28 events of TikTok's Help Center App Activity page). Exact wire strings. ----------
APP_EVENTS: Final[tuple[str, ...]] = (
    "INSTALL",
    "DAY 2 RETENTION",
    "LAUNCH APP",
    "LOGIN",
    "REGISTRATION",
    "COMPLETE TUTORIAL",
    "VIEW CONTENT",
    "APP ADD TO CART",
    "ADD TO WISHLIST",
    "APP ADD PAYMENT INFO",
    "CHECKOUT",
    "PURCHASE",
    "SUBSCRIBE",
    "START TRIAL",
    "APP SEARCH",
    "RATE",
    "ACHIEVE LEVEL",
    "UNLOCK ACHIEVEMENT",
    "SPEND CREDITS",
    "CREATE GROUP",
    "JOIN GROUP",
    "CREATE ROLE",
    "GENERATE LEAD",
    "IN-APP AD CLICK",
    "IN-APP AD IMPRESSION",
    "LOAN APPLY",
    "LOAN APPROVAL",
    "LOAN DISBURSAL",
)

# --- Lookback windows (rule ``retention_days``) for APP audiences ---------------------------
# TikTok's "Enumerations - Lookback window" page is not in any source we have (reference §3.3,
# open question Q1); the schema types the field as int32 with no bounds. ASSUMPTION: we use
# the range Ads Manager offers for App Activity audiences, 1 to 180 days inclusive. To change
# the allowed values, edit this one range: the spec, its JSON Schema, the docs and the
# emulator all read it.
LOOKBACK_DAYS_MIN: Final = 1
LOOKBACK_DAYS_MAX: Final = 180
LOOKBACK_DAYS_SOURCE: Final = (
    "range Ads Manager offers for App Activity audiences (TikTok does not publish the lookbacks "
    "its API accepts)"
)

# --- Limits (reference §2, §3.5, §3.6) -----------------------------------------------------
AUDIENCE_NAME_MAX_LEN: Final = 128  # Y:rule_create custom_audience_name maxLength
RULES_PER_SET_MIN: Final = 1  # rule/create description: "at least 1 rule and up to 5"
RULES_PER_SET_MAX: Final = 5
FILTERS_PER_RULE_MAX: Final = 1  # reference §2.1: filter_set.filters max 1 item
RETENTION_IN_DAYS_MIN: Final = 1  # Y:rule_create retention_in_days minimum/maximum
RETENTION_IN_DAYS_MAX: Final = 365
IDS_PER_GET_MAX: Final = 100  # Y:get custom_audience_ids maxItems
IDS_PER_DELETE_MAX: Final = 100  # Y:delete custom_audience_ids maxItems
IDS_PER_LIST_FILTER_MAX: Final = 100  # Y:list custom_audience_ids maxItems
LIST_PAGE_SIZE_MAX: Final = 100  # Y:list page_size maximum
LIST_PAGE_SIZE_DEFAULT: Final = 10  # reference §2.4
HISTORY_SIZE_MAX: Final = 100  # Y:get history_size maximum (and default)
SHARE_AUDIENCES_MAX: Final = 10  # Y:share custom_audience_ids 1-10
SHARE_ADVERTISERS_MAX: Final = 10  # Y:share shared_advertiser_ids 1-10
AUDIENCES_PER_ADVERTISER_MAX: Final = 400  # HC-eng, TD: 400 custom audiences per advertiser
TARGETABLE_MIN_SIZE: Final = 1000  # HC-eng, HC-manage: 1,000 matched users to target
LOOKALIKE_SOURCE_MIN_SIZE: Final = 100  # Y:lookalike_create: source size >= 100
EXPIRING_WITHIN_DAYS: Final = 60  # HC-expiry: is_expiring when <= 60 days remain
UNUSED_EXPIRY_DAYS: Final = 365  # HC-expiry: unused and unmodified for 12 months

# Enumerations shared by rule/create and update (Y:rule_create x-open-enum, strict).
AUDIENCE_TYPE_APP: Final = "APP"
AUDIENCE_SUB_TYPES: Final[tuple[str, ...]] = ("NORMAL", "REACH_FREQUENCY")
RULE_SET_OPERATORS: Final[tuple[str, ...]] = ("OR",)  # RuleSetOperatorType: OR only
FILTER_SET_OPERATORS: Final[tuple[str, ...]] = ("AND", "OR")  # FilterSetOperatorType
FILTER_FIELD: Final = "EVENT"
FILTER_OPERATOR: Final = "EQ"  # FilterFieldOperatorType: EQ only

# Human-readable audience type strings in get/list responses (reference §2.4, BB list.go).
APP_ACTIVITY_TYPE_NAME: Final = "App Activity Audience"
LOOKALIKE_TYPE_NAME: Final = "Lookalike Audience"

# Lookalike enumerations (Y:lookalike_create).
LOOKALIKE_SIZES: Final[tuple[str, ...]] = ("NARROW", "BALANCED", "BROAD")
LOOKALIKE_MOBILE_OS: Final[tuple[str, ...]] = ("ALL", "ANDROID", "IOS")
LOOKALIKE_PLACEMENTS: Final[tuple[str, ...]] = ("TikTok", "TopBuzz & BuzzVideo", "Pangle")

# Other request enumerations of rule/create and update (Y:rule_create, Y:update x-open-enum, strict;
# parameter-filter fields from Y:rule_create x-open-validate, limits from its prose, reference §2.1).
RULE_AUDIENCE_TYPES: Final[tuple[str, ...]] = (
    "ENGAGEMENT",
    "ENGAGEMENT_ORGANIC_VIDEO",
    "ENGAGEMENT_LIVE_VIDEO",
    "APP",
    "PIXEL",
    "LEAD_GENERATION",
    "BUSINESS_ACCOUNT",
    "TIKTOK_SHOP",
    "OFFLINE",
)
IDENTITY_TYPES: Final[tuple[str, ...]] = (
    "AUTH_CODE",
    "BC_AUTH_TT",
    "BC_SELF_TT",
    "CUSTOMIZED_USER",
    "TT_USER",
    "UNSET",
)
UPDATE_FILE_ACTIONS: Final[tuple[str, ...]] = ("REPLACE", "APPEND", "REMOVE")
PARAMETER_FILTER_FIELDS: Final[tuple[str, ...]] = (
    "URL",
    "CONTENT_TYPE",
    "PRICE",
    "VALUE",
    "CONTENT_ID",
    "CONTENT_CATEGORY",
)
PARAMETER_FILTER_OPERATORS: Final[tuple[str, ...]] = (
    "CONTAINS",
    "DOES_NOT_CONTAIN",
    "EQ",
    "NOT_EQUAL",
    "IS_GREATER_THAN",
    "IS_GREATER_THAN_OR_EQUAL_TO",
    "IS_LESS_THAN",
    "IS_LESS_THAN_OR_EQUAL_TO",
)
PARAMETER_FILTER_VALUES_MAX: Final = 10  # Y:rule_create parameter_filters[].values maxItems
PARAMETER_FILTER_VALUE_MAX_LEN: Final = 100  # ... each value maxLength

# The gateway's integer for each request enum (x-open-enum "value" of Y:rule_create and
# Y:lookalike_create). TikTok converts request enums to these and returns get's ``rule`` (and
# lookalike_spec) from its backend unconverted, so answers may hold either form (reference §6.1).
AUDIENCE_TYPE_CODES: Final = {
    "ENGAGEMENT": 2,
    "APP": 3,
    "PIXEL": 4,
    "LEAD_GENERATION": 15,
    "BUSINESS_ACCOUNT": 16,
    "TIKTOK_SHOP": 21,
    "OFFLINE": 25,
    "ENGAGEMENT_ORGANIC_VIDEO": 100,
    "ENGAGEMENT_LIVE_VIDEO": 200,
}  # SecondPartyAudienceType
AUDIENCE_SUB_TYPE_CODES: Final = {"NORMAL": 0, "REACH_FREQUENCY": 1}  # AudienceSubType
RULE_SET_OPERATOR_CODES: Final = {"OR": 2}  # RuleSetOperatorType
FILTER_SET_OPERATOR_CODES: Final = {"AND": 1, "OR": 2}  # FilterSetOperatorType
FILTER_OPERATOR_CODES: Final = {"EQ": 1}  # FilterFieldOperatorType
LOOKALIKE_SIZE_CODES: Final = {"NARROW": 10, "BALANCED": 20, "BROAD": 30}  # DmpLookalikeAudienceSizeType

# --- Return codes (reference §4.1, names from the official SDK's tiktok_code.py) -------------
CODE_OK: Final = 0
CODE_INVALID_PARAMS: Final = 40000
CODE_PERMISSION_ERROR: Final = 40001
CODE_PARAM_ERROR: Final = 40002
CODE_NOT_EXIST: Final = 40007
CODE_NOT_SUPPORTED_IN_SANDBOX: Final = 40008  # reference §7.1: "not supported in sandbox" (also 40014)
CODE_UNSUPPORTED_IN_SANDBOX: Final = 40009  # reference §4.1 (the SDK's UNSUPPORTED_IN_SANDBOX)
CODE_ID_LIMIT_EXCEED: Final = 40011
CODE_SANDBOX_ENDPOINT_UNSUPPORTED: Final = 40014  # reference §7.1: "not supported in sandbox"
CODE_TOO_FREQUENT: Final = 40016  # reference §6.3: "Requests made too frequently" (endpoint, app level)
CODE_REQUEST_TOO_FREQUENT: Final = 40100
CODE_ACCESS_TOKEN_EXPIRE: Final = 40102
CODE_EMPTY_ACCESS_TOKEN: Final = 40104
CODE_INVALID_ACCESS_TOKEN: Final = 40105
CODE_REQUEST_FREQUENCY_LIMITED: Final = 40132
CODE_ADVERTISER_QPS_LIMIT: Final = 40133  # reference §6.3: the advertiser-level QPS limit
CODE_WRITE_CONFLICT: Final = 40202
CODE_ROUTE_NOT_FOUND: Final = 40400
CODE_RPC_VALIDATION_ERROR: Final = 40700  # reference §4.1, §7.4: internal service validation error
CODE_SYS_ERROR: Final = 50000
CODE_SYS_TIMEOUT: Final = 50002
CODE_DMP_ERROR: Final = 51003
CODE_MAINTENANCE: Final = 60001
CODE_TOO_MANY_REQUESTS_BL: Final = 61000

# Codes that mean "the request was throttled, try again later" (reference §4.2, §6.3).
RATE_LIMIT_CODES: Final = frozenset(
    {
        CODE_TOO_FREQUENT,
        CODE_REQUEST_TOO_FREQUENT,
        CODE_REQUEST_FREQUENCY_LIMITED,
        CODE_ADVERTISER_QPS_LIMIT,
        CODE_TOO_MANY_REQUESTS_BL,
    }
)
# Server-side failures worth a bounded retry (reference §4.1 "Retry?" column): every 5xxxx code
# (50000 SYS_ERROR, 50002 SYS_TIMEOUT, the 51xxx downstream RPC errors with 51003 DMP_ERROR, the 52xxx
# storage errors, and any other system code: TikTok's SDK list numbers every system failure 5xxxx),
# 40202 write conflicts and 60001 maintenance.
SERVER_RETRY_CODES: Final = frozenset(
    {CODE_WRITE_CONFLICT, CODE_MAINTENANCE, *range(CODE_SYS_ERROR, CODE_SYS_ERROR + 10_000)}
)
# The sandbox's answer to an endpoint it does not serve: every /dmp/ endpoint and /app/list/
# (reference §7.1, AE's copy of TikTok's sandbox page: "40008 or 40014"; 40009 is the SDK's name).
SANDBOX_UNSUPPORTED_CODES: Final = frozenset(
    {CODE_NOT_SUPPORTED_IN_SANDBOX, CODE_UNSUPPORTED_IN_SANDBOX, CODE_SANDBOX_ENDPOINT_UNSUPPORTED}
)


# --- Rate limits (reference §6.3) ----------------------------------------------------------
class RateTier(NamedTuple):
    """A developer app's request quota: shared by every token and tool of the app."""

    per_second: int
    per_minute: int
    per_day: int
    per_endpoint: bool = False  # sandbox: each endpoint has its own quota


RATE_TIERS: Final[dict[str, RateTier]] = {
    "basic": RateTier(10, 600, 864_000),  # every developer app starts here
    "advanced": RateTier(20, 1_200, 1_728_000),
    "premium": RateTier(30, 1_800, 2_592_000),
    "ultimate": RateTier(50, 3_000, 4_320_000),
    "sandbox": RateTier(1, 30, 1_000, per_endpoint=True),
}
DEFAULT_RATE_TIER: Final = "basic"
# How long TikTok suspends an app over its limits: the rest of the current second (QPS), this long
# (QPM), until 00:00 UTC (QPD).
QPM_SUSPENSION_SECONDS: Final = 300
