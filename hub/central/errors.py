"""Errors of the central-system package; all are MotcuaError."""

from __future__ import annotations

from appliance.errors import MotcuaError


class CentralError(MotcuaError):
    """Central answered in a way we cannot use."""


class CentralUnavailable(CentralError):
    """Central did not answer (down, slow, 5xx, refused connection): try again later."""


class CentralAuthError(CentralUnavailable):
    """Central refuses our credentials (401/403, wrong groupId or secret). Kept retryable: once the
    operator fixes `[central]`, the backlog flows; until then it is logged as an error."""


class CentralRejected(CentralError):
    """Central refused a request for good (4xx other than 408/429): retrying will not help."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotSupported(CentralError):
    """The configured adapter cannot do this (e.g. a webhook without a lookup URL)."""
