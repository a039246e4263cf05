"""graft-serve --fastapi-routing answers what FastAPI's router answers (issue 9).

The reference is tests/apps/fastapi_routing_app.py served by graft with no native library
(graft's bridge gives an app what uvicorn gives it). graft-serve runs
tests/native/libs/fastapi_routes.c, the same routes in the same order, with
--fastapi-routing. Every case goes to both; status, headers (as a multiset, without date and
server: ``_graft.compare_responses``, the rule shadow mode uses), content-length and body
must be the same. The cases are the routing-level answers: 404, 405 with ``allow`` (only the
first registered route for the path is listed, as Starlette does), HEAD on a GET-only route
(405: FastAPI's routes do not add HEAD), the trailing-slash 307 (Location from the Host
header, else the server address; query kept; path re-quoted), and the decoded-path matching
the handlers see (an encoded '/' never inside a {param}).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "server"))

from native_util import ServeProcess  # noqa: E402
from util import Conn, Server, build_request, request, stop_and_check  # noqa: E402

from graft import _graft  # noqa: E402


@pytest.fixture(scope="module")
def reference():
    srv = Server("fastapi_routing_app:app", [], impl="graft").start()
    yield srv
    stop_and_check(srv)


@pytest.fixture(scope="module")
def serve(native_libs):
    s = ServeProcess([native_libs["fastapi_routes"]], ["--fastapi-routing"]).start()
    yield s
    s.stop()
    s.cleanup()


def _as_dict(resp, port):
    # The server address appears in a Location built without a usable Host: the two servers
    # listen on different ports, so each one's own port is written as PORT.
    headers = [(k, v.replace(f":{port}", ":PORT")) for k, v in resp.headers]
    return {"status": resp.status, "headers": headers, "body": resp.body}


def _both(reference, serve, method, path, headers=None, version="HTTP/1.1", host="t"):
    out = []
    for port in (reference.port, serve.port):
        if version == "HTTP/1.1" and host == "t":
            r = request(port, method, path, headers=headers)
        else:
            hdrs = list(headers or []) + [("Connection", "close")]
            with Conn(port) as c:
                c.send(build_request(method, path, hdrs, version=version, host=host))
                r = c.read_response(method=method)
        out.append((r, _as_dict(r, port)))
    return out


def _same(reference, serve, method, path, **kw):
    (ra, a), (rb, b) = _both(reference, serve, method, path, **kw)
    diff = _graft.compare_responses(a, b)
    assert diff == [], f"{method} {path}: {diff}\n  FastAPI:     {ra}\n  graft-serve: {rb}"
    assert ra.header("content-length") == rb.header("content-length"), (ra, rb)
    assert ra.header("transfer-encoding") == rb.header("transfer-encoding"), (ra, rb)
    return ra, rb


NOT_FOUND = [
    ("GET", "/nope"),
    ("GET", "/nope/"),
    ("HEAD", "/nope"),
    ("POST", "/"),
    ("GET", "/"),
    ("GET", "/books/1%2F2"),   # decoded "/books/1/2": not /books/{book_id}
    ("GET", "/books/%2F"),     # "/books//": a {param} never matches an empty segment
    ("GET", "/items/1/2"),
    ("GET", "/caf%C3%A9/x"),
    ("DELETE", "/nope?x=1"),
]


@pytest.mark.parametrize("method, path", NOT_FOUND)
def test_not_found(reference, serve, method, path):
    ra, rb = _same(reference, serve, method, path)
    assert ra.status == 404, ra


METHOD_NOT_ALLOWED = [
    ("PUT", "/items/1"),       # GET and DELETE share the path: only GET (registered first)
    ("PATCH", "/items"),
    ("DELETE", "/items"),
    ("OPTIONS", "/items"),
    ("HEAD", "/items"),        # HEAD on a GET-only route
    ("HEAD", "/items/1"),
    ("HEAD", "/books/7"),
    ("HEAD", "/caf%C3%A9"),
    ("GET", "/things/"),       # PUT only
    ("GET", "/only-head"),     # HEAD only: allow HEAD
    ("POST", "/files/a%2Fb"),
]


@pytest.mark.parametrize("method, path", METHOD_NOT_ALLOWED)
def test_method_not_allowed(reference, serve, method, path):
    ra, rb = _same(reference, serve, method, path)
    assert ra.status == 405, ra
    assert rb.header("allow"), rb


REDIRECTS = [
    ("GET", "/items/", None),
    ("POST", "/items/?a=1&b=%20x", None),               # any method; the query is kept
    ("HEAD", "/items/", None),
    ("GET", "/items//", None),                           # every trailing '/' goes
    ("GET", "/items/1/?q=\"|{x}^`\\", None),             # the query re-quoted as Starlette does
    ("GET", "/caf%C3%A9/", None),
    ("PUT", "/things", None),                            # one added
    ("GET", "/files", None),                             # /files/ is /files/{rest:path}
    ("GET", "/b%6Foks/1/", None),                        # the decoded path, re-quoted
    ("GET", "/items/a%3Fb%23c%5Cd%20%22%25%7E%2B/", None),  # ?, #, \ escaped in the path
    ("GET", "/items/%FF%00x/", None),                    # U+FFFD and NUL, quoted
    ("GET", "/items/", [("Host", "example.com:8080")]),
    ("GET", "/items/", [("Host", "example.com:00080")]),
    ("GET", "/items/", [("Host", "[::1]:9")]),
    ("GET", "/items/", [("Host", "a_b")]),              # not Starlette's host syntax: server address
    ("GET", "/items/", [("Host", "x:99999")]),          # port out of range: server address
    ("GET", "/items/", [("Host", "EXAMPLE.com:")]),     # no port digits: server address
    ("GET", "/items/", [("Host", "[v1.a:b]")]),         # an IPvFuture literal
    ("GET", "/items/", [("Host", "[::ffff:1.2.3.4]")]),
]


@pytest.mark.parametrize("method, path, headers", REDIRECTS)
def test_trailing_slash_redirect(reference, serve, method, path, headers):
    ra, rb = _same(reference, serve, method, path, headers=headers)
    assert ra.status == 307, ra
    assert rb.header("location"), rb


def test_redirect_without_host_uses_the_server_address(reference, serve):
    ra, rb = _same(reference, serve, "GET", "/items/?k=v", version="HTTP/1.0", host=None)
    assert ra.status == 307, ra
    assert rb.header("location") == f"http://127.0.0.1:{serve.port}/items?k=v", rb


DECODED = [
    ("GET", "/books/a%20b"),
    ("GET", "/books/%FFx"),        # the app sees U+FFFD: so does graft_param
    ("GET", "/books/a%00b"),       # a NUL byte inside the capture
    ("GET", "/books/%zz"),         # not an escape
    ("GET", "/files/a%2Fb/c"),     # a catch-all takes %2F as '/'
    ("GET", "/files/"),            # ... or nothing
    ("GET", "/caf%C3%A9"),         # literal segments compare decoded
    ("GET", "/items/%2e%2e"),      # not normalised
    ("DELETE", "/items/x%2By"),
    ("HEAD", "/only-head"),
]


@pytest.mark.parametrize("method, path", DECODED)
def test_decoded_path_matching(reference, serve, method, path):
    ra, rb = _same(reference, serve, method, path)
    assert ra.status == 200, ra


def test_plain_404_without_the_switch(native_libs, serve_factory):
    # Without --fastapi-routing graft-serve keeps its own answers: a plain-text 404, and
    # HEAD served by the GET route.
    s = serve_factory([native_libs["fastapi_routes"]])
    r = request(s.port, "GET", "/nope")
    assert r.status == 404 and r.body == b"Not Found", r
    assert r.header("content-type") == "text/plain; charset=utf-8", r
    r = request(s.port, "HEAD", "/items")
    assert r.status == 200, r
    assert r.header("content-length") == str(len(b"items_get")), r
    r = request(s.port, "GET", "/books/1%2F2")
    assert r.status == 404 and r.body == b"Not Found", r
