"""Small raw ASGI 3 apps for the server tests.

``app`` dispatches on the path (after stripping ``root_path``) to the apps
below and handles the lifespan scope. Each app is also importable on its own
(``raw_apps:hello``, ``raw_apps:echo``, ...).

Observation endpoints (the test process cannot see the server's memory):
  GET /__seen           JSON list of every path the app was called with
  GET /__log?key=K      JSON list of events recorded under K
  GET /inflight         number of /sleep requests currently running
  GET /block?t=S        blocks the whole event loop for S seconds (time.sleep; child=1:
                        from a child task)
  GET /open-gate?key=K  lets the /stream-gated?key=K response finish
  GET /fork?t=S         forks a child holding the server's sockets for S seconds

Environment:
  RAW_APPS_MARKER_DIR   if set, lifespan startup/shutdown and the SSE app write
                        marker files there ("startup", "shutdown", "sse-disconnect").
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from urllib.parse import parse_qs

SEEN: list[str] = []
LOG: dict[str, list] = {}
INFLIGHT = 0

HELLO = b"Hello, world!"


def _query(scope) -> dict[str, str]:
    q = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return {k: v[0] for k, v in q.items()}


def _log(key: str, event) -> None:
    LOG.setdefault(key, []).append(event)


def _marker(name: str, content: str = "") -> None:
    d = os.environ.get("RAW_APPS_MARKER_DIR")
    if d:
        with open(os.path.join(d, name), "w") as f:
            f.write(content)


async def _respond(send, status: int, body: bytes, content_type: bytes = b"text/plain; charset=utf-8",
                   headers=()):
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                    *headers],
    })
    await send({"type": "http.response.body", "body": body})


async def _respond_json(send, obj, status: int = 200):
    await _respond(send, status, json.dumps(obj).encode(), b"application/json")


async def _read_body(receive) -> tuple[bytes, int]:
    body = bytearray()
    calls = 0
    while True:
        msg = await receive()
        calls += 1
        if msg["type"] == "http.disconnect":
            raise ConnectionError("client disconnected while reading the body")
        body += msg.get("body", b"")
        if not msg.get("more_body", False):
            return bytes(body), calls


def _l1(b: bytes) -> str:
    return b.decode("latin-1")


# ---------------------------------------------------------------------------
# apps
# ---------------------------------------------------------------------------

async def hello(scope, receive, send):
    """b"Hello, world!" text/plain with content-length. Does not read the body.
    Sends the body for HEAD too (the server must drop it)."""
    await _respond(send, 200, HELLO, b"text/plain")


async def echo(scope, receive, send):
    """Reads the whole body, answers with a JSON summary of the scope."""
    body, calls = await _read_body(receive)
    client = scope.get("client")
    server = scope.get("server")
    out = {
        "type": scope["type"],
        "asgi": scope.get("asgi"),
        "method": scope["method"],
        "path": scope["path"],
        "raw_path": _l1(scope["raw_path"]) if scope.get("raw_path") is not None else None,
        "query_string": _l1(scope["query_string"]),
        "headers": [[_l1(k), _l1(v)] for k, v in scope["headers"]],
        "headers_types": sorted({f"{type(k).__name__},{type(v).__name__}" for k, v in scope["headers"]}),
        "http_version": scope["http_version"],
        "scheme": scope.get("scheme"),
        "root_path": scope.get("root_path"),
        "client": list(client) if client is not None else None,
        "client_present": client is not None,
        "server": list(server) if server is not None else None,
        "extensions": sorted((scope.get("extensions") or {}).keys()),
        "has_state": "state" in scope,
        "body": _l1(body),
        "body_len": len(body),
        "receive_calls": calls,
    }
    await _respond_json(send, out)


async def echo_body(scope, receive, send):
    """Returns the request body as the response body."""
    body, _ = await _read_body(receive)
    await _respond(send, 200, body, b"application/octet-stream")


async def stream(scope, receive, send):
    """Streams ``n`` chunks without content-length (-> chunked on HTTP/1.1)."""
    n = int(_query(scope).get("n", "5"))
    delay = float(_query(scope).get("delay", "0"))
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    for i in range(n):
        await send({"type": "http.response.body", "body": b"chunk%d\n" % i, "more_body": True})
        if delay:
            await asyncio.sleep(delay)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


GATES: dict[str, asyncio.Event] = {}


def _gate(key: str) -> asyncio.Event:
    return GATES.setdefault(key, asyncio.Event())


async def stream_gated(scope, receive, send):
    """Sends a head and two chunks from a child task (as Starlette's StreamingResponse
    does), then waits until ``GET /open-gate?key=K`` before the last chunk: the client
    can only open the gate if the first chunks reached it while the app was waiting."""
    key = _query(scope)["key"]

    async def sender():
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"first-", "more_body": True})
        await send({"type": "http.response.body", "body": b"second-", "more_body": True})
        await _gate(key).wait()
        await send({"type": "http.response.body", "body": b"last", "more_body": False})

    await asyncio.get_running_loop().create_task(sender())


async def open_gate(scope, receive, send):
    _gate(_query(scope)["key"]).set()
    await _respond(send, 200, b"opened")


async def app_te(scope, receive, send):
    """Sets its own Transfer-Encoding header (the server must ignore it and frame itself)."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"transfer-encoding", b"chunked")]})
    await send({"type": "http.response.body", "body": b"part1-", "more_body": True})
    await send({"type": "http.response.body", "body": b"part2", "more_body": False})


async def bigresp(scope, receive, send):
    """Streams ``mb`` MiB in 64 KiB pieces (byte i of the body is i % 251)."""
    mb = int(_query(scope).get("mb", "8"))
    pattern = bytes(i % 251 for i in range(251 * 1024))
    total = mb << 20
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/octet-stream"),
                            (b"content-length", str(total).encode())]})
    sent = 0
    while sent < total:
        n = min(65536, total - sent)
        off = sent % 251
        piece = (pattern[off:] + pattern)[:n] if off + n > len(pattern) else pattern[off:off + n]
        sent += n
        await send({"type": "http.response.body", "body": piece, "more_body": sent < total})


async def headers_case(scope, receive, send):
    """Mixed-case header names and repeated fields, in order."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"X-MiXeD", b"Value With Caps"), (b"Set-Cookie", b"a=1"),
                            (b"content-length", b"2"), (b"set-cookie", b"b=2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def error_before(scope, receive, send):
    raise RuntimeError("boom before response start")


async def error_after(scope, receive, send):
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"100")]})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise RuntimeError("boom after response start")


async def error_after_chunked(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise RuntimeError("boom after response start")


async def no_response(scope, receive, send):
    return None


_INVALID = {
    "status-str": [{"type": "http.response.start", "status": "200", "headers": []}],
    "header-crlf": [{"type": "http.response.start", "status": 200,
                     "headers": [(b"x-evil", b"a\r\nx-injected: 1")]}],
    "header-lf": [{"type": "http.response.start", "status": 200, "headers": [(b"x-evil", b"a\nb")]}],
    "header-nul": [{"type": "http.response.start", "status": 200, "headers": [(b"x-evil", b"a\x00b")]}],
    "header-name-space": [{"type": "http.response.start", "status": 200, "headers": [(b"x evil", b"1")]}],
    "header-name-colon": [{"type": "http.response.start", "status": 200, "headers": [(b"x:evil", b"1")]}],
    "headers-str": [{"type": "http.response.start", "status": 200, "headers": [("x-str", "1")]}],
    "unknown-type": [{"type": "http.response.bogus", "status": 200}],
    "body-before-start": [{"type": "http.response.body", "body": b"x"}],
    "missing-status": [{"type": "http.response.start", "headers": []}],
    # 1xx is interim, never a final response (h11 raises LocalProtocolError for these)
    **{f"status-{code}": [{"type": "http.response.start", "status": code, "headers": []}]
       for code in (100, 101, 103, 199)},
    "body-str": [{"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]},
                 {"type": "http.response.body", "body": "x"}],
    "start-twice": [{"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]},
                    {"type": "http.response.start", "status": 200, "headers": []}],
}

# For these, send() raises on the first message, before anything is on the wire.
INVALID_BEFORE_START = ["status-str", "header-crlf", "header-lf", "header-nul", "header-name-space",
                        "header-name-colon", "headers-str", "unknown-type", "body-before-start",
                        "missing-status"]


async def invalid(scope, receive, send):
    """Sends an invalid message; records what send() raised, then re-raises."""
    kind = _query(scope).get("kind", "")
    key = _query(scope).get("key", "invalid-" + kind)
    for i, msg in enumerate(_INVALID[kind]):
        try:
            await send(msg)
        except Exception as exc:  # noqa: BLE001
            _log(key, {"raised": type(exc).__name__, "index": i})
            raise
        _log(key, {"sent": i})


async def extra_keys(scope, receive, send):
    """Valid messages with extra keys: must not raise."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")],
                "extra": "ignored", "trailers": False})
    await send({"type": "http.response.body", "body": b"ok", "more_body": False, "extra": 1})


async def cl_short(scope, receive, send):
    """Declares content-length 10, sends 5 bytes, ends."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"10")]})
    await send({"type": "http.response.body", "body": b"12345", "more_body": False})


async def cl_long(scope, receive, send):
    """Declares content-length 5, sends 10 bytes."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")]})
    await send({"type": "http.response.body", "body": b"1234567890", "more_body": False})


async def noread(scope, receive, send):
    """Answers without reading the request body."""
    await _respond(send, 200, b"noread")


async def expect(scope, receive, send):
    """Counts receive() calls; waits ``delay`` seconds before the first one."""
    q = _query(scope)
    delay = float(q.get("delay", "0"))
    if delay:
        await asyncio.sleep(delay)
    if q.get("read", "1") == "0":
        await _respond_json(send, {"receive_calls": 0, "body": None})
        return
    body, calls = await _read_body(receive)
    await _respond_json(send, {"receive_calls": calls, "body": _l1(body)})


async def state(scope, receive, send):
    """Reports scope["state"], then mutates it (must not leak into the next request)."""
    st = scope.get("state")
    out = {"present": st is not None, "state": {k: repr(v) for k, v in (st or {}).items()}}
    if st is not None:
        st["mutated_by_request"] = True
        st["x"] = "overwritten"
        if isinstance(st.get("shared_list"), list):
            out["shared_list_len"] = len(st["shared_list"])
    await _respond_json(send, out)


async def wait_disconnect(scope, receive, send):
    """Reads the body, then waits for http.disconnect after the client goes away.
    With ``sleep=S`` it first sleeps S seconds (the client leaves meanwhile), so the
    disconnect must be remembered and returned by the next receive()."""
    key = _query(scope).get("key", "disconnect")
    pause = float(_query(scope).get("sleep", "0"))
    await _read_body(receive)
    _log(key, "body-read")
    if pause:
        await asyncio.sleep(pause)
        _log(key, "slept")
    try:
        msg = await asyncio.wait_for(receive(), 15)
        _log(key, msg["type"])
    except asyncio.TimeoutError:
        _log(key, "timeout")


async def after_complete(scope, receive, send):
    """Completes the response, then calls receive(): must get http.disconnect at once."""
    key = _query(scope).get("key", "after")
    await _read_body(receive)
    await _respond(send, 200, b"done")
    try:
        msg = await asyncio.wait_for(receive(), 3)
        _log(key, msg["type"])
    except asyncio.TimeoutError:
        _log(key, "timeout")


async def pathsend(scope, receive, send):
    """Serves this file with http.response.pathsend when the server offers it."""
    exts = scope.get("extensions") or {}
    if "http.response.pathsend" not in exts:
        await _respond(send, 501, b"no pathsend extension")
        return
    path = os.path.abspath(__file__)
    size = os.path.getsize(path)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/x-python"), (b"content-length", str(size).encode())]})
    await send({"type": "http.response.pathsend", "path": path})


async def status_app(scope, receive, send):
    """/status/NNN: a response with that status and no body (204/304) or a tiny one."""
    code = int(scope["path"].rstrip("/").rsplit("/", 1)[-1])
    headers = [(b"x-status", str(code).encode())]
    if code == 304:
        headers.append((b"etag", b'"v1"'))
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def sleep(scope, receive, send):
    global INFLIGHT
    t = float(_query(scope).get("t", "1"))
    INFLIGHT += 1
    if _query(scope).get("mark"):
        _marker(_query(scope)["mark"])
    try:
        await asyncio.sleep(t)
    finally:
        INFLIGHT -= 1
    await _respond(send, 200, b"slept")


async def block(scope, receive, send):
    """Blocks the event loop itself for t seconds (a sync call inside an async app); with
    ``child=1`` the call is made in a child task, as with Starlette's BaseHTTPMiddleware."""
    q = _query(scope)

    async def stall():
        time.sleep(float(q.get("t", "1")))

    if q.get("child"):
        await asyncio.get_running_loop().create_task(stall())
    else:
        await stall()
    await _respond(send, 200, b"blocked")


async def fork(scope, receive, send):
    """Forks a child that sleeps ``t`` seconds holding copies of every open socket, as an
    app using multiprocessing's fork start method does."""
    t = float(_query(scope).get("t", "2"))
    pid = os.fork()
    if pid == 0:
        time.sleep(t)
        os._exit(0)
    threading.Thread(target=os.waitpid, args=(pid, 0), daemon=True).start()
    await _respond(send, 200, b"forked")


async def sse(scope, receive, send):
    """SSE-like: sends an event every 50 ms until receive() returns http.disconnect."""
    disconnected = asyncio.Event()

    async def watch():
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                disconnected.set()
                return

    watcher = asyncio.ensure_future(watch())
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
    i = 0
    try:
        while not disconnected.is_set():
            await send({"type": "http.response.body", "body": b"data: %d\n\n" % i, "more_body": True})
            i += 1
            try:
                await asyncio.wait_for(disconnected.wait(), 0.05)
            except asyncio.TimeoutError:
                pass
        _marker("sse-disconnect", str(i))
    except asyncio.CancelledError:
        _marker("sse-cancelled", str(i))
        raise
    finally:
        watcher.cancel()


async def _seen(scope, receive, send):
    await _respond_json(send, SEEN)


async def _getlog(scope, receive, send):
    await _respond_json(send, LOG.get(_query(scope).get("key", ""), []))


async def _inflight(scope, receive, send):
    await _respond_json(send, INFLIGHT)


async def options_star(scope, receive, send):
    await _respond(send, 200, b"options-star")


ROUTES = {
    "/": hello,
    "/hello": hello,
    "/echo-body": echo_body,
    "/stream": stream,
    "/stream-gated": stream_gated,
    "/open-gate": open_gate,
    "/app-te": app_te,
    "/bigresp": bigresp,
    "/headers-case": headers_case,
    "/error-before": error_before,
    "/error-after": error_after,
    "/error-after-chunked": error_after_chunked,
    "/no-response": no_response,
    "/invalid": invalid,
    "/extra-keys": extra_keys,
    "/cl-short": cl_short,
    "/cl-long": cl_long,
    "/noread": noread,
    "/expect": expect,
    "/state": state,
    "/wait-disconnect": wait_disconnect,
    "/after-complete": after_complete,
    "/pathsend": pathsend,
    "/sleep": sleep,
    "/block": block,
    "/fork": fork,
    "/sse": sse,
    "/__seen": _seen,
    "/__log": _getlog,
    "/inflight": _inflight,
    "*": options_star,
}


async def lifespan(scope, receive, send):
    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            st = scope.get("state")
            if st is not None:
                st["x"] = "from-lifespan"
                st["shared_list"] = []
            _marker("startup", str(os.getpid()))
            await send({"type": "lifespan.startup.complete"})
        elif msg["type"] == "lifespan.shutdown":
            _marker("shutdown", str(os.getpid()))
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await lifespan(scope, receive, send)
        return
    if scope["type"] != "http":
        raise RuntimeError(f"unsupported scope {scope['type']}")
    path = scope["path"]
    root = scope.get("root_path") or ""
    if root and path.startswith(root):
        path = path[len(root):] or "/"
    SEEN.append(scope["path"])
    handler = ROUTES.get(path)
    if handler is None:
        if path.startswith("/echo"):
            handler = echo
        elif path.startswith("/status/"):
            handler = status_app
        else:
            await _respond(send, 404, b"no route")
            return
    await handler(scope, receive, send)
