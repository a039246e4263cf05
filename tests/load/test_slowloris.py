"""Slowloris: many connections trickle a request head a line at a time while normal
keep-alive clients run; every normal request is answered (no error, no timeout). The
trickling connections end with 408 at --timeout-request-header.

``make test`` uses 1,000 trickling connections; ``make slowloris`` the issue's 5,000
(GRAFT_SLOWLORIS_CONNS) and prints the normal clients' p99 for docs/BENCHMARKS.md."""

from __future__ import annotations

import os
import socket
import threading
import time

from conftest import raise_nofile, run_load
from util import HOST

TRICKLERS = int(os.environ.get("GRAFT_SLOWLORIS_CONNS", "1000"))
NORMAL_REQUESTS = int(os.environ.get("GRAFT_SLOWLORIS_REQUESTS", "50000"))


def trickle(port: int, n: int, stop: threading.Event, stats: dict) -> None:
    socks = []
    for i in range(n):
        s = socket.create_connection((HOST, port), timeout=10)
        s.setblocking(False)
        s.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n")
        socks.append(s)
    stats["opened"] = len(socks)
    line = 0
    while not stop.is_set():
        for s in socks:
            try:
                s.send(b"X-Trickle-%d: x\r\n" % line)
            except OSError:
                pass
        line += 1
        stop.wait(0.5)
    closed_408 = 0
    for s in socks:
        try:
            if s.recv(4096).startswith(b"HTTP/1.1 408"):
                closed_408 += 1
        except OSError:
            pass
        s.close()
    stats["got_408"] = closed_408


def test_slowloris_does_not_starve_normal_clients(server_factory, load_tools):
    raise_nofile(TRICKLERS + 1000)
    srv = server_factory("native_app:app", ["--native", load_tools["hello"], "--backlog", "4096",
                                            "--timeout-request-header", "6"])
    stop = threading.Event()
    stats: dict = {}
    t = threading.Thread(target=trickle, args=(srv.port, TRICKLERS, stop, stats), daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + 60
        while "opened" not in stats and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stats.get("opened") == TRICKLERS
        opened = time.monotonic()
        res = run_load(load_tools, srv.port, 8, NORMAL_REQUESTS, ["/hello/world", "/py"])
        print(f"slowloris: {TRICKLERS} trickling connections; normal clients {res['requests']:.0f} "
              f"requests, {res['rps']:.0f} req/s, p50 {res['p50_ms']:.2f} ms, "
              f"p99 {res['p99_ms']:.2f} ms, max {res['max_ms']:.2f} ms")
        assert res["rc"] == 0 and res["errors"] == 0, res
        time.sleep(max(0.0, opened + 7.0 - time.monotonic()))  # past the 6 s head timeout
    finally:
        stop.set()
        t.join(60)
    # The head timeout ended every trickling connection with a 408.
    assert stats.get("got_408") == TRICKLERS, stats
