"""FastAPI behind a BaseHTTPMiddleware, for the compat suite.

/, /hello, /items/{id}?q=, POST /items (JSON), /stream?n=N, /slow?key=K (StreamingResponse,
a chunk every 50 ms for 5 s, records "end"), /late?key=K (waits for the disconnect, then
answers), POST /reject (413 unread), HEAD/GET /empty (an empty body), /events?key=K.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel
from starlette.middleware.base import BaseHTTPMiddleware

from compat_events import dump, record

app = FastAPI()


class Stamp(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        response = await call_next(request)
        response.headers["x-stamp"] = "1"
        return response


app.add_middleware(Stamp)


class Item(BaseModel):
    name: str
    price: float


@app.get("/", response_class=PlainTextResponse)
async def root():
    return "ok"


@app.get("/hello", response_class=PlainTextResponse)
async def hello():
    return "Hello, world!"


@app.get("/items/{item_id}")
async def get_item(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}


@app.post("/items", status_code=201)
async def create_item(item: Item):
    return {"name": item.name, "price": item.price}


@app.get("/stream")
async def stream(n: int = 5):
    async def gen():
        for i in range(n):
            yield f"chunk {i}\n"

    return StreamingResponse(gen(), media_type="text/plain")


@app.get("/slow")
async def slow(key: str = ""):
    async def gen():
        try:
            for i in range(100):
                yield f"tick {i}\n"
                await asyncio.sleep(0.05)
        finally:
            record(key, "end")

    return StreamingResponse(gen(), media_type="text/plain")


@app.get("/late")
async def late(request: Request, key: str = ""):
    record(key, "start")
    while (await request.receive())["type"] != "http.disconnect":
        pass
    record(key, "disconnect")
    return PlainTextResponse("too late")


@app.post("/reject")
async def reject():
    return PlainTextResponse("too big", status_code=413)


@app.api_route("/empty", methods=["GET", "HEAD"])
async def empty():
    return Response(b"", headers={"x-empty": "1"})


@app.get("/events")
async def events(key: str = ""):
    return Response(dump(key), media_type="application/json")
