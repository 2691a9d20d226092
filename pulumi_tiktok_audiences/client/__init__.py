"""A typed client for TikTok's Business API v1.3 custom-audience endpoints.

``TikTokClient`` speaks TikTok's wire format (header token, JSON-array query strings, the
``{code, message, request_id, data}`` envelope), batches and pages, retries what is safe to
retry, and raises one hierarchy of errors rooted at ``TikTokError``.
"""

from pulumi_tiktok_audiences.client.client import (
    DEFAULT_TIMEOUT,
    NAMED_ENDPOINTS,
    RateFeedback,
    RequestLimiter,
    TikTokClient,
    resolve_base_url,
)
from pulumi_tiktok_audiences.client.errors import (
    AudienceBusyError,
    AuthenticationError,
    BackendValidationError,
    BlocklistedError,
    CreatedWithoutIdError,
    DailyQuotaExhaustedError,
    InvalidRequestError,
    MissingAccessTokenError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitedError,
    Restriction,
    RetriesExhaustedError,
    SandboxUnsupportedError,
    ServerError,
    StillProcessingError,
    TikTokApiError,
    TikTokError,
    TransportError,
)
from pulumi_tiktok_audiences.client.models import (
    AudienceDetail,
    AudienceHistoryEntry,
    AudienceSummary,
    LookalikeSpec,
    PageInfo,
    ShareLogEntry,
)
from pulumi_tiktok_audiences.client.processing import ProcessingWait
from pulumi_tiktok_audiences.client.retry import CallKind, RetryPolicy

__all__ = [
    "DEFAULT_TIMEOUT",
    "NAMED_ENDPOINTS",
    "AudienceBusyError",
    "AudienceDetail",
    "AudienceHistoryEntry",
    "AudienceSummary",
    "AuthenticationError",
    "BackendValidationError",
    "BlocklistedError",
    "CallKind",
    "CreatedWithoutIdError",
    "DailyQuotaExhaustedError",
    "InvalidRequestError",
    "LookalikeSpec",
    "MissingAccessTokenError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PageInfo",
    "PermissionDeniedError",
    "ProcessingWait",
    "RateFeedback",
    "RateLimitedError",
    "RequestLimiter",
    "Restriction",
    "RetriesExhaustedError",
    "RetryPolicy",
    "SandboxUnsupportedError",
    "ServerError",
    "ShareLogEntry",
    "StillProcessingError",
    "TikTokApiError",
    "TikTokClient",
    "TikTokError",
    "TransportError",
    "resolve_base_url",
]
