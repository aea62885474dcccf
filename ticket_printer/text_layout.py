"""Tickets and receipts in the printer's own fonts (`mode = "text"`): pure layout, no printer.

The same content as the raster layout (layout.py), set as lines of Font A (12 dots a column, so 48
columns on 576 dots, 42 on 512, 32 on 384) with bold, inverse and character magnification (GS !), the
QR code and Code 128 drawn by the printer itself (GS ( k, GS k). Text is brought to what TCVN-3
firmware holds (tcvn3.printable_tcvn3) before it is wrapped, so the widths are those printed.

The result is a `TextDocument`, a list of plain operations that `Printer.print_text` sends with
python-escpos; tests and people can read it as text (`TextDocument.plain()`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict, Unpack

import segno
from barcode.codex import Code128

from appliance.i18n import Language, message

from .documents import format_long_time, format_short_time, priority_label, receipt_papers, ticket_facts
from .errors import LayoutError
from .jobs import IdentifyJob, Job, ReceiptJob, TestPageJob, TicketJob
from .layout import Align
from .tcvn3 import printable_tcvn3

FONT_A_DOTS = 12  # width of a Font A character: columns = dots // 12
FONT_A_HEIGHT = 24
# The queue number is magnified up to this many times (GS !, 1-8): 6 × 24 dots ≈ the raster number.
NUMBER_MAGNIFICATION = 6
# QR module size (GS ( k function 167) is 1-16 dots; Code 128 module width (GS w) is 2-6 dots.
QR_MODULE_RANGE = (1, 16)
CODE128_MODULE_RANGE = (2, 6)
# A label wider than this share of the line is printed above its value rather than before it.
STACK_LABEL = 0.4
MAX_TICKET_LINES = 120
MAX_RECEIPT_LINES = 700


@dataclass(frozen=True)
class Run:
    text: str
    bold: bool = False


@dataclass(frozen=True)
class Line:
    """One printed line (already wrapped to fit): runs of text, magnified `size` times."""

    runs: tuple[Run, ...]
    align: Align = "left"
    size: int = 1
    invert: bool = False

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs)


@dataclass(frozen=True)
class Feed:
    lines: int = 1


@dataclass(frozen=True)
class QrCode:
    """A QR code the printer draws (model 2, error correction M), centred, `module` dots a module."""

    data: str
    module: int


@dataclass(frozen=True)
class Code128Barcode:
    """A Code 128 the printer draws (GS k 73), centred. `data` is in python-escpos's form: code-set
    switches "{B"/"{C" followed by the set's characters; `text` is what it reads as."""

    data: str
    text: str
    module: int
    height: int


Operation = Line | Feed | QrCode | Code128Barcode


@dataclass
class TextDocument:
    """What a text-mode printer prints for one job, `columns` Font A characters wide."""

    columns: int
    operations: list[Operation] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return sum(
            op.size if isinstance(op, Line) else op.lines if isinstance(op, Feed) else 0
            for op in self.operations
        )

    def plain(self) -> str:
        """The document as plain text (codes shown by their content), for logs, files and tests."""
        out: list[str] = []
        for op in self.operations:
            if isinstance(op, Line):
                # A magnified character takes `size` columns: spaced out here to keep the line's width.
                text = op.text if op.size == 1 else (" " * (op.size - 1)).join(op.text)
                width = self.columns
                out.append(
                    {"left": text, "center": text.center(width), "right": text.rjust(width)}[
                        op.align
                    ].rstrip()
                )
            elif isinstance(op, Feed):
                out.extend([""] * op.lines)
            elif isinstance(op, QrCode):
                out.append(f"[QR {op.data}]".center(self.columns).rstrip())
            else:
                out.append(f"[Code 128 {op.text}]".center(self.columns).rstrip())
        return "\n".join(out) + "\n"


def columns_for(dots: int) -> int:
    return dots // FONT_A_DOTS


def wrap_words(words: Sequence[Run], width: int) -> list[list[Run]]:
    """Greedy word wrap of bold/regular words to `width` columns; a word longer than a line is cut."""
    lines: list[list[Run]] = []
    line: list[Run] = []
    used = 0
    for word in words:
        text = word.text
        while len(text) > width:  # a long URL or code: cut at the edge of the paper
            if line:
                lines.append(line)
                line, used = [], 0
            lines.append([Run(text[:width], word.bold)])
            text = text[width:]
        if not text:
            continue
        if line and used + 1 + len(text) > width:
            lines.append(line)
            line, used = [], 0
        prefix = " " if line else ""
        line.append(Run(prefix + text, word.bold))
        used += len(prefix) + len(text)
    if line:
        lines.append(line)
    return [_merge(line) for line in lines]


def _merge(line: list[Run]) -> list[Run]:
    merged: list[Run] = []
    for run in line:
        if merged and merged[-1].bold == run.bold:
            merged[-1] = Run(merged[-1].text + run.text, run.bold)
        else:
            merged.append(run)
    return merged


def _words(text: str, bold: bool = False) -> list[Run]:
    return [Run(word, bold) for word in printable_tcvn3(text).split()]


def code128_data(code: str) -> str:
    """`code` in python-escpos's CODE128 form ("{B…", "{C…"), in the code sets python-barcode finds
    shortest: digit runs as pairs in set C, so a 25-character dossier code fits 58 mm paper."""
    values = Code128(code).encoded  # start code, data and code-set switches (no checksum, no stop)
    start = {103: "A", 104: "B", 105: "C"}
    switch = {
        ("A", 99): "C",
        ("B", 99): "C",
        ("A", 100): "B",
        ("C", 100): "B",
        ("B", 101): "A",
        ("C", 101): "A",
    }
    current = start[values[0]]
    out = ["{" + current]
    for value in values[1:]:
        target = switch.get((current, value))
        if target is not None:
            current = target
            out.append("{" + current)
        elif current == "C":
            out.append(chr(value))
        elif current == "B":
            char = chr(value + 32)
            out.append("{{" if char == "{" else char)
        else:
            out.append(chr(value + 32) if value < 64 else chr(value - 64))
    return "".join(out)


def _code128_modules(data: str) -> int:
    """Modules of the symbol the printer draws for `data`: 11 a symbol character, 13 the stop."""
    symbols = 1  # start
    index = 0
    while index < len(data):
        if data[index] == "{" and index + 1 < len(data):
            if data[index + 1] == "{":  # an escaped "{"
                symbols += 1
            elif index > 0:
                symbols += 1  # a code-set switch mid-way
            index += 2
        else:
            symbols += 1
            index += 1
    return 11 * (symbols + 1) + 13  # + checksum and stop


class LineStyle(TypedDict, total=False):
    """How `TextSheet.text` sets its lines: the options of `TextSheet.runs`, with its defaults."""

    align: Align
    size: int
    invert: bool
    max_lines: int | None
    what: str


class TextSheet:
    """A text-mode document built top to bottom, with the raster layout's limits and errors."""

    def __init__(self, dots: int, *, max_lines: int) -> None:
        self.dots = dots
        self.document = TextDocument(columns_for(dots))
        self.max_lines = max_lines

    @property
    def columns(self) -> int:
        return self.document.columns

    def _add(self, op: Operation, what: str) -> None:
        self.document.operations.append(op)
        if self.document.lines > self.max_lines:
            raise LayoutError(detail=f"{what}: longer than {self.max_lines} lines of paper")

    def feed(self, lines: int = 1) -> None:
        if lines > 0:
            self._add(Feed(lines), "feed")

    def runs(
        self,
        words: Sequence[Run],
        *,
        align: Align = "left",
        size: int = 1,
        invert: bool = False,
        max_lines: int | None = None,
        what: str = "text",
    ) -> None:
        lines = wrap_words(words, self.columns // size)
        if max_lines is not None and len(lines) > max_lines:
            raise LayoutError(detail=f"{what}: needs {len(lines)} lines, at most {max_lines} fit")
        for line in lines:
            self._add(Line(tuple(line), align=align, size=size, invert=invert), what)

    def text(self, text: str, *, bold: bool = False, **style: Unpack[LineStyle]) -> None:
        self.runs(_words(text, bold), **style)

    def field(self, label: str, value: str, *, max_lines: int = 12, what: str = "field") -> None:
        """`Label: value` with a bold label; a long label goes on its own line (as in layout.py)."""
        label_words, value_words = _words(label, True), _words(value)
        label_width = len(" ".join(word.text for word in label_words))
        together = label_width + 1 + len(" ".join(word.text for word in value_words))
        if value_words and together > self.columns and label_width > STACK_LABEL * self.columns:
            self.runs(label_words, max_lines=3, what=what)
            self.runs(value_words, max_lines=max_lines, what=what)
            return
        self.runs(label_words + value_words, max_lines=max_lines, what=what)

    def rule(self, char: str = "-") -> None:
        self._add(Line((Run(char * self.columns),)), "rule")

    def item(self, marker: str, text: str, right: str, *, what: str = "item") -> None:
        """A numbered list entry: marker column, wrapped text, `right` flush right on its first line."""
        marker_width = len("00.") + 1
        right = printable_tcvn3(right)
        text_width = self.columns - marker_width - len(right) - 1
        lines = wrap_words(_words(text), text_width)
        if len(lines) > 12:
            raise LayoutError(detail=f"{what}: needs {len(lines)} lines, at most 12 fit")
        for row, line in enumerate(lines):
            body = "".join(run.text for run in line)
            head = marker.rjust(marker_width - 1) + " " if row == 0 else " " * marker_width
            tail = right.rjust(self.columns - marker_width - len(body)) if row == 0 else ""
            self._add(Line((Run(head + body + tail),)), what)

    def qr(self, data: str, *, target: int, what: str = "QR code") -> None:
        """A QR code about `target` dots wide (module size chosen from the symbol segno would make)."""
        try:
            modules = segno.make(data, error="m", micro=False).symbol_size(scale=1, border=0)[0]
        except segno.DataOverflowError:
            raise LayoutError(detail="QR content is too long") from None
        # Room for a printer that picks one version larger than segno (4 more modules) and quiet zones.
        fits = (self.dots - 2 * FONT_A_DOTS) // (modules + 8)
        low, high = QR_MODULE_RANGE
        module = max(low, min(high, target // modules, fits))
        if module * modules > self.dots:
            raise LayoutError(detail=f"{what}: {modules} modules do not fit {self.dots} dots")
        self._add(QrCode(data, module), what)

    def code128(self, code: str, *, height: int, what: str = "Code 128") -> None:
        data = code128_data(code)
        total = _code128_modules(data)
        low, high = CODE128_MODULE_RANGE
        # The paper's blank margins beside the printable dots are the quiet zones.
        module = min(high, self.dots // total)
        if module < low:
            needed = total * low
            raise LayoutError(detail=f"Code 128 of “{code}” needs {needed} dots, the paper has {self.dots}")
        self._add(Code128Barcode(data, code, module, height), what)


def number_size(number: str, columns: int) -> int:
    """The largest magnification (≤ NUMBER_MAGNIFICATION) at which the number fits one line."""
    return max(1, min(NUMBER_MAGNIFICATION, columns // max(1, len(number))))


def render_ticket_text(
    job: TicketJob, dots: int, *, language: Language = "vi", footer: str | None = None
) -> TextDocument:
    """The queue ticket that documents.py draws for raster printers, in the printer's fonts."""
    ticket = job.ticket
    sheet = TextSheet(dots, max_lines=MAX_TICKET_LINES)
    sheet.text(job.site_name.upper(), bold=True, align="center", max_lines=3, what="site_name")
    sheet.rule("=")
    sheet.text(ticket.service_name, bold=True, align="center", size=2, max_lines=3, what="service_name")
    sheet.text(message("print_ticket_title", language), align="center", what="title")
    sheet.feed()
    number = printable_tcvn3(ticket.number)
    size = number_size(number, sheet.columns)
    if len(number) * size > sheet.columns:
        raise LayoutError(detail=f"number “{number}” is wider than the paper")
    sheet.runs([Run(number, True)], align="center", size=size, max_lines=1, what="number")
    if ticket.priority:
        sheet.feed()
        # Spaces inside the black box, as around the raster badge's letters.
        mark = f" {printable_tcvn3(message('print_priority', language))} "
        sheet.runs([Run(mark, True)], align="center", size=2, invert=True, max_lines=1, what="priority mark")
        group = priority_label(ticket.priority_group, language)
        if group:
            sheet.text(group, bold=True, align="center", max_lines=2, what="priority_group")
    sheet.rule("-")
    for what, line in ticket_facts(ticket, language):
        sheet.text(line, align="center", max_lines=2, what=what)
    if job.ticket_url:
        sheet.feed()
        sheet.qr(job.ticket_url, target=int(dots * 0.42))
        sheet.text(message("print_scan_ticket", language), align="center", max_lines=2, what="qr_caption")
    footer = job.footer or footer
    if footer:
        sheet.rule("-")
        sheet.text(footer, align="center", max_lines=3, what="footer")
    return sheet.document


def render_receipt_text(job: ReceiptJob, dots: int, *, language: Language = "vi") -> TextDocument:
    """Giấy tiếp nhận hồ sơ và hẹn trả kết quả as documents.py draws it, in the printer's fonts."""
    receipt = job.receipt
    sheet = TextSheet(dots, max_lines=MAX_RECEIPT_LINES)
    sheet.text(message("print_motto_nation", language), bold=True, align="center", what="motto")
    motto = printable_tcvn3(message("print_motto_words", language))
    sheet.text(motto, bold=True, align="center", what="motto")
    sheet.runs([Run("-" * min(len(motto), sheet.columns))], align="center", what="motto")
    sheet.text(receipt.agency.upper(), bold=True, align="center", max_lines=3, what="agency")
    if receipt.agency_unit:
        sheet.text(receipt.agency_unit, align="center", max_lines=3, what="agency_unit")
    if receipt.receipt_number:
        sheet.text(
            message("print_receipt_number", language, number=receipt.receipt_number),
            align="center",
            max_lines=2,
            what="receipt_number",
        )
    sheet.rule("=")
    sheet.text(message("print_receipt_title", language), bold=True, align="center", max_lines=4, what="title")
    sheet.feed()
    sheet.text(message("print_dossier_code", language), align="center", what="dossier_code")
    sheet.text(receipt.dossier_code, bold=True, align="center", max_lines=2, what="dossier_code")
    sheet.code128(receipt.dossier_code, height=min(255, dots // 6))
    sheet.feed()
    sheet.field(message("print_received_from", language), "", what="received_from")
    sheet.field(message("print_applicant", language), receipt.applicant.name, what="applicant.name")
    if receipt.applicant.address:
        sheet.field(message("print_address", language), receipt.applicant.address, what="applicant.address")
    if receipt.applicant.phone:
        sheet.field(message("print_phone", language), receipt.applicant.phone, what="applicant.phone")
    if receipt.applicant.id_number:
        sheet.field(
            message("print_id_number", language), receipt.applicant.id_number, what="applicant.id_number"
        )
    sheet.field(message("print_procedure", language), receipt.procedure, max_lines=20, what="procedure")
    sheet.field(message("print_papers", language), "", what="papers")
    if not receipt.papers:
        sheet.text(message("print_papers_none", language), what="papers")
    for number, text, count, what in receipt_papers(receipt, language):
        sheet.item(number, text, count, what=what)
    sheet.field(message("print_processing_time", language), receipt.processing_time, what="processing_time")
    sheet.field(
        message("print_received_at", language),
        format_long_time(receipt.received_at, language),
        what="received_at",
    )
    if receipt.appointment_at:
        appointment = format_long_time(receipt.appointment_at, language)
        sheet.field(message("print_appointment", language), appointment, what="appointment_at")
    if receipt.result_place:
        sheet.field(message("print_result_place", language), receipt.result_place, what="result_place")
    if receipt.lookup_url:
        sheet.field(message("print_lookup", language), receipt.lookup_url, what="lookup_url")
    if receipt.hotline:
        sheet.field(message("print_hotline", language), receipt.hotline, what="hotline")
    sheet.feed()
    sheet.qr(receipt.qr_data or receipt.dossier_code, target=int(dots * 0.4))
    sheet.text(message("print_scan_receipt", language), align="center", max_lines=2, what="qr_caption")
    sheet.rule("-")
    sheet.text(message("print_officer", language), bold=True, align="center", what="officer")
    sheet.feed(3)  # room for a signature
    sheet.text(receipt.officer, bold=True, align="center", max_lines=2, what="officer")
    return sheet.document


def render_test_page_text(
    job: TestPageJob,
    dots: int,
    *,
    language: Language = "vi",
    printer_name: str = "",
    now: datetime | None = None,
) -> TextDocument:
    """The technician's test page: full-width ruler, Vietnamese sample, both printer-drawn codes."""
    sheet = TextSheet(dots, max_lines=MAX_TICKET_LINES)
    ruler = "".join(str(column // 10 % 10) if column % 10 == 0 else "." for column in range(sheet.columns))
    sheet.runs([Run(ruler[:-1] + "|")], what="ruler")
    sheet.text(message("print_test_title", language), bold=True, align="center", size=2, what="title")
    if printer_name:
        sheet.text(message("print_test_printer", language, printer=printer_name), max_lines=3)
    sheet.text(message("print_test_width", language, dots=dots, mm=80 if dots > 384 else 58))
    if now is not None:
        sheet.text(message("print_test_time", language, time=format_short_time(now)))
    sheet.text(message("print_test_sample", language), max_lines=4)
    if job.text:
        sheet.text(job.text, max_lines=20, what="text")
    sheet.code128(job.job_id[:24], height=min(255, dots // 8))
    sheet.feed()
    sheet.qr(job.job_id, target=dots // 3)
    return sheet.document


def render_identify_slip_text(job: IdentifyJob, dots: int, *, language: Language = "vi") -> TextDocument:
    sheet = TextSheet(dots, max_lines=MAX_TICKET_LINES)
    sheet.text(message("device_identify_slip_title", language), bold=True, align="center", size=2)
    sheet.rule("=")
    sheet.text(job.device_id, bold=True, align="center", max_lines=2, what="device id")
    sheet.text(message("device_identify_site", language, site=job.site), max_lines=2)
    sheet.text(message("device_identify_time", language, time=format_short_time(job.requested_at)))
    sheet.feed()
    sheet.qr(job.device_id, target=dots // 4)
    return sheet.document


def render_text_job(
    job: Job,
    dots: int,
    *,
    language: Language = "vi",
    footer: str | None = None,
    printer_name: str = "",
    now: datetime | None = None,
) -> TextDocument:
    """The text-mode document of any job (one copy); LayoutError when something cannot fit."""
    if isinstance(job, TicketJob):
        return render_ticket_text(job, dots, language=language, footer=footer)
    if isinstance(job, ReceiptJob):
        return render_receipt_text(job, dots, language=language)
    if isinstance(job, IdentifyJob):
        return render_identify_slip_text(job, dots, language=language)
    return render_test_page_text(job, dots, language=language, printer_name=printer_name, now=now)
