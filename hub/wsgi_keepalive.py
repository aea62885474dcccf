"""The one HTTP server of the hub's web and of the simulators that stand in for other systems: a
threaded WSGI server that keeps HTTP/1.1 connections alive.

werkzeug's development server closes every connection after its answer: a console over HTTPS paid
a TLS handshake (and the hub a new thread) per action, and the relay a TCP connection per queue
event against the central simulator. Here a connection serves request after request until the
client closes it, or it has been idle for `idle_timeout_s` (a stranger cannot hold a thread
forever), or an answer has no Content-Length (an event stream: it ends with the connection).

Request bodies are read whole, up to `max_body`, before the application runs, so nothing unread is
ever taken for the next request. One address holds at most `connections_per_address` connections
(idle sockets from one machine cannot take every thread and descriptor from the officers). With
`tls`, the handshake happens in the connection's own thread under the idle timeout, never in the
thread that accepts connections for everyone.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import socketserver
import ssl
import sys
import threading
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

log = logging.getLogger("motcua.http")

IDLE_TIMEOUT_S = 60.0  # a connection nobody uses is closed (its thread ends)
MAX_BODY = 16 << 20
LISTEN_QUEUE = 128  # socketserver's 5 refuses a morning's burst of consoles and kiosks


class _Response(ServerHandler):
    http_version = "1.1"
    closing = False
    # wsgiref copies the process's environment into every request; the apps need none of it.
    os_environ: dict[str, str] = {}

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

    def log_exception(self, exc_info: Any) -> None:
        log.error("http: the application failed", exc_info=exc_info)


class KeepAliveHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "motcua"
    # wsgiref writes the status, the headers and the body in separate sends: on a kept connection
    # Nagle's algorithm holds the body back until the client's delayed ACK (40 ms per answer).
    disable_nagle_algorithm = True
    # Buffered: the status line, the headers and a short body leave in one send (wsgiref flushes
    # after each piece of the body, so a stream's events still go out at once).
    wbufsize = -1
    server: KeepAliveServer

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout_s
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def handle(self) -> None:
        """http.server's loop (wsgiref's handler answers one request per connection)."""
        self.close_connection = True
        try:
            self.handle_one_request()
            while not self.close_connection:
                self.handle_one_request()
        except (ConnectionError, TimeoutError, ssl.SSLError) as error:
            log.debug("http: connection from %s ended: %s", self.client_address[0], error)

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline or len(self.raw_requestline) > 65536:
            self.close_connection = True
            return
        if not self.parse_request():  # answered with an error already
            self.wfile.flush()
            return
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self._refuse(411)  # bodies of unknown length are not read here
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._refuse(400)
            return
        if length > self.server.max_body:
            self._refuse(413)
            return
        if length and (self.headers.get("Expect") or "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()
        body = self.rfile.read(length) if length else b""
        if len(body) < length:  # the client went away mid-body
            self.close_connection = True
            return
        handler = _Response(io.BytesIO(body), self.wfile, sys.stderr, self.get_environ(), multithread=True)
        handler.request_handler = self  # type: ignore[attr-defined]
        handler.run(self.server.get_app())  # type: ignore[arg-type]
        self.wfile.flush()

    def _refuse(self, code: int) -> None:
        self.close_connection = True
        self.send_error(code)
        self.wfile.flush()

    def get_environ(self) -> dict[str, str]:
        environ = super().get_environ()
        environ["REQUEST_URI"] = environ["RAW_URI"] = self.path
        if isinstance(self.connection, ssl.SSLSocket):
            environ["HTTPS"] = "on"  # wsgi.url_scheme follows
        return environ

    def version_string(self) -> str:
        return self.server_version  # the Server header: no Python version for a stranger to read

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug('%s "%s" %s %s', self.client_address[0], self.requestline, code, size)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: " + format, *args)


class KeepAliveServer(socketserver.ThreadingMixIn, WSGIServer):
    """`KeepAliveServer((host, port), app)`; `.port` is the port bound (0 asks for a free one).

    A thread per connection (an event stream holds one for as long as it lasts, so a fixed pool
    would starve); `server_close()` also ends the connections waiting idle for a next request.
    """

    daemon_threads = True
    block_on_close = False  # idle connections are shut below, streams end by their app's signal
    request_queue_size = LISTEN_QUEUE

    def __init__(
        self,
        address: tuple[str, int],
        app: Any,
        *,
        tls: ssl.SSLContext | None = None,
        connections_per_address: int | None = None,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        max_body: int = MAX_BODY,
        handler: type[KeepAliveHandler] = KeepAliveHandler,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.tls = tls
        self.connections_per_address = connections_per_address
        self.idle_timeout_s = idle_timeout_s
        self.max_body = max_body
        self._open: dict[str, int] = {}
        self._peers: dict[int, tuple[str, socket.socket]] = {}  # id(connection) → address, socket
        self._open_lock = threading.Lock()
        self.connections = 0  # accepted so far (tests: a client reuses its connections)
        self.refused_connections = 0
        super().__init__(address, handler)
        self.set_app(app)

    def server_bind(self) -> None:
        # HTTPServer asks DNS for the host's full name: slow or hanging where DNS is unreachable.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)
        self.setup_environ()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def get_request(self) -> tuple[Any, Any]:
        connection, address = self.socket.accept()
        if self.tls is not None:
            connection = self.tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def verify_request(self, request: Any, client_address: Any) -> bool:
        host = str(client_address[0]) if isinstance(client_address, tuple) else "?"
        with self._open_lock:
            held = self._open.get(host, 0)
            if self.connections_per_address is not None and held >= self.connections_per_address:
                self.refused_connections += 1
                if self.refused_connections in (1, 100) or self.refused_connections % 10_000 == 0:
                    log.warning("refusing connections from %s: it holds %d open (limit)", host, held)
                return False
            self._open[host] = held + 1
            self._peers[id(request)] = (host, request)
            self.connections += 1
        return True

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        with self._open_lock:
            host, _ = self._peers.pop(id(request), (None, None))
            if host is None:  # refused by verify_request: never counted
                return
            left = self._open.get(host, 0) - 1
            if left > 0:
                self._open[host] = left
            else:
                self._open.pop(host, None)

    def server_close(self) -> None:
        super().server_close()
        with self._open_lock:
            kept = [connection for _, connection in self._peers.values()]
        for connection in kept:
            # The plain socket's shutdown: an SSL socket's would pull TLS from under a writer.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(connection, socket.SHUT_RD)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that vanished or failed its TLS handshake: not worth a traceback on stderr.
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            log.debug("http: connection from %s failed: %s", client_address, error)
        else:
            log.exception("http: connection from %s failed", client_address)
