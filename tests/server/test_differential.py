"""Differential tests: the same FastAPI app (tests/apps/fastapi_app.py) served
by uvicorn (httptools + uvloop) and by graft must answer the same requests
identically, by graft's one comparison rule (_graft.compare_responses, the rule shadow mode
and `graft diff` use): same status, the same header fields as a multiset (date, server and the
framing fields ignored), the same body bytes after de-chunking. Only the headers in COMPARED
are handed to the rule: the two servers legitimately differ in others.
"""

from __future__ import annotations

import os
import re
import signal
import time

import httpx
import pytest

from graft import _graft
from util import IMPL, Server, clean_exit_codes, exchange, parse_all

APP = "fastapi_app:app"

COMPARED = {
    "content-type", "content-encoding", "location", "set-cookie", "content-range", "accept-ranges",
    "etag", "last-modified", "vary", "allow", "content-disposition", "cache-control",
    "x-custom", "x-multi", "x-error", "www-authenticate",
}
COMPARED_PREFIXES = ("access-control-",)


@pytest.fixture(scope="module")
def servers():
    ref = Server(APP, impl="uvicorn").start()
    try:
        sut = Server(APP, impl=IMPL).start()
    except BaseException:
        ref.cleanup()
        raise
    yield ref, sut
    rc_ref = ref.stop(signal.SIGTERM, 10)
    rc_sut = sut.stop(signal.SIGTERM, 10)
    out = sut.output()
    ref.cleanup()
    sut.cleanup()
    assert rc_ref in clean_exit_codes("uvicorn")
    assert rc_sut in clean_exit_codes(sut.impl), f"{sut.impl} exit code {rc_sut}\n{out}"


@pytest.fixture(scope="module")
def servers_root_path():
    """Both servers started with --root-path /api (uvicorn: path = root_path + path)."""
    extra = ["--root-path", "/api"]
    ref = Server(APP, extra, impl="uvicorn").start()
    try:
        sut = Server(APP, extra, impl=IMPL).start()
    except BaseException:
        ref.cleanup()
        raise
    yield ref, sut
    ref.stop(signal.SIGTERM, 10)
    rc_sut = sut.stop(signal.SIGTERM, 10)
    out = sut.output()
    ref.cleanup()
    sut.cleanup()
    assert rc_sut in clean_exit_codes(sut.impl), f"{sut.impl} exit code {rc_sut}\n{out}"


def _normalizer(port: int):
    hostport = f"127.0.0.1:{port}".encode()

    def norm(b: bytes) -> bytes:
        return b.replace(hostport, b"127.0.0.1:PORT")

    return norm


def _boundary(headers) -> bytes | None:
    ct = headers.get("content-type", "")
    m = re.search(r"boundary=([^;\s]+)", ct)
    return m.group(1).encode() if m else None


def summarize(resp: httpx.Response, port: int) -> dict:
    norm = _normalizer(port)
    body = resp.content
    boundary = _boundary(resp.headers)
    hdrs = {}
    for k, v in resp.headers.multi_items():
        k = k.lower()
        if k in COMPARED or k.startswith(COMPARED_PREFIXES):
            v = norm(v.encode("latin-1")).decode("latin-1")
            if boundary:
                v = v.replace(boundary.decode(), "BOUNDARY")
            hdrs.setdefault(k, []).append(v)
    if boundary:
        body = body.replace(boundary, b"BOUNDARY")
    return {
        "status": resp.status_code,
        "headers": hdrs,
        "content-length": resp.headers.get("content-length"),
        "body": norm(body),
    }


def _rule_input(s: dict, ignore) -> dict:
    headers = [(k, v) for k, vs in s["headers"].items() if k not in ignore for v in vs]
    return {"status": s["status"], "headers": headers, "body": s["body"]}


def compare(a: dict, b: dict, ignore=()) -> None:
    """The comparison rule on two summaries; ignore lists header names left out per case."""
    diff = _graft.compare_responses(_rule_input(a, ignore), _rule_input(b, ignore))
    assert diff == [], (diff, a, b)
    # httpx hands over bodies with content-encoding undone: the wire lengths of the encoded
    # bodies are checked here, beside the rule, which compares the decoded bytes.
    if a.get("content-length") is not None and b.get("content-length") is not None:
        assert a["content-length"] == b["content-length"]


UPLOAD = (b"hello upload\n" * 500)

# FileResponse routes are requested without gzip negotiation and Vary is not compared
# for them: written when graft offered http.response.pathsend by default (GZipMiddleware
# never compresses pathsend responses). It no longer does (--pathsend is opt-in), and
# tests/compat/test_compat_requests.py checks gzip'd FileResponse against uvicorn.
IDENTITY = {"Accept-Encoding": "identity"}
FILE_IGNORE = {"vary"}

# id -> kwargs for httpx.Client.request
CASES = {
    "get-path-query": dict(method="GET", url="/items/42?q=hello&limit=3", headers={"X-Custom": "xc"}),
    "get-422-path": dict(method="GET", url="/items/abc"),
    "get-422-query": dict(method="GET", url="/items/1?limit=x"),
    "post-valid": dict(method="POST", url="/items", json={"name": "widget", "price": 2.5, "tags": ["a", "b"]}),
    "post-422": dict(method="POST", url="/items", json={"name": "", "price": -1}),
    "post-bad-json": dict(method="POST", url="/items", content=b"{bad json",
                          headers={"Content-Type": "application/json"}),
    "put-sync-endpoint": dict(method="PUT", url="/items/7", json={"name": "gear", "price": 1}),
    "streaming": dict(method="GET", url="/stream?n=6"),
    "sse": dict(method="GET", url="/sse?n=5", headers={"Accept": "text/event-stream"}),
    "file": dict(method="GET", url="/file", headers=IDENTITY),
    "file-head": dict(method="HEAD", url="/file", headers=IDENTITY),
    "file-range": dict(method="GET", url="/file", headers={**IDENTITY, "Range": "bytes=0-99"}),
    "file-range-suffix": dict(method="GET", url="/file", headers={**IDENTITY, "Range": "bytes=-50"}),
    "file-range-open": dict(method="GET", url="/file", headers={**IDENTITY, "Range": "bytes=100-"}),
    "file-multi-range": dict(method="GET", url="/file", headers={**IDENTITY, "Range": "bytes=0-9,20-29"}),
    "file-range-416": dict(method="GET", url="/file", headers={**IDENTITY, "Range": "bytes=999999-"}),
    "upload-multipart": dict(method="POST", url="/upload",
                             files={"file": ("hello.txt", UPLOAD, "text/plain")},
                             data={"note": "n1", "extra": ["a", "b"]}),
    "upload-missing-field": dict(method="POST", url="/upload", files={"file": ("x.bin", b"x", "a/b")}),
    "form-urlencoded": dict(method="POST", url="/form", data={"username": "bob", "age": "33", "remember": "true"}),
    "form-422": dict(method="POST", url="/form", data={"username": "bob", "age": "old"}),
    "gzip-text": dict(method="GET", url="/big", headers={"Accept-Encoding": "gzip"}),
    "gzip-json": dict(method="GET", url="/big-json", headers={"Accept-Encoding": "gzip"}),
    "no-gzip": dict(method="GET", url="/big", headers={"Accept-Encoding": "identity"}),
    "cors-preflight": dict(method="OPTIONS", url="/items", headers={
        "Origin": "https://example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "X-Custom, Content-Type"}),
    "cors-preflight-bad-origin": dict(method="OPTIONS", url="/items", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}),
    "cors-simple": dict(method="GET", url="/items/5", headers={"Origin": "https://example.com"}),
    "cors-simple-bad-origin": dict(method="GET", url="/items/5", headers={"Origin": "https://evil.example"}),
    "sub-info": dict(method="GET", url="/sub/info"),
    "sub-items": dict(method="GET", url="/sub/items/z9"),
    "sub-404": dict(method="GET", url="/sub/nope"),
    "http-exception-404": dict(method="GET", url="/missing"),
    "unhandled-500": dict(method="GET", url="/crash"),
    "custom-headers": dict(method="GET", url="/headers"),
    "cookies-set": dict(method="GET", url="/cookies/set"),
    "cookies-read": dict(method="GET", url="/cookies/read", headers={"Cookie": "session=abc; theme=light"}),
    "redirect-307": dict(method="GET", url="/redirect"),
    "redirect-301-absolute": dict(method="GET", url="/redirect-301"),
    "redirect-slash": dict(method="GET", url="/items/1/"),
    "head-on-get-route": dict(method="HEAD", url="/items/1"),
    "405-wrong-method": dict(method="DELETE", url="/items/1"),
    "404-unknown": dict(method="GET", url="/does/not/exist"),
    "unicode-path": dict(method="GET", url="/unicode/caf%C3%A9%20x"),
    "html": dict(method="GET", url="/html"),
    "echo-request": dict(method="GET", url="/echo-request?a=1&b=%20two&a=3", headers={"X-Thing": "v"}),
    "echo-body-binary": dict(method="POST", url="/echo-body", content=bytes(range(256)) * 800,
                             headers={"Content-Type": "application/octet-stream"}),
    "empty-204": dict(method="GET", url="/empty"),
    "not-modified-304": dict(method="GET", url="/not-modified"),
    "openapi-json": dict(method="GET", url="/openapi.json"),
    "docs-html": dict(method="GET", url="/docs"),
}


def _send(server: Server, kw: dict) -> dict:
    with httpx.Client(base_url=server.url(""), follow_redirects=False, timeout=10) as client:
        return summarize(client.request(**kw), server.port)


@pytest.mark.parametrize("case", list(CASES))
def test_same_response(servers, case):
    ref, sut = servers
    kw = CASES[case]
    ignore = FILE_IGNORE if kw["url"].startswith("/file") else ()
    compare(_send(ref, kw), _send(sut, kw), ignore)


def test_conditional_file_request(servers):
    ref, sut = servers
    results = []
    for s in (ref, sut):
        with httpx.Client(base_url=s.url(""), timeout=10, headers=IDENTITY) as c:
            first = c.get("/file")
            etag = first.headers["etag"]
            lm = first.headers["last-modified"]
            r1 = c.get("/file", headers={"If-None-Match": etag})
            r2 = c.get("/file", headers={"If-Modified-Since": lm})
            r3 = c.get("/file", headers={"Range": "bytes=0-9", "If-Range": etag})
            r4 = c.get("/file", headers={"Range": "bytes=0-9", "If-Range": '"other"'})
            results.append([summarize(r, s.port) for r in (r1, r2, r3, r4)])
    for a, b in zip(*results):
        compare(a, b, FILE_IGNORE)
    # FileResponse honours If-Range (a matching validator keeps the range)
    assert results[1][2]["status"] == 206 and results[1][3]["status"] == 200


ROOT_PATH_URLS = ["/items/3?q=r", "/echo-request?z=1", "/sub/info", "/sub/items/k", "/api/items/3",
                  "/api/sub/info", "/redirect", "/items/3/", "/openapi.json", "/docs", "/nothing"]


@pytest.mark.parametrize("url", ROOT_PATH_URLS)
def test_same_response_with_root_path(servers_root_path, url):
    ref, sut = servers_root_path
    kw = dict(method="GET", url=url)
    compare(_send(ref, kw), _send(sut, kw))


def test_background_task(servers):
    ref, sut = servers
    results = []
    for s in (ref, sut):
        with httpx.Client(base_url=s.url(""), timeout=10) as c:
            key = "k1"
            queued = c.post(f"/bg/{key}", params={"value": "done-value"})
            deadline = time.monotonic() + 5
            got = c.get(f"/bg/{key}")
            while got.status_code == 404 and time.monotonic() < deadline:
                time.sleep(0.05)
                got = c.get(f"/bg/{key}")
            results.append((summarize(queued, s.port), summarize(got, s.port)))
    compare(results[0][0], results[1][0])
    compare(results[0][1], results[1][1])
    assert results[1][1]["status"] == 200


def test_concurrent_requests_same_results(servers):
    """Many interleaved requests over several connections give the same answers."""
    import concurrent.futures

    ref, sut = servers
    urls = [f"/items/{i}?q=c{i}" for i in range(40)] + ["/stream?n=3"] * 5 + ["/big-json"] * 5

    def run(s):
        with httpx.Client(base_url=s.url(""), timeout=10,
                          limits=httpx.Limits(max_connections=8)) as c:
            with concurrent.futures.ThreadPoolExecutor(8) as ex:
                return list(ex.map(lambda u: summarize(c.get(u), s.port), urls))

    for a, b in zip(run(ref), run(sut)):
        compare(a, b)


# ---------------------------------------------------------------------------
# raw requests (framing-level differences hidden by httpx)
# ---------------------------------------------------------------------------

RAW_CASES = {
    "pipelined": (b"GET /items/1 HTTP/1.1\r\nHost: t\r\n\r\n"
                  b"GET /stream?n=2 HTTP/1.1\r\nHost: t\r\n\r\n"
                  b"POST /echo-body HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
                  b"GET /sub/items/p HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                  ["GET", "GET", "POST", "GET"]),
    "http10-json": (b"GET /items/3 HTTP/1.0\r\n\r\n", ["GET"]),
    "http10-stream": (b"GET /stream?n=3 HTTP/1.0\r\n\r\n", ["GET"]),
    "chunked-upload": (b"POST /echo-body HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
                       b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                       b"5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n", ["POST"]),
    "expect-100": (b"POST /echo-body HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n"
                   b"Expect: 100-continue\r\nConnection: close\r\n\r\nbody", ["POST"]),
    "head-then-get": (b"HEAD /file HTTP/1.1\r\nHost: t\r\n\r\n"
                      b"GET /items/9 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", ["HEAD", "GET"]),
    "204-then-get": (b"GET /empty HTTP/1.1\r\nHost: t\r\n\r\n"
                     b"GET /items/9 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", ["GET", "GET"]),
    "absolute-form": (b"GET http://example.com/echo-request?x=1 HTTP/1.1\r\nHost: example.com\r\n"
                      b"Connection: close\r\n\r\n", ["GET"]),
}


def _raw_summary(server: Server, data: bytes, methods) -> list:
    ex = exchange(server.port, data, timeout=5)
    resps, rest = parse_all(ex.data, methods=methods)
    assert rest == b"", ex.data[-300:]
    norm = _normalizer(server.port)
    out = []
    for r in resps:
        if 100 <= r.status < 200:
            # RFC 9110 §10.1.1: a server MAY omit 100 Continue when the body already arrived
            continue
        hdrs = {}
        for k, v in r.headers:
            if k in COMPARED or k.startswith(COMPARED_PREFIXES):
                hdrs.setdefault(k, []).append(v)
        out.append({"status": r.status, "headers": hdrs, "body": norm(r.body), "complete": r.complete})
    return out


@pytest.mark.parametrize("case", list(RAW_CASES))
def test_same_raw_response(servers, case):
    ref, sut = servers
    data, methods = RAW_CASES[case]
    a = _raw_summary(ref, data, methods)
    b = _raw_summary(sut, data, methods)
    assert [x["status"] for x in b] == [x["status"] for x in a]
    for x, y in zip(a, b):
        compare(x, y)
        assert y["complete"] == x["complete"], (x, y)


def test_file_served_matches_disk(servers):
    _, sut = servers
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "apps", "fastapi_app.py"), "rb") as f:
        expected = f.read()
    r = httpx.get(sut.url("/file"), timeout=10)  # with Accept-Encoding: gzip
    assert r.status_code == 200 and r.content == expected
    r = httpx.get(sut.url("/file"), headers={"Range": "bytes=10-19"}, timeout=10)
    assert r.status_code == 206 and r.content == expected[10:20]
    assert r.headers["content-range"] == f"bytes 10-19/{len(expected)}"
