"""Raw ASGI apps for the WebSocket tests (tests/websocket/).

``app`` dispatches WebSocket connections on the path:
  /echo, anything unknown   accept, echo text as text and bytes as bytes until disconnect
  /scope                    accept, send the scope's interesting keys as one JSON text
  /subprotocol              accept with "chat" when offered (none otherwise), send the
                            offered list as JSON
  /headers                  accept with extra response headers
  /reject                   websocket.close before accept (HTTP 403)
  /deny                     websocket.http.response.start/body (a custom 418 response;
                            ?status=N for another status)
  /raise-before             raise before accepting (HTTP 500)
  /return-before            return without accepting (HTTP 500)
  /raise-after              accept, send "ready", raise (close 1011)
  /return-after             accept, send "ready", return (close 1000)
  /close?code=C&reason=R    accept, send "ready", close with code and reason (with &key=K:
                            then try one send and log the exception, as /record does)
  /record?key=K             accept; log every message received, then the disconnect
                            event (code, reason), then try one send after it and log
                            the exception (class name, whether it is an OSError)
  /wait-close?key=K         accept, wait for the disconnect only (no messages); log it
  /flood?n=N&size=S&key=K   accept, send N binary messages of S bytes (the first 4 bytes
                            number them) as fast as send() allows, keeping the count sent
                            as the only entry under K; then echo until disconnect
  /late-receive?key=K       accept, send "ready", then ignore the connection until the task
                            is cancelled (server shutdown); only then call receive() until
                            the disconnect, writing what it got to $WS_APPS_MARKER_DIR/K.json
HTTP requests:
  GET /__log?key=K          JSON list of the events logged under K
  anything else             200 JSON {"type": scope type, "path", "upgrade"} (for --ws none)
"""

from __future__ import annotations

import asyncio
import json
import os
from urllib.parse import parse_qs

LOG: dict[str, list] = {}


def _query(scope) -> dict[str, str]:
    q = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return {k: v[0] for k, v in q.items()}


def _log(key: str, event) -> None:
    LOG.setdefault(key, []).append(event)


async def _http(scope, receive, send):
    q = _query(scope)
    if scope["path"] == "/__log":
        body = json.dumps(LOG.get(q.get("key", ""), [])).encode()
    else:
        hdrs = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        body = json.dumps({"type": scope["type"], "path": scope["path"],
                           "upgrade": hdrs.get("upgrade")}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(scope, receive, send):
    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif msg["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _connect(receive):
    msg = await receive()
    assert msg["type"] == "websocket.connect", msg


async def echo(scope, receive, send):
    await _connect(receive)
    await send({"type": "websocket.accept"})
    while True:
        msg = await receive()
        if msg["type"] == "websocket.disconnect":
            return
        if msg.get("text") is not None:
            await send({"type": "websocket.send", "text": msg["text"]})
        else:
            await send({"type": "websocket.send", "bytes": msg["bytes"]})


async def scope_info(scope, receive, send):
    await _connect(receive)
    await send({"type": "websocket.accept"})
    info = {
        "type": scope["type"], "scheme": scope["scheme"], "path": scope["path"],
        "raw_path": scope["raw_path"].decode("latin-1"),
        "query_string": scope["query_string"].decode("latin-1"),
        "subprotocols": scope["subprotocols"], "extensions": sorted(scope.get("extensions") or {}),
        "asgi": scope["asgi"], "http_version": scope["http_version"], "has_method": "method" in scope,
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
        "client": list(scope["client"]) if scope.get("client") else None,
        "server": list(scope["server"]) if scope.get("server") else None,
    }
    await send({"type": "websocket.send", "text": json.dumps(info)})
    await receive()


async def subprotocol(scope, receive, send):
    await _connect(receive)
    offered = scope["subprotocols"]
    await send({"type": "websocket.accept", "subprotocol": "chat" if "chat" in offered else None})
    await send({"type": "websocket.send", "text": json.dumps(offered)})
    await receive()


async def headers(scope, receive, send):
    await _connect(receive)
    await send({"type": "websocket.accept",
                "headers": [(b"x-custom", b"custom value"), (b"set-cookie", b"session=abc; Path=/")]})
    await send({"type": "websocket.send", "text": "ok"})
    await receive()


async def reject(scope, receive, send):
    await _connect(receive)
    await send({"type": "websocket.close"})


async def deny(scope, receive, send):
    await _connect(receive)
    await send({"type": "websocket.http.response.start", "status": int(_query(scope).get("status", 418)),
                "headers": [(b"content-type", b"text/plain"), (b"x-denied", b"yes")]})
    await send({"type": "websocket.http.response.body", "body": b"no websocket ", "more_body": True})
    await send({"type": "websocket.http.response.body", "body": b"for you"})


async def raise_before(scope, receive, send):
    await _connect(receive)
    raise RuntimeError("boom before accept")


async def return_before(scope, receive, send):
    await _connect(receive)


async def raise_after(scope, receive, send):
    await _connect(receive)
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": "ready"})
    raise RuntimeError("boom after accept")


async def return_after(scope, receive, send):
    await _connect(receive)
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": "ready"})


async def close(scope, receive, send):
    q = _query(scope)
    await _connect(receive)
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": "ready"})
    await send({"type": "websocket.close", "code": int(q.get("code", "1000")), "reason": q.get("reason", "")})
    if "key" in q:
        await _after_disconnect(q["key"], send)


async def _after_disconnect(key, send):
    try:
        await send({"type": "websocket.send", "text": "too late"})
        _log(key, {"send_after_close": None})
    except BaseException as e:  # noqa: BLE001 - recorded for the test
        _log(key, {"send_after_close": type(e).__name__, "oserror": isinstance(e, OSError),
                   "module": type(e).__module__})


async def record(scope, receive, send):
    key = _query(scope).get("key", "default")
    await _connect(receive)
    await send({"type": "websocket.accept"})
    _log(key, {"accepted": True})
    while True:
        msg = await receive()
        if msg["type"] == "websocket.disconnect":
            _log(key, {"disconnect": msg.get("code"), "reason": msg.get("reason")})
            await _after_disconnect(key, send)
            return
        _log(key, {"text": msg.get("text")} if msg.get("text") is not None else {"bytes": len(msg["bytes"])})


async def wait_close(scope, receive, send):
    key = _query(scope).get("key", "default")
    await _connect(receive)
    await send({"type": "websocket.accept"})
    msg = await receive()
    _log(key, {"disconnect": msg.get("code"), "reason": msg.get("reason"), "type": msg["type"]})
    await _after_disconnect(key, send)


async def flood(scope, receive, send):
    q = _query(scope)
    key, n, size = q.get("key", "default"), int(q.get("n", "1000")), int(q.get("size", "65536"))
    await _connect(receive)
    await send({"type": "websocket.accept"})
    LOG[key] = [0]
    for i in range(n):
        await send({"type": "websocket.send", "bytes": i.to_bytes(4, "big") * (size // 4)})
        LOG[key] = [i + 1]
    await echo_loop(receive, send)


async def late_receive(scope, receive, send):
    key = _query(scope).get("key", "default")
    await _connect(receive)
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": "ready"})
    try:
        await asyncio.sleep(3600)
    finally:
        got = []
        for _ in range(100):
            msg = await receive()
            got.append(msg)
            if msg["type"] == "websocket.disconnect":
                break
        with open(os.path.join(os.environ["WS_APPS_MARKER_DIR"], f"{key}.json"), "w") as f:
            json.dump(got, f)


async def echo_loop(receive, send):
    while True:
        msg = await receive()
        if msg["type"] == "websocket.disconnect":
            return
        if msg.get("text") is not None:
            await send({"type": "websocket.send", "text": msg["text"]})
        else:
            await send({"type": "websocket.send", "bytes": msg["bytes"]})


WS_ROUTES = {
    "/echo": echo, "/scope": scope_info, "/subprotocol": subprotocol, "/headers": headers,
    "/reject": reject, "/deny": deny, "/raise-before": raise_before, "/return-before": return_before,
    "/raise-after": raise_after, "/return-after": return_after, "/close": close, "/record": record,
    "/wait-close": wait_close, "/flood": flood,
    "/late-receive": late_receive,
}


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await _lifespan(scope, receive, send)
    if scope["type"] == "http":
        return await _http(scope, receive, send)
    assert scope["type"] == "websocket", scope["type"]
    handler = WS_ROUTES.get(scope["path"], echo)
    await handler(scope, receive, send)
