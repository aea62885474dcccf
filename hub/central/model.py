"""Dossiers and procedures as the hub shows them: pure data and rules, no I/O.

Adapters turn whatever central speaks into `Dossier` and `Procedure`; the rules that decide what a
citizen sees (status labels, overdue, name masking, diacritics-insensitive matching) live here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from appliance.timeutil import SITE_TZ, iso

Language = Literal["vi", "en"]

# OpenCPS dossierStatus → (Vietnamese, English) as a citizen reads it (DOMAIN.md).
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "new": ("Mới đăng ký", "Newly registered"),
    "receiving": ("Chờ xử lý", "Waiting to be processed"),
    "processing": ("Đang xử lý", "Being processed"),
    "waiting": ("Yêu cầu bổ sung giấy tờ", "More papers are needed"),
    "paying": ("Chờ nộp phí, lệ phí", "Waiting for fees to be paid"),
    "releasing": ("Đã xử lý xong", "Processed, ready for collection"),
    "posting": ("Đang gửi trả kết quả qua bưu điện", "Result sent by post"),
    "done": ("Đã trả kết quả", "Result handed over"),
    "cancelled": ("Đã rút hồ sơ", "Withdrawn"),
    "denied": ("Từ chối xử lý", "Refused"),
    "correcting": ("Đang sửa đổi, bổ sung hồ sơ", "Being corrected"),
    "interoperating": ("Đang chuyển cơ quan khác xử lý", "Passed to another agency"),
    "unresolved": ("Dừng xử lý", "Processing stopped"),
}
# Statuses after which a due date no longer matters: the work is over, one way or another.
FINISHED_STATUSES = frozenset({"releasing", "posting", "done", "cancelled", "denied", "unresolved"})
# DVCQG TrangThaiHoSo (1–10) → the OpenCPS status of the same meaning.
DVCQG_STATUS = {
    "1": "new",
    "2": "receiving",
    "3": "denied",
    "4": "processing",
    "5": "waiting",
    "6": "paying",
    "7": "cancelled",
    "8": "unresolved",
    "9": "releasing",
    "10": "done",
}


def status_label(status: str, language: Language = "vi", fallback: str | None = None) -> str:
    labels = STATUS_LABELS.get(status)
    if labels is None:
        return fallback or status
    return labels[0] if language == "vi" else labels[1]


def uncollected_days(ready_since: datetime, now: datetime) -> int:
    """Whole calendar days the result has waited (0 on the day it became ready)."""
    return max(0, (now.date() - ready_since.astimezone(now.tzinfo).date()).days)


# ---------------------------------------------------------------------- text
def fold(text: str) -> str:
    """Lower case without diacritics, `đ` as `d`, single spaces: "Đăng ký" → "dang ky".

    NFD splits every Vietnamese letter into its base and marks; đ/Đ are letters of their own and
    need their own rule.
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", bare.lower()).split())


def mask_name(name: str) -> str:
    """The family name in full, then each other word as its first letter and `**`.

    "Nguyễn Văn An" → "Nguyễn V** A**": enough for the owner to recognise, too little for a stranger.
    """
    words = unicodedata.normalize("NFC", name).split()
    if not words:
        return ""
    if len(words) == 1:
        return words[0][:1] + "**"
    return " ".join([words[0], *(word[:1] + "**" for word in words[1:])])


def mask_id_number(id_number: str) -> str:
    """All but the last 3 characters hidden: "001092012345" → "*********345"."""
    text = id_number.strip()
    if len(text) <= 3:
        return "*" * len(text)
    return "*" * (len(text) - 3) + text[-3:]


def same_id_number(a: str, b: str) -> bool:
    """CCCD/CMND numbers compared as digits and letters only ("001 092-012345" = "001092012345")."""
    clean_a = re.sub(r"[^0-9A-Za-z]", "", a).upper()
    clean_b = re.sub(r"[^0-9A-Za-z]", "", b).upper()
    return bool(clean_a) and clean_a == clean_b


# ---------------------------------------------------------------------- data
@dataclass(frozen=True)
class Paper:
    name: str
    count: int = 1
    note: str | None = None


@dataclass(frozen=True)
class Procedure:
    """One administrative procedure (thủ tục hành chính) of the catalogue."""

    code: str
    name: str
    field_code: str = ""
    field_name: str = ""
    agency: str = ""
    level: int | None = None
    processing_time: str = ""
    fee: str = ""
    papers: tuple[Paper, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["papers"] = [asdict(p) for p in self.papers]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Procedure:
        papers = tuple(Paper(**p) for p in data.get("papers") or ())
        return cls(**{**data, "papers": papers})


@dataclass(frozen=True)
class Dossier:
    """A dossier as central knows it; times are aware (site time zone)."""

    dossier_no: str
    status: str
    service_code: str = ""
    service_name: str = ""
    agency_code: str = ""
    agency_name: str = ""
    applicant_name: str = ""
    applicant_id_no: str = ""
    applicant_address: str = ""
    applicant_phone: str = ""
    status_text: str = ""
    step_name: str = ""
    submitted_at: datetime | None = None
    received_at: datetime | None = None
    due_at: datetime | None = None
    released_at: datetime | None = None
    finished_at: datetime | None = None
    online: bool = False
    via_postal: bool = False
    central_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def is_overdue(self, now: datetime) -> bool:
        """Quá hạn: past the due date and not finished (DOMAIN.md)."""
        return self.due_at is not None and self.status not in FINISHED_STATUSES and now > self.due_at

    def to_dict(self) -> dict[str, Any]:
        """For the cache: everything, times as ISO text."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = iso(value)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Dossier:
        values = dict(data)
        for key in ("submitted_at", "received_at", "due_at", "released_at", "finished_at"):
            if values.get(key):
                values[key] = datetime.fromisoformat(values[key])
        return cls(**values)

    def public_view(self, *, now: datetime, possession: bool, language: Language = "vi") -> dict[str, Any]:
        """What a lookup answers: personal data only to whoever proved they hold the dossier."""
        overdue = self.is_overdue(now)
        return {
            "dossier_no": self.dossier_no,
            "procedure": self.service_name,
            "service_code": self.service_code,
            "agency": self.agency_name,
            "applicant_name": self.applicant_name if possession else mask_name(self.applicant_name),
            "applicant_id_no": mask_id_number(self.applicant_id_no) if self.applicant_id_no else None,
            "masked": not possession,
            "status": self.status,
            "status_label": status_label(self.status, language, self.status_text),
            "step": self.step_name or None,
            "submitted_at": iso(self.submitted_at),
            "received_at": iso(self.received_at),
            "due_at": iso(self.due_at),
            "released_at": iso(self.released_at),
            "finished_at": iso(self.finished_at),
            "overdue": overdue,
            "overdue_days": (now.date() - self.due_at.date()).days if overdue and self.due_at else 0,
            "finished": self.status in FINISHED_STATUSES,
            "online": self.online,
        }


# ---------------------------------------------------------------------- central's date formats
_OPENCPS_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y%m%d%H%M%S")


def parse_central_time(value: Any) -> datetime | None:
    """OpenCPS "28/11/2018 09:30:00", DVCQG "20181128093000", epoch milliseconds or ISO; site time."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, SITE_TZ)
    text = str(value).strip()
    for pattern in _OPENCPS_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=SITE_TZ)
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=SITE_TZ)


def format_opencps_time(moment: datetime) -> str:
    return moment.astimezone(SITE_TZ).strftime("%d/%m/%Y %H:%M:%S")
