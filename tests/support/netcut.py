"""A TCP relay whose link can be cut the way a commune's line drops: no FIN, no RST, packets just
stop (`cut`), so each end learns of it only through its own keep-alive. `restore` closes what was
held (both ends reconnect) and relays again. For the province's offline tests and benchmark."""

from __future__ import annotations

import contextlib
import socket
import threading

from appliance.broker import find_free_port


class LinkCut:
    def __init__(self, target_port: int, *, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self.port = find_free_port()
        self._cut = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._server = socket.create_server((host, self.port))
        self._closed = False
        threading.Thread(target=self._accept, name="linkcut", daemon=True).start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self._track(client)
            if self._cut.is_set():  # a reconnection attempt during the cut: held, never answered
                threading.Thread(target=self._pump, args=(client, None), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self._track(upstream)
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket | None) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if self._cut.is_set() or sink is None:
                    continue  # lost on the line
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                if sock is not None and not self._cut.is_set():
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self._cut.set()

    def restore(self) -> None:
        """The line is back: what was held is closed (both ends see it and reconnect)."""
        with self._lock:
            held, self._sockets = self._sockets, []
        self._cut.clear()
        for sock in held:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._closed = True
        self._server.close()
        self.restore()
