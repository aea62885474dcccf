"""The procedure catalogue: synced from the simulator over a real socket into a real SQLite file,
searched locally with and without diacritics, still there while central is down."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.central import CentralRuntime, load_central_config
from hub.central.catalogue import ProcedureCatalogue
from hub.central.errors import CentralUnavailable
from hub.central_sim import SimServer, SimState


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer(SimState(seed=3, group_id="35417")) as server:
        yield server


@pytest.fixture(scope="module")
def runtime(sim: SimServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CentralRuntime]:
    db = tmp_path_factory.mktemp("catalogue") / "hub.db"
    config = load_central_config(
        {
            "adapter": "opencps",
            "base_url": sim.url,
            "group_id": "35417",
            "deliver": False,
            "catalogue_page_size": 25,
        }
    )
    central = CentralRuntime(config, db_path=db, site="test")
    central.start()
    assert central.catalogue_synced.wait(10), central.catalogue_error
    yield central
    central.stop()


def names(runtime: CentralRuntime, query: str, **kwargs: Any) -> list[str]:
    return [r["name"] for r in runtime.search(query, **kwargs)["results"]]


def test_the_whole_catalogue_is_synced_page_by_page(runtime: CentralRuntime, sim: SimServer) -> None:
    assert runtime.catalogue.count() == len(sim.state.procedures) >= 50
    assert sim.state.requests["serviceinfos"] >= 3  # 61 procedures in pages of 25
    birth = runtime.catalogue.get("HT-001")
    assert birth is not None and birth.name == "Đăng ký khai sinh"
    assert birth.processing_time and birth.fee == "Miễn lệ phí"
    assert ("Giấy chứng sinh", 1, "bản chính") in [(p.name, p.count, p.note) for p in birth.papers]


first_result: list[tuple[str, str]] = [
    ("dang ky khai sinh", "Đăng ký khai sinh"),
    ("Đăng ký khai sinh", "Đăng ký khai sinh"),
    ("ĐĂNG KÝ KẾT HÔN", "Đăng ký kết hôn"),
    ("ket hon nuoc ngoai", "Đăng ký kết hôn có yếu tố nước ngoài"),
    ("khai tu", "Đăng ký khai tử"),
    ("chung thuc ban sao", "Chứng thực bản sao từ bản chính giấy tờ, văn bản"),
    ("xác nhận tình trạng hôn nhân", "Cấp Giấy xác nhận tình trạng hôn nhân"),
    ("karaoke", "Cấp Giấy phép đủ điều kiện kinh doanh dịch vụ karaoke"),
    ("ho kinh doanh thanh lap", "Đăng ký thành lập hộ kinh doanh"),
    ("tach thua", "Tách thửa hoặc hợp thửa đất"),
    ("tho cung liet si", "Giải quyết chế độ trợ cấp thờ cúng liệt sĩ"),
    ("dang ky khai sinh xyz", "Đăng ký khai sinh"),  # a stray word falls back to "any word"
    ("HT-001", "Đăng ký khai sinh"),  # by procedure code
]


@pytest.mark.parametrize(("query", "expected"), first_result)
def test_search_finds_the_procedure_with_or_without_diacritics(
    runtime: CentralRuntime, query: str, expected: str
) -> None:
    found = names(runtime, query)
    assert found, f"nothing for {query!r}"
    assert found[0] == expected, found[:5]


def test_ranking_puts_the_closest_names_first(runtime: CentralRuntime) -> None:
    found = names(runtime, "khai sinh")
    assert found.index("Đăng ký khai sinh") < found.index("Đăng ký khai sinh có yếu tố nước ngoài")
    permits = names(runtime, "giay phep xay dung")
    # Every name holding the whole phrase comes before names that merely hold its words.
    holding = [n for n in permits if "giấy phép xây dựng" in n.lower()]
    assert len(holding) == 4 and permits[:4] == holding
    # Words typed so far count as prefixes: a kiosk can search as the citizen types.
    assert "Đăng ký kết hôn" in names(runtime, "dang ky ket h")
    wine = names(runtime, "ruou")
    assert len(wine) == 2 and all("rượu" in name for name in wine)


@pytest.mark.parametrize("query", ["zzzz", '"', "AND OR NOT (", "*", 'a" OR *', "'; DROP TABLE x; --"])
def test_nonsense_or_hostile_queries_break_nothing(runtime: CentralRuntime, query: str) -> None:
    answer = runtime.search(query)
    assert isinstance(answer["results"], list)
    assert runtime.catalogue.count() > 0


def test_fields_filter_and_browse(runtime: CentralRuntime) -> None:
    civil = runtime.search("dang ky", field="HT")["results"]
    assert civil and all(r["field_code"] == "HT" for r in civil)
    browse = runtime.search("")
    assert len(browse["fields"]) >= 8
    assert {"Hộ tịch", "Đất đai", "Xây dựng", "Chứng thực"} <= {f["name"] for f in browse["fields"]}
    assert browse["results"] and browse["catalogue_size"] == runtime.catalogue.count()
    assert len(runtime.search("dang ky", limit=3)["results"]) == 3


def test_search_over_rpc_validates_its_parameters(runtime: CentralRuntime) -> None:
    from appliance.rpc import RpcError, RpcRequest

    def call(params: dict[str, Any]) -> dict[str, Any]:
        return runtime.rpc_search(RpcRequest("kiosk-1", "procedure.search", params))

    assert call({"query": "khai sinh"})["results"][0]["code"] == "HT-001"
    for bad in ({"query": 5}, {"query": "x" * 500}, {"limit": 0}, {"limit": "5"}, {"field": ["HT"]}):
        with pytest.raises(RpcError) as refused:
            call(bad)
        assert refused.value.code == "bad_request"


def test_catalogue_stays_searchable_while_central_is_down(tmp_path: Path) -> None:
    state = SimState(seed=5)
    server = SimServer(state).start()
    config = load_central_config({"adapter": "opencps", "base_url": server.url, "deliver": False})
    central = CentralRuntime(config, db_path=tmp_path / "hub.db", site="test")
    try:
        assert central.sync_catalogue() == len(state.procedures)
        synced = central.catalogue.synced_at()
        server.stop()
        # Central is unreachable: a kept connection is closed (or answers 503) as the simulator stops;
        # a new one is refused. Either way the hub reads it as central down.
        with pytest.raises(CentralUnavailable, match=r"ConnectionError|ProtocolError|HTTP 503"):
            central.sync_catalogue()
        assert names(central, "dang ky khai sinh")[0] == "Đăng ký khai sinh"
        assert central.catalogue.synced_at() == synced
        # A restart of the hub during the outage still has the catalogue (it is in SQLite).
        again = CentralRuntime(config, db_path=tmp_path / "hub.db", site="test")
        assert names(again, "chung thuc")[0].startswith("Chứng thực")
        again.stop()
    finally:
        central.stop()
        server.stop()


def test_a_partial_catalogue_never_replaces_a_complete_one(tmp_path: Path) -> None:
    state = SimState(seed=5)
    with SimServer(state) as server:
        config = load_central_config(
            {"adapter": "opencps", "base_url": server.url, "deliver": False, "catalogue_page_size": 10}
        )
        central = CentralRuntime(config, db_path=tmp_path / "hub.db", site="test")
        try:
            central.sync_catalogue()
            before = central.catalogue.count()
            calls = {"n": 0}
            original: Callable[..., Any] = central.adapter.http.request  # type: ignore[attr-defined]

            def fail_on_third_page(*args: Any, **kwargs: Any) -> Any:
                calls["n"] += 1
                if calls["n"] == 3:
                    state.faults.down = True
                try:
                    return original(*args, **kwargs)
                finally:
                    state.faults.down = False

            central.adapter.http.request = fail_on_third_page  # type: ignore[attr-defined]
            with pytest.raises(Exception, match="503"):
                central.sync_catalogue()
            assert central.catalogue.count() == before
        finally:
            central.stop()


def test_a_catalogue_of_2000_procedures_is_indexed(tmp_path: Path) -> None:
    state = SimState(extra_procedures=1940)
    catalogue = ProcedureCatalogue(tmp_path / "hub.db")
    from hub.central.opencps import procedure_from_opencps

    procedures = [procedure_from_opencps(p.to_opencps()) for p in state.procedures]
    assert catalogue.replace_all([p for p in procedures if p is not None]) == 2001
    found = catalogue.search("dang ky khai sinh")
    assert found[0]["name"] == "Đăng ký khai sinh" and len(found) == 20
