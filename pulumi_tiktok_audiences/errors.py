"""The root of the package's exception hierarchy, and the errors raised above the API client.

API failures (``client.errors``) derive from :class:`TikTokAudiencesError` too, so a program or
script can catch everything this package raises with one ``except``.
"""

from __future__ import annotations

from collections.abc import Sequence


class TikTokAudiencesError(Exception):
    """Base class of every error this package raises."""


class ConfigurationError(TikTokAudiencesError):
    """Provider configuration is missing or invalid; the message names the key to set."""


class InvalidArgumentsError(TikTokAudiencesError, ValueError):
    """A resource was declared with arguments its provider would refuse; raised where it is declared.

    ``problems`` holds (property path, reason) pairs such as ("include[0].lookback_days", "must be
    ..."); the message lists them all, so one run shows every fix to make.
    """

    def __init__(self, resource: str, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        lines = "".join(f"\n  {path}: {reason}" for path, reason in self.problems)
        super().__init__(f"{resource} has invalid arguments; fix them and run again:{lines}")


class AdoptionError(TikTokAudiencesError):
    """An audience named by ``adopt_audience_id`` cannot be taken over as declared."""


class OperationError(TikTokAudiencesError):
    """A provider operation failed; the message says what happened to the remote audience."""
