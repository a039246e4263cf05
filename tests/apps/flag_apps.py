"""ASGI app for tests/server/test_flag_races.py. Over HTTP it reads the request body in two parts
around http.response.start, then waits while the last part arrives, then finishes:

    client:  head + part 1 | part 2      | part 3 (body complete)
    app:     receive()     | send(start) | receive() | ...sleep... | send(body) or return

With --io-poll thread the I/O thread stores part 3 and marks the body complete while the
app sleeps, and the bridge's next step reads flags of the same request without the
connection lock (send(body): response_started; the app's return: response_started, to
choose between a 500 and a close). The receive() after send(start) takes the lock, which
orders the unlocked read inside send(start) before the I/O thread's write, so that only
the read under test can race. `make test-tsan` reports any race between them."""

from __future__ import annotations

import asyncio

START = {"type": "http.response.start", "status": 200,
         "headers": [(b"content-type", b"text/plain")]}


async def app(scope, receive, send):
    if scope["type"] == "websocket":
        await ws_denial(receive, send)
        return
    assert scope["type"] == "http"
    if scope["path"] not in ("/body", "/no-body"):  # the harness's readiness probe
        await send(START)
        await send({"type": "http.response.body", "body": b"ready"})
        return
    got = (await receive())["body"]
    await send(START)  # held until the first body message
    await asyncio.sleep(0.1)
    got += (await receive())["body"]
    await asyncio.sleep(0.3)  # the last part arrives now, on the I/O thread
    if scope["path"] == "/body":
        await send({"type": "http.response.body", "body": b"%d" % len(got)})


async def ws_denial(receive, send):
    """A WebSocket handshake denied with a streamed response that the app never finishes:
    the client reads the first chunk and leaves, the I/O thread marks it gone, and the
    app's return reads response_started (a 500 or a close?). The first chunk's write took
    the lock, ordering the read inside http.response.start before the I/O thread's write."""
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.http.response.start", "status": 403,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "websocket.http.response.body", "body": b"denied", "more_body": True})
    await asyncio.sleep(0.3)
