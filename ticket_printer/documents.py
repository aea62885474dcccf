"""The documents a motcua printer draws (ticket, dossier receipt, test page, identify slip), set on a
`layout.Sheet` in the site's language: pure Pillow rendering, no I/O."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import Image, ImageDraw

from appliance.i18n import PRIORITY_GROUPS, Language, label, message
from appliance.timeutil import SITE_TZ

from .jobs import IdentifyJob, Job, ReceiptData, ReceiptJob, TestPageJob, TicketData, TicketJob
from .layout import BLACK, WHITE, Fonts, PaperSpec, Sheet, code128_image, default_fonts, qr_image


def _local(moment: datetime) -> datetime:
    return moment.astimezone(SITE_TZ)


def format_short_time(moment: datetime) -> str:
    local = _local(moment)
    return f"{local:%H:%M}, {local:%d/%m/%Y}"


def format_long_time(moment: datetime, language: Language) -> str:
    """“9 giờ 32 phút, ngày 27/10/2023” as on the paper forms."""
    local = _local(moment)
    return message(
        "print_datetime_long", language, hour=local.hour, minute=local.minute, date=f"{local:%d/%m/%Y}"
    )


def format_wait(seconds: float, language: Language) -> str:
    minutes = math.ceil(seconds / 60)
    if seconds < 60:
        return message("print_wait_soon", language)
    if minutes < 60:
        return message("print_wait_minutes", language, minutes=minutes)
    return message("print_wait_hours", language, hours=minutes // 60, minutes=minutes % 60)


def ticket_facts(ticket: TicketData, language: Language) -> list[tuple[str, str]]:
    """The lines under a ticket's number, each with what it is (for a layout error): when it was
    issued, how many are ahead and the estimated wait; the same on raster and text printers."""
    lines = [("issued_at", message("print_issued_at", language, time=format_short_time(ticket.issued_at)))]
    if ticket.ahead is not None:
        ahead = (
            message("print_ahead", language, count=ticket.ahead)
            if ticket.ahead
            else message("print_ahead_none", language)
        )
        lines.append(("ahead", ahead))
    if ticket.estimated_wait_s is not None and ticket.ahead != 0:
        wait = format_wait(ticket.estimated_wait_s, language)
        lines.append(("estimated_wait", message("print_wait", language, wait=wait)))
    return lines


def receipt_papers(receipt: ReceiptData, language: Language) -> list[tuple[str, str, str, str]]:
    """The receipt's list of papers handed in, a row each: (its number, the paper and its note,
    how many copies, what it is for a layout error); the same on raster and text printers."""
    return [
        (
            f"{number}.",
            f"{item.name} ({item.note})" if item.note else item.name,
            message("print_paper_count", language, count=item.count),
            f"papers.{number - 1}",
        )
        for number, item in enumerate(receipt.papers, start=1)
    ]


def priority_label(group: str | None, language: Language) -> str | None:
    """Known group codes in words; anything else is taken to be a label already."""
    if not group:
        return None
    if group in PRIORITY_GROUPS:
        return label(PRIORITY_GROUPS, group, language)
    return group


@dataclass(frozen=True)
class Extras:
    """What a document may need besides its job and language: the printer's own settings."""

    footer: str | None = None
    printer_name: str = ""
    now: datetime | None = None


def _ticket(sheet: Sheet, job: TicketJob, language: Language, extras: Extras) -> None:
    """The queue ticket: site, service, big number, priority, time, people ahead, wait, QR, footer."""
    paper, ticket = sheet.paper, job.ticket
    sheet.gap(paper.margin)
    sheet.text(job.site_name.upper(), paper.heading, bold=True, align="center", max_lines=3, what="site_name")
    sheet.rule()
    sheet.text(
        ticket.service_name, paper.heading, bold=True, align="center", max_lines=3, what="service_name"
    )
    sheet.gap(paper.line_gap)
    sheet.text(message("print_ticket_title", language), paper.body, align="center", what="title")
    sheet.gap(paper.line_gap * 2)
    sheet.text(
        ticket.number,
        paper.number,
        bold=True,
        align="center",
        max_lines=1,
        what="number",
        shrink_to=paper.number // 3,
        tight=True,
    )
    if ticket.priority:
        sheet.gap(paper.line_gap)
        sheet.badge(message("print_priority", language), paper.title)
        group = priority_label(ticket.priority_group, language)
        if group:
            sheet.text(group, paper.body, bold=True, align="center", max_lines=2, what="priority_group")
    sheet.gap(paper.line_gap)
    sheet.rule(dashed=True)
    sheet.gap(paper.line_gap)
    for what, line in ticket_facts(ticket, language):
        sheet.text(line, paper.body, align="center", max_lines=2, what=what, shrink_to=paper.small)
    if job.ticket_url:
        sheet.gap(paper.line_gap)
        sheet.picture(qr_image(job.ticket_url, target=int(paper.dots * 0.42)), what="QR code")
        sheet.text(
            message("print_scan_ticket", language),
            paper.small,
            align="center",
            max_lines=2,
            what="qr_caption",
        )
    footer = job.footer or extras.footer
    if footer:
        sheet.rule()
        sheet.text(footer, paper.small, align="center", max_lines=3, what="footer")


def _receipt(sheet: Sheet, job: ReceiptJob, language: Language, extras: Extras) -> None:
    """Giấy tiếp nhận hồ sơ và hẹn trả kết quả, with the dossier code as Code 128 and QR."""
    paper, receipt = sheet.paper, job.receipt
    size = paper.body
    sheet.gap(paper.margin)
    # National motto, then the agency: the left/right columns of the A4 form, stacked for a roll.
    sheet.text(
        message("print_motto_nation", language),
        paper.body,
        bold=True,
        align="center",
        shrink_to=paper.small - 4,
        what="motto",
    )
    motto = message("print_motto_words", language)
    sheet.text(motto, paper.body, bold=True, align="center", shrink_to=paper.small - 4, what="motto")
    sheet.underline(math.ceil(sheet.fonts.get(paper.body, True).getlength(motto)))
    sheet.gap(paper.line_gap)
    sheet.text(receipt.agency.upper(), paper.body, bold=True, align="center", max_lines=3, what="agency")
    if receipt.agency_unit:
        sheet.text(receipt.agency_unit, size, align="center", max_lines=3, what="agency_unit")
    if receipt.receipt_number:
        sheet.text(
            message("print_receipt_number", language, number=receipt.receipt_number),
            size,
            align="center",
            max_lines=2,
            what="receipt_number",
        )
    sheet.rule()
    sheet.text(
        message("print_receipt_title", language),
        paper.heading,
        bold=True,
        align="center",
        max_lines=4,
        what="title",
    )
    sheet.gap(paper.line_gap * 2)
    # Dossier code: human-readable, Code 128 for counter scanners, QR for phones and kiosks.
    sheet.text(message("print_dossier_code", language), size, align="center", what="dossier_code")
    sheet.text(
        receipt.dossier_code,
        paper.heading,
        bold=True,
        align="center",
        max_lines=2,
        what="dossier_code",
        shrink_to=paper.small,
    )
    sheet.gap(paper.line_gap)
    sheet.picture(
        code128_image(receipt.dossier_code, max_width=paper.inner, height=paper.dots // 6), what="Code 128"
    )
    sheet.gap(paper.line_gap * 2)
    sheet.field(message("print_received_from", language), "", size, what="received_from")
    sheet.field(message("print_applicant", language), receipt.applicant.name, size, what="applicant.name")
    if receipt.applicant.address:
        sheet.field(
            message("print_address", language), receipt.applicant.address, size, what="applicant.address"
        )
    if receipt.applicant.phone:
        sheet.field(message("print_phone", language), receipt.applicant.phone, size, what="applicant.phone")
    if receipt.applicant.id_number:
        sheet.field(
            message("print_id_number", language),
            receipt.applicant.id_number,
            size,
            what="applicant.id_number",
        )
    sheet.field(message("print_procedure", language), receipt.procedure, size, max_lines=20, what="procedure")
    sheet.gap(paper.line_gap)
    sheet.field(message("print_papers", language), "", size, what="papers")
    if not receipt.papers:
        sheet.text(message("print_papers_none", language), size, what="papers")
    for number, text, count, what in receipt_papers(receipt, language):
        sheet.item(number, text, count, size, what=what)
    sheet.gap(paper.line_gap)
    sheet.field(
        message("print_processing_time", language), receipt.processing_time, size, what="processing_time"
    )
    sheet.field(
        message("print_received_at", language),
        format_long_time(receipt.received_at, language),
        size,
        what="received_at",
    )
    if receipt.appointment_at:
        sheet.field(
            message("print_appointment", language),
            format_long_time(receipt.appointment_at, language),
            size,
            what="appointment_at",
        )
    if receipt.result_place:
        sheet.field(message("print_result_place", language), receipt.result_place, size, what="result_place")
    if receipt.lookup_url:
        sheet.field(message("print_lookup", language), receipt.lookup_url, size, what="lookup_url")
    if receipt.hotline:
        sheet.field(message("print_hotline", language), receipt.hotline, size, what="hotline")
    sheet.gap(paper.line_gap * 2)
    sheet.picture(
        qr_image(receipt.qr_data or receipt.dossier_code, target=int(paper.dots * 0.4)), what="QR code"
    )
    sheet.text(
        message("print_scan_receipt", language), paper.small, align="center", max_lines=2, what="qr_caption"
    )
    if receipt.rating_url:
        _rating_section(sheet, receipt.rating_url, receipt.rating_short_url, paper, language)
    sheet.rule(dashed=True)
    sheet.text(message("print_officer", language), size, bold=True, align="center", what="officer")
    sheet.gap(paper.body * 3)  # room for a signature
    sheet.text(receipt.officer, size, bold=True, align="center", max_lines=2, what="officer")


def _rating_section(
    sheet: Sheet, url: str, short_url: str | None, paper: PaperSpec, language: Language
) -> None:
    """“Đánh giá sự hài lòng”: a second QR code, smaller than the dossier's and set apart by a rule so
    a kiosk scanner is not offered it first, and the short address in words for typing it in."""
    sheet.rule(dashed=True)
    sheet.text(
        message("print_rate_title", language), paper.body, bold=True, align="center", what="rate_title"
    )
    sheet.gap(paper.line_gap)
    sheet.picture(qr_image(url, target=int(paper.dots * 0.36)), what="rating QR code")
    sheet.text(
        message("print_rate_scan", language), paper.small, align="center", max_lines=3, what="rate_caption"
    )
    if short_url:
        sheet.text(
            short_url,
            paper.small,
            bold=True,
            align="center",
            max_lines=2,
            what="rate_short_url",
            shrink_to=12,
        )
    sheet.gap(paper.line_gap)


def _test_page(sheet: Sheet, job: TestPageJob, language: Language, extras: Extras) -> None:
    """A page a technician prints to check alignment, width, Vietnamese text and both barcodes."""
    paper = sheet.paper
    # Edge ticks: the outermost dots must print, or the configured width is wrong.
    ruler = Image.new("L", (paper.dots, 12), WHITE)
    draw = ImageDraw.Draw(ruler)
    for x in range(0, paper.dots, 16):
        draw.rectangle((x, 0, x + 1, 11 if x % 64 == 0 else 5), fill=BLACK)
    draw.rectangle((paper.dots - 2, 0, paper.dots - 1, 11), fill=BLACK)
    sheet.strip(ruler, what="ruler")
    sheet.gap(paper.line_gap)
    sheet.text(message("print_test_title", language), paper.title, bold=True, align="center")
    if extras.printer_name:
        printer = extras.printer_name
        sheet.text(message("print_test_printer", language, printer=printer), paper.body, max_lines=3)
    sheet.text(message("print_test_width", language, dots=paper.dots, mm=paper.mm), paper.body)
    if extras.now is not None:
        sheet.text(message("print_test_time", language, time=format_short_time(extras.now)), paper.body)
    sheet.text(message("print_test_sample", language), paper.body, max_lines=4)
    if job.text:
        sheet.text(job.text, paper.body, max_lines=20, what="text")
    sheet.gap(paper.line_gap)
    sheet.picture(
        code128_image(job.job_id[:24], max_width=paper.inner, height=paper.dots // 8), what="Code 128"
    )
    sheet.gap(paper.line_gap)
    sheet.picture(qr_image(job.job_id, target=paper.dots // 3), what="QR code")


def _identify_slip(sheet: Sheet, job: IdentifyJob, language: Language, extras: Extras) -> None:
    """A short slip that tells a technician which printer this is (device id also as a QR code)."""
    paper = sheet.paper
    sheet.text(message("device_identify_slip_title", language), paper.title, bold=True, align="center")
    sheet.rule()
    sheet.text(job.device_id, paper.title, bold=True, align="center", max_lines=2, what="device id")
    sheet.text(message("device_identify_site", language, site=job.site), paper.body, max_lines=2)
    sheet.text(
        message("device_identify_time", language, time=format_short_time(job.requested_at)), paper.body
    )
    sheet.gap(paper.line_gap)
    sheet.picture(qr_image(job.device_id, target=paper.dots // 4), what="QR code")


# Each kind of job: the longest paper it may take (dots) and what draws it.
DOCUMENTS: dict[type[Job], tuple[int, Callable[[Sheet, Any, Language, Extras], None]]] = {
    TicketJob: (2400, _ticket),
    ReceiptJob: (16000, _receipt),
    TestPageJob: (4000, _test_page),
    IdentifyJob: (2000, _identify_slip),
}


def render_job(
    job: Job,
    paper: PaperSpec,
    *,
    fonts: Fonts | None = None,
    language: Language = "vi",
    footer: str | None = None,
    printer_name: str = "",
    now: datetime | None = None,
) -> Image.Image:
    """The picture of any job (one copy), ending in the bottom margin."""
    max_height, draw = DOCUMENTS[type(job)]
    sheet = Sheet(paper, fonts or default_fonts(), max_height=max_height)
    draw(sheet, job, language, Extras(footer, printer_name, now))
    sheet.gap(paper.margin)
    return sheet.finish()
