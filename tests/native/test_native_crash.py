"""A native handler that crashes under --workers (issue 11): the crash takes down one worker
only, is logged with the route (written from the signal handler with write(2)), the
supervisor starts a new worker, and the other worker keeps serving meanwhile.

tests/native/libs/crash.c: GET /crash/{how} dereferences NULL or abort()s; GET /alive
answers the worker's pid."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest

from native_util import ServeProcess, start_graft
from util import Conn, build_request, request, stop_and_check, wait_for

ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")
TSAN = "libtsan" in os.environ.get("LD_PRELOAD", "")
_NO_FAULT_HANDLERS = ":handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_abort=0"


def children(pid: int) -> set[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return {int(x) for x in f.read().split()}
    except OSError:
        return set()


def crash_line(output: str, signum: int):
    return re.search(rf"graft: worker (\d+) crashed \(signal {signum}\) in native handler "
                     r"GET /crash/\{how\}\n", output)


@pytest.fixture(autouse=True)
def let_graft_handle_faults(monkeypatch):
    # A sanitizer's own SEGV handler would come first (and TSan's reports the deliberate
    # crash as a failure), and graft leaves existing handlers alone.
    if ASAN:
        monkeypatch.setenv("ASAN_OPTIONS", os.environ.get("ASAN_OPTIONS", "") + _NO_FAULT_HANDLERS)
    if TSAN:
        monkeypatch.setenv("TSAN_OPTIONS", os.environ.get("TSAN_OPTIONS", "") + _NO_FAULT_HANDLERS)


@pytest.mark.parametrize("tool, how, signum", [
    ("graft", "segv", signal.SIGSEGV),
    ("graft", "abort", signal.SIGABRT),
    ("graft-serve", "segv", signal.SIGSEGV),
    ("graft-serve", "overflow", signal.SIGSEGV),  # reported from the alternate signal stack
])
def test_crash_in_native_handler_under_workers(native_libs, tool, how, signum):
    lib = native_libs["crash"]
    if tool == "graft":
        s = start_graft(["--native", lib, "--workers", "2"])
        port, sup, output = s.port, s.proc.pid, s.output
    else:
        s = ServeProcess([lib], ["--workers", "2"]).start()
        port, sup, output = s.port, s.pid, s.output
    try:
        kids = wait_for(lambda: len(children(sup)) == 2 and children(sup), timeout=10)
        assert kids, f"expected 2 workers, children: {children(sup)}"
        with Conn(port) as c:
            c.send(build_request("GET", f"/crash/{how}"))
            data, closed = c.read_until_close(timeout=5)
        assert closed and not data, f"the crashing request got an answer: {data[:200]!r}"

        m = wait_for(lambda: crash_line(output(), signum), timeout=5)
        assert m, f"no crash line naming the route\n{output()}"
        dead = int(m.group(1))
        assert dead in kids, (dead, kids)

        # the other worker keeps serving while the dead one is replaced
        for _ in range(20):
            r = request(port, "GET", "/alive")
            assert r.status == 200 and int(r.body) != dead, r

        def recovered():
            now = children(sup)
            return now if len(now) == 2 and dead not in now and now - kids else None

        now = wait_for(recovered, timeout=10)
        assert now, f"the worker was not replaced: before {kids}, now {children(sup)}\n{output()}"
        new = (now - kids).pop()
        seen: set[int] = set()
        deadline = time.monotonic() + 10
        while new not in seen and time.monotonic() < deadline:
            conns = [Conn(port) for _ in range(16)]  # at once: both workers get some
            try:
                for c in conns:
                    c.send(build_request("GET", "/alive"))
                for c in conns:
                    r = c.read_response()
                    assert r.status == 200, r
                    seen.add(int(r.body))
            finally:
                for c in conns:
                    c.close()
        assert new in seen, f"the new worker {new} never answered (answers from {seen})"
    finally:
        if tool == "graft":
            stop_and_check(s)
        else:
            rc = s.stop()
            out = s.output()
            s.cleanup()
            assert rc == 0, f"graft-serve exited {rc}\n{out}"
