"""Starlette 1.x (+ sse-starlette, GZipMiddleware, FileResponse) for the compat suite.

GET  /               ready probe
GET  /hello          plain text
GET  /json           JSON
POST /echo           the body back
GET  /stream?n=N     StreamingResponse of N chunks
GET  /style.css      FileResponse behind GZipMiddleware (issue 13 item 8)
GET  /slow?key=K     StreamingResponse, a chunk every 50 ms for 5 s; records "end"
GET  /sse?key=K      sse-starlette events every 50 ms for 5 s; records "end"
GET  /late?key=K     raw ASGI: waits for http.disconnect, then answers (a long poll)
GET  /boom?key=K     raw ASGI: waits for http.disconnect, then raises RuntimeError
GET  /poll?key=K     raw ASGI: answers after 1.5 s without listening for the disconnect
POST /reject         413 without reading the body
GET  /events?key=K   what the app recorded for K
"""

from __future__ import annotations

import asyncio
import os

from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from compat_events import dump, record

# A file in the repo (not written at start-up) so both servers send the same etag.
_CSS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static", "style.css")


async def root(request: Request) -> Response:
    return PlainTextResponse("ok")


async def hello(request: Request) -> Response:
    return PlainTextResponse("Hello, world!")


async def json_(request: Request) -> Response:
    return JSONResponse({"framework": "starlette", "items": [1, 2, 3]})


async def echo(request: Request) -> Response:
    body = await request.body()
    return Response(body, media_type=request.headers.get("content-type", "application/octet-stream"))


async def stream(request: Request) -> Response:
    n = int(request.query_params.get("n", "5"))

    async def gen():
        for i in range(n):
            yield f"chunk {i}\n"

    return StreamingResponse(gen(), media_type="text/plain")


async def style(request: Request) -> Response:
    return FileResponse(_CSS_PATH, media_type="text/css")


async def slow(request: Request) -> Response:
    key = request.query_params.get("key")

    async def gen():
        try:
            for i in range(100):
                yield f"tick {i}\n"
                await asyncio.sleep(0.05)
        finally:
            record(key, "end")

    return StreamingResponse(gen(), media_type="text/plain")


async def sse(request: Request) -> Response:
    key = request.query_params.get("key")

    async def gen():
        try:
            for i in range(100):
                yield {"data": f"event {i}"}
                await asyncio.sleep(0.05)
        finally:
            record(key, "end")

    return EventSourceResponse(gen())


class Late:
    """A long poll in plain ASGI (a Route with a non-function endpoint gets scope/receive/send)."""

    async def __call__(self, scope, receive, send):
        key = Request(scope).query_params.get("key")
        record(key, "start")
        while (await receive())["type"] != "http.disconnect":
            pass
        record(key, "disconnect")
        try:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"too late"})
        finally:
            record(key, "end")


class Poll:
    """A long poll as engine.io serves one: it waits on its own queue (here 1.5 s), not on
    receive(), then answers."""

    async def __call__(self, scope, receive, send):
        key = Request(scope).query_params.get("key")
        record(key, "start")
        for _ in range(30):
            await asyncio.sleep(0.05)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"poll"})
        record(key, "end")


class Boom:
    """Waits for the disconnect, then fails: a real app error, logged even for a departed
    client (by uvicorn too)."""

    async def __call__(self, scope, receive, send):
        key = Request(scope).query_params.get("key")
        record(key, "start")
        while (await receive())["type"] != "http.disconnect":
            pass
        record(key, "end")
        raise RuntimeError("boom")


async def reject(request: Request) -> Response:
    return PlainTextResponse("too big", status_code=413)


async def events(request: Request) -> Response:
    return Response(dump(request.query_params.get("key")), media_type="application/json")


app = Starlette(
    routes=[
        Route("/", root),
        Route("/hello", hello),
        Route("/json", json_),
        Route("/echo", echo, methods=["POST"]),
        Route("/stream", stream),
        Route("/style.css", style),
        Route("/slow", slow),
        Route("/sse", sse),
        Route("/late", Late()),
        Route("/boom", Boom()),
        Route("/poll", Poll()),
        Route("/reject", reject, methods=["POST"]),
        Route("/events", events),
    ],
    middleware=[Middleware(GZipMiddleware, minimum_size=500)],
)
