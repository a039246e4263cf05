"""ASGI apps for the hardening tests (tests/server/test_hardening.py, tests/load/).

  GET  /blob?mb=N          N MiB in one http.response.body (byte i is i % 251);
                           &nolen=1: no content-length (chunked, or close-delimited in 1.0)
  GET  /stream?mb=N        N MiB in more_body chunks of &piece=B bytes (64 KiB), then an
                           empty final one (same bytes; &nolen=1 too)
  GET  /file?path=P        P with http.response.pathsend (content-length set; &nolen=1: not)
  GET  /hello              "Hello, world!"
  POST /echo               the body read whole, back (x-body-len header)
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs

PATTERN = bytes(i % 251 for i in range(251 * 4096))


def pattern(n: int) -> bytes:
    """The first n bytes of the repeating 0..250 pattern the apps send."""
    reps = n // len(PATTERN) + 1
    return (PATTERN * reps)[:n]


def _query(scope) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}


async def _start(send, status=200, length=None, ctype=b"application/octet-stream", extra=()):
    headers = [(b"content-type", ctype), *extra]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    q = _query(scope)
    if path == "/blob":
        body = pattern(int(float(q.get("mb", "1")) * (1 << 20)))
        await _start(send, length=None if q.get("nolen") else len(body))
        await send({"type": "http.response.body", "body": body})
    elif path == "/stream":
        total = int(float(q.get("mb", "1")) * (1 << 20))
        body = pattern(total)
        await _start(send, length=None if q.get("nolen") else total)
        piece = int(q.get("piece", "65536"))
        for off in range(0, total, piece):
            await send({"type": "http.response.body", "body": body[off:off + piece],
                        "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/file":
        fpath = q["path"]
        await _start(send, length=None if q.get("nolen") else os.path.getsize(fpath))
        await send({"type": "http.response.pathsend", "path": fpath})
    elif path == "/echo":
        chunks = []
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunks.append(msg.get("body", b""))
            if not msg.get("more_body"):
                break
        body = b"".join(chunks)
        await _start(send, length=len(body), extra=[(b"x-body-len", str(len(body)).encode())])
        await send({"type": "http.response.body", "body": body})
    else:
        await _start(send, length=13, ctype=b"text/plain")
        await send({"type": "http.response.body", "body": b"Hello, world!"})
