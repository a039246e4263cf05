"""Clients that never read (issue 11, item 8): whatever they make the server send — pongs
to their pings, messages an app sends — the server's memory must stay bounded; the
server stops reading (pings) or makes the sender wait (apps), and nothing is lost once
the client reads again.

Memory is the server process's VmRSS before and after the flood. Every loop is bounded
by a byte count and a deadline.
"""

from __future__ import annotations

import json
import select
import signal
import socket
import time

from util import clean_exit_codes
from wsclient import OP_BINARY, OP_PING, OP_PONG, WSClient, encode_frame


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _flood(sock: socket.socket, chunk: bytes, total: int, seconds: float) -> int:
    """Writes chunk repeatedly until total bytes went out or seconds passed (the server
    stopped reading); returns the bytes written. Never blocks past the deadline."""
    sock.setblocking(False)
    sent, pos = 0, 0
    deadline = time.monotonic() + seconds
    try:
        while sent < total:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            _, w, _ = select.select([], [sock], [], min(left, 0.2))
            if not w:
                continue
            try:
                n = sock.send(chunk[pos:])
            except BlockingIOError:
                continue
            sent += n
            pos = (pos + n) % len(chunk)
    finally:
        sock.setblocking(True)
    return sent


def _read_exact(c: WSClient, n: int, timeout: float) -> bytes:
    """n raw bytes from the connection (its buffer first)."""
    deadline = time.monotonic() + timeout
    parts = [c.buf]
    have = len(c.buf)
    c.sock.settimeout(1.0)
    while have < n and time.monotonic() < deadline:
        try:
            b = c.sock.recv(min(1 << 20, n - have))
        except socket.timeout:
            continue
        if not b:
            break
        parts.append(b)
        have += len(b)
    data = b"".join(parts)
    c.buf = data[n:]
    return data[:n]


def test_ping_flood_without_reading_is_bounded(server_factory):
    """A client floods 125-byte pings and never reads: every ping queues a 127-byte pong.
    The server must stop reading frames while its output for the connection is above the
    high-water mark, instead of queueing pongs without limit. Once the client reads, every
    ping it managed to send has its pong, and the connection still echoes."""
    # no server pings: the bytes read back must be exactly the pongs
    srv = server_factory(extra=["--ws-per-message-deflate", "false", "--ws-ping-interval", "0"])
    c = WSClient(srv.port, "/echo", timeout=30)
    try:
        assert c.echo("warm-up").text == "warm-up"
        payload = bytes(range(125))
        one = encode_frame(OP_PING, payload, mask_key=b"\x01\x02\x03\x04")
        chunk = one * 8192                      # ~1 MiB of pings per write cycle
        total = 64 * len(chunk)                  # 64 MiB at most, 64 MiB of pongs unbounded
        rss0 = _rss_kb(srv.proc.pid)
        sent = _flood(c.sock, chunk, total, seconds=3.0)
        time.sleep(0.5)                          # let the server work through what it read
        rss1 = _rss_kb(srv.proc.pid)
        assert srv.alive(), srv.output()
        grew = (rss1 - rss0) // 1024
        assert grew < 16, f"server RSS grew by {grew} MiB queueing pongs for a client that reads nothing"
        assert sent < total, "the server read 64 MiB of pings without ever stopping"
        pings = sent // len(one)                 # whole pings (a torn last one is completed below)
        rest = sent - pings * len(one)
        if rest:
            c.send(one[rest:])
            pings += 1
        pong = bytes([0x8A, 125]) + payload
        got = _read_exact(c, pings * len(pong), timeout=30)
        assert len(got) == pings * len(pong), f"{len(got) // len(pong)} of {pings} pongs"
        assert got == pong * pings, "pongs lost or garbled"
        assert c.echo("after").text == "after"
        c.close_handshake()
    finally:
        c.close()


def test_asgi_send_loop_without_reading_waits(server_factory):
    """An ASGI app sends 1000 messages of 64 KiB (62.5 MiB) in a loop to a client that reads
    nothing: send() must make the app wait once the connection's output is above its mark,
    so the server does not grow by what the app wants to send. Once the client reads, every
    message arrives, in order, and the app finishes its loop."""
    n, size = 1000, 65536
    srv = server_factory(extra=["--ws-per-message-deflate", "false"])
    rss0 = _rss_kb(srv.proc.pid)
    c = WSClient(srv.port, f"/flood?n={n}&size={size}&key=unread", timeout=30)
    try:
        time.sleep(2.0)
        rss1 = _rss_kb(srv.proc.pid)
        progress = srv.get_json("/__log?key=unread")
        assert srv.alive(), srv.output()
        grew = (rss1 - rss0) // 1024
        assert grew < 24, f"server RSS grew by {grew} MiB while the client read nothing"
        assert progress and progress[0] < n // 4, f"the app sent {progress} of {n} messages unhindered"
        deadline = time.monotonic() + 60
        for i in range(n):
            m = c.recv_message(max(0.1, deadline - time.monotonic()))
            assert m.opcode == OP_BINARY and len(m.data) == size, (i, m)
            assert m.data[:4] == i.to_bytes(4, "big"), f"message {i} out of order: {m.data[:4]!r}"
        assert srv.get_json("/__log?key=unread") == [n]
        assert c.echo("done").text == "done"
        c.close_handshake()
    finally:
        c.close()


def test_receive_after_server_freed_with_messages_queued(server_factory, tmp_path):
    """Issue 11 item 4: an app that calls receive() only after the server let go of the
    connection (graceful timeout, engine freed, task cancelled at exit) with messages still
    queued. receive() must hand over the queued messages and then the disconnect, reading
    nothing the engine owned (under ASan, `make test-asan`, this was a heap-use-after-free
    that aborted the server)."""
    srv = server_factory(extra=["--timeout-graceful-shutdown", "0.3"],
                         env={"WS_APPS_MARKER_DIR": str(tmp_path)})
    c = WSClient(srv.port, "/late-receive?key=late")
    try:
        assert c.recv_message().text == "ready"
        for i in range(3):
            c.send_text(f"queued {i}")
        c.send_ping(b"sync")                     # frames are handled in order: once the pong
        f = c.recv_frame()                       # is back, the messages are queued for the app
        assert f.opcode == OP_PONG and f.payload == b"sync", f
        srv.send_signal(signal.SIGTERM)
        assert c.recv_close(5).close_code == 1012
        rc = srv.wait(10)                        # the client never answers the close
        assert rc in clean_exit_codes(srv.impl), f"exit {rc} (None: still running)\n{srv.output()}"
        assert "AddressSanitizer" not in srv.output(), srv.output()
    finally:
        c.close()
    got = json.loads((tmp_path / "late.json").read_text())
    assert [m.get("text") for m in got[:3]] == [f"queued {i}" for i in range(3)], got
    assert got[3]["type"] == "websocket.disconnect" and got[3]["code"] == 1012, got
