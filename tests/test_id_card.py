"""The ID card's QR: both card generations parsed, garbage refused, the elderly priority from the
date of birth with the head's threshold."""

from __future__ import annotations

from datetime import date

import pytest

from hub.bookings.id_card import IdCardError, parse_id_card

TODAY = date(2026, 12, 7)
CCCD_2021 = "001052012345|012345678|Nguyễn Văn An|15031952|Nam|Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội|20052021"
CAN_CUOC_2024 = (
    "079301012345||Trần Thị Bình|02112001|Nữ|12 Lê Lợi, Bến Nghé, Quận 1, TP. Hồ Chí Minh|15082024"
    "|Trần Văn Cường|Lê Thị Dung"
)


def test_2021_card_gives_birth_date_and_elderly_priority() -> None:
    facts = parse_id_card("]Q1" + CCCD_2021, today=TODAY)
    assert (facts.id_no, facts.birth_date, facts.generation) == (
        "001052012345",
        date(1952, 3, 15),
        "cccd_2021",
    )
    assert facts.age_on(TODAY) == 74 and facts.elderly(TODAY, 60) and not facts.elderly(TODAY, 75)
    assert "Nguyễn" not in repr(facts) and "Tràng Tiền" not in repr(facts)  # name and address dropped


def test_2024_can_cuoc_with_empty_old_id_and_more_fields() -> None:
    facts = parse_id_card(CAN_CUOC_2024, today=TODAY)
    assert facts.generation == "can_cuoc_2024" and facts.birth_date == date(2001, 11, 2)
    assert not facts.elderly(TODAY)


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "000.00.06.H56-231027-0361",
        "https://dichvucong.gov.vn/t/abc",
        CCCD_2021.replace("001052012345", "00105201234"),  # 11 digits
        CCCD_2021.replace("15031952", "31021952"),  # 31 February
        CCCD_2021.replace("|Nam|", "|X|"),
        CCCD_2021.replace("20052021", "20052030"),  # issued in the future
        CCCD_2021.replace("001052", "001252"),  # century digit says 2000s, born 1952
        "|".join(CCCD_2021.split("|")[:5]),  # cut short
        "001052012345|" + "x" * 2000,
    ],
)
def test_garbage_is_refused(payload: str) -> None:
    with pytest.raises(IdCardError):
        parse_id_card(payload, today=TODAY)
