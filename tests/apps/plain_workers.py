"""Runs graft's Supervisor around a tiny blocking pure-Python HTTP responder.

This exercises the supervisor (fork, respawn, signals, shutdown) without the C server:
``python -m tests.apps.plain_workers FD WORKERS [MODE] [GRACE]`` where MODE is
"normal", "bootfail" (workers exit 3 at once), "oneboots" (the first worker to create the file
$PLAIN_MARKER serves, every other one exits 3) or "stubborn" (workers ignore SIGTERM).
Each response body is the worker's pid.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import time

from graft.config import Config
from graft.supervisor import Supervisor, notify_ready


def _respond(conn: socket.socket) -> None:
    conn.settimeout(5)
    data = b""
    deadline = time.monotonic() + 5
    while b"\r\n\r\n" not in data and time.monotonic() < deadline:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk
    body = str(os.getpid()).encode()
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
    )


def make_target(mode: str, config: Config):
    def target(sockets: list[socket.socket]) -> int:
        if mode == "bootfail":
            return 3
        if mode == "oneboots":
            try:
                os.close(os.open(os.environ["PLAIN_MARKER"], os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return 3
        stop = False

        def on_term(signum, frame):
            nonlocal stop
            stop = True

        if mode == "stubborn":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        else:
            signal.signal(signal.SIGTERM, on_term)
        sock = sockets[0]
        notify_ready(config)  # accepting from here on: a SIGHUP reload may retire the old workers
        while not stop:
            readable, _, _ = select.select([sock], [], [], 0.1)
            if not readable:
                continue
            try:
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError):
                continue  # another worker took it
            with conn:
                try:
                    _respond(conn)
                except OSError:
                    pass
        return 0

    return target


def main(argv: list[str]) -> int:
    fd, workers = int(argv[0]), int(argv[1])
    mode = argv[2] if len(argv) > 2 else "normal"
    grace = float(argv[3]) if len(argv) > 3 else None
    config = Config("tests.apps.pid_app:app", fd=fd, workers=workers, timeout_graceful_shutdown=grace)
    sock = config.bind_socket()
    return Supervisor(config, target=make_target(mode, config), sockets=[sock]).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
