"""The ID card's chip (kiosk/emrtd.py): BAC and secure messaging reproduce the ICAO 9303-11 worked
example (Appendix D) byte for byte — a self-consistent but wrong implementation would pass a
self-made chip and fail every real card, so the standard's numbers come first. Then a software
chip (tests/support/emrtd_chip.py) read through the kiosk's PC/SC driver, as pyscard would hand it
over: the number and the age reach the kiosk, a wrong MRZ key or a tampered answer is refused, and
nothing of the card is in a log line."""

from __future__ import annotations

import logging
import threading
from datetime import date

import pytest

from kiosk.card_reader import CardRead, ChipLocked, PcscCardReader
from kiosk.emrtd import (
    EF_COM,
    BacKey,
    ChipError,
    check_digit,
    derive_key,
    key_seed,
    open_chip,
    parse_dg13,
    read_cccd,
)
from tests.support.emrtd_chip import cccd_chip, cccd_fields, dg13

ICAO_KEY = BacKey("L898902C<", "690806", "940623")
RND_IFD = bytes.fromhex("781723860C06C226")
K_IFD = bytes.fromhex("0B795240CB7049B01C19B33E32804F0B")
# The chip's answers in the worked example: challenge, authentication, SELECT EF.COM, two READs.
ICAO_ANSWERS = (
    "4608F91988702212 9000",
    "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449 9000",
    "990290008E08FA855A5D4C50A8ED 9000",
    "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED 9000",
    "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D74 9000",
)


class Scripted:
    """A chip that gives recorded answers in order and records what it was sent."""

    def __init__(self, answers: tuple[str, ...]) -> None:
        self.answers = [bytes.fromhex(a.replace(" ", "")) for a in answers]
        self.sent: list[str] = []

    def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]:
        self.sent.append(bytes(apdu).hex().upper())
        answer = self.answers.pop(0)
        return list(answer[:-2]), answer[-2], answer[-1]


def test_the_key_comes_from_the_mrz_as_icao_computes_it() -> None:
    assert check_digit("L898902C<") == "3" and check_digit("690806") == "1" and check_digit("940623") == "6"
    assert ICAO_KEY.mrz_information() == "L898902C<369080619406236"
    seed = key_seed(ICAO_KEY)
    assert seed.hex().upper() == "239AB9CB282DAF66231DC5A4DF6BFBAE"
    assert derive_key(seed, 1).hex().upper() == "AB94FDECF2674FDFB9B391F85D7F76F2"
    assert derive_key(seed, 2).hex().upper() == "7962D9ECE03D1ACD4C76089DCE131543"
    assert repr(BacKey.for_cccd("001099012345", date(1999, 1, 2), date(2039, 1, 2))) == "BacKey(…)"


def test_bac_and_secure_messaging_reproduce_the_worked_example() -> None:
    chip = Scripted(ICAO_ANSWERS)
    channel = open_chip(chip, ICAO_KEY, rnd_ifd=RND_IFD, k_ifd=K_IFD)
    assert chip.sent == [
        "0084000008",
        "008200002872C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F25F1448EEA8AD90A728",
    ]
    assert channel.ks_enc.hex().upper() == "979EC13B1CBFE9DCD01AB0FED307EAE5"
    assert channel.ks_mac.hex().upper() == "F1CB1F1FB5ADF208806B89DC579DC1F8"
    assert channel.ssc == 0x887022120C06C226
    assert channel.read_file(EF_COM).hex().upper() == "60145F0104303130365F36063034303030305C026175"
    assert chip.sent[2:4] == [
        "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800",
        "0CB000000D9701048E08ED6705417E96BA5500",
    ]


def test_a_tampered_answer_and_a_wrong_key_are_refused() -> None:
    tampered = list(ICAO_ANSWERS)
    tampered[2] = "990290008E08FA855A5D4C50A8EE 9000"  # one bit of the MAC flipped
    channel = open_chip(Scripted(tuple(tampered)), ICAO_KEY, rnd_ifd=RND_IFD, k_ifd=K_IFD)
    with pytest.raises(ChipError, match="MAC"):
        channel.read_file(EF_COM)
    chip, _key = cccd_chip("001099012345", "Nguyễn Văn An", date(1950, 3, 1), date(2030, 3, 1))
    wrong = BacKey.for_cccd("001099012345", date(1950, 3, 1), date(2031, 3, 1))
    with pytest.raises(ChipLocked, match="refused the card's key"):
        read_cccd(chip, wrong)


def test_dg13_gives_the_number_and_the_birth_date_only() -> None:
    facts = parse_dg13(dg13(cccd_fields("079090012345", "Trần Thị Bình", date(1990, 7, 15))))
    assert (facts.id_no, facts.birth_date) == ("079090012345", date(1990, 7, 15))
    assert "079090012345" not in repr(facts) and not hasattr(facts, "name")
    with pytest.raises(ChipError):
        parse_dg13(dg13({1: "12345", 3: "15/07/1990"}))
    with pytest.raises(ChipError):
        parse_dg13(b"\x6d\x05\x30\x03\x02\x01")


class FakeReader:
    """pyscard's reader object: createConnection() gives the chip lying on it."""

    def __init__(self, chip: object) -> None:
        self.chip = chip

    def createConnection(self) -> object:  # pyscard's name
        return self.chip

    def __str__(self) -> str:
        return "ACS ACR1252 1S CL Reader PICC 0"


def test_the_pcsc_driver_reads_a_card_laid_on_it(caplog: pytest.LogCaptureFixture) -> None:
    birth, expiry = date(1950, 3, 1), date(2030, 3, 1)
    chip, key = cccd_chip("001050012345", "Nguyễn Văn An", birth, expiry)
    keys: list[BacKey | None] = [key]
    reader = PcscCardReader(
        "ACR1252",
        key_for=lambda: keys[0],
        poll_s=0.01,
        today=lambda: date(2026, 12, 6),
        readers=lambda: [FakeReader(chip)],
    )
    got: list[CardRead] = []
    arrived = threading.Event()
    reader.start(lambda read: (got.append(read), arrived.set()))
    try:
        assert arrived.wait(10)
    finally:
        reader.stop()
    [read] = got
    assert (read.masked, read.age, read.id_no, read.source) == ("*********345", 76, "001050012345", "chip")

    # Without the card's MRZ key nothing is read, and the log says why without a digit of the card.
    keys[0] = None
    with caplog.at_level(logging.WARNING, "motcua.kiosk.card"), pytest.raises(ChipLocked, match="MRZ"):
        reader.read_chip(chip)
    assert "001050012345" not in caplog.text
