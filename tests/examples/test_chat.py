"""The native WebSocket chat example (examples/chat/chat.c) under graft, in front of its
FastAPI app, and under graft-serve with no Python: broadcast within a room, isolation between
rooms, close codes, and who answers what."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import websockets

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "server"))
sys.path.insert(0, str(REPO / "tests" / "native"))

from native_util import ServeProcess, build_cmd  # noqa: E402
from util import Server, stop_and_check  # noqa: E402

CHAT_C = REPO / "examples" / "chat" / "chat.c"


@pytest.fixture(scope="module")
def chat_so(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("chat") / "chat.so"
    r = subprocess.run(build_cmd(CHAT_C, out), shell=True, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return out


@pytest.fixture(scope="module", params=["graft", "graft-serve"])
def chat_server(request, chat_so):
    if request.param == "graft":
        srv = Server("examples.chat.app:app", ["--native", str(chat_so)], impl="graft").start()
        yield request.param, srv.port
        stop_and_check(srv)
    else:
        srv = ServeProcess([chat_so]).start()
        yield request.param, srv.port
        assert srv.stop() == 0
        srv.cleanup()


async def _recv(ws, timeout=5):
    return await asyncio.wait_for(ws.recv(), timeout)


def test_broadcast_within_a_room_only(chat_server):
    _, port = chat_server

    async def main():
        base = f"ws://127.0.0.1:{port}/chat"
        async with websockets.connect(f"{base}/red") as a:
            assert await _recv(a) == "* someone joined red"
            async with websockets.connect(f"{base}/red") as b, websockets.connect(f"{base}/blue") as c:
                assert await _recv(b) == "* someone joined red"
                assert await _recv(a) == "* someone joined red"
                assert await _recv(c) == "* someone joined blue"
                await a.send("hello red")
                assert await _recv(a) == "hello red"
                assert await _recv(b) == "hello red"
                await c.send("hello blue")
                assert await _recv(c) == "hello blue"
                # the red members got nothing from blue: their next message is b's
                await b.send("from b")
                assert await _recv(a) == "from b"
                assert await _recv(b) == "from b"
            # b left (and c, in another room): a hears b leave
            assert await _recv(a) == "* someone left red"

    asyncio.run(main())


def test_binary_is_refused_with_1003(chat_server):
    _, port = chat_server

    async def main():
        async with websockets.connect(f"ws://127.0.0.1:{port}/chat/x") as ws:
            await _recv(ws)
            await ws.send(b"\x00\x01")
            with pytest.raises(websockets.ConnectionClosed) as exc:
                await _recv(ws)
            assert exc.value.rcvd is not None and exc.value.rcvd.code == 1003
            assert exc.value.rcvd.reason == "text only"

    asyncio.run(main())


def test_who_answers_what(chat_server):
    kind, port = chat_server
    page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
    plain_get = httpx.get(f"http://127.0.0.1:{port}/chat/lobby", timeout=5)
    if kind == "graft":
        # the page and plain GETs are Python's; only the upgrade is native
        assert page.status_code == 200 and "new WebSocket" in page.text
        assert plain_get.status_code == 404 and plain_get.json() == {"detail": "Not Found"}
    else:
        assert page.status_code == 404 and page.text == "Not Found"
        assert plain_get.status_code == 404


def test_unmatched_websocket_path_goes_to_the_app(chat_server):
    kind, port = chat_server

    async def main():
        try:
            async with websockets.connect(f"ws://127.0.0.1:{port}/nowhere"):
                return None
        except websockets.InvalidStatus as e:
            return e.response.status_code

    status = asyncio.run(main())
    # FastAPI refuses an unknown WebSocket path with 403 (close before accept); graft-serve 404s
    assert status == (403 if kind == "graft" else 404)
