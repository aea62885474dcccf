"""OpenCPS-compatible REST adapter (the open-source one-door system many provinces run).

Endpoints used (base `/o/rest/v2`, header `groupId`; see ../shared/design/DOMAIN.md):

* `GET /dossiers?dossierNo=…` → `{total, data: [{dossierNo, serviceName, applicantName, dueDate
  "28/11/2018 09:30:00", dossierStatus, …}]}`
* `GET /serviceinfos?start=&end=` → `{total, data: [{serviceCode, serviceName, domainCode,
  domainName, administrationName, maxLevel, durationText, feeText, dossierText}]}` — the procedure
  catalogue (dossierText lists the papers, one per line).
* `POST /bookings` (form: className, classPK, codeNumber, serviceCode, govAgencyCode, state,
  gateNumber, checkinDate) for each queue event, and `POST /postal/votings/{votingId}/results`
  (form: selected 3/2/1) for each rating. Both carry an `Idempotency-Key` header.
* `GET /dossiers/publish/searchDossiers?step=&start=&end=` → the public "results ready" list, in the
  shape of `/dossiers`; only rows in `results_statuses` are kept.
* `POST /dossiers/{dossierId}/actions` (form: actionCode = `return_action_code`, actionUser,
  actionNote, …) when the counter hands a result over ("result.returned", with `Idempotency-Key`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from appliance.timeutil import parse_iso

from .base import DOSSIER_RATED, RESULT_RETURNED, CentralSystem, HttpClient, OutboxItem
from .config import CentralConfig
from .errors import CentralError, CentralRejected
from .model import (
    DVCQG_STATUS,
    Dossier,
    Paper,
    Procedure,
    format_opencps_time,
    parse_central_time,
    same_id_number,
)

API_ROOT = "/o/rest/v2"
# Booking `state` for each queue event type. OpenCPS leaves the meaning of states to the site;
# these are motcua's and are also sent as `eventType`.
BOOKING_STATES: dict[str, int] = {
    "ticket.issued": 0,
    "ticket.reinstated": 0,
    "ticket.transferred": 0,
    "ticket.called": 1,
    "ticket.recalled": 1,
    "ticket.completed": 2,
    "ticket.skipped": 3,
    "ticket.cancelled": 4,
}
TICKET_CLASS = "org.motcua.queue.Ticket"
DOSSIER_CLASS = "org.opencps.dossiermgt.model.Dossier"
# "Tờ khai … (1 bản chính)", "(02 bản sao)", "(1 xuất trình)": count, then what kind of copy.
_PAPER_COUNT = re.compile(r"^(?P<name>.*?)[\s:,-]*\((?P<count>\d{1,3})\s*(?P<note>[^)]*)\)\s*$")


def opencps_selected(score: int, scale: int) -> int:
    """A counter rating as OpenCPS `selected`: 3 Rất hài lòng, 2 Hài lòng, 1 Không hài lòng."""
    if scale == 5:
        return 3 if score == 5 else 2 if score == 4 else 1
    return max(1, min(3, score))


def parse_papers(text: str) -> tuple[Paper, ...]:
    """`dossierText` lines ("Tờ khai … (1 bản chính)") as papers; bullets and numbering dropped."""
    papers: list[Paper] = []
    for raw in re.split(r"[\r\n]+|<br\s*/?>|</?p>|</?li>", text or ""):
        line = re.sub(r"<[^>]+>", "", raw)
        line = re.sub(r"^\s*(?:[-•+*]|\d{1,2}[.)])\s*", "", line).strip()
        if not line:
            continue
        match = _PAPER_COUNT.match(line)
        if match:
            note = match["note"].strip()
            note = None if note in ("", "bản") else note
            papers.append(Paper(match["name"].strip(), int(match["count"]), note))
        else:
            papers.append(Paper(line))
    return tuple(papers)


class OpenCpsAdapter(CentralSystem):
    name = "opencps"

    def __init__(self, config: CentralConfig, *, site: str, rating_scale: int = 3) -> None:
        assert config.base_url
        self.config = config
        self.site = site
        self.rating_scale = rating_scale
        self.root = config.base_url.rstrip("/") + API_ROOT
        headers = {"groupId": config.group_id} if config.group_id else {}
        self.http = HttpClient(config, headers=headers)

    # ------------------------------------------------------------------ lookups
    def lookup_dossier(self, spellings: Sequence[str], *, timeout: float | None = None) -> Dossier | None:
        for spelling in spellings:
            response = self.http.request(
                "GET",
                f"{self.root}/dossiers",
                params={"dossierNo": spelling, "start": 0, "end": 5},
                timeout=timeout,
            )
            body = response.json()
            rows = body.get("data") if isinstance(body, dict) else None
            for row in rows or ():
                if (
                    isinstance(row, dict)
                    and str(row.get("dossierNo", "")).strip().upper() == spelling.upper()
                ):
                    return dossier_from_opencps(row)
        return None

    def dossiers_of_applicant(
        self, id_no: str, *, limit: int = 20, timeout: float | None = None
    ) -> list[Dossier]:
        # OpenCPS `GET /dossiers` filters by `applicantIdNo`; rows are checked again here, so a
        # central that ignores the filter never hands one citizen another's dossiers.
        response = self.http.request(
            "GET",
            f"{self.root}/dossiers",
            params={"applicantIdNo": id_no, "start": 0, "end": limit},
            timeout=timeout,
        )
        body = response.json()
        rows = body.get("data") if isinstance(body, dict) else None
        if rows is not None and not isinstance(rows, list):
            raise CentralError(f"{self.root}/dossiers: unexpected answer")
        found = [
            dossier_from_opencps(row) for row in rows or () if isinstance(row, dict) and row.get("dossierNo")
        ]
        return [d for d in found if same_id_number(d.applicant_id_no, id_no)][:limit]

    def list_procedures(self) -> Iterator[Procedure]:
        size = self.config.catalogue_page_size
        start = 0
        while True:
            response = self.http.request(
                "GET", f"{self.root}/serviceinfos", params={"start": start, "end": start + size}
            )
            body = response.json()
            if not isinstance(body, dict) or not isinstance(body.get("data", []), list):
                raise CentralError(f"{self.root}/serviceinfos: unexpected answer")
            rows = body.get("data") or []
            for row in rows:
                procedure = procedure_from_opencps(row)
                if procedure is not None:
                    yield procedure
            start += size
            total = body.get("total")
            if not rows or (isinstance(total, int) and start >= total):
                return

    def list_ready_dossiers(self, limit: int) -> list[Dossier]:
        size = min(self.config.results_page_size, limit)
        wanted = frozenset(self.config.results_statuses)
        found: list[Dossier] = []
        start = 0
        while len(found) < limit:
            params: dict[str, Any] = {"start": start, "end": start + size}
            if self.config.results_step:
                params["step"] = self.config.results_step
            body = self.http.request(
                "GET", f"{self.root}/dossiers/publish/searchDossiers", params=params
            ).json()
            if not isinstance(body, dict) or not isinstance(body.get("data", []), list):
                raise CentralError(f"{self.root}/dossiers/publish/searchDossiers: unexpected answer")
            rows = body.get("data") or []
            for row in rows:
                if isinstance(row, dict) and row.get("dossierNo"):
                    dossier = dossier_from_opencps(row)
                    if dossier.status in wanted:
                        found.append(dossier)
            start += size
            total = body.get("total")
            if not rows or (isinstance(total, int) and start >= total):
                break
        return found[:limit]

    # ------------------------------------------------------------------ relay
    def deliver(self, item: OutboxItem) -> None:
        event = item.payload
        headers = {"Idempotency-Key": item.key}
        ticket = event.get("ticket") or {}
        if item.kind == RESULT_RETURNED:
            target = str(event.get("dossier_id") or event.get("dossier_code") or "")
            if not target:
                raise CentralRejected(f"{item.key}: a returned result without its dossier")
            form = {
                "actionCode": self.config.return_action_code,
                "actionUser": event.get("officer") or "",
                "actionNote": event.get("note") or "",
                "dossierNo": event.get("dossier_code") or "",
                "eventType": item.kind,
                "codeNumber": ticket.get("number", ""),
                "gateNumber": event.get("counter_name") or event.get("counter_id") or "",
                "returnedDate": format_opencps_time(parse_iso(event["ts"])) if event.get("ts") else "",
                "siteId": self.site,
            }
            url = f"{self.root}/dossiers/{quote(target, safe='')}/actions"
            self.http.request("POST", url, form=form, headers=headers, accept=(409,))
            return
        if item.kind == DOSSIER_RATED:
            # The national portal scores satisfaction per dossier: the vote is about the dossier.
            code = str(event.get("dossier_code") or "")
            if not code:
                raise CentralRejected(f"{item.key}: a dossier rating without its dossier")
            form = {
                "selected": int(event.get("overall") or 0),
                "className": DOSSIER_CLASS,
                "classPK": code,
                "dossierNo": code,
                "criteria": json.dumps(event.get("criteria") or [], ensure_ascii=False),
                "gateNumber": event.get("counter_name") or event.get("counter_id") or "",
                "govAgencyCode": self.config.agency_code,
            }
            url = f"{self.root}/postal/votings/{self.config.voting_id}/results"
        elif item.kind == "rating.submitted":
            score = int(event.get("score") or ticket.get("rating") or 0)
            form = {
                "selected": opencps_selected(score, self.rating_scale),
                "score": score,
                "scale": self.rating_scale,
                "className": TICKET_CLASS,
                "classPK": ticket.get("id", ""),
                "codeNumber": ticket.get("number", ""),
                "gateNumber": event.get("counter_name") or event.get("counter_id") or "",
                "govAgencyCode": self.config.agency_code,
            }
            url = f"{self.root}/postal/votings/{self.config.voting_id}/results"
        else:
            moment = parse_iso(event.get("ts")) if event.get("ts") else None
            form = {
                "className": TICKET_CLASS,
                "classPK": ticket.get("id", ""),
                "codeNumber": ticket.get("number", ""),
                "serviceCode": ticket.get("service_id", ""),
                "govAgencyCode": self.config.agency_code,
                "state": BOOKING_STATES.get(item.kind, 0),
                "gateNumber": event.get("counter_name") or event.get("counter_id") or "",
                "checkinDate": format_opencps_time(moment) if moment else "",
                "eventType": item.kind,
                "speaking": "true" if item.kind in ("ticket.called", "ticket.recalled") else "false",
                "siteId": self.site,
                "seq": event.get("seq", ""),
            }
            url = f"{self.root}/bookings"
        # 409: central already has this key — exactly what a repeat after a lost answer looks like.
        self.http.request("POST", url, form=form, headers=headers, accept=(409,))

    def close(self) -> None:
        self.http.close()


def dossier_from_opencps(row: Mapping[str, Any]) -> Dossier:
    status = str(row.get("dossierStatus") or "").strip().lower()
    if status.isdigit():  # a DVCQG-style gateway answering with TrangThaiHoSo numbers
        status = DVCQG_STATUS.get(status, status)

    def text(key: str) -> str:
        value = row.get(key)
        return "" if value is None else str(value).strip()

    return Dossier(
        dossier_no=text("dossierNo"),
        status=status,
        service_code=text("serviceCode"),
        service_name=text("serviceName"),
        agency_code=text("govAgencyCode"),
        agency_name=text("govAgencyName"),
        applicant_name=text("applicantName"),
        applicant_id_no=text("applicantIdNo"),
        applicant_address=text("address"),
        applicant_phone=text("contactTelNo"),
        status_text=text("dossierStatusText"),
        step_name=text("stepName"),
        submitted_at=parse_central_time(row.get("submitDate")),
        received_at=parse_central_time(row.get("receiveDate")),
        due_at=parse_central_time(row.get("dueDate")),
        released_at=parse_central_time(row.get("releaseDate")),
        finished_at=parse_central_time(row.get("finishDate")),
        online=_truthy(row.get("online")),
        via_postal=_truthy(row.get("viaPostal")),
        central_id=text("dossierId"),
    )


def procedure_from_opencps(row: Any) -> Procedure | None:
    if not isinstance(row, dict) or not row.get("serviceCode") or not row.get("serviceName"):
        return None
    level = row.get("maxLevel")
    return Procedure(
        code=str(row["serviceCode"]).strip(),
        name=" ".join(str(row["serviceName"]).split()),
        field_code=str(row.get("domainCode") or ""),
        field_name=str(row.get("domainName") or ""),
        agency=str(row.get("administrationName") or ""),
        level=int(level) if isinstance(level, int | str) and str(level).isdigit() else None,
        processing_time=str(row.get("durationText") or ""),
        fee=str(row.get("feeText") or ""),
        papers=parse_papers(str(row.get("dossierText") or "")),
    )


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)
