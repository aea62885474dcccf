"""Local time of a Vietnamese site. Times on the wire are ISO-8601 with offset (+07:00)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

SITE_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def now(tz: ZoneInfo = SITE_TZ) -> datetime:
    """The current time, aware, in the site's time zone."""
    return datetime.now(tz)


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 with offset and millisecond precision, or None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: motcua only handles aware times")
    return moment.isoformat(timespec="milliseconds")


def parse_iso(text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset")
    return moment
