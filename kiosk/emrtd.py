"""The chip of a Vietnamese ID card as an ICAO 9303 eMRTD: Basic Access Control, secure messaging and
the card's data group 13, over any APDU transport (a PC/SC connection of pyscard, or a test's chip).

BAC (ICAO 9303-11 §4.3) opens the chip with a key from the card's machine-readable zone: the document
number, the birth date and the expiry date, each with its check digit. Then every command is wrapped
(3DES-CBC, retail MAC, a send sequence counter) and every answer checked. The implementation is
checked against the standard's worked example (Appendix D) in tests/test_kiosk_emrtd.py.

DG13 of a CCCD / thẻ căn cước is Vietnamese: a list of (field number, text) pairs; 1 is the 12-digit
number, 3 the birth date (dd/mm/yyyy). Only those two are read out; the name and the rest are
never decoded.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

EMRTD_AID = bytes.fromhex("A0000002471001")
EF_COM = b"\x01\x1e"
EF_DG13 = b"\x01\x0d"
OK = (0x90, 0x00)
READ_CHUNK = 0xDF  # the largest READ BINARY whose wrapped answer fits a short APDU
MAX_FILE = 64 * 1024
_WEIGHTS = (7, 3, 1)


class ChipError(RuntimeError):
    """The chip refused, answered something malformed, or its answer failed its MAC."""


class ChipLocked(ChipError):
    """The chip did not open: not an ID card chip, or Basic Access Control refused the key."""


class Transport(Protocol):
    """pyscard's CardConnection.transmit: a command as a list of bytes → (data, SW1, SW2)."""

    def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]: ...


# ---------------------------------------------------------------------- the key


def check_digit(text: str) -> str:
    """ICAO 9303-3 §4.9: weights 7, 3, 1; digits as themselves, A–Z as 10–35, '<' as 0."""
    total = 0
    for index, char in enumerate(text):
        if char.isdigit():
            value = int(char)
        elif "A" <= char <= "Z":
            value = ord(char) - 55
        else:
            value = 0
        total += value * _WEIGHTS[index % 3]
    return str(total % 10)


@dataclass(frozen=True)
class BacKey:
    """What the card's MRZ gives: document number (9 characters), birth and expiry dates (YYMMDD)."""

    document_number: str
    birth: str
    expiry: str

    def __repr__(self) -> str:  # the number of a person's card never in a log line
        return "BacKey(…)"

    @classmethod
    def for_cccd(cls, id_no: str, birth: date, expiry: date) -> BacKey:
        """A CCCD's MRZ carries the last 9 digits of its 12-digit number as the document number."""
        return cls(id_no[-9:], f"{birth:%y%m%d}", f"{expiry:%y%m%d}")

    def mrz_information(self) -> str:
        number = self.document_number.upper().ljust(9, "<")
        return "".join(part + check_digit(part) for part in (number, self.birth, self.expiry))


def key_seed(key: BacKey) -> bytes:
    return hashlib.sha1(key.mrz_information().encode()).digest()[:16]  # ICAO 9303 mandates SHA-1 here


def derive_key(seed: bytes, counter: int) -> bytes:
    """ICAO 9303-11 §9.7.1: SHA-1(seed ‖ counter) → a two-key 3DES key with odd parity."""
    digest = hashlib.sha1(seed + counter.to_bytes(4, "big")).digest()[:16]
    return bytes((byte & 0xFE) | (1 ^ (bin(byte & 0xFE).count("1") & 1)) for byte in digest)


# ---------------------------------------------------------------------- the ciphers


def pad(data: bytes) -> bytes:
    """ISO/IEC 9797-1 padding method 2: 0x80 then zeros to a multiple of 8."""
    padded = data + b"\x80"
    return padded + b"\x00" * (-len(padded) % 8)


def unpad(data: bytes) -> bytes:
    end = data.rstrip(b"\x00")
    if not end.endswith(b"\x80"):
        raise ChipError("bad padding in the chip's answer")
    return end[:-1]


def _des3(key: bytes, data: bytes, *, decrypt: bool = False) -> bytes:
    # 24-byte keys: K1‖K2‖K1 is two-key 3DES, K‖K‖K single DES (shorter keys are deprecated).
    full = key * 3 if len(key) == 8 else key + key[:8] if len(key) == 16 else key
    cipher = Cipher(TripleDES(full), modes.CBC(b"\x00" * 8))
    work = cipher.decryptor() if decrypt else cipher.encryptor()
    return work.update(data) + work.finalize()


def retail_mac(key: bytes, data: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 (DES, then 3DES on the last block) over padded data."""
    k1, k2 = key[:8], key[8:16]
    chained = _des3(k1, pad(data))[-8:]  # single DES: TripleDES with one 8-byte key
    return _des3(k1, _des3(k2, chained, decrypt=True))


def _tlv(data: bytes, at: int) -> tuple[int, bytes, int]:
    """One BER-TLV with a one- or two-byte tag: (tag, value, next offset)."""
    if at + 2 > len(data):
        raise ChipError("truncated TLV")
    tag = data[at]
    at += 1
    if tag & 0x1F == 0x1F:
        tag = (tag << 8) | data[at]
        at += 1
    length = data[at]
    at += 1
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 3:
            raise ChipError("bad TLV length")
        length = int.from_bytes(data[at : at + count], "big")
        at += count
    if at + length > len(data):
        raise ChipError("truncated TLV")
    return tag, data[at : at + length], at + length


def tlvs(data: bytes) -> Iterator[tuple[int, bytes]]:
    at = 0
    while at < len(data):
        if data[at] in (0x00, 0xFF):  # padding between objects
            at += 1
            continue
        tag, value, at = _tlv(data, at)
        yield tag, value


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    if n < 0x100:
        return bytes([0x81, n])
    return bytes([0x82]) + n.to_bytes(2, "big")


# ---------------------------------------------------------------------- secure messaging


class SecureChannel:
    """Wraps commands and checks answers with the session keys BAC agreed on."""

    def __init__(self, transport: Transport, ks_enc: bytes, ks_mac: bytes, ssc: bytes) -> None:
        self.transport = transport
        self.ks_enc = ks_enc
        self.ks_mac = ks_mac
        self.ssc = int.from_bytes(ssc, "big")

    def _counter(self) -> bytes:
        self.ssc = (self.ssc + 1) % (1 << 64)
        return self.ssc.to_bytes(8, "big")

    def protect(self, header: bytes, data: bytes = b"", le: int | None = None) -> list[int]:
        counter = self._counter()
        masked = bytes([header[0] | 0x0C]) + header[1:4]
        do87 = b""
        if data:
            encrypted = b"\x01" + _des3(self.ks_enc, pad(data))
            do87 = b"\x87" + _length(len(encrypted)) + encrypted
        do97 = b"\x97\x01" + bytes([le & 0xFF]) if le is not None else b""
        mac = retail_mac(self.ks_mac, counter + pad(masked) + do87 + do97)
        body = do87 + do97 + b"\x8e\x08" + mac
        return [*masked, len(body), *body, 0x00]

    def unprotect(self, answer: bytes, sw: tuple[int, int]) -> bytes:
        counter = self._counter()
        found: dict[int, bytes] = {}
        covered = b""
        at = 0
        while at < len(answer):
            start = at
            tag, value, at = _tlv(answer, at)
            found[tag] = value
            if tag in (0x87, 0x99):
                covered += answer[start:at]
        if 0x8E not in found:
            raise ChipError(f"the chip answered {sw[0]:02X}{sw[1]:02X} without a MAC")
        if retail_mac(self.ks_mac, counter + covered) != found[0x8E]:
            raise ChipError("the chip's answer failed its MAC")
        status = found.get(0x99, bytes(sw))
        if tuple(status) != OK:
            raise ChipError(f"the chip answered {status.hex().upper()}")
        encrypted = found.get(0x87)
        return unpad(_des3(self.ks_enc, encrypted[1:], decrypt=True)) if encrypted else b""

    def send(self, header: bytes, data: bytes = b"", le: int | None = None) -> bytes:
        answer, sw1, sw2 = self.transport.transmit(self.protect(header, data, le))
        return self.unprotect(bytes(answer), (sw1, sw2))

    def read_file(self, fid: bytes) -> bytes:
        """SELECT the elementary file and READ BINARY it whole (its length from its first TLV)."""
        self.send(b"\x00\xa4\x02\x0c", fid)
        head = self.send(b"\x00\xb0\x00\x00", le=4)
        tag_len = 2 if head and head[0] & 0x1F == 0x1F else 1
        if len(head) < tag_len + 1:
            raise ChipError("an empty file")
        first = head[tag_len]
        if first < 0x80:
            size = tag_len + 1 + first
        else:
            count = first & 0x7F
            size = tag_len + 1 + count + int.from_bytes(head[tag_len + 1 : tag_len + 1 + count], "big")
        if not 2 <= size <= MAX_FILE:
            raise ChipError("an implausible file length")
        content = bytearray(head)
        while len(content) < size:
            offset = len(content)
            chunk = self.send(
                bytes([0x00, 0xB0, offset >> 8, offset & 0xFF]), le=min(READ_CHUNK, size - offset)
            )
            if not chunk:
                raise ChipError("the chip sent no more of the file")
            content += chunk
        return bytes(content[:size])


# ---------------------------------------------------------------------- basic access control


def _plain(transport: Transport, apdu: list[int]) -> bytes:
    data, sw1, sw2 = transport.transmit(apdu)
    if (sw1, sw2) != OK:
        raise ChipLocked(f"the chip answered {sw1:02X}{sw2:02X}")
    return bytes(data)


def select_application(transport: Transport) -> None:
    _data, sw1, sw2 = transport.transmit([0x00, 0xA4, 0x04, 0x0C, len(EMRTD_AID), *EMRTD_AID])
    if (sw1, sw2) != OK:
        raise ChipLocked(f"not an ID card chip (SELECT eMRTD answered {sw1:02X}{sw2:02X})")


def open_chip(
    transport: Transport, key: BacKey, *, rnd_ifd: bytes | None = None, k_ifd: bytes | None = None
) -> SecureChannel:
    """Mutual authentication with the chip (GET CHALLENGE, EXTERNAL AUTHENTICATE); the session."""
    seed = key_seed(key)
    k_enc, k_mac = derive_key(seed, 1), derive_key(seed, 2)
    rnd_ic = _plain(transport, [0x00, 0x84, 0x00, 0x00, 0x08])
    if len(rnd_ic) != 8:
        raise ChipLocked("the chip's challenge is not 8 bytes")
    rnd_ifd = rnd_ifd or os.urandom(8)
    k_ifd = k_ifd or os.urandom(16)
    e_ifd = _des3(k_enc, rnd_ifd + rnd_ic + k_ifd)
    command = e_ifd + retail_mac(k_mac, e_ifd)
    data, sw1, sw2 = transport.transmit([0x00, 0x82, 0x00, 0x00, len(command), *command, 0x28])
    if (sw1, sw2) != OK:
        # 6300: the key from the card's MRZ is not this card's (or a digit was misread).
        raise ChipLocked(f"Basic Access Control refused the card's key ({sw1:02X}{sw2:02X})")
    answer = bytes(data)
    if len(answer) != 40 or retail_mac(k_mac, answer[:32]) != answer[32:]:
        raise ChipLocked("the chip's authentication failed its MAC")
    plain = _des3(k_enc, answer[:32], decrypt=True)
    if plain[:8] != rnd_ic or plain[8:16] != rnd_ifd:
        raise ChipLocked("the chip's authentication does not match the challenge")
    k_ic = plain[16:32]
    session = bytes(a ^ b for a, b in zip(k_ifd, k_ic, strict=True))
    return SecureChannel(transport, derive_key(session, 1), derive_key(session, 2), rnd_ic[4:] + rnd_ifd[4:])


# ---------------------------------------------------------------------- data group 13


@dataclass(frozen=True)
class ChipFacts:
    id_no: str
    birth_date: date

    def __repr__(self) -> str:
        return "ChipFacts(…)"


def _fields(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(field number, value) pairs wherever they sit in DG13's nested sequences."""
    for tag, value in tlvs(data):
        if tag in (0x6D, 0x30, 0x31):
            inner = list(tlvs(value))
            if len(inner) >= 2 and inner[0][0] == 0x02 and inner[1][0] in (0x0C, 0x13, 0x16):
                yield int.from_bytes(inner[0][1], "big"), inner[1][1]
            else:
                yield from _fields(value)


def parse_dg13(data: bytes) -> ChipFacts:
    number = birth = None
    for field, value in _fields(data):
        if field == 1 and number is None:
            number = value.decode("utf-8", "replace").strip()
        elif field == 3 and birth is None:
            birth = value.decode("utf-8", "replace").strip()
    if number is None or not (len(number) == 12 and number.isdigit()) or birth is None:
        raise ChipError("DG13 has no 12-digit number or no birth date")
    try:
        born = datetime.strptime(birth, "%d/%m/%Y").date()
    except ValueError:
        raise ChipError("DG13's birth date is not dd/mm/yyyy") from None
    return ChipFacts(number, born)


def read_cccd(transport: Transport, key: BacKey) -> ChipFacts:
    """SELECT the eMRTD application, open it with BAC, read DG13: the number and the birth date."""
    select_application(transport)
    channel = open_chip(transport, key)
    return parse_dg13(channel.read_file(EF_DG13))
