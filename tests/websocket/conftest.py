"""Fixtures for the WebSocket tests: graft serving tests/apps/ws_apps.py on a
socket bound here (--fd), SIGTERM teardown that must exit 0 (tests/server/util.py).

``ws_server``          module-scoped, default options (permessage-deflate on)
``ws_server_nodeflate`` module-scoped, --ws-per-message-deflate false
``server_factory``     servers with custom options inside a test
``ws``                 ``ws(path="/echo", **WSClient options)`` opens a connection to
                       ws_server (handshake done); all are closed at teardown
"""

from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
sys.path.insert(0, HERE)

from util import Server, stop_and_check, managed_servers  # noqa: E402
from wsclient import WSClient  # noqa: E402

APP = "ws_apps:app"


@pytest.fixture(scope="module")
def ws_server():
    s = Server(APP).start()
    yield s
    stop_and_check(s)


@pytest.fixture(scope="module")
def ws_server_nodeflate():
    s = Server(APP, ["--ws-per-message-deflate", "false"]).start()
    yield s
    stop_and_check(s)


@pytest.fixture
def ws(ws_server):
    opened: list[WSClient] = []

    def connect(path: str = "/echo", **kw) -> WSClient:
        c = WSClient(ws_server.port, path, **kw)
        opened.append(c)
        return c

    yield connect
    for c in opened:
        c.close()


@pytest.fixture
def server_factory():
    """``srv = server_factory(extra=["--ws-max-size", "1024"])``; servers still running at
    teardown get SIGTERM and must exit 0."""
    yield from managed_servers(APP)
