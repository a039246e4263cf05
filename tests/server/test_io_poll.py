"""Who reads the connections: the event loop's own thread while it is idle (--io-poll loop,
the default), or the C I/O threads (--io-poll thread, and the loop's fallback).

With the default, an app that blocks its event loop must not stall the connections: the
I/O thread notices (the watchdog in src/core/handoff.c), reads and parses what arrives
meanwhile, and hands the connections back once the loop runs again. The hand-back is
logged at debug level, which is what these tests observe from outside the process.
"""

from __future__ import annotations

import os
import socket
import time
import uuid

import pytest

from util import IMPL, Conn, build_request, request

pytestmark = pytest.mark.skipif(IMPL != "graft", reason="graft's I/O ownership")

HANDBACK = "served its connections while the event loop was blocked"


def _wait_for(srv, text: str, count: int, timeout: float = 5.0) -> int:
    deadline = time.monotonic() + timeout
    while srv.output().count(text) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return srv.output().count(text)


def _stall_with_waiting_requests(port: int, waiting: int = 3, child: bool = False) -> None:
    """Blocks the loop for 0.6 s with /block (in the request's task, or a child task),
    sends `waiting` pipelined requests meanwhile, and checks every answer."""
    with Conn(port, timeout=10) as blocker, Conn(port, timeout=10) as other:
        blocker.send(build_request("GET", "/block?t=0.6" + ("&child=1" if child else "")))
        time.sleep(0.2)
        sent = range(waiting)
        other.send(b"".join(build_request("GET", "/hello") for _ in sent))
        r = blocker.read_response()
        assert r.status == 200 and r.body == b"blocked", r
        for _ in sent:
            r = other.read_response()
            assert r.status == 200 and r.body == b"Hello, world!", r


def test_blocked_loop_hands_connections_over_and_back(server_factory):
    srv = server_factory("raw_apps:app", ["--log-level", "debug"])
    assert request(srv.port, "GET", "/hello").status == 200
    _stall_with_waiting_requests(srv.port)
    # The requests that waited were read by the I/O thread; the loop, running again,
    # took the connections back (a debug line per hand-back). A loaded machine may add a
    # hand-back of its own (the loop starved of CPU for a few ms), so count, not match.
    assert _wait_for(srv, HANDBACK, 1) >= 1, srv.output()

    # The loop serves on its own again: keep-alive, pipelining, new connections.
    with Conn(srv.port) as c:
        for _ in range(20):
            c.send(build_request("GET", "/hello"))
            r = c.read_response()
            assert r.status == 200 and r.body == b"Hello, world!", r
        c.send(build_request("GET", "/hello") * 5)
        for _ in range(5):
            assert c.read_response().status == 200
    for _ in range(10):
        assert request(srv.port, "GET", "/hello").status == 200

    # A second stall goes the same way, also when the loop blocks outside the request's
    # own task (the watchdog then looks less often, but still looks).
    before = srv.output().count(HANDBACK)
    _stall_with_waiting_requests(srv.port, child=True)
    assert _wait_for(srv, HANDBACK, before + 1) > before, srv.output()
    assert request(srv.port, "GET", "/hello").status == 200


def test_blocked_loop_with_io_poll_thread(server_factory):
    """--io-poll thread: the I/O thread always reads, so there is nothing to hand back."""
    srv = server_factory("raw_apps:app", ["--log-level", "debug", "--io-poll", "thread"])
    _stall_with_waiting_requests(srv.port)
    assert request(srv.port, "GET", "/hello").status == 200
    time.sleep(0.1)
    assert HANDBACK not in srv.output(), srv.output()


def test_io_poll_rejects_unknown_value(server_factory):
    from util import Server

    s = Server("raw_apps:app", ["--io-poll", "sometimes"], probe=False).start()
    try:
        assert s.wait(10) not in (None, 0)
        assert "--io-poll" in s.output(), s.output()
    finally:
        s.cleanup()


# ---------------------------------------------------------------------------
# Nothing the poller cannot consume may stay ready in the epoll set: whichever thread
# polls would spin on it (the loop's thread by default). A spinning poller shows as a
# server that burns a whole core while idle.
# ---------------------------------------------------------------------------

def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _assert_idle(srv, seconds: float = 1.0) -> None:
    before = _cpu_seconds(srv.proc.pid)
    time.sleep(seconds)
    used = _cpu_seconds(srv.proc.pid) - before
    assert used < seconds / 2, f"server used {used:.2f}s of CPU in {seconds}s while idle: a poller spins"


@pytest.mark.parametrize("mode", ["loop", "thread"])
def test_closed_connection_whose_socket_a_fork_still_holds(server_factory, mode):
    """A closed fd stays in epoll while a forked child holds the socket: without removing
    it first, its events would keep naming the freed connection."""
    srv = server_factory("raw_apps:app", ["--io-poll", mode])
    with Conn(srv.port) as other:
        other.send(build_request("GET", "/hello"))
        assert other.read_response().status == 200
        assert request(srv.port, "GET", "/fork?t=3").body == b"forked"  # inherits `other`
    time.sleep(0.2)  # the server has seen the close and closed its fd
    _assert_idle(srv)
    for _ in range(5):
        assert request(srv.port, "GET", "/hello").status == 200


@pytest.mark.parametrize("mode", ["loop", "thread"])
def test_half_close_while_reading_is_paused(server_factory, mode):
    """A client half-closes after filling the pipelining buffer while a response streams:
    reading is paused, so its end of input must not be reported on every poll."""
    srv = server_factory("raw_apps:app", ["--io-poll", mode])
    key = uuid.uuid4().hex
    with Conn(srv.port, timeout=10) as c:
        c.send(build_request("GET", f"/stream-gated?key={key}"))
        deadline = time.monotonic() + 5
        while b"second-" not in c.buf and c._recv_some(deadline):
            pass
        assert b"second-" in c.buf, c.buf
        # 145 KB of a pipelined request: more than is buffered while a response is pending
        c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 200000\r\n\r\n" + b"x" * 145000)
        c.sock.shutdown(socket.SHUT_WR)
        time.sleep(0.2)
        _assert_idle(srv)
        assert request(srv.port, "GET", f"/open-gate?key={key}").body == b"opened"
        r = c.read_response()
        assert r.status == 200 and r.body == b"first-second-last", r
