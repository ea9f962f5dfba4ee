"""Counting what a process asks of its real servers, on the wire.

``CountingProxy`` sits between a client and the real server (the Docker
engine on its unix socket, MariaDB on TCP), forwards every byte both ways
unchanged, and parses the client's side of the stream just enough to log each
request: HTTP request lines for Docker, command packets for MariaDB. Nothing
is answered by the proxy itself; the counts are of real requests to real
servers.

``python callcount.py OUT -- ARGS...`` runs ``decnet-audit ARGS`` with a
SQLAlchemy ``before_cursor_execute`` listener on every engine, and writes the
statements it executed to OUT as JSON (an ``executemany`` is one entry).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import threading
from pathlib import Path


class HttpRequests:
    """Parses a client's HTTP/1.1 stream into request lines."""

    def __init__(self, log: list[str]):
        self.log, self.buf, self.body_left = log, b"", 0

    def feed(self, data: bytes) -> None:
        self.buf += data
        while True:
            if self.body_left:
                used = min(self.body_left, len(self.buf))
                self.buf, self.body_left = self.buf[used:], self.body_left - used
                if self.body_left:
                    return
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if not sep:
                return
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip()
                       for k, _, v in (line.partition(":") for line in lines[1:])}
            if "chunked" in headers.get("transfer-encoding", "").lower():
                self.log.append("UNPARSED chunked request body")  # fails any expectation
            method, target, _ = lines[0].split(" ", 2)
            self.log.append(f"{method} {target}")
            self.buf, self.body_left = rest, int(headers.get("content-length", 0))


class MysqlCommands:
    """Parses a MySQL client's stream into commands: after the handshake,
    every packet with sequence id 0 starts one command (one round trip)."""

    NAMES = {0x01: "QUIT", 0x02: "INIT_DB", 0x03: "QUERY", 0x0E: "PING",
             0x16: "STMT_PREPARE", 0x17: "STMT_EXECUTE"}

    def __init__(self, log: list[str]):
        self.log, self.buf = log, b""

    def feed(self, data: bytes) -> None:
        self.buf += data
        while len(self.buf) >= 4:
            length = int.from_bytes(self.buf[:3], "little")
            if len(self.buf) < 4 + length:
                return
            seq, payload = self.buf[3], self.buf[4:4 + length]
            self.buf = self.buf[4 + length:]
            if seq == 0 and payload:
                name = self.NAMES.get(payload[0], f"0x{payload[0]:02x}")
                text = payload[1:].decode("utf-8", "replace") if payload[0] == 0x03 else ""
                self.log.append(f"{name} {' '.join(text.split())}".strip())


class CountingProxy:
    """A proxy on a fresh unix socket (``upstream`` a path) or TCP port
    (``upstream`` a (host, port)), logging requests with ``parser``."""

    def __init__(self, upstream: str | tuple[str, int], parser: type):
        self.upstream, self.parser = upstream, parser
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        if isinstance(upstream, str):
            self._dir = tempfile.mkdtemp(prefix="dacount-", dir="/tmp")  # short: 108-byte limit
            self.path = os.path.join(self._dir, "proxy.sock")
            self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.server.bind(self.path)
            self.url = f"unix://{self.path}"
        else:
            self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.server.bind(("127.0.0.1", 0))
            self.port = self.server.getsockname()[1]
        self.server.listen(16)
        self._spawn(self._accept)

    def take(self) -> list[str]:
        """The requests logged since the last take()."""
        with self._lock:
            out, self.requests = self.requests, []
        return out

    def _spawn(self, fn, *args) -> None:
        t = threading.Thread(target=fn, args=args, daemon=True)
        t.start()
        self._threads.append(t)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # closed
            if isinstance(self.upstream, str):
                up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            else:
                up = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            up.connect(self.upstream)
            self._socks += [client, up]
            parser = self.parser(_SharedLog(self))
            self._spawn(self._pump, client, up, parser.feed)
            self._spawn(self._pump, up, client, None)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, seen) -> None:
        try:
            while data := src.recv(65536):
                if seen is not None:
                    seen(data)  # logged before it is forwarded: before any answer
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (dst, src):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.server.close()
        for s in self._socks:
            s.close()
        if isinstance(self.upstream, str):
            Path(self.path).unlink(missing_ok=True)
            os.rmdir(self._dir)


class _SharedLog:
    """What each connection's parser appends to: the proxy's one log."""

    def __init__(self, proxy: CountingProxy):
        self.proxy = proxy

    def append(self, item: str) -> None:
        with self.proxy._lock:
            self.proxy.requests.append(item)


def count_statements_main(out: str, argv: list[str]) -> int:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    seen: list[dict] = []

    @event.listens_for(Engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):
        rows = len(parameters) if executemany else 1
        seen.append({"sql": " ".join(statement.split()), "executemany": executemany,
                     "rows": rows})

    from decnet_audit.cli import main

    try:
        return main(argv)
    finally:
        Path(out).write_text(json.dumps(seen))


if __name__ == "__main__":
    assert sys.argv[2] == "--", "usage: callcount.py OUT -- DECNET-AUDIT-ARGS..."
    sys.exit(count_statements_main(sys.argv[1], sys.argv[3:]))
