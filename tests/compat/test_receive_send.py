"""receive() and send() as real frameworks and adapters use them (issue 13, items 1-3),
each test run under graft and under uvicorn to show the expectation is uvicorn's.

1. receive()/send() are coroutines: Flask under a2wsgi (which calls
   asyncio.run_coroutine_threadsafe(receive(), loop) from its WSGI thread) gets every body;
   create_task / ensure_future / run_coroutine_threadsafe accept them.
2. A cancelled receive() consumes nothing and poisons no other receive(): wait_for over a
   slow body, two waiting tasks, FastAPI's WebSocket heartbeat, sse-starlette's
   is_disconnected() loop.
3. Once the client has left, send() raises at once: Starlette's StreamingResponse (with and
   without BaseHTTPMiddleware) stops at the first chunk after the departure.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import uuid

import pytest

from rs_util import IMPLS, connect, read_head, serve
from util import Conn, build_request, parse_response

pytestmark = pytest.mark.parametrize("impl", IMPLS)


def post(port: int, path: str, body: bytes, ctype: str, *, pause: float = 0.0, timeout: float = 20.0):
    """POST on a fresh connection; with ``pause`` the head goes first and the body after it,
    so the app's receive() must wait for the body."""
    head = build_request("POST", path, [("Content-Type", ctype), ("Connection", "close")], body)
    split = len(head) - len(body)
    with Conn(port, timeout=timeout) as c:
        c.send(head[:split])
        if pause:
            time.sleep(pause)
        c.send(head[split:])
        return c.read_response("POST", timeout=timeout)


# -- 1. receive() and send() are coroutines ------------------------------------------------

def test_flask_a2wsgi_form_posts(impl):
    """20 small form posts sent at once and 20 whose body follows the head 30 ms later:
    every one is answered 200 with its fields (the slow ones made receive() wait, which
    returned a Future that run_coroutine_threadsafe refused)."""
    with serve("rs_flask:app", impl) as srv:
        for i in range(40):
            pause = 0.03 if i % 2 else 0.0
            r = post(srv.port, "/form", f"name=x{i}&n={i}".encode(), "application/x-www-form-urlencoded",
                     pause=pause)
            assert r.status == 200, (i, r, srv.output()[-3000:])
            assert json.loads(r.body) == {"name": f"x{i}", "n": str(i)}, r.body


def test_flask_a2wsgi_5mb_posts(impl):
    """20 posts of 5 MB each: the WSGI thread reads the body in many receive() calls."""
    data = os.urandom(5 * 1024 * 1024)
    want = {"len": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    with serve("rs_flask:app", impl) as srv:
        for i in range(20):
            r = post(srv.port, "/upload", data, "application/octet-stream")
            assert r.status == 200, (i, r, srv.output()[-3000:])
            assert json.loads(r.body) == want


def test_receive_send_are_coroutines(impl):
    """iscoroutine, create_task(receive()), run_coroutine_threadsafe(receive()) from a
    thread while the body arrives in pieces, ensure_future(send()), send() from a thread."""
    with serve("rs_raw:app", impl) as srv, connect(srv.port) as s:
        parts = [b"a" * 1000, b"b" * 1000, b"c" * 1000]
        s.sendall(b"POST /coroutines HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                  b"Content-Length: 3000\r\n\r\n")
        for p in parts:
            time.sleep(0.03)
            s.sendall(p)
        buf = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        r, _ = parse_response(buf, eof=True)
        assert r is not None and r.status == 200, (buf, srv.output()[-3000:])
        assert json.loads(r.body) == {"iscoroutine_receive": True, "iscoroutine_send": True,
                                      "body_len": 3000}


def test_websocket_receive_send_are_coroutines(impl):
    """The same for WebSocket: create_task(receive()), ensure_future(send(accept)), and
    run_coroutine_threadsafe(receive()/send()) from a thread while the message is pending."""
    from websockets.sync.client import connect as ws_connect

    with serve("rs_raw:app", impl) as srv:
        with ws_connect(f"ws://127.0.0.1:{srv.port}/ws", open_timeout=5, close_timeout=5) as ws:
            time.sleep(0.1)  # the thread's receive() waits for the message
            ws.send("hi")
            reply = json.loads(ws.recv(timeout=5))
        assert reply == {"iscoroutine": True, "got": "hi"}, (reply, srv.output()[-3000:])


# -- 2. a cancelled receive() does not poison the next one ----------------------------------

def send_slowly(s, head: bytes, pieces, gap: float):
    s.sendall(head)
    for p in pieces:
        time.sleep(gap)
        s.sendall(p)


def read_all(s, timeout: float = 10.0) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            d = s.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not d:
            break
        buf += d
    return buf


def test_wait_for_receive_slow_body(impl):
    """asyncio.wait_for(receive(), 0.05) times out while the body comes in pieces 0.15 s
    apart; each later receive() still gets the next piece: the whole body, no 500."""
    with serve("rs_raw:app", impl) as srv, connect(srv.port) as s:
        head = (b"POST /wait-for-receive HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                b"Content-Length: 9\r\n\r\n")
        send_slowly(s, head, [b"abc", b"def", b"ghi"], 0.15)
        r, _ = parse_response(read_all(s), eof=True)
        assert r is not None and r.status == 200, (r, srv.output()[-3000:])
        assert json.loads(r.body) == {"body": "abcdefghi", "timeouts": True}


def test_two_waiters_one_cancelled(impl):
    """Two tasks wait in receive(); the first is cancelled: the second is not, and gets the
    body (a cancelled waiter consumes nothing)."""
    with serve("rs_raw:app", impl) as srv, connect(srv.port) as s:
        head = (b"POST /two-waiters HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                b"Content-Length: 5\r\n\r\n")
        send_slowly(s, head, [b"hello"], 0.2)
        r, _ = parse_response(read_all(s), eof=True)
        assert r is not None and r.status == 200, (r, srv.output()[-3000:])
        assert json.loads(r.body) == {"first_cancelled": True, "body": "hello"}


def test_served_receive_cancelled_gives_the_message_back(impl):
    """A receive() that was handed the body but whose task is cancelled before resuming
    consumes nothing: the next receive() gets the body."""
    with serve("rs_raw:app", impl) as srv, connect(srv.port) as s:
        head = (b"POST /served-then-cancelled HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                b"Content-Length: 5\r\n\r\n")
        send_slowly(s, head, [b"hello"], 0.1)
        r, _ = parse_response(read_all(s), eof=True)
        assert r is not None and r.status == 200, (r, srv.output()[-3000:])
        got = json.loads(r.body)
        assert got["body"] == "hello" and got["more"] is False, got
        assert got["task_cancelled"] is True, got  # the case under test did happen


def test_fastapi_websocket_heartbeat(impl):
    """FastAPI's heartbeat pattern, wait_for(websocket.receive_text(), 0.1) in a loop: the
    timeouts send pings, and every message sent between them is echoed; the connection
    stays up (no 1011)."""
    from websockets.sync.client import connect as ws_connect

    with serve("rs_starlette:app", impl) as srv:
        got = []
        with ws_connect(f"ws://127.0.0.1:{srv.port}/heartbeat", open_timeout=5, close_timeout=5) as ws:
            for word in ["a", "b", "c"]:
                ws.send(word)
                deadline = time.monotonic() + 5
                while True:
                    m = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
                    got.append(m)
                    if m == f"echo:{word}":
                        break
                # long enough for several timeouts of the app's wait_for
                time.sleep(0.35)
            ws.close(1000)
            assert ws.close_code == 1000, (ws.close_code, got, srv.output()[-3000:])
        echoes = [m for m in got if m != "ping"]
        assert echoes == ["echo:a", "echo:b", "echo:c"], got
        assert got.count("ping") >= 4, got


def test_sse_starlette_is_disconnected_loop(impl):
    """sse-starlette's documented loop, `if await request.is_disconnected(): break` before
    each event: all 8 events arrive and the chunked body ends properly."""
    with serve("rs_starlette:app", impl) as srv, connect(srv.port) as s:
        s.sendall(b"GET /sse HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        buf = read_all(s)
        r, _ = parse_response(buf, eof=True)
        assert r is not None and r.status == 200, (buf[-500:], srv.output()[-3000:])
        assert buf.endswith(b"\r\n0\r\n\r\n"), buf[-200:]
        ticks = [line for line in r.body.decode().splitlines() if line.startswith("data:")]
        assert ticks == [f"data: tick {i}" for i in range(8)], r.body


# -- 3. a departed client is noticed at once -------------------------------------------------

def stream_until_client_leaves(srv, every: float) -> tuple[float, dict]:
    """Reads the first chunk of /stream, closes the connection; returns how long after the
    close the app's body iterator stopped, and what it recorded."""
    key = uuid.uuid4().hex
    s = connect(srv.port)
    try:
        s.sendall(f"GET /stream?key={key}&every={every} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        deadline = time.monotonic() + 5
        head, rest = read_head(s, deadline)
        assert head.startswith(b"HTTP/1.1 200"), head
        while b"chunk 0" not in rest:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            rest += s.recv(65536)
    finally:
        closed_at = time.time()
        s.close()
    deadline = time.monotonic() + 5 + 3 * every
    while time.monotonic() < deadline:
        entry = srv.get_json(f"/__log?key={key}")
        if "stopped" in entry:
            return entry["stopped"] - closed_at, entry | {"closed_at": closed_at}
        time.sleep(0.02)
    raise AssertionError(f"the app never noticed the departure: {srv.get_json(f'/__log?key={key}')}")


@pytest.mark.parametrize("app", ["rs_starlette:app", "rs_starlette:mw_app"], ids=["plain", "basehttpmiddleware"])
def test_streaming_response_notices_departure(impl, app):
    """Chunks every 0.5 s; the client leaves after the first. uvicorn (spec 2.3) cancels
    the stream at once through Starlette's disconnect listener; graft (spec 2.5) makes the
    first send() after the departure raise, so the stream stops at that chunk, never later
    (it took two or three more chunks: write errors only come after the client's reset)."""
    every = 0.5
    with serve(app, impl) as srv:
        late, entry = stream_until_client_leaves(srv, every)
        assert late < every + 0.25, (late, entry, srv.output()[-3000:])
        if app == "rs_starlette:app":
            # the client read chunk 0 and left: no later send() succeeded
            assert entry["sent"] == 1, entry


def test_half_closed_client_is_gone_during_a_stream(impl):
    """A client that half-closes (SHUT_WR) while a response streams counts as gone, as with
    uvicorn (its transport closes on EOF): the stream stops and the server closes the
    connection at once, instead of streaming on to a client that said it was done."""
    key = uuid.uuid4().hex
    with serve("rs_starlette:app", impl) as srv, connect(srv.port) as s:
        s.sendall(f"GET /stream?key={key}&every=0.1 HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        s.shutdown(socket.SHUT_WR)
        t0 = time.monotonic()
        data = read_all(s, timeout=5)
        took = time.monotonic() - t0
        assert took < 1.0, (took, data[-300:])
        assert b"chunk 1" not in data, data[-300:]
        # The body iterator stopped, or never started (when the server saw the EOF before
        # the app sent the response's start, that send() raised already).
        def settled(e):
            return "stopped" in e or ("started" not in e and time.monotonic() > t0 + 0.5)
        deadline = time.monotonic() + 3
        while not settled(entry := srv.get_json(f"/__log?key={key}")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert settled(entry), entry
