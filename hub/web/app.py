"""The hub's web application: HTTP API, officer console, public ticket page, admin, stats.

`create_app` builds the Flask app around a running QueueService; `serve` runs it on the threaded
keep-alive server (hub.wsgi_keepalive) in a background thread: a console keeps its connection from
action to action (over HTTPS, one handshake, not one per action), and each server-sent event
stream holds one thread, so a small fixed pool would starve.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, g, render_template, request
from werkzeug.exceptions import HTTPException

from appliance.i18n import message
from hub.wsgi_keepalive import KeepAliveServer

from .auth import MIN_PASSWORD_LENGTH, LoginLimiter, UserStore
from .errors import json_error, status_for
from .metrics import WebMetrics
from .security import AuthRefused, WebContext, csrf_token, known_user, web
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
    from hub.site import HubConfig

log = logging.getLogger("motcua.hub.web")

MAX_REQUEST_BYTES = 64 * 1024
LANG_COOKIE = "lang"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def create_app(
    service: QueueService,
    *,
    broker_connected: Callable[[], bool],
    devices: Callable[[], list[dict[str, Any]]] | None = None,
    secret_key: bytes | None = None,
    fleet: FleetRuntime | None = None,
    central: Any = None,
    print_receipt: Callable[..., dict[str, Any]] | None = None,
    https: bool = False,
    hsts_max_age_s: int = 0,
) -> Flask:
    """The web application of the hub. With `fleet` (hub.fleet.FleetRuntime) `/devices` is the fleet
    page (enrolment codes, commands, configuration) and `POST /api/v1/enroll` serves `motcua enroll`.

    Accounts are brought in line with the site configuration here; the one-time passwords of
    accounts created now are in ``one_time_passwords(app)`` for the caller to print once.
    """
    app = Flask(__name__, static_folder="static", template_folder="templates")
    users = UserStore(service.db_path)
    created = users.bootstrap(service.site.officers)
    limits = service.site.limits
    context = WebContext(
        service=service,
        users=users,
        limiter=LoginLimiter(limits.login_attempts_per_address, limits.login_window_s),
        ticket_limiter=LoginLimiter(limits.public_tickets_per_address, limits.public_ticket_window_s),
        password_limiter=LoginLimiter(limits.login_attempts_per_address, limits.login_window_s),
        enrol_limiter=LoginLimiter(limits.login_attempts_per_address, limits.login_window_s),
        max_streams=limits.max_streams,
        officer_streams=limits.officer_streams,
        anonymous_streams_per_address=limits.anonymous_streams_per_address,
        https=https,
        hsts_max_age_s=hsts_max_age_s,
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
        # Over HTTPS the session never travels in clear (HTTP only redirects there).
        SESSION_COOKIE_SECURE=https,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        JSON_SORT_KEYS=False,
        TEMPLATES_AUTO_RELOAD=False,
        PROPAGATE_EXCEPTIONS=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    from .admin_api import admin_api
    from .admin_pages import admin_pages
    from .api import api
    from .fleet import fleet as fleet_pages
    from .pages import pages
    from .rating import rating
    from .reports import reports
    from .results import results

    app.register_blueprint(api)
    app.register_blueprint(admin_api)
    app.register_blueprint(admin_pages)
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
    return (
        request.path.startswith("/api/")
        or request.path in ("/healthz", "/metrics")
        or (request.path.endswith("/events"))
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
        context = web()
        if context.https and context.hsts_max_age_s > 0:
            headers.setdefault("Strict-Transport-Security", f"max-age={context.hsts_max_age_s}")
        if g.get("set_lang_cookie"):
            response.set_cookie(
                LANG_COOKIE,
                g.set_lang_cookie,
                max_age=365 * 86400,
                httponly=True,
                samesite="Lax",
                secure=context.https,
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

        user = known_user()
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


def error_response(
    code: str, status: int | None = None, *, headers: dict[str, str] | None = None, **values: object
) -> Response:
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

    from .api import BadInput

    @app.errorhandler(BadInput)
    def _bad_input(error: BadInput) -> Response:
        # Every blueprint's JSON reader raises it; one handler for all of them.
        return error_response(error.code, **error.values)

    @app.errorhandler(RecursionError)
    def _too_deep(error: RecursionError) -> Response:
        # Nested input a parser gave up on (JSON, a form): the request is bad, the hub is fine.
        log.info("refused %s %s: input nested too deeply", request.method, request.path)
        return error_response("bad_json", 400)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code = {
            400: "bad_request",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
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


def _https_redirect(https_port: int) -> Callable[[dict[str, Any], Callable[..., Any]], list[bytes]]:
    """The plain-HTTP side of an HTTPS hub: every request is sent to the same path over HTTPS."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        host = (environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or "localhost").rsplit(":", 1)[0]
        if host.startswith("[") is False and ":" in host:  # a bare IPv6 address
            host = f"[{host}]"
        if not all(c.isalnum() or c in ".-[]:" for c in host):
            host = "localhost"
        path = environ.get("RAW_URI") or environ.get("PATH_INFO") or "/"
        query = environ.get("QUERY_STRING")
        target = f"https://{host}:{https_port}{path if path.startswith('/') else '/'}"
        if query and "?" not in target:
            target += "?" + query
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            status = "301 Moved Permanently"
        else:
            status = "308 Permanent Redirect"
        start_response(status, [("Location", target), ("Content-Length", "0"), ("Cache-Control", "no-store")])
        return [b""]

    return application


class WebServer:
    """The app on the keep-alive server, in a background thread. `shutdown()` is idempotent.

    With `tls` the app is served over HTTPS on `port` and, when `redirect_port` is given, plain HTTP
    there answers only with a redirect to HTTPS.
    """

    def __init__(
        self,
        app: Flask,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None = None,
        redirect_port: int | None = None,
        connections_per_address: int = 64,
        idle_timeout_s: float = 30.0,
    ) -> None:
        self.app = app
        limits: dict[str, Any] = {
            "connections_per_address": connections_per_address,
            "idle_timeout_s": idle_timeout_s,
            # Flask answers bodies over MAX_REQUEST_BYTES with its 413; far bigger ones are not
            # even read (a stranger cannot make the hub hold megabytes per connection).
            "max_body": 4 * MAX_REQUEST_BYTES,
        }
        self._server = KeepAliveServer((host, port), app, tls=tls, **limits)
        self.host = host
        self.port: int = self._server.server_port
        self.scheme = "https" if tls is not None else "http"
        self._servers: list[KeepAliveServer] = [self._server]
        self.redirect_port: int | None = None
        if tls is not None and redirect_port is not None:
            redirect = KeepAliveServer((host, redirect_port), _https_redirect(self.port), **limits)
            self._servers.append(redirect)
            self.redirect_port = redirect.server_port
        self._threads = [
            threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.2},
                name="hub-web" if index == 0 else "hub-web-redirect",
                daemon=True,
            )
            for index, server in enumerate(self._servers)
        ]
        self._stopped = False

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def start(self) -> WebServer:
        for thread in self._threads:
            thread.start()
        log.info("web server listening on %s", self.url)
        if self.redirect_port is not None:
            log.info("plain HTTP on port %d redirects to %s", self.redirect_port, self.url)
        if self.scheme == "http":
            log.info("the web is served in clear (plain HTTP): for a demo only")
        return self

    def shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        # Open event streams notice this within a second and end, freeing their threads.
        self.app.extensions["motcua_web"].stopping.set()
        for server, thread in zip(self._servers, self._threads, strict=True):
            if thread.is_alive():
                server.shutdown()
                thread.join(timeout=5)
            server.server_close()

    def __enter__(self) -> WebServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def serve(app: Flask, host: str, port: int, **options: Any) -> WebServer:
    """Start serving `app` on host:port (0 = a free port: read `.port`) in a background thread.
    `options` are WebServer's (tls, redirect_port, connections_per_address, idle_timeout_s)."""
    return WebServer(app, host, port, **options).start()


def serve_site(app: Flask, config: HubConfig) -> WebServer:
    """Serve the hub's app as the site file says: HTTPS on `https_port` (with a configured
    certificate, or the site CA's, made now if missing) and plain HTTP on `http_port` redirecting
    to it; or, with `https = false`, plain HTTP only."""
    hub, limits = config.hub, config.limits
    options: dict[str, Any] = {
        "connections_per_address": limits.connections_per_address,
        "idle_timeout_s": limits.idle_timeout_s,
    }
    if not hub.https:
        log.warning("HTTPS is off ([hub] https = false): passwords and sessions cross the network in clear")
        return serve(app, hub.http_host, hub.http_port, **options)
    from .tls import SiteCertificates, default_hosts, ensure_site_certificates, server_context

    if hub.tls_cert_file and hub.tls_key_file:
        certificates = SiteCertificates(Path(hub.tls_cert_file), Path(hub.tls_key_file), None)
    else:
        public_host = urlsplit(hub.public_url).hostname
        hosts = [*hub.tls_hosts, *([public_host] if public_host else []), *default_hosts()]
        if hub.http_host not in ("0.0.0.0", "::", ""):
            hosts.append(hub.http_host)
        certificates = ensure_site_certificates(hub.tls_folder(), hosts, site=config.site)
    app.extensions["motcua_web"].site_ca = certificates.ca_pem()
    return serve(
        app,
        hub.http_host,
        hub.https_port,
        tls=server_context(certificates),
        redirect_port=hub.http_port,
        **options,
    )
