"""Interop with the ``websockets`` client library (the one uvicorn itself uses):
echo, compression on/off and with parameters, large and many messages, close codes
in both directions, subprotocols, handshake refusals, pings both ways.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK, InvalidStatus
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.sync.client import connect


def ws_connect(server, path="/echo", **kw):
    kw.setdefault("open_timeout", 5)
    kw.setdefault("close_timeout", 5)
    kw.setdefault("proxy", None)
    return connect(f"ws://127.0.0.1:{server.port}{path}", **kw)


def extensions_header(ws) -> str | None:
    return ws.response.headers.get("Sec-WebSocket-Extensions")


@pytest.mark.parametrize("compression", ["deflate", None])
def test_echo_text_and_binary(ws_server, compression):
    with ws_connect(ws_server, compression=compression) as ws:
        if compression:
            assert extensions_header(ws).startswith("permessage-deflate")
        else:
            assert extensions_header(ws) is None
        for msg in ["hello", "", "ünïcödé ✓ 😀", "x" * 10000]:
            ws.send(msg)
            assert ws.recv(timeout=5) == msg
        for data in [b"\x00\x01\x02", b"", os.urandom(70000)]:
            ws.send(data)
            got = ws.recv(timeout=5)
            assert isinstance(got, bytes) and got == data


@pytest.mark.parametrize("compression", ["deflate", None])
@pytest.mark.parametrize("size", [1 << 20, 10 << 20])
def test_large_messages(ws_server, compression, size):
    data = os.urandom(size // 2) * 2  # half-compressible
    with ws_connect(ws_server, compression=compression, max_size=None) as ws:
        ws.send(data)
        assert ws.recv(timeout=20) == data
        text = "abcdefghij" * (size // 10)
        ws.send(text)
        assert ws.recv(timeout=20) == text


@pytest.mark.parametrize("compression", ["deflate", None])
def test_many_messages(ws_server, compression):
    with ws_connect(ws_server, compression=compression) as ws:
        for i in range(0, 2000, 100):  # 100 in flight at a time
            for j in range(i, i + 100):
                ws.send(f"message {j}" if j % 2 else f"message {j}".encode())
            for j in range(i, i + 100):
                got = ws.recv(timeout=5)
                assert got == (f"message {j}" if j % 2 else f"message {j}".encode())


def test_fragmented_send(ws_server):
    with ws_connect(ws_server) as ws:
        ws.send(iter(["frag", "men", "ted"]))
        assert ws.recv(timeout=5) == "fragmented"
        ws.send(iter([b"\x01", b"\x02" * 1000, b"\x03"]))
        assert ws.recv(timeout=5) == b"\x01" + b"\x02" * 1000 + b"\x03"


@pytest.mark.parametrize("factory_kw", [
    {"server_no_context_takeover": True, "client_no_context_takeover": True},
    {"server_max_window_bits": 10, "client_max_window_bits": 10},
    {"server_max_window_bits": 9, "client_max_window_bits": 12, "server_no_context_takeover": True},
], ids=["no-context", "window-10", "mixed"])
def test_deflate_parameters(ws_server, factory_kw):
    ext = ClientPerMessageDeflateFactory(**factory_kw)
    with ws_connect(ws_server, compression=None, extensions=[ext]) as ws:
        hdr = extensions_header(ws)
        assert hdr and hdr.startswith("permessage-deflate"), hdr
        for i in range(20):
            msg = f"{i} " + "the quick brown fox jumps over the lazy dog " * (i * 50 + 1)
            ws.send(msg)
            assert ws.recv(timeout=5) == msg


@pytest.mark.parametrize("code,reason", [(1000, ""), (1001, "leaving"), (4000, "custom ✓"), (3999, "")])
def test_client_close_code_echoed(ws_server, code, reason):
    with ws_connect(ws_server) as ws:
        ws.send("x")
        assert ws.recv(timeout=5) == "x"
        ws.close(code, reason)
        assert ws.close_code == code
        assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == code


@pytest.mark.parametrize("code,reason,exc", [(1000, "done", ConnectionClosedOK), (4005, "app code", ConnectionClosedError),
                                              (1008, "policy", ConnectionClosedError)])
def test_server_close_code_received(ws_server, code, reason, exc):
    with ws_connect(ws_server, f"/close?code={code}&reason={reason.replace(' ', '%20')}") as ws:
        assert ws.recv(timeout=5) == "ready"
        with pytest.raises(exc) as ei:
            ws.recv(timeout=5)
        assert ei.value.rcvd.code == code and ei.value.rcvd.reason == reason


def test_app_exception_1011(ws_server):
    with ws_connect(ws_server, "/raise-after") as ws:
        assert ws.recv(timeout=5) == "ready"
        with pytest.raises(ConnectionClosedError) as ei:
            ws.recv(timeout=5)
        assert ei.value.rcvd.code == 1011


def test_subprotocol(ws_server):
    with ws_connect(ws_server, "/subprotocol", subprotocols=["superchat", "chat"]) as ws:
        assert ws.subprotocol == "chat"
        assert ws.recv(timeout=5) == '["superchat", "chat"]'


@pytest.mark.parametrize("path,status", [("/reject", 403), ("/deny", 418), ("/raise-before", 500),
                                         ("/return-before", 500)])
def test_handshake_refused(ws_server, path, status):
    with pytest.raises(InvalidStatus) as ei:
        ws_connect(ws_server, path)
    assert ei.value.response.status_code == status
    if path == "/deny":
        assert ei.value.response.body == b"no websocket for you"


def test_client_ping(ws_server):
    with ws_connect(ws_server) as ws:
        for payload in (b"", b"abc", os.urandom(125)):
            assert ws.ping(payload).wait(5)
        latency = ws.ping().wait(5)
        assert latency


def test_server_pings_answered_by_library(server_factory):
    srv = server_factory(extra=["--ws-ping-interval", "0.3", "--ws-ping-timeout", "1"])
    with ws_connect(srv, ping_interval=None) as ws:
        time.sleep(2.5)  # several ping intervals; the library answers each ping
        ws.send("alive")
        assert ws.recv(timeout=5) == "alive"


def test_concurrent_clients(ws_server):
    errors: list[BaseException] = []

    def client(n):
        try:
            with ws_connect(ws_server, compression="deflate" if n % 2 else None) as ws:
                for i in range(50):
                    msg = f"client {n} message {i} " * (n + 1)
                    ws.send(msg)
                    assert ws.recv(timeout=10) == msg
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors[:3]


def test_connection_closed_after_server_close(ws_server):
    with ws_connect(ws_server, "/return-after") as ws:
        assert ws.recv(timeout=5) == "ready"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == 1000
