"""Reading the citizen's ID card (CCCD) at the kiosk: one interface for its QR code and its chip.

A `CardRead` is what the kiosk's model gets from any reader: the masked number and the holder's age,
and — only from a reader wired to this kiosk (the chip over NFC, read here) — the full number, kept
in memory until the citizen leaves and sent only in the kiosk's RPC to the hub, after consent. The
networked scanner's QR read (barcode_reader) never carries the full number: it goes over MQTT.

Readers: `SimulatedCardReader` (a real implementation a test or the demo drives: a card laid on
the reader) and `PcscCardReader` (a PC/SC NFC reader through pyscard, optional: not a dependency of
the kiosk, as pyscard has no Linux wheel and builds against libpcsclite with swig). The chip of a
CCCD is an ICAO 9303 eMRTD: its data groups open only after Basic Access Control with a key from
the card's machine-readable zone (printed on the back). That step is not built yet: the driver finds
the reader and the card and then says so with `ChipLocked` instead of pretending to read.
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

log = logging.getLogger("motcua.kiosk.card")

# The eMRTD application of the chip (ICAO 9303-10), selected first by any reader.
EMRTD_AID = bytes.fromhex("A0000002471001")


class CardReaderUnavailable(RuntimeError):
    """The reader cannot work here: its library is not installed, or no reader is plugged in."""


class ChipLocked(RuntimeError):
    """The chip answered but its data needs Basic Access Control (not built): nothing was read."""


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
    pyscard or a reader is missing; a card laid on it is selected and then reported `ChipLocked`."""

    def __init__(self, reader: str | None = None, *, poll_s: float = 0.5) -> None:
        self.reader_name = reader
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: Exception | None = None

    def _reader(self) -> object:
        try:
            from smartcard.System import readers  # type: ignore[import-not-found]
        except ImportError:
            raise CardReaderUnavailable(
                "pyscard is not installed (pip install pyscard; it builds with swig and libpcsclite-dev)"
            ) from None
        try:
            found = list(readers())
        except Exception as error:  # pcscd not running raises its own EstablishContextException
            raise CardReaderUnavailable(f"PC/SC is not available: {type(error).__name__}") from None
        chosen = [r for r in found if self.reader_name is None or self.reader_name in str(r)]
        if not chosen:
            raise CardReaderUnavailable(
                f"no PC/SC card reader {self.reader_name or ''} found".replace("  ", " ")
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
            except ChipLocked as error:
                self.last_error = error
                log.warning("ID card chip: %s", error)
            except Exception as error:
                self.last_error = error
                log.warning("ID card chip read failed: %s", type(error).__name__)

    def read_chip(self, connection: object) -> CardRead:
        select = [0x00, 0xA4, 0x04, 0x0C, len(EMRTD_AID), *EMRTD_AID]
        _data, sw1, sw2 = connection.transmit(select)  # type: ignore[attr-defined]
        if (sw1, sw2) != (0x90, 0x00):
            raise ChipLocked(f"not an ID card chip (SELECT eMRTD answered {sw1:02X}{sw2:02X})")
        raise ChipLocked("the chip needs Basic Access Control with the card's MRZ key, not built yet")


def build_reader(kind: str) -> CardReader | None:
    """The reader named in the kiosk's TOML (`card_reader`): none, simulated or pcsc."""
    if kind == "pcsc":
        return PcscCardReader()
    if kind == "simulated":
        return SimulatedCardReader()
    return None
