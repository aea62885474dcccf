"""A threaded WSGI server that keeps HTTP/1.1 connections alive, for the simulators that stand in
for other systems (hub.central_sim).

werkzeug's development server closes every connection after its answer. A real central system
keeps them open, and the hub's relay (urllib3's pool) reuses them; against werkzeug the relay opened
a TCP connection, and the simulator a thread, for every queue event — on the cores the demo's hub
answers counters on. Request bodies are read whole before the application runs (a simulator's
bodies are small), so nothing unread is ever taken for the next request.
"""

from __future__ import annotations

import io
import socketserver
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

IDLE_TIMEOUT_S = 60.0  # a connection nobody uses is closed (its thread ends)
MAX_BODY = 16 << 20


class _Handler(ServerHandler):
    http_version = "1.1"
    closing = False

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        # wsgiref refuses hop-by-hop headers from the application; "Connection: close" (a stopped
        # simulator's answer) is honoured here instead.
        kept = [(name, value) for name, value in headers if name.lower() != "connection"]
        if len(kept) != len(headers):
            self.closing = True
        return super().start_response(status, kept, exc_info)

    def cleanup_headers(self) -> None:
        super().cleanup_headers()
        # Without a length, the client can only tell where the answer ends by the connection closing.
        if self.closing or "Content-Length" not in self.headers:
            self.headers["Connection"] = "close"
            self.request_handler.close_connection = True  # type: ignore[attr-defined]


class _RequestHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S
    # wsgiref writes the status, the headers and the body in separate sends: on a kept connection
    # Nagle's algorithm holds the body back until the client's delayed ACK (40 ms per answer).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle(self) -> None:
        """http.server's loop (wsgiref's handler answers one request per connection)."""
        self.close_connection = True
        try:
            self.handle_one_request()
            while not self.close_connection:
                self.handle_one_request()
        except (ConnectionError, TimeoutError):
            pass

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline or len(self.raw_requestline) > 65536:
            self.close_connection = True
            return
        if not self.parse_request():
            return
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.send_error(411)  # bodies of unknown length are not read here
            self.close_connection = True
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.send_error(400)
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        handler = _Handler(
            io.BytesIO(body), self.wfile, self.get_stderr(), self.get_environ(), multithread=True
        )
        handler.request_handler = self  # type: ignore[attr-defined]
        handler.run(self.server.get_app())  # type: ignore[attr-defined]


class KeepAliveServer(socketserver.ThreadingMixIn, WSGIServer):
    """`KeepAliveServer((host, port), app)`; `.port` is the port bound (0 asks for a free one)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: Any) -> None:
        super().__init__(address, _RequestHandler)
        self.set_app(app)
        self.connections = 0  # accepted so far (tests: a client reuses its connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections += 1  # the serving thread only: no lock needed
        super().process_request(request, client_address)

    @property
    def port(self) -> int:
        return int(self.server_address[1])
