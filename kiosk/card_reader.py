"""Reading the citizen's ID card (CCCD) at the kiosk: one interface for its QR code and its chip.

A `CardRead` is what the kiosk's model gets from any reader: the masked number and the holder's age,
and — only from a reader wired to this kiosk (the chip over NFC, read here) — the full number, kept
in memory until the citizen leaves and sent only in the kiosk's RPC to the hub, after consent. The
networked scanner's QR read (barcode_reader) never carries the full number: it goes over MQTT.

Readers: `SimulatedCardReader` (a real implementation a test or the demo drives: a card laid on
the reader) and `PcscCardReader` (a PC/SC NFC reader through pyscard, optional: not a dependency of
the kiosk, as pyscard has no Linux wheel and builds against libpcsclite with swig). The chip of a
CCCD is an ICAO 9303 eMRTD (kiosk/emrtd.py): its data open only after Basic Access Control with a
key from the card's machine-readable zone (document number, birth and expiry dates, printed on the
back). The driver takes that key from `key_for` (an MRZ line reader beside the NFC pad, in the
readers sold for this); without one it says so with `ChipLocked` instead of pretending to read.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

from hub.bookings.id_card import IdCardFacts, parse_id_card
from hub.bookings.identity import check_id_no
from hub.central.model import mask_id_number

from .emrtd import (
    EF_DG13,
    BacKey,
    ChipError,
    ChipLocked,
    Transport,
    open_chip,
    parse_dg13,
    select_application,
)

log = logging.getLogger("motcua.kiosk.card")

__all__ = ["CardRead", "CardReader", "CardReaderUnavailable", "ChipError", "ChipLocked", "PcscCardReader"]
KeySource = Callable[[], BacKey | None]


class CardReaderUnavailable(RuntimeError):
    """The reader cannot work here: its library is not installed, or no reader is plugged in."""


@dataclass(frozen=True)
class CardRead:
    """One card read. `id_no` is never in repr (a log line or a traceback must not show it)."""

    masked: str
    age: int | None
    id_no: str | None = field(default=None, repr=False)
    source: Literal["qr", "chip"] = "qr"


OnRead = Callable[[CardRead], None]


class CardReader(Protocol):
    def start(self, on_read: OnRead) -> None: ...
    def stop(self) -> None: ...


def card_read(facts: IdCardFacts, today: date, source: Literal["qr", "chip"]) -> CardRead:
    """What the kiosk keeps of a card read here: masked number, age, the number for the hub."""
    return CardRead(mask_id_number(facts.id_no), facts.age_on(today), facts.id_no, source)


class SimulatedCardReader:
    """A reader whose cards a test lays on it: `present(id_no, birth_date)` as the chip gives them,
    or `present_qr(payload)` as a QR reader wired to the kiosk would read the printed code."""

    def __init__(self, today: Callable[[], date] = date.today) -> None:
        self.today = today
        self._on_read: OnRead | None = None

    def start(self, on_read: OnRead) -> None:
        self._on_read = on_read

    def stop(self) -> None:
        self._on_read = None

    def present(self, id_no: str, birth_date: date) -> CardRead:
        number = check_id_no(id_no)
        facts = IdCardFacts(number, birth_date, "can_cuoc_2024")
        return self._deliver(card_read(facts, self.today(), "chip"))

    def present_qr(self, payload: str) -> CardRead:
        """The printed QR (refused like any garbage by hub.bookings.id_card: IdCardError)."""
        today = self.today()
        return self._deliver(card_read(parse_id_card(payload, today=today), today, "qr"))

    def _deliver(self, read: CardRead) -> CardRead:
        if self._on_read is not None:
            self._on_read(read)
        return read


class PcscCardReader:
    """An NFC reader through PC/SC (pcscd + pyscard). `start` raises CardReaderUnavailable when
    pyscard or a reader is missing; a card laid on it is opened with the key `key_for` gives (from
    the card's MRZ) and its DG13 read: the number and the birth date, nothing else."""

    def __init__(
        self,
        reader: str | None = None,
        *,
        key_for: KeySource | None = None,
        poll_s: float = 0.5,
        today: Callable[[], date] = date.today,
        readers: Callable[[], list[object]] | None = None,
    ) -> None:
        self.reader_name = reader
        self.key_for = key_for
        self.poll_s = poll_s
        self.today = today
        self._readers = readers  # pyscard's smartcard.System.readers (a test passes its own)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: Exception | None = None

    def _reader(self) -> object:
        listing = self._readers
        if listing is None:
            try:
                from smartcard.System import readers  # type: ignore[import-not-found]
            except ImportError:
                raise CardReaderUnavailable(
                    "pyscard is not installed (pip install pyscard; it builds with swig and libpcsclite-dev)"
                ) from None
            listing = readers
        try:
            found = list(listing())
        except Exception as error:  # pcscd not running raises its own EstablishContextException
            raise CardReaderUnavailable(f"PC/SC is not available: {type(error).__name__}") from None
        chosen = [r for r in found if self.reader_name is None or self.reader_name in str(r)]
        if not chosen:
            raise CardReaderUnavailable(
                f"no PC/SC card reader found{f' named {self.reader_name}' if self.reader_name else ''}"
            )
        return chosen[0]

    def start(self, on_read: OnRead) -> None:
        reader = self._reader()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(reader, on_read), name="kiosk-nfc", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self, reader: object, on_read: OnRead) -> None:
        present = False
        while not self._stop.wait(self.poll_s):
            try:
                connection = reader.createConnection()  # type: ignore[attr-defined]
                connection.connect()
            except Exception:
                present = False  # no card on the reader
                continue
            if present:
                continue  # the same card still lying there
            present = True
            try:
                on_read(self.read_chip(connection))
            except ChipError as error:
                self.last_error = error
                log.warning("ID card chip: %s", error)  # never the card's data: only what failed
            except Exception as error:
                self.last_error = error
                log.warning("ID card chip read failed: %s", type(error).__name__)

    def read_chip(self, connection: Transport) -> CardRead:
        select_application(connection)
        key = self.key_for() if self.key_for is not None else None
        if key is None:
            raise ChipLocked("the chip needs the key from the card's MRZ, and this kiosk has no MRZ reader")
        facts = parse_dg13(open_chip(connection, key).read_file(EF_DG13))
        return card_read(IdCardFacts(facts.id_no, facts.birth_date, "can_cuoc_2024"), self.today(), "chip")


def build_reader(kind: str) -> CardReader | None:
    """The reader named in the kiosk's TOML (`card_reader`): none, simulated or pcsc."""
    if kind == "pcsc":
        return PcscCardReader()
    if kind == "simulated":
        return SimulatedCardReader()
    return None
