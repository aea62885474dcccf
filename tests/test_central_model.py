"""The central package's pure parts: text folding, masking, statuses, dates, papers, config,
backoff, circuit breaker, rate limit, webhook signatures. No network, no database."""

from __future__ import annotations

import random
import unicodedata
from datetime import datetime, timedelta

import pytest

from appliance.errors import ConfigError
from appliance.timeutil import SITE_TZ
from hub.central.config import load_central_config
from hub.central.model import (
    STATUS_LABELS,
    Dossier,
    fold,
    mask_id_number,
    mask_name,
    parse_central_time,
    same_id_number,
    status_label,
)
from hub.central.opencps import dossier_from_opencps, opencps_selected, parse_papers
from hub.central.resilience import CircuitBreaker, RateLimiter, backoff_delay
from hub.central.webhook import sign, verify


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Đăng ký khai sinh", "dang ky khai sinh"),
        ("ĐĂNG KÝ KẾT HÔN", "dang ky ket hon"),
        ("Cấp Giấy chứng nhận quyền sử dụng đất", "cap giay chung nhan quyen su dung dat"),
        ("Lao động – Thương binh và Xã hội", "lao dong thuong binh va xa hoi"),
        # Decomposed input (as some keyboards send it) folds the same way.
        (unicodedata.normalize("NFD", "Chứng thực bản sao"), "chung thuc ban sao"),
        ("  nhiều   khoảng\ttrắng ", "nhieu khoang trang"),
        ("1.001193", "1 001193"),
    ],
)
def test_fold_removes_every_vietnamese_mark(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("Nguyễn Văn An", "Nguyễn V** A**"),
        ("Trần Thị Thu Hương", "Trần T** T** H**"),
        ("Đặng Ánh", "Đặng Á**"),
        ("Lý", "L**"),
        ("", ""),
    ],
)
def test_names_are_masked_keeping_the_family_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_id_numbers_show_only_their_last_digits_and_compare_loosely() -> None:
    assert mask_id_number("075188799308") == "*********308"
    assert same_id_number("075 188-799308", "075188799308")
    assert not same_id_number("075188799309", "075188799308")
    assert not same_id_number("", "")


def test_every_opencps_status_has_a_plain_vietnamese_label() -> None:
    for status, (vi, en) in STATUS_LABELS.items():
        assert vi == unicodedata.normalize("NFC", vi) and vi[0].isupper(), status
        assert en
    assert status_label("processing") == "Đang xử lý"
    assert status_label("waiting") == "Yêu cầu bổ sung giấy tờ"
    assert status_label("done", "en") == "Result handed over"
    assert status_label("something-new", fallback="Trạng thái lạ") == "Trạng thái lạ"


def test_overdue_only_when_past_due_and_not_finished() -> None:
    now = datetime(2024, 5, 20, 10, 0, tzinfo=SITE_TZ)
    due = now - timedelta(days=3)
    late = Dossier("X", "processing", due_at=due)
    assert late.is_overdue(now)
    view = late.public_view(now=now, possession=False)
    assert view["overdue"] and view["overdue_days"] == 3
    assert not Dossier("X", "done", due_at=due).is_overdue(now)
    assert not Dossier("X", "releasing", due_at=due).is_overdue(now)
    assert not Dossier("X", "processing", due_at=now + timedelta(hours=1)).is_overdue(now)
    assert not Dossier("X", "new").is_overdue(now)


def test_opencps_rows_become_dossiers_with_site_times() -> None:
    dossier = dossier_from_opencps(
        {
            "dossierId": 77,
            "dossierNo": "000.00.06.H56-231027-0361",
            "serviceName": "Đăng ký khai sinh",
            "applicantName": "Nguyễn Văn An",
            "dueDate": "28/11/2018 09:30:00",
            "receiveDate": "20181121083000",
            "dossierStatus": "4",  # a DVCQG-style number
            "online": "true",
        }
    )
    assert dossier.status == "processing"
    assert dossier.due_at == datetime(2018, 11, 28, 9, 30, tzinfo=SITE_TZ)
    assert dossier.received_at == datetime(2018, 11, 21, 8, 30, tzinfo=SITE_TZ)
    assert dossier.online and dossier.central_id == "77"
    assert Dossier.from_dict(dossier.to_dict()) == dossier
    assert parse_central_time("not a date") is None
    assert parse_central_time(1_700_000_000_000) == datetime(2023, 11, 15, 5, 13, 20, tzinfo=SITE_TZ)


def test_papers_are_read_from_dossier_text() -> None:
    papers = parse_papers(
        "<p>1. Tờ khai đăng ký khai sinh (1 bản chính)</p>\n- Giấy chứng sinh (02 bản sao)\n"
        "• Căn cước công dân (1 xuất trình)\nẢnh 4x6\n\n"
    )
    assert [(p.name, p.count, p.note) for p in papers] == [
        ("Tờ khai đăng ký khai sinh", 1, "bản chính"),
        ("Giấy chứng sinh", 2, "bản sao"),
        ("Căn cước công dân", 1, "xuất trình"),
        ("Ảnh 4x6", 1, None),
    ]


def test_ratings_map_onto_opencps_selected() -> None:
    assert [opencps_selected(s, 3) for s in (3, 2, 1)] == [3, 2, 1]
    assert [opencps_selected(s, 5) for s in (5, 4, 3, 2, 1)] == [3, 2, 1, 1, 1]


def test_config_errors_name_the_key() -> None:
    assert load_central_config(None).adapter == "none"
    config = load_central_config({"adapter": "opencps", "base_url": "http://central:8090", "group_id": "1"})
    assert config.timeout == (2.0, 5.0)
    with pytest.raises(ConfigError, match="cache_fresh_s"):
        load_central_config({"adapter": "none", "cache_fresh_s": -1})
    with pytest.raises(ConfigError, match="needs base_url"):
        load_central_config({"adapter": "opencps"})
    with pytest.raises(ConfigError, match="webhook_secret"):
        load_central_config({"adapter": "webhook", "base_url": "http://x/hook"})
    with pytest.raises(ConfigError, match="base_ur"):
        load_central_config({"adapter": "none", "base_ur": "http://x"})  # a typo is an error
    with pytest.raises(ConfigError, match="go together"):
        load_central_config({"adapter": "opencps", "base_url": "http://x", "username": "a"})


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, 0.5, 60, rng) for n in range(1, 12)]
    for attempt, delay in enumerate(delays, start=1):
        ceiling = min(60, 0.5 * 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 6) for d in delays}) == len(delays)  # jittered, not lock-step


def test_breaker_opens_after_failures_probes_once_then_closes() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(3, 10.0, clock=clock)
    for _ in range(3):
        assert breaker.allow()
        breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    clock.t += 10
    assert breaker.state == "half_open"
    assert breaker.allow() and not breaker.allow()  # one probe at a time
    breaker.failure()  # probe failed: open again, for longer
    clock.t += 10
    assert breaker.state == "open"
    clock.t += 10
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow() and breaker.allow()


def test_rate_limiter_allows_a_burst_then_refills() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=6, burst=3, clock=clock)
    assert [limiter.take("kiosk-1") for _ in range(3)] == [0, 0, 0]
    wait = limiter.take("kiosk-1")
    assert wait == pytest.approx(10.0)
    assert limiter.take("kiosk-2") == 0  # per device
    clock.t += 10
    assert limiter.take("kiosk-1") == 0


def test_webhook_signature_covers_timestamp_and_body() -> None:
    secret = "s3cret-s3cret-s3cret"
    body = b'{"id":"demo:event-1"}'
    signature = sign(secret, "1700000000", body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify(secret, "1700000000", body, signature)
    assert not verify(secret, "1700000001", body, signature)
    assert not verify(secret, "1700000000", body + b" ", signature)
    assert not verify("another-secret-value", "1700000000", body, signature)
