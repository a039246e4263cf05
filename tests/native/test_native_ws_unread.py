"""A native WebSocket route that sends to a client that never reads (issue 11, item 8):
graft_ws_send answers 1 ("slow: wait") once the connection's output is above its mark,
so a handler that honours it keeps the server's memory bounded (tests/native/libs/wsflood.c
sends up to 1000 messages of 64 KiB and stops at the first non-zero answer)."""

from __future__ import annotations

import sys
import time

from native_util import REPO, start_graft
from util import stop_and_check

sys.path.insert(0, str(REPO / "tests" / "websocket"))
from wsclient import OP_BINARY, WSClient  # noqa: E402


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_native_ws_send_to_unread_client_reports_slow(native_libs):
    srv = start_graft(["--native", native_libs["wsflood"], "--ws-per-message-deflate", "false"])
    try:
        rss0 = _rss_kb(srv.proc.pid)
        c = WSClient(srv.port, "/flood", timeout=30)
        try:
            time.sleep(1.0)
            stats = srv.get_json("/flood-stats")
            grew = (_rss_kb(srv.proc.pid) - rss0) // 1024
            assert stats["last_rc"] == 1, f"graft_ws_send never said the client is slow: {stats}"
            assert 0 < stats["sent"] < 250, stats
            assert grew < 24, f"server RSS grew by {grew} MiB for a client that reads nothing"
            for i in range(stats["sent"]):
                m = c.recv_message()
                assert m.opcode == OP_BINARY and len(m.data) == 65536, (i, m)
                assert m.data[:4] == i.to_bytes(4, "big"), f"message {i} out of order"
            assert c.echo("count?").text == f"sent {stats['sent']}"
            c.close_handshake()
        finally:
            c.close()
    finally:
        stop_and_check(srv)
