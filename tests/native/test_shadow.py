"""Shadow mode (issue 8): the app answers every client; for sampled requests the native
handler replays the same request afterwards, its answer is captured and compared by the one
rule (same status; same header multiset, case-insensitive names, ignoring date, server and
framing; same body), and each mismatch is one JSON line in --shadow-log or the graft.shadow
logger.

tests/native/libs/shadow.c ports tests/apps/shadow_app.py; its deliberately wrong answers
(item 13's name, /who, /headers?wrong, /cookie, /bytes, /missing) are the only mismatches a
correct shadow mode may report."""

from __future__ import annotations

import json
import os
import stat
import time

import pytest

from native_util import venv_bin
from test_native_startup import _run
from util import APPS_DIR, Conn, Server, stop_and_check

APP = "shadow_app:app"


def _serve(native_libs, *extra):
    args = ["--native", str(native_libs["shadow"])]
    return Server(APP, [str(x) for x in args + list(extra)], impl="graft").start()


def _lines(path, want, timeout=10.0):
    """The log's JSON lines once at least `want` are there (replays run after the answer)."""
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text() if path.exists() else ""
        lines = [json.loads(x) for x in text.splitlines() if x.strip()]
        if len(lines) >= want or time.monotonic() > deadline:
            return lines, text
        time.sleep(0.05)


def _by_path(lines):
    out = {}
    for ln in lines:
        req = ln["request"]
        key = req["path"] + ("?" + req["query"] if req["query"] else "")
        out.setdefault(key, []).append(ln)
    return out


def test_clients_get_the_app_and_the_log_names_exactly_the_wrong_answers(native_libs, tmp_path):
    log = tmp_path / "shadow.log"
    srv = _serve(native_libs, "--route-mode", "*=shadow", "--shadow-log", log)
    try:
        with Conn(srv.port) as c:
            for i in range(1, 21):
                r = c.request("GET", f"/items/{i}")
                assert r.status == 200 and r.json() == {"id": i, "name": f"item-{i}"}, r
            r = c.request("GET", "/stream/50")
            assert r.status == 200 and r.body == b"".join(b"line %d\n" % i for i in range(50)), r
            for q in ("", "?wrong=1"):
                r = c.request("GET", "/headers" + q)
                assert r.status == 200 and r.header("x-a") == "1", r
            r = c.request("GET", "/cookie")
            assert "python-secret" in r.header("set-cookie"), r
            r = c.request("GET", "/bytes")
            assert r.body == bytes([0xFF, 0x00, 0xFE, 0x01]), r
            r = c.request("GET", "/missing")
            assert r.status == 200 and r.json() == {"here": True}, r
            r = c.request("POST", "/search", body=b"graft", headers=[("content-type", "text/plain")])
            assert r.status == 200 and r.json() == {"q": "graft", "hits": 5}, r
            # One runner replays in order: the last mismatch's line means all came before it.
            r = c.request("GET", "/who")
            assert r.json() == {"from": "python"}, r
        lines, text = _lines(log, 7)
        time.sleep(0.3)  # nothing more may follow
        lines, text = _lines(log, 7)
    finally:
        stop_and_check(srv)
    got = _by_path(lines)
    assert sorted(got) == sorted(["/items/13", "/headers?wrong=1", "/cookie", "/bytes",
                                  "/missing", "/who"]), text
    assert all(len(v) == 1 for v in got.values()), text

    item = got["/items/13"][0]
    assert item["route"] == "GET /items/{id}"
    assert item["request"] == {"method": "GET", "path": "/items/13", "query": ""}
    assert item["differs"] == ["body"], item
    assert item["python"]["body"] == '{"id":13,"name":"item-13"}'
    assert item["native"]["body"] == '{"id":13,"name":"item-13!"}'
    assert item["python"]["status"] == item["native"]["status"] == 200

    assert got["/missing"][0]["differs"] == ["status", "body"]
    assert got["/missing"][0]["native"]["status"] == 404
    assert got["/headers?wrong=1"][0]["differs"] == ["headers"]
    assert ["x-a", "one"] in got["/headers?wrong=1"][0]["native"]["headers"]

    cookie = got["/cookie"][0]
    assert cookie["differs"] == ["headers"]
    assert "secret" not in text, "set-cookie values must be redacted"
    assert ["set-cookie", "[redacted]"] in cookie["python"]["headers"]
    assert ["set-cookie", "[redacted]"] in cookie["native"]["headers"]

    b = got["/bytes"][0]
    assert b["python"]["body_base64"] is True and b["native"]["body_base64"] is True
    assert b["python"]["body"] == "/wD+AQ==" and b["native"]["body"] == "/wD+Ag=="
    assert b["python"]["body_length"] == b["native"]["body_length"] == 4

    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600


def test_replay_gets_the_decoded_captures(native_libs, tmp_path):
    # The captures are slices of the path decoded in deliver, gone by the time the runner
    # replays: the shadow keeps copies. An encoded id ("%31%34" is "14") replays as 14, so it
    # matches the app; an encoded 13 still shows the port's bug, with the decoded name.
    log = tmp_path / "shadow.log"
    srv = _serve(native_libs, "--route-mode", "GET /items/{id}=shadow", "--shadow-log", log)
    try:
        with Conn(srv.port) as c:
            for path in ("/items/%31%34", "/items/%31%33"):
                r = c.request("GET", path)
                assert r.status == 200, r
        lines, text = _lines(log, 1)
        time.sleep(0.3)
        lines, text = _lines(log, 1)
    finally:
        stop_and_check(srv)
    assert len(lines) == 1, text
    assert lines[0]["request"]["path"] == "/items/%31%33", text
    assert lines[0]["native"]["body"] == '{"id":13,"name":"item-13!"}', text


def test_sampling_replays_p_percent(native_libs, tmp_path):
    log = tmp_path / "shadow.log"
    srv = _serve(native_libs, "--route-mode", "GET /who=shadow:30", "--shadow-log", log)
    try:
        with Conn(srv.port) as c:
            for _ in range(100):
                assert c.request("GET", "/who").json() == {"from": "python"}
        lines, text = _lines(log, 30)
        time.sleep(0.3)
        lines, text = _lines(log, 30)
    finally:
        stop_and_check(srv)
    assert len(lines) == 30, text


def test_failed_replays_are_never_mismatches_and_never_reach_the_client(native_libs, tmp_path):
    log = tmp_path / "shadow.log"
    srv = _serve(native_libs, "--route-mode", "*=shadow", "--shadow-log", log,
                 "--shadow-timeout", "0.5")
    try:
        with Conn(srv.port) as c:
            for path, want in (("/decline", {"declined": False}), ("/fail", {"fail": False}),
                               ("/slow", {"slow": True})):
                r = c.request("GET", path)
                assert r.status == 200 and r.json() == want, r
            r = c.request("GET", "/who")  # a sentinel mismatch, replayed after the others
        lines, text = _lines(log, 1)
        time.sleep(0.3)
        lines, text = _lines(log, 1)
    finally:
        stop_and_check(srv)
    assert [ln["request"]["path"] for ln in lines] == ["/who"], text


def test_default_sink_is_the_graft_shadow_logger(native_libs):
    srv = _serve(native_libs, "--route-mode", "GET /who=shadow")
    try:
        with Conn(srv.port) as c:
            assert c.request("GET", "/who").json() == {"from": "python"}
        deadline = time.monotonic() + 10
        while '"route": "GET /who"' not in srv.output() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        out = srv.output()
        stop_and_check(srv)
    warn = [ln for ln in out.splitlines() if '"route": "GET /who"' in ln]
    assert len(warn) == 1 and warn[0].startswith("WARNING:"), out
    line = json.loads(warn[0].split(None, 1)[1])
    assert line["python"]["body"] == '{"from":"python"}' and line["native"]["body"] == '{"from":"native"}'


def test_a_rotated_log_is_reopened_0600(native_libs, tmp_path):
    log = tmp_path / "shadow.log"
    srv = _serve(native_libs, "--route-mode", "GET /who=shadow", "--shadow-log", log)
    try:
        with Conn(srv.port) as c:
            c.request("GET", "/who")
            assert len(_lines(log, 1)[0]) == 1
            os.rename(log, tmp_path / "shadow.log.1")
            time.sleep(1.1)  # the sink looks for a rotation at most once a second
            c.request("GET", "/who")
            assert len(_lines(log, 1)[0]) == 1
    finally:
        stop_and_check(srv)
    assert len(_lines(tmp_path / "shadow.log.1", 1)[0]) == 1
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600


def test_star_shadows_only_what_may_be_shadowed(native_libs, tmp_path):
    srv = _serve(native_libs, "--route-mode", "*=shadow", "--shadow-log", tmp_path / "s.log")
    try:
        with Conn(srv.port) as c:
            # POST /orders has no GRAFT_ROUTE_SAFE: '*' leaves it native.
            r = c.request("POST", "/orders", body=b"")
            assert r.status == 201 and r.json() == {"native": True}, r
    finally:
        stop_and_check(srv)


@pytest.mark.parametrize("spec,texts", [
    ("POST /orders=shadow", ["POST /orders=shadow", "GRAFT_ROUTE_SAFE"]),
    ("GET /who=shadow:x", ["0 to 100"]),
])
def test_refused_shadow_modes_stop_the_server(native_libs, spec, texts):
    cmd = [str(venv_bin() / "graft"), APP, "--app-dir", str(APPS_DIR),
           "--native", str(native_libs["shadow"]), "--route-mode", spec,
           "--host", "127.0.0.1", "--port", "0", "--no-access-log"]
    rc, out = _run(cmd)
    assert rc not in (None, 0), out
    for t in texts:
        assert t in out, out


def test_a_safe_post_route_is_replayed_with_its_body(native_libs, tmp_path):
    log = tmp_path / "shadow.log"
    srv = _serve(native_libs, "--route-mode", "POST /search=shadow", "--route-mode",
                 "GET /who=shadow", "--shadow-log", log)
    try:
        with Conn(srv.port) as c:
            body = b"x" * 3000
            r = c.request("POST", "/search", body=body, headers=[("content-type", "text/plain")])
            assert r.json() == {"q": "x" * 100, "hits": 3000}, r
            c.request("GET", "/who")
        lines, text = _lines(log, 1)
        time.sleep(0.3)
        lines, text = _lines(log, 1)
    finally:
        stop_and_check(srv)
    # The replay saw the same 3,000 bytes (else its hits would differ): only /who is logged.
    assert [ln["request"]["path"] for ln in lines] == ["/who"], text


def test_two_workers_with_metrics_and_control(native_libs, tmp_path):
    """The migration loop as an operator runs it: shadow on every route under --workers 2,
    with the metrics summed over both workers, then a live switch with graft ctl."""
    from test_metrics_control import ctl, free_port, requests_by, scrape, wait_for, worker_pids

    log, control, mport = tmp_path / "shadow.log", str(tmp_path / "ctl.sock"), free_port()
    srv = _serve(native_libs, "--workers", "2", "--route-mode", "*=shadow", "--shadow-log", log,
                 "--metrics", f"127.0.0.1:{mport}", "--control", control)
    try:
        wait_for(lambda: len(worker_pids(srv.proc.pid)) == 2, what="two workers")
        sent = {"/items/{id}": 20, "/who": 5, "/decline": 2, "/fail": 2, "/missing": 1}
        for i in range(1, 21):  # fresh connections: both workers take some
            r = srv.request("GET", f"/items/{i}")
            assert r.json() == {"id": i, "name": f"item-{i}"}, r
        for path in ("/who",) * 5 + ("/decline",) * 2 + ("/fail",) * 2 + ("/missing",):
            r = srv.request("GET", path)
            assert r.status == 200 and "native" not in r.body.decode(), r

        def done():
            s = scrape(mport)
            total = sum(v for (name, _), v in s.items() if name in (
                "graft_shadow_compared_total", "graft_shadow_failed_total", "graft_shadow_skipped_total"))
            return total >= sum(sent.values())
        wait_for(done, what="every replay counted")
        s = scrape(mport)

        def shadow(kind, route, **labels):
            return sum(v for (name, ls), v in s.items() if name == f"graft_shadow_{kind}_total"
                       and ("route", route) in ls and set(labels.items()) <= set(ls))

        for route, n in sent.items():
            assert requests_by(s, route=route, answered_by="python") == n, route
            assert requests_by(s, route=route, answered_by="native") == 0, route
        assert shadow("compared", "/items/{id}") == 20 and shadow("mismatches", "/items/{id}") == 1
        assert shadow("compared", "/who") == 5 and shadow("mismatches", "/who") == 5
        assert shadow("failed", "/decline", reason="declined") == 2
        assert shadow("failed", "/fail", reason="error") == 2
        assert shadow("compared", "/missing") == 1 and shadow("mismatches", "/missing") == 1
        assert sum(v for (name, _), v in s.items() if name == "graft_shadow_skipped_total") == 0

        lines, text = _lines(log, 7)
        assert sorted(ln["request"]["path"] for ln in lines) == \
            sorted(["/items/13", "/missing"] + ["/who"] * 5), text

        routes = {(x["method"], x["path"]): x for x in json.loads(ctl(control, "routes", "--json").stdout)}
        assert routes[("GET", "/who")]["mode"] == "shadow"
        assert routes[("GET", "/who")]["counters"]["shadow_mismatches"] == 5
        assert routes[("POST", "/orders")]["mode"] == "native"  # '*' left the unsafe route alone
        r = ctl(control, "set", "POST /orders", "shadow")
        assert r.returncode != 0 and "GRAFT_ROUTE_SAFE" in r.stderr, r

        assert ctl(control, "set", "GET /who", "native").returncode == 0
        time.sleep(1.0)
        assert {srv.request("GET", "/who").json()["from"] for _ in range(10)} == {"native"}
    finally:
        stop_and_check(srv)
