"""python-socketio 5 (engine.io long polling) for the compat suite, with a 1 s ping interval
so a long poll is answered (with a ping) within a second.

/socket.io/...       engine.io; everything else: /  (ready probe) and /events?key=K.
"""

from __future__ import annotations

import socketio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from compat_events import dump

sio = socketio.AsyncServer(async_mode="asgi", ping_interval=1, ping_timeout=1)


async def root(request: Request) -> Response:
    return PlainTextResponse("ok")


async def events(request: Request) -> Response:
    return Response(dump(request.query_params.get("key")), media_type="application/json")


app = socketio.ASGIApp(sio, other_asgi_app=Starlette(routes=[Route("/", root), Route("/events", events)]))
