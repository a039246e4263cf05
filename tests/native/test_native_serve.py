"""graft-serve: the same handler libraries with no Python in the process.

`.venv/bin/graft-serve` is a Python entry point that execs the C binary, so the
pid started here is the C server itself."""

from __future__ import annotations

import os
import signal
import time

from util import Conn, build_request, request, wait_for

RSS_LIMIT_KIB = 16 * 1024


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _pgrp_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group pgid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            out.append(int(d))
    return out


def _vmrss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS line")


def test_serve_hello(native_libs, serve_factory):
    s = serve_factory([native_libs["hello"]])
    r = request(s.port, "GET", "/hello/x")
    assert r.status == 200 and r.body == b"Hello, x!", r
    assert r.header("content-type") == "text/plain; charset=utf-8", r
    assert r.header("server") == "graft" and r.header("date"), r
    r = request(s.port, "GET", "/hello/a%20b")
    assert r.body == b"Hello, a b!", r
    for method, path in [("GET", "/"), ("GET", "/other"), ("GET", "/hello/a/b"), ("POST", "/hello/x")]:
        r = request(s.port, method, path, body=b"" if method == "POST" else None)
        assert r.status == 404, (method, path, r)
        assert r.header("content-type", "").startswith("text/plain"), (method, path, r)
        assert r.body == b"Not Found", (method, path, r)
    # keep-alive and pipelining with 404s in between
    with Conn(s.port) as c:
        c.send(b"".join(build_request("GET", p) for p in ["/hello/1", "/nope", "/hello/2"]))
        got = [c.read_response() for _ in range(3)]
    assert [(g.status, g.body) for g in got] == [(200, b"Hello, 1!"), (404, b"Not Found"),
                                                 (200, b"Hello, 2!")], got


def test_serve_head_of_empty_body_has_no_length(native_libs, serve_factory):
    # RFC 9110 §8.6: a HEAD response may carry content-length only if it equals GET's; an
    # empty native body says nothing about that, so HEAD gets none (and GET its 0).
    s = serve_factory([native_libs["features"]])
    with Conn(s.port) as c:
        h = c.request("HEAD", "/empty")
        assert h.status == 200 and h.body == b"", h
        assert h.header("content-length") is None, h.headers
        assert h.header("transfer-encoding") is None, h.headers
        g = c.request("GET", "/empty")
        assert g.status == 200 and g.body == b"" and g.header("content-length") == "0", g


def test_serve_head_on_get_route(native_libs, serve_factory):
    # no app behind graft-serve: HEAD is answered by the GET route, without a body
    s = serve_factory([native_libs["hello"]])
    with Conn(s.port) as c:
        h = c.request("HEAD", "/hello/x")
        assert h.status == 200 and h.body == b"", h
        assert h.header("content-length") == str(len(b"Hello, x!")), h
        g = c.request("GET", "/hello/y")
        assert g.status == 200 and g.body == b"Hello, y!", g
        assert c.buf == b"", c.buf


def test_serve_no_python_and_small_rss(native_libs, serve_factory):
    s = serve_factory([native_libs["hello"]])
    exe = os.readlink(f"/proc/{s.pid}/exe")
    assert "python" not in exe.lower(), exe
    with Conn(s.port) as c:
        for i in range(200):
            r = c.request("GET", f"/hello/k{i}")
            assert r.status == 200, r
    for i in range(50):
        assert request(s.port, "GET", f"/hello/f{i}").status == 200
    with open(f"/proc/{s.pid}/maps") as f:
        maps = f.read()
    pyl = [line for line in maps.splitlines() if "python" in line.lower()]
    assert not pyl, "python mapped into graft-serve:\n" + "\n".join(pyl[:20])
    assert "libpython" not in maps
    if "libtsan" in maps:
        return  # `make test-tsan`: the runtime's shadow memory, not graft's, would be measured
    rss = _vmrss_kib(s.pid)
    assert rss < RSS_LIMIT_KIB, f"graft-serve VmRSS {rss} KiB >= {RSS_LIMIT_KIB} KiB"


def test_serve_sigterm_exits_0_quickly_and_destroys_state(native_libs, serve_factory, tmp_path):
    s = serve_factory([native_libs["hello"], f"{native_libs['features']}?{tmp_path}"])
    assert request(s.port, "GET", "/items/special").body == b"exact"
    assert request(s.port, "GET", "/hello/z").body == b"Hello, z!"
    idle = Conn(s.port)
    try:
        r = idle.request("GET", "/hello/idle")  # then left idle, keep-alive
        assert r.status == 200 and not r.connection_close(), r
        t0 = time.monotonic()
        os.kill(s.pid, signal.SIGTERM)
        rc = s.proc.wait(timeout=10)
        dt = time.monotonic() - t0
        assert idle.wait_closed(1), "the idle keep-alive connection was not closed"
    finally:
        idle.close()
    assert rc == 0, f"graft-serve exited {rc} on SIGTERM\n{s.output()}"
    assert dt < 2.0, f"graft-serve took {dt:.2f}s to stop on SIGTERM with one idle connection"
    marker = tmp_path / "destroyed"
    assert marker.exists(), f"library state destructor did not run\n{s.output()}"
    assert marker.read_text().startswith("destroyed requests="), marker.read_text()


def test_serve_two_workers(native_libs, serve_factory):
    s = serve_factory([native_libs["hello"], native_libs["features"]], ["--workers", "2"])
    kids = wait_for(lambda: len(_children(s.pid)) == 2 and _children(s.pid), timeout=5)
    assert kids and len(kids) == 2, f"expected 2 worker processes, children: {_children(s.pid)}"

    # both workers answer: collect the pid reported by features.c's /pid
    seen: set[int] = set()
    deadline = time.monotonic() + 5
    while len(seen) < 2 and time.monotonic() < deadline:
        conns = [Conn(s.port, timeout=3) for _ in range(16)]
        try:
            for c in conns:
                c.send(build_request("GET", "/pid"))
            for c in conns:
                r = c.read_response(timeout=3)
                assert r.status == 200, r
                seen.add(int(r.body))
        finally:
            for c in conns:
                c.close()
    assert seen <= set(kids), f"answers from {seen}, workers are {kids}"
    assert seen == set(kids), f"only {seen} of the workers {kids} answered"
    assert request(s.port, "GET", "/hello/w").body == b"Hello, w!"

    os.kill(s.pid, signal.SIGTERM)
    rc = s.proc.wait(timeout=10)
    assert rc == 0, f"graft-serve parent exited {rc}\n{s.output()}"
    gone = wait_for(lambda: not _pgrp_members(s.pid) and
                    not any(os.path.exists(f"/proc/{k}") for k in kids), timeout=3)
    assert gone, (f"left behind: group members {_pgrp_members(s.pid)}, "
                  f"workers still present {[k for k in kids if os.path.exists(f'/proc/{k}')]}")
