"""Lifetimes at shutdown (issue 11 #4, native part): a handler that keeps its request
(graft_request_retain) and answers from its own thread after the server has freed its
engine and native layer must get GRAFT_EGONE, and releasing the request must be safe.

tests/native/libs/late.c holds /late and /late-stream and answers them from an atexit
handler, i.e. after graft (Python host) or graft-serve (pure C) returned from serving.
The use-after-free this guards against is silent in a release build; under
`make test-asan` (ASan+UBSan, abort_on_error) it kills the process at exit, so the exit
code and the missing report file both catch it."""

from __future__ import annotations

import signal

import pytest

from native_util import ServeProcess, start_graft
from util import Conn, build_request, wait_for

GRAFT_EGONE = -32


def _hold_two(port: int) -> list[Conn]:
    plain, stream = Conn(port), Conn(port)
    plain.send(build_request("GET", "/late"))
    stream.send(build_request("GET", "/late-stream"))
    # the stream's head and first chunk arrive now; the rest never will
    assert b"early" in stream.recv_for(0.5) or b"early" in stream.recv_for(2), stream.buf
    return [plain, stream]


def _held(port: int) -> int:
    with Conn(port) as c:
        return int(c.request("GET", "/late-held").body)


def _check_report(tmp_path, rc, out):
    report = tmp_path / "late"
    assert rc == 0, f"exit code {rc} with a late native answer after shutdown\n{out}"
    assert report.exists(), f"the late thread never reported\n{out}"
    fields = dict(kv.split("=") for kv in report.read_text().split())
    assert fields == {"respond": str(GRAFT_EGONE), "stream_write": str(GRAFT_EGONE),
                      "stream_end": str(GRAFT_EGONE), "gone": "1", "lib_state": "null"}, fields


@pytest.mark.parametrize("client_stays", [False, True], ids=["client-left", "client-stays"])
def test_late_answer_after_graft_shutdown(native_libs, tmp_path, client_stays):
    s = start_graft(["--native", f"{native_libs['late']}?{tmp_path}",
                     "--timeout-graceful-shutdown", "0.5"])
    try:
        conns = _hold_two(s.port)
        assert wait_for(lambda: _held(s.port) == 2, timeout=3)
        if not client_stays:
            for c in conns:
                c.close()
        rc = s.stop(signal.SIGTERM, timeout=15)
        out = s.output()
        for c in conns:
            c.close()
    finally:
        s.cleanup()
    _check_report(tmp_path, rc, out)


@pytest.mark.parametrize("client_stays", [False, True], ids=["client-left", "client-stays"])
def test_late_answer_after_graft_serve_shutdown(native_libs, tmp_path, client_stays):
    s = ServeProcess([f"{native_libs['late']}?{tmp_path}"], ["--timeout-graceful-shutdown", "0.5"])
    try:
        s.start()
        conns = _hold_two(s.port)
        assert wait_for(lambda: _held(s.port) == 2, timeout=3)
        if not client_stays:
            for c in conns:
                c.close()
        rc = s.stop(timeout=15)
        out = s.output()
        for c in conns:
            c.close()
    finally:
        s.cleanup()
    _check_report(tmp_path, rc, out)
