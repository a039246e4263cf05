"""Route contracts for parameters (issue 9): tests/apps/kit_app.py served three ways — by
the app alone under graft, under graft with tests/native/libs/kit.c (handlers that call
GRAFT_VALIDATE and answer from the typed getters), and by graft-serve --openapi with the
document `graft openapi` wrote — must give the same status, headers (minus date/server and
the app's x-served-by marker) and body for a battery of valid and invalid requests, fixed and
seeded-random. Cases the kit declines are answered by the app under graft (x-served-by: app),
and by graft-serve with its own graft_unsupported entry. Also: a library without the kit is
unaffected by contracts; an unsupported construct is named at start-up (graft) or refuses
graft-serve."""

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

APP = "kit_app:app"
IGNORED = {"date", "server", "x-served-by"}

FIXED = [
    "/kit/items/5",
    "/kit/items/5?tags=1&tags=2&color=green&ratio=0.25&flag=yes&level=3",
    "/kit/items/5?uid=%7B12345678-1234-1234-1234-1234567890AB%7D&when=2024-01-02T03:04:05Z",
    "/kit/items/5?uid=urn:uuid:12345678-1234-1234-1234-1234567890ab&when=1999-12-31",
    "/kit/items/0?limit=0&q=ABC&tags=x&color=pink&level=2",
    "/kit/items/abc?limit=zz&limit=7&q=toolong&ratio=0&flag=maybe",
    "/kit/items/+007?limit=%2010%20&ratio=1e-3&q=&tags=",
    "/kit/items/5?ratio=nan",
    "/kit/items/5?ratio=inf",
    "/kit/items/5?limit=5.0&tags=1_000&tags=-0",
    "/kit/items/404",
    "/kit/items/5?limit=99999999999999999999",  # beyond int64, but the bound (le=100) decides it
    "/kit/items/5?limit=-99999999999999999999",
    "/kit/items/5?q=%FF",  # Starlette's unquote(errors="replace"): the kit judges "\ufffd"
    "/kit/items/5?q=a%C3%28b%E2%82&tags=%FF",
    "/kit/users/a?n=x&scores=1.5&scores=z",
    "/kit/users/bob",
    "/kit/users/bob?n=3&scores=0.1&scores=-2.5e1",
    "/kit/users/%C3%BCber?n=1",
    "/kit/users/bob?n=1&labels=a&labels=&labels=%C3%BC+x&labels=%22q%22",
]
# Declined by the kit under graft: the app answers.
DECLINED = [
    "/kit/items/99999999999999999999",  # beyond int64 and no bound: the app decides
    "/kit/items/5?uid=not-a-uuid",
    "/kit/items/5?when=1700000000",
    "/kit/users/bob?n=0-5",
]
HEADERS = [
    [],
    [("x-token", "a")],
    [("x-token", "abc"), ("cookie", "session=42")],
    [("cookie", "a; session = 7 ; other=1")],
    [("cookie", "session=x")],
    [("cookie", "session=1; session=2")],
]
DECLINED_HEADERS = [[("cookie", 'session="5"')], [("x-token", "\xe9t\xe9")],
                    [("cookie", "\xa0session=5")]]


def _rand_requests(n: int, seed: int) -> list[tuple[str, list]]:
    rnd = random.Random(seed)
    ints = ["1", "0", "-3", "100", "101", "12", " 7", "7.0", "7.5", "x", "", "1_0", "+5", "0x10"]
    floats = ["0.5", "1", "1.0", "0", "-1", "2", "1e-2", ".5", "5.", "abc", "", "1_0e-1", " 0.3"]
    bools = ["true", "false", "1", "0", "yes", "off", "TRUE", "t", "2", ""]
    strs = ["a", "abc", "abcdef", "ABC", "", "a1", "ü", "zz"]
    colors = ["red", "green", "blue", "Red", "", "pink"]
    levels = ["1", "3", "2", "1.0", "x", ""]
    uuids = ["12345678-1234-1234-1234-1234567890ab", "123456781234123412341234567890AB"]
    whens = ["2024-02-29T12:00:00", "2024-01-01 00:00:00+01:00", "2024-01-01"]
    out = []
    for _ in range(n):
        if rnd.random() < 0.2:
            path = "/kit/users/" + urllib.parse.quote(rnd.choice(strs) or "q", safe="")
            q = []
            if rnd.random() < 0.8:
                q.append(("n", rnd.choice(ints)))
            for _ in range(rnd.randrange(3)):
                q.append(("scores", rnd.choice(floats)))
            for _ in range(rnd.choice([0, 0, 1, 2])):
                q.append(("labels", rnd.choice(strs)))
        else:
            path = "/kit/items/" + urllib.parse.quote(rnd.choice(ints) or "1", safe="")
            q = []
            pools = [("limit", ints), ("q", strs), ("ratio", floats), ("flag", bools),
                     ("color", colors), ("level", levels), ("uid", uuids), ("when", whens)]
            for name, pool in pools:
                if rnd.random() < 0.3:
                    q.append((name, rnd.choice(pool)))
            for _ in range(rnd.choice([0, 0, 1, 2, 3])):
                q.append(("tags", rnd.choice(ints)))
            rnd.shuffle(q)
        hdrs = []
        if rnd.random() < 0.3:
            hdrs.append(("x-token", rnd.choice(["a", "ab", "abc", ""])))
        if rnd.random() < 0.3:
            hdrs.append(("cookie", "session=" + rnd.choice(["1", "x", "-4", ""])))
        out.append((path + ("?" + urllib.parse.urlencode(q) if q else ""), hdrs))
    return out


def _resp(port, path, hdrs):
    r = request(port, "GET", path, headers=hdrs)
    served = r.header("x-served-by")
    keep = [(k, v) for k, v in r.headers if k.lower() not in IGNORED]
    return {"status": r.status, "headers": keep, "body": r.body}, served


def _cases():
    fixed = [(p, h) for p in FIXED for h in HEADERS[:2]] + [(FIXED[1], h) for h in HEADERS]
    return fixed + _rand_requests(300, seed=9)


@pytest.fixture(scope="module")
def servers(native_libs):
    py = Server(APP, [], impl="graft").start()
    nat = Server(APP, ["--native", str(native_libs["kit"]), "--native", str(native_libs["features"]),
                       "--log-level", "debug"], impl="graft").start()
    try:
        yield py, nat
    finally:
        stop_and_check(py)
        stop_and_check(nat)


def _openapi_doc() -> dict:
    out = subprocess.run([sys.executable, "-m", "graft", "openapi", APP, "--app-dir", "tests/apps"],
                         cwd=str(REPO), env=clean_env(__import__("os").environ), capture_output=True,
                         timeout=60, check=True)
    return json.loads(out.stdout)


def test_openapi_command_adds_versions():
    import fastapi
    import pydantic

    doc = _openapi_doc()
    assert doc["x-graft"] == {"fastapi": fastapi.__version__, "pydantic": pydantic.VERSION}
    assert "/kit/items/{item_id}" in doc["paths"]


def test_native_equals_app(servers):
    py, nat = servers
    mismatches, native_answers = [], 0
    for path, hdrs in _cases():
        a, served_a = _resp(py.port, path, hdrs)
        b, served_b = _resp(nat.port, path, hdrs)
        assert served_a == "app", (path, a)
        native_answers += served_b is None
        diff = _graft.compare_responses(a, b)
        if diff:
            mismatches.append((path, hdrs, diff, a, b))
    assert not mismatches, mismatches[:3]
    assert native_answers > 250  # the kit answered nearly all of them itself (422s included)


@pytest.mark.parametrize("case", [(p, []) for p in DECLINED] + [("/kit/items/5", h) for h in DECLINED_HEADERS])
def test_declined_to_app(servers, case):
    py, nat = servers
    path, hdrs = case
    a, _ = _resp(py.port, path, hdrs)
    b, served = _resp(nat.port, path, hdrs)
    assert served == "app", (path, b)  # the native handler declined: the app answered
    assert _graft.compare_responses(a, b) == [], (a, b)


def test_http_exception_detail(servers):
    py, nat = servers
    a, _ = _resp(py.port, "/kit/items/404", [])
    b, served = _resp(nat.port, "/kit/items/404", [])
    assert served is None and b["status"] == 404
    assert a["body"] == b["body"] == '{"detail":"Item \\"404\\" not found: ü"}'.encode()
    assert _graft.compare_responses(a, b) == []


def test_old_library_unaffected(servers):
    """features.c's GET /query has no kit: the app's contract (q: int) changes nothing."""
    _, nat = servers
    r = request(nat.port, "GET", "/query?q=hello+world&tag=a")
    assert r.status == 200 and r.header("x-served-by") is None, r
    assert json.loads(r.body)["q"] == "hello world"
    log = nat.output()
    assert "Native route GET /query: contract of GET /query, 1 parameter" in log, log


def test_unsupported_named_and_declined(servers):
    py, nat = servers
    log = nat.output()
    assert ("Native route GET /kit/literal: contract not supported by the kit: parameter mode "
            "(query): an inline enum (a Literal: literal_error)") in log, log
    for q in ("", "?mode=b", "?mode=c"):
        a, _ = _resp(py.port, "/kit/literal" + q, [])
        b, served = _resp(nat.port, "/kit/literal" + q, [])
        assert served == "app" and _graft.compare_responses(a, b) == [], (a, b)


def test_dependency_params_declined(servers):
    """/kit/dep's size comes from a dependency: FastAPI validates it before `a`, which its
    document cannot show; graft openapi marks the operation and the handler declines."""
    py, nat = servers
    assert ("Native route GET /kit/dep: contract not supported by the kit: parameters of "
            "dependencies (Depends)") in nat.output()
    for q in ("?a=x&size=y", "?size=3"):
        a, _ = _resp(py.port, "/kit/dep" + q, [])
        b, served = _resp(nat.port, "/kit/dep" + q, [])
        assert served == "app" and _graft.compare_responses(a, b) == [], (a, b)
    doc = _openapi_doc()
    assert doc["paths"]["/kit/dep"]["get"]["x-graft-unsupported"].startswith("parameters of dependencies")
    assert (doc["paths"]["/kit/hidden"]["get"]["x-graft-unsupported"]
            == "parameter a: AfterValidator (a rule the document does not show)")
    assert "x-graft-unsupported" not in doc["paths"]["/kit/items/{item_id}"]["get"]


def test_graft_serve(servers, native_libs, serve_factory, tmp_path):
    py, nat = servers
    doc = _openapi_doc()
    del doc["paths"]["/kit/literal"]  # graft-serve serves only what the kit reproduces
    del doc["paths"]["/kit/dep"]
    f = tmp_path / "openapi.json"
    f.write_text(json.dumps(doc))
    sv = serve_factory([native_libs["kit"]], ["--openapi", str(f)])
    mismatches = []
    for path, hdrs in _cases():
        a, _ = _resp(py.port, path, hdrs)
        b, served = _resp(nat.port, path, hdrs)
        c, _ = _resp(sv.port, path, hdrs)
        if served == "app":  # declined under graft: graft-serve has its own answer
            assert c["status"] == 422 and b'"graft_unsupported"' in c["body"], (path, c)
        elif _graft.compare_responses(a, c):
            mismatches.append((path, hdrs, a, c))
    assert not mismatches, mismatches[:3]
    c, _ = _resp(sv.port, "/kit/items/99999999999999999999", [])
    assert c["status"] == 422 and json.loads(c["body"]) == {"detail": [{
        "type": "graft_unsupported", "loc": ["path", "item_id"],
        "msg": "Input not supported by graft-serve", "input": "99999999999999999999"}]}
    # /kit/literal has no operation in this document: no contract, raw accessors
    c, _ = _resp(sv.port, "/kit/literal?mode=zz", [])
    assert c["status"] == 200 and json.loads(c["body"]) == {"mode": "zz"}


def test_graft_serve_warns_other_versions(native_libs, serve_factory, tmp_path):
    doc = _openapi_doc()
    del doc["paths"]["/kit/literal"]
    del doc["paths"]["/kit/dep"]
    doc["x-graft"] = {"fastapi": "0.100.0", "pydantic": "2.14.4"}
    f = tmp_path / "openapi.json"
    f.write_text(json.dumps(doc))
    sv = serve_factory([native_libs["kit"]], ["--openapi", str(f)])
    assert ("WARNING:  --openapi: the document was written with FastAPI 0.100.0 and Pydantic 2.14.4; "
            "the kit reproduces FastAPI 0.165.x and Pydantic 2.14.x") in sv.output(), sv.output()


def test_graft_serve_refuses_unsupported(native_libs, tmp_path):
    f = tmp_path / "openapi.json"
    f.write_text(json.dumps(_openapi_doc()))
    from native_util import venv_bin

    p = subprocess.run([str(venv_bin() / "graft-serve"), "--native", str(native_libs["kit"]),
                        "--openapi", str(f), "--port", "0"], cwd=str(REPO), env=clean_env(__import__("os").environ),
                       capture_output=True, timeout=30)
    assert p.returncode != 0
    err = p.stderr.decode()
    assert ("Native route GET /kit/literal: contract not supported by the kit: parameter mode "
            "(query): an inline enum (a Literal: literal_error)") in err, err


def test_no_contract_declines(native_libs):
    """An app without these operations (tests/apps/native_app.py): kit.c's routes have no
    contract, so graft_validate declines and the app answers (its own 404)."""
    srv = Server("native_app:app", ["--native", str(native_libs["kit"]), "--log-level", "debug"],
                 impl="graft").start()
    try:
        r = request(srv.port, "GET", "/kit/items/5")
        assert r.status == 404 and json.loads(r.body) == {"detail": "Not Found"}, r
        assert "Native route GET /kit/items/{id}: no operation in the OpenAPI document" in srv.output()
    finally:
        stop_and_check(srv)
