"""Starlette 1.10 / FastAPI / sse-starlette 3.7 endpoints for tests/compat/test_receive_send.py:
the WebSocket heartbeat pattern, sse-starlette's documented is_disconnected() loop, and
StreamingResponse (with and without BaseHTTPMiddleware) noticing a departed client.

GET /__log?key=K returns what an endpoint recorded under K (JSON)."""

import asyncio
import time

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from sse_starlette import EventSourceResponse
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import JSONResponse, StreamingResponse

LOG: dict[str, dict] = {}

app = FastAPI()


@app.get("/__log")
async def log(key: str):
    return JSONResponse(LOG.get(key, {}))


@app.websocket("/heartbeat")
async def heartbeat(ws: WebSocket):
    """FastAPI's heartbeat pattern: wait for a message at most 0.1 s, else send a ping."""
    await ws.accept()
    while True:
        try:
            text = await asyncio.wait_for(ws.receive_text(), 0.1)
        except asyncio.TimeoutError:
            await ws.send_text("ping")
            continue
        except WebSocketDisconnect:
            return
        await ws.send_text(f"echo:{text}")


@app.get("/sse")
async def sse(request: Request):
    """sse-starlette's documented loop: check is_disconnected() before each event."""
    async def events():
        for i in range(8):
            if await request.is_disconnected():
                break
            yield {"data": f"tick {i}"}
            await asyncio.sleep(0.05)
    return EventSourceResponse(events())


def ticker(key: str, every: float):
    """Chunks every ``every`` seconds until the client is gone; records when the app learnt
    it (the body iterator is closed, by ClientDisconnect or by cancellation)."""
    entry = LOG.setdefault(key, {})

    async def gen():
        entry["started"] = time.time()
        try:
            i = 0
            while True:
                yield f"chunk {i}\n"
                i += 1
                entry["sent"] = i  # chunks whose send() returned
                await asyncio.sleep(every)
        finally:
            entry["stopped"] = time.time()
    return gen()


@app.get("/stream")
async def stream(key: str, every: float = 0.2):
    return StreamingResponse(ticker(key, every), media_type="text/plain")


class Passthrough(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        return await call_next(request)


mw_app = FastAPI()
mw_app.add_middleware(Passthrough)
mw_app.get("/__log")(log)


@mw_app.get("/stream")
async def mw_stream(key: str, every: float = 0.2):
    return StreamingResponse(ticker(key, every), media_type="text/plain")
