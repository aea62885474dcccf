"""Serial (USB-COM) scanners through a real pty pair: the test writes to the master what a scanner
would send; unplugging is closing the master, plugging back is a new pty behind the same path (as
udev's /dev/serial/by-id symlink does)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from barcode_reader.classify import normalise
from barcode_reader.config import ScanSettings
from barcode_reader.errors import DeviceLost, DeviceUnavailable
from barcode_reader.serial_source import SerialSource
from barcode_reader.service import RecordingSink, ScannerService


class FakeSerialScanner:
    """A pty whose slave is reachable at `path` (a symlink that survives replugging)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.master: int | None = None

    def plug(self) -> None:
        master, slave = os.openpty()
        name = os.ttyname(slave)
        os.close(slave)  # only the daemon keeps the slave open, as with a real device
        tmp = self.path.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(name)
        tmp.replace(self.path)
        self.master = master

    def send(self, data: bytes) -> None:
        assert self.master is not None
        os.write(self.master, data)

    def unplug(self) -> None:
        if self.master is not None:
            os.close(self.master)
            self.master = None
        self.path.unlink(missing_ok=True)


@pytest.fixture
def scanner(tmp_path: Path) -> Iterator[FakeSerialScanner]:
    fake = FakeSerialScanner(tmp_path / "ttyACM0")
    fake.plug()
    yield fake
    fake.unplug()


def read_all(source: SerialSource, timeout: float = 0.15) -> list[str]:
    scans = []
    while (scan := source.read(timeout)) is not None:
        scans.append(scan.text)
    return scans


@pytest.mark.parametrize(
    ("terminator", "sent", "expected"),
    [
        (
            "cr",
            b"000.00.06.H56-231027-0361\rCNTBD.181121.00336\r",
            ["000.00.06.H56-231027-0361", "CNTBD.181121.00336"],
        ),
        ("lf", b"A1\nB2\n", ["A1", "B2"]),
        ("crlf", b"A1\r\nB\r2\r\n", ["A1", "B\r2"]),  # a lone CR is data when the terminator is CRLF
        ("tab", b"A1\tB2\t", ["A1", "B2"]),
        ("any", b"A1\r\nB2\rC3\n\n", ["A1", "B2", "C3"]),
    ],
)
def test_terminators(scanner: FakeSerialScanner, terminator: str, sent: bytes, expected: list[str]) -> None:
    source = SerialSource(str(scanner.path), terminator=terminator)  # type: ignore[arg-type]
    source.open()
    # Byte by byte in two writes: a scan split across reads must still come out whole.
    scanner.send(sent[:3])
    scanner.send(sent[3:])
    assert read_all(source) == expected
    source.close()
    source.close()


def test_no_terminator_ends_scans_on_silence(scanner: FakeSerialScanner) -> None:
    source = SerialSource(str(scanner.path), terminator="none", idle_timeout=0.05)
    source.open()
    scanner.send(b"CNTBD.181121.00336")
    scan = source.read(1.0)
    assert scan is not None and scan.text == "CNTBD.181121.00336"
    with pytest.raises(ValueError, match="idle_timeout"):
        SerialSource("x", terminator="none")


def test_encoding_is_configurable(scanner: FakeSerialScanner) -> None:
    """A scanner set to Windows-1258 sends Vietnamese decomposed (base letter + combining tone mark);
    it is decoded with the configured codec and comes out NFC after normalisation."""
    source = SerialSource(str(scanner.path), encoding="cp1258")
    source.open()
    scanner.send(b"H\xf4\xcc s\xf5\r")  # "Hồ sơ": ô + combining grave, ơ
    scan = source.read(1.0)
    assert scan is not None and scan.text == "H\u00f4\u0300 s\u01a1"
    assert normalise(scan.text) == "Hồ sơ"
    with pytest.raises(LookupError):
        SerialSource("x", encoding="klingon")


def test_absent_port_and_unplug(scanner: FakeSerialScanner, tmp_path: Path) -> None:
    with pytest.raises(DeviceUnavailable, match="ttyUSB9"):
        SerialSource(str(tmp_path / "ttyUSB9")).open()
    source = SerialSource(str(scanner.path))
    source.open()
    scanner.unplug()
    with pytest.raises(DeviceLost):
        source.read(1.0)


def test_scans_flow_through_unplug_and_replug(scanner: FakeSerialScanner) -> None:
    sink = RecordingSink()
    source = SerialSource(str(scanner.path), terminator="cr")
    with ScannerService(source, sink, ScanSettings(max_length=64), retry_interval=0.05, read_timeout=0.05):
        assert sink.wait(lambda s: s.health[-1]["scanner"] == "attached")
        assert sink.health[-1]["source"] == "serial"
        assert sink.health[-1]["device"] == str(scanner.path)
        scanner.send(b"000.00.06.H56-231027-0361\r")
        scanner.send(b"000.00.06.H56-231027-0361\r")  # a double read of the same receipt
        scanner.send(b"\xff\xfe\x00garbage\r")  # line noise
        scanner.send(b"X" * 100 + b"\r")  # longer than max_length
        scanner.send(b"https://hub.local/t/tok3n-ABC\r")
        assert sink.wait(lambda s: len(s.scans) == 2)

        scanner.unplug()
        assert sink.wait(lambda s: s.health[-1]["scanner"] == "detached")
        detached = sink.health[-1]
        assert detached["error"] and detached["last_scan_ts"] == sink.scans[-1].ts

        scanner.plug()
        assert sink.wait(lambda s: s.health[-1]["scanner"] == "attached")
        scanner.send(b"CNTBD.181121.00336\r")
        assert sink.wait(lambda s: len(s.scans) == 3)
    assert [(s.kind, s.code) for s in sink.scans] == [
        ("dossier_code", "000.00.06.H56-231027-0361"),
        ("ticket", "tok3n-ABC"),
        ("dossier_code", "CNTBD.181121.00336"),
    ]
    assert sink.scans[1].text == "https://hub.local/t/tok3n-ABC"


def test_a_scanner_plugged_in_after_start_is_picked_up(tmp_path: Path) -> None:
    fake = FakeSerialScanner(tmp_path / "ttyACM1")
    sink = RecordingSink()
    with ScannerService(SerialSource(str(fake.path)), sink, retry_interval=0.05, read_timeout=0.05):
        assert sink.wait(lambda s: s.health[-1]["scanner"] == "detached" and s.health[-1]["error"])
        fake.plug()
        try:
            assert sink.wait(lambda s: s.health[-1]["scanner"] == "attached")
            fake.send(b"CNTBD.181121.00336\n")
            assert sink.wait(lambda s: len(s.scans) == 1)
        finally:
            fake.unplug()
