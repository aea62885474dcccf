"""Dossier codes as officers type them and scanners read them: a classification table."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from appliance.dossier_code import (
    DossierCode,
    DossierCodeError,
    code_text_in_url,
    is_dossier_code,
    parse,
    parse_any,
    parse_url,
)

# (as written, scheme, canonical form)
VALID = [
    ("000.00.06.H56-231027-0361", "tt01", "000.00.06.H56-231027-0361"),
    ("000.00.06.h56-231027-0361", "tt01", "000.00.06.H56-231027-0361"),
    ("  000.00.06.H56-231027-0361\r\n", "tt01", "000.00.06.H56-231027-0361"),
    ("000.00.06.H56.231027.0361", "tt01", "000.00.06.H56-231027-0361"),
    ("000-00-06-H56-231027-0361", "tt01", "000.00.06.H56-231027-0361"),
    ("000.00.06.G04.190701.0501", "tt01", "000.00.06.G04-190701-0501"),
    ("CNTBD.181121.00336", "opencps", "CNTBD.181121.00336"),
    ("cntbd-181121-00336", "opencps", "CNTBD.181121.00336"),
    ("\tCnTbD.181121.00336 ", "opencps", "CNTBD.181121.00336"),
    ("SXD.HCM.200229.123456", "opencps", "SXD.HCM.200229.123456"),  # leap day, 6-digit sequence
    # A TT 01/2018 agency with a 5-digit sequence is not TT 01/2018: read as an OpenCPS pattern.
    ("000.00.06.H56.231027.03610", "opencps", "000.00.06.H56.231027.03610"),
    # Full-width characters typed from a Vietnamese IME fold to ASCII.
    ("ＣＮＴＢＤ.181121.00336", "opencps", "CNTBD.181121.00336"),
]

# (as written, error code)
INVALID = [
    ("", "dossier_code_empty"),
    ("   \n", "dossier_code_empty"),
    ("x" * 65, "dossier_code_too_long"),
    ("000.00.06.H56_231027_0361", "dossier_code_bad_char"),
    ("000.00.06.H56 231027 0361", "dossier_code_bad_char"),
    ("000.00.06.H56/231027/0361", "dossier_code_bad_char"),
    ("Mã hồ sơ", "dossier_code_bad_char"),
    ("abc", "dossier_code_format"),
    ("0912.345.678", "dossier_code_format"),  # a phone number
    ("0123456789", "dossier_code_format"),
    ("000.00.06.H56--231027-0361", "dossier_code_format"),  # empty part
    (".000.00.06.H56-231027-0361", "dossier_code_format"),
    ("000.00.06.H56-231027-0361-", "dossier_code_format"),
    ("000.00.06.H56-2310270-0361", "dossier_code_format"),  # 7-digit date
    ("000.00.06.H56-231027-03", "dossier_code_format"),  # 2-digit sequence
    ("000.00.06.H56-231027-03A1", "dossier_code_format"),
    ("000.00.06.H56-231027", "dossier_code_format"),  # no sequence
    ("123.181121.00336", "dossier_code_format"),  # all-digit prefix
    ("A.B.C.D.E.F.G.181121.00336", "dossier_code_format"),  # too many prefix parts
    ("000.00.06.H56-231327-0361", "dossier_code_date"),  # month 13
    ("000.00.06.H56-230230-0361", "dossier_code_date"),  # 30 February
    ("CNTBD.190229.00336", "dossier_code_date"),  # 2019 is not a leap year
    ("CNTBD.181100.00336", "dossier_code_date"),  # day 0
]


@pytest.mark.parametrize(("written", "scheme", "canonical"), VALID)
def test_valid_codes_are_normalised(written: str, scheme: str, canonical: str) -> None:
    code = parse(written)
    assert (code.scheme, code.canonical, str(code)) == (scheme, canonical, canonical)
    assert is_dossier_code(written)
    # The canonical form parses to itself: one code, one spelling.
    assert parse(canonical) == code


@pytest.mark.parametrize(("written", "error_code"), INVALID)
def test_invalid_codes_are_refused_with_a_vietnamese_reason(written: str, error_code: str) -> None:
    with pytest.raises(DossierCodeError) as caught:
        parse(written)
    error = caught.value
    assert error.code == error_code
    assert isinstance(error, ValueError)
    assert str(error) == error.message
    assert unicodedata.is_normalized("NFC", error.message)
    assert "mã hồ sơ" in error.message.lower() or "Chưa nhập" in error.message
    assert error.message_en and error.message_en != error.message
    assert not is_dossier_code(written)


def test_parts_of_a_tt01_code() -> None:
    code = parse("000.00.06.h56-231027-0361")
    assert code == DossierCode(
        scheme="tt01", agency="000.00.06.H56", received=date(2023, 10, 27), sequence="0361"
    )
    # OpenCPS receipts print the same code with dots: lookups try both spellings, canonical first.
    assert code.spellings == ("000.00.06.H56-231027-0361", "000.00.06.H56.231027.0361")
    assert parse("CNTBD.181121.00336").spellings == ("CNTBD.181121.00336",)


def test_error_messages_name_the_culprit() -> None:
    with pytest.raises(DossierCodeError) as caught:
        parse("000.00.06.H56-231327-0361")
    assert "231327" in caught.value.message
    assert "000.00.06.H56-231327-0361" in caught.value.message
    with pytest.raises(DossierCodeError) as caught:
        parse("000.00.06.H56_231027_0361", language="en")
    assert str(caught.value) == caught.value.message_en
    assert "“_”" in str(caught.value)


# (URL on a receipt QR, canonical code or None when it carries none)
URLS = [
    ("https://dichvucong.gov.vn/tra-cuu/000.00.06.H56-231027-0361", "000.00.06.H56-231027-0361"),
    ("https://motcua.example.vn/ho-so/000.00.06.h56-231027-0361/", "000.00.06.H56-231027-0361"),
    ("http://tracuu.example.vn/lookup?code=CNTBD.181121.00336&lang=vi", "CNTBD.181121.00336"),
    ("https://example.vn/x?dossierNo=000.00.06.G04.190701.0501", "000.00.06.G04-190701-0501"),
    ("HTTPS://EXAMPLE.VN/A/B/000%2E00%2E06%2EH56-231027-0361", "000.00.06.H56-231027-0361"),
    ("https://example.vn/tra-cuu?code=%20CNTBD.181121.00336%20", "CNTBD.181121.00336"),
]


@pytest.mark.parametrize(("url", "canonical"), URLS)
def test_codes_inside_receipt_urls(url: str, canonical: str) -> None:
    assert parse_url(url).canonical == canonical
    assert parse_any(f"  {url}\n").canonical == canonical


@pytest.mark.parametrize(
    ("url", "error_code"),
    [
        ("https://example.vn/", "dossier_code_no_code_in_url"),
        ("ftp://example.vn/000.00.06.H56-231027-0361", "dossier_code_no_code_in_url"),
        ("mailto:000.00.06.H56-231027-0361", "dossier_code_no_code_in_url"),
        ("https://example.vn/tra-cuu/khong-phai-ma", "dossier_code_format"),
        ("https://example.vn/t/abcDEF123", "dossier_code_format"),
        ("https://example.vn/?code=ma%20h%E1%BB%93%20s%C6%A1", "dossier_code_bad_char"),
    ],
)
def test_urls_without_a_code_are_refused(url: str, error_code: str) -> None:
    with pytest.raises(DossierCodeError) as caught:
        parse_url(url)
    assert caught.value.code == error_code


def test_candidate_text_in_url() -> None:
    assert code_text_in_url("https://example.vn/a/b?x=1") == "b"
    assert code_text_in_url("https://example.vn") is None
    assert code_text_in_url("not a url") is None
    assert code_text_in_url("https://example.vn/" + "a" * 3000) is None


def test_non_string_input_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        parse(None)  # type: ignore[arg-type]
