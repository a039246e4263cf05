"""ASGI app answering every request with the worker's process id (used by the worker tests)."""

import os


async def app(scope, receive, send):
    if scope["type"] != "http":
        return  # lifespan: returning without a message is allowed ("startup complete")
    body = str(os.getpid()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
