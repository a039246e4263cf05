"""Helpers for the hardening and load tests: slow readers, pipelined floods, and the
server's memory and CPU as the kernel reports them (the whole process tree)."""

from __future__ import annotations

import os
import re
import select
import socket
import time

from util import HOST, parse_response


def _children(pid: int) -> list[int]:
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return kids


def tree(pid: int) -> list[int]:
    """pid and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += _children(p)
    return out


def rss_kib(pid: int) -> int:
    """Resident memory of pid's whole process tree, in KiB."""
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of pid (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def slow_read(sock: socket.socket, rate: float, limit: int, timeout: float) -> bytes:
    """Reads at about ``rate`` bytes/s until EOF, ``limit`` bytes, or ``timeout``."""
    buf = bytearray()
    start = time.monotonic()
    while len(buf) < limit:
        now = time.monotonic()
        if now - start > timeout:
            break
        ahead = len(buf) / rate - (now - start)
        if ahead > 0:
            time.sleep(min(ahead, 0.05))
            continue
        r, _, _ = select.select([sock], [], [], 0.5)
        if not r:
            continue
        try:
            chunk = sock.recv(min(65536, limit - len(buf)))
        except (ConnectionResetError, ConnectionAbortedError):
            break
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def small_rcvbuf_conn(port: int, rcvbuf: int = 32768) -> socket.socket:
    """A client socket whose receive buffer is small, so the server's output queues up."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10)
    s.connect((HOST, port))
    return s


def read_responses(sock: socket.socket, n: int, timeout: float, method: str = "GET",
                   prefix: bytes = b""):
    """Reads until n complete responses are parsed (or EOF/timeout), after the bytes already
    received in ``prefix``; returns (responses, rest). A response with a content-length is
    parsed once all of it is here, so many-MiB answers cost no quadratic re-parsing."""
    buf = bytearray(prefix)
    out = []
    need = None  # bytes the response at the front needs, once its head is known
    deadline = time.monotonic() + timeout
    eof = False
    while len(out) < n:
        if need is None or len(buf) >= need or eof:
            resp, used = parse_response(bytes(buf), method=method, eof=eof)
            if resp is not None:
                out.append(resp)
                del buf[:used]
                need = None
                continue
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                m = re.search(rb"(?im)^content-length:[ \t]*(\d+)", bytes(buf[:end]))
                need = end + 4 + int(m.group(1)) if m else None
        if eof:
            break
        r, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        try:
            chunk = sock.recv(1 << 20)
        except (ConnectionResetError, ConnectionAbortedError):
            chunk = b""
        if not chunk:
            eof = True
        buf += chunk
    return out, bytes(buf)
