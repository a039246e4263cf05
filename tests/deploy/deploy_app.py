"""The app behind nginx in tests/deploy/test_nginx.py: every HTTP answer is the scope's view
of the peer (client, scheme, Host) and the worker's pid, as JSON; a WebSocket echoes text
with the same facts. Plain ASGI, so uvicorn can serve it too (the trust comparison)."""

import json
import os


def _facts(scope):
    headers = dict(scope["headers"])
    return {"client": scope.get("client"), "scheme": scope["scheme"],
            "host": headers.get(b"host", b"").decode("latin-1"), "pid": os.getpid()}


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            reply = dict(_facts(scope), echo=message.get("text"))
            await send({"type": "websocket.send", "text": json.dumps(reply)})
    body = json.dumps(_facts(scope)).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
