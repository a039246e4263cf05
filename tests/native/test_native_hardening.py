"""Native file responses against hostile clients (issue 11, defects 1 and 2): a slow
download of graft_respond_file outlives the keep-alive timer, and pipelined responses
after a file wait for it, under graft and under graft-serve; a client that half-closes
still gets the whole file; an abandoned upload to a body route is closed. Each failed
before its fix."""

from __future__ import annotations

import os
import random
import socket
import sys
import time

import pytest

from native_util import start_graft
from util import HOST, REPO, stop_and_check, wait_for

sys.path.insert(0, str(REPO / "tests" / "server"))
from hardening_util import read_responses, slow_read, small_rcvbuf_conn  # noqa: E402

MIB = 1 << 20


@pytest.fixture(scope="module")
def big_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("native-hardening")
    rnd = random.Random(11)
    (d / "served.bin").write_bytes(rnd.randbytes(16 * MIB))
    return d


@pytest.fixture(params=["graft", "graft-serve"])
def server(request, native_libs, big_dir, serve_factory):
    args = ["--native", f"{native_libs['features']}?{big_dir}", "--timeout-keep-alive", "1",
            "--timeout-send", "2"]
    if request.param == "graft-serve":
        yield serve_factory([f"{native_libs['features']}?{big_dir}"], args[2:])
        return
    s = start_graft(args)
    yield s
    stop_and_check(s)


def test_slow_file_download_completes(server, big_dir):
    content = (big_dir / "served.bin").read_bytes()
    s = small_rcvbuf_conn(server.port)
    try:
        s.sendall(b"GET /file HTTP/1.1\r\nHost: t\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        assert head.startswith(b"HTTP/1.1 200"), head
        body = slow_read(s, rate=5 * MIB, limit=len(content), timeout=20)
        assert len(body) == len(content), f"download cut at {len(body)} bytes"
        assert body == content
    finally:
        s.close()


def test_pipelined_after_file_keeps_order(server, big_dir):
    content = (big_dir / "served.bin").read_bytes()
    s = small_rcvbuf_conn(server.port)
    try:
        s.sendall(b"GET /file HTTP/1.1\r\nHost: t\r\n\r\n"
                  b"GET /items/special HTTP/1.1\r\nHost: t\r\n\r\n"
                  b"GET /file HTTP/1.1\r\nHost: t\r\n\r\n"
                  b"GET /items/special HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(0.5)
        resps, rest = read_responses(s, 4, timeout=20)
        assert [r.status for r in resps] == [200] * 4, resps
        assert resps[0].body == content and resps[2].body == content
        assert resps[1].body == b"exact" and resps[3].body == b"exact"
        assert rest == b""
    finally:
        s.close()


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.parametrize("host", ["graft", "graft-serve"])
def test_abandoned_upload_to_body_route_closes(host, native_libs, big_dir, serve_factory):
    """Clients that leave while a GRAFT_ROUTE_BODY route waits for their body: the engine
    ends each exchange and closes the connection (it used to stay in CLOSE-WAIT with a
    request nobody would answer, and graceful shutdown waited for it forever)."""
    lib = f"{native_libs['features']}?{big_dir}"
    if host == "graft-serve":
        srv = serve_factory([lib])
        pid = srv.pid
    else:
        srv = start_graft(["--native", lib])
        pid = srv.proc.pid
    try:
        base = _fds(pid)
        for _ in range(20):
            s = socket.create_connection((HOST, srv.port), timeout=5)
            s.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n0123456789")
            time.sleep(0.02)
            s.close()
        assert wait_for(lambda: _fds(pid) <= base, timeout=5), f"{_fds(pid)} fds, {base} before"
        t0 = time.monotonic()
    finally:
        if host == "graft":
            stop_and_check(srv)
        else:
            assert srv.stop() == 0
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("http10", [False, True])
def test_half_close_after_request_gets_whole_file(server, big_dir, http10):
    """A client that shuts its sending side after the request still gets every byte of a
    response already under way (uvicorn's transport flushes before it closes)."""
    content = (big_dir / "served.bin").read_bytes()
    s = small_rcvbuf_conn(server.port)
    try:
        s.sendall(b"GET /file HTTP/1.0\r\n\r\n" if http10 else b"GET /file HTTP/1.1\r\nHost: t\r\n\r\n")
        got = s.recv(65536)
        s.shutdown(socket.SHUT_WR)
        got += slow_read(s, rate=1 << 40, limit=len(content) + 4096, timeout=20)
        body = got[got.index(b"\r\n\r\n") + 4:]
        assert len(body) == len(content), f"cut at {len(body)} bytes"
        assert body == content
    finally:
        s.close()
