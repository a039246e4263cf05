"""Native file responses against hostile clients (issue 11, defects 1 and 2): a slow
download of graft_respond_file outlives the keep-alive timer, and pipelined responses
after a file wait for it, under graft and under graft-serve. Both failed before the fix."""

from __future__ import annotations

import random
import sys
import time

import pytest

from native_util import start_graft
from util import REPO, stop_and_check

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
