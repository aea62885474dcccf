"""Local time of a Vietnamese site. Times on the wire are ISO-8601 with offset (+07:00)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from datetime import datetime
from pathlib import Path
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


def parse_iso_or_none(value: object) -> datetime | None:
    """An aware moment from untrusted data (a payload's field), or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None


# -------------------------------------------------------------------- is the clock synchronised?
# A Raspberry Pi has no real-time clock: it boots with the time it last saved and NTP corrects it
# later, sometimes by a day or more. The kernel knows whether an NTP client (systemd-timesyncd,
# chrony, ntpd) disciplines the clock: adjtimex() reports STA_UNSYNC / TIME_ERROR until it does.
_TIME_ERROR = 5
_STA_UNSYNC = 0x0040
TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    # struct timex of <sys/timex.h> (Linux): the fields up to `tai`, then the reserved padding.
    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_reserved", ctypes.c_int * 11),
    ]


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, loaded once (finding it may run ldconfig: never on a hot path)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def kernel_clock_synchronised() -> bool | None:
    """True/False as the kernel's NTP status says (adjtimex, read only); None if it cannot tell."""
    libc = _libc()
    if libc is None:
        return None
    timex = _Timex()  # modes = 0: read, never set
    try:
        state = libc.adjtimex(ctypes.byref(timex))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != _TIME_ERROR and not timex.status & _STA_UNSYNC


def clock_synchronised(flag: Path | None = None) -> bool | None:
    """Whether the wall clock can be trusted: with `flag`, exactly when that file exists (an NTP
    client that touches a file, e.g. systemd-timesyncd's /run/systemd/timesync/synchronized);
    otherwise the kernel's NTP status; None when the platform cannot tell."""
    if flag is not None:
        return flag.exists()
    kernel = kernel_clock_synchronised()
    if kernel is not None:
        return kernel
    return True if TIMESYNCD_FLAG.exists() else None
