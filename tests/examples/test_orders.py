"""Differential tests of examples/orders: the FastAPI service (app.py) and its C port (orders.c).

Three servers, each on its own SQLite file starting from the same seed:

  reference  uvicorn app:app (the original, no graft)
  mixed      graft app:app --native orders.so (the port answers, the app is behind it)
  serve      graft-serve --native orders.so --openapi examples/orders/openapi.json (no Python)

Every request goes to the three in the same order (writes keep the databases in step) and the
answers must be equal by the comparison rule (_graft.compare_responses: status, headers but
date/server/framing, body byte for byte): a hand-written table covering each route's success
and errors (404, 405, 307, 409, 422 of every kind, malformed JSON, other content-types, huge
integers, NaN), then a seeded random sequence of valid and invalid reads and writes. orders.so is
built here with the README's line plus -Werror."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from graft import _graft

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "orders"
JSON_CT = [("content-type", "application/json")]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


util = _load("graft_server_util", REPO / "tests" / "server" / "util.py")
native_util = _load("graft_native_util", REPO / "tests" / "native" / "native_util.py")


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def orders_so(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("orders-native") / "orders.so"
    config = str(native_util.venv_bin() / "graft-config")
    flags = subprocess.run([config, "--cflags"], capture_output=True, text=True, check=True).stdout.split()
    libs = subprocess.run([config, "--libs"], capture_output=True, text=True, check=True).stdout.split()
    cmd = [os.environ.get("CC", "cc"), "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", *flags,
           str(EXAMPLE / "orders.c"), "-o", str(out), *libs, "-lsqlite3"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0 and not res.stderr.strip(), f"{' '.join(cmd)}\n{res.stderr}"
    return out


def _env(db: Path) -> dict:
    return {"ORDERS_DB": str(db)}


def _serve(so: Path, db: Path) -> "native_util.ServeProcess":
    os.environ["ORDERS_DB"] = str(db)  # ServeProcess passes the test process's environment on
    try:
        return native_util.ServeProcess([so], ["--openapi", str(EXAMPLE / "openapi.json")]).start()
    finally:
        del os.environ["ORDERS_DB"]


@pytest.fixture(scope="module")
def servers(orders_so, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("orders")
    started = []
    try:
        ref = util.Server("app:app", ["--app-dir", str(EXAMPLE)], impl="uvicorn", env=_env(tmp / "ref.db")).start()
        started.append(ref)
        mixed = util.Server("app:app", ["--app-dir", str(EXAMPLE), "--native", str(orders_so), "--log-level",
                                        "debug"], impl="graft", env=_env(tmp / "mixed.db")).start()
        started.append(mixed)
        serve = _serve(orders_so, tmp / "serve.db")
        started.append(serve)
        yield ref, mixed, serve
    finally:
        for s in reversed(started):
            if isinstance(s, native_util.ServeProcess):
                s.stop()
                s.cleanup()
            else:
                util.stop_and_check(s)


def _answer(port: int, method: str, path: str, headers, body: bytes | None) -> dict:
    r = util.request(port, method, path, headers=headers, body=body)
    return {"status": r.status, "headers": list(r.headers), "body": r.body}


def _same(servers, case) -> dict:
    method, path, headers, body = case
    answers = [_answer(s.port, method, path, headers, body) for s in servers]
    for name, other in zip(("mixed (graft --native)", "serve (graft-serve)"), answers[1:]):
        diff = _graft.compare_responses(answers[0], other)
        assert not diff, (f"{method} {path} {body!r}: {name} differs in {diff}\n  reference: {answers[0]['status']} "
                          f"{answers[0]['body']!r}\n  {name}: {other['status']} {other['body']!r}")
    return answers[0]


def R(method, path, body=None, headers=None):
    """A request: a dict/list body goes as JSON, bytes as they are."""
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        headers = JSON_CT if headers is None else headers
    return (method, path, headers or [], body)


# ---------------------------------------------------------------- the fixed table

ADDR = {"street": "1 Main St", "city": "Oslo", "postcode": "0150", "country": "NO"}
ITEM = {"sku": "PEN-0001", "quantity": 2, "unit_price": 1.25}
ORDER = {"reference": "ORD-2001", "customer_id": 2, "items": [ITEM], "shipping": ADDR}

FIXED = [
    # customers
    R("GET", "/customers"),
    R("GET", "/customers?limit=2&offset=1"),
    R("GET", "/customers?vip=true"),
    R("GET", "/customers?vip=no&limit=100"),
    R("GET", "/customers?vip=maybe&limit=0&offset=-1"),
    R("GET", "/customers?q=ace"),
    R("GET", "/customers?q=%C3%89mile"),
    R("GET", "/customers?q="),
    R("GET", "/customers?q=%FF"),
    R("GET", "/customers?q=a%00b"),
    R("GET", "/customers?q=%E0%80%80%C3"),
    R("GET", "/customers?limit=101&offset=1000000001"),
    R("GET", "/customers?limit=5.0&offset=%201"),
    R("GET", "/customers?limit=abc&limit=3"),
    R("GET", "/customers/1"),
    R("GET", "/customers/3"),
    R("GET", "/customers/999"),
    R("GET", "/customers/abc"),
    R("GET", "/customers/0"),
    R("GET", "/customers/99999999999999999999"),
    R("GET", "/customers/-99999999999999999999"),
    R("GET", "/customers/1%2F2"),
    R("GET", "/customers/"),
    R("POST", "/customers", {"name": "Mary Somerville", "email": "mary@example.org"}),
    R("POST", "/customers", {"name": "Mary S.", "email": "mary@example.org", "vip": True}),  # 409
    R("POST", "/customers", {"name": "Hedy", "email": "hedy@example.com", "vip": "yes", "extra": 1}),
    R("POST", "/customers", {}),
    R("POST", "/customers", {"name": "", "email": "not-an-email", "vip": 2}),
    R("POST", "/customers", {"name": "x" * 81, "email": 5, "vip": None}),
    R("POST", "/customers", {"name": ["a"], "email": "a b@c.de"}),
    R("POST", "/customers", []),
    R("POST", "/customers", "text"),
    R("POST", "/customers", None, JSON_CT),
    R("POST", "/customers", b"", JSON_CT),
    R("POST", "/customers", b'{"name": "A", "email": ', JSON_CT),
    R("POST", "/customers", b'{"name": "A" "email": "a@b.cd"}', JSON_CT),
    R("POST", "/customers", b"{'name': 'A'}", JSON_CT),
    R("POST", "/customers", b'{"name": "A",}', JSON_CT),
    R("POST", "/customers", b'{"name": "\xc3\xa9", "email": x}', JSON_CT),
    R("POST", "/customers", b'{"name": "\xff"}', JSON_CT),
    R("POST", "/customers", b'{"name":"A","email":"a@b.cd"} x', JSON_CT),
    R("POST", "/customers", b'{"name":"A","email":"a@b.cd"}', [("content-type", "text/plain")]),
    R("POST", "/customers", b'{"name":"A","email":"a@b.cd"}', []),
    R("POST", "/customers", b"name=A", [("content-type", "application/x-www-form-urlencoded")]),
    R("POST", "/customers", b'{"name": "\xff"}', [("content-type", "text/plain")]),  # not UTF-8: FastAPI's 500
    R("POST", "/customers", b'{"name":"Ann","email":"ann@example.net"}',
      [("content-type", "application/json; charset=utf-8")]),
    R("POST", "/customers", b'{"name":"Bo","email":"bo@example.net"}', [("content-type", "application/vnd.x+json")]),
    R("GET", "/customers/5"),
    R("GET", "/customers/1/orders"),
    R("GET", "/customers/1/orders?status=shipped"),
    R("GET", "/customers/1/orders?status=SHIPPED&limit=1"),
    R("GET", "/customers/999/orders"),
    R("GET", "/customers/0/orders?status=x"),
    # orders: reads
    R("GET", "/orders"),
    R("GET", "/orders?status=pending"),
    R("GET", "/orders?customer_id=1&limit=1&offset=1"),
    R("GET", "/orders?min_total=100"),
    R("GET", "/orders?min_total=1e2&status=paid"),
    R("GET", "/orders?min_total=-1&customer_id=0"),
    R("GET", "/orders?min_total=abc&customer_id=x&status=&limit=&offset="),
    R("GET", "/orders?min_total=1e13&customer_id=99999999999999999999"),
    R("GET", "/orders?min_total=inf"),
    R("GET", "/orders?min_total=nan"),
    R("GET", "/orders/1"),
    R("GET", "/orders/4"),
    R("GET", "/orders/999"),
    R("GET", "/orders/x"),
    R("GET", "/orders/1.0"),
    R("GET", "/orders/"),
    R("GET", "/orders/1/"),
    R("GET", "/stats"),
    # orders: writes
    R("POST", "/orders", ORDER),
    R("POST", "/orders", ORDER),  # 409: the reference exists
    R("POST", "/orders", dict(ORDER, reference="ORD-2002", customer_id=999)),  # 404
    R("POST", "/orders", dict(ORDER, reference="ORD-2003", status="paid", note="Gift \u2764\ufe0f",
                              items=[ITEM, {"sku": "INK-0042", "quantity": "3", "unit_price": 0.1},
                                     {"sku": "MUG-0003", "quantity": 1000, "unit_price": 1000000}])),
    R("POST", "/orders", dict(ORDER, reference="ORD-2004", note=None, items=[ITEM] * 50)),
    R("POST", "/orders", dict(ORDER, reference="ORD-2005", items=[ITEM] * 51)),
    R("POST", "/orders", dict(ORDER, reference="ORD-2006", items=[])),
    R("POST", "/orders", dict(ORDER, reference="ORD-2007", items="x")),
    R("POST", "/orders", dict(ORDER, reference="bad", customer_id=0, status="done",
                              items=[{"sku": "pen-1", "quantity": 0, "unit_price": -1},
                                     {"sku": "PEN-0001", "quantity": 1001, "unit_price": "abc"},
                                     {"sku": 7, "quantity": 2.5, "unit_price": 1e7}, {}, 3],
                              note="n" * 201, shipping={"street": "", "city": "c" * 61, "postcode": "ab",
                                                        "country": "nor"})),
    R("POST", "/orders", dict(ORDER, reference="ORD-2008", shipping=None, items=[dict(ITEM, quantity=True)])),
    R("POST", "/orders", dict(ORDER, reference="ORD-2009", customer_id="2", note=5, extra={"a": [1]})),
    R("POST", "/orders", {"reference": "ORD-2010"}),
    R("POST", "/orders", b'{"reference": "ORD-2012", "items": [1, 2', JSON_CT),
    # integers beyond int64 in the body: Python reads them, Pydantic judges them
    R("POST", "/orders", dict(ORDER, reference="ORD-2011", customer_id=99999999999999999999)),
    R("POST", "/orders", dict(ORDER, reference=2**64, customer_id=-2**64, status=2**70, shipping=2**65,
                              items=[dict(ITEM, quantity=2**64, unit_price=-2**64), dict(ITEM, unit_price=10**30)])),
    R("POST", "/orders", {"customer_id": 2**64, "items": 2**64, "zz": -2**64}),
    R("POST", "/customers", {"name": "Big", "email": "big@example.com", "vip": 2**64}),
    R("POST", "/customers", {"name": "Big", "email": "big@example.com", "extra": 2**64}),
    R("PATCH", "/orders/5", {"note": 2**64, "x": -2**64}),
    # NaN and the infinities (Python's json reads them): quoted by an error, FastAPI's 500
    R("POST", "/customers", b'{"name":"A","email":"a@b.cd","vip":NaN}', JSON_CT),
    R("POST", "/customers", b'{"name":Infinity,"x":1e400}', JSON_CT),
    R("POST", "/customers", b'[-Infinity]', JSON_CT),
    R("POST", "/customers", b'{"name":"Nan","email":"nan@example.com","x":[NaN,1e400,-1E999]}', JSON_CT),
    R("POST", "/orders", dict(ORDER, reference="ORD-2013", items=[dict(ITEM, unit_price=float("nan"))])),
    R("PATCH", "/orders/5", {"note": float("inf")}),
    R("POST", "/customers", b'\xef\xbb\xbf{"email":"bom@example.com","name":"B\xc3\xa9"}', JSON_CT),  # utf-8-sig
    R("POST", "/customers", b'\xef\xbb\xbf\xef\xbb\xbf{}', JSON_CT),
    R("POST", "/customers", '{"name":"utf16","email":"u16@example.com"}'.encode("utf-16"), JSON_CT),
    R("POST", "/customers", '{"name":"utf32","email":"u32@example.com"'.encode("utf-32-le"), JSON_CT),
    R("POST", "/customers", b'{"name":"x"}\x00', JSON_CT),  # a raw NUL: never JSON for Python
    R("POST", "/customers", b'{"name":"a\\u0000b","email":"nul@example.com"}', JSON_CT),  # NULs in strings
    R("GET", "/customers?q=a%00b"),
    # duplicate keys: the last value, in the first key's place
    R("POST", "/customers", b'{"name":"A","email":"x","name":5}', JSON_CT),
    R("POST", "/customers", b'{"email":"dup@example.com","name":5,"vip":true,"name":"Dup"}', JSON_CT),
    R("PATCH", "/orders/5", b'{"status":"x","zz":1,"status":null,"zz":2,"yy":3}', JSON_CT),
    R("POST", "/customers", {"name": "x" * (1 << 20), "email": "big@example.com"}),  # 413: over 1 MiB
    R("POST", "/customers", b'{"name":"' + b"x" * ((1 << 20) - 9), JSON_CT),  # 1 MiB exactly: json_invalid
    R("POST", "/orders", b"[]", [("content-type", "text/plain")]),
    R("GET", "/orders?customer_id=2"),
    R("PATCH", "/orders/3", {"status": "paid"}),
    R("PATCH", "/orders/3", {"status": "pending"}),  # 409
    R("PATCH", "/orders/3", {"status": "paid", "note": "again"}),
    R("PATCH", "/orders/3", {}),
    R("PATCH", "/orders/3", {"note": None, "status": None}),
    R("PATCH", "/orders/3", {"status": "shipped", "color": "red"}),  # extra_forbidden
    R("PATCH", "/orders/3", {"status": "lost", "note": "x" * 201}),
    R("PATCH", "/orders/2", {"status": "cancelled"}),  # 409 from shipped
    R("PATCH", "/orders/999", {"status": "paid"}),
    R("PATCH", "/orders/x", {"status": 1}),
    R("PATCH", "/orders/3", b"", JSON_CT),
    R("PATCH", "/orders/3", b"{", JSON_CT),
    R("DELETE", "/orders/3"),  # 409: paid
    R("DELETE", "/orders/4"),  # cancelled: 204
    R("DELETE", "/orders/4"),  # 404
    R("DELETE", "/orders/abc"),
    R("GET", "/orders/4"),
    R("GET", "/stats"),
    # routing
    R("PUT", "/orders/1", ORDER),
    R("DELETE", "/customers/1"),
    R("POST", "/stats"),
    R("HEAD", "/stats"),
    R("HEAD", "/orders/1"),
    R("GET", "/nowhere"),
    R("GET", "/orders/1/items"),
]


def test_every_route_has_a_contract(servers):
    """First: the server keeps a bounded tail of its output, and the app's 500s (NaN) log tracebacks."""
    log = servers[1].output()
    for route in ["GET /customers", "POST /customers", "GET /customers/{customer_id}",
                  "GET /customers/{customer_id}/orders", "GET /orders", "POST /orders", "GET /orders/{order_id}",
                  "PATCH /orders/{order_id}", "DELETE /orders/{order_id}", "GET /stats"]:
        assert f"Native route {route}: contract of {route}" in log, (route, log[-3000:])
    assert "not supported by the kit" not in log


@pytest.mark.parametrize("case", FIXED, ids=[f"{i}-{c[0]} {c[1][:40]}" for i, c in enumerate(FIXED)])
def test_same_answer(servers, case):
    _same(servers, case)


def test_table_covers_every_route_and_error():
    """The table is worth its name: each route, and each answer class the issue lists."""
    routes = {(m, p.split("?")[0].rstrip("/")) for m, p, _, _ in FIXED}
    for route in ["GET /customers", "POST /customers", "GET /customers/1", "GET /customers/1/orders",
                  "GET /orders", "POST /orders", "GET /orders/1", "PATCH /orders/3", "DELETE /orders/3",
                  "GET /stats"]:
        m, p = route.split(" ")
        assert (m, p) in routes, route


def test_statuses_seen(servers):
    """After the table: the reference answered every status the table means to cover."""
    seen = {_answer(servers[0].port, m, p, h, b)["status"] for m, p, h, b in
            [R("GET", "/orders/999"), R("GET", "/orders/"), R("PUT", "/orders/1"), R("GET", "/orders/x"),
             R("POST", "/orders", ORDER), R("POST", "/customers", b'{"name": "\xff"}', JSON_CT)]}
    assert seen == {404, 307, 405, 422, 409, 400}, seen


# ---------------------------------------------------------------- seeded random sequence

QUERY_INTS = ["1", "2", "3", "0", "-1", "abc", "", "5.0", " 7", "1_0", "99999999999999999999", "1e3", "%2B3", "100",
              "101", "0x10", "%EF%BC%95"]
QUERY_FLOATS = ["0", "10", "27.5", "1e2", "-0.5", "x", "", "1_000", "inf", "1e13", "%201.5"]
STATUSES = ["pending", "paid", "shipped", "cancelled", "PAID", "", "lost", "paid%20"]
SKUS = ["PEN-0001", "INK-0042", "ABC-1234", "abc-1234", "PEN-001", "PEN-00011", "", 12, None, "\u00c9CU-0001"]
QTYS = [1, 2, 7, 1000, 0, 1001, -1, "3", " 4 ", 2.0, 2.5, True, None, "x", 99999999999999999999]
PRICES = [0, 0.5, 1.25, 3, 19.99, 1000000, 1000000.5, -0.01, "2.5", "abc", None, True, 1e-7, 123456.789]
NOTES = [None, "", "hi", "\u00e9t\u00e9 \"quoted\"\n", "n" * 200, "n" * 201, 5, ["x"]]


def _rand_item(rnd, valid):
    if valid:
        return {"sku": rnd.choice(SKUS[:3]), "quantity": rnd.choice(QTYS[:4]), "unit_price": rnd.choice(PRICES[:6])}
    item = {"sku": rnd.choice(SKUS), "quantity": rnd.choice(QTYS), "unit_price": rnd.choice(PRICES)}
    if rnd.random() < 0.2:
        del item[rnd.choice(list(item))]
    return rnd.choice([item, item, item, None, "x", []])


def _rand_order(rnd, refs):
    valid = rnd.random() < 0.6
    n_items = rnd.choice([1, 1, 2, 3]) if valid else rnd.choice([0, 1, 2, 51])
    body = {
        "reference": f"ORD-{rnd.randrange(3000, 3400)}" if valid or rnd.random() < 0.7 else
        rnd.choice(["ORD-1", "ord-3000", "ORD-123456789", 3000, None]),
        "customer_id": rnd.choice([1, 2, 3, 4, 5, 999]) if valid else rnd.choice([0, -3, "2", 2.0, 2.5, None, "x"]),
        "items": [_rand_item(rnd, valid or rnd.random() < 0.5) for _ in range(n_items)],
        "shipping": dict(ADDR) if valid or rnd.random() < 0.5 else
        rnd.choice([None, {}, dict(ADDR, country="Norway"), dict(ADDR, postcode=150)]),
    }
    if rnd.random() < 0.5:
        body["status"] = rnd.choice(STATUSES[:4] if valid else STATUSES)
    if rnd.random() < 0.4:
        body["note"] = rnd.choice(NOTES[:5] if valid else NOTES)
    if rnd.random() < 0.1:
        body["reference"] = rnd.choice(refs) if refs else body["reference"]
    if not valid and rnd.random() < 0.2:
        del body[rnd.choice(list(body))]
    if rnd.random() < 0.1:
        body["unexpected"] = 1
    return body


def _rand_requests(n: int, seed: int) -> list:
    rnd = random.Random(seed)
    refs, out = [], []
    ids = lambda: rnd.choice(["1", "2", "3", "5", "6", "7", "8", "9", "10", "12", "0", "x", "99999999999999999999"])
    for _ in range(n):
        k = rnd.random()
        if k < 0.2:
            q = []
            for name, pool in (("status", STATUSES), ("customer_id", QUERY_INTS), ("min_total", QUERY_FLOATS),
                               ("limit", QUERY_INTS), ("offset", QUERY_INTS)):
                if rnd.random() < 0.3:
                    q.append(f"{name}={rnd.choice(pool)}")
            out.append(R("GET", "/orders" + ("?" + "&".join(q) if q else "")))
        elif k < 0.3:
            out.append(R("GET", f"/orders/{ids()}"))
        elif k < 0.5:
            body = _rand_order(rnd, refs)
            if isinstance(body.get("reference"), str):
                refs.append(body["reference"])
            out.append(R("POST", "/orders", body))
        elif k < 0.62:
            body = {}
            if rnd.random() < 0.7:
                body["status"] = rnd.choice(STATUSES + [None])
            if rnd.random() < 0.4:
                body["note"] = rnd.choice(NOTES)
            if rnd.random() < 0.1:
                body["extra"] = True
            out.append(R("PATCH", f"/orders/{ids()}", body))
        elif k < 0.68:
            out.append(R("DELETE", f"/orders/{ids()}"))
        elif k < 0.78:
            q = [f"{n}={rnd.choice(p)}" for n, p in (("vip", ["true", "0", "off", "x"]), ("q", ["a", "", "Z"]),
                                                     ("limit", QUERY_INTS)) if rnd.random() < 0.3]
            out.append(R("GET", "/customers" + ("?" + "&".join(q) if q else "")))
        elif k < 0.84:
            st = f"?status={rnd.choice(STATUSES)}" if rnd.random() < 0.4 else ""
            out.append(R("GET", f"/customers/{ids()}" + rnd.choice(["", "/orders", "/orders"]) + st))
        elif k < 0.94:
            body = {"name": rnd.choice(["Kim", "", "K" * 81, 3, "Zoë"]),
                    "email": rnd.choice([f"u{rnd.randrange(40)}@example.com", "bad", "a@b.c", "x y@z.io", None])}
            if rnd.random() < 0.4:
                body["vip"] = rnd.choice([True, False, "yes", "no", 1, 2, 0.0, None])
            if rnd.random() < 0.2:
                del body[rnd.choice(list(body))]
            out.append(R("POST", "/customers", body))
        else:
            out.append(R("GET", "/stats"))
    return out


def test_random_sequence(servers):
    statuses = {}
    for case in _rand_requests(260, seed=2026):
        a = _same(servers, case)
        statuses[a["status"]] = statuses.get(a["status"], 0) + 1
    # the sequence is worth running: successes, creations and every error class happened
    assert {200, 201, 204, 404, 409, 422} <= set(statuses), statuses


# ---------------------------------------------------------------- start-up, schema and database

def test_committed_openapi_is_fresh(tmp_path):
    out = subprocess.run([sys.executable, "-m", "graft", "openapi", "app:app", "--app-dir", str(EXAMPLE)],
                         cwd=str(REPO), env={**util.clean_env(os.environ), **_env(tmp_path / "gen.db")},
                         capture_output=True, timeout=60, check=True)
    assert out.stdout.decode() == (EXAMPLE / "openapi.json").read_text(), \
        "examples/orders/openapi.json is stale: regenerate it (README.md)"


def _dump(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return list(conn.iterdump())


def test_database_same_whoever_creates_it(orders_so, tmp_path):
    """C first (graft-serve on a new file) and Python first (importing app.py) give the same
    tables and rows."""
    s = _serve(orders_so, tmp_path / "c.db")
    s.stop()
    s.cleanup()
    subprocess.run([sys.executable, "-c", "import app"], cwd=str(EXAMPLE), check=True, timeout=60,
                   env={**util.clean_env(os.environ), **_env(tmp_path / "py.db")})
    c, py = _dump(tmp_path / "c.db"), _dump(tmp_path / "py.db")
    assert any(line.startswith('INSERT INTO "orders"') for line in py)
    assert c == py


# ---------------------------------------------------------------- seeded mutations of valid bodies

SCALARS = [None, True, False, 0, 1, -1, 2, 1000, 1001, 2**63 - 1, 2**63, -2**63 - 1, 2**64, 0.0, -0.0, 0.5, 1e-7,
           1e308, 1e16, 123.456, "", "a", "PEN-0001", "ORD-1234", "pending", "paid", "x" * 201, "\u00e9", "\u2028",
           "a@b.cd", "0150", "NO", "1", "1.0", " 2 ", "true", "null", "\U0001f600", "\t", "[]"]
KEYS = ["sku", "quantity", "unit_price", "street", "city", "postcode", "country", "a", "status", "note"]


def _garbage(rnd, depth=0):
    k = rnd.random()
    if depth > 2 or k < 0.5:
        return rnd.choice(SCALARS)
    if k < 0.75:
        return [_garbage(rnd, depth + 1) for _ in range(rnd.randrange(4))]
    return {rnd.choice(KEYS): _garbage(rnd, depth + 1) for _ in range(rnd.randrange(4))}


def _mutate(rnd, doc):
    """Replaces, removes or adds a value somewhere in doc, up to twice."""
    for _ in range(rnd.randrange(3)):
        parent, key, cur = None, None, doc
        while isinstance(cur, (dict, list)) and cur and rnd.random() < 0.6:
            parent, key = cur, rnd.choice(list(cur)) if isinstance(cur, dict) else rnd.randrange(len(cur))
            cur = cur[key]
        if parent is None:
            continue
        r = rnd.random()
        if r < 0.6:
            parent[key] = _garbage(rnd)
        elif r < 0.8 and isinstance(parent, dict):
            del parent[key]
        elif isinstance(parent, dict):
            parent[f"extra_{rnd.randrange(3)}"] = _garbage(rnd)
    return doc


def _mutated_requests(n: int, seed: int) -> list:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        k = rnd.random()
        if k < 0.45:
            order = {"reference": f"ORD-{rnd.randrange(4000, 4400)}", "customer_id": rnd.choice([1, 2, 3, 4]),
                     "items": [dict(ITEM) for _ in range(rnd.randrange(1, 3))], "shipping": dict(ADDR)}
            if rnd.random() < 0.3:
                order["note"] = rnd.choice([None, "n", "\u00e9" * 200])
            out.append(R("POST", "/orders", _mutate(rnd, order)))
        elif k < 0.6:
            out.append(R("POST", "/customers", _mutate(rnd, {"name": "N", "email": f"m{rnd.randrange(60)}@x.io",
                                                             "vip": rnd.choice([True, False])})))
        elif k < 0.85:
            out.append(R("PATCH", f"/orders/{rnd.randrange(30)}",
                         _mutate(rnd, {"status": rnd.choice(STATUSES[:4]), "note": "z"})))
        else:
            out.append(R("GET", rnd.choice(["/orders?limit=100", "/stats", "/customers?limit=100"])))
    return out


def test_random_mutations(servers):
    """Valid bodies with values replaced by garbage of any type, removed or added, at any depth."""
    statuses = set()
    for case in _mutated_requests(300, seed=77):
        statuses.add(_same(servers, case)["status"])
    assert {200, 201, 409, 422} <= statuses, statuses


def test_graft_diff_openapi(servers):
    """`graft diff --openapi` (the schema-driven verifier) over every operation, the original
    under uvicorn against the port under graft-serve, nothing left out (no --graft-serve):
    valid and invalid requests, writes included, every answer identical."""
    ref, _, serve = servers
    res = subprocess.run([sys.executable, "-m", "graft", "diff", "--openapi", str(EXAMPLE / "openapi.json"),
                          "--seed", "2026", "--count", "600", f"http://127.0.0.1:{ref.port}",
                          f"http://127.0.0.1:{serve.port}"], cwd=str(REPO), env=util.clean_env(os.environ),
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "600 requests over 10 operations" in res.stdout and "all answers identical" in res.stdout, res.stdout
