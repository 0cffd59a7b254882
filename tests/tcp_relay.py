"""A TCP relay on loopback that a test can cut and mend: the network between the app and its
database failing, as a switch or a firewall makes it fail, with the real server behind it.

``cut()`` closes every connection through the relay and refuses new ones (the app's connection
pool then sees a server that does not answer); ``mend()`` lets connections through again.
"""

from __future__ import annotations

import socket
import threading


class TcpRelay:
    """Forward ``127.0.0.1:<port>`` to ``target`` (host, port) until :meth:`close`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database_url: str) -> str:
        """``database_url`` pointed at the relay instead of the server."""
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(database_url)
        user = f"{parts.username}@" if parts.username else ""
        return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{self.port}"))

    def cut(self) -> None:
        self._open.clear()
        with self._lock:
            for sock in self._sockets:
                _shut(sock)
            self._sockets.clear()

    def mend(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        _shut(self._listener)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._open.is_set():
                _shut(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                _shut(client)
                continue
            with self._lock:
                self._sockets.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while block := source.recv(65536):
                sink.sendall(block)
        except OSError:
            pass
        finally:
            _shut(source)
            _shut(sink)
            with self._lock:
                self._sockets.discard(source)
                self._sockets.discard(sink)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
