"""Route contracts for JSON request bodies (issue 9): tests/apps/kit_body_app.py served three
ways — by the app alone under graft, under graft with tests/native/libs/kit_body.c (handlers
that call GRAFT_VALIDATE and answer from the graft_body_* getters), and by graft-serve
--openapi with the document `graft openapi` wrote — must give the same status, headers (minus
date/server and the app's x-served-by marker) and body for valid and invalid bodies, fixed and
seeded-random: every error type, nested models, lists, extra keys, Optional, defaults,
parameters before the body. What the kit declines (malformed JSON, duplicate keys, other
content-types, huge numbers) is answered by the app under graft."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

from native_util import REPO, clean_env, venv_bin
from util import Server, request, stop_and_check

from graft import _graft

APP = "kit_body_app:app"
IGNORED = {"date", "server", "x-served-by"}
JSON_CT = [("content-type", "application/json")]

GOOD = {"name": "pen", "price": 1.5, "ok": True, "addr": {"city": "Oslo", "zip": 150}, "tags": [1]}

FIXED = [
    ("POST", "/kitb/orders/1", GOOD),
    ("POST", "/kitb/orders/1?dry=yes", dict(GOOD, qty="7", notes="n\u00fc\n", color="blue", price=3,
                                           lines=[{"sku": "a", "qty": 2}, {"sku": "b", "qty": "3"}],
                                           billing={"city": "X", "zip": 0}, tags=[1, "2", 3.0])),
    ("POST", "/kitb/orders/1", dict(GOOD, notes=None, billing=None, ok="yes")),
    ("POST", "/kitb/orders/1", {}),
    ("POST", "/kitb/orders/1", []),
    ("POST", "/kitb/orders/1", None),
    ("POST", "/kitb/orders/1", "text"),
    ("POST", "/kitb/orders/1", 5),
    ("POST", "/kitb/orders/x?dry=maybe", {"zz": 1, "name": 5}),
    ("POST", "/kitb/orders/1", dict(GOOD, name="toolongname", price=-1.5, ok="x",
                                   addr={"city": "", "zip": "z"}, tags=[1, "a", 2.5, 4],
                                   color="pink", zz=1, notes=3)),
    ("POST", "/kitb/orders/1", dict(GOOD, tags=[], addr=None, lines=[{"sku": 1}, {"qty": 0}, 7])),
    ("POST", "/kitb/orders/1", dict(GOOD, tags=["a"], lines="x", billing={"city": "abcdefghijklmn"})),
    ("POST", "/kitb/orders/1", dict(GOOD, tags={"a": [1.0, 2e20, -0.0]}, price=True, qty=1.5)),
    ("POST", "/kitb/orders/1", dict(GOOD, price="1e400", qty=1e30)),
    ("POST", "/kitb/orders/1", dict(GOOD, price=0, qty=None, ok=2, name="\u00fc" * 9)),
    ("PUT", "/kitb/loose", {"a": 1}),
    ("PUT", "/kitb/loose", {"a": "1", "b": 2, "s": ["x", "y"], "extra": [1, {"k": None}]}),
    ("PUT", "/kitb/loose", {"a": 1.0, "b": " 2.5"}),
    ("PUT", "/kitb/loose", {"a": None, "b": [], "s": [1, None]}),
    ("PUT", "/kitb/loose", {"a": 3, "t": None}),
    ("PUT", "/kitb/loose", {"a": 3, "t": "given", "b": None}),
    ("PUT", "/kitb/loose", {"a": 3, "t": 5}),
    ("PUT", "/kitb/loose", {"a": [1], "b": {"x": 1.25}}),
    ("POST", "/kitb/embed", {"item": {"a": 2, "s": ["q"]}}),
    ("POST", "/kitb/embed", {"item": {"a": "z"}}),
    ("POST", "/kitb/embed", {"a": 2}),
    ("POST", "/kitb/embed", {}),
    ("POST", "/kitb/embed", []),
    ("POST", "/kitb/embed", None),
    ("POST", "/kitb/embed", {"item": [], "other": 1}),
]

# Raw bodies and content-types: answered by the kit (exactly) or declined under graft.
RAW = [
    ("POST", "/kitb/orders/1", JSON_CT, b""),                        # missing
    ("POST", "/kitb/orders/1", [("content-type", "text/plain")], b""),  # missing, whatever the type
    ("POST", "/kitb/embed", JSON_CT, b""),                           # embedded: each field missing
    ("PUT", "/kitb/loose", [("content-type", "application/json; charset=utf-8")], b'{"a":1}'),
    ("PUT", "/kitb/loose", [("content-type", "Application/JSON")], b'{"a":1}'),
    ("PUT", "/kitb/loose", [("content-type", "application/vnd.x+json")], b'{"a":"q"}'),
    ("PUT", "/kitb/loose", JSON_CT, b' \n{"a" : 1 , "b":1E2}\t'),
    ("PUT", "/kitb/loose", JSON_CT, b'{"a":1,"s":["\\u00e9\\ud83d\\ude00","\\"\\/"]}'),
    ("PUT", "/kitb/loose", JSON_CT, b'{"a":-0,"b":-0.0}'),
    ("PUT", "/kitb/loose", JSON_CT, b'{"a":9223372036854775807,"b":5e-324}'),
    ("PUT", "/kitb/loose?ignored=1", JSON_CT, b'{"a":"1_000"}'),
]
DECLINED = [
    ("PUT", "/kitb/loose", JSON_CT, b'{"a":'),                          # json_invalid: Python's message
    ("PUT", "/kitb/loose", JSON_CT, b"{'a':1}"),
    ("PUT", "/kitb/loose", JSON_CT, b'{"a":1,"a":2}'),                  # duplicate keys: Python takes the last
    ("PUT", "/kitb/loose", JSON_CT, b'{"a":NaN}'),
    ("PUT", "/kitb/loose", JSON_CT, b'{"a":1,"b":-Infinity}'),
    ("PUT", "/kitb/loose", JSON_CT, b'{"a":1,"b":Infinity}'),
    ("PUT", "/kitb/loose", JSON_CT, b'{"a":99999999999999999999}'),     # beyond int64
    ("PUT", "/kitb/loose", JSON_CT, b'{"a":1,"b":1e400}'),
    ("PUT", "/kitb/loose", JSON_CT, b'\xef\xbb\xbf{"a":1}'),             # BOM
    ("PUT", "/kitb/loose", JSON_CT, b'{"a":"\\u0000"}'),
    ("PUT", "/kitb/loose", JSON_CT, b'{"a":"\\ud800"}'),
    ("PUT", "/kitb/loose", JSON_CT, b'{"a":1,"s":' + b"[" * 40 + b"]" * 40 + b"}"),
    ("PUT", "/kitb/loose", [], b'{"a":1}'),                              # no content-type: bytes
    ("PUT", "/kitb/loose", [("content-type", "text/plain")], b'{"a":1}'),
    ("PUT", "/kitb/loose", [("content-type", "application/x-www-form-urlencoded")], b"a=1"),
    ("POST", "/kitb/streamed", JSON_CT, b'{"a":1}'),                    # no GRAFT_ROUTE_BODY
    ("POST", "/kitb/checked", JSON_CT, b'{"a":-1}'),                    # a field validator
    ("POST", "/kitb/checked", JSON_CT, b'{"a":"x"}'),
]


def _rand_bodies(n: int, seed: int) -> list[tuple[str, str, list, bytes]]:
    rnd = random.Random(seed)
    strs = ["a", "pen", "abcdefgh", "abcdefghi", "", "\u00fc\u00df", "x\"y", "12", 5, None, True, [], {}]
    nums = [1.5, 0.1, 2, 0, -1, 1e-7, 12345.678, "3.25", "x", True, None, [1]]  # floor(x * 1000) fits
    ints = [1, 0, -3, "7", " 8 ", "7.0", 7.0, 7.5, "x", "", True, None, 2**40, {}]
    bools = [True, False, 0, 1, 2, "yes", "off", "t", "maybe", 0.0, 1.5, None]
    colors = ["red", "green", "blue", "Red", "", 1, None]
    out = []
    for _ in range(n):
        if rnd.random() < 0.25:
            body = {}
            for k, pool in (("a", ints), ("b", nums), ("s", [[], ["x"], ["x", 1], "x", None]),
                            ("t", ["q", None, 1])):
                if rnd.random() < 0.8:
                    body[k] = rnd.choice(pool)
            if rnd.random() < 0.2:
                body["extra"] = rnd.choice(ints)
            out.append(("PUT", "/kitb/loose", JSON_CT, json.dumps(body).encode()))
            continue
        body = {}
        fields = [("name", strs), ("price", nums), ("qty", ints), ("ok", bools), ("notes", strs),
                  ("color", colors)]
        for k, pool in fields:
            if rnd.random() < 0.8:
                body[k] = rnd.choice(pool)
        if rnd.random() < 0.85:
            addr = {}
            if rnd.random() < 0.9:
                addr["city"] = rnd.choice(strs + ["abcdefghijklm"])
            if rnd.random() < 0.9:
                addr["zip"] = rnd.choice(ints)
            body["addr"] = rnd.choice([addr, addr, addr, None, "x"])
        if rnd.random() < 0.85:
            body["tags"] = [rnd.choice(ints[:8]) for _ in range(rnd.choice([0, 1, 1, 2, 3, 4]))]
        if rnd.random() < 0.4:
            body["lines"] = [{"sku": rnd.choice(strs), "qty": rnd.choice(ints)} for _ in range(rnd.randrange(3))]
        if rnd.random() < 0.2:
            body["billing"] = rnd.choice([None, {"city": "c", "zip": 1}, {"zip": -1}])
        if rnd.random() < 0.15:
            body[rnd.choice(["zz", "Name", "extra"])] = rnd.choice(ints)
        keys = list(body)
        rnd.shuffle(keys)
        body = {k: body[k] for k in keys}
        shop = rnd.choice(["1", "1", "1", "x"])
        dry = rnd.choice(["", "", "?dry=true", "?dry=z"])
        out.append(("POST", f"/kitb/orders/{shop}{dry}", JSON_CT, json.dumps(body).encode()))
    return out


def _cases():
    fixed = [(m, p, JSON_CT, json.dumps(b).encode()) for m, p, b in FIXED]
    return fixed + RAW + _rand_bodies(200, seed=9)


def _resp(port, case):
    method, path, hdrs, body = case
    r = request(port, method, path, headers=hdrs, body=body)
    keep = [(k, v) for k, v in r.headers if k.lower() not in IGNORED]
    return {"status": r.status, "headers": keep, "body": r.body}, r.header("x-served-by")


@pytest.fixture(scope="module")
def servers(native_libs):
    py = Server(APP, [], impl="graft").start()
    nat = Server(APP, ["--native", str(native_libs["kit_body"]), "--log-level", "debug"], impl="graft").start()
    try:
        yield py, nat
    finally:
        stop_and_check(py)
        stop_and_check(nat)


def _openapi_doc() -> dict:
    out = subprocess.run([sys.executable, "-m", "graft", "openapi", APP, "--app-dir", "tests/apps"],
                         cwd=str(REPO), env=clean_env(os.environ), capture_output=True, timeout=60, check=True)
    return json.loads(out.stdout)


def test_startup_report(servers):
    """First: the server's output keeps a bounded tail, and the app's 500s (NaN) log tracebacks."""
    _, nat = servers
    log = nat.output()
    assert "Native route POST /kitb/orders/{shop}: contract of POST /kitb/orders/{shop}, 2 parameters and a JSON body" in log, log
    assert ("Native route POST /kitb/streamed: the operation takes a JSON body but the route is not "
            "registered with GRAFT_ROUTE_BODY (graft_validate declines to the app)") in log, log
    assert ("Native route POST /kitb/checked: contract not supported by the kit: request body: model "
            "Checked: field validators (rules the document does not show)") in log, log


def test_native_equals_app(servers):
    py, nat = servers
    mismatches, native = [], 0
    cases = _cases()
    for case in cases:
        a, served_a = _resp(py.port, case)
        b, served_b = _resp(nat.port, case)
        assert served_a == "app", (case, a)
        native += served_b is None
        diff = _graft.compare_responses(a, b)
        if diff:
            mismatches.append((case, diff, a, b))
    assert not mismatches, "\n".join(f"{c}\n  app: {a['status']} {a['body']!r}\n  kit: {b['status']} {b['body']!r}"
                                      for c, _, a, b in mismatches[:6]) + f"\n{len(mismatches)} mismatches"
    assert native > len(cases) - 15, native  # the kit answered (nearly) all itself, 422s included
    statuses = {}
    for case in cases:
        statuses.setdefault(_resp(nat.port, case)[0]["status"], 0)
    assert set(statuses) == {200, 422}


@pytest.mark.parametrize("case", DECLINED, ids=range(len(DECLINED)))
def test_declined_to_app(servers, case):
    py, nat = servers
    a, _ = _resp(py.port, case)
    b, served = _resp(nat.port, case)
    assert served == "app", (case, b)
    assert _graft.compare_responses(a, b) == [], (a, b)


def test_graft_serve(servers, native_libs, serve_factory, tmp_path):
    py, nat = servers
    doc = _openapi_doc()
    del doc["paths"]["/kitb/streamed"]  # graft-serve refuses a body route without GRAFT_ROUTE_BODY
    del doc["paths"]["/kitb/checked"]  # and an unsupported contract
    f = tmp_path / "openapi.json"
    f.write_text(json.dumps(doc))
    sv = serve_factory([native_libs["kit_body"]], ["--openapi", str(f)])
    mismatches = []
    for case in _cases():
        a, _ = _resp(py.port, case)
        _, served = _resp(nat.port, case)
        c, _ = _resp(sv.port, case)
        if served == "app":  # declined under graft: graft-serve has its own answer
            assert c["status"] == 422 and b'"graft_unsupported"' in c["body"], (case, c)
        elif _graft.compare_responses(a, c):
            mismatches.append((case, a, c))
    assert not mismatches, mismatches[:3]
    exact_serve = []
    for case in DECLINED[2:-6]:  # duplicates, NaN, huge numbers, BOM, \u0000, lone surrogates, depth
        c, _ = _resp(sv.port, case)
        if c["status"] != 422 or b'"graft_unsupported"' not in c["body"]:
            # a BOM, \u0000, duplicate keys, NaN, infinities, huge integers: graft-serve's answer is FastAPI's
            a, _ = _resp(py.port, case)
            assert _graft.compare_responses(a, c) == [], (case, a, c)
            exact_serve.append(case[3])
            continue
        d = json.loads(c["body"])["detail"]
        assert d[-1]["loc"][0] == "body" and d[-1]["msg"] == "Input not supported by graft-serve"
    assert b'{"a":NaN}' in exact_serve and b'{"a":1,"a":2}' in exact_serve, exact_serve
    assert b'\xef\xbb\xbf{"a":1}' in exact_serve and b'{"a":"\\u0000"}' in exact_serve, exact_serve
    assert b'{"a":"\\ud800"}' not in exact_serve, exact_serve  # a lone surrogate stays unsupported
    # what graft declines but graft-serve reproduces: malformed JSON (Python's json message and
    # character position: kit/pyjson.c), a body that is not UTF-8 (FastAPI's 400), and bodies
    # that are not JSON for FastAPI (model_attributes_type quoting them); FastAPI reports a
    # json_invalid alone, before the parameters are checked
    exact = DECLINED[:2] + DECLINED[-6:-3] + [
        ("POST", "/kitb/orders/x?dry=z", JSON_CT, b'{"a":'),
        ("PUT", "/kitb/loose", JSON_CT, b'{"a": "\xc3\xa9", "b": x}'),
        ("PUT", "/kitb/loose", JSON_CT, b'[1, 2,]'),
        ("PUT", "/kitb/loose", JSON_CT, b'{"a": 1} {}'),
        ("PUT", "/kitb/loose", JSON_CT, b'{"a": "\xff"}'),
        ("PUT", "/kitb/loose", [("content-type", "text/plain; charset=utf-8")], b'{"a": "\xc3\xa9"}'),
    ]
    for case in exact:
        a, _ = _resp(py.port, case)
        c, _ = _resp(sv.port, case)
        assert _graft.compare_responses(a, c) == [], (case, a, c)
        assert a["status"] in (400, 422), a


def test_graft_serve_refuses_body_route_without_whole_body(native_libs, tmp_path):
    f = tmp_path / "openapi.json"
    f.write_text(json.dumps(_openapi_doc()))
    p = subprocess.run([str(venv_bin() / "graft-serve"), "--native", str(native_libs["kit_body"]),
                        "--openapi", str(f), "--port", "0"], cwd=str(REPO), env=clean_env(os.environ),
                       capture_output=True, timeout=30)
    assert p.returncode != 0
    err = p.stderr.decode()
    assert ("Native route POST /kitb/streamed: the operation takes a JSON body but the route is not "
            "registered with GRAFT_ROUTE_BODY") in err, err
