"""Route modes (issue 8, first part): per native route, who answers — the C handler
(`native`, the default), the app (`python`), or P % the handler and the rest the app
(`split:P`, spread evenly by a counter, not by chance) — set at start with `--route-mode`.

features.c's `GET /maybe` answers {"from": "native"}; tests/apps/native_app.py's answers
{"from": "python"}, so every answer says who gave it."""

from __future__ import annotations

import pytest

from native_util import start_graft, venv_bin
from test_native_startup import _run
from util import APPS_DIR, Conn, stop_and_check


def _serve(native_libs, tmp_path, *modes):
    extra = ["--native", f"{native_libs['features']}?{tmp_path}"]
    for m in modes:
        extra += ["--route-mode", m]
    return start_graft(extra)


def _who(conn, path="/maybe"):
    r = conn.request("GET", path)
    assert r.status == 200, r
    return r.json()["from"]


def test_default_is_native(native_libs, tmp_path):
    srv = _serve(native_libs, tmp_path)
    try:
        with Conn(srv.port) as c:
            assert [_who(c) for _ in range(5)] == ["native"] * 5
    finally:
        stop_and_check(srv)


def test_python_mode_gives_the_route_to_the_app(native_libs, tmp_path):
    srv = _serve(native_libs, tmp_path, "GET /maybe=python")
    try:
        with Conn(srv.port) as c:
            assert [_who(c) for _ in range(5)] == ["python"] * 5
            # Other native routes keep their handler.
            r = c.request("GET", "/items/special")
            assert r.status == 200 and r.body == b"exact", r
    finally:
        stop_and_check(srv)


def test_star_sets_every_route_and_a_later_flag_wins(native_libs, tmp_path):
    srv = _serve(native_libs, tmp_path, "*=python", "GET /maybe=native")
    try:
        with Conn(srv.port) as c:
            # /items/special is now the app's, which has no such route.
            r = c.request("GET", "/items/special")
            assert r.status == 404 and r.json() == {"detail": "Not Found"}, r
            assert _who(c) == "native"
    finally:
        stop_and_check(srv)


@pytest.mark.parametrize("pct", [0, 1, 30, 50, 99, 100])
def test_split_is_exact_over_any_100_consecutive_requests(native_libs, tmp_path, pct):
    srv = _serve(native_libs, tmp_path, f"GET /maybe=split:{pct}")
    try:
        with Conn(srv.port) as c:
            seq = [_who(c) == "native" for _ in range(250)]
    finally:
        stop_and_check(srv)
    for start in range(0, 151, 10):
        assert sum(seq[start:start + 100]) == pct, (start, seq)
    if 0 < pct < 100:
        # Evenly spread, not in blocks: no run of one side longer than the split allows.
        longest = max(len(run) for run in "".join("n" if s else "p" for s in seq).replace("n", " ").split(" "))
        assert longest <= -(-(100 - pct) // pct), (pct, longest)


BAD = {
    "unknown-route": ("GET /nope=python", ["GET /nope"]),
    "unknown-method": ("PATCH /maybe=python", ["PATCH /maybe"]),
    "unknown-mode": ("GET /maybe=fast", ['"fast"']),
    "split-over-100": ("GET /maybe=split:101", ["0 to 100"]),
    "split-not-a-number": ("GET /maybe=split:x", ["0 to 100"]),
    "no-equals": ("GET /maybe", ["METHOD TEMPLATE=MODE"]),
    "shadow-over-100": ("GET /maybe=shadow:101", ["0 to 100"]),
    "shadow-on-a-post-route": ("POST /maybe=shadow", ["POST /maybe=shadow", "GRAFT_ROUTE_SAFE"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_route_mode_stops_the_server(native_libs, tmp_path, case):
    spec, texts = BAD[case]
    cmd = [str(venv_bin() / "graft"), "native_app:app", "--app-dir", str(APPS_DIR),
           "--native", f"{native_libs['features']}?{tmp_path}", "--route-mode", spec,
           "--host", "127.0.0.1", "--port", "0", "--no-access-log"]
    rc, out = _run(cmd)
    assert rc not in (None, 0), f"graft started with --route-mode {spec!r}\n{out}"
    for t in texts:
        assert t in out, f"the message does not mention {t!r}\n{out}"


def test_websocket_route_has_no_mode(native_libs):
    cmd = [str(venv_bin() / "graft"), "native_app:app", "--app-dir", str(APPS_DIR),
           "--native", str(native_libs["wsflood"]), "--route-mode", "WEBSOCKET /flood=python",
           "--host", "127.0.0.1", "--port", "0", "--no-access-log"]
    rc, out = _run(cmd)
    assert rc not in (None, 0), out
    assert "WebSocket routes have no modes" in out, out
