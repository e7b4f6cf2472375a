"""Helpers for the Redis tests: find the server, make fresh logs, and a proxy that loses a reply.

The server comes from the environment variable ``COWLOG_REDIS_URL`` (``.ci/run`` starts one and
sets it). Without it the Redis tests skip, saying how to start one; under ``CI`` they fail instead,
so a CI run can never pass by skipping them.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import pytest
import redis

ENV = "COWLOG_REDIS_URL"
HOW = (
    "no Redis server for the Redis tests: start one with "
    "`redis-server --bind 127.0.0.1 --port 6390 --save '' --appendonly no --daemonize yes` "
    "and run "
    "`COWLOG_REDIS_URL=redis://127.0.0.1:6390/0 pytest tests/test_redis.py` "
    "(stop it with `redis-cli -p 6390 shutdown nosave`)"
)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def server_url() -> str:
    """Return the URL of a running server, or skip (fail under CI) saying how to start one."""
    url = os.environ.get(ENV)
    if not url:
        if in_ci():
            pytest.fail(f"CI is set but {ENV} is not: the Redis tests must run in CI. {HOW}")
        pytest.skip(HOW)
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"{ENV}={url}, but no Redis server answers there: {exc}")
    return url


def fresh_name(prefix: str = "cowlog-test") -> str:
    return f"{prefix}:{uuid.uuid4().hex[:12]}"


def delete_log(client: redis.Redis, name: str) -> None:
    """Remove every key a log named *name* may have made."""
    for key in client.scan_iter(match=f"{{{name}}}:*", count=1000):
        client.delete(key)
    client.delete(name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ReplyKiller:
    """A TCP proxy in front of the server that can lose one reply: the connection dies between
    the server's execution of a command and the client's reading of its reply.

    Armed with ``arm(b"EVALSHA")``, the next reply the server sends on a connection whose last
    request contained those bytes is withheld; the proxy then has the server itself drop that
    connection with ``CLIENT KILL ADDR`` (its address as the server sees it), and closes the
    client's side without forwarding the reply. The client sees a closed connection after the
    server has run the command: exactly the case a retry must not apply twice.
    """

    def __init__(self, server: redis.Redis) -> None:
        kwargs = server.connection_pool.connection_kwargs
        self.upstream = (kwargs.get("host", "127.0.0.1"), int(kwargs.get("port", 6379)))
        self.admin = server
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.armed: bytes | None = None
        self.killed = 0  # replies withheld and connections killed
        self.connections = 0
        self.requests: list[bytes] = []
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, marker: bytes) -> None:
        with self._lock:
            self.armed = marker

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            with self._lock:
                self.connections += 1
                self._sockets += [client, upstream]
            last = [b""]
            threading.Thread(target=self._up, args=(client, upstream, last), daemon=True).start()
            threading.Thread(target=self._down, args=(client, upstream, last), daemon=True).start()

    def _up(self, client: socket.socket, upstream: socket.socket, last: list[bytes]) -> None:
        try:
            while data := client.recv(65536):
                last[0] = data
                with self._lock:
                    self.requests.append(data)
                upstream.sendall(data)
        except OSError:
            pass
        _close(upstream)

    def _down(self, client: socket.socket, upstream: socket.socket, last: list[bytes]) -> None:
        try:
            while data := upstream.recv(65536):
                with self._lock:
                    marker = self.armed
                    kill = marker is not None and marker in last[0]
                    if kill:
                        self.armed = None
                if kill:
                    host, port = upstream.getsockname()[:2]
                    self.admin.execute_command("CLIENT", "KILL", "ADDR", f"{host}:{port}")
                    with self._lock:
                        self.killed += 1
                    break  # the reply in *data* is never forwarded
                client.sendall(data)
        except OSError:
            pass
        _close(client)
        _close(upstream)

    def evalshas(self) -> int:
        with self._lock:
            return sum(data.count(b"EVALSHA") for data in self.requests)

    def close(self) -> None:
        _close(self.listener)
        with self._lock:
            for sock in self._sockets:
                _close(sock)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@contextmanager
def tcp_server(respond: Callable[[bytes], bytes | None]) -> Iterator[int]:
    """A TCP server on a free loopback port answering each request with ``respond(data)`` (None:
    close). For servers that are not Redis, or not the right Redis: yields the port."""
    listener = socket.create_server(("127.0.0.1", 0))
    port: int = listener.getsockname()[1]

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                while data := conn.recv(65536):
                    answer = respond(data)
                    if answer is None:
                        return
                    conn.sendall(answer)
            except OSError:
                return

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield port
    finally:
        listener.close()


def resp_server_of_version(version: str) -> Callable[[bytes], bytes | None]:
    """What a RESP3 server reporting *version* answers: HELLO and INFO say so, the rest is OK.

    One answer per command in what arrived: a client may send several in one packet (HELLO, then
    CLIENT SETINFO), and a loaded machine coalesces them; answering once would leave it waiting.
    """

    def answer(command: bytes) -> bytes:
        if command == b"HELLO":
            return b"%%2\r\n$5\r\nproto\r\n:3\r\n$7\r\nversion\r\n$%d\r\n%s\r\n" % (
                len(version),
                version.encode(),
            )
        if command == b"INFO":
            body = f"# Server\r\nredis_version:{version}\r\n".encode()
            return b"$%d\r\n%s\r\n" % (len(body), body)
        return b"+OK\r\n"

    def respond(data: bytes) -> bytes:
        # each command is an array of bulk strings: *N, then $len and the bytes of each argument
        names = re.findall(rb"(?:^|\r\n)\*\d+\r\n\$\d+\r\n([^\r]*)", data)
        return b"".join(answer(name.upper()) for name in names) or b"+OK\r\n"

    return respond
