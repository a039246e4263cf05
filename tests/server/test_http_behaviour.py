"""HTTP/1.1 behaviour of the server with raw ASGI apps (tests/apps/raw_apps.py):
connection management, framing, the ASGI scope and messages, and the
command-line limits/timeouts."""

from __future__ import annotations

import email.utils
import os
import re
import socket
import time
import uuid

import pytest

from util import (
    EXPECTED_SERVER_HEADER,
    IMPL,
    Conn,
    build_request,
    exchange,
    parse_all,
    request,
)

HELLO = b"Hello, world!"
APPS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "apps")


def get_log(server, key: str):
    return server.get_json(f"/__log?key={key}")


def wait_log(server, key: str, pred, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        v = get_log(server, key)
        if pred(v) or time.monotonic() > deadline:
            return v
        time.sleep(0.05)


def assert_alive(server):
    r = server.request("GET", "/hello")
    assert r.status == 200 and r.body == HELLO, r


# ---------------------------------------------------------------------------
# connection management
# ---------------------------------------------------------------------------

def test_keep_alive_several_requests(raw_server):
    with Conn(raw_server.port) as c:
        for i in range(5):
            r = c.request("GET", f"/echo/{i}")
            assert r.status == 200
            assert r.json()["path"] == f"/echo/{i}"
            assert not r.connection_close(), r
        assert not c.wait_closed(0.3), "server closed a keep-alive connection"


def test_client_addr_stable_on_keep_alive(raw_server):
    with Conn(raw_server.port) as c:
        a = c.request("GET", "/echo").json()["client"]
        b = c.request("GET", "/echo").json()["client"]
        assert a == b == ["127.0.0.1", c.sock.getsockname()[1]]


def test_pipelining_in_order(raw_server):
    reqs = [
        build_request("GET", "/echo/1"),
        build_request("POST", "/echo-body", body=b"body-two"),
        build_request("GET", "/hello"),
        build_request("POST", "/echo-body", [("Transfer-Encoding", "chunked")],
                      body=b"4\r\nbody\r\n6\r\n-four!\r\n0\r\n\r\n"),
        build_request("GET", "/echo/5", [("Connection", "close")]),
    ]
    ex = exchange(raw_server.port, b"".join(reqs), timeout=5)
    resps, rest = parse_all(ex.data)
    assert rest == b""
    assert [r.status for r in resps] == [200] * 5, resps
    assert resps[0].json()["path"] == "/echo/1"
    assert resps[1].body == b"body-two"
    assert resps[2].body == HELLO
    assert resps[3].body == b"body-four!"
    assert resps[4].json()["path"] == "/echo/5"
    assert ex.closed


def test_pipelining_many_small(raw_server):
    n = 50
    data = b"".join(build_request("GET", f"/echo/{i}") for i in range(n)) \
        + build_request("GET", "/hello", [("Connection", "close")])
    ex = exchange(raw_server.port, data, timeout=10)
    resps, rest = parse_all(ex.data)
    assert rest == b"" and len(resps) == n + 1
    assert [r.json()["path"] for r in resps[:n]] == [f"/echo/{i}" for i in range(n)]


def test_content_length_zero_then_next_request(raw_server):
    data = (b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
            b"GET /echo/second HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    ex = exchange(raw_server.port, data)
    resps, rest = parse_all(ex.data)
    assert [r.json()["path"] for r in resps] == ["/echo", "/echo/second"]
    assert resps[0].json()["body"] == ""


def test_unread_body_is_not_parsed_as_a_request(raw_server):
    """/noread answers without reading a body that looks like a request: the
    server must drain it (then serve the real next request) or close."""
    fake = b"GET /smuggled-in-body HTTP/1.1\r\nHost: t\r\n\r\n"
    data = (b"POST /noread HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(fake) + fake
            + b"GET /echo/after-noread HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    ex = exchange(raw_server.port, data)
    resps, rest = parse_all(ex.data)
    assert rest == b""
    assert resps[0].status == 200 and resps[0].body == b"noread"
    if len(resps) == 1:
        assert ex.closed
    else:
        assert len(resps) == 2 and resps[1].json()["path"] == "/echo/after-noread"
    assert "/smuggled-in-body" not in raw_server.get_json("/__seen")


def test_unread_chunked_body_is_not_parsed_as_a_request(raw_server):
    fake = b"GET /smuggled-in-chunks HTTP/1.1\r\nHost: t\r\n\r\n"
    body = b"%x\r\n" % len(fake) + fake + b"\r\n0\r\n\r\n"
    data = (b"POST /noread HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + body
            + b"GET /echo/after-noread2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    ex = exchange(raw_server.port, data)
    resps, rest = parse_all(ex.data)
    assert rest == b"" and resps[0].body == b"noread"
    if len(resps) == 1:
        assert ex.closed
    else:
        assert len(resps) == 2 and resps[1].json()["path"] == "/echo/after-noread2"
    assert "/smuggled-in-chunks" not in raw_server.get_json("/__seen")


def test_connection_close_honoured(raw_server):
    with Conn(raw_server.port) as c:
        r = c.request("GET", "/hello", [("Connection", "close")])
        assert r.status == 200 and r.body == HELLO
        assert r.connection_close()
        assert c.wait_closed(3)


# ---------------------------------------------------------------------------
# HTTP/1.0
# ---------------------------------------------------------------------------

def test_http10_content_length_and_close(raw_server):
    ex = exchange(raw_server.port, b"GET /hello HTTP/1.0\r\n\r\n")
    resps, rest = parse_all(ex.data)
    assert len(resps) == 1 and rest == b""
    r = resps[0]
    assert r.status == 200 and r.body == HELLO
    assert r.header("content-length") == "13"
    assert not r.has("transfer-encoding")
    assert ex.closed


def test_http10_streaming_is_close_delimited(raw_server):
    ex = exchange(raw_server.port, b"GET /stream?n=4 HTTP/1.0\r\n\r\n")
    assert ex.closed
    resps, rest = parse_all(ex.data)
    r = resps[0]
    assert r.status == 200
    assert not r.has("transfer-encoding"), r
    assert not r.chunked
    assert r.body == b"chunk0\nchunk1\nchunk2\nchunk3\n", r


def test_streamed_chunks_leave_while_the_app_waits(raw_server):
    """Chunks sent from a child task reach the client while the app awaits something
    else, not when the response ends: the client here must see them to let it end."""
    key = uuid.uuid4().hex
    with Conn(raw_server.port, timeout=10) as c:
        c.send(build_request("GET", f"/stream-gated?key={key}"))
        deadline = time.monotonic() + 5
        while b"second-" not in c.buf and time.monotonic() < deadline:
            if not c._recv_some(deadline):
                break
        assert b"first-" in c.buf and b"second-" in c.buf, c.buf
        assert b"last" not in c.buf, c.buf
        assert request(raw_server.port, "GET", f"/open-gate?key={key}").body == b"opened"
        r = c.read_response()
        assert r.status == 200 and r.chunked, r
        assert r.body == b"first-second-last", r


def test_http10_scope_version(raw_server):
    ex = exchange(raw_server.port, b"GET /echo HTTP/1.0\r\nHost: t\r\n\r\n")
    resps, _ = parse_all(ex.data)
    assert resps[0].json()["http_version"] == "1.0"


def test_http10_keep_alive_requested(raw_server):
    """A keep-alive HTTP/1.0 request: either the server keeps the connection
    (and says so with Connection: keep-alive) and serves a second request, or
    it closes it; never a chunked response."""
    with Conn(raw_server.port) as c:
        c.send(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and r.body == HELLO and not r.has("transfer-encoding")
        keep = any(v.lower() == "keep-alive" for v in r.header_all("connection"))
        if keep:
            assert not c.wait_closed(0.3)
            c.send(b"GET /stream?n=2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            data, closed = c.read_until_close(3)
            resps, _ = parse_all(data)
            assert not resps[0].has("transfer-encoding") and resps[0].body == b"chunk0\nchunk1\n"
            assert closed, "an HTTP/1.0 close-delimited response must end with a close"
        else:
            assert c.wait_closed(3)


# ---------------------------------------------------------------------------
# request bodies
# ---------------------------------------------------------------------------

def test_content_length_body(raw_server):
    r = raw_server.request("POST", "/echo", body=b"hello body")
    j = r.json()
    assert j["body"] == "hello body" and j["body_len"] == 10
    assert ["content-length", "10"] in j["headers"]


def test_chunked_body_with_extensions_and_trailers(raw_server):
    body = (b"5;ext=1\r\nhello\r\n1;a=\"b c\";d\r\n \r\n5\r\nworld\r\n"
            b"0;last=yes\r\nX-Trailer: one\r\nX-Trailer-2: two\r\n\r\n")
    data = build_request("POST", "/echo", [("Transfer-Encoding", "chunked"), ("Connection", "close")], body)
    ex = exchange(raw_server.port, data)
    resps, rest = parse_all(ex.data)
    assert rest == b""
    j = resps[0].json()
    assert j["body"] == "hello world"


def test_chunked_body_split_across_writes(raw_server):
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    head = build_request("POST", "/echo-body", [("Transfer-Encoding", "chunked"), ("Connection", "close")])
    with Conn(raw_server.port) as c:
        c.send(head)
        for i in range(len(body)):
            c.send(body[i:i + 1])
            time.sleep(0.002)
        r = c.read_response()
    assert r.status == 200 and r.body == b"hello world"


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_large_body_round_trip(raw_server, framing):
    payload = os.urandom(1 << 20)
    if framing == "chunked":
        step = 65536
        body = b"".join(b"%x\r\n" % len(payload[i:i + step]) + payload[i:i + step] + b"\r\n"
                        for i in range(0, len(payload), step)) + b"0\r\n\r\n"
        data = build_request("POST", "/echo-body", [("Transfer-Encoding", "chunked"), ("Connection", "close")],
                             body)
    else:
        data = build_request("POST", "/echo-body", [("Connection", "close")], payload)
    with Conn(raw_server.port, timeout=20) as c:
        c.send(data)
        r = c.read_response(timeout=20)
    assert r.status == 200
    assert len(r.body) == len(payload) and r.body == payload


# ---------------------------------------------------------------------------
# Expect: 100-continue
# ---------------------------------------------------------------------------

def test_100_continue_sent_only_when_app_reads(raw_server):
    with Conn(raw_server.port) as c:
        c.send(build_request("POST", "/expect?delay=1.0",
                             [("Expect", "100-continue"), ("Content-Length", "5"), ("Connection", "close")]))
        early = c.recv_for(0.5)
        assert early == b"", f"server answered before the app called receive(): {early!r}"
        interim = c.read_response(timeout=5)
        assert interim.status == 100, interim
        c.send(b"hello")
        final = c.read_response(timeout=5)
    assert final.status == 200
    assert final.json()["body"] == "hello"


def test_100_continue_not_sent_if_app_never_reads(raw_server):
    with Conn(raw_server.port) as c:
        c.send(build_request("POST", "/expect?read=0",
                             [("Expect", "100-continue"), ("Content-Length", "5"), ("Connection", "close")]))
        r = c.read_response(timeout=5)
        assert r.status == 200, f"expected the final response, no 100 Continue: {r}"
        assert r.json()["receive_calls"] == 0


def test_100_continue_body_sent_without_waiting(raw_server):
    with Conn(raw_server.port) as c:
        c.send(build_request("POST", "/expect", [("Expect", "100-continue"), ("Connection", "close")],
                             body=b"eager"))
        r = c.read_response()
        if r.status == 100:
            r = c.read_response()
    assert r.status == 200 and r.json()["body"] == "eager"


# ---------------------------------------------------------------------------
# response framing
# ---------------------------------------------------------------------------

def test_head_keeps_content_length_no_body(raw_server):
    data = build_request("HEAD", "/hello") + build_request("GET", "/hello", [("Connection", "close")])
    ex = exchange(raw_server.port, data)
    resps, rest = parse_all(ex.data, methods=["HEAD", "GET"])
    assert rest == b"", f"stray bytes after HEAD response: {ex.data!r}"
    assert len(resps) == 2
    head, get = resps
    assert head.status == 200 and head.header("content-length") == "13"
    assert get.status == 200 and get.body == HELLO


def test_head_streaming_app_no_body_no_chunks(raw_server):
    data = build_request("HEAD", "/stream") + build_request("GET", "/hello", [("Connection", "close")])
    ex = exchange(raw_server.port, data)
    resps, rest = parse_all(ex.data, methods=["HEAD", "GET"])
    assert rest == b"" and len(resps) == 2, ex.data
    assert resps[0].status == 200
    assert resps[1].body == HELLO


@pytest.mark.parametrize("code", [204, 304])
def test_no_body_statuses(raw_server, code):
    data = build_request("GET", f"/status/{code}") + build_request("GET", "/hello", [("Connection", "close")])
    ex = exchange(raw_server.port, data)
    resps, rest = parse_all(ex.data)
    assert rest == b"" and len(resps) == 2, ex.data
    r = resps[0]
    assert r.status == code
    assert not r.has("transfer-encoding"), r
    if code == 204:
        assert not r.has("content-length"), r
    assert resps[1].body == HELLO


def test_chunked_response_without_content_length(raw_server):
    r = raw_server.request("GET", "/stream?n=3")
    assert r.status == 200
    assert r.header("transfer-encoding") == "chunked"
    assert not r.has("content-length")
    assert r.chunked and r.complete and r.body == b"chunk0\nchunk1\nchunk2\n"


def test_app_transfer_encoding_header_ignored(raw_server):
    data = build_request("GET", "/app-te") + build_request("GET", "/hello", [("Connection", "close")])
    ex = exchange(raw_server.port, data)
    resps, rest = parse_all(ex.data)
    assert rest == b"" and len(resps) == 2, ex.data
    r = resps[0]
    assert r.body == b"part1-part2" and r.complete
    te = [t.strip().lower() for v in r.header_all("transfer-encoding") for t in v.split(",")]
    assert te in ([], ["chunked"]), r.headers
    assert resps[1].body == HELLO


def test_app_transfer_encoding_header_http10(raw_server):
    ex = exchange(raw_server.port, b"GET /app-te HTTP/1.0\r\n\r\n")
    assert ex.closed
    resps, rest = parse_all(ex.data)
    assert len(resps) == 1 and rest == b""
    assert not resps[0].has("transfer-encoding") and resps[0].body == b"part1-part2", resps[0]


def test_response_header_names_lowercased_order_kept(raw_server):
    ex = exchange(raw_server.port, build_request("GET", "/headers-case", [("Connection", "close")]))
    head = ex.data.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nx-mixed: Value With Caps\r\n" in head, head
    resps, _ = parse_all(ex.data)
    assert resps[0].header_all("set-cookie") == ["a=1", "b=2"]
    assert resps[0].body == b"ok"


def test_large_streamed_response_slow_reader(raw_server):
    """8 MiB streamed to a client that reads slowly at first (write back-pressure)."""
    mb = 8
    with Conn(raw_server.port, timeout=30) as c:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        c.send(build_request("GET", f"/bigresp?mb={mb}", [("Connection", "close")]))
        time.sleep(0.5)
        for _ in range(20):
            c.recv_for(0.01)
            time.sleep(0.02)
        r = c.read_response(timeout=30)
    assert r.status == 200 and len(r.body) == mb << 20
    pattern = bytes(i % 251 for i in range(251 * 1024))
    reps = (len(r.body) // len(pattern)) + 1
    assert r.body == (pattern * reps)[:len(r.body)]


def test_many_concurrent_connections(raw_server):
    conns = [Conn(raw_server.port, timeout=10) for _ in range(200)]
    try:
        for c in conns:
            c.send(build_request("GET", "/hello"))
        for c in conns:
            r = c.read_response(timeout=10)
            assert r.status == 200 and r.body == HELLO
        # and every connection is still usable
        for c in conns[::20]:
            assert c.request("GET", "/hello").body == HELLO
    finally:
        for c in conns:
            c.close()


def test_date_header(raw_server):
    r = raw_server.request("GET", "/hello")
    dates = r.header_all("date")
    assert len(dates) == 1, r.headers
    assert re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                        r"\d{4} \d\d:\d\d:\d\d GMT", dates[0]), dates[0]
    ts = email.utils.parsedate_to_datetime(dates[0]).timestamp()
    assert abs(ts - time.time()) < 5


def test_server_header_default(raw_server):
    r = raw_server.request("GET", "/hello")
    assert r.header_all("server") == [EXPECTED_SERVER_HEADER], r.headers


def test_no_server_header_and_extra_header(server_factory):
    s = server_factory("raw_apps:app", ["--no-server-header", "--header", "X-Extra:yes",
                                        "--header", "X-Other: two"])
    r = s.request("GET", "/hello")
    assert r.status == 200
    assert not r.has("server"), r.headers
    assert r.header("x-extra") == "yes"
    assert r.header("x-other") == "two"
    assert r.has("date")


# ---------------------------------------------------------------------------
# app errors
# ---------------------------------------------------------------------------

INVALID_BEFORE_START = ["status-str", "header-crlf", "header-lf", "header-nul", "header-name-space",
                        "header-name-colon", "headers-str", "unknown-type", "body-before-start",
                        "missing-status"]


@pytest.mark.parametrize("kind", INVALID_BEFORE_START)
def test_invalid_message_raises_and_500(raw_server, kind):
    key = f"inv-{kind}-{time.monotonic_ns()}"
    ex = exchange(raw_server.port, build_request("GET", f"/invalid?kind={kind}&key={key}"))
    resps, rest = parse_all(ex.data)
    assert len(resps) == 1 and rest == b"", ex.data
    r = resps[0]
    assert r.status == 500, r
    assert b"x-injected" not in ex.data.lower()
    assert ex.closed
    log = get_log(raw_server, key)
    assert len(log) == 1 and log[0].get("index") == 0 and "raised" in log[0], log
    assert_alive(raw_server)


@pytest.mark.skipif(IMPL != "graft", reason="uvicorn's default httptools protocol sends a 1xx as "
                    "final; its h11 protocol refuses it as graft does")
@pytest.mark.parametrize("code", [100, 101, 103, 199])
def test_interim_status_raises_and_500(raw_server, code):
    """http.response.start with a 1xx status: send() raises (as h11 does), the client gets a
    500, never a 1xx posing as the final response on a kept-alive connection."""
    key = f"inv-1xx-{code}-{time.monotonic_ns()}"
    data = build_request("GET", f"/invalid?kind=status-{code}&key={key}") + build_request("GET", "/hello")
    ex = exchange(raw_server.port, data)
    resps, rest = parse_all(ex.data)
    assert len(resps) == 1 and rest == b"", ex.data
    assert resps[0].status == 500, resps[0]
    assert ex.closed
    log = get_log(raw_server, key)
    assert log == [{"raised": "ValueError", "index": 0}], log
    assert_alive(raw_server)


@pytest.mark.parametrize("kind", ["body-str", "start-twice"])
def test_invalid_message_after_start(raw_server, kind):
    key = f"inv-{kind}-{time.monotonic_ns()}"
    ex = exchange(raw_server.port, build_request("GET", f"/invalid?kind={kind}&key={key}"))
    assert ex.closed
    resps, _ = parse_all(ex.data)
    log = get_log(raw_server, key)
    assert log[-1].get("index") == 1 and "raised" in log[-1], log
    # Either the server delayed the start and turned it into a 500, or the
    # connection was closed with an incomplete response.
    assert len(resps) <= 1
    if resps:
        assert resps[0].status == 500 or not resps[0].complete, resps[0]
    assert_alive(raw_server)


def test_extra_keys_do_not_raise(raw_server):
    r = raw_server.request("GET", "/extra-keys")
    assert r.status == 200 and r.body == b"ok"


def test_exception_before_start_500(raw_server):
    with Conn(raw_server.port) as c:
        r = c.request("GET", "/error-before")
        assert r.status == 500
        assert r.body == b"Internal Server Error"
        assert r.header("content-type") == "text/plain; charset=utf-8"
        assert r.connection_close()
        assert c.wait_closed(3)
    assert_alive(raw_server)


@pytest.mark.parametrize("path", ["/error-after", "/error-after-chunked"])
def test_exception_after_start_closes(raw_server, path):
    with Conn(raw_server.port) as c:
        c.send(build_request("GET", path))
        data, closed = c.read_until_close(5)
    assert closed
    resps, _ = parse_all(data)
    assert len(resps) == 1
    assert resps[0].status == 200 and not resps[0].complete, resps[0]
    assert resps[0].body.startswith(b"partial") or resps[0].body == b""
    assert_alive(raw_server)


def test_no_response_500(raw_server):
    r = raw_server.request("GET", "/no-response")
    assert r.status == 500
    assert_alive(raw_server)


def test_content_length_short_closes(raw_server):
    with Conn(raw_server.port) as c:
        c.send(build_request("GET", "/cl-short"))
        data, closed = c.read_until_close(5)
    assert closed
    resps, _ = parse_all(data)
    assert len(resps) == 1 and not resps[0].complete, data
    assert_alive(raw_server)


def test_content_length_long_closes(raw_server):
    with Conn(raw_server.port) as c:
        c.send(build_request("GET", "/cl-long") + build_request("GET", "/hello"))
        data, closed = c.read_until_close(5)
    assert closed
    assert data.count(b"HTTP/1.1 ") <= 1, "the pipelined request was served after the broken response"
    if data.startswith(b"HTTP/1.1 500 "):
        # the server held back the start and turned the error into a 500
        resps, rest = parse_all(data)
        assert len(resps) == 1 and resps[0].complete and rest == b""
    elif data:
        # the declared 5 bytes of body at most may reach the wire, then the close
        head_end = data.find(b"\r\n\r\n")
        assert data.startswith(b"HTTP/1.1 200 ") and head_end >= 0, data
        assert len(data) - (head_end + 4) <= 5, data
    assert_alive(raw_server)


# ---------------------------------------------------------------------------
# scope
# ---------------------------------------------------------------------------

def test_scope_fields(raw_server):
    with Conn(raw_server.port) as c:
        r = c.request("GET", "/echo/caf%C3%A9/a%2Fb?x=%41&y=caf%C3%A9&z",
                      [("X-Dup", "1"), ("X-Other", "MiXeD Value"), ("X-DUP", "2")])
        local_port = c.sock.getsockname()[1]
    assert r.status == 200
    j = r.json()
    assert j["type"] == "http"
    assert j["asgi"]["version"] == "3.0"
    assert re.fullmatch(r"2\.\d+", j["asgi"].get("spec_version", "")), j["asgi"]
    assert j["method"] == "GET"
    assert j["path"] == "/echo/café/a/b"
    assert j["raw_path"] == "/echo/caf%C3%A9/a%2Fb"
    assert j["query_string"] == "x=%41&y=caf%C3%A9&z"
    assert j["headers"] == [["host", "t"], ["x-dup", "1"], ["x-other", "MiXeD Value"], ["x-dup", "2"]]
    assert j["headers_types"] == ["bytes,bytes"]
    assert j["http_version"] == "1.1"
    assert j["scheme"] == "http"
    assert j["root_path"] == ""
    assert j["client"] == ["127.0.0.1", local_port]
    assert j["server"] == ["127.0.0.1", raw_server.port]
    assert j["has_state"] is True


def test_scope_method_and_empty_query(raw_server):
    r = raw_server.request("PUT", "/echo?", body=b"x")
    j = r.json()
    assert j["method"] == "PUT" and j["query_string"] == "" and j["path"] == "/echo"


def test_root_path(server_factory):
    s = server_factory("raw_apps:app", ["--root-path", "/api"])
    j = s.request("GET", "/echo/x?q=1").json()
    assert j["root_path"] == "/api"
    assert j["path"] == "/api/echo/x"
    assert j["raw_path"] in ("/api/echo/x", "/echo/x")
    assert j["query_string"] == "q=1"


def test_lifespan_state_is_shallow_copy(raw_server):
    first = raw_server.get_json("/state")
    assert first["present"]
    assert first["state"]["x"] == repr("from-lifespan")
    second = raw_server.get_json("/state")
    assert second["state"]["x"] == repr("from-lifespan"), "state mutation leaked between requests"
    assert "mutated_by_request" not in second["state"]


def test_http_disconnect_when_client_goes_away(raw_server):
    key = f"disc-{time.monotonic_ns()}"
    c = Conn(raw_server.port)
    c.send(build_request("GET", f"/wait-disconnect?key={key}"))
    assert wait_log(raw_server, key, lambda v: "body-read" in v) == ["body-read"]
    c.close()
    log = wait_log(raw_server, key, lambda v: len(v) >= 2, timeout=5)
    assert log == ["body-read", "http.disconnect"], log


def test_http_disconnect_remembered_while_app_sleeps(raw_server):
    key = f"disc-sleep-{time.monotonic_ns()}"
    c = Conn(raw_server.port)
    c.send(build_request("GET", f"/wait-disconnect?key={key}&sleep=1"))
    assert wait_log(raw_server, key, lambda v: "body-read" in v) == ["body-read"]
    c.close()
    log = wait_log(raw_server, key, lambda v: len(v) >= 3, timeout=5)
    assert log == ["body-read", "slept", "http.disconnect"], log


def test_receive_after_response_complete_is_disconnect(raw_server):
    key = f"after-{time.monotonic_ns()}"
    with Conn(raw_server.port) as c:
        r = c.request("GET", f"/after-complete?key={key}")
        assert r.status == 200 and r.body == b"done"
        log = wait_log(raw_server, key, lambda v: len(v) >= 1, timeout=5)
    assert log == ["http.disconnect"], log


def test_pathsend(server_factory):
    s = server_factory("raw_apps:app", ["--pathsend"])
    r = s.request("GET", "/pathsend")
    assert r.status == 200, r
    with open(os.path.join(APPS_DIR, "raw_apps.py"), "rb") as f:
        expected = f.read()
    assert r.body == expected
    assert r.header("content-length") == str(len(expected))
    j = s.request("GET", "/echo").json()
    assert "http.response.pathsend" in j["extensions"]


def test_pathsend_off_by_default(raw_server):
    """As uvicorn, which has no pathsend: not offered, and refused if sent anyway."""
    j = raw_server.request("GET", "/echo").json()
    assert j["extensions"] == []
    assert raw_server.request("GET", "/pathsend").status == 501


def test_pathsend_env(server_factory):
    s = server_factory("raw_apps:app", env={"GRAFT_PATHSEND": "1"})
    assert "http.response.pathsend" in s.request("GET", "/echo").json()["extensions"]


# ---------------------------------------------------------------------------
# timeouts and limits
# ---------------------------------------------------------------------------

def test_keep_alive_timeout(server_factory):
    s = server_factory("raw_apps:app", ["--timeout-keep-alive", "1"])
    with Conn(s.port) as c:
        r = c.request("GET", "/hello")
        assert r.status == 200
        assert not c.wait_closed(0.3), "closed long before the keep-alive timeout"
        t0 = time.monotonic()
        assert c.wait_closed(3), "idle keep-alive connection not closed within 3 s"
        assert time.monotonic() - t0 < 3


def test_keep_alive_timeout_rearmed_by_requests(server_factory):
    s = server_factory("raw_apps:app", ["--timeout-keep-alive", "1"])
    with Conn(s.port) as c:
        for _ in range(4):
            assert c.request("GET", "/hello").status == 200
            time.sleep(0.5)
        assert c.request("GET", "/hello").status == 200


def test_request_header_timeout_slowloris(server_factory):
    s = server_factory("raw_apps:app", ["--timeout-request-header", "1"])
    with Conn(s.port) as c:
        c.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n")
        t0 = time.monotonic()
        closed = False
        i = 0
        while time.monotonic() - t0 < 6:
            if not c.send(b"X-%d: y\r\n" % i):
                closed = True
                break
            i += 1
            if c.wait_closed(0.2):
                closed = True
                break
        elapsed = time.monotonic() - t0
        assert closed, "trickled header section was never timed out"
        assert elapsed < 5, elapsed
        if c.buf:
            resps, _ = parse_all(c.buf)
            assert resps and resps[0].status == 408, c.buf
    assert_alive(s)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_limit_request_body(server_factory, framing):
    s = server_factory("raw_apps:app", ["--limit-request-body", "100"])
    ok = s.request("POST", "/echo-body", body=b"a" * 100)
    assert ok.status == 200 and ok.body == b"a" * 100
    if framing == "chunked":
        body = b"".join(b"64\r\n" + b"a" * 100 + b"\r\n" for _ in range(10)) + b"0\r\n\r\n"
        data = build_request("POST", "/echo-body", [("Transfer-Encoding", "chunked")], body)
    else:
        data = build_request("POST", "/echo-body", body=b"a" * 1000)
    ex = exchange(s.port, data)
    resps, _ = parse_all(ex.data)
    assert len(resps) == 1 and resps[0].status == 413, ex.data
    assert ex.closed
    assert_alive(s)


def test_limit_concurrency(server_factory, tmp_path):
    s = server_factory("raw_apps:app", ["--limit-concurrency", "1"], env={"RAW_APPS_MARKER_DIR": str(tmp_path)})
    with Conn(s.port, timeout=10) as slow:
        slow.send(build_request("GET", "/sleep?t=2&mark=slow-started", [("Connection", "close")]))
        deadline = time.monotonic() + 5
        while not (tmp_path / "slow-started").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (tmp_path / "slow-started").exists(), f"slow request never reached the app: {slow.recv_for(0)!r}"
        ex = exchange(s.port, build_request("GET", "/hello"))
        resps, _ = parse_all(ex.data)
        assert len(resps) == 1, ex.data
        r = resps[0]
        assert r.status == 503, r
        assert r.body == b"Service Unavailable"
        assert r.connection_close()
        assert ex.closed
        first = slow.read_response(timeout=10)
        assert first.status == 200 and first.body == b"slept", first


def test_limit_max_requests(server_factory):
    # the readiness probe is request 1
    s = server_factory("raw_apps:app", ["--limit-max-requests", "3"])
    for _ in range(2):
        assert s.request("GET", "/hello").status == 200
    rc = s.wait(5)
    assert rc is not None, "server still running after --limit-max-requests"
    assert rc == 0, f"exit code {rc}\n{s.output()}"


# ---------------------------------------------------------------------------
# proxy headers
# ---------------------------------------------------------------------------

XFF = [("X-Forwarded-For", "5.6.7.8, 1.2.3.4"), ("X-Forwarded-Proto", "https")]


def test_proxy_headers_trusted_by_default(raw_server):
    j = raw_server.request("GET", "/echo", headers=XFF).json()
    assert j["client"][0] == "1.2.3.4"
    assert j["scheme"] == "https"


def test_proxy_headers_invalid_proto_ignored(raw_server):
    j = raw_server.request("GET", "/echo", headers=[("X-Forwarded-Proto", "ftp")]).json()
    assert j["scheme"] == "http"
    assert j["client"][0] == "127.0.0.1"


def test_proxy_headers_untrusted_peer(server_factory):
    s = server_factory("raw_apps:app", ["--forwarded-allow-ips", "10.0.0.1"])
    j = s.request("GET", "/echo", headers=XFF).json()
    assert j["client"][0] == "127.0.0.1" and j["scheme"] == "http"


def test_proxy_headers_disabled(server_factory):
    s = server_factory("raw_apps:app", ["--no-proxy-headers"])
    j = s.request("GET", "/echo", headers=XFF).json()
    assert j["client"][0] == "127.0.0.1" and j["scheme"] == "http"


def test_proxy_headers_trusted_networks(server_factory):
    # the peer (127.0.0.1) and 1.2.3.4 are inside trusted networks: the client is the next hop
    s = server_factory("raw_apps:app", ["--forwarded-allow-ips", "127.0.0.0/8,1.2.0.0/16"])
    j = s.request("GET", "/echo", headers=XFF).json()
    assert j["client"][0] == "5.6.7.8" and j["scheme"] == "https"
    # a network that holds neither the peer: nothing is trusted
    s2 = server_factory("raw_apps:app", ["--forwarded-allow-ips", "10.0.0.0/8"])
    j2 = s2.request("GET", "/echo", headers=XFF).json()
    assert j2["client"][0] == "127.0.0.1" and j2["scheme"] == "http"


def test_proxy_headers_trust_all(server_factory):
    s = server_factory("raw_apps:app", ["--forwarded-allow-ips", "*"])
    j = s.request("GET", "/echo", headers=XFF).json()
    assert j["client"][0] == "5.6.7.8" and j["scheme"] == "https"


# ---------------------------------------------------------------------------

def test_server_survives_everything(raw_server):
    assert_alive(raw_server)
    with Conn(raw_server.port) as c:
        for _ in range(3):
            assert c.request("GET", "/hello").body == HELLO
