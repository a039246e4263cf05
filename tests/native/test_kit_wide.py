"""Integers beyond int64 that no bound decides (GRAFT_ROUTE_WIDE_INT): tests/apps/kit_wide_app.py
served by the app alone under graft, under graft with tests/native/libs/kit_wide.c, and by
graft-serve --openapi must give the same status, headers (minus date/server and the app's
x-served-by marker) and body. On the route registered with the flag the kit answers such values
itself (path, query, list items, header, cookie), echoing their canonical text; on the route
without it they stay declined (graft) or graft_unsupported (graft-serve), as before."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import urllib.parse

import pytest

from native_util import REPO, clean_env
from util import Server, request, stop_and_check

from graft import _graft

APP = "kit_wide_app:app"
IGNORED = {"date", "server", "x-served-by"}

BIG = ["99999999999999999999", "-99999999999999999999", "9223372036854775808", "-9223372036854775809",
       "18446744073709551616", " 00099_999999999999999999", "+99999999999999999999", "-0_0_99999999999999999999",
       "99999999999999999999.000", "1_0000_0000_0000_0000_0000", "9" * 4300, "-" + "9" * 4300,
       "0" * 4400 + "99999999999999999999"]
FITS = ["9223372036854775807", "-9223372036854775808", "0", "-0", " 7 ", "007", "5_0"]
BAD = ["99999999999999999999.5", "99999999999999999999x", "9_", "9" * 4301, "-" + "9" * 4301,
       "99999999999999999999__9"]
DECLINED = ["0-99999999999999999999", "+" + "9" * 4301, " " + "9" * 4301]


def q(path, params):
    return path + ("?" + urllib.parse.urlencode(params) if params else "")


def _fixed():
    out = []
    for v in BIG + FITS + BAD:
        out.append((q("/wide/items/" + urllib.parse.quote(v, safe=""), []), []))
        out.append((q("/wide/items/1", [("lo", v), ("hi", v), ("tags", v), ("tags", "1")]), []))
        out.append(("/wide/items/1", [("x-n", v.strip()), ("cookie", "session=" + v.strip())]))
    out.append((q("/wide/items/1", [("m", "99999999999999999999"), ("m", "3")]), []))  # last one wins
    for m in ("99999999999999999999", "-100000000000000000000", " 0_300000000000000000000.0"):
        out.append((q("/wide/items/1", [("m", m)]), []))  # multiple_of 3: by the big remainder
    return out


def _rand(n, seed):
    rnd = random.Random(seed)
    pool = BIG[:10] + FITS + BAD[:3] + ["1", "-4", "12", "x", ""]
    out = []
    for _ in range(n):
        params = [(k, rnd.choice(pool)) for k in ("lo", "hi", "m") if rnd.random() < 0.4]
        params += [("tags", rnd.choice(pool)) for _ in range(rnd.choice([0, 1, 3]))]
        hdrs = [("x-n", rnd.choice(pool).strip())] if rnd.random() < 0.3 else []
        out.append((q("/wide/items/" + urllib.parse.quote(rnd.choice(pool) or "1", safe=""), params), hdrs))
    return out


def _resp(port, path, hdrs):
    r = request(port, "GET", path, headers=hdrs)
    keep = [(k, v) for k, v in r.headers if k.lower() not in IGNORED]
    return {"status": r.status, "headers": keep, "body": r.body}, r.header("x-served-by")


@pytest.fixture(scope="module")
def servers(native_libs):
    py = Server(APP, [], impl="graft").start()
    nat = Server(APP, ["--native", str(native_libs["kit_wide"])], impl="graft").start()
    try:
        yield py, nat
    finally:
        stop_and_check(py)
        stop_and_check(nat)


@pytest.fixture(scope="module")
def doc_file(tmp_path_factory):
    out = subprocess.run([sys.executable, "-m", "graft", "openapi", APP, "--app-dir", "tests/apps"],
                         cwd=str(REPO), env=clean_env(__import__("os").environ), capture_output=True,
                         timeout=60, check=True)
    f = tmp_path_factory.mktemp("wide") / "openapi.json"
    f.write_bytes(out.stdout)
    return f


def test_app_answers_big_ints_as_valid(servers):
    """The premise: FastAPI takes these values (so a 422 of the kit would be a difference)."""
    py, _ = servers
    a, _ = _resp(py.port, "/wide/items/-99999999999999999999?lo=%2000099_999999999999999999", [])
    assert a["status"] == 200, a
    body = json.loads(a["body"])
    assert body["item_id"] == -99999999999999999999 and body["lo"] == 99999999999999999999 and body["big"]


def test_native_equals_app(servers):
    py, nat = servers
    mismatches, declined = [], []
    for path, hdrs in _fixed() + _rand(200, seed=63):
        a, _ = _resp(py.port, path, hdrs)
        b, served = _resp(nat.port, path, hdrs)
        if served == "app":
            declined.append(path)
        if _graft.compare_responses(a, b):
            mismatches.append((path[:120], hdrs, a, b))
    assert not mismatches, mismatches[:3]
    assert not declined, declined[:3]  # the flag let every big one through to the kit


@pytest.mark.parametrize("v", BIG[:6] + BAD[3:5])
def test_wide_answered_natively(servers, v):
    py, nat = servers
    path = "/wide/items/" + urllib.parse.quote(v, safe="")
    a, _ = _resp(py.port, path, [])
    b, served = _resp(nat.port, path, [])
    assert served is None and _graft.compare_responses(a, b) == [], (a, b)


@pytest.mark.parametrize("path", ["/wide/plain/99999999999999999999", "/wide/plain/-9223372036854775809"]
                         + ["/wide/items/" + urllib.parse.quote(v, safe="") for v in DECLINED])
def test_still_declined(servers, path):
    """Without the flag, and texts whose grammar is not reproduced: the app answers under graft."""
    py, nat = servers
    a, _ = _resp(py.port, path, [])
    b, served = _resp(nat.port, path, [])
    assert served == "app" and _graft.compare_responses(a, b) == [], (a, b)


def test_graft_serve(servers, native_libs, serve_factory, doc_file):
    py, nat = servers
    sv = serve_factory([native_libs["kit_wide"]], ["--openapi", str(doc_file)])
    mismatches = []
    for path, hdrs in _fixed() + _rand(200, seed=64):
        a, _ = _resp(py.port, path, hdrs)
        c, _ = _resp(sv.port, path, hdrs)
        if _graft.compare_responses(a, c):
            mismatches.append((path[:120], hdrs, a, c))
    assert not mismatches, mismatches[:3]
    for v in DECLINED:  # graft-serve's own answer for what the kit cannot judge
        c, _ = _resp(sv.port, "/wide/items/" + urllib.parse.quote(v, safe=""), [])
        assert c["status"] == 422 and b'"graft_unsupported"' in c["body"], c
    c, _ = _resp(sv.port, "/wide/plain/99999999999999999999", [])
    assert c["status"] == 422 and json.loads(c["body"]) == {"detail": [{
        "type": "graft_unsupported", "loc": ["path", "item_id"],
        "msg": "Input not supported by graft-serve", "input": "99999999999999999999"}]}
