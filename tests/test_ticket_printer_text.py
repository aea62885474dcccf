"""Text mode: tickets and receipts in the printer's TCVN-3 fonts, read back from the real byte stream.

The bytes python-escpos sends are parsed here from the ESC/POS command reference (ESC t n selects a
code page; bytes 128-255 are looked up in that page's table in python-escpos's capabilities.json),
so the Vietnamese on paper is checked letter by letter, not trusted to the encoder under test.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import escpos
import pytest
from support.fake_printer import FakeNetworkPrinter
from support.mqtt import Observer, Seen
from support.print_jobs import receipt_job, ticket_job

from appliance.config import ConfigError, MqttSettings, load
from appliance.topics import Topics
from ticket_printer.config import PrinterConfig
from ticket_printer.daemon import PrinterDaemon
from ticket_printer.errors import LayoutError
from ticket_printer.jobs import parse_job
from ticket_printer.printer import SimulatedPrinter
from ticket_printer.tcvn3 import printable_tcvn3
from ticket_printer.text_layout import render_text_job

CAPABILITIES = json.loads(Path(escpos.__file__).with_name("capabilities.json").read_text(encoding="utf-8"))
PROFILE = "TM-T88V"
ESC, GS, DLE, LF = 0x1B, 0x1D, 0x10, 0x0A
# ESC/GS commands with one parameter byte that a text-mode job may send (style, size, alignment, …).
ONE_BYTE = {(ESC, b) for b in b"tEa!dM-"} | {(GS, b) for b in b"!BhwHf"}
ROOT = Path(__file__).resolve().parents[1]

TICKET = ticket_job(
    "tk-text",
    number="B017",
    service_name="Đất đai",
    priority=True,
    priority_group="elderly",
)
# A footer that mixes both TCVN-3 pages in one line and carries a dash TCVN-3 does not have.
TICKET["footer"] = "Xin giữ Số thứ tự – cảm ơn Ông/Bà"


def page_table(page: str) -> dict[int, str]:
    encoding = CAPABILITIES["encodings"][page]
    if "data" in encoding:
        return {128 + index: char for index, char in enumerate("".join(encoding["data"]))}
    codec = encoding["python_encode"]
    return {byte: bytes([byte]).decode(codec) for byte in range(128, 256)}


@dataclass
class PrintedLine:
    text: str = ""
    size: int = 1  # GS ! magnification when the line was printed
    bold: bool = False  # some of it in bold
    inverted: bool = False


@dataclass
class Printout:
    lines: list[PrintedLine] = field(default_factory=list)
    qr: list[str] = field(default_factory=list)
    code128: list[str] = field(default_factory=list)
    code128_module: list[int] = field(default_factory=list)
    pages_used: set[str] = field(default_factory=set)
    cuts: int = 0
    raster: bool = False

    @property
    def texts(self) -> list[str]:
        return [line.text.strip() for line in self.lines]

    def line(self, text: str) -> PrintedLine:
        return next(line for line in self.lines if line.text.strip() == text)


def decode_code128(data: bytes) -> str:
    """ESC/POS GS k 73 data ("{B", "{C" code-set switches, "{{" for "{") back to what it encodes."""
    out, current, index = [], None, 0
    while index < len(data):
        if data[index] == ord("{"):
            if data[index + 1] == ord("{"):
                out.append("{")
            else:
                current = chr(data[index + 1])
            index += 2
            continue
        assert current in ("A", "B", "C"), data
        out.append(f"{data[index]:02d}" if current == "C" else chr(data[index]))
        index += 1
    return "".join(out)


def read_back(stream: bytes, profile: str = PROFILE) -> Printout:
    """Parse a text-mode ESC/POS stream into printed lines, QR contents and Code 128 contents."""
    slots = {int(slot): page for slot, page in CAPABILITIES["profiles"][profile]["codePages"].items()}
    printout, line = Printout(), PrintedLine()
    size, bold, inverted, table = 1, False, False, page_table("CP437")
    index = 0
    while index < len(stream):
        byte = stream[index]
        if byte == LF:
            printout.lines.append(line)
            line = PrintedLine()
            index += 1
        elif byte == DLE:
            assert stream[index + 1] == 0x04, stream[index : index + 3]  # DLE EOT n: a status query
            index += 3
        elif byte in (ESC, GS):
            command, value = stream[index + 1], stream[index + 2] if index + 2 < len(stream) else None
            if (byte, command) == (ESC, ord("@")):
                index += 2
            elif (byte, command) in ONE_BYTE:
                if (byte, command) == (ESC, ord("t")):
                    page = slots[value]
                    printout.pages_used.add(page)
                    table = page_table(page)
                elif (byte, command) == (GS, ord("!")):
                    assert value >> 4 == value & 0x0F, "same width and height magnification"
                    size = (value & 0x0F) + 1
                elif (byte, command) == (ESC, ord("E")):
                    bold = bool(value)
                elif (byte, command) == (GS, ord("B")):
                    inverted = bool(value)
                elif (byte, command) == (GS, ord("w")):
                    printout.code128_module.append(value)
                index += 3
            elif (byte, command) == (GS, ord("V")):
                printout.cuts += 1
                index += 3 if value in (0, 1, 48, 49) else 4
            elif (byte, command) == (GS, ord("(")) and value == ord("k"):
                length = stream[index + 3] | stream[index + 4] << 8
                body = stream[index + 5 : index + 5 + length]
                if body[:3] == b"1P0":  # cn 49 (QR), fn 80: store the symbol's data
                    printout.qr.append(body[3:].decode("utf-8"))
                index += 5 + length
            elif (byte, command) == (GS, ord("k")) and value is not None and value >= 65:
                count = stream[index + 3]
                assert value == 73, "CODE128"
                printout.code128.append(decode_code128(stream[index + 4 : index + 4 + count]))
                index += 4 + count
            elif (byte, command) == (GS, ord("v")):
                printout.raster = True
                break
            else:
                raise AssertionError(f"unexpected command {stream[index : index + 4]!r} at {index}")
        elif byte < 0x20:
            raise AssertionError(f"unexpected control byte {byte:#x} at {index}")
        else:
            char = chr(byte) if byte < 128 else table[byte]
            # python-escpos's upper-case TCVN-3 table spells Đ with its look-alike Ð (U+00D0).
            line.text += "Đ" if char == "Ð" else char
            line.size, line.bold = max(line.size, size), line.bold or bold
            line.inverted = line.inverted or inverted
            index += 1
    if line.text:
        printout.lines.append(line)
    return printout


def print_in_text_mode(job: dict[str, Any], dots: int = 512) -> Printout:
    printer = SimulatedPrinter(profile=PROFILE, dots=dots)  # python-escpos Dummy underneath
    printer.print_text(render_text_job(parse_job(job), dots))
    return read_back(printer.output)


def test_ticket_prints_vietnamese_in_the_tcvn3_pages() -> None:
    printout = print_in_text_mode(TICKET)
    texts = printout.texts
    assert "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG TỈNH ĐỒNG NAI" in " ".join(texts)
    assert "Đất đai" in texts
    assert "SỐ THỨ TỰ" in texts
    assert "Người cao tuổi" in texts
    assert "Xin giữ Số thứ tự - cảm ơn Ông/Bà" in texts  # the en dash, absent from TCVN-3, as "-"
    assert "Giờ lấy số: 09:32, 27/10/2023" in texts
    assert "Số người chờ trước bạn: 5" in texts
    assert "Thời gian chờ dự kiến: khoảng 13 phút" in texts
    number = printout.line("B017")
    assert number.size >= 4 and number.bold  # large, through the printer's character magnification
    mark = printout.line("ƯU TIÊN")
    assert mark.inverted and mark.size == 2
    assert printout.qr == [TICKET["ticket_url"]]
    assert printout.pages_used <= {"CP437", "TCVN-3-1", "TCVN-3-2"}
    assert {"TCVN-3-1", "TCVN-3-2"} <= printout.pages_used
    assert not printout.raster and printout.cuts == 1
    assert all(unicodedata.is_normalized("NFC", text) for text in texts)


def test_receipt_prints_fields_code128_and_qr() -> None:
    job = receipt_job()
    printout = print_in_text_mode(job, dots=576)
    texts = printout.texts
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "UBND HUYỆN LONG THÀNH",
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        "000.00.06.H56-231027-0361",
        "Ông/Bà: Nguyễn Thị Ngọc Ánh",
        "Nội dung yêu cầu giải quyết: Đăng ký khai sinh",
        "Trần Văn Bình",
    ):
        assert expected in texts, expected
    assert any(text.startswith("2. Giấy chứng sinh") and text.endswith("1 bản") for text in texts)
    assert printout.code128 == [job["receipt"]["dossier_code"]]
    assert printout.code128_module and min(printout.code128_module) >= 2
    assert printout.qr == [job["receipt"]["qr_data"]]
    assert not printout.raster


def test_code128_escapes_a_brace_and_uses_code_set_c_for_digits() -> None:
    printout = print_in_text_mode(receipt_job(dossier_code="AB{C-12345678"), dots=576)
    assert printout.code128 == ["AB{C-12345678"]


def test_receipt_whose_code128_cannot_fit_58mm_fails_with_a_reason() -> None:
    with pytest.raises(LayoutError) as error:
        render_text_job(parse_job(receipt_job()), 384)
    assert error.value.code == "print_does_not_fit" and "Code 128" in str(error.value)


VIETNAMESE_LETTERS = [
    unicodedata.normalize("NFC", base + mark)
    for base in "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY"
    for mark in ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
] + ["đ", "Đ"]


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("Số thứ tự: Đất đai", "Số thứ tự: Đất đai"),
        (unicodedata.normalize("NFD", "Người cao tuổi"), "Người cao tuổi"),  # decomposed input: NFC
        ("Nguyễn Thị Ngọc Ánh", "Nguyễn Thị Ngọc Ánh"),
        ("\u01f9 \u01f8", "n N"),  # ǹ Ǹ: a tone mark on a letter TCVN-3 lacks is dropped
        ("\u01d8", "ü"),  # ǘ: the tone mark goes first, the diaeresis stays (CP437 has ü)
        ("\u0159", "r"),  # ř: then any other mark
        ("x\u0303ỹ", "xỹ"),  # a combining tilde with no precomposed letter
        ("Thời gian – dự kiến", "Thời gian - dự kiến"),
        ("“Ưu tiên”…", '"Ưu tiên"...'),
        ("ﬁ ① 5\u00a0000₫", "fi 1 5 000d"),
        ("Café ü ñ", "Café ü ñ"),
        ("中", "?"),  # not a letter any page can hold or approximate
    ],
)
def test_printable_tcvn3_fallback(text: str, printed: str) -> None:
    assert printable_tcvn3(text) == printed


def test_every_vietnamese_letter_prints_as_itself() -> None:
    assert len(VIETNAMESE_LETTERS) == 146
    assert printable_tcvn3("".join(VIETNAMESE_LETTERS)) == "".join(VIETNAMESE_LETTERS)


def test_every_vietnamese_letter_reads_back_from_the_bytes() -> None:
    printout = print_in_text_mode(receipt_job(procedure=" ".join(VIETNAMESE_LETTERS)), dots=576)
    assert " ".join(VIETNAMESE_LETTERS) in " ".join(printout.texts)


def write_config(tmp_path: Path, **printer: str) -> Path:
    text = (ROOT / "ticket_printer/sample_printer.toml").read_text(encoding="utf-8")
    lines = "".join(f'{key} = "{value}"\n' for key, value in printer.items())
    text = text.replace('mode = "raster"', lines.rstrip("\n"), 1)
    path = tmp_path / "printer.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_text_mode_with_a_tcvn3_profile_is_accepted(tmp_path: Path) -> None:
    config = load(write_config(tmp_path, mode="text", profile="TM-T20II"), PrinterConfig)
    assert config.printer.mode == "text"


@pytest.mark.parametrize(
    ("profile", "reason"),
    [("POS-5890", "TCVN-3-1"), ("default", "name its model"), ("no-such-printer", "no printer")],
)
def test_text_mode_without_tcvn3_is_refused_at_start(tmp_path: Path, profile: str, reason: str) -> None:
    with pytest.raises(ConfigError) as error:
        load(write_config(tmp_path, mode="text", profile=profile), PrinterConfig)
    message = str(error.value)
    assert "printer" in message and profile in message and reason in message


# ---------------------------------------------------------------------------------- daemon end to end

SITE, DEVICE = "test-site", "printer-text"
TOPICS = Topics(SITE)
JOBS, RESULTS = TOPICS.print_jobs(DEVICE), TOPICS.print_results(DEVICE)


@pytest.fixture
def fake() -> Iterator[FakeNetworkPrinter]:
    with FakeNetworkPrinter() as printer:
        yield printer


def test_daemon_prints_a_text_mode_ticket_to_the_network_printer(
    broker, mqtt_settings: MqttSettings, tmp_path: Path, fake: FakeNetworkPrinter
) -> None:
    config = PrinterConfig.model_validate(
        {
            "device_id": DEVICE,
            "site": SITE,
            "role": "printer",
            "mqtt": mqtt_settings.model_dump(),
            "state_dir": str(tmp_path / "state"),
            "printer": {
                "dots": 512,
                "profile": PROFILE,
                "mode": "text",
                "backend": {"type": "network", "host": "127.0.0.1", "port": fake.port, "timeout": 0.5},
            },
            "jobs": {"deadline_s": 30, "status_interval_s": 0.2},
        }
    )
    with Observer(broker.port, RESULTS) as observer:
        daemon = PrinterDaemon(config, wait_poll_s=0.05)
        daemon.start()
        try:
            assert daemon.link.wait_connected(5)
            observer.publish(JOBS, json.dumps(TICKET, ensure_ascii=False))

            def printed(seen: Seen) -> bool:
                return seen.topic == RESULTS and seen.json()["job_id"] == TICKET["job_id"]

            result = observer.wait_for(printed, timeout=10).json()
        finally:
            daemon.stop()
    assert result["status"] == "printed", result
    printout = read_back(bytes(fake.received))
    assert fake.pages == []  # no raster picture reached the printer
    assert printout.cuts == 1 and not printout.raster
    for expected in ("Đất đai", "SỐ THỨ TỰ", "Người cao tuổi", "B017", "Xin giữ Số thứ tự - cảm ơn Ông/Bà"):
        assert expected in printout.texts, expected
    assert printout.qr == [TICKET["ticket_url"]]
