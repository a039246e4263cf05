"""The handler API (include/graft.h) end to end, through tests/native/libs/features.c
loaded by graft in front of tests/apps/native_app.py.

Routing precedence, parameters, query and headers, whole-body routes and their
limit, declining to Python, handler errors, streamed and file responses, the
blocking pool, answers given later from another thread, client-gone detection,
library and per-thread state, and the JSON writer.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import time

import pytest

from native_util import start_graft
from util import Conn, build_request, parse_all, request, stop_and_check, wait_for

BODY_LIMIT = 65536  # graft_router_set_body_limit in features.c
FAST = 0.050


@pytest.fixture(scope="module")
def feat_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("features")
    rnd = random.Random(1234)
    (d / "served.bin").write_bytes(bytes(rnd.getrandbits(8) for _ in range(300_000 + 123)))
    return d


@pytest.fixture(scope="module")
def feat(native_libs, feat_dir):
    s = start_graft(["--native", f"{native_libs['features']}?{feat_dir}", "--threads", "2"])
    yield s
    stop_and_check(s)


def get(srv, path, **kw):
    return srv.request("GET", path, **kw)


# ---------------------------------------------------------------------------
# routing
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("path, expected", [
    ("/items/special", "exact"),
    ("/items/42", "param:42"),
    ("/items/specials", "param:specials"),
    ("/items/a%20b", "param:a b"),
    ("/items/a/b", "catchall:a/b"),
    ("/items/special/x", "catchall:special/x"),
    ("/items/x/y%20z/%C3%A9", "catchall:x/y z/é"),
])
def test_precedence_exact_param_catchall(feat, path, expected):
    r = get(feat, path)
    assert r.status == 200, r
    assert r.body.decode() == expected, r


def test_path_params_percent_decoded(feat):
    r = get(feat, "/params/a%25b/c%20d%3F")
    assert r.status == 200, r
    # graft_param gives the decoded text; graft_path stays the raw path.
    assert r.json() == {"a": "a%b", "b": "c d?", "nosuch": None,
                        "path": "/params/a%25b/c%20d%3F", "method": "GET"}


def test_encoded_slash_splits_segments(feat):
    # Matched on the decoded path "/params/a/b/c": three segments, not /params/{a}/{b}; the
    # app (which has no such route) answers FastAPI's 404 (issue 9).
    r = get(feat, "/params/a%2Fb/c")
    assert r.status == 404, r
    assert r.json() == {"detail": "Not Found"}, r
    # A catch-all takes it as '/', as Starlette's {x:path} does.
    r = get(feat, "/items/a%2Fb")
    assert r.status == 200, r
    assert r.body.decode() == "catchall:a/b", r


def test_query_params(feat):
    r = get(feat, "/query?q=hello+world&tag=a&tag=b%20c&tag=d&q=second&empty=&plus=%2B1+2")
    assert r.status == 200, r
    assert r.json() == {
        "q": "hello world",            # first value, '+' is a space
        "missing": None,
        "empty": "",
        "tags": ["a", "b c", "d"],     # graft_query_all, in order
        "ntags_max2": 3,               # full count even with 2 slots
        "first2": ["a", "b c"],
        "raw": "q=hello+world&tag=a&tag=b%20c&tag=d&q=second&empty=&plus=%2B1+2",
    }


def test_query_absent(feat):
    r = get(feat, "/query")
    assert r.json() == {"q": None, "missing": None, "empty": None, "tags": [], "ntags_max2": 0,
                        "first2": [], "raw": ""}


def test_query_plus_vs_encoded_plus(feat):
    r = get(feat, "/query?q=%2B1+2%2b3")
    assert r.json()["q"] == "+1 2+3", r


def test_headers_lookup_and_iteration(feat):
    sent = [("Host", "t"), ("x-Custom-HEADER", "v1"), ("X-Other", "o"),
            ("X-Custom-Header", "v2"), ("Connection", "close")]
    with Conn(feat.port) as c:
        c.send(build_request("GET", "/headers", sent, host=None))
        r = c.read_response()
    assert r.status == 200, r
    body = r.json()
    assert body["custom"] == "v1", body      # case-insensitive, first of two
    assert body["absent"] is None, body
    assert body["count"] == len(sent), body
    assert [tuple(f) for f in body["fields"]] == sent, body
    assert body["oob"] == -22, body          # GRAFT_EINVAL past the end


def test_client_address(feat):
    with Conn(feat.port) as c:
        local_port = c.sock.getsockname()[1]
        r = c.request("GET", "/client")
    assert r.json() == {"ip": "127.0.0.1", "port": local_port}, r


def test_set_header_validation(feat):
    r = get(feat, "/setheader")
    assert r.status == 200, r
    assert r.body == b"ok=0 bad_value=-22 bad_name=-22", r
    assert r.header("x-native") == "yes", r
    assert r.header("x-evil") is None and r.header("set-cookie") is None, r


# ---------------------------------------------------------------------------
# GRAFT_ROUTE_BODY
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["POST", "PUT"])  # PUT /echo is also GRAFT_ROUTE_BLOCKING
@pytest.mark.parametrize("size", [0, 1, 1000, BODY_LIMIT])
def test_body_echo_content_length(feat, method, size):
    body = os.urandom(size)
    r = feat.request(method, "/echo", body=body)
    assert r.status == 200, r
    assert r.header("x-body-len") == str(size), r
    assert r.body == body, f"echo differs: sent {size} bytes, got {len(r.body)}"


def _chunked(body: bytes, sizes) -> bytes:
    out, pos = b"", 0
    for n in sizes:
        piece = body[pos:pos + n]
        if not piece:
            break
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        pos += len(piece)
    assert pos == len(body)
    return out + b"0\r\n\r\n"


def test_body_echo_chunked(feat):
    body = os.urandom(40_000)
    wire = _chunked(body, [1, 10, 4095, 4096, 20_000, 11_898])
    with Conn(feat.port) as c:
        c.send(build_request("POST", "/echo", [("Transfer-Encoding", "chunked")], wire))
        r = c.read_response()
        assert r.status == 200, r
        assert r.body == body
        # the connection is still good
        r = c.request("GET", "/items/special")
        assert r.body == b"exact", r


def test_body_arriving_in_pieces(feat):
    """The handler runs once, with the whole body, however it arrives."""
    body = os.urandom(30_000)
    with Conn(feat.port) as c:
        head = build_request("POST", "/echo", [("Content-Length", str(len(body)))], b"")
        c.send(head)
        for i in range(3):
            time.sleep(0.05)
            assert c.recv_for(0.01) == b"", "answered before the whole body arrived"
            c.send(body[i * 10_000:(i + 1) * 10_000])
        r = c.read_response()
    assert r.status == 200 and r.body == body, r


def test_body_expect_continue(feat):
    body = b"x" * 5000
    with Conn(feat.port) as c:
        c.send(build_request("POST", "/echo", [("Expect", "100-continue"),
                                               ("Content-Length", str(len(body)))], b""))
        interim = c.read_response(timeout=5)
        assert interim.status == 100, interim
        c.send(body)
        r = c.read_response()
    assert r.status == 200 and r.body == body, r


def test_body_over_limit_content_length_413(feat):
    r = feat.request("POST", "/echo", body=b"y" * (BODY_LIMIT + 1))
    assert r.status == 413, r
    assert r.header("x-body-len") is None, r
    assert get(feat, "/items/special").body == b"exact"


# Bodies above the engine's 64 KiB read-ahead mark, on a server of their own: a
# request stuck here must not take the shared server's clean shutdown with it.

@pytest.fixture(scope="module")
def bodies(native_libs, tmp_path_factory):
    d = tmp_path_factory.mktemp("bodies")
    s = start_graft(["--native", f"{native_libs['features']}?{d}", "--native", native_libs["bigbody"],
                     "--timeout-graceful-shutdown", "2"])
    yield s
    stop_and_check(s)


def test_two_libraries_loaded(bodies):
    assert get(bodies, "/items/special").body == b"exact"
    r = bodies.request("POST", "/big-echo", body=b"abc")
    assert r.status == 200 and r.body == b"abc", r


def test_body_over_limit_chunked_413(bodies):
    body = b"z" * (BODY_LIMIT + 5000)
    wire = _chunked(body, [8192] * 20)
    r = bodies.request("POST", "/echo", headers=[("Transfer-Encoding", "chunked")], body=wire, timeout=2)
    assert r.status == 413, r
    assert get(bodies, "/items/special").body == b"exact"


@pytest.mark.parametrize("framing, size", [("content-length", 300_000), ("chunked", 300_000),
                                           ("content-length", 1 << 20)])
def test_large_body_under_default_limit(bodies, size, framing):
    """bigbody.c keeps the default limit (1 MiB): every body up to it reaches the handler whole."""
    body = os.urandom(size)
    if framing == "chunked":
        r = bodies.request("POST", "/big-echo", headers=[("Transfer-Encoding", "chunked")],
                           body=_chunked(body, [16384] * (size // 16384 + 1)), timeout=2)
    else:
        r = bodies.request("POST", "/big-echo", body=body, timeout=2)
    assert r.status == 200, r
    assert r.header("x-body-len") == str(size), r
    assert r.body == body


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_large_body_over_default_limit_413(bodies, framing):
    body = b"q" * ((1 << 20) + 1)
    if framing == "chunked":
        r = bodies.request("POST", "/big-echo", headers=[("Transfer-Encoding", "chunked")],
                           body=_chunked(body, [65536] * 17), timeout=2)
    else:
        r = bodies.request("POST", "/big-echo", body=body, timeout=2)
    assert r.status == 413, r


# ---------------------------------------------------------------------------
# GRAFT_DECLINE → Python
# ---------------------------------------------------------------------------

def test_decline_get(feat):
    r = get(feat, "/maybe?a=1")
    assert r.json() == {"from": "native", "method": "GET"}, r
    r = feat.request("GET", "/maybe?a=1", headers=[("x-decline", "1")])
    assert r.status == 200, r
    assert r.json() == {"from": "python", "method": "GET", "query": "a=1"}, r


def test_decline_post_body_reaches_python(feat):
    r = feat.request("POST", "/maybe", body=b"hello body", headers=[("x-decline", "1")])
    assert r.status == 200, r
    assert r.json() == {"from": "python", "method": "POST", "body": "hello body", "x-decline": "1"}, r
    r = feat.request("POST", "/maybe", body=b"hello body")
    assert r.json() == {"from": "native", "method": "POST"}, r


def test_decline_whole_body_route_forwards_body_unchanged(feat):
    """A GRAFT_ROUTE_BODY route that declines: the request, body included, goes to
    Python unchanged (graft.h: 'forward the request unchanged to the ASGI app')."""
    r = feat.request("POST", "/maybe-body", body=b"the whole body", headers=[("x-decline", "1")])
    assert r.status == 200, r
    assert r.json() == {"from": "python", "method": "POST", "body": "the whole body"}, r


def test_decline_mixed_on_keep_alive(feat):
    with Conn(feat.port) as c:
        for i in range(3):
            r = c.request("POST", "/maybe", body=f"b{i}".encode())
            assert r.json() == {"from": "native", "method": "POST"}, r
            r = c.request("POST", "/maybe", [("x-decline", "1")], body=f"d{i}".encode())
            assert r.json() == {"from": "python", "method": "POST", "body": f"d{i}", "x-decline": "1"}, r
            r = c.request("GET", "/maybe", [("x-decline", "1")])
            assert r.json()["from"] == "python", r


# ---------------------------------------------------------------------------
# handler errors
# ---------------------------------------------------------------------------

def test_negative_return_is_500_and_server_keeps_serving(feat):
    for _ in range(5):
        r = get(feat, "/fail")
        assert r.status == 500, r
        assert r.body == b"Internal Server Error", r
    assert get(feat, "/items/special").body == b"exact"
    assert get(feat, "/py").json() == {"from": "python"}


# ---------------------------------------------------------------------------
# streamed and file responses
# ---------------------------------------------------------------------------

def _stream_expected(n: int) -> bytes:
    lines = b"".join(f"line {i}\n".encode() for i in range(n))
    big = bytes(ord("a") + i % 26 for i in range(65536))
    return lines + big + b"end\n"


def test_stream_chunked(feat):
    with Conn(feat.port) as c:
        r = c.request("GET", "/stream?n=100")
        assert r.status == 200, r
        assert r.chunked and r.complete, r
        assert r.header("content-length") is None, r
        assert r.body == _stream_expected(100)
        r = c.request("GET", "/stream?n=3")   # keep-alive after a streamed response
        assert r.body == _stream_expected(3)


@pytest.mark.parametrize("path", ["/nobody/stream", "/nobody/file"])
@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses_send_no_body(feat, path, status):
    """A 204 or 304 ends at its head (RFC 9110 §15.3.5, §15.4.5): bytes a handler streams or
    a file it names after one would be read as the next response on the connection."""
    with Conn(feat.port) as c:
        c.send(build_request("GET", f"{path}?s={status}") + build_request("GET", "/items/special", [("Connection", "close")]))
        data, closed = c.read_until_close(timeout=5)
    assert closed, data
    (first, second), rest = parse_all(data)
    assert first.status == status, first
    assert first.body == b"" and first.header("content-length") is None, first
    assert first.header("transfer-encoding") is None, first
    assert second.status == 200 and second.body == b"exact", second
    assert rest == b"", rest


def test_stream_http10_close_delimited(feat):
    with Conn(feat.port) as c:
        c.send(build_request("GET", "/stream?n=5", version="HTTP/1.0", host=None))
        data, closed = c.read_until_close(timeout=5)
    assert closed, data[:200]
    (r,), rest = parse_all(data)
    assert r.status == 200 and not r.chunked, r
    assert r.body == _stream_expected(5)


def test_file_response(feat, feat_dir):
    content = (feat_dir / "served.bin").read_bytes()
    with Conn(feat.port) as c:
        for _ in range(2):
            r = c.request("GET", "/file", timeout=10)
            assert r.status == 200, r
            assert r.header("content-length") == str(len(content)), r
            assert r.header("content-type") == "application/octet-stream", r
            assert r.body == content
        r = c.request("GET", "/items/special")
        assert r.body == b"exact", r


def test_interim_status_refused(feat):
    """A 1xx status is not a final response (h11 refuses one too): every way of answering
    with one returns GRAFT_EINVAL and sends nothing, so the handler's 200 is what the client
    gets, and the keep-alive connection stays in step."""
    einval = -22
    want = " ".join(f"{s}:{einval},{einval},{einval},{einval},{einval}" for s in (100, 101, 103, 199))
    with Conn(feat.port) as c:
        for _ in range(2):
            r = c.request("GET", "/interim")
            assert r.status == 200, r
            assert r.body.decode().strip() == want, r
        r = c.request("GET", "/items/special")
        assert r.status == 200 and r.body == b"exact", r


def test_file_head_and_missing(feat, feat_dir):
    size = (feat_dir / "served.bin").stat().st_size
    with Conn(feat.port) as c:
        h = c.request("HEAD", "/file")
        assert h.status == 200 and h.header("content-length") == str(size), h
        r = c.request("GET", "/items/special")
        assert r.body == b"exact", (r, c.buf[:100])
    r = get(feat, "/file-missing")
    assert r.status == 404, r


# ---------------------------------------------------------------------------
# GRAFT_ROUTE_BLOCKING and later answers
# ---------------------------------------------------------------------------

def test_blocking_routes_do_not_block_io_threads(feat):
    conns = [Conn(feat.port, timeout=5) for _ in range(4)]
    try:
        t0 = time.monotonic()
        for c in conns:
            c.send(build_request("GET", "/slow"))
        time.sleep(0.05)
        timings = []
        for i in range(10):
            s = time.monotonic()
            r = request(feat.port, "GET", f"/items/{i}", timeout=2)
            timings.append(time.monotonic() - s)
            assert r.body == f"param:{i}".encode(), r
        assert max(timings) < FAST, f"native requests while 4 blocking ran (ms): " \
                                    f"{[round(t * 1000, 1) for t in timings]}"
        for c in conns:
            r = c.read_response(timeout=5)
            assert r.status == 200 and r.body == b"slow", r
        total = time.monotonic() - t0
    finally:
        for c in conns:
            c.close()
    assert total >= 0.3, total
    assert total < 1.0, f"4 blocking 300 ms handlers took {total:.2f}s: they did not run in parallel"


def test_async_answer_from_another_thread(feat):
    t0 = time.monotonic()
    r = get(feat, "/async")
    dt = time.monotonic() - t0
    assert r.status == 200 and r.body == b"async-ok", r
    assert dt >= 0.1, dt


def test_async_answer_pipelined_keeps_order(feat):
    reqs = [("GET", "/async"), ("GET", "/items/special"), ("GET", "/async"), ("GET", "/py")]
    with Conn(feat.port) as c:
        c.send(b"".join(build_request(m, p) for m, p in reqs))
        got = [c.read_response(timeout=5) for _ in reqs]
    assert [r.body for r in got[:3]] == [b"async-ok", b"exact", b"async-ok"], got
    assert got[3].json() == {"from": "python"}, got


def test_many_async_answers_concurrently(feat):
    conns = [Conn(feat.port, timeout=5) for _ in range(20)]
    try:
        t0 = time.monotonic()
        for c in conns:
            c.send(build_request("GET", "/async"))
        for c in conns:
            r = c.read_response(timeout=5)
            assert r.status == 200 and r.body == b"async-ok", r
        assert time.monotonic() - t0 < 2.0
    finally:
        for c in conns:
            c.close()


def test_request_gone_after_client_disconnect(feat):
    before = get(feat, "/gone-count").json()
    c = Conn(feat.port)
    try:
        c.send(build_request("GET", "/gone-watch"))
        # graft_request_gone must stay 0 while the client is there (else the thread
        # would already have answered "too late").
        assert c.recv_for(0.3) == b"", c.buf
    finally:
        c.close()

    def observed():
        now = get(feat, "/gone-count").json()
        return now if now["finished"] > before["finished"] else None

    now = wait_for(observed, timeout=4, interval=0.05)
    assert now, f"the watching thread never finished: {get(feat, '/gone-count').json()} (before {before})"
    assert now["seen"] == before["seen"] + 1, f"graft_request_gone never reported the disconnect: {now}"
    # answering a request whose client is gone must not hurt the server
    assert get(feat, "/items/special").body == b"exact"


# ---------------------------------------------------------------------------
# library state, thread state
# ---------------------------------------------------------------------------

def test_library_state_and_config(feat, feat_dir):
    r = get(feat, "/state")
    body = r.json()
    assert body["same"] is True, body
    assert body["config"] == str(feat_dir), body
    assert body["requests"] >= 1, body


def test_thread_state_per_thread(feat):
    seen = []
    for _ in range(24):  # fresh connections, over the 2 I/O threads' epoll sets
        b = get(feat, "/tstate").json()
        assert b["same_again"] is True, b
        assert isinstance(b["mine"], int), b
        seen.append(b)
    created = seen[-1]["created"]
    # Handlers run on whichever thread polls: the event loop's, or an I/O thread that took
    # over while the loop was busy. Never one state per request.
    assert 1 <= created <= 3, f"{created} thread states for the loop + 2 I/O threads: {seen}"
    # states persist across requests on a thread (not created per request)
    assert sum(1 for b in seen if b["mine"] > 1) >= 20, seen


def test_library_state_destroyed_at_shutdown(native_libs, tmp_path):
    marker = tmp_path / "destroyed"
    s = start_graft(["--native", f"{native_libs['features']}?{tmp_path}"])
    try:
        for _ in range(3):
            assert get(s, "/items/special").body == b"exact"
        assert get(s, "/state").json()["config"] == str(tmp_path)
        assert get(s, "/tstate").json()["mine"] == 1
        assert not marker.exists(), "destroy ran before shutdown"
    finally:
        rc = s.stop(signal.SIGTERM, timeout=10)
        out = s.output()
        s.cleanup()
    assert rc == 0, f"graft exited with {rc} after SIGTERM\n{out}"
    assert marker.exists(), f"library state destructor did not run at shutdown\n{out}"
    text = marker.read_text()
    assert text.startswith("destroyed requests="), text
    fields = dict(kv.split("=") for kv in text.split()[1:])
    assert int(fields["requests"]) >= 5, text
    # Every thread state was destroyed before the library state, including the one of the
    # event loop's thread, which polled the connections itself and outlives the server.
    freed, created = map(int, fields["thread_states"].split("/"))
    assert created >= 1 and freed == created, text


# ---------------------------------------------------------------------------
# JSON writer
# ---------------------------------------------------------------------------

DOUBLES = [10.0, 9.99, 1e-05, 1e+16, 0.1, 1.5, 0.0001, 123.456, 1e22, 5e-324,
           1.7976931348623157e308, -2.5, 0.0, 1e15, 3.0e-7]


def test_json_writer(feat):
    r = get(feat, "/json")
    assert r.status == 200, r
    assert r.header("content-type") == "application/json", r
    raw = r.body
    doc = json.loads(raw)
    assert doc == {
        "quote": 'a"b',
        "backslash": "a\\b",
        "controls": "\x01\n\t\r\b\f\x1f",
        "nul": "a\x00b",
        "unicode": "héllo ☃ 😀",
        "empty": "",
        'ke"y\\': 1,
        "doubles": DOUBLES,
        "nonfinite": [None, None, None],
        "ints": [0, -42, 2**63 - 1, -2**63],
        "atoms": [True, False, None],
        "nested": {"a": [{}, [], {"b": [1]}]},
    }, raw
    # doubles round-trip exactly and are written as Python writes them
    for got, want in zip(doc["doubles"], DOUBLES):
        assert got == want and math.copysign(1, got) == math.copysign(1, want), (got, want)
    expected_numbers = "[" + ",".join(json.dumps(x) for x in DOUBLES) + "]"
    assert f'"doubles":{expected_numbers}'.encode() in raw, raw
    for text in ("10.0", "9.99", "1e-05", "1e+16"):
        assert text.encode() in raw, (text, raw)
    # UTF-8 passes through unescaped; control characters never appear raw
    assert "héllo ☃ 😀".encode() in raw, raw
    assert not any(b < 0x20 for b in raw), raw
    assert b"\\u0001" in raw and b"\\u0000" in raw and b"\\u001f" in raw, raw


def _utf8_cases() -> list[bytes]:
    """Byte strings around every UTF-8 decision: each byte alone, every lead byte before
    every second byte, three- and four-byte sequences at their range edges (overlongs,
    surrogates, above U+10FFFF, truncated), and random mixes of valid and broken pieces."""
    cases = [bytes([b]) for b in range(256)]
    cases += [bytes([a, b]) for a in range(0x80, 0x100) for b in range(256)]
    edges = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xE0, 0xF0, 0xFF]
    leads = [0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF8]
    cases += [bytes([a, b, c]) for a in leads for b in edges for c in edges]
    cases += [bytes([a, b, c, d, 0x22]) for a in (0xF0, 0xF1, 0xF4, 0xF5) for b in (0x8F, 0x90, 0xBF)
              for c in (0x80, 0xBF, 0x41) for d in (0x80, 0xBF, 0x5C, 0xE0)]
    rnd = random.Random(20261205)
    pieces = [lambda: bytes([rnd.randrange(0x20, 0x7F)]),
              lambda: bytes([rnd.randrange(0, 0x20)]),
              lambda: rnd.choice([b'"', b"\\", b"\x7f"]),
              lambda: chr(rnd.choice([rnd.randrange(0x80, 0x800), rnd.randrange(0x800, 0xD800),
                                      rnd.randrange(0xE000, 0x10000),
                                      rnd.randrange(0x10000, 0x110000)])).encode(),
              lambda: chr(rnd.randrange(0x80, 0x110000)).encode("utf-8", "surrogatepass")[:-1],
              lambda: chr(rnd.randrange(0xD800, 0xE000)).encode("utf-8", "surrogatepass"),
              lambda: bytes([rnd.randrange(0x80, 0x100)]),
              lambda: bytes([rnd.randrange(0xF5, 0x100), rnd.randrange(0x80, 0xC0)])]
    for _ in range(4000):
        cases.append(b"".join(rnd.choice(pieces)() for _ in range(rnd.randrange(0, 24))))
    return cases


def test_json_string_invalid_utf8_replaced_like_python(feat):
    """graft_json_string writes each invalid UTF-8 sequence as one U+FFFD, exactly as
    Python's bytes.decode("utf-8", errors="replace") does; the output equals
    json.dumps(..., ensure_ascii=False) of that decoding, byte for byte."""
    cases = _utf8_cases()
    with Conn(feat.port) as c:
        i = 0
        while i < len(cases):
            batch, size = [], 0
            while i < len(cases) and size + 2 + len(cases[i]) < BODY_LIMIT:
                batch.append(cases[i])
                size += 2 + len(cases[i])
                i += 1
            body = b"".join(len(x).to_bytes(2, "big") + x for x in batch)
            r = c.request("POST", "/json-strings", body=body, timeout=10)
            assert r.status == 200, r
            want = json.dumps([x.decode("utf-8", "replace") for x in batch], ensure_ascii=False,
                              separators=(",", ":")).encode()
            if r.body != want:
                at = next((k for k, (a, b) in enumerate(zip(r.body, want)) if a != b),
                          min(len(r.body), len(want)))
                pytest.fail(f"graft wrote {r.body[max(0, at - 30):at + 30]!r} where Python "
                            f"writes {want[max(0, at - 30):at + 30]!r} (offset {at})")
