"""Reports over any period for the head of office: `GET /api/v1/reports` and the `/reports` page.

Heads (``head = true`` in the site file's [[officers]]) and administrators only; HTTP Basic works
for scripts. The figures come from hub.reports (summaries in the hub's SQLite file).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, render_template, request

from hub import store as store_module
from hub.reports import DIMENSIONS, PeriodError, alerts, parse_period, retention, worker
from hub.reports.charts import bars
from hub.reports.export import columns_for
from hub.reports.report import DIMENSION_NAMES

from .app import error_response, language
from .security import AuthRefused, known_user, require_user, web
from .texts import load_words, words

log = logging.getLogger("motcua.hub.web")

reports = Blueprint("reports", __name__)

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
TEXTS = load_words("reports")


def _t(key: str, **values: object) -> str:
    return words(TEXTS, key, language(), **values)


def may_see_reports(user: Any) -> bool:
    heads = {o.username for o in web().service.site.officers if getattr(o, "head", False)}
    return bool(user) and (user.admin or user.username in heads)


@reports.record_once
def _expose_alerts(state: Any) -> None:
    context = state.app.extensions["motcua_web"]
    context.metrics.registry.register(alerts.AlertCollector(context.service, store_module.connect))
    retention.run_daily(context.service, context.stopping)


@reports.app_context_processor
def _report_link() -> dict[str, Any]:
    user = known_user()
    allowed = may_see_reports(user)
    return {"can_see_reports": allowed, "service_alerts": _alerts if allowed else list}


def _alerts() -> list[str]:
    """The service-level alerts now, as sentences (heads and administrators see them on every page)."""
    service = web().service
    try:
        conn = store_module.connect(service.db_path)
        try:
            return [alert.message(language()) for alert in alerts.current(service, conn)]
        finally:
            conn.close()
    except Exception:  # an alert banner must never break the page under it
        log.exception("service-level alerts failed")
        return []


def require_head() -> None:
    """A head of office or an administrator (the head role is read from the site file)."""
    if not may_see_reports(require_user()):
        raise AuthRefused("reports_forbidden")


def _today() -> date:
    service = web().service
    return service.engine.day_of(service.clock())


def _request_report() -> tuple[Any, str]:
    period = parse_period(request.args.get("from"), request.args.get("to"), request.args.get("period"),
                          today=_today())  # fmt: skip
    by = request.args.get("by", "service")
    if by not in DIMENSIONS:
        raise PeriodError(f"by: {'|'.join(DIMENSIONS)}")
    return period, by


def _refused(error: PeriodError) -> Response:
    return error_response("bad_request", detail=error.detail)


@reports.get("/api/v1/reports")
def api_reports() -> Response:
    require_head()
    try:
        period, by = _request_report()
    except PeriodError as error:
        return _refused(error)
    fmt = request.args.get("format", "json")
    if fmt not in ("json", *FORMATS):
        return _refused(PeriodError("format: json|csv|xlsx|pdf"))
    body = _compute(period, by, fmt)
    if fmt == "json":
        return Response(_json(body), mimetype="application/json")
    name = f"motcua-bao-cao-{period.start}-{period.end}" + (f"-{by}" if fmt == "csv" else "")
    response = Response(body, mimetype=FORMATS[fmt].split(";")[0])
    response.headers["Content-Type"] = FORMATS[fmt]
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def _compute(period: Any, by: str, fmt: str) -> Any:
    """The report in the report worker process (hub.reports.worker), never on the hub's own CPU."""
    service = web().service
    return worker.run(service.db_path, service.site, period, by, fmt, _today(), language())


def _json(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data, ensure_ascii=False)


def _quick_periods(today: date) -> list[tuple[str, str, str]]:
    month = today.replace(day=1)
    last_month_end = month - timedelta(days=1)
    quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return [
        (_t("today"), today.isoformat(), today.isoformat()),
        (_t("this_month"), month.isoformat(), today.isoformat()),
        (_t("last_month"), last_month_end.replace(day=1).isoformat(), last_month_end.isoformat()),
        (_t("this_quarter"), quarter.isoformat(), today.isoformat()),
        (_t("this_year"), date(today.year, 1, 1).isoformat(), today.isoformat()),
    ]


@reports.get("/reports")
def page() -> Response | str:
    require_head()
    try:
        period, by = _request_report()
    except PeriodError as error:
        return _refused(error)
    if not request.args.get("from") and not request.args.get("period"):
        today = _today()
        from hub.reports import Period

        period = Period(today.replace(day=1), today)
    lang = language()
    report = _compute(period, by, "report")
    labels = [row["name"] for row in report.rows]
    charts = []
    if report.rows:
        charts.append(bars(labels, [(_t("issued"), [r["issued"] for r in report.rows]),
                                    (_t("served"), [r["served"] for r in report.rows])],
                           title=_t("issued_served")))  # fmt: skip
        minutes = [
            (_t(name), [None if r[field] is None else round(r[field] / 60, 1) for r in report.rows])
            for name, field in (("p50", "wait_p50_s"), ("p90", "wait_p90_s"))
        ]
        charts.append(bars(labels, minutes, title=_t("waits"), unit="′"))
        if by == "counter":
            spent = [
                (_t(name), [round(r[field] / 3600, 1) for r in report.rows])
                for name, field in (("open", "open_s"), ("idle", "idle_s"), ("paused", "paused_s"))
            ]
            charts.append(bars(labels, spent, title=_t("counter_time"), unit=" h"))
    query = {"from": period.start.isoformat(), "to": period.end.isoformat(), "by": by}
    en = lang == "en"
    return render_template(
        "reports.html",
        report=report,
        charts=charts,
        query=query,
        rt=_t,
        dims=[(d, DIMENSION_NAMES[d][en]) for d in DIMENSIONS],
        dim_name=DIMENSION_NAMES[by][en],
        columns=[
            (name, head_en if en else head_vi, kind) for name, head_vi, head_en, kind in columns_for(by)
        ],
        quick=_quick_periods(_today()),
        fmt_value=_format,
    )


def _format(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "share":
        return f"{value * 100:.1f}%"
    if kind == "min":
        return f"{value / 60:.1f}"
    if kind == "hours":
        return f"{value / 3600:.1f}"
    if kind == "float":
        return f"{value:.2f}"
    return f"{value:,}".replace(",", ".")
