"""Hostile clients against the engine, through plain ASGI apps (tests/apps/hardening_apps.py).

Each test names the defect it guards against (issue 11); each failed before its fix:
slow downloads cut by the keep-alive timer, pipelined responses overtaking a file response,
unread pipelined floods growing the server, chunked bodies past --limit-request-body, and
an accept loop spinning once out of file descriptors.
"""

from __future__ import annotations

import resource
import signal
import socket
import sys
import time

import pytest

from hardening_util import cpu_seconds, read_responses, rss_kib, slow_read, small_rcvbuf_conn
from util import APPS_DIR, HOST, IMPL, Conn, wait_for

sys.path.insert(0, str(APPS_DIR))
from hardening_apps import pattern  # noqa: E402

pytestmark = pytest.mark.skipif(IMPL != "graft", reason="graft's own limits and timeouts")

APP = "hardening_apps:app"
MIB = 1 << 20


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("hardening") / "big.bin"
    path.write_bytes(pattern(16 * MIB))
    return path


def split_head(data: bytes) -> tuple[bytes, bytes]:
    end = data.find(b"\r\n\r\n")
    assert end > 0, data[:200]
    return data[:end + 4], data[end + 4:]


# -- 1. slow downloads outlive the keep-alive timer; a reader that stops is bounded ---------

SLOW_ARGS = ["--timeout-keep-alive", "1", "--timeout-send", "2"]


@pytest.mark.parametrize("target", ["/blob?mb=16", "/stream?mb=16", "file"])
def test_slow_download_completes_past_keep_alive(server_factory, big_file, target):
    """16 MiB read at ~5 MiB/s (over 3 s) with a 1 s keep-alive timeout: every byte arrives,
    and the connection is still usable afterwards."""
    srv = server_factory(APP, SLOW_ARGS + (["--pathsend"] if target == "file" else []))
    path = f"/file?path={big_file}" if target == "file" else target
    s = small_rcvbuf_conn(srv.port)
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        assert head.startswith(b"HTTP/1.1 200"), head
        body = slow_read(s, rate=5 * MIB, limit=16 * MIB, timeout=20)
        assert len(body) == 16 * MIB, f"download cut at {len(body)} bytes"
        # The next request goes out at once: comparing 16 MiB first can take longer than the
        # 1 s keep-alive on a slow (sanitizer) run, and the server then rightly closes.
        s.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        resps, _ = read_responses(s, 1, timeout=5)
        assert resps and resps[0].body == b"Hello, world!"
        assert body == pattern(16 * MIB)
    finally:
        s.close()


def test_slow_download_http10(server_factory):
    """The same under HTTP/1.0, where the connection closes after the response: the close
    waits for the last byte."""
    srv = server_factory(APP, SLOW_ARGS)
    s = small_rcvbuf_conn(srv.port)
    try:
        s.sendall(b"GET /blob?mb=16 HTTP/1.0\r\nHost: t\r\n\r\n")
        data = slow_read(s, rate=5 * MIB, limit=17 * MIB, timeout=20)
        head, body = split_head(data)
        assert b"connection: close" in head.lower()
        assert len(body) == 16 * MIB, f"download cut at {len(body)} bytes"
        assert body == pattern(16 * MIB)
    finally:
        s.close()


def test_send_timeout_closes_a_client_that_stopped_reading(server_factory):
    """A client that reads nothing is closed after --timeout-send without progress, even
    while the app is still sending (it then sees a disconnect)."""
    srv = server_factory(APP, SLOW_ARGS)
    s = small_rcvbuf_conn(srv.port)
    try:
        s.sendall(b"GET /stream?mb=16 HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(4.5)  # the timeout is 2 s, checked every 250 ms
        got = slow_read(s, rate=1 << 40, limit=17 * MIB, timeout=10)
        assert 0 < len(got) < 16 * MIB, len(got)  # what the kernel held, then the close
    finally:
        s.close()
    # The server lives on.
    with Conn(srv.port) as c:
        assert c.request("GET", "/hello").status == 200


def test_half_close_after_request_gets_whole_response(server_factory):
    """A client that shuts its sending side after its request still gets every byte of
    the answer already queued (uvicorn's transport flushes before it closes)."""
    srv = server_factory(APP)
    s = small_rcvbuf_conn(srv.port)
    try:
        s.sendall(b"GET /blob?mb=8 HTTP/1.1\r\nHost: t\r\n\r\n")
        got = s.recv(65536)
        time.sleep(0.2)  # the app has answered; most of the answer is queued
        s.shutdown(socket.SHUT_WR)
        got += slow_read(s, rate=1 << 40, limit=9 * MIB, timeout=20)
        head, body = split_head(got)
        assert len(body) == 8 * MIB, f"cut at {len(body)} bytes"
        assert body == pattern(8 * MIB)
    finally:
        s.close()


def test_sigterm_with_a_queued_answer_does_not_wait_for_keep_alive(server_factory):
    """SIGTERM while a finished answer is still queued: the connection closes once it is
    out, instead of becoming an idle keep-alive connection that shutdown waits for."""
    srv = server_factory(APP, ["--timeout-keep-alive", "30"])
    s = small_rcvbuf_conn(srv.port)
    try:
        s.sendall(b"GET /blob?mb=8 HTTP/1.1\r\nHost: t\r\n\r\n")
        got = s.recv(65536)
        time.sleep(0.2)
        t0 = time.monotonic()
        srv.send_signal(signal.SIGTERM)
        got += slow_read(s, rate=1 << 40, limit=9 * MIB, timeout=20)
        head, body = split_head(got)
        assert body == pattern(8 * MIB)
        assert srv.wait(10) == 0, srv.output()
        assert time.monotonic() - t0 < 10
    finally:
        s.close()


# -- 2. responses leave in request order, whatever their kind --------------------------------

def test_pipelined_after_pathsend_keeps_order(server_factory, big_file):
    srv = server_factory(APP, ["--pathsend"])
    s = small_rcvbuf_conn(srv.port)
    try:
        f = f"GET /file?path={big_file} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
        s.sendall(f + b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n" + f +
                  b"GET /blob?mb=1 HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(0.5)  # let the server queue everything it would queue
        resps, rest = read_responses(s, 4, timeout=20)
        assert [r.status for r in resps] == [200, 200, 200, 200], resps
        assert resps[0].body == pattern(16 * MIB)
        assert resps[1].body == b"Hello, world!"
        assert resps[2].body == pattern(16 * MIB)
        assert resps[3].body == pattern(MIB)
        assert rest == b""
    finally:
        s.close()


# -- 3. a client that pipelines and never reads cannot grow the server -----------------------

@pytest.mark.parametrize("target", ["/blob?mb=1", "/stream?mb=1"])
def test_unread_pipelined_flood_is_bounded(server_factory, target):
    """100 pipelined requests for 1 MiB each, sent one by one (each arrival wakes the
    server), none read: memory stays flat, and nothing is lost."""
    srv = server_factory(APP)
    pid = srv.proc.pid
    s = small_rcvbuf_conn(srv.port)
    try:
        with Conn(srv.port) as c:  # warm up allocations
            for _ in range(3):
                assert c.request("GET", target).status == 200
        before = rss_kib(pid)
        req = f"GET {target} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
        for _ in range(100):  # 100 MiB of answers
            s.sendall(req)
            time.sleep(0.02)
        time.sleep(0.5)
        grown = rss_kib(pid) - before
        assert grown < 24 * 1024, f"server grew by {grown} KiB for a client that does not read"
        # Nothing is lost: every answer comes out, in order, once the client reads.
        resps, rest = read_responses(s, 100, timeout=60)
        assert len(resps) == 100 and all(r.body == pattern(MIB) for r in resps)
        assert rest == b""
    finally:
        s.close()


# -- 5. a chunked body is limited by its running total ---------------------------------------

def test_chunked_body_over_limit_gets_413(server_factory):
    srv = server_factory(APP, ["--limit-request-body", "100000"])
    with Conn(srv.port, timeout=10) as c:
        c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        piece = b"x" * 16384
        sent = 0
        while sent < 4 * MIB:
            if not c.send(b"%x\r\n%s\r\n" % (len(piece), piece)):
                break
            sent += len(piece)
            time.sleep(0.001)  # let the app take each piece, so little is ever buffered
        c.send(b"0\r\n\r\n")
        resp = c.read_response(timeout=10)
        assert resp.status == 413, resp


def test_chunked_body_under_limit_passes(server_factory):
    srv = server_factory(APP, ["--limit-request-body", "100000"])
    with Conn(srv.port, timeout=10) as c:
        body = b"y" * 90000
        c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
               b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 10000]), body[i:i + 10000])
                        for i in range(0, len(body), 10000)) + b"0\r\n\r\n")
        resp = c.read_response()
        assert resp.status == 200 and resp.body == body


# -- 7. out of file descriptors: the accept loop rests, logs once, recovers -----------------

NOFILE = 96


def _low_nofile():
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


@pytest.mark.parametrize("threads", ["1", "2"])
def test_emfile_does_not_spin_and_recovers(server_factory, threads):
    srv = server_factory(APP, ["--timeout-keep-alive", "60", "--threads", threads],
                         preexec=_low_nofile)
    socks = []
    try:
        pid = srv.proc.pid
        # Fill the table: kept-alive connections, then some the server cannot accept.
        for _ in range(NOFILE + 20):
            s = socket.create_connection((HOST, srv.port), timeout=5)
            socks.append(s)
        time.sleep(1.0)
        t0 = cpu_seconds(pid)
        time.sleep(2.0)
        used = cpu_seconds(pid) - t0
        assert used < 0.5, f"server burned {used:.2f} s of CPU in 2 s while out of descriptors"
        for s in socks:
            s.close()
        socks.clear()

        def served():
            try:
                with Conn(srv.port, timeout=2) as c:
                    return c.request("GET", "/hello").status == 200
            except OSError:
                return False
        assert wait_for(served, timeout=10), srv.output()
        out = srv.output()
        assert out.count("accept() failed") == 1, out
        assert "Too many open files" in out
    finally:
        for s in socks:
            s.close()


# -- 7. lingering close after an early answer: bounded in bytes and idle time ----------------

def _send_body_after_early_answer(port: int, total: int, stop_after: int | None = None):
    """POST /noread (answered without reading) with a ``total``-byte body, sent at the pace the
    server reads; stops sending after ``stop_after`` bytes if given. Returns (sent, error)."""
    s = socket.create_connection((HOST, port), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    s.sendall(b"POST /noread HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % total)
    sent, piece = 0, b"b" * 65536
    limit = total if stop_after is None else stop_after
    try:
        while sent < limit:
            sent += s.send(piece[: limit - sent])
            time.sleep(0.001)
    except OSError as e:
        s.close()
        return sent, e
    return sent, s


def test_linger_reads_a_whole_upload_after_an_early_answer(server_factory):
    srv = server_factory("raw_apps:app")
    sent, s = _send_body_after_early_answer(srv.port, 16 * MIB)
    assert sent == 16 * MIB and not isinstance(s, BaseException), (sent, s)
    head, _ = split_head(s.recv(65536))
    assert head.startswith(b"HTTP/1.1 200")
    s.close()


def test_linger_is_bounded_in_bytes(server_factory):
    srv = server_factory("raw_apps:app", ["--limit-linger", "2M"])
    sent, err = _send_body_after_early_answer(srv.port, 64 * MIB)
    assert isinstance(err, OSError), "the server read 64 MiB past --limit-linger 2M"
    assert sent < 16 * MIB, sent  # 1 MiB drained + 2 MiB lingered + socket buffers


def test_linger_is_bounded_in_idle_time(server_factory):
    srv = server_factory("raw_apps:app", ["--timeout-linger-idle", "1"])
    sent, s = _send_body_after_early_answer(srv.port, 16 * MIB, stop_after=4 * MIB)
    try:
        assert sent == 4 * MIB, sent
        time.sleep(0.5)
        s.send(b"x" * 10)  # within the idle time: still read (and the idle clock restarts)
        time.sleep(2.0)    # past it (the sweep looks every 250 ms): closed
        with pytest.raises(OSError):
            for _ in range(5):
                s.send(b"x" * 10)  # the first one draws a reset, a later one fails
                time.sleep(0.1)
    finally:
        s.close()
