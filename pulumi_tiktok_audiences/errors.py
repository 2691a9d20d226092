"""The root of the package's exception hierarchy, and the errors raised above the API client.

API failures (``client.errors``) derive from :class:`TikTokAudiencesError` too, so a program or
script can catch everything this package raises with one ``except``.
"""

from __future__ import annotations


class TikTokAudiencesError(Exception):
    """Base class of every error this package raises."""


class ConfigurationError(TikTokAudiencesError):
    """Provider configuration is missing or invalid; the message names the key to set."""


class AdoptionError(TikTokAudiencesError):
    """An audience named by ``adopt_audience_id`` cannot be taken over as declared."""


class OperationError(TikTokAudiencesError):
    """A provider operation failed; the message says what happened to the remote audience."""
