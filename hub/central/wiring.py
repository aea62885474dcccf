"""`attach_central(parts)`: the central dossier system joined to a running hub.

Builds the adapter named in `[central]`, answers the RPC methods `dossier.lookup` and
`procedure.search`, keeps the procedure catalogue in sync, and runs the outbox relay. The web calls
`CentralRuntime.lookup/search/receipt_job`; `/metrics` and the admin page read `status()`.

Results ready for collection (results.py): `results` (ResultsBoard, published as the retained
`results/ready`) and `desk` (ResultDesk: `ticket.issue` with `dossier_code`, `result.link`, and
"Đã trả kết quả" at the return counter through `result_counter_view` / `return_result`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.errors import ConfigError
from appliance.rpc import RpcError, RpcRequest
from appliance.timeutil import iso
from appliance.timeutil import now as local_now

from .base import CentralSystem, NoCentral
from .catalogue import ProcedureCatalogue
from .citizen import attach_citizen_dossiers
from .config import CentralConfig, load_central_config
from .errors import CentralError, NotSupported
from .lookup import MAX_PROOF_CHARS, DossierLookup, LookupRefused
from .model import Language
from .opencps import OpenCpsAdapter
from .outbox import OutboxWorker
from .resilience import backoff_delay
from .result_desk import ResultDesk, dossier_for_officer, result_service_id
from .results import ResultsBoard
from .webhook import WebhookAdapter

if TYPE_CHECKING:
    from hub.parts import HubParts

log = logging.getLogger("motcua.hub.central")

MAX_CODE_CHARS = 2048  # a receipt QR may carry a whole URL
MAX_QUERY_CHARS = 200
CATALOGUE_RETRY_MAX_S = 300.0


def build_adapter(config: CentralConfig, *, site: str, rating_scale: int = 3) -> CentralSystem:
    if config.adapter == "opencps":
        return OpenCpsAdapter(config, site=site, rating_scale=rating_scale)
    if config.adapter == "webhook":
        return WebhookAdapter(config, site=site)
    return NoCentral()


class CentralRuntime:
    """Everything the hub runs for central; `start()` once, `stop()` once (idempotent)."""

    def __init__(
        self,
        config: CentralConfig,
        *,
        db_path: str | Path,
        site: str,
        place_name: str = "",
        rating_scale: int = 3,
        possession_devices: Collection[str] = (),
        adapter: CentralSystem | None = None,
        clock: Callable[[], datetime] = local_now,
        result_service: str | None = None,
        result_counters: Collection[str] = (),
        result_live: Callable[[], tuple[str | None, Collection[str]]] | None = None,
    ) -> None:
        self.config = config
        self.site = site
        self.place_name = place_name
        self.clock = clock
        self.possession_devices = frozenset(possession_devices) | frozenset(config.possession_devices)
        self.adapter = adapter or build_adapter(config, site=site, rating_scale=rating_scale)
        self.lookups = DossierLookup(self.adapter, config, db_path, clock=clock)
        self.catalogue = ProcedureCatalogue(db_path, clock=clock)
        self.relay: OutboxWorker | None = None
        if config.deliver and not isinstance(self.adapter, NoCentral):
            self.relay = OutboxWorker(self.adapter, config, db_path, site=site, clock=clock)
        self._stop = threading.Event()
        self._sync_now = threading.Event()
        self._sync_thread: threading.Thread | None = None
        self.desk: ResultDesk | None = None
        # With the live site to follow, the desk exists even while no service returns results: the
        # head may set one up later in the admin pages, and the desk serves it at once.
        if result_service is not None or result_live is not None:
            self.desk = ResultDesk(
                config,
                db_path,
                service_id=result_service,
                counters=result_counters,
                relay=self.relay is not None,
                clock=clock,
                on_returned=self._on_result_returned,
                live=result_live,
            )
        self.results: ResultsBoard | None = None
        if config.results and not isinstance(self.adapter, NoCentral):
            desk = self.desk
            self.results = ResultsBoard(
                self.adapter,
                config,
                db_path,
                clock=clock,
                hidden=desk.returned_codes if desk is not None else frozenset,
            )
        self.catalogue_error: str | None = None
        self.catalogue_synced = threading.Event()
        self._stopped = False

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        if not isinstance(self.adapter, NoCentral):
            self._sync_thread = threading.Thread(
                target=self._sync_loop, name="central-catalogue", daemon=True
            )
            self._sync_thread.start()
        if self.relay is not None:
            self.relay.start()
        if self.results is not None:
            self.results.start()
        log.info(
            "central: %s%s, relay %s",
            self.adapter.name,
            f" at {self.config.base_url}" if self.config.base_url else "",
            "on" if self.relay else "off",
        )

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        self._sync_now.set()
        if self._sync_thread is not None:
            self._sync_thread.join(timeout=10)
        if self.relay is not None:
            self.relay.stop()
        if self.results is not None:
            self.results.stop()
        if self.desk is not None:
            self.desk.close()
        self.lookups.close()
        self.adapter.close()

    def on_commit(self, events: list[dict[str, Any]], snapshot: Mapping[str, Any]) -> None:
        """QueueService commit hook: the rows are in the outbox now; wake the relay (no I/O here)."""
        if self.relay is not None and events:
            self.relay.wake()

    # ------------------------------------------------------------------ lookups
    def lookup(
        self,
        code: str,
        *,
        caller_id: str,
        possession: bool = False,
        language: Language = "vi",
        applicant_id_no: str | None = None,
        receipt_proof: str | None = None,
    ) -> dict[str, Any]:
        """The dossier as the caller may see it; RpcError (code = i18n key) when refused."""
        try:
            view = self.lookups.lookup(
                code[: MAX_CODE_CHARS + MAX_PROOF_CHARS] if isinstance(code, str) else code,
                caller_id=caller_id,
                possession=possession,
                applicant_id_no=applicant_id_no,
                receipt_proof=receipt_proof,
                language=language,
            )
        except LookupRefused as refusal:
            raise refusal.to_rpc(language) from None
        # The kiosk offers "Lấy số nhận kết quả" when this is true: ticket.issue with
        # service_id = result_service_id and dossier_code = code.
        desk = self.desk
        ready = (
            desk is not None
            and desk.service_id is not None
            and view.get("status") in self.config.results_statuses
            and view.get("code") not in desk.returned_codes()
        )
        view["result_ready"] = ready
        view["result_service_id"] = desk.service_id if desk is not None and ready else None
        return view

    def search(
        self, query: str, language: Language = "vi", *, field: str | None = None, limit: int = 20
    ) -> dict[str, Any]:
        """Procedures matching `query` from the local catalogue (works while central is down)."""
        results = self.catalogue.search(query or "", field=field, limit=limit)
        synced = self.catalogue.synced_at()
        answer: dict[str, Any] = {
            "query": query,
            "results": results,
            "count": len(results),
            "catalogue_size": self.catalogue.count(),
            "synced_at": iso(synced),
        }
        if not (query or "").strip():
            answer["fields"] = self.catalogue.fields()
        return answer

    def receipt_job(self, code: str, *, officer: str, job_id: str | None = None) -> dict[str, Any]:
        """A `kind: "receipt"` print job for the dossier (officer console: "In phiếu tiếp nhận").

        Officers see full data; papers and processing time come from the synced catalogue.
        """
        try:
            dossier, _stale, _fetched = self.lookups.dossier(code)
        except LookupRefused as refusal:
            raise refusal.to_rpc("vi") from None
        procedure = self.catalogue.get(dossier.service_code) if dossier.service_code else None
        received = dossier.received_at or dossier.submitted_at or self.clock()
        receipt: dict[str, Any] = {
            "agency": (dossier.agency_name or self.place_name or "UBND").upper(),
            "agency_unit": "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ",
            "dossier_code": dossier.dossier_no,
            "applicant": {
                "name": dossier.applicant_name or "—",
                "address": dossier.applicant_address or None,
                "phone": dossier.applicant_phone or None,
                "id_number": dossier.applicant_id_no or None,
            },
            "procedure": dossier.service_name or (procedure.name if procedure else dossier.service_code),
            "papers": [
                {"name": p.name, "count": p.count, "note": p.note}
                for p in (procedure.papers if procedure else ())
            ],
            "processing_time": (procedure.processing_time if procedure else "") or "—",
            "received_at": iso(received),
            "appointment_at": iso(dossier.due_at),
            "result_place": self.place_name or None,
            "officer": officer,
        }
        # The QR code proves possession at a kiosk (the Code 128 keeps the bare code for counters).
        try:
            receipt["qr_data"] = self.lookups.receipt_qr(dossier.dossier_no)
        except LookupRefused:  # a central number we cannot parse: the bare code, as before
            log.warning("receipt of %s printed without proof: its number is not a dossier code", code)
        return {
            "v": 1,
            "job_id": job_id or f"receipt-{dossier.dossier_no}-{int(self.clock().timestamp())}",
            "kind": "receipt",
            "receipt": receipt,
        }

    # ------------------------------------------------------------------ results
    def results_payload(self) -> dict[str, Any] | None:
        """The `results/ready` payload (masked), or None when the site has no results board."""
        return self.results.payload() if self.results is not None else None

    def _on_result_returned(self, code: str) -> None:
        if self.results is not None:
            self.results.forget(code)
        if self.relay is not None:
            self.relay.wake()

    def result_counter_view(
        self, counter_id: str, serving: Mapping[str, Any] | None, language: Language = "vi"
    ) -> dict[str, Any] | None:
        """The return counter's panel: the served ticket's dossier, whether its result was handed
        over, and results not collected in time. None for a counter that does not return results."""
        desk = self.desk
        if desk is None or not desk.serves(counter_id):
            return None
        board = self.results_payload()
        overdue = [item for item in (board or {}).get("items", []) if item["overdue_collection"]]
        view: dict[str, Any] = {
            "service_id": desk.service_id,
            "ticket": None,
            "code": None,
            "dossier": None,
            "lookup_error": None,
            "stale": False,
            "returned": None,
            "overdue": sorted(overdue, key=lambda item: item["ready_since"]),
            "overdue_days": self.config.collection_overdue_days,
        }
        if not serving or serving.get("service_id") != desk.service_id:
            return view
        view["ticket"] = {key: serving.get(key) for key in ("id", "number", "service_id", "status")}
        code = desk.dossier_of(str(serving.get("id")))
        view["code"] = code
        if code is None:
            return view
        view["returned"] = desk.returned(code)
        try:
            dossier, stale, _fetched = self.lookups.dossier(code, language)
        except LookupRefused as refusal:
            view["lookup_error"] = refusal.message(language)
            return view
        view["stale"] = stale
        view["dossier"] = dossier_for_officer(
            dossier, now=self.clock(), ready_statuses=self.config.results_statuses, language=language
        )
        return view

    def link_served_ticket(
        self,
        counter_id: str,
        serving: Mapping[str, Any] | None,
        code: object,
        *,
        officer: str,
        language: Language = "vi",
    ) -> str:
        """The officer types the code of a citizen who took a plain result-return number."""
        desk = self._desk_for(counter_id, serving, language)
        canonical = desk.canonical(code, language)
        assert serving is not None
        desk.link(str(serving["id"]), canonical, by=f"web:{officer}")
        return canonical

    def return_result(
        self,
        counter_id: str,
        counter_name: str,
        serving: Mapping[str, Any] | None,
        *,
        officer: str,
        language: Language = "vi",
    ) -> dict[str, Any]:
        """ "Đã trả kết quả" for the dossier of the ticket being served; pressing twice is harmless.

        Returns {returned: record, fresh: bool}; RpcError when there is nothing to hand over.
        """
        desk = self._desk_for(counter_id, serving, language)
        assert serving is not None
        code = desk.dossier_of(str(serving["id"]))
        if code is None:
            raise RpcError.from_key("result_not_linked", language, number=serving.get("number", ""))
        central_id = ""
        try:
            dossier, _stale, _fetched = self.lookups.dossier(code, language)
            central_id = dossier.central_id
        except LookupRefused:
            item = self.results.item(code) if self.results is not None else None
            central_id = item.central_id if item is not None else ""
        record, fresh = desk.mark_returned(
            code,
            officer=officer,
            counter_id=counter_id,
            counter_name=counter_name,
            ticket=serving,
            central_id=central_id,
        )
        return {"returned": record, "fresh": fresh}

    def _desk_for(self, counter_id: str, serving: Mapping[str, Any] | None, language: Language) -> ResultDesk:
        desk = self.desk
        if desk is None or not desk.serves(counter_id):
            raise RpcError.from_key("result_desk_unavailable", language)
        if not serving or serving.get("service_id") != desk.service_id:
            raise RpcError.from_key("result_no_ticket", language)
        return desk

    # ------------------------------------------------------------------ RPC
    def rpc_lookup(self, request: RpcRequest) -> dict[str, Any]:
        params = request.params
        code = params.get("code")
        if not isinstance(code, str):
            raise RpcError.from_key("bad_request", request.language, detail="code")
        id_no = params.get("applicant_id_no")
        if id_no is not None and (not isinstance(id_no, str) or len(id_no) > 32):
            raise RpcError.from_key("bad_request", request.language, detail="applicant_id_no")
        proof = params.get("proof")
        if proof is not None and (not isinstance(proof, str) or len(proof) > MAX_PROOF_CHARS):
            raise RpcError.from_key("bad_request", request.language, detail="proof")
        # `scanned: true` proves nothing (any device can say it; the code is on the public results
        # board): only the proof from the receipt's QR code unmasks the name.
        return self.lookup(
            code,
            caller_id=request.caller_id,
            receipt_proof=proof,
            applicant_id_no=id_no,
            language=request.language,
        )

    def rpc_search(self, request: RpcRequest) -> dict[str, Any]:
        params = request.params
        query = params.get("query", "")
        field = params.get("field")
        limit = params.get("limit", 20)
        if not isinstance(query, str) or len(query) > MAX_QUERY_CHARS:
            raise RpcError.from_key("bad_request", request.language, detail="query")
        if field is not None and not isinstance(field, str):
            raise RpcError.from_key("bad_request", request.language, detail="field")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
            raise RpcError.from_key("bad_request", request.language, detail="limit")
        return self.search(query, request.language, field=field, limit=limit)

    # ------------------------------------------------------------------ catalogue
    def sync_catalogue(self) -> int:
        """Fetch the whole catalogue and swap it in; the old one stays if anything fails."""
        procedures = list(self.adapter.list_procedures())
        if not procedures:
            raise CentralError("central sent an empty procedure catalogue; keeping the old one")
        count = self.catalogue.replace_all(procedures, source=self.adapter.name)
        self.catalogue_error = None
        self.catalogue_synced.set()
        log.info("procedure catalogue synced: %d procedures", count)
        return count

    def request_sync(self) -> None:
        self._sync_now.set()

    def _sync_loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self.sync_catalogue()
                failures = 0
                pause = self.config.catalogue_sync_interval_s
            except NotSupported as error:
                log.info("procedure catalogue not synced: %s", error)
                return
            except Exception as error:
                failures += 1
                self.catalogue_error = str(error)
                pause = min(
                    self.config.catalogue_sync_interval_s,
                    backoff_delay(failures, 5.0, CATALOGUE_RETRY_MAX_S),
                )
                if failures == 1 or failures % 10 == 0:
                    log.warning("procedure catalogue sync failed (%s); retrying in %.0f s", error, pause)
            self._sync_now.wait(pause)
            self._sync_now.clear()

    # ------------------------------------------------------------------ status
    def status(self) -> dict[str, Any]:
        synced = self.catalogue.synced_at()
        return {
            "adapter": self.adapter.name,
            "base_url": self.config.base_url,
            "relay": self.relay.status() if self.relay else None,
            "results": self.results.status() if self.results else None,
            "lookups": self.lookups.status(),
            "catalogue": {
                "procedures": self.catalogue.count(),
                "synced_at": iso(synced),
                "age_s": round((self.clock() - synced).total_seconds()) if synced else None,
                "error": self.catalogue_error,
            },
        }


def attach_central(parts: HubParts) -> CentralRuntime:
    """Validate `[central]`, build the runtime, register its RPC methods and start it.

    Raises ConfigError naming the `[central]` key at fault.
    """
    config = load_central_config(parts.config.central, "hub configuration [central]")
    if config.deliver and config.adapter != "none" and not getattr(parts.service, "_outbox", False):
        raise ConfigError(
            "hub configuration [central]: the relay needs QueueService(outbox=True); "
            "set deliver = false or construct the queue service with the outbox"
        )
    site = parts.config
    try:
        service = result_service_id(config, [s.id for s in site.services], site.result_return.service)
    except ValueError as error:
        raise ConfigError(f"hub configuration [central]: {error}") from None

    def result_live() -> tuple[str | None, list[str]]:
        """The result-return service and counters of the live site (the head may change them)."""
        live = parts.service.site
        try:
            chosen = result_service_id(config, [s.id for s in live.services], live.result_return.service)
        except ValueError:
            return None, []
        return chosen, live.result_counters(chosen)

    runtime = CentralRuntime(
        config,
        db_path=parts.service.db_path,
        site=parts.config.site,
        place_name=parts.config.place.name,
        rating_scale=parts.config.place.rating_scale,
        possession_devices=[kiosk.id for kiosk in parts.config.kiosks],
        result_service=service,
        result_counters=site.result_counters(service),
        result_live=result_live,
    )
    parts.rpc.handlers["dossier.lookup"] = runtime.rpc_lookup
    parts.rpc.handlers["procedure.search"] = runtime.rpc_search
    attach_citizen_dossiers(parts, runtime)
    if runtime.relay is not None:
        parts.service.add_commit_hook(runtime.on_commit)
    attach_results(parts, runtime)
    runtime.start()
    return runtime


def results_topic(parts: HubParts) -> str:
    """`motcua/v1/{site}/results/ready` (retained)."""
    return parts.topics.results_ready


def attach_results(parts: HubParts, runtime: CentralRuntime) -> None:
    """Publish the results board on the hub's link and let `ticket.issue` link a dossier."""
    board = runtime.results
    if board is not None:
        topic = results_topic(parts)
        board.add_publisher(lambda payload: parts.link.publish_json(topic, payload, qos=1, retain=True))
        # After any broker restart (without persistence) the retained list is back at once.
        parts.link.on_connection_change(lambda connected: board.republish() if connected else None)
    desk = runtime.desk
    if desk is not None:
        parts.rpc.handlers["ticket.issue"] = desk.wrap_issue(parts.rpc.handlers["ticket.issue"])
        parts.rpc.handlers["result.link"] = desk.rpc_link
