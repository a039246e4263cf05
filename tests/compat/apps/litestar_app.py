"""Litestar 2.x for the compat suite.

/, /hello, /json, POST /echo, /stream?n=N, /slow?key=K (Stream, a chunk every 50 ms for 5 s,
records "end"), POST /reject (413 unread), /events?key=K.
"""

from __future__ import annotations

import asyncio

from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.response import Stream

from compat_events import dump, record


@get("/", media_type=MediaType.TEXT)
async def root() -> str:
    return "ok"


@get("/hello", media_type=MediaType.TEXT)
async def hello() -> str:
    return "Hello, world!"


@get("/json")
async def json_() -> dict:
    return {"framework": "litestar", "items": [1, 2, 3]}


@post("/echo", status_code=200)
async def echo(request: Request) -> Response[bytes]:
    body = await request.body()
    return Response(body, media_type=request.headers.get("content-type", "application/octet-stream"))


@get("/stream")
async def stream(n: int = 5) -> Stream:
    async def gen():
        for i in range(n):
            yield f"chunk {i}\n"

    return Stream(gen(), media_type=MediaType.TEXT)


@get("/slow")
async def slow(key: str = "") -> Stream:
    async def gen():
        try:
            for i in range(100):
                yield f"tick {i}\n"
                await asyncio.sleep(0.05)
        finally:
            record(key, "end")

    return Stream(gen(), media_type=MediaType.TEXT)


@post("/reject", status_code=413, media_type=MediaType.TEXT)
async def reject() -> str:
    return "too big"


@get("/events")
async def events(key: str = "") -> Response[bytes]:
    return Response(dump(key), media_type=MediaType.JSON)


app = Litestar([root, hello, json_, echo, stream, slow, reject, events])
