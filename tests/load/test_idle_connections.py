"""10,000 idle keep-alive connections cost at most 2 KiB of server memory each (issue 11):
per-connection buffers are released while a connection is idle, as nginx does."""

from __future__ import annotations

import selectors
import socket
import time

from conftest import raise_nofile
from hardening_util import rss_kib
from util import HOST, Conn

N = 10_000
REQ = b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
RESP_END = b"Hello, world!"


def open_idle(port: int, n: int, batch: int = 500) -> list[socket.socket]:
    """n connections, each having made one keep-alive request, then left idle."""
    socks: list[socket.socket] = []
    sel = selectors.DefaultSelector()
    try:
        while len(socks) < n:
            group = []
            for _ in range(min(batch, n - len(socks))):
                s = socket.create_connection((HOST, port), timeout=10)
                s.sendall(REQ)
                s.setblocking(False)
                group.append(s)
                sel.register(s, selectors.EVENT_READ, bytearray())
            waiting = len(group)
            deadline = time.monotonic() + 30
            while waiting and time.monotonic() < deadline:
                for key, _ in sel.select(timeout=1):
                    chunk = key.fileobj.recv(4096)
                    assert chunk, "server closed an idle connection"
                    key.data.extend(chunk)
                    if key.data.endswith(RESP_END):
                        sel.unregister(key.fileobj)
                        waiting -= 1
            assert waiting == 0, f"{waiting} connections got no answer"
            socks += group
        return socks
    except BaseException:
        for s in socks:
            s.close()
        raise
    finally:
        sel.close()


def test_ten_thousand_idle_connections(server_factory):
    assert raise_nofile(N + 2000) >= N + 1000, "RLIMIT_NOFILE too low for this test"
    srv = server_factory(extra=["--timeout-keep-alive", "300", "--backlog", "4096"])
    pid = srv.proc.pid
    with Conn(srv.port) as c:  # warm up: the first requests allocate what every request reuses
        for _ in range(50):
            assert c.request("GET", "/hello").status == 200
    warm = open_idle(srv.port, 200)
    for s in warm:
        s.close()
    time.sleep(0.5)
    before = rss_kib(pid)
    socks = open_idle(srv.port, N)
    try:
        time.sleep(1.0)  # the sweep (250 ms) has seen them all
        after = rss_kib(pid)
        per_conn = (after - before) * 1024 / N
        print(f"idle connections: {N}, server RSS {before} -> {after} KiB, {per_conn:.0f} B each")
        assert per_conn <= 2048, f"{per_conn:.0f} bytes of server memory per idle connection"
        # They are alive, not just counted: a few answer again.
        for s in socks[:: N // 20]:
            s.setblocking(True)
            s.sendall(REQ)
            assert s.recv(4096).endswith(RESP_END)
    finally:
        for s in socks:
            s.close()


def test_trickling_heads_hold_what_they_sent(server_factory):
    """3,000 connections send a request head in pieces and stop halfway: each holds about
    what it sent, not a whole read buffer (they end with 408 at the head timeout)."""
    n = 3000
    assert raise_nofile(n + 1000) >= n + 500
    srv = server_factory(extra=["--backlog", "4096", "--timeout-request-header", "60"])
    pid = srv.proc.pid
    with Conn(srv.port) as c:
        for _ in range(50):
            assert c.request("GET", "/hello").status == 200
    time.sleep(0.3)
    before = rss_kib(pid)
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection((HOST, srv.port), timeout=10)
            s.sendall(b"GET /hello HTTP/1.1\r\n")
            socks.append(s)
        for piece in (b"Host: t\r\n", b"X-One: 1\r\n", b"X-Two: 2\r\n"):
            time.sleep(0.3)
            for s in socks:
                s.sendall(piece)
        time.sleep(1.0)
        per_conn = (rss_kib(pid) - before) * 1024 / n
        print(f"trickling heads: {n}, {per_conn:.0f} B of server RSS each")
        assert per_conn <= 1536, f"{per_conn:.0f} bytes of server memory per trickling connection"
        # Still being read, not dropped: one finishes its head and is answered.
        socks[0].sendall(b"\r\n")
        assert socks[0].recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        for s in socks:
            s.close()
