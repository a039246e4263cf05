"""Two raw ASGI apps that agree on some paths and not on others, for `graft diff`
(tests/server/test_diff_cli.py). ``app_a`` sends bodies with a content-length, ``app_b``
streams them chunked: the same body framed two ways.

  /same          200, text/plain, "hello"
  /echo?...      200, the query string and the x-token request header
  /header        x-v differs (1 / 2)
  /status        200 / 404, same body
  /body          "a" / "b"
"""

from __future__ import annotations


def _make(side: str):
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        status, headers, body = 200, [(b"content-type", b"text/plain")], b"hello"
        if path == "/echo":
            token = dict(scope["headers"]).get(b"x-token", b"-")
            body = scope["query_string"] + b" " + token
        elif path == "/header":
            headers.append((b"x-v", b"1" if side == "a" else b"2"))
        elif path == "/status":
            status = 200 if side == "a" else 404
        elif path == "/body":
            body = side.encode()
        if side == "a":
            headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        else:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            for i in range(len(body)):
                await send({"type": "http.response.body", "body": body[i:i + 1], "more_body": True})
            await send({"type": "http.response.body", "body": b""})

    return app


app_a = _make("a")
app_b = _make("b")
