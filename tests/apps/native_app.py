"""The FastAPI app behind the native-route tests (tests/native/).

graft serves it with handler libraries in front (``--native hello.so`` /
``--native features.so``): the routes here are what a request reaches when no
native route matches it, when the method differs, or when the handler declines.
Every Python answer says ``"from": "python"`` so a test can tell who answered.
"""

from __future__ import annotations

import time

from fastapi import FastAPI, Request

app = FastAPI(title="graft native-routes test app")


@app.post("/hello/{name}")
async def hello_post(name: str, request: Request):
    body = await request.body()
    return {"from": "python", "hello": name, "body": body.decode("latin-1")}


@app.get("/py")
async def py():
    return {"from": "python"}


@app.get("/block")
async def block():
    # Blocks the event loop (and holds the GIL in sleep's C call only briefly):
    # nothing else in Python can run for 2 s.
    time.sleep(2)
    return {"from": "python", "blocked": 2}


@app.get("/spin")
async def spin():
    # Busy loop holding the GIL for 2 s.
    end = time.monotonic() + 2
    n = 0
    while time.monotonic() < end:
        n += 1
    return {"from": "python", "spun": n > 0}


# The same paths as features.c's declining routes: reached only when the C
# handler returns GRAFT_DECLINE (x-decline: 1).
@app.get("/maybe")
async def maybe_get(request: Request):
    return {"from": "python", "method": "GET", "query": request.url.query}


@app.post("/maybe")
async def maybe_post(request: Request):
    body = await request.body()
    return {"from": "python", "method": "POST", "body": body.decode("latin-1"),
            "x-decline": request.headers.get("x-decline")}


@app.post("/maybe-body")
async def maybe_body_post(request: Request):
    body = await request.body()
    return {"from": "python", "method": "POST", "body": body.decode("latin-1")}
