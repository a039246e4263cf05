"""The TLS tests' app: raw_apps.app plus what only TLS tests need.

  GET /tls      JSON: scope["scheme"] and scope["extensions"]["tls"] (None when absent)
  GET /file     $TLS_APP_FILE with http.response.pathsend (the server's sendfile path)
  GET /pid      the worker's pid
  /ws           WebSocket: echoes each message; "scope" answers scheme + the tls extension
Anything else goes to raw_apps.app (echo-body, stream, bigresp, ...).
"""

from __future__ import annotations

import json
import os

from raw_apps import app as raw_app


def _tls_facts(scope) -> dict:
    tls = (scope.get("extensions") or {}).get("tls")
    return {"scheme": scope.get("scheme"), "tls": tls, "extensions": sorted((scope.get("extensions") or {}))}


async def _ws(scope, receive, send):
    msg = await receive()
    assert msg["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    while True:
        msg = await receive()
        if msg["type"] == "websocket.disconnect":
            return
        text = msg.get("text")
        if text == "scope":
            await send({"type": "websocket.send", "text": json.dumps(_tls_facts(scope))})
        elif text is not None:
            await send({"type": "websocket.send", "text": text})
        else:
            await send({"type": "websocket.send", "bytes": msg.get("bytes") or b""})


async def app(scope, receive, send):
    if scope["type"] == "websocket":
        await _ws(scope, receive, send)
        return
    if scope["type"] == "http" and scope["path"] == "/tls":
        body = json.dumps(_tls_facts(scope)).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})
        return
    if scope["type"] == "http" and scope["path"] == "/file":
        path = os.environ["TLS_APP_FILE"]
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/octet-stream"),
                                (b"content-length", str(os.path.getsize(path)).encode())]})
        await send({"type": "http.response.pathsend", "path": path})
        return
    if scope["type"] == "http" and scope["path"] == "/pid":
        body = str(os.getpid()).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": body})
        return
    await raw_app(scope, receive, send)
