"""The hub's web application: HTTP API, officer console, public ticket page, admin, stats.

`create_app` builds the Flask app around a running QueueService; `serve` runs it on werkzeug's
threaded server in a background thread (each server-sent event stream holds one thread, so a small
fixed pool would starve).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Flask, Response, g, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from appliance.i18n import message

from .auth import MIN_PASSWORD_LENGTH, LoginLimiter, UserStore
from .errors import json_error, status_for
from .metrics import WebMetrics
from .security import AuthRefused, WebContext, csrf_token, current_user, web
from .texts import (
    Language,
    counter_short_name,
    counter_title,
    normalise_language,
    role_label,
    status_label,
    text,
)

if TYPE_CHECKING:
    from hub.fleet import FleetRuntime
    from hub.service import QueueService

log = logging.getLogger("motcua.hub.web")

MAX_REQUEST_BYTES = 64 * 1024
LANG_COOKIE = "lang"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


TICKETS_PER_ADDRESS = 20
TICKET_WINDOW_S = 600.0


def create_app(
    service: QueueService,
    *,
    broker_connected: Callable[[], bool],
    devices: Callable[[], list[dict[str, Any]]] | None = None,
    secret_key: bytes | None = None,
    fleet: FleetRuntime | None = None,
    central: Any = None,
    print_receipt: Callable[..., dict[str, Any]] | None = None,
) -> Flask:
    """The web application of the hub. With `fleet` (hub.fleet.FleetRuntime) `/devices` is the fleet
    page (enrolment codes, commands, configuration) and `POST /api/v1/enroll` serves `motcua enroll`.

    Accounts are brought in line with the site configuration here; the one-time passwords of
    accounts created now are in ``one_time_passwords(app)`` for the caller to print once.
    """
    app = Flask(__name__, static_folder="static", template_folder="templates")
    users = UserStore(service.db_path)
    created = users.bootstrap(service.site.officers)
    context = WebContext(
        service=service,
        users=users,
        limiter=LoginLimiter(),
        ticket_limiter=LoginLimiter(max_failures=TICKETS_PER_ADDRESS, window_s=TICKET_WINDOW_S),
        broker_connected=broker_connected,
        devices=devices,
        # The lambda runs at scrape time, when `context` exists.
        metrics=WebMetrics(service, broker_connected, lambda: context.open_streams),
        one_time_passwords=created,
        fleet=fleet,
        central=central,
        print_receipt=print_receipt,
    )
    app.extensions["motcua_web"] = context
    if central is not None:
        from hub.central.metrics import CentralCollector

        context.metrics.registry.register(CentralCollector(central))
    app.config.update(
        SECRET_KEY=secret_key or users.secret_key(),
        SESSION_COOKIE_NAME="motcua_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        JSON_SORT_KEYS=False,
        TEMPLATES_AUTO_RELOAD=False,
        PROPAGATE_EXCEPTIONS=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    from .api import api
    from .fleet import fleet as fleet_pages
    from .pages import pages
    from .rating import rating
    from .reports import reports
    from .results import results

    app.register_blueprint(api)
    app.register_blueprint(pages)
    app.register_blueprint(results)
    app.register_blueprint(fleet_pages)
    app.register_blueprint(reports)
    app.register_blueprint(rating)
    _install_hooks(app)
    _install_error_handlers(app)
    return app


def one_time_passwords(app: Flask) -> dict[str, str]:
    """``{username: password}`` of the accounts `create_app` created without a configured hash."""
    return dict(app.extensions["motcua_web"].one_time_passwords)


def language() -> Language:
    return g.get("lang", "vi")


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in ("/healthz", "/metrics") or (
        request.path.endswith("/events")
    )


def _install_hooks(app: Flask) -> None:
    @app.before_request
    def _choose_language() -> None:
        g.started = time.perf_counter()
        chosen = normalise_language(request.args.get("lang"))
        g.set_lang_cookie = chosen
        g.lang = chosen or normalise_language(request.cookies.get(LANG_COOKIE)) or "vi"

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        # A ticket token is in the page address: never leak it to another site as a Referer.
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if not request.path.startswith("/static/"):
            headers.setdefault("Cache-Control", "no-store")
        if g.get("set_lang_cookie"):
            response.set_cookie(
                LANG_COOKIE, g.set_lang_cookie, max_age=365 * 86400, httponly=True, samesite="Lax"
            )
        rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
        streaming = response.mimetype == "text/event-stream"
        started = g.get("started")
        elapsed = None if streaming or started is None else time.perf_counter() - started
        web().metrics.observe(request.method, rule, response.status_code, elapsed)
        return response

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        lang = language()

        def t(key: str, **values: object) -> str:
            return text(key, lang, **values)

        def lang_url(target: str) -> str:
            args = request.args.to_dict()
            args["lang"] = target
            return request.path + "?" + urlencode(args)

        try:
            user = current_user()
        except AuthRefused:
            user = None
        return {
            "t": t,
            "lang": lang,
            "other_lang": "en" if lang == "vi" else "vi",
            "lang_url": lang_url,
            "user": user,
            "csrf_token": csrf_token,
            "site_name": web().service.site.place.name,
            "status_label": lambda status: status_label(status, lang),
            "minutes": lambda seconds: _minutes(seconds, lang),
            "clock": _clock,
            "counter_short_name": counter_short_name,
            "counter_title": lambda name: counter_title(name, lang),
            "role_label": lambda role: role_label(role, lang),
            "min_password_length": MIN_PASSWORD_LENGTH,
        }


def _minutes(seconds: float | None, lang: Language) -> str:
    if seconds is None:
        return text("none", lang)
    if seconds < 60:
        return text("under_a_minute", lang) if seconds > 0 else text("minutes_short", lang, minutes=0)
    return text("minutes_short", lang, minutes=round(seconds / 60))


def _clock(iso_time: str | None) -> str:
    """HH:MM of an ISO time (site-local already), or an em dash."""
    if not iso_time or len(iso_time) < 16:
        return "—"
    return iso_time[11:16]


def error_response(code: str, status: int | None = None, *, headers: dict[str, str] | None = None,
                   **values: object) -> Response:
    """A refusal as JSON (API, streams) or as a Vietnamese/English page."""
    lang = language()
    status = status or status_for(code)
    page_texts = {
        "not_found": "not_found",
        "method_not_allowed": "method_not_allowed",
        "forbidden": "forbidden_page",
        "internal": "server_error",
        "too_many_logins": "too_many_logins",
        "busy": "too_many_streams",
    }
    words = text(page_texts[code], lang, **values) if code in page_texts else message(code, lang, **values)
    if wants_json():
        response = json_error(code, words, status)
    else:
        response = Response(
            render_template("error.html", code=code, status=status, words=words), status=status
        )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(AuthRefused)
    def _auth_refused(error: AuthRefused) -> Response:
        from flask import redirect, url_for

        if error.code == "login_required" and not wants_json():
            return redirect(url_for("pages.login", next=request.full_path.rstrip("?")))  # type: ignore[return-value]
        headers: dict[str, str] = {}
        if error.code == "login_failed" and g.get("auth_method") == "basic":
            headers["WWW-Authenticate"] = 'Basic realm="motcua", charset="UTF-8"'
        if error.retry_after:
            headers["Retry-After"] = str(max(1, round(error.retry_after)))
        return error_response(error.code, headers=headers, **error.values)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code = {
            400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
        }.get(status, "internal" if status >= 500 else "bad_request")
        values: dict[str, object] = {"detail": error.description or "", "limit": MAX_REQUEST_BYTES}
        if code == "bad_request":
            values["detail"] = "HTTP " + str(status)
        return error_response(code, status, **values)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        # Never a traceback to the user; one log line with it for the technician.
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response("internal", 500)


# -- serving ----------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    """Request lines go to the debug log, not to stderr: the hub logs what matters itself."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug('%s "%s" %s %s', self.address_string(), self.requestline, code, size)

    def log_error(self, format: str, *args: Any) -> None:
        log.debug("http: " + format, *args)


class WebServer:
    """The app on werkzeug's threaded server, in a background thread. `shutdown()` is idempotent."""

    def __init__(self, app: Flask, host: str, port: int) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_QuietHandler
        )
        self.host = host
        self.port: int = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="hub-web", daemon=True
        )
        self._stopped = False

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> WebServer:
        self._thread.start()
        log.info("web server listening on %s", self.url)
        return self

    def shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        # Open event streams notice this within a second and end, freeing their threads.
        self.app.extensions["motcua_web"].stopping.set()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> WebServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def serve(app: Flask, host: str, port: int) -> WebServer:
    """Start serving `app` on host:port (0 = a free port: read `.port`) in a background thread."""
    return WebServer(app, host, port).start()
