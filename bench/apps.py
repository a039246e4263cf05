"""Benchmark apps for bench/run.py (served as ``bench.apps:<name>`` from the repo root).

Every raw app handles the lifespan protocol, so each server can start it with
its default lifespan setting and nothing logs a lifespan error.

- ``hello``       GET -> 200 "Hello, world!" text/plain, with content-length.
- ``echo``        reads the whole request body, answers it back (content-length).
- ``stream``      16 chunks of 4 KiB with more_body=True and no content-length
                  (so HTTP/1.1 chunked transfer-encoding on the wire).
- ``fastapi_app`` FastAPI, ``GET /json`` -> {"message": "Hello, world!"}.
- ``ws_echo``     WebSocket echo: accepts (no subprotocol, no extension of its own),
                  sends every message back as it came (bytes as bytes, text as
                  text); plain HTTP requests get the ``hello`` answer, so the
                  runner's readiness check works unchanged.
"""

HELLO_BODY = b"Hello, world!"
STREAM_CHUNK = b"x" * 4096
STREAM_CHUNKS = 16


async def _lifespan(receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def hello(scope, receive, send):
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        return
    await send({
        "type": "http.response.start",
        "status": 200,
        "headers": [
            (b"content-type", b"text/plain"),
            (b"content-length", b"13"),
        ],
    })
    await send({"type": "http.response.body", "body": HELLO_BODY})


async def echo(scope, receive, send):
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        return
    parts = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        parts.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(parts)
    await send({
        "type": "http.response.start",
        "status": 200,
        "headers": [
            (b"content-type", b"application/octet-stream"),
            (b"content-length", str(len(body)).encode()),
        ],
    })
    await send({"type": "http.response.body", "body": body})


async def stream(scope, receive, send):
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        return
    await send({
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"application/octet-stream")],
    })
    for _ in range(STREAM_CHUNKS - 1):
        await send({"type": "http.response.body", "body": STREAM_CHUNK, "more_body": True})
    await send({"type": "http.response.body", "body": STREAM_CHUNK, "more_body": False})


async def ws_echo(scope, receive, send):
    kind = scope["type"]
    if kind == "http":
        await hello(scope, receive, send)
        return
    if kind == "lifespan":
        await _lifespan(receive, send)
        return
    if kind != "websocket":
        return
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return  # websocket.disconnect
        data = message.get("bytes")
        if data is not None:
            await send({"type": "websocket.send", "bytes": data})
        else:
            await send({"type": "websocket.send", "text": message.get("text") or ""})


def _make_fastapi():
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/json")
    async def json_hello():
        return {"message": "Hello, world!"}

    return app


try:
    fastapi_app = _make_fastapi()
except ImportError:  # the raw apps stay usable without fastapi installed
    fastapi_app = None
