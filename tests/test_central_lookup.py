"""Dossier lookups against the simulator on a real socket: validation before any call, masking
unless possession is proven, cache, stale answers while central is down or slow (also after a hub
restart), per-device rate limit, the webhook adapter, and the receipt print job."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from appliance.rpc import RpcError, RpcRequest
from appliance.timeutil import SITE_TZ
from hub.central import CentralRuntime, load_central_config
from hub.central.model import mask_name, parse_central_time
from hub.central_sim import SimServer, SimState

SECRET = "a-webhook-secret-of-some-length"
Factory = Callable[..., CentralRuntime]


@pytest.fixture
def sim() -> Iterator[SimServer]:
    server = SimServer(SimState(seed=11, group_id="35417")).start()
    yield server
    server.stop()


@pytest.fixture
def make_runtime(sim: SimServer, tmp_path: Path) -> Iterator[Factory]:
    made: list[CentralRuntime] = []

    def make(**overrides: Any) -> CentralRuntime:
        raw = {
            "adapter": "opencps",
            "base_url": sim.url,
            "group_id": "35417",
            "deliver": False,
            "stale_timeout_s": 0.5,
            **overrides,
        }
        runtime = CentralRuntime(
            load_central_config(raw),
            db_path=tmp_path / "hub.db",
            site="test",
            place_name="Bộ phận Một cửa UBND huyện Long Thành",
            possession_devices=["kiosk-1"],
        )
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.stop()


def pick(sim: SimServer, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    return next(d for d in sim.state.dossiers if predicate(d))


def overdue(row: dict[str, Any]) -> bool:
    due = parse_central_time(row["dueDate"])
    return row["dossierStatus"] == "processing" and due is not None and due < datetime.now(SITE_TZ)


def rpc(runtime: CentralRuntime, caller: str, language: str = "vi", **params: Any) -> dict[str, Any]:
    return runtime.rpc_lookup(RpcRequest(caller, "dossier.lookup", params, language=language))  # type: ignore[arg-type]


def refusal(call: Callable[[], object]) -> RpcError:
    with pytest.raises(RpcError) as refused:
        call()
    return refused.value


def test_simulated_central_has_realistic_dossiers(sim: SimServer) -> None:
    rows = sim.state.dossiers
    assert len(rows) >= 200
    assert {r["dossierStatus"] for r in rows} >= {
        "new", "receiving", "processing", "waiting", "paying", "releasing", "done", "cancelled", "denied",
    }  # fmt: skip
    assert any(overdue(r) for r in rows)
    assert sum("-" in r["dossierNo"] for r in rows) > 150  # mostly TT 01/2018 codes


def test_lookup_answers_in_plain_vietnamese_with_the_name_masked(
    sim: SimServer, make_runtime: Factory
) -> None:
    runtime = make_runtime()
    row = pick(sim, overdue)
    answer = runtime.lookup(row["dossierNo"], caller_id="web:10.0.0.9")
    assert answer["code"] == row["dossierNo"]
    assert answer["status_label"] == "Đang xử lý"
    assert answer["overdue"] is True and answer["overdue_days"] >= 0
    assert answer["procedure"] == row["serviceName"]
    assert answer["applicant_name"] == mask_name(row["applicantName"]) != row["applicantName"]
    assert answer["masked"] is True and answer["possession"] is None
    assert row["applicantIdNo"] not in str(answer)
    assert answer["stale"] is False and answer["fetched_at"]
    english = runtime.lookup(row["dossierNo"], caller_id="web:10.0.0.9", language="en")
    assert english["status_label"] == "Being processed"
    done = pick(sim, lambda d: d["dossierStatus"] == "done")
    finished = runtime.lookup(done["dossierNo"], caller_id="web:10.0.0.9")
    assert finished["status_label"] == "Đã trả kết quả" and finished["overdue"] is False


def test_names_are_shown_only_to_whoever_proves_possession(sim: SimServer, make_runtime: Factory) -> None:
    runtime = make_runtime()
    row = pick(sim, lambda d: d["dossierStatus"] == "releasing")
    code, name, id_no = row["dossierNo"], row["applicantName"], row["applicantIdNo"]
    # The QR code of the receipt the hub printed carries the proof: full name, for whoever holds it.
    qr = runtime.receipt_job(code, officer="canbo1")["receipt"]["qr_data"]
    bare, proof = qr.rsplit("/", 1)
    assert bare == code and len(proof) == 16
    with_proof = rpc(runtime, "kiosk-1", code=code, proof=proof)
    assert with_proof["applicant_name"] == name and with_proof["possession"] == "receipt"
    assert rpc(runtime, "kiosk-1", code=qr)["applicant_name"] == name  # the QR text as it was scanned
    assert rpc(runtime, "kiosk-1", code=code, proof=proof.lower())["masked"] is False  # scanner caps
    # Saying "scanned" proves nothing, from any device: the code is on the public results board.
    assert rpc(runtime, "kiosk-1", code=code, scanned=True)["applicant_name"] == mask_name(name)
    assert rpc(runtime, "phone-7", code=code, scanned=True)["masked"] is True
    # A made-up proof, or another dossier's: masked.
    assert rpc(runtime, "kiosk-1", code=code, proof="A" * 16)["masked"] is True
    other = pick(sim, lambda d: d["dossierNo"] != code)["dossierNo"]
    other_proof = runtime.receipt_job(other, officer="canbo1")["receipt"]["qr_data"].rsplit("/", 1)[1]
    assert rpc(runtime, "kiosk-1", code=code, proof=other_proof)["masked"] is True
    # Typed at the kiosk without the receipt: masked.
    assert rpc(runtime, "kiosk-1", code=code)["applicant_name"] == mask_name(name)
    # The site's secret outlives a hub restart: receipts printed yesterday still prove possession.
    assert make_runtime().lookups.receipt_proof(code) == proof
    # The applicant's ID number, however it is spaced: full name.
    spaced = f"{id_no[:3]} {id_no[3:6]} {id_no[6:]}"
    by_id = rpc(runtime, "phone-7", code=code, applicant_id_no=spaced)
    assert by_id["applicant_name"] == name and by_id["possession"] == "id_no"
    wrong = rpc(runtime, "phone-7", code=code, applicant_id_no="075000000000")
    assert wrong["applicant_name"] == mask_name(name) and wrong["masked"] is True


@pytest.mark.parametrize(
    "code",
    [
        "",
        "   ",
        "abc",
        "0912345678",  # a phone number
        "000.00.16.H19-261399-0001",  # no 99th month
        "000.00.16.H19_261106_0003",
        "Mã hồ sơ",
        "x" * 300,
    ],
)
def test_malformed_codes_never_reach_central(sim: SimServer, make_runtime: Factory, code: str) -> None:
    runtime = make_runtime()
    error = refusal(lambda: runtime.lookup(code, caller_id="kiosk-1"))
    assert error.code == "central_code_invalid"
    assert error.message.startswith("Mã hồ sơ không hợp lệ.")
    assert sim.state.requests["dossiers"] == 0


def test_bad_parameters_are_refused_before_anything_else(make_runtime: Factory) -> None:
    runtime = make_runtime()
    assert refusal(lambda: rpc(runtime, "kiosk-1", code=12345)).code == "bad_request"
    assert refusal(lambda: rpc(runtime, "kiosk-1")).code == "bad_request"
    assert refusal(lambda: rpc(runtime, "kiosk-1", code="X", applicant_id_no=7)).code == "bad_request"


def test_unknown_codes_say_not_found(sim: SimServer, make_runtime: Factory) -> None:
    runtime = make_runtime()
    error = refusal(lambda: runtime.lookup("000.00.16.h19-200101-9999 ", caller_id="kiosk-1"))
    assert error.code == "central_dossier_not_found"
    assert error.message.startswith("Không tìm thấy hồ sơ 000.00.16.H19-200101-9999")
    english = refusal(lambda: runtime.lookup("000.00.16.H19-200101-9999", caller_id="kiosk-1", language="en"))
    assert english.message.startswith("Dossier 000.00.16.H19-200101-9999 was not found")


def test_any_spelling_of_a_code_and_receipt_links_find_the_dossier(
    sim: SimServer, make_runtime: Factory
) -> None:
    runtime = make_runtime()
    # Central stores this TT 01/2018 code with dots only; the citizen types the hyphenated form.
    dotted = pick(sim, lambda d: "-" not in d["dossierNo"] and d["dossierNo"][:3].isdigit())
    agency, stamp, sequence = dotted["dossierNo"].rsplit(".", 2)
    answer = runtime.lookup(f" {agency}-{stamp}-{sequence} ".lower(), caller_id="kiosk-1")
    assert answer["dossier_no"] == dotted["dossierNo"]
    row = pick(sim, lambda d: d["dossierStatus"] == "waiting")
    link = f"https://dichvucong.dongnai.gov.vn/tra-cuu-ho-so?code={row['dossierNo']}"
    assert runtime.lookup(link, caller_id="kiosk-1")["status_label"] == "Yêu cầu bổ sung giấy tờ"


def test_fresh_answers_come_from_the_cache(sim: SimServer, make_runtime: Factory) -> None:
    runtime = make_runtime(cache_fresh_s=60)
    row = sim.state.dossiers[40]
    first = runtime.lookup(row["dossierNo"], caller_id="kiosk-1")
    second = runtime.lookup(row["dossierNo"], caller_id="kiosk-1")
    assert sim.state.requests["dossiers"] == 1
    assert second["fetched_at"] == first["fetched_at"] and second["stale"] is False


def test_central_down_serves_the_last_answer_marked_stale(sim: SimServer, make_runtime: Factory) -> None:
    runtime = make_runtime(cache_fresh_s=0, breaker_failures=2, breaker_open_s=30)
    known, unknown = sim.state.dossiers[50], sim.state.dossiers[51]
    first = runtime.lookup(known["dossierNo"], caller_id="kiosk-1")
    sim.stop()
    for _ in range(4):
        stale = runtime.lookup(known["dossierNo"], caller_id="kiosk-1")
        assert stale["stale"] is True and stale["fetched_at"] == first["fetched_at"]
        assert stale["status"] == first["status"]
    error = refusal(lambda: runtime.lookup(unknown["dossierNo"], caller_id="kiosk-1"))
    assert error.code == "central_unavailable"
    assert error.message == "Chưa kết nối được hệ thống quản lý hồ sơ. Xin thử lại sau ít phút."
    assert runtime.lookups.breaker.state == "open"  # later lookups do not even try
    sim.start()
    runtime.lookups.breaker.success()  # as the next probe would
    again = runtime.lookup(known["dossierNo"], caller_id="kiosk-1")
    assert again["stale"] is False and again["fetched_at"] > first["fetched_at"]


def test_a_slow_central_does_not_hold_up_a_known_answer(sim: SimServer, make_runtime: Factory) -> None:
    runtime = make_runtime(cache_fresh_s=0, stale_timeout_s=0.3)
    row = sim.state.dossiers[60]
    runtime.lookup(row["dossierNo"], caller_id="kiosk-1")
    sim.state.faults.latency_ms = 3000
    started = time.monotonic()
    answer = runtime.lookup(row["dossierNo"], caller_id="kiosk-1")
    assert answer["stale"] is True
    assert time.monotonic() - started < 2.5  # well before central's 3 s answer


def test_stale_answers_survive_a_hub_restart(sim: SimServer, make_runtime: Factory) -> None:
    row = sim.state.dossiers[70]
    before = make_runtime(cache_fresh_s=0)
    fetched = before.lookup(row["dossierNo"], caller_id="kiosk-1")["fetched_at"]
    before.stop()
    sim.state.faults.down = True
    after = make_runtime(cache_fresh_s=0)
    answer = after.lookup(row["dossierNo"], caller_id="kiosk-1")
    assert answer["stale"] is True and answer["fetched_at"] == fetched


def test_each_device_has_its_own_lookup_budget(sim: SimServer, make_runtime: Factory) -> None:
    runtime = make_runtime(lookup_burst=3, lookup_rate_per_minute=1)
    code = sim.state.dossiers[80]["dossierNo"]
    for _ in range(3):
        runtime.lookup(code, caller_id="kiosk-1")
    error = refusal(lambda: runtime.lookup(code, caller_id="kiosk-1"))
    assert error.code == "central_rate_limited"
    assert error.message.startswith("Bạn tra cứu quá nhiều lần. Xin thử lại sau ")
    assert error.details["retry_after"] > 30
    # Malformed codes spend the budget too: guessing is not free.
    assert refusal(lambda: runtime.lookup("guess", caller_id="kiosk-1")).code == "central_rate_limited"
    assert runtime.lookup(code, caller_id="kiosk-2")["code"] == code


def test_a_site_without_central_says_so(tmp_path: Path) -> None:
    runtime = CentralRuntime(load_central_config({"adapter": "none"}), db_path=tmp_path / "hub.db", site="t")
    runtime.start()
    try:
        error = refusal(lambda: runtime.lookup("000.00.16.H19-261106-0003", caller_id="kiosk-1"))
        assert error.code == "central_not_configured"
        assert runtime.relay is None
    finally:
        runtime.stop()


def test_wrong_credentials_are_an_operator_problem_not_a_crash(sim: SimServer, make_runtime: Factory) -> None:
    runtime = make_runtime(group_id="99999")
    error = refusal(lambda: runtime.lookup(sim.state.dossiers[0]["dossierNo"], caller_id="kiosk-1"))
    assert error.code == "central_unavailable"


def test_webhook_adapter_looks_up_and_syncs_through_its_own_urls(sim: SimServer, tmp_path: Path) -> None:
    config = load_central_config(
        {
            "adapter": "webhook",
            "base_url": f"{sim.url}/webhook/events",
            "lookup_url": f"{sim.url}/webhook/dossiers",
            "catalogue_url": f"{sim.url}/webhook/procedures",
            "webhook_secret": SECRET,
            "deliver": False,
        }
    )
    runtime = CentralRuntime(config, db_path=tmp_path / "hub.db", site="t")
    try:
        row = pick(sim, overdue)
        answer = runtime.lookup(row["dossierNo"], caller_id="kiosk-1")
        assert answer["status_label"] == "Đang xử lý" and answer["overdue"] is True
        assert answer["applicant_name"] == mask_name(row["applicantName"])
        assert refusal(lambda: runtime.lookup("ABC.200101.0001", caller_id="kiosk-1")).code == (
            "central_dossier_not_found"
        )
        assert runtime.sync_catalogue() == len(sim.state.procedures)
        assert runtime.search("dang ky khai sinh")["results"][0]["name"] == "Đăng ký khai sinh"
    finally:
        runtime.stop()


def test_receipt_job_carries_central_data_and_is_a_valid_print_job(
    sim: SimServer, make_runtime: Factory
) -> None:
    from ticket_printer.jobs import ReceiptJob

    runtime = make_runtime()
    runtime.sync_catalogue()
    row = pick(sim, lambda d: d["dossierStatus"] == "receiving")
    job = runtime.receipt_job(row["dossierNo"], officer="Nguyễn Thị Lan")
    parsed = ReceiptJob.model_validate(job)
    receipt = parsed.receipt
    assert receipt.dossier_code == row["dossierNo"]
    assert receipt.applicant.name == row["applicantName"]  # officers see the full name
    assert receipt.procedure == row["serviceName"]
    assert receipt.papers and receipt.processing_time != "—"
    assert receipt.appointment_at == parse_central_time(row["dueDate"])
    assert receipt.officer == "Nguyễn Thị Lan"
