"""`graft diff --openapi` (issue 9 item 5): the seeded generator is reproducible and covers
the edges it promises; two instances of one app agree (exit 0); an app and a variant that
answers one route otherwise differ (exit 1, the difference named); the kit's test libraries
(tests/native/libs/kit.c, kit_body.c) under graft agree with their apps alone; usage errors
exit 2."""

from __future__ import annotations

import json
import sys
from urllib.parse import unquote

import pytest

from tools_util import REPO, env
from util import Server, stop_and_check

from graft.reqgen.gen import Generator


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    """app -> the path of its OpenAPI document (written by `graft openapi`)."""
    import subprocess

    out = tmp_path_factory.mktemp("docs")
    paths = {}
    for app in ("port_app:app", "kit_app:fastapi_app", "kit_body_app:fastapi_app"):
        p = subprocess.run([sys.executable, "-m", "graft", "openapi", app, "--app-dir", "tests/apps"],
                           cwd=str(REPO), env=env(), capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        f = out / (app.split(":")[0] + ".json")
        f.write_text(p.stdout)
        paths[app] = f
    return paths


def _lines(doc, seed, n=400, globs=None):
    return [(r.line(), r.note) for r in Generator(doc, seed, globs).requests(n)]


def test_same_seed_same_sequence(docs):
    doc = json.loads(docs["port_app:app"].read_text())
    a = _lines(doc, 7)
    assert a == _lines(doc, 7)
    assert a != _lines(doc, 8)
    assert len(a) == 400 and len({x for x, _ in a}) > 200


def test_generator_covers_the_edges(docs):
    doc = json.loads(docs["port_app:app"].read_text())
    reqs = Generator(doc, 0).requests(4000)
    notes = " | ".join(r.note for r in reqs)
    for what in ("valid", "missing", "edge", "extra field", "null", "HEAD", "trailing slash",
                 "%2F in capture", "unicode capture", "encoded path", "malformed JSON",
                 "wrong content-type", "no content-type", "empty body", "JSON not an object"):
        assert what in notes, what
    lines = [r.line() for r in reqs]
    assert any("/items/1%2F2" in x for x in lines)
    assert any(r.method == "HEAD" for r in reqs)
    # valid requests use small ids for integer path parameters (existing rows)
    ids = [int(r.path.split("/")[2]) for r in reqs if r.note == "valid" and r.path.startswith("/items/")]
    assert ids and all(1 <= i <= 20 for i in ids)
    # boundaries: limit's bounds (1..50) and just beyond appear
    qs = [kv for r in reqs for kv in r.query.split("&")]
    for edge in ("limit=0", "limit=1", "limit=50", "limit=51", "offset=-1"):
        assert edge in qs, edge
    assert {"limit=abc", "limit=1.5", "limit=true", "limit=5e2", "limit="} & set(qs)  # wrong types
    assert any(kv.startswith(("limit=%20", "limit=0", "limit=%2B")) and kv != "limit=0" for kv in qs)  # lax
    # every operation gets its turn
    assert {(r.method, r.path.split("?")[0].split("/")[1]) for r in reqs} >= {
        ("GET", "items"), ("GET", "shops"), ("POST", "shops"), ("DELETE", "items"), ("POST", "meta")}


def test_same_app_twice_exit_0(docs, graft_cmd):
    a = Server("port_app:app", [], impl="graft").start()
    b = Server("port_app:app", [], impl="graft").start()
    try:
        p = graft_cmd("diff", "--openapi", docs["port_app:app"], f"http://127.0.0.1:{a.port}",
                      f"http://127.0.0.1:{b.port}", "--count", "400", "--seed", "1")
    finally:
        stop_and_check(a)
        stop_and_check(b)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.strip().endswith("400 requests over 6 operations (seed 1): all answers identical"), p.stdout


def test_variant_differs_exit_1(docs, graft_cmd):
    a = Server("port_app:app", [], impl="graft").start()
    b = Server("port_app:app", [], impl="graft", env={"PORT_APP_VARIANT": "1"}).start()
    try:
        p = graft_cmd("diff", "--openapi", docs["port_app:app"], f"http://127.0.0.1:{a.port}",
                      f"http://127.0.0.1:{b.port}", "--count", "400")
    finally:
        stop_and_check(a)
        stop_and_check(b)
    assert p.returncode == 1, p.stdout + p.stderr
    diffs = [ln for ln in p.stdout.splitlines() if ln.startswith("DIFFERS")]
    # only the status differs, only on GET /items/{item_id} (some with the path percent-encoded)
    assert diffs and all(ln.startswith("DIFFERS status: #") and " GET /" in ln for ln in diffs), p.stdout
    assert any(" GET /items/" in ln for ln in diffs)
    assert '  original: 404 [content-type: application/json] {"detail":"Item not found"}' in p.stdout
    assert '  port:     410 [content-type: application/json] {"detail":"Item not found"}' in p.stdout
    assert p.stdout.strip().endswith(f"{len(diffs)} differ"), p.stdout


@pytest.mark.parametrize("app,lib", [("kit_app:fastapi_app", "kit"), ("kit_body_app:fastapi_app", "kit_body")])
def test_kit_libraries_agree_with_their_apps(docs, graft_cmd, build, tmp_path, app, lib):
    so = build(REPO / "tests" / "native" / "libs" / f"{lib}.c", tmp_path / f"{lib}.so")
    a = Server(app, [], impl="graft").start()
    b = Server(app, ["--native", so, "--log-level", "debug"], impl="graft").start()
    try:
        p = graft_cmd("diff", "--openapi", docs[app], f"http://127.0.0.1:{a.port}",
                      f"http://127.0.0.1:{b.port}", "--count", "400", "--seed", "5")
        assert "Native route " in b.output()  # the library is in use
    finally:
        stop_and_check(a)
        stop_and_check(b)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "400 requests over" in p.stdout and "all answers identical" in p.stdout


def test_list_is_reproducible(docs, graft_cmd):
    args = ("diff", "--openapi", docs["port_app:app"], "http://a.invalid", "http://b.invalid",
            "--count", "30", "--seed", "4", "--paths", "/shops/*", "--list")
    p1, p2 = graft_cmd(*args), graft_cmd(*args)
    assert p1.returncode == 0 and p1.stdout == p2.stdout
    lines = p1.stdout.splitlines()
    assert len(lines) == 30 and all(unquote(ln.split()[1]).startswith("/shops/") for ln in lines), lines


def test_usage_errors(docs, graft_cmd, tmp_path):
    doc = docs["port_app:app"]
    p = graft_cmd("diff", "--openapi", tmp_path / "none.json", "http://127.0.0.1:1", "http://127.0.0.1:2")
    assert p.returncode == 2 and "none.json: No such file or directory" in p.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    p = graft_cmd("diff", "--openapi", bad, "http://127.0.0.1:1", "http://127.0.0.1:2")
    assert p.returncode == 2 and "not JSON" in p.stderr
    p = graft_cmd("diff", "--openapi", doc, "http://127.0.0.1:1", "http://127.0.0.1:2", "--paths", "/zz*")
    assert p.returncode == 2 and "no operation matches --paths /zz*" in p.stderr
    p = graft_cmd("diff", "--openapi", doc, "ftp://x", "http://127.0.0.1:2")
    assert p.returncode == 2 and "is not an http:// or https:// URL" in p.stderr
    p = graft_cmd("diff", "--openapi", doc, "http://127.0.0.1:1")
    assert p.returncode == 2 and "PORT_URL" in p.stderr
    # nothing listening: a connection error names the request and the server
    p = graft_cmd("diff", "--openapi", doc, "http://127.0.0.1:1", "http://127.0.0.1:2", "--count", "3")
    assert p.returncode == 2 and "graft diff: #1 GET /items/" in p.stderr and "http://127.0.0.1:1" in p.stderr


def test_graft_serve_mode(docs, graft_cmd, build, tmp_path):
    """kit.c under graft-serve (no Python) against the app under graft: with --graft-serve the
    generator leaves out the inputs the kit declines and every answer matches; without it,
    graft-serve's own graft_unsupported 422s are reported as differences."""
    sys.path.insert(0, str(REPO / "tests" / "native"))
    from native_util import ServeProcess

    so = build(REPO / "tests" / "native" / "libs" / "kit.c", tmp_path / "kit.so")
    doc = json.loads(docs["kit_app:fastapi_app"].read_text())
    for p in ("/kit/literal", "/kit/dep", "/kit/hidden", "/query"):  # graft-serve refuses or lacks them
        del doc["paths"][p]
    f = tmp_path / "openapi.json"
    f.write_text(json.dumps(doc))
    app = Server("kit_app:fastapi_app", [], impl="graft").start()
    serve = ServeProcess([so], ["--openapi", f]).start()
    try:
        urls = (f"http://127.0.0.1:{app.port}", f"http://127.0.0.1:{serve.port}")
        safe = graft_cmd("diff", "--openapi", f, *urls, "--count", "400", "--graft-serve")
        full = graft_cmd("diff", "--openapi", f, *urls, "--count", "400", "--show", "3")
    finally:
        stop_and_check(app)
        serve.stop()
        serve.cleanup()
    assert safe.returncode == 0 and "all answers identical" in safe.stdout, safe.stdout + safe.stderr
    assert full.returncode == 1 and '"type":"graft_unsupported"' in full.stdout, full.stdout + full.stderr
