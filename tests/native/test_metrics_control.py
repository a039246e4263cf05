"""--metrics and --control (issue 8, items 2 and 3) with --workers 2, features.c in front of
tests/apps/native_app.py (FastAPI).

Metrics: every answer is counted once, summed over both workers, split by answered_by
(native / python / declined / graft), labelled with the native template or the app's own
route template; a worker killed with SIGKILL keeps its counts in the totals. The text format
is checked by a strict parser written here. Control: the socket is 0600; `graft ctl` lists
and switches modes in every worker under load with no failed request; a respawned worker
keeps the live mode; WebSocket routes and unknown routes or modes are refused."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from native_util import start_graft
from util import HOST, Conn, clean_env, raw, request, stop_and_check

REPO = Path(__file__).resolve().parents[2]

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse_prometheus(text: str) -> dict:
    """Strict text-format 0.0.4 parser: {(name, frozenset(labels)): value}. Fails on a sample
    before its family's TYPE, a malformed line, or a repeated series."""
    assert text.endswith("\n"), "the exposition must end with a newline"
    types: dict[str, str] = {}
    out: dict = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram"), line
            assert name not in types, f"second TYPE for {name}"
            types[name] = kind
            continue
        m = _SAMPLE.match(line)
        assert m, f"malformed line {line!r}"
        name, labels_text, value = m.groups()
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, f"sample {name} before its TYPE"
        labels = {}
        pos = 0
        while labels_text and pos < len(labels_text):
            lm = _LABEL.match(labels_text, pos)
            assert lm, f"bad labels in {line!r}"
            labels[lm.group(1)] = lm.group(2)
            pos = lm.end()
        key = (name, frozenset(labels.items()))
        assert key not in out, f"repeated series {line!r}"
        out[key] = float(value)
    return out


def scrape(port: int) -> dict:
    r = request(port, "GET", "/metrics")
    assert r.status == 200, r
    assert r.header("content-type") == "text/plain; version=0.0.4; charset=utf-8"
    return parse_prometheus(r.body.decode())


def requests_by(samples: dict, **want) -> float:
    """Sum of graft_requests_total over series whose labels include want."""
    total = 0.0
    for (name, labels), v in samples.items():
        if name == "graft_requests_total" and set(want.items()) <= set(labels):
            total += v
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def worker_pids(supervisor_pid: int) -> set[int]:
    kids = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == supervisor_pid:
                kids.add(int(d))
    return kids


def wait_for(pred, timeout=15.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def ctl(control: str, *args: str) -> subprocess.CompletedProcess:
    env = clean_env(os.environ)
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "graft", "ctl", "--control", control, *args],
                          capture_output=True, text=True, timeout=20, env=env, cwd=str(REPO))


@pytest.fixture
def served(native_libs, tmp_path):
    mport = free_port()
    control = str(tmp_path / "ctl.sock")
    srv = start_graft(["--workers", "2", "--native", f"{native_libs['features']}?{tmp_path}",
                       "--metrics", f"{HOST}:{mport}", "--control", control,
                       "--route-mode", "POST /maybe=python", "--route-mode", "GET /maybe=split:50"])
    try:
        wait_for(lambda: len(worker_pids(srv.proc.pid)) == 2, what="two workers")
        # Both workers answer the control socket once they serve.
        wait_for(lambda: ctl(control, "routes", "--json").returncode == 0, what="control socket")
        yield srv, mport, control
    finally:
        stop_and_check(srv)


def _send_mix(port: int) -> dict:
    """Exact numbers of each kind of request; returns what each should add."""
    for i in range(5):
        r = request(port, "GET", f"/items/{i}")
        assert r.status == 200 and r.body, r
    for _ in range(4):
        r = request(port, "POST", "/maybe", body=b"x")
        assert r.status == 200 and json.loads(r.body)["from"] == "python", r
    split = {"native": 0, "python": 0}
    for _ in range(10):
        r = request(port, "GET", "/maybe")
        split[json.loads(r.body)["from"]] += 1
    for _ in range(3):
        r = request(port, "POST", "/maybe-body", headers=[("x-decline", "1")], body=b"y")
        assert r.status == 200 and json.loads(r.body)["from"] == "python", r
    for _ in range(2):
        r = request(port, "POST", "/hello/bob", body=b"z")
        assert r.status == 200, r
    for _ in range(3):
        assert request(port, "GET", "/nowhere").status == 404
    for _ in range(2):
        assert raw(port, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400")
    return split


def _check_mix(before: dict, after: dict, split: dict) -> None:
    def d(**want):
        return requests_by(after, **want) - requests_by(before, **want)

    assert d(method="GET", route="/items/{id}", answered_by="native", status="200") == 5
    assert d(method="POST", route="/maybe", answered_by="python", status="200") == 4
    assert d(method="GET", route="/maybe", answered_by="native") == split["native"]
    assert d(method="GET", route="/maybe", answered_by="python") == split["python"]
    assert d(method="POST", route="/maybe-body", answered_by="declined", status="200") == 3
    assert d(method="POST", route="/hello/{name}", answered_by="python", status="200") == 2
    assert d(method="GET", route="other", answered_by="python", status="404") == 3
    assert d(route="other", answered_by="graft", status="400") == 2
    # Nothing else was answered meanwhile: the scrapes themselves are on another listener.
    assert d() == (5 + 4 + 10 + 3 + 2 + 3 + 2)


def test_metrics_count_every_answer_over_both_workers_and_survive_a_kill(served):
    srv, mport, _ = served
    before = scrape(mport)
    split = _send_mix(srv.port)
    assert split["native"] and split["python"], split
    mid = scrape(mport)
    _check_mix(before, mid, split)
    assert mid[("graft_workers", frozenset())] == 2

    # Histograms: cumulative buckets, +Inf and _count equal the requests of that series.
    for (name, labels), v in mid.items():
        if name != "graft_request_duration_seconds_count":
            continue
        base = dict(labels)
        buckets = sorted(((float(dict(lb)["le"]), bv) for (n, lb), bv in mid.items()
                          if n == "graft_request_duration_seconds_bucket"
                          and {k: x for k, x in dict(lb).items() if k != "le"} == base),
                         key=lambda t: t[0])
        assert len(buckets) == 17 and buckets[0][0] == 0.0001 and buckets[-2][0] == 10
        counts = [bv for _, bv in buckets]
        assert counts == sorted(counts), f"buckets not cumulative for {base}"
        assert counts[-1] == v
        total = sum(x for (n, lb), x in mid.items() if n == "graft_requests_total"
                    and {k: y for k, y in dict(lb).items() if k != "status"} == base)
        assert v == total, base

    # A worker killed outright: its counts stay in the totals, and its replacement counts on.
    victim = sorted(worker_pids(srv.proc.pid))[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: len(worker_pids(srv.proc.pid) - {victim}) == 2, what="the respawn")
    wait_for(lambda: request(srv.port, "GET", "/items/x").status == 200, what="serving")
    after_kill = scrape(mport)
    for key, v in mid.items():
        if key[0] == "graft_requests_total":
            assert after_kill.get(key, 0) >= v, f"lost counts of {key} after the kill"
    split2 = _send_mix(srv.port)
    end = scrape(mport)
    _check_mix(after_kill, end, split2)


def test_metrics_listener_answers_only_metrics(served):
    _, mport, _ = served
    assert request(mport, "GET", "/other").status == 404
    assert request(mport, "POST", "/metrics", body=b"").status == 405


def test_control_socket_is_private_and_lists_routes(served):
    srv, _, control = served
    assert stat.S_IMODE(os.stat(control).st_mode) == 0o600
    r = ctl(control, "routes", "--json")
    assert r.returncode == 0, r.stderr
    routes = {(x["method"], x["path"]): x for x in json.loads(r.stdout)}
    assert routes[("POST", "/maybe")]["mode"] == "python"
    assert routes[("GET", "/maybe")]["mode"] == "split:50"
    assert routes[("GET", "/items/{id}")]["mode"] == "native"
    for _ in range(3):
        assert request(srv.port, "GET", "/items/7").status == 200
    r = ctl(control, "routes", "--json")
    routes = {(x["method"], x["path"]): x for x in json.loads(r.stdout)}
    assert routes[("GET", "/items/{id}")]["counters"]["native"] == 3
    text = ctl(control, "routes")
    assert text.returncode == 0 and "/items/{id}" in text.stdout and "split:50" in text.stdout


def test_ctl_refuses_unknown_routes_and_modes(served):
    _, _, control = served
    r = ctl(control, "set", "GET /nope", "python")
    assert r.returncode != 0 and "no native route" in r.stderr
    r = ctl(control, "set", "GET /maybe", "sideways")
    assert r.returncode != 0 and "unknown route mode" in r.stderr
    r = ctl(control, "set", "GET /maybe", "split:101")
    assert r.returncode != 0 and "percentage" in r.stderr


def _who(port: int) -> str:
    r = request(port, "GET", "/maybe", timeout=10)
    assert r.status == 200, r
    return json.loads(r.body)["from"]


def test_live_switch_under_load_reaches_both_workers_without_failures(served):
    srv, _, control = served
    failures: list = []
    seen: list = []  # (time, who answered)
    stop = threading.Event()

    def load():
        while not stop.is_set():
            try:
                with Conn(srv.port, timeout=10) as c:
                    for _ in range(20):
                        r = c.request("GET", "/maybe")
                        if r.status != 200:
                            failures.append(r)
                        else:
                            seen.append((time.monotonic(), json.loads(r.body)["from"]))
            except Exception as exc:  # noqa: BLE001 - every failure counts
                failures.append(exc)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for mode, expect in (("native", {"native"}), ("python", {"python"}),
                             ("split:50", {"native", "python"}), ("native", {"native"})):
            r = ctl(control, "set", "GET /maybe", mode)
            assert r.returncode == 0, r.stderr
            t0 = time.monotonic()
            time.sleep(1.0)
            # Every answer given from 1 s after the switch follows the new mode, on both
            # workers (each answers on its own connections; the load keeps both busy).
            window = [who for t, who in seen if t >= t0 + 0.05]
            assert window, "no answers under load"
            late = {_who(srv.port) for _ in range(20)}
            assert late == expect, (mode, late)
            if len(expect) == 1:  # the load's answers after the switch settled follow it too
                assert set(window[len(window) // 2:]) <= expect, mode
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=20)
    assert not failures, failures[:3]


def test_respawned_worker_keeps_the_live_mode(served):
    srv, _, control = served
    r = ctl(control, "set", "GET /maybe", "python")
    assert r.returncode == 0, r.stderr
    pids = worker_pids(srv.proc.pid)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: len(worker_pids(srv.proc.pid) - pids) == 2, what="two new workers")
    wait_for(lambda: request(srv.port, "GET", "/items/x").status == 200, what="serving")
    # Both new workers started with --route-mode 'GET /maybe=split:50', yet serve python.
    assert {_who(srv.port) for _ in range(30)} == {"python"}


def test_websocket_routes_have_no_mode(native_libs, tmp_path):
    control = str(tmp_path / "ctl.sock")
    srv = start_graft(["--native", str(native_libs["wsflood"]), "--control", control])
    try:
        routes = json.loads(ctl(control, "routes", "--json").stdout)
        ws = [x for x in routes if x["websocket"]]
        assert ws, routes
        r = ctl(control, "set", f"{ws[0]['method']} {ws[0]['path']}", "python")
        assert r.returncode != 0 and "WebSocket" in r.stderr
    finally:
        stop_and_check(srv)


def test_graft_serve_metrics_and_control(native_libs, tmp_path):
    from native_util import ServeProcess

    mport = free_port()
    control = str(tmp_path / "serve.sock")
    srv = ServeProcess([native_libs["features"]],
                       ["--workers", "2", "--metrics", f"{HOST}:{mport}", "--control", control]).start()
    try:
        before = scrape(mport)
        for i in range(6):
            assert request(srv.port, "GET", f"/items/{i}").status == 200
        assert request(srv.port, "GET", "/nothing-here").status == 404
        after = scrape(mport)
        d = lambda **w: requests_by(after, **w) - requests_by(before, **w)  # noqa: E731
        assert d(route="/items/{id}", answered_by="native", status="200") == 6
        assert d(route="other", status="404") == 1
        assert after[("graft_workers", frozenset())] == 2
        assert stat.S_IMODE(os.stat(control).st_mode) == 0o600
        # No app behind graft-serve: only `native` is a valid mode, checked as --route-mode is.
        r = ctl(control, "set", "GET /maybe", "python")
        assert r.returncode != 0 and "without an app" in r.stderr
        assert ctl(control, "set", "GET /maybe", "native").returncode == 0
    finally:
        assert srv.stop() == 0, srv.output()


def test_options_from_the_environment_and_checked_early():
    from graft.config import Config
    from graft.main import parse_args

    kw = parse_args(["app:app"], environ={"GRAFT_METRICS": "127.0.0.1:9100", "GRAFT_CONTROL": "/tmp/c.sock"})
    assert kw["metrics"] == "127.0.0.1:9100" and kw["control"] == "/tmp/c.sock"
    assert Config("app:app", metrics="[::1]:9100").metrics == "[::1]:9100"
    for bad in ("9100", "host:", "host:port", "h:70000"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            Config("app:app", metrics=bad)
    with pytest.raises(ValueError, match="at most 64 workers"):
        Config("app:app", control="/tmp/c.sock", workers=65)


def test_app_route_templates_without_native_routes():
    """No --native: the app's own templates label its answers, mounts included (FastAPI's
    path_format, a Starlette sub-app under Mount), unmatched ones are `other`."""
    from util import Server

    mport = free_port()
    with Server("routes_app:app", ["--metrics", f"{HOST}:{mport}", "--root-path", "/api"],
                impl="graft") as srv:
        before = scrape(mport)
        for _ in range(3):
            assert request(srv.port, "GET", "/items/5").status == 200
        assert request(srv.port, "GET", "/items/abc").status == 422
        assert request(srv.port, "GET", "/sub/x/3").status == 200
        assert request(srv.port, "GET", "/nope").status == 404
        after = scrape(mport)
        d = lambda **w: requests_by(after, **w) - requests_by(before, **w)  # noqa: E731
        assert d(route="/items/{item_id}", answered_by="python", status="200") == 3
        assert d(route="/items/{item_id}", status="422") == 1
        assert d(route="/sub/x/{n}", status="200") == 1
        assert d(route="other", status="404") == 1
        assert d() == 6


def test_control_refuses_other_users_even_when_the_mode_allows_them(native_libs, tmp_path):
    """The peer-credential check holds on its own: with the socket made world-writable, a
    client running as another user is closed on without an answer, while ours is served."""
    if os.geteuid() != 0:
        pytest.fail("this test switches to another uid, which needs root (the test machines run as root)")
    import tempfile
    sockdir = tempfile.mkdtemp(prefix="graft-ctl-")
    os.chmod(sockdir, 0o755)
    control = os.path.join(sockdir, "ctl.sock")
    srv = start_graft(["--native", f"{native_libs['features']}?{tmp_path}", "--control", control])
    try:
        wait_for(lambda: ctl(control, "routes", "--json").returncode == 0, what="control socket")
        os.chmod(control, 0o666)
        # Bytes of answer the probe got: a refused peer is closed on (its send may even fail).
        probe = ("import socket,sys\n"
                 "s=socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])\n"
                 "data=b''\n"
                 "try:\n"
                 "    s.sendall(b'GET /routes HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
                 "    while True:\n"
                 "        b=s.recv(4096)\n"
                 "        if not b: break\n"
                 "        data+=b\n"
                 "except (BrokenPipeError, ConnectionResetError):\n"
                 "    pass\n"
                 "print(len(data))\n")
        # The system interpreter: the venv may sit where another user cannot read.
        as_nobody = subprocess.run(["/usr/bin/python3", "-c", probe, control], capture_output=True,
                                   text=True, timeout=20, preexec_fn=lambda: os.setuid(65534))
        assert as_nobody.returncode == 0, as_nobody.stderr
        assert as_nobody.stdout.strip() == "0", "another user got an answer from the control socket"
        assert ctl(control, "routes", "--json").returncode == 0  # the owner still is served
    finally:
        stop_and_check(srv)
        import shutil
        shutil.rmtree(sockdir, ignore_errors=True)
