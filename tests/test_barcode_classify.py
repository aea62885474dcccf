"""Understanding a scan: what gets published, as what, and what is refused."""

from __future__ import annotations

import logging
import unicodedata

import pytest

from barcode_reader.classify import Classified, Deduplicator, Rejected, classify, normalise, split_aim
from barcode_reader.config import ScanSettings
from barcode_reader.service import ScanPipeline
from barcode_reader.source import RawScan

# (as read by the scanner, kind, code consumers act on)
TABLE = [
    ("000.00.06.H56-231027-0361", "dossier_code", "000.00.06.H56-231027-0361"),
    ("000.00.06.h56.231027.0361\r\n", "dossier_code", "000.00.06.H56-231027-0361"),
    ("\x02CNTBD.181121.00336\x03", "dossier_code", "CNTBD.181121.00336"),  # STX/ETX framing
    ("\ufeff000.00.06.G04.190701.0501", "dossier_code", "000.00.06.G04-190701-0501"),  # BOM
    ("https://hub.local/t/Zk3_q-9xYw", "ticket", "Zk3_q-9xYw"),
    ("http://192.0.2.10:8080/t/abcDEF123/", "ticket", "abcDEF123"),
    ("https://dvc.gov.vn/tra-cuu/000.00.06.H56-231027-0361", "dossier_url", "000.00.06.H56-231027-0361"),
    ("https://motcua.example.vn/lookup?code=cntbd.181121.00336", "dossier_url", "CNTBD.181121.00336"),
    ("https://example.vn/t/", "unknown", "https://example.vn/t/"),  # no token
    ("https://example.vn/t/a b", "unknown", "https://example.vn/t/a b"),
    ("https://example.vn/x/t/abcdef", "unknown", "https://example.vn/x/t/abcdef"),  # not /t/{token}
    ("https://example.vn/tin-tuc", "unknown", "https://example.vn/tin-tuc"),
    ("8934563138165", "unknown", "8934563138165"),  # an EAN-13 off a bottle of water
    ("  Nguyễn Văn A\t", "unknown", "Nguyễn Văn A"),
    ("Nguye\u0302\u0303n", "unknown", "Nguyễn"),  # decomposed (NFD) input comes out NFC
    # A booking's QR (`MCBK:` + its code) and the booking page's address: a check-in at the kiosk.
    ("MCBK:ABCD2345", "booking", "ABCD2345"),
    ("mcbk:abcd-2345\r\n", "booking", "ABCD2345"),
    ("https://hub.local/b/QRST6789", "booking", "QRST6789"),
    ("MCBK:ABCD0123", "unknown", "MCBK:ABCD0123"),  # 0 and 1 are never in a booking code
]


@pytest.mark.parametrize(("raw", "kind", "code"), TABLE)
def test_classification_table(raw: str, kind: str, code: str) -> None:
    result = classify(raw)
    assert isinstance(result, Classified), result
    assert (result.kind, result.code) == (kind, code)
    assert unicodedata.is_normalized("NFC", result.text)
    assert (result.dossier is not None) == kind.startswith("dossier")


# (as read, reason)
GARBAGE = [
    ("", "empty"),
    ("\r\n\t  ", "empty"),
    ("\x00\x00\x00", "binary"),
    ("A\x00\x01\x02\x03\x04\x05\x06", "binary"),  # line noise on a serial port
    ("00\ufffd\ufffd0361", "undecodable"),  # bytes that were not UTF-8
    ("\ue000\ue001AB", "binary"),  # private use area
    ("----////....", "no_content"),
    ("?" * 10, "no_content"),
    ("A" * 513, "too_long"),
]


@pytest.mark.parametrize(("raw", "reason"), GARBAGE)
def test_garbage_is_rejected_with_a_reason(raw: str, reason: str) -> None:
    result = classify(raw)
    assert isinstance(result, Rejected)
    assert result.reason == reason
    assert result.detail


def test_length_limit_is_configurable() -> None:
    assert isinstance(classify("A" * 100, max_length=99), Rejected)
    assert isinstance(classify("A" * 99, max_length=99), Classified)


def test_ticket_path_is_configurable() -> None:
    result = classify("https://hub.local/queue/t/abcdef", ticket_path="/queue/t/")
    assert isinstance(result, Classified) and (result.kind, result.code) == ("ticket", "abcdef")


def test_normalise() -> None:
    assert normalise(" \x1d01\u200b2 \r\n") == "012"  # GS of GS1 codes and zero-width space dropped
    assert normalise("Ho\u0302\u0300 so\u031b") == "Hồ sơ"


def test_aim_identifiers() -> None:
    assert split_aim("]C0000.00.06.H56-231027-0361") == ("code128", "000.00.06.H56-231027-0361")
    assert split_aim("]Q1https://hub.local/t/abcd") == ("qr", "https://hub.local/t/abcd")
    assert split_aim("]d2ABC") == ("datamatrix", "ABC")
    assert split_aim("]X9ABC") == ("other", "ABC")
    assert split_aim("CNTBD.181121.00336") == (None, "CNTBD.181121.00336")


def test_deduplicator_suppresses_the_same_code_within_the_window() -> None:
    now = [100.0]
    dedupe = Deduplicator(window=2.0, clock=lambda: now[0])
    assert not dedupe.is_repeat("A")
    now[0] = 101.0
    assert dedupe.is_repeat("A")
    assert not dedupe.is_repeat("B")  # another code passes
    now[0] = 102.5  # 1.5 s after the last sighting of A: the window slid with it
    assert dedupe.is_repeat("A")
    now[0] = 104.6  # 2.1 s of quiet: scanning the same receipt again is a new scan
    assert not dedupe.is_repeat("A")
    assert not dedupe.is_repeat("B")


def test_deduplicator_forgets_old_codes_and_stays_small() -> None:
    now = [0.0]
    dedupe = Deduplicator(window=2.0, clock=lambda: now[0], max_entries=10)
    for i in range(100):
        now[0] += 0.001
        dedupe.is_repeat(f"code-{i}")
    assert len(dedupe._seen) <= 10
    now[0] += 5
    dedupe.is_repeat("new")
    assert len(dedupe._seen) == 1


def test_pipeline_logs_rejections_and_suppresses_repeats(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    pipeline = ScanPipeline(ScanSettings(aim_ids=True), clock=lambda: now[0])
    caplog.set_level(logging.INFO, "barcode_reader")
    first = pipeline.process(RawScan("]C0000.00.06.H56-231027-0361"), "serial")
    assert first is not None
    assert first.code == "000.00.06.H56-231027-0361"
    assert (first.kind, first.symbology) == ("dossier_code", "code128")
    payload = first.payload()
    assert payload["v"] == 1 and set(payload) >= {"code", "kind", "symbology", "ts"}
    assert payload["ts"].endswith("+07:00")
    now[0] = 1.0
    # The same code in its other spelling is the same receipt.
    assert pipeline.process(RawScan("000.00.06.H56.231027.0361"), "serial") is None
    assert pipeline.process(RawScan("\x00\x01\x02\x03"), "serial") is None
    assert (pipeline.accepted, pipeline.repeats, pipeline.rejected) == (1, 1, 1)
    rejected = [r for r in caplog.records if "rejected" in r.getMessage()]
    assert len(rejected) == 1 and "binary" in rejected[0].getMessage()


CCCD = "079092012345|271234567|Nguyễn Văn An|01011992|Nam|12 Lê Lợi, Quận 1, TP Hồ Chí Minh|15082021"


def test_an_id_card_keeps_only_its_masked_number_and_is_never_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    card = classify(CCCD)
    assert isinstance(card, Classified) and card.private
    assert (card.kind, card.code, card.text) == ("id_card", "*********345", "*********345")
    # A part of one (a misread) is refused, and the reason shows none of it.
    partial = classify("079092012345|271234567|Nguyễn")
    assert isinstance(partial, Rejected) and "079092012345" not in partial.detail
    garbled = classify(CCCD + "\ufffd")
    assert isinstance(garbled, Rejected) and "079092012345" not in garbled.detail
    pipeline = ScanPipeline(ScanSettings())
    with caplog.at_level(logging.DEBUG, logger="barcode_reader"):
        for _ in range(2):  # the second one is a repeat
            pipeline.process(RawScan(CCCD), "hid")
        pipeline.process(RawScan(CCCD[:30]), "hid")
    assert "id_card" in caplog.text
    assert [
        word for word in ("079092012345", "271234567", "Nguyễn", "Lê Lợi", "345") if word in caplog.text
    ] == []


def test_a_receipt_qr_carries_its_proof_to_the_kiosk_only() -> None:
    scan = classify("000.00.06.h56.231027.0361/abcdefghijklmnop")
    assert isinstance(scan, Classified) and scan.private
    assert (scan.kind, scan.code, scan.proof) == (
        "dossier_code",
        "000.00.06.H56-231027-0361",
        "ABCDEFGHIJKLMNOP",
    )
    assert scan.text == "000.00.06.H56-231027-0361"  # the proof is not repeated in the text
    bare = classify("000.00.06.H56-231027-0361")
    assert isinstance(bare, Classified) and bare.proof is None and not bare.private


def test_an_id_card_tells_the_kiosk_the_holders_age_and_nothing_else_of_the_card() -> None:
    """Elderly priority needs the age, not the birth date: only the age and the masked number go out."""
    from datetime import date

    from barcode_reader.service import ScanEvent

    card = classify(CCCD, today=date(2026, 12, 7))
    assert isinstance(card, Classified) and card.kind == "id_card"
    born = CCCD.split("|")[3]
    assert born == "01011992" and card.age == 34
    event = ScanEvent(card.code, card.kind, "qr", "", card.text, "hid", private=True, age=card.age)
    payload = repr(event.payload())
    assert [word for word in (CCCD.split("|")[0], born, CCCD.split("|")[2]) if word in payload] == []
    # A card whose dates make no sense is still an ID card, but has no age to give.
    broken = CCCD.replace(born, "31139999")
    other = classify(broken, today=date(2026, 12, 7))
    assert isinstance(other, Classified) and other.kind == "id_card" and other.age is None
