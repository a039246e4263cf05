"""An early answer to a large upload (issue 13 item 6): the app answers 413 without reading
an 8 MiB body. uvicorn keeps reading (and discarding) the body, so the client finishes
sending and reads the 413. graft used to close after draining 1 MiB, so the client's send
failed; it now reads on for a bounded time and size after its answer (a lingering close, as
nginx does) instead of resetting the connection under the client."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

SIZE = 8 << 20
APPS = ["starlette_app:app", "fastapi_app:app", "django_app:app", "flask_app:app", "litestar_app:app",
        "quart_app:app"]


def upload(port: int) -> tuple[int, BaseException | None, bytes]:
    """Sends the head and SIZE body bytes as a client with a small send buffer does (paced by
    the server's reading), then reads the answer: (bytes sent, send error, answer)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    try:
        s.sendall(b"POST /reject HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n"
                  b"Content-Length: %d\r\n\r\n" % SIZE)
        sent, err, piece = 0, None, b"u" * 65536
        try:
            while sent < SIZE:
                sent += s.send(piece[: SIZE - sent])
        except OSError as e:
            err = e
        answer = b""
        deadline = time.monotonic() + 10
        try:
            while b"too big" not in answer and time.monotonic() < deadline:
                got = s.recv(65536)
                if not got:
                    break
                answer += got
        except OSError:
            pass
        return sent, err, answer
    finally:
        s.close()


@pytest.mark.parametrize("app", APPS, ids=lambda a: a.split("_app")[0])
def test_413_to_a_large_upload_reaches_the_client(pair_for, app):
    for impl, server in pair_for(app).items():
        sent, err, answer = upload(server.port)
        assert (sent, err) == (SIZE, None), f"{impl}: the send failed after {sent} bytes: {err!r}"
        assert answer.startswith(b"HTTP/1.1 413 ") and answer.endswith(b"too big"), (impl, answer)
        with httpx.Client(timeout=30) as c:
            r = c.post(f"http://127.0.0.1:{server.port}/reject", content=b"u" * SIZE)
        assert (r.status_code, r.content) == (413, b"too big"), (impl, r)
