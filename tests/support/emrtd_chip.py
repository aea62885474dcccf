"""A software ID card chip: the card's side of ICAO 9303 BAC and secure messaging, answering APDUs
as a CCCD does through a PC/SC reader (pyscard's `transmit`). Files: EF.COM and DG13 with the
Vietnamese (field number, text) pairs. For tests of kiosk/emrtd.py and the kiosk's PC/SC driver."""

from __future__ import annotations

import os
from datetime import date

from kiosk.emrtd import (
    EF_COM,
    EF_DG13,
    EMRTD_AID,
    BacKey,
    _des3,
    _length,
    _tlv,
    derive_key,
    key_seed,
    pad,
    retail_mac,
    unpad,
)

SW_OK = (0x90, 0x00)
SW_DENIED = (0x63, 0x00)
SW_SM_BROKEN = (0x69, 0x88)
SW_NOT_FOUND = (0x6A, 0x82)
SW_UNSUPPORTED = (0x6D, 0x00)


def dg13(fields: dict[int, str]) -> bytes:
    """DG13 as a CCCD carries it: tag 6D around SEQUENCEs of INTEGER field number and UTF8String."""
    body = b""
    for number, text in fields.items():
        value = text.encode()
        inner = b"\x02\x01" + bytes([number]) + b"\x0c" + _length(len(value)) + value
        body += b"\x30" + _length(len(inner)) + inner
    return b"\x6d" + _length(len(body)) + body


def cccd_fields(id_no: str, name: str, birth: date) -> dict[int, str]:
    return {1: id_no, 2: name, 3: f"{birth:%d/%m/%Y}", 4: "Nam", 5: "Việt Nam", 9: "Long Thành, Đồng Nai"}


class SoftChip:
    """Answers `transmit(apdu)`; `connect()` for pyscard's connection shape."""

    def __init__(self, key: BacKey, files: dict[bytes, bytes]) -> None:
        seed = key_seed(key)
        self.k_enc, self.k_mac = derive_key(seed, 1), derive_key(seed, 2)
        self.files = files
        self.selected_app = False
        self.rnd_ic: bytes | None = None
        self.session: tuple[bytes, bytes, int] | None = None
        self.current: bytes | None = None
        self.seen: list[bytes] = []

    def connect(self) -> None:
        pass

    def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]:
        raw = bytes(apdu)
        self.seen.append(raw)
        if raw[:4] == b"\x00\xa4\x04\x0c":
            self.selected_app = raw[5 : 5 + raw[4]] == EMRTD_AID
            self.session = None
            return [], *(SW_OK if self.selected_app else SW_NOT_FOUND)
        if not self.selected_app:
            return [], *SW_NOT_FOUND
        if raw[:5] == b"\x00\x84\x00\x00\x08":
            self.rnd_ic = os.urandom(8)
            return list(self.rnd_ic), *SW_OK
        if raw[:4] == b"\x00\x82\x00\x00":
            return self._authenticate(raw[5 : 5 + raw[4]])
        if raw[0] == 0x0C and self.session is not None:
            return self._secure(raw)
        return [], *SW_UNSUPPORTED

    def _authenticate(self, data: bytes) -> tuple[list[int], int, int]:
        if self.rnd_ic is None or len(data) != 40 or retail_mac(self.k_mac, data[:32]) != data[32:]:
            return [], *SW_DENIED
        plain = _des3(self.k_enc, data[:32], decrypt=True)
        rnd_ifd, rnd_ic, k_ifd = plain[:8], plain[8:16], plain[16:32]
        if rnd_ic != self.rnd_ic:
            return [], *SW_DENIED
        k_ic = os.urandom(16)
        answer = _des3(self.k_enc, rnd_ic + rnd_ifd + k_ic)
        seed = bytes(a ^ b for a, b in zip(k_ifd, k_ic, strict=True))
        ssc = int.from_bytes(rnd_ic[4:] + rnd_ifd[4:], "big")
        self.session = (derive_key(seed, 1), derive_key(seed, 2), ssc)
        return list(answer + retail_mac(self.k_mac, answer)), *SW_OK

    def _secure(self, raw: bytes) -> tuple[list[int], int, int]:
        assert self.session is not None
        ks_enc, ks_mac, ssc = self.session
        ssc += 1
        header, body = raw[:4], raw[5 : 5 + raw[4]]
        found: dict[int, bytes] = {}
        covered = b""  # the MAC covers every object before DO'8E' as sent
        at = 0
        while at < len(body):
            start = at
            tag, value, at = _tlv(body, at)
            found[tag] = value
            if tag != 0x8E:
                covered += body[start:at]
        counter = ssc.to_bytes(8, "big")
        if retail_mac(ks_mac, counter + pad(header) + covered) != found.get(0x8E):
            self.session = None
            return [], *SW_SM_BROKEN
        data = unpad(_des3(ks_enc, found[0x87][1:], decrypt=True)) if 0x87 in found else b""
        le = found[0x97][0] if 0x97 in found else 0
        sw, out = SW_OK, b""
        if header[1] == 0xA4:
            if data in self.files:
                self.current = data
            else:
                sw = SW_NOT_FOUND
        elif header[1] == 0xB0 and self.current is not None:
            offset = (header[2] << 8) | header[3]
            out = self.files[self.current][offset : offset + (le or 256)]
        else:
            sw = SW_UNSUPPORTED
        ssc += 1
        reply = b""
        if out:
            encrypted = b"\x01" + _des3(ks_enc, pad(out))
            reply += b"\x87" + _length(len(encrypted)) + encrypted
        reply += b"\x99\x02" + bytes(sw)
        mac = retail_mac(ks_mac, ssc.to_bytes(8, "big") + reply)
        self.session = (ks_enc, ks_mac, ssc)
        return list(reply + b"\x8e\x08" + mac), *SW_OK


def cccd_chip(id_no: str, name: str, birth: date, expiry: date) -> tuple[SoftChip, BacKey]:
    key = BacKey.for_cccd(id_no, birth, expiry)
    files = {
        EF_COM: bytes.fromhex("60145F0104303130365F36063034303030305C02616D"),
        EF_DG13: dg13(cccd_fields(id_no, name, birth)),
    }
    return SoftChip(key, files), key
