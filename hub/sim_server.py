"""A simulator's web app on a real socket, served by a thread of its own: the central system's and
the notification gateways' simulators (tests, benchmarks, `motcua demo`)."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from typing import Self

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class BackgroundServer:
    """Serves `app` in a daemon thread; `with` starts and stops it. Subclasses name the thread and
    may quiet the request log with their own handler."""

    thread_name = "sim"
    request_handler: type[WSGIRequestHandler] = WSGIRequestHandler

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_until_signalled(self, program: str, ready: Callable[[], str]) -> int:
        """A simulator's command line: listen, print `ready()`, serve until SIGTERM or Ctrl-C.
        1 when the address cannot be had."""
        try:
            self.start()
        except OSError as error:
            print(f"{program}: cannot listen on {self.host}:{self.port}: {error.strerror}", file=sys.stderr)
            return 1
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        print(ready(), flush=True)
        while not stop.wait(1.0):
            pass
        self.stop()
        return 0

    def _serve(self, app: Flask) -> None:
        self._server = make_server(
            self.host, self.port, app, threaded=True, request_handler=self.request_handler
        )
        self.port = self._server.port  # port 0: the one the system chose, kept for a later start()
        # A short poll so that stop() takes effect at once (central "going down" in tests).
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()

    def _close(self) -> bool:
        """Stop listening; False if it was not serving."""
        if self._server is None:
            return False
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        return True
