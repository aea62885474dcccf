"""Reports as files: CSV (one grouping), xlsx (a sheet per grouping, Vietnamese headers, totals),
and a printable PDF of a period (fpdf2 with the DejaVu fonts, which carry Vietnamese)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.timeutil import SITE_TZ

from .report import DIMENSION_NAMES, Report

# (field, Vietnamese header, English header, kind): kind says how a value is written.
COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("issued", "Số phiếu đã cấp", "Issued", "int"),
    ("served", "Đã phục vụ", "Served", "int"),
    ("no_show", "Vắng mặt", "No-show", "int"),
    ("cancelled", "Đã hủy", "Cancelled", "int"),
    ("transferred", "Chuyển lĩnh vực", "Transferred", "int"),
    ("priority", "Ưu tiên", "Priority", "int"),
    ("wait_p50_s", "Chờ trung vị (phút)", "Wait median (min)", "min"),
    ("wait_p90_s", "Chờ P90 (phút)", "Wait p90 (min)", "min"),
    ("wait_max_s", "Chờ lâu nhất (phút)", "Wait max (min)", "min"),
    ("service_p50_s", "Phục vụ trung vị (phút)", "Service median (min)", "min"),
    ("service_p90_s", "Phục vụ P90 (phút)", "Service p90 (min)", "min"),
    ("within_target_share", "Đạt thời gian chờ mục tiêu", "Within target wait", "share"),
    ("ratings", "Lượt đánh giá", "Ratings", "int"),
    ("rating_avg", "Điểm đánh giá TB", "Average rating", "float"),
    ("satisfied_share", "Tỷ lệ hài lòng", "Satisfied", "share"),
)
# Counter grouping only: hours of the opening hours a counter was open, paused (closed), idle.
COUNTER_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("open_s", "Giờ mở quầy", "Hours open", "hours"),
    ("paused_s", "Giờ tạm dừng", "Hours paused", "hours"),
    ("idle_s", "Giờ mở không có khách", "Hours open, idle", "hours"),
)


def columns_for(by: str) -> tuple[tuple[str, str, str, str], ...]:
    return COLUMNS + COUNTER_COLUMNS if by == "counter" else COLUMNS


FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def _minutes(seconds: Any) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _value(row: Mapping[str, Any], name: str, kind: str) -> Any:
    value = row.get(name)
    if kind == "hours":
        return None if value is None else round(value / 3600, 1)
    return _minutes(value) if kind == "min" else value


def to_csv(report: Report, language: str = "vi") -> bytes:
    """One grouping as CSV (UTF-8 with BOM so Excel opens Vietnamese right); raw seconds and
    shares, the machine-readable JSON field names as the header."""
    out = io.StringIO()
    writer = csv.writer(out)
    fields = [name for name, *_ in columns_for(report.by)]
    writer.writerow([report.by, "name", *fields])
    for row in [*report.rows, report.total]:
        writer.writerow([row["key"] if row["key"] is not None else "total", row["name"],
                         *("" if row.get(f) is None else row[f] for f in fields)])  # fmt: skip
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(reports: Mapping[str, Report], language: str = "vi") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    en = language == "en"
    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDE7F3")
    for by, report in reports.items():
        columns = columns_for(by)
        sheet = book.create_sheet(DIMENSION_NAMES[by][en][:31])
        sheet.append([report.site_name])
        sheet.append([("Báo cáo " if not en else "Report ") + DIMENSION_NAMES[by][en].lower()
                      + (" · kỳ " if not en else " · period ") + report.period.label()])  # fmt: skip
        sheet["A1"].font = Font(bold=True, size=13)
        sheet.append([])
        header = [DIMENSION_NAMES[by][en], *(col[2] if en else col[1] for col in columns)]
        sheet.append(header)
        header_row = sheet.max_row
        for cell in sheet[header_row]:
            cell.font = bold
            cell.fill = head_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        first = header_row + 1
        for row in report.rows:
            sheet.append([row["name"], *(_value(row, name, kind) for name, _, _, kind in columns)])
        last = sheet.max_row
        # Totals: count columns as SUM formulas over the rows (a head can check them in Excel);
        # percentiles and shares cannot be summed, so they are the period's own figures.
        total = [report.total["name"]]
        for index, (name, _, _, kind) in enumerate(columns, start=2):
            if kind == "int" and last >= first:
                letter = get_column_letter(index)
                total.append(f"=SUM({letter}{first}:{letter}{last})")
            else:
                total.append(_value(report.total, name, kind))
        sheet.append(total)
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for index, (_, _, _, kind) in enumerate(columns, start=2):
            fmt = {"share": "0.0%", "min": "0.0", "hours": "0.0", "float": "0.00"}.get(kind)
            if fmt:
                for (cell,) in sheet.iter_rows(
                    min_row=first, max_row=sheet.max_row, min_col=index, max_col=index
                ):
                    cell.number_format = fmt
        sheet.column_dimensions["A"].width = 34
        for index in range(2, len(columns) + 2):
            sheet.column_dimensions[get_column_letter(index)].width = 13
        sheet.row_dimensions[header_row].height = 45
        sheet.freeze_panes = sheet.cell(row=first, column=2)
    first = next(iter(reports.values()), None)
    rated = first.dossier_ratings if first is not None else None
    if rated and rated["count"]:
        sheet = book.create_sheet("Đánh giá hồ sơ" if not en else "Dossier ratings")
        sheet.append([first.site_name])
        sheet.append([("Đánh giá theo hồ sơ · kỳ " if not en else "Ratings per dossier · period ")
                      + first.period.label()])  # fmt: skip
        sheet.append([])
        heads = ("Tiêu chí", "Lượt", "Điểm TB (1–3)", "Hài lòng")
        sheet.append(list(("Criterion", "Count", "Average (1–3)", "Satisfied") if en else heads))
        for cell in sheet[4]:
            cell.font = bold
        sheet.append(["Đánh giá chung" if not en else "Overall", rated["count"], rated["overall_avg"],
                      rated["satisfied_share"]])  # fmt: skip
        for row in rated["criteria"]:
            sheet.append([row["name"], row["count"], row["avg"], row["satisfied_share"]])
        for (cell,) in sheet.iter_rows(min_row=5, min_col=4, max_col=4):
            cell.number_format = "0.0%"
        sheet.column_dimensions["A"].width = 30
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "share":
        return f"{value * 100:.1f}%".replace(".", ",")
    if kind == "min":
        return f"{value / 60:.1f}".replace(".", ",")
    if kind == "hours":
        return f"{value / 3600:.1f}".replace(".", ",")
    if kind == "float":
        return f"{value:.2f}".replace(".", ",")
    return f"{value:,}".replace(",", ".")


PDF_COLUMNS = (
    "issued", "served", "no_show", "cancelled", "transferred", "wait_p50_s", "wait_p90_s",
    "service_p50_s", "within_target_share", "ratings", "rating_avg", "satisfied_share",
)  # fmt: skip


def to_pdf(reports: Mapping[str, Report], language: str = "vi") -> bytes:
    """A printable A4 landscape report of the period: one table per grouping."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    en = language == "en"
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.set_title("Báo cáo hoạt động Bộ phận Một cửa")
    first = next(iter(reports.values()))
    printed = datetime.now(SITE_TZ).strftime("%d/%m/%Y %H:%M")
    name_width = 56.0
    for by, report in reports.items():
        columns = [
            (name, head_en if en else head_vi, kind)
            for name, head_vi, head_en, kind in columns_for(by)
            if name in PDF_COLUMNS or kind == "hours"
        ]
        width = (pdf.epw - name_width) / len(columns)
        pdf.add_page()
        pdf.set_font("DejaVu", "B", 14)
        pdf.cell(0, 8, report.site_name, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 11)
        title = ("BÁO CÁO HOẠT ĐỘNG · " if not en else "ACTIVITY REPORT · ") + DIMENSION_NAMES[by][en].upper()
        pdf.cell(0, 7, f"{title} · {first.period.label()}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 8)
        pdf.cell(0, 5, ("In lúc " if not en else "Printed ") + printed
                 + (" · thời gian tính bằng phút" if not en else " · times in minutes"),
                 new_x="LMARGIN", new_y="NEXT")  # fmt: skip
        pdf.ln(2)
        pdf.set_font("DejaVu", "", 7)
        widths = (name_width, *([width] * len(columns)))
        aligns = ("LEFT", *(["RIGHT"] * len(columns)))
        heading = FontFace(emphasis="BOLD", fill_color=(221, 231, 243))
        with pdf.table(col_widths=widths, text_align=aligns, headings_style=heading, line_height=4.5,
                       first_row_as_headings=True, repeat_headings=1) as table:  # fmt: skip
            table.row([DIMENSION_NAMES[by][en], *(head for _, head, _ in columns)])
            for row in report.rows:
                table.row([str(row["name"]), *(_fmt(row.get(name), kind) for name, _, kind in columns)])
            total = table.row(style=FontFace(emphasis="BOLD"))
            for cell in [str(report.total["name"]), *(_fmt(report.total.get(n), k) for n, _, k in columns)]:
                total.cell(cell)
        if report.priority_groups and by == "service":
            pdf.ln(3)
            pdf.set_font("DejaVu", "B", 9)
            pdf.cell(0, 6, "Phiếu ưu tiên theo nhóm" if not en else "Priority tickets by group",
                     new_x="LMARGIN", new_y="NEXT")  # fmt: skip
            pdf.set_font("DejaVu", "", 8)
            for group in report.priority_groups:
                pdf.cell(0, 5, f"{group['name']}: {group['issued']} · "
                         + ("chờ trung vị " if not en else "median wait ") + _fmt(group["wait_p50_s"], "min"),
                         new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    return bytes(pdf.output())
