"""Tickets and receipts as pictures: width, 1 bit, readable Vietnamese (OCR), scannable QR and Code 128."""

from __future__ import annotations

import json
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from support.print_jobs import RECEIPT_JOB, receipt_job, ticket_job

from ticket_printer.cli import main
from ticket_printer.documents import render_job
from ticket_printer.errors import JobError, LayoutError
from ticket_printer.jobs import MAX_JOB_BYTES, ReceiptJob, TicketJob, parse_job
from ticket_printer.layout import paper_for

TESSERACT = shutil.which("tesseract")


def ocr(image: Image.Image, tmp_path: Path, name: str) -> str:
    """Text tesseract reads in the picture, NFC, one space between words."""
    if TESSERACT is None:
        pytest.skip("tesseract is not installed")
    path = tmp_path / f"{name}.png"
    image.save(path)
    # --psm 6 (one block of text): the default page analysis skips lines next to the huge number.
    result = subprocess.run(
        [TESSERACT, str(path), "-", "-l", "vie", "--psm", "6"], capture_output=True, check=True, text=True
    )
    return " ".join(unicodedata.normalize("NFC", result.stdout).split())


def codes(image: Image.Image) -> dict[str, str]:
    return {result.format.name: result.text for result in zxingcpp.read_barcodes(image.convert("L"))}


def box_rows(image: Image.Image) -> int:
    """Rows whose longest black run is a quarter to 9/10 of the width: a filled box. Letters and the
    big number make shorter runs, rules longer ones."""
    rows = 0
    pixels = image.convert("L").load()
    for y in range(image.height):
        run = best = 0
        for x in range(image.width):
            run = run + 1 if pixels[x, y] == 0 else 0
            best = max(best, run)
        rows += image.width // 4 <= best < image.width * 9 // 10
    return rows


@pytest.mark.parametrize("dots", [384, 576])
def test_ticket_is_one_bit_exactly_paper_wide_with_a_scannable_qr(dots: int) -> None:
    job = parse_job(ticket_job())
    assert isinstance(job, TicketJob)
    image = render_job(job, paper_for(dots))
    assert image.mode == "1"
    assert image.width == dots
    assert sorted(color for _, color in image.convert("L").getcolors()) == [0, 255]
    assert codes(image) == {"QRCode": "http://hub.local:8080/t/Xk3f9QpL2m"}


def test_ticket_prints_readable_vietnamese(tmp_path: Path) -> None:
    image = render_job(parse_job(ticket_job()), paper_for(384))
    text = ocr(image, tmp_path, "ticket")
    for expected in (
        "TRUNG TÂM PHỤC VỤ",
        "Tư pháp - Hộ tịch",
        "SỐ THỨ TỰ",
        "ƯU TIÊN",
        "Người cao tuổi",
        "Giờ lấy số: 09:32, 27/10/2023",
        "Số người chờ trước bạn: 5",
        "Thời gian chờ dự kiến: khoảng 13 phút",
        "Cảm ơn Ông/Bà đã sử dụng dịch vụ",
    ):
        assert expected in text, f"{expected!r} not read in {text!r}"


@pytest.mark.parametrize("dots", [384, 576])
def test_priority_mark_only_on_priority_tickets(dots: int) -> None:
    paper = paper_for(dots)
    priority = render_job(parse_job(ticket_job(priority=True)), paper)
    ordinary = render_job(parse_job(ticket_job(priority=False, priority_group=None)), paper)
    # The mark is white letters in a filled black box; nothing else on a ticket is a box.
    assert box_rows(priority) >= 20
    assert box_rows(ordinary) == 0
    assert ordinary.height < priority.height


def test_issue_time_is_shown_in_site_time() -> None:
    # 02:32 UTC is 09:32 in Hồ Chí Minh City: the same picture as the +07:00 spelling.
    paper = paper_for(384)
    local = render_job(parse_job(ticket_job(issued_at="2023-10-27T09:32:05+07:00")), paper)
    utc = render_job(parse_job(ticket_job(issued_at="2023-10-27T02:32:05+00:00")), paper)
    assert local.tobytes() == utc.tobytes()


def test_number_too_wide_for_the_paper_is_refused() -> None:
    with pytest.raises(LayoutError) as caught:
        render_job(parse_job(ticket_job(number="W" * 12)), paper_for(384))
    assert caught.value.code == "print_does_not_fit"
    assert "number" in caught.value.message


@pytest.mark.parametrize("dots", [384, 576])
def test_receipt_carries_the_dossier_code_as_code128_and_qr(dots: int) -> None:
    job = parse_job(RECEIPT_JOB)
    assert isinstance(job, ReceiptJob)
    image = render_job(job, paper_for(dots))
    assert image.mode == "1" and image.width == dots
    assert codes(image) == {
        "Code128": "000.00.06.H56-231027-0361",
        "QRCode": "https://dichvucong.dongnai.gov.vn/tra-cuu?code=000.00.06.H56-231027-0361",
    }


def test_receipt_prints_the_form_in_vietnamese(tmp_path: Path) -> None:
    image = render_job(parse_job(RECEIPT_JOB), paper_for(576))
    text = ocr(image, tmp_path, "receipt")
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "UBND HUYỆN LONG THÀNH",
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN",
        "000.00.06.H56-231027-0361",
        "Ông/Bà: Nguyễn Thị Ngọc Ánh",
        "Nội dung yêu cầu giải quyết:",
        "Giấy chứng nhận kết hôn của",
        "5 ngày làm việc",
        "9 giờ 32 phút, ngày 27/10/2023",
        "9 giờ 00 phút, ngày 03/11/2023",
        "NGƯỜI TIẾP NHẬN",
        "Trần Văn Bình",
    ):
        assert expected in text, f"{expected!r} not read in {text!r}"


def test_a_long_list_of_papers_wraps_and_continues(tmp_path: Path) -> None:
    name = "Giấy tờ số {} kèm theo hồ sơ đề nghị cấp phép xây dựng"
    papers = [{"name": name.format(n), "count": n} for n in range(1, 41)]
    short = render_job(parse_job(receipt_job(papers=papers[:2])), paper_for(384))
    long = render_job(parse_job(receipt_job(papers=papers)), paper_for(384))
    assert long.height > short.height + 38 * 2 * 20  # every paper took at least two wrapped lines
    # The end of the list and everything after it are still there.
    bottom = long.crop((0, long.height - 1400, long.width, long.height))
    text = ocr(bottom, tmp_path, "long-bottom")
    assert "Giấy tờ số 40" in text
    assert "40 bản" in text
    assert "Trần Văn Bình" in text
    assert codes(long)["Code128"] == "000.00.06.H56-231027-0361"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"{not json", "bad_json"),
        (b"x" * (MAX_JOB_BYTES + 1), "payload_too_large"),
        (json.dumps({"v": 1, "job_id": "j1", "kind": "fax"}).encode(), "print_unknown_kind"),
        (json.dumps({"v": 1, "job_id": "j1", "kind": "ticket", "site_name": "X"}).encode(), "print_bad_job"),
        (json.dumps({**RECEIPT_JOB, "v": 2}).encode(), "print_bad_job"),
    ],
)
def test_bad_jobs_are_refused_with_a_clear_code(payload: bytes, code: str) -> None:
    with pytest.raises(JobError) as caught:
        parse_job(payload)
    assert caught.value.code == code
    assert caught.value.message and caught.value.message_en


def test_missing_field_is_named_and_job_id_kept() -> None:
    job = receipt_job()
    del job["receipt"]["dossier_code"]
    with pytest.raises(JobError) as caught:
        parse_job(json.dumps(job).encode())
    assert caught.value.job_id == "rc-0001"
    assert "receipt.dossier_code" in caught.value.message


def test_text_is_normalised_to_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Tư pháp - Hộ tịch")
    job = parse_job(ticket_job(service_name=decomposed + "\n\t"))
    assert isinstance(job, TicketJob)
    assert job.ticket.service_name == "Tư pháp - Hộ tịch"


def test_render_command_writes_what_would_be_printed(tmp_path: Path) -> None:
    source = tmp_path / "ticket.json"
    source.write_text(json.dumps(ticket_job(), ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "ticket.png"
    assert main(["render", "ticket", "--json", str(source), "--out", str(out), "--width", "384"]) == 0
    written = Image.open(out)
    assert written.size[0] == 384
    expected = render_job(parse_job(ticket_job()), paper_for(384))
    assert written.convert("1").tobytes() == expected.tobytes()


def test_render_command_accepts_bare_receipt_data_and_reports_bad_input(tmp_path: Path, capsys) -> None:
    source = tmp_path / "receipt.json"
    source.write_text(json.dumps(RECEIPT_JOB["receipt"], ensure_ascii=False), encoding="utf-8")
    assert main(["render", "receipt", "--json", str(source), "-o", str(tmp_path / "r.png")]) == 0
    assert Image.open(tmp_path / "r.png").size[0] == 576
    source.write_text("[]", encoding="utf-8")
    assert main(["render", "receipt", "--json", str(source), "-o", str(tmp_path / "bad.png")]) == 1
    assert "Invalid print job" in capsys.readouterr().err
    assert not (tmp_path / "bad.png").exists()
