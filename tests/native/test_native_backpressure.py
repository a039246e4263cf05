"""Native streams to slow clients (issue 11 #9): graft_stream_on_writable lets a handler
wait instead of buffering, and a handler that ignores "slow" is cut off at a hard cap
(GRAFT_EAGAIN) instead of growing the server without bound.

tests/native/libs/slowstream.c: /pump streams with the callback, /careless never waits.
The client holds a small receive buffer and reads nothing for a while: the server's
RSS must stay flat, then the body must arrive intact (every byte is checked)."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

from native_util import ServeProcess, start_graft
from util import HOST, build_request, parse_response, request, stop_and_check, wait_for

MIB = 32
CHUNK = 65536
BASE = bytes((j * 131 + 7) & 255 for j in range(CHUNK))[8:]
GRAFT_EAGAIN = -11
GRAFT_EGONE = -32
GRAFT_EINVAL = -22
# The cap is 1 MiB queued plus one chunk; allow for allocator and Python noise, far
# below the MIB the careless handler would otherwise queue.
RSS_GROWTH_LIMIT_KIB = 8 * 1024
ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")


def expected_body(chunks: int) -> bytes:
    return b"".join(k.to_bytes(8, "big") + BASE for k in range(chunks))


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture(params=["graft", "graft-serve"])
def host(request, native_libs):
    lib = native_libs["slowstream"]
    if request.param == "graft":
        s = start_graft(["--native", lib])
        yield s.port, s.proc.pid
        stop_and_check(s)
    else:
        s = ServeProcess([lib]).start()
        yield s.port, s.pid
        rc = s.stop()
        out = s.output()
        s.cleanup()
        assert rc == 0, f"graft-serve exited {rc}\n{out}"


def stats(port: int) -> dict:
    return json.loads(request(port, "GET", "/stats").body)


def slow_client(port: int, path: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)  # before connect: small window
    s.connect((HOST, port))
    s.sendall(build_request("GET", path))
    return s


def hold_and_measure(pid: int, seconds: float) -> int:
    """Peak RSS while the client reads nothing."""
    peak, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        peak = max(peak, rss_kib(pid))
        time.sleep(0.05)
    return peak


def read_response(s: socket.socket, timeout: float = 30.0):
    s.settimeout(timeout)
    buf = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = s.recv(1 << 20)
        if not data:
            break
        buf += data
        if buf.endswith(b"0\r\n\r\n"):
            resp, _ = parse_response(bytes(buf))
            if resp is not None:
                return resp
    resp, _ = parse_response(bytes(buf), eof=True)
    return resp


def test_writable_callback_streams_large_body_bounded(host):
    port, pid = host
    before = rss_kib(pid)
    s = slow_client(port, f"/pump?mib={MIB}")
    try:
        peak = hold_and_measure(pid, 1.5)
        mid = stats(port)
        assert mid["pump_done"] == -1, f"the stream finished without the client reading: {mid}"
        resp = read_response(s)
    finally:
        s.close()
    assert resp is not None and resp.status == 200, resp
    assert resp.complete, "the stream was cut"
    assert len(resp.body) == MIB << 20, len(resp.body)
    assert resp.body == expected_body((MIB << 20) // CHUNK), "body corrupted"
    st = stats(port)
    assert st["pump_status"] == 0 and st["pump_done"] == (MIB << 20) // CHUNK, st
    assert st["pump_waits"] >= 1, f"the handler never had to wait: {st}"
    if not ASAN:  # ASan's quarantine keeps freed buffers resident
        assert peak - before < RSS_GROWTH_LIMIT_KIB, \
            f"RSS grew {peak - before} KiB while the client did not read"


def test_careless_writer_is_capped(host):
    port, pid = host
    before = rss_kib(pid)
    s = slow_client(port, f"/careless?mib={MIB}")
    try:
        peak = hold_and_measure(pid, 1.0)
        resp = read_response(s)
    finally:
        s.close()
    if not ASAN:
        assert peak - before < RSS_GROWTH_LIMIT_KIB, \
            f"RSS grew {peak - before} KiB for a writer that ignored 'slow'"
    st = stats(port)
    assert st["careless_rc"] == GRAFT_EAGAIN, f"a writer that ignored 'slow' was never stopped: {st}"
    assert 0 < st["careless_bytes"] < MIB << 20, st
    # what was accepted arrives intact and the stream is properly ended
    assert resp is not None and resp.status == 200 and resp.complete, resp
    assert resp.body == expected_body(st["careless_bytes"] // CHUNK)


def test_client_leaving_calls_the_armed_callback_with_egone(host):
    port, _ = host
    s = slow_client(port, f"/pump?mib={MIB}")
    try:
        time.sleep(0.3)
        assert stats(port)["pump_waits"] >= 1  # waiting on the callback now
    finally:
        s.close()
    st = wait_for(lambda: (lambda d: d if d["pump_done"] >= 0 else None)(stats(port)), timeout=5)
    assert st, f"the handler was never told the client left: {stats(port)}"
    assert st["pump_status"] == GRAFT_EGONE, st


def test_on_writable_misuse_fails_without_calling_back(host):
    port, _ = host
    r = request(port, "GET", "/misuse")
    assert r.status == 200, r
    before, null_cb, first, second = map(int, r.body.split())
    assert (before, null_cb, first, second) == (GRAFT_EINVAL, GRAFT_EINVAL, 0, GRAFT_EINVAL), r.body
    time.sleep(0.2)
    # the armed one was cancelled by graft_stream_end; the failed ones never run
    assert stats(port)["misuse_called"] == 0
