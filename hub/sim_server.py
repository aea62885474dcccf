"""A simulator's web app on a real socket, served by a thread of its own: the central system's and
the notification gateways' simulators (tests, benchmarks, `motcua demo`).

Connections are kept alive (hub.wsgi_keepalive, the hub's own server), as the real systems keep
them: the hub's clients reuse theirs instead of opening one per request.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from typing import Self

from flask import Flask

from hub.wsgi_keepalive import KeepAliveServer


class BackgroundServer:
    """Serves an app in a daemon thread; `with` starts and stops it. Subclasses build the app in
    `start()` (then `_serve(app)`) and name the thread."""

    thread_name = "sim"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: KeepAliveServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def connections(self) -> int:
        """Connections accepted since the last start()."""
        return self._server.connections if self._server is not None else 0

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        self._close()

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
        self._server = KeepAliveServer((self.host, self.port), app)
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
        """Stop listening and end the connections kept alive; False if it was not serving."""
        if self._server is None:
            return False
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        return True
