"""Quart 0.22 for the compat suite.

/, /hello, /json, POST /echo, /stream?n=N, /slow?key=K (a chunk every 50 ms for 5 s, records
"end"), POST /reject (413 unread), /events?key=K.
"""

from __future__ import annotations

import asyncio

from quart import Quart, Response, request

from compat_events import dump, record

app = Quart(__name__)


@app.get("/")
async def root():
    return Response("ok", mimetype="text/plain")


@app.get("/hello")
async def hello():
    return Response("Hello, world!", mimetype="text/plain")


@app.get("/json")
async def json_():
    return {"framework": "quart", "items": [1, 2, 3]}


@app.post("/echo")
async def echo():
    body = await request.get_data()
    return Response(body, mimetype=request.mimetype or "application/octet-stream")


@app.get("/stream")
async def stream():
    n = int(request.args.get("n", "5"))

    async def gen():
        for i in range(n):
            yield f"chunk {i}\n".encode()

    return Response(gen(), mimetype="text/plain")


@app.get("/slow")
async def slow():
    key = request.args.get("key")

    async def gen():
        try:
            for i in range(100):
                yield f"tick {i}\n".encode()
                await asyncio.sleep(0.05)
        finally:
            record(key, "end")

    return Response(gen(), mimetype="text/plain")


@app.post("/reject")
async def reject():
    return Response("too big", status=413, mimetype="text/plain")


@app.get("/events")
async def events():
    return Response(dump(request.args.get("key")), mimetype="application/json")
