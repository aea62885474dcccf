"""The QR code of a Vietnamese ID card, parsed (pure): the 2021 chip CCCD
(`ID|old ID|name|DOBddmmyyyy|sex|address|issue date ddmmyyyy`) and the 2024 "thẻ căn cước" (the same
first fields, the old ID often empty, more fields after the issue date). Garbage is refused.

Only what a feature needs leaves this module: `IdCardFacts` carries the birth date (elderly
priority) and the ID number for a keyed hash (booking identity); the name and address are read to
check the payload's shape and then dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from .identity import IdentityError, check_id_no

_DATE = re.compile(r"^\d{8}$")
_AIM = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
MIN_FIELDS = 7
# The 2024 card (Law on Identification 2023) is issued from 1 July 2024.
CAN_CUOC_FROM = date(2024, 7, 1)


class IdCardError(ValueError):
    """Not the QR of an ID card (or a damaged one)."""


@dataclass(frozen=True)
class IdCardFacts:
    id_no: str
    birth_date: date
    generation: Literal["cccd_2021", "can_cuoc_2024"]

    def age_on(self, day: date) -> int:
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - (1 if before_birthday else 0)

    def elderly(self, day: date, threshold: int = 60) -> bool:
        return self.age_on(day) >= threshold


def _date(text: str) -> date:
    if not _DATE.match(text):
        raise IdCardError("a date is not ddmmyyyy")
    try:
        return date(int(text[4:]), int(text[2:4]), int(text[:2]))
    except ValueError:
        raise IdCardError("an impossible date") from None


def parse_id_card(payload: str, *, today: date) -> IdCardFacts:
    text = _AIM.sub("", payload.strip())
    fields = text.split("|")
    if len(fields) < MIN_FIELDS or len(text) > 1024:
        raise IdCardError("not an ID card QR")
    id_no, old_id, name, birth, sex, address, issued = fields[:7]
    try:
        id_no = check_id_no(id_no)
    except IdentityError:
        raise IdCardError("the ID number is not 12 digits") from None
    if old_id and not re.fullmatch(r"\d{9}|\d{12}", old_id):
        raise IdCardError("the old ID number is malformed")
    if not name.strip() or any(ch.isdigit() for ch in name) or not address.strip():
        raise IdCardError("name or address missing")
    if sex.strip() not in ("Nam", "Nữ", "Nu", "Male", "Female"):
        raise IdCardError("sex is not Nam/Nữ")
    birth_date, issue_date = _date(birth), _date(issued)
    if not birth_date < issue_date <= today or birth_date.year < 1900:
        raise IdCardError("dates out of order")
    # The century digit (4th) agrees with the birth year: 0/1 → 1900s, 2/3 → 2000s (male/female).
    if int(id_no[3]) // 2 != (birth_date.year - 1900) // 100:
        raise IdCardError("the ID number does not match the birth year")
    generation: Literal["cccd_2021", "can_cuoc_2024"] = (
        "can_cuoc_2024" if issue_date >= CAN_CUOC_FROM or len(fields) > MIN_FIELDS else "cccd_2021"
    )
    return IdCardFacts(id_no, birth_date, generation)
