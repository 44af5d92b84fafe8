"""Serving the sandboxes: a threaded Werkzeug server in a background thread, with HTTP/1.1
keep-alive, optional TLS, and a way to drop a connection without answering (fault injection).
"""

from __future__ import annotations

import contextlib
import io
import socket
import ssl
import threading
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

__all__ = ["BackgroundServer", "ConnectionDropped", "drop_connection"]


class ConnectionDropped(ConnectionError):
    """Raised inside a WSGI app after :func:`drop_connection`; Werkzeug then stays silent."""


def drop_connection(environ: dict[str, Any]) -> None:
    """Close the client's connection without a response, then raise :class:`ConnectionDropped`.

    Werkzeug treats a ``ConnectionError`` from the app as "client went away" and writes
    nothing, so the client sees the connection close with no answer.
    """
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already gone: the effect we want
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    raise ConnectionDropped("sandbox fault: connection dropped after applying the write")


class _RequestBody(io.RawIOBase):
    """The request body of one kept-alive request: never reads past ``Content-Length``.

    Werkzeug's handler drains "leftover" input after each response by reading whatever the
    socket has; on a kept-alive connection that is the *next* request. Bounding the stream
    makes that drain read nothing, and :meth:`discard_rest` consumes what the app left unread.
    """

    def __init__(self, raw: Any, length: int) -> None:
        super().__init__()
        self._raw = raw
        self._left = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        data = self._raw.read(min(len(buffer), self._left))
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)

    def discard_rest(self) -> None:
        while self._left > 0 and self.read(min(self._left, 65536)):
            pass


class _KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1 keep-alive for requests with a ``Content-Length`` (or no body), TCP_NODELAY,
    and no access log line per request.

    Werkzeug's development handler answers every request with ``Connection: close``, so each
    call would pay a TCP + TLS handshake; with keep-alive the sandboxes serve thousands of
    small calls per second. Chunked request bodies still close the connection.
    """

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out as separate writes: without TCP_NODELAY, Nagle's algorithm
        # and the client's delayed ACK add ~40 ms to every kept-alive response
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            self.close_connection = True
            return
        if not self.parse_request():
            return
        length = self.headers.get("Content-Length", "0").strip()
        self._keep_alive = "Transfer-Encoding" not in self.headers and length.isdigit()
        if not self._keep_alive:
            self.run_wsgi()
            self.close_connection = True
            return
        raw, body = self.rfile, _RequestBody(self.rfile, int(length))
        self.rfile = io.BufferedReader(body)
        try:
            self.run_wsgi()
            body.discard_rest()
        finally:
            self.rfile = raw

    def send_header(self, keyword: str, value: str) -> None:
        keep = getattr(self, "_keep_alive", False)
        if keep and keyword.lower() == "connection" and value.lower() == "close":
            return
        super().send_header(keyword, value)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class BackgroundServer:
    """A threaded Werkzeug server for a WSGI app in a daemon thread (TLS if ``ssl_context``)."""

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._server = make_server(
            host,
            port,
            app,
            threaded=True,
            ssl_context=ssl_context,
            request_handler=_KeepAliveHandler,
        )
        # threaded=True makes a ThreadingMixIn server; kept-alive connections must neither
        # outlive the process nor block stop()
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self._server.block_on_close = False  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            # a short poll interval makes stop() quick (the default waits up to 0.5 s)
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{self.port}",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
