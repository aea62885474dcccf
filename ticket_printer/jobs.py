"""Print jobs as they arrive on `print/{printer_id}/jobs`, validated before anything is drawn.

Payloads (JSON, UTF-8, at most 64 KiB):

* ``{"v": 1, "job_id", "kind": "ticket", "site_name", "ticket": <ticket>, "ticket_url"?, "footer"?,
  "valid_for_s"?, "print_by"?}`` where <ticket> is the hub's ticket object (extra keys are ignored);
  a ticket with `valid_for_s` that could not print within that long after arriving is `expired`;
* ``{"v": 1, "job_id", "kind": "receipt", "receipt": {...}, "copies"?}`` (fields of `ReceiptData`);
* ``{"v": 1, "job_id", "kind": "test", "text"?}``;
* ``{"v": 1, "job_id", "kind": "identify", "device_id", "site", "requested_at"}`` — the slip a
  technician asks for from the hub's Devices page (the daemon queues it itself).

Text is normalised to NFC and stripped of control characters, so what prints is what the hub meant.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from .errors import JobError

MAX_JOB_BYTES = 64 * 1024
JOB_KINDS = ("ticket", "receipt", "test", "identify")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _clean(text: str) -> str:
    """NFC, no control characters, single spaces: thermal paper has no use for tabs or newlines."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub(" ", text)
    return " ".join(text.split())


def _printable_ascii(text: str) -> str:
    if not text.isascii() or not text.isprintable():
        raise ValueError("must be printable ASCII (it is printed as Code 128)")
    return text


Text = Annotated[str, AfterValidator(_clean)]
ShortText = Annotated[str, AfterValidator(_clean), Field(min_length=1, max_length=200)]
LongText = Annotated[str, AfterValidator(_clean), Field(min_length=1, max_length=1000)]
OptionalShort = Annotated[str, AfterValidator(_clean), Field(max_length=200)] | None
OptionalLong = Annotated[str, AfterValidator(_clean), Field(max_length=1000)] | None
JobId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]


class Lenient(BaseModel):
    """Job data: unknown keys are ignored (the hub's objects carry more than a printer needs)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class TicketData(Lenient):
    """The hub's ticket object; only what a ticket shows is read."""

    id: str
    number: Annotated[str, AfterValidator(_clean), Field(min_length=1, max_length=12)]
    service_id: str | None = None
    service_name: ShortText
    priority: bool = False
    priority_group: OptionalShort = None
    issued_at: AwareDatetime
    token: str | None = None
    ahead: int | None = Field(None, ge=0)
    estimated_wait_s: float | None = Field(None, ge=0)


class TicketJob(Lenient):
    v: Literal[1]
    job_id: JobId
    kind: Literal["ticket"]
    site_name: ShortText
    ticket: TicketData
    # Link to the public page of the ticket (`/t/{token}`), drawn as a QR code.
    ticket_url: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    footer: OptionalShort = None
    # How long the job may still print after the printer received it (the citizen's window at the
    # kiosk); `print_by` is the same moment on the hub's clock, for logs only: clocks may be wrong.
    valid_for_s: float | None = Field(None, gt=0, le=86400)
    print_by: AwareDatetime | None = None


class Applicant(Lenient):
    name: ShortText
    address: OptionalLong = None
    phone: OptionalShort = None
    id_number: OptionalShort = None


class Paper(Lenient):
    """One paper of the dossier: its name, how many copies were handed in, an optional note."""

    name: LongText
    count: int = Field(1, ge=1, le=999)
    note: OptionalShort = None  # e.g. "bản sao chứng thực"


class ReceiptData(Lenient):
    """Giấy tiếp nhận hồ sơ và hẹn trả kết quả (fields of ../shared/design/DOMAIN.md)."""

    agency: ShortText  # e.g. "UBND HUYỆN LONG THÀNH"
    agency_unit: OptionalShort = None  # e.g. "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ"
    receipt_number: OptionalShort = None
    dossier_code: Annotated[
        str, AfterValidator(str.strip), Field(min_length=1, max_length=48), AfterValidator(_printable_ascii)
    ]
    applicant: Applicant
    procedure: LongText
    papers: list[Paper] = Field(default_factory=list, max_length=200)
    processing_time: ShortText  # "5 ngày làm việc"
    received_at: AwareDatetime
    appointment_at: AwareDatetime | None = None
    result_place: OptionalLong = None
    lookup_url: OptionalShort = None
    hotline: OptionalShort = None
    officer: ShortText
    # What the QR code holds; the dossier code itself when absent (scanners accept both). The hub puts
    # `{code}/{proof}` here: the proof that unmasks the applicant's name at a kiosk (docs/contract.md).
    qr_data: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    # Where the citizen rates the dossier later, from home (QĐ 766/2022: per dossier): the signed
    # address as a second QR code and a short one in words to type (hub/reports/rating_links.py).
    rating_url: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    rating_short_url: OptionalShort = None


class ReceiptJob(Lenient):
    v: Literal[1]
    job_id: JobId
    kind: Literal["receipt"]
    receipt: ReceiptData
    copies: int = Field(1, ge=1, le=3)


class TestPageJob(Lenient):
    v: Literal[1]
    job_id: JobId
    kind: Literal["test"]
    text: OptionalLong = None


class IdentifyJob(Lenient):
    """A short slip saying which printer this is: device id, site and when it was asked for."""

    v: Literal[1]
    job_id: JobId
    kind: Literal["identify"]
    device_id: ShortText
    site: ShortText
    requested_at: AwareDatetime


Job = TicketJob | ReceiptJob | TestPageJob | IdentifyJob
_MODELS: dict[str, type[TicketJob] | type[ReceiptJob] | type[TestPageJob] | type[IdentifyJob]] = {
    "ticket": TicketJob,
    "receipt": ReceiptJob,
    "test": TestPageJob,
    "identify": IdentifyJob,
}


def describe(error: ValidationError) -> str:
    """`field.path: problem` for the first few problems, short enough for a result message."""
    parts = []
    for item in error.errors()[:3]:
        where = ".".join(str(part) for part in item["loc"]) or "(job)"
        parts.append(f"{where}: {item['msg']}")
    more = len(error.errors()) - 3
    if more > 0:
        parts.append(f"+{more}")
    return "; ".join(parts)


def parse_job(payload: bytes | str | dict[str, Any]) -> Job:
    """Decode and validate one job; raise JobError (with `job_id` when readable) otherwise."""
    if isinstance(payload, dict):
        data: Any = payload
    else:
        raw = payload.encode("utf-8") if isinstance(payload, str) else payload
        if len(raw) > MAX_JOB_BYTES:
            raise JobError("payload_too_large", limit=MAX_JOB_BYTES)
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            raise JobError("bad_json", detail=str(error)) from None
    if not isinstance(data, dict):
        raise JobError("print_bad_job", detail="a job is a JSON object")
    job_id = data.get("job_id") if isinstance(data.get("job_id"), str) else None
    kind = data.get("kind")
    model = _MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        shown = kind[:40] if isinstance(kind, str) else type(kind).__name__
        raise JobError("print_unknown_kind", job_id=job_id, kind=shown)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise JobError("print_bad_job", job_id=job_id, job_kind=kind, detail=describe(error)) from None
    except RecursionError:  # nesting too deep for the validator: refused like any bad job
        raise JobError("print_bad_job", job_id=job_id, job_kind=kind, detail="nested too deeply") from None
