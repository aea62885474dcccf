"""Errors of the fleet package (provisioning, broker accounts, commands)."""

from __future__ import annotations

from appliance.errors import MotcuaError
from appliance.i18n import message


class FleetError(MotcuaError):
    """A fleet operation could not be done; the message names the device or resource at fault."""


class BrokerAccountError(FleetError):
    """The broker refused or did not answer an account change (dynamic-security plugin)."""


class FleetRefusal(FleetError):
    """A request a person made was refused; `code` is an appliance.i18n key, `values` fill it."""

    def __init__(self, code: str, **values: object) -> None:
        super().__init__(f"{code}: {message(code, 'en', **values)}")
        self.code = code
        self.values = values

    def text(self, language: str = "vi") -> str:
        return message(self.code, "en" if language == "en" else "vi", **self.values)


class EnrolmentRefused(FleetRefusal):
    """An enrolment code was refused (malformed, unknown, used, expired) or could not be honoured."""
