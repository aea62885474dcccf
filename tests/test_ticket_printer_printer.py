"""The Printer interface over python-escpos, against fake printers that read the bytes back."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from support.fake_printer import (
    EscposReader,
    FakeNetworkPrinter,
    FakeSerialPrinter,
    PrinterState,
    same_picture,
)
from support.print_jobs import RECEIPT_JOB, ticket_job

from appliance.config import validate
from appliance.errors import ConfigError
from ticket_printer.cli import main
from ticket_printer.config import PrinterConfig, PrinterSection
from ticket_printer.documents import render_job
from ticket_printer.errors import PrinterError
from ticket_printer.jobs import parse_job
from ticket_printer.layout import paper_for
from ticket_printer.printer import Paper, PrinterStatus, SimulatedPrinter, open_printer, parse_paper


def section(**backend: object) -> PrinterSection:
    return PrinterSection.model_validate({"backend": backend, "dots": 576})


@pytest.fixture(scope="module")
def ticket_image() -> Image.Image:
    return render_job(parse_job(ticket_job()), paper_for(576))


@pytest.fixture
def network() -> FakeNetworkPrinter:
    with FakeNetworkPrinter() as fake:
        yield fake


def network_printer(fake: FakeNetworkPrinter, timeout: float = 0.3):
    return open_printer(section(type="network", host=fake.host, port=fake.port, timeout=timeout))


@pytest.mark.parametrize(
    ("paper", "online", "expected"),
    [
        ("ok", True, PrinterStatus(True, Paper.OK)),
        ("near_end", True, PrinterStatus(True, Paper.NEAR_END)),
        ("out", True, PrinterStatus(False, Paper.OUT)),
        ("ok", False, PrinterStatus(False, Paper.OK)),
    ],
)
def test_network_status_from_dle_eot(
    network: FakeNetworkPrinter, paper: str, online: bool, expected: PrinterStatus
) -> None:
    network.state.paper, network.state.online = paper, online
    with network_printer(network) as printer:
        status = printer.status()
    assert status == expected
    assert status.ready is (paper in ("ok", "near_end") and online)


def test_silent_network_printer_is_unknown_not_ok(network: FakeNetworkPrinter) -> None:
    network.state.silent = True
    with network_printer(network) as printer:
        status = printer.status()
        assert status == PrinterStatus(None, Paper.UNKNOWN)
        assert not status.ready and status.problem == "print_no_reply"
        # Answers again: the late reply of the silent period must not be taken for the new one.
        network.state.silent = False
        network.state.paper = "out"
        assert printer.status().paper is Paper.OUT


def test_unreachable_network_printer_is_unknown_and_print_fails_naming_it() -> None:
    with FakeNetworkPrinter() as fake:
        port = fake.port  # closed after this block: nothing listens there any more
    printer = open_printer(section(type="network", host="127.0.0.1", port=port, timeout=0.3))
    assert printer.status() == PrinterStatus(None, Paper.UNKNOWN)
    with pytest.raises(PrinterError) as caught:
        printer.print_image(Image.new("1", (576, 8), 1))
    assert f"127.0.0.1:{port}" in caught.value.message


def test_network_print_bytes_are_the_ticket(network: FakeNetworkPrinter, ticket_image: Image.Image) -> None:
    with network_printer(network) as printer:
        printer.print_image(ticket_image)
        pages = network.wait_for_pages(1)
    assert len(pages) == 1
    assert same_picture(pages[0].image, ticket_image)
    assert network.unknown_bytes == b""
    assert network.received.startswith(b"\x1b@")  # ESC @ first: a clean state whatever came before
    result = zxingcpp.read_barcodes(pages[0].image.convert("L"))
    assert [r.text for r in result] == ["http://hub.local:8080/t/Xk3f9QpL2m"]


def test_reconnects_after_the_printer_dropped_the_connection(
    network: FakeNetworkPrinter, ticket_image: Image.Image
) -> None:
    with network_printer(network) as printer:
        assert printer.status().ready
        network.drop_connections()  # the printer was switched off and on
        assert printer.status().ready
        printer.print_image(ticket_image)
        assert len(network.wait_for_pages(1)) == 1


def test_serial_printer_over_a_pty(ticket_image: Image.Image) -> None:
    with FakeSerialPrinter(paper="near_end") as fake:
        config = section(type="serial", device=fake.device, baudrate=115200, timeout=0.3)
        with open_printer(config) as printer:
            assert printer.status() == PrinterStatus(True, Paper.NEAR_END)
            printer.print_image(ticket_image)
            pages = fake.wait_for_pages(1)
            assert same_picture(pages[0].image, ticket_image)
            fake.state.silent = True
            assert printer.status() == PrinterStatus(None, Paper.UNKNOWN)


def test_receipt_bands_join_into_one_page() -> None:
    receipt = render_job(parse_job(RECEIPT_JOB), paper_for(576))
    assert receipt.height > 256  # several GS v 0 bands
    printer = SimulatedPrinter(dots=576)
    printer.print_image(receipt)
    reader = EscposReader(PrinterState())
    reader.feed(printer.output)
    assert len(reader.pages) == 1
    assert same_picture(reader.pages[0].image, receipt)
    codes = {r.format.name: r.text for r in zxingcpp.read_barcodes(reader.pages[0].image.convert("L"))}
    assert codes["Code128"] == "000.00.06.H56-231027-0361"


def test_device_file_backend_writes_the_stream_and_cannot_report(
    tmp_path: Path, ticket_image: Image.Image
) -> None:
    device = tmp_path / "lp0"
    device.touch()
    with open_printer(section(type="file", device=str(device))) as printer:
        assert not printer.reports_status
        assert printer.status() == PrinterStatus(None, Paper.UNKNOWN)
        printer.print_image(ticket_image)
    reader = EscposReader(PrinterState())
    reader.feed(device.read_bytes())
    assert same_picture(reader.pages[0].image, ticket_image)


def test_missing_usb_printer_is_unknown_and_named() -> None:
    printer = open_printer(section(type="usb", vendor_id=0x0416, product_id=0x5011))
    assert printer.status() == PrinterStatus(None, Paper.UNKNOWN)
    with pytest.raises(PrinterError) as caught:
        printer.print_image(Image.new("1", (576, 8), 1))
    assert "usb 0416:5011" in caught.value.message


@pytest.fixture
def machine_without_libusb(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine as a fresh Debian without libusb-1.0-0: the dynamic loader finds no libusb."""
    import ctypes.util

    import usb.backend.libusb0
    import usb.backend.libusb1
    import usb.backend.openusb

    real_find_library = ctypes.util.find_library
    monkeypatch.setattr(
        ctypes.util, "find_library", lambda name: None if "usb" in name else real_find_library(name)
    )
    for backend in (usb.backend.libusb1, usb.backend.libusb0, usb.backend.openusb):
        monkeypatch.setattr(backend, "_lib", None)  # pyusb keeps the library it loaded first
        if hasattr(backend, "_lib_object"):
            monkeypatch.setattr(backend, "_lib_object", None)


@pytest.mark.usefixtures("machine_without_libusb")
def test_usb_printer_without_libusb_names_the_missing_package() -> None:
    printer = open_printer(section(type="usb", vendor_id=0x0416, product_id=0x5011))
    assert printer.status() == PrinterStatus(None, Paper.UNKNOWN)
    with pytest.raises(PrinterError) as caught:
        printer.print_image(Image.new("1", (576, 8), 1))
    assert "usb 0416:5011" in caught.value.message
    assert "USB support missing (install libusb-1.0-0)" in caught.value.message_en


def test_simulated_printer_keeps_bytes_and_refuses_without_paper(
    tmp_path: Path, ticket_image: Image.Image
) -> None:
    printer = open_printer(section(type="simulated", paper="out", save_dir=str(tmp_path)))
    assert isinstance(printer, SimulatedPrinter)
    assert printer.status().problem == "print_out_of_paper"
    with pytest.raises(PrinterError):
        printer.print_image(ticket_image)
    assert printer.output == b""
    printer.paper = Paper.OK
    printer.print_image(ticket_image)
    assert same_picture(Image.open(tmp_path / "00001.png"), ticket_image)
    reader = EscposReader(PrinterState())
    reader.feed(printer.output)
    assert same_picture(reader.pages[0].image, ticket_image)


def test_a_restarted_simulated_printer_keeps_its_earlier_pages(
    tmp_path: Path, ticket_image: Image.Image
) -> None:
    first = open_printer(section(type="simulated", save_dir=str(tmp_path)))
    first.print_image(ticket_image)
    first.print_image(ticket_image)
    earlier = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    restarted = open_printer(section(type="simulated", save_dir=str(tmp_path)))  # the daemon again
    blank = Image.new("1", ticket_image.size, 1)
    restarted.print_image(blank)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["00001.png", "00002.png", "00003.png"]
    assert {name: (tmp_path / name).read_bytes() for name in earlier} == earlier
    assert same_picture(Image.open(tmp_path / "00003.png"), blank)


def test_wrong_width_picture_is_a_programming_error(ticket_image: Image.Image) -> None:
    printer = SimulatedPrinter(dots=384)
    with pytest.raises(ValueError, match="576 dots wide"):
        printer.print_image(ticket_image)


@pytest.mark.parametrize(
    ("reply", "paper"),
    [
        (b"", Paper.UNKNOWN),
        (b"\x00", Paper.UNKNOWN),
        (b"\xff", Paper.UNKNOWN),
        (b"\x12", Paper.OK),
        (b"\x1e", Paper.NEAR_END),
        (b"\x72", Paper.OUT),
        (b"\x7e", Paper.OUT),
    ],
)
def test_paper_reply_bits(reply: bytes, paper: Paper) -> None:
    assert parse_paper(reply) is paper


def test_config_examples_and_refusals() -> None:
    text = """
device_id = "printer-kiosk1"
site = "dongnai-hcc"
role = "printer"
[printer]
dots = 384
[printer.backend]
type = "usb"
vendor_id = 0x0416
product_id = 0x5011
"""
    config = validate(tomllib.loads(text), PrinterConfig, "printer.toml")
    assert config.printer.backend.vendor_id == 0x0416
    assert config.session_expiry_s >= 86400
    assert str(config.state_path).endswith("printer-kiosk1")
    with pytest.raises(ConfigError, match="TCVN-3"):
        validate(tomllib.loads(text.replace("dots = 384", 'dots = 384\nmode = "text"')), PrinterConfig, "p")
    with pytest.raises(ConfigError, match=r"printer\.dots"):
        validate(tomllib.loads(text.replace("dots = 384", "dots = 400")), PrinterConfig, "p")
    with pytest.raises(ConfigError, match=r"printer\.backend"):
        validate(tomllib.loads(text.replace('type = "usb"', 'type = "bluetooth"')), PrinterConfig, "p")


def write_config(tmp_path: Path, backend: str) -> Path:
    path = tmp_path / "printer.toml"
    path.write_text(
        f'device_id = "printer-1"\nsite = "s"\nrole = "printer"\n[printer]\ndots = 576\n'
        f"[printer.backend]\n{backend}\n",
        encoding="utf-8",
    )
    return path


def test_status_and_print_commands(network: FakeNetworkPrinter, tmp_path: Path, capsys) -> None:
    backend = f'type = "network"\nhost = "127.0.0.1"\nport = {network.port}\ntimeout = 0.5'
    config = write_config(tmp_path, backend)
    assert main(["status", "-c", str(config)]) == 0
    assert json.loads(capsys.readouterr().out)["paper"] == "ok"
    assert main(["print", "-c", str(config)]) == 0  # a test page
    assert "printed test" in capsys.readouterr().out
    assert len(network.wait_for_pages(1)) == 1
    network.state.paper = "out"
    assert main(["status", "-c", str(config)]) == 1
    assert json.loads(capsys.readouterr().out) == {
        "printer": f"network 127.0.0.1:{network.port}",
        "paper": "out",
        "online": False,
        "ready": False,
    }


def test_daemon_refuses_a_bad_config_naming_file_and_key(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path, 'type = "network"\nhost = "127.0.0.1"\nport = 70000')
    assert main(["-c", str(config)]) == 2
    error = capsys.readouterr().err
    assert str(config) in error and "printer.backend.network.port" in error
