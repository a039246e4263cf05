"""receive() and send() as real frameworks and adapters use them (issue 13, items 1-3),
each test run under graft and under uvicorn to show the expectation is uvicorn's.

1. receive()/send() are coroutines: Flask under a2wsgi (which calls
   asyncio.run_coroutine_threadsafe(receive(), loop) from its WSGI thread) gets every body;
   create_task / ensure_future / run_coroutine_threadsafe accept them.
"""

from __future__ import annotations

import hashlib
import json
import os
import time

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
