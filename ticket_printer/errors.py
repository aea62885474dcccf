"""Exceptions of the printer package. Each carries a stable code (an i18n key) and names its resource."""

from __future__ import annotations

from appliance.errors import MotcuaError
from appliance.i18n import Language, message


class PrintingError(MotcuaError):
    """Root of ticket_printer errors: `code` is stable (an appliance.i18n key) and travels in results."""

    code = "internal"

    def __init__(self, code: str | None = None, language: Language = "vi", **values: object) -> None:
        self.code = code or self.code
        self.values = values
        self.message = message(self.code, "vi", **values)
        self.message_en = message(self.code, "en", **values)
        super().__init__(self.message if language == "vi" else self.message_en)

    def as_result_error(self) -> dict[str, str]:
        """The `error` object of a failed print result."""
        return {"code": self.code, "message": self.message, "message_en": self.message_en}


class JobError(PrintingError, ValueError):
    """A print job that cannot be printed as sent (bad JSON, missing field, unknown kind, too large)."""

    code = "print_bad_job"

    def __init__(
        self,
        code: str | None = None,
        *,
        job_id: str | None = None,
        job_kind: str | None = None,
        **values: object,
    ) -> None:
        self.job_id = job_id
        self.job_kind = job_kind
        super().__init__(code, **values)


class LayoutError(JobError):
    """Content that cannot be laid out on the paper (a number too wide, a receipt too long)."""

    code = "print_does_not_fit"


class FontError(PrintingError, FileNotFoundError):
    """The Unicode TTF the layout needs is missing."""

    code = "print_font_missing"


class PrinterError(PrintingError, OSError):
    """The printer could not be opened or written to; the message names the printer."""

    code = "print_io_error"
