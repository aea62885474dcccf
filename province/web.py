"""The province pages and API: every site live, reports across sites (xlsx), the fleet, templates.

Login is HTTP Basic over the accounts of province.toml: a province admin sees every site and
publishes templates; a site head sees only their own site, read-only. Behind the province's reverse
proxy (TLS) in production; the service itself speaks plain HTTP on the address configured.
"""

from __future__ import annotations

import functools
import io
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from flask import Flask, Response, abort, g, jsonify, render_template_string, request
from werkzeug.security import check_password_hash
from werkzeug.serving import make_server

from appliance.template_kinds import TEMPLATE_KINDS
from appliance.timeutil import now

from .config import ProvinceConfig, User
from .store import ProvinceStore
from .texts import PAGE

BY = ("site", "service", "day")
FLEET_PAGE = 200
MAX_REPORT_DAYS = 366 * 3


class StorePool:
    """A few PostgreSQL connections shared by the request threads."""

    def __init__(self, dsn: str, size: int = 4) -> None:
        self.dsn = dsn
        self._free: queue.LifoQueue[ProvinceStore] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)

    @contextmanager
    def store(self) -> Iterator[ProvinceStore]:
        with self._slots:
            try:
                store = self._free.get_nowait()
            except queue.Empty:
                store = ProvinceStore(self.dsn, migrate_schema=False)
            try:
                yield store
            except Exception:
                store.close()
                raise
            else:
                self._free.put(store)


def _denied() -> Response:
    return Response(
        "Cần đăng nhập / Login required\n",
        401,
        {"WWW-Authenticate": 'Basic realm="motcua province", charset="UTF-8"'},
    )


def create_app(config: ProvinceConfig) -> Flask:
    app = Flask("province")
    pool = StorePool(config.dsn)
    users = {user.username: user for user in config.users}
    app.extensions["province_pool"] = pool

    def login_required(admin: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(view)
            def inner(*args: Any, **kwargs: Any) -> Any:
                auth = request.authorization
                user = users.get(auth.username) if auth and auth.username else None
                if user is None or not check_password_hash(user.password_hash, auth.password or ""):  # type: ignore[union-attr]
                    return _denied()
                if admin and user.role != "admin":
                    abort(403)
                g.user = user
                return view(*args, **kwargs)

            return inner

        return wrap

    def scope() -> str | None:
        """The one site a site head may see; None for a province admin (every site)."""
        user: User = g.user
        return user.site if user.role == "site_head" else None

    def period() -> tuple[date, date]:
        today = now().date()
        try:
            start = date.fromisoformat(request.args.get("from") or (today - timedelta(days=6)).isoformat())
            end = date.fromisoformat(request.args.get("to") or today.isoformat())
        except ValueError:
            abort(400, "from/to: YYYY-MM-DD")
        if end < start or (end - start).days > MAX_REPORT_DAYS:
            abort(400, "period")
        return start, end

    @app.get("/healthz")
    def healthz() -> Any:
        with pool.store() as store:
            store.conn.execute("SELECT 1")
        return jsonify({"ok": True})

    @app.get("/api/v1/province/sites")
    @login_required()
    def api_sites() -> Any:
        with pool.store() as store:
            sites = store.sites(now(), only=scope())
        return jsonify(sites)

    @app.get("/api/v1/province/devices")
    @login_required()
    def api_devices() -> Any:
        site = scope() or request.args.get("site") or None
        with pool.store() as store:
            devices = store.devices(site=site)
        return jsonify([_device(d) for d in devices])

    def report() -> tuple[date, date, str, list[dict[str, Any]]]:
        """The period and grouping a report asks for, and its rows (400 for an unknown grouping)."""
        start, end = period()
        by = request.args.get("by", "site")
        if by not in BY:
            abort(400, "by: site | service | day")
        with pool.store() as store:
            return start, end, by, store.report(start, end, by, site=scope())

    @app.get("/api/v1/province/reports")
    @login_required()
    def api_reports() -> Any:
        start, end, by, rows = report()
        if request.args.get("format") == "xlsx":
            return _xlsx(rows, by, start, end)
        return jsonify([_report_row(r) for r in rows])

    @app.get("/province")
    @login_required()
    def page_sites() -> Any:
        return render_template_string(PAGE, view="sites", user=g.user)

    @app.get("/province/reports")
    @login_required()
    def page_reports() -> Any:
        start, end, by, rows = report()
        return render_template_string(
            PAGE,
            view="reports",
            user=g.user,
            rows=[_report_row(r) for r in rows],
            by=by,
            start=start,
            end=end,
        )

    @app.get("/province/templates")
    @login_required()
    def page_templates() -> Any:
        from .templates import template_results

        with pool.store() as store:
            rows = template_results(store, site=scope())
        return render_template_string(PAGE, view="templates", user=g.user, rows=rows, kinds=TEMPLATE_KINDS)

    @app.get("/province/fleet")
    @login_required()
    def page_fleet() -> Any:
        site = scope() or request.args.get("site") or None
        status = request.args.get("status", "")
        text = (request.args.get("q") or "").strip().lower()
        page = max(0, int(request.args.get("page", "0") or 0))
        with pool.store() as store:
            devices = [_device(d) for d in store.devices(site=site)]
        if status == "offline":
            devices = [d for d in devices if d["online"] is False]
        if text:
            devices = [d for d in devices if text in d["device_id"].lower() or text in (d["role"] or "")]
        total = len(devices)
        shown = devices[page * FLEET_PAGE : (page + 1) * FLEET_PAGE]
        return render_template_string(
            PAGE,
            view="fleet",
            user=g.user,
            devices=shown,
            total=total,
            offline=sum(1 for d in devices if d["online"] is False),
            page=page,
            pages=max(1, -(-total // FLEET_PAGE)),
            site=site or "",
            status=status,
            q=text,
        )

    @app.post("/api/v1/province/templates")
    @login_required(admin=True)
    def api_publish_template() -> Any:
        from .templates import TemplateError, publish_template

        data = request.get_json(silent=True)
        if not isinstance(data, dict) or "body" not in data:
            abort(400, "JSON {kind, body, name?, sites?}")
        sites = data.get("sites")
        if sites is not None and not (isinstance(sites, list) and all(isinstance(x, str) for x in sites)):
            abort(400, "sites: a list of site ids")
        overridable = data.get("overridable") or []
        if not (isinstance(overridable, list) and all(isinstance(x, str) for x in overridable)):
            abort(400, "overridable: a list of field names")
        try:
            with pool.store() as store:
                sent = publish_template(
                    store,
                    config.mqtt,
                    kind=str(data.get("kind")),
                    body=data["body"],
                    name=str(data.get("name") or data.get("kind")),
                    sites=sites,
                    overridable=overridable,
                )
        except TemplateError as error:
            return jsonify({"ok": False, "error": str(error)}), 400
        return jsonify({"ok": True, **sent}), 201

    @app.get("/api/v1/province/templates")
    @login_required()
    def api_templates() -> Any:
        from .templates import template_results

        with pool.store() as store:
            return jsonify(template_results(store, site=scope()))

    return app


def _device(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "site": row["site"],
        "device_id": row["device_id"],
        "role": row["role"],
        "online": row["online"],
        "version": row["version"],
        "last_seen": row["last_seen"].isoformat() if row["last_seen"] else None,
        "since": row["changed_at"].isoformat() if row["changed_at"] else None,
        "paper": row["paper"],
    }


def _report_row(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("wait_p50_s", "wait_p90_s", "wait_max_s", "service_p50_s"):
        out[key] = round(float(out[key])) if out[key] is not None else None
    out["rating_avg"] = round(float(out["rating_avg"]), 2) if out["rating_avg"] is not None else None
    return out


REPORT_COLUMNS = (
    ("issued", "Số phiếu đã cấp", "int"),
    ("served", "Đã phục vụ", "int"),
    ("no_show", "Vắng mặt", "int"),
    ("cancelled", "Đã hủy", "int"),
    ("priority", "Ưu tiên", "int"),
    ("wait_p50_s", "Chờ trung vị (phút)", "min"),
    ("wait_p90_s", "Chờ P90 (phút)", "min"),
    ("wait_max_s", "Chờ lâu nhất (phút)", "min"),
    ("service_p50_s", "Phục vụ trung vị (phút)", "min"),
    ("ratings", "Lượt đánh giá", "int"),
    ("rating_avg", "Điểm đánh giá TB", "float"),
)
BY_HEADER = {"site": "Điểm một cửa", "service": "Lĩnh vực", "day": "Ngày"}


def _xlsx(rows: list[dict[str, Any]], by: str, start: date, end: date) -> Response:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = f"Theo {BY_HEADER[by].lower()}"[:31]
    sheet.append([f"Báo cáo toàn tỉnh {start.isoformat()} – {end.isoformat()}"])
    sheet.append([BY_HEADER[by], *(header for _, header, _ in REPORT_COLUMNS)])
    for raw in rows:
        row = _report_row(raw)
        values: list[Any] = [row["key"]]
        for name, _, kind in REPORT_COLUMNS:
            value = row[name]
            if kind == "min" and value is not None:
                value = round(value / 60, 1)
            values.append(value)
        sheet.append(values)
    buffer = io.BytesIO()
    book.save(buffer)
    name = f"motcua-tinh-{by}-{start.isoformat()}-{end.isoformat()}.xlsx"
    return Response(
        buffer.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class ProvinceServer:
    def __init__(self, app: Flask, host: str, port: int) -> None:
        self.server = make_server(host, port, app, threaded=True)
        self.host = host
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, name="province-web", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ProvinceServer:
        self.thread.start()
        return self

    def shutdown(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


def serve(config: ProvinceConfig, app: Flask | None = None) -> ProvinceServer:
    return ProvinceServer(app or create_app(config), config.web_host, config.web_port).start()
