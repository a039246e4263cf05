"""Raw ASGI endpoints that use receive() and send() the way adapters and frameworks do
(tests/compat/test_receive_send.py). Each answers with JSON saying what it saw."""

import asyncio
import json
import threading


async def answer(send, obj, status=200):
    body = json.dumps(obj).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive):
    body = b""
    while True:
        m = await receive()
        if m["type"] == "http.disconnect":
            return None
        body += m.get("body", b"")
        if not m.get("more_body"):
            return body


async def coroutines(scope, receive, send):
    """receive()/send() are coroutines: iscoroutine, create_task, ensure_future, and
    run_coroutine_threadsafe from another thread, with the body arriving in pieces."""
    loop = asyncio.get_running_loop()
    seen = {"iscoroutine_receive": asyncio.iscoroutine(r := receive())}
    r.close()
    m = await asyncio.create_task(receive())
    body = m["body"]
    more = m["more_body"]

    def from_thread():
        nonlocal body, more
        while more:
            fut = asyncio.run_coroutine_threadsafe(receive(), loop)
            msg = fut.result(10)
            body += msg["body"]
            more = msg["more_body"]

    t = threading.Thread(target=from_thread)
    t.start()
    await loop.run_in_executor(None, t.join)
    seen["body_len"] = len(body)
    s = send({"type": "http.response.start", "status": 200, "headers": []})
    seen["iscoroutine_send"] = asyncio.iscoroutine(s)
    await asyncio.ensure_future(s)
    done = asyncio.run_coroutine_threadsafe
    payload = json.dumps(seen).encode()
    # send() from a thread too (a2wsgi does the same through a queue)
    await loop.run_in_executor(None, lambda: done(send({"type": "http.response.body", "body": payload}), loop).result(10))


async def wait_for_receive(scope, receive, send):
    """asyncio.wait_for(receive(), 0.05) while the body comes in slow pieces: a timed-out
    receive() consumes nothing and does not poison the next one."""
    body = b""
    timeouts = 0
    while True:
        try:
            m = await asyncio.wait_for(receive(), 0.05)
        except asyncio.TimeoutError:
            timeouts += 1
            continue
        body += m.get("body", b"")
        if m["type"] != "http.request" or not m.get("more_body"):
            break
    await answer(send, {"body": body.decode(), "timeouts": timeouts > 0})


async def two_waiters(scope, receive, send):
    """Two tasks wait in receive(); the first is cancelled: the second still gets the
    body, exactly once, and nothing is lost."""
    first = asyncio.create_task(receive())
    await asyncio.sleep(0.01)
    second = asyncio.create_task(receive())
    await asyncio.sleep(0.01)
    first.cancel()
    await asyncio.sleep(0)
    m = await asyncio.wait_for(second, 5)
    body = m.get("body", b"")
    more = m.get("more_body", False)
    while more:
        m = await receive()
        body += m.get("body", b"")
        more = m.get("more_body", False)
    await answer(send, {"first_cancelled": first.cancelled(), "body": body.decode()})


async def served_then_cancelled(scope, receive, send):
    """A task's receive() is handed the body, then the task is cancelled before it resumes
    (what a wait_for timeout racing the body's arrival does): the body is not lost, the next
    receive() gets it."""
    t = asyncio.create_task(receive())
    await asyncio.sleep(0)
    # Step every loop iteration, so this task runs before t's wake-up once the body came.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while loop.time() < deadline:
        w = t._fut_waiter
        if t.done() or (w is not None and w.done()):
            break
        await asyncio.sleep(0)
    cancelled = t.cancel()
    if cancelled:
        try:
            await t
        except asyncio.CancelledError:
            pass
        m = await asyncio.wait_for(receive(), 5)
    else:
        m = t.result()
    await answer(send, {"body": m.get("body", b"").decode(), "more": m.get("more_body"),
                        "task_cancelled": cancelled})


async def ws_coroutines(scope, receive, send):
    """The WebSocket receive()/send() are coroutines too: create_task, ensure_future, and
    run_coroutine_threadsafe from another thread (waiting for the client's message)."""
    loop = asyncio.get_running_loop()
    r = receive()
    is_coro = asyncio.iscoroutine(r)
    assert (await asyncio.create_task(r))["type"] == "websocket.connect"
    await asyncio.ensure_future(send({"type": "websocket.accept"}))

    def from_thread():
        msg = asyncio.run_coroutine_threadsafe(receive(), loop).result(10)
        reply = {"type": "websocket.send", "text": json.dumps({"iscoroutine": is_coro, "got": msg.get("text")})}
        asyncio.run_coroutine_threadsafe(send(reply), loop).result(10)

    await loop.run_in_executor(None, from_thread)
    m = await receive()
    assert m["type"] == "websocket.disconnect", m


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            m = await receive()
            if m["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await ws_coroutines(scope, receive, send)
        return
    handler = {"/coroutines": coroutines, "/wait-for-receive": wait_for_receive,
               "/two-waiters": two_waiters,
               "/served-then-cancelled": served_then_cancelled}.get(scope["path"])
    if handler is None:
        await answer(send, {"path": scope["path"]})
        return
    await handler(scope, receive, send)
