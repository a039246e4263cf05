"""The metrics and control listeners and the shared region behind them (issue 8).

``setup(config)`` runs once, in the process that forks the workers (or serves alone), before
any fork: it creates the shared region (``_graft.shared_new``: live route modes and one
metrics slot per worker) and binds ``--metrics HOST:PORT`` and ``--control PATH``. Every worker
inherits them and serves them from its engine like the main listener (the engine answers
admin requests in C; see docs/ARCHITECTURE.md), so whichever worker accepts gives the same
answer. Nothing is created, and nothing recorded, without either option.
"""

from __future__ import annotations

import logging
import os
import socket
import stat
import sys
from typing import Any

logger = logging.getLogger("graft.error")

# The engine's listener kinds (engine.h GRAFT__LISTEN_*).
LISTEN_APP, LISTEN_METRICS, LISTEN_CONTROL = 0, 1, 2


def split_host_port(value: str) -> tuple[str, int]:
    """'HOST:PORT' (IPv6 as '[::1]:9100') -> (host, port); ValueError when malformed."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--metrics {value!r}: expected HOST:PORT, e.g. 127.0.0.1:9100")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def _bind_metrics(value: str, backlog: int) -> socket.socket:
    host, port = split_host_port(value)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        logger.error("Cannot listen for --metrics on %s: %s", value, exc)
        sys.exit(1)
    logger.info("Metrics on http://%s:%d/metrics", host, sock.getsockname()[1])
    return sock


def _bind_control(path: str, backlog: int) -> socket.socket:
    from graft.config import remove_stale_socket

    remove_stale_socket(path, "--control")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # born 0600: no moment at which another user could connect
    try:
        sock.bind(path)
        os.chmod(path, 0o600)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        logger.error("Cannot bind --control %s: %s", path, exc)
        sys.exit(1)
    finally:
        os.umask(old)
    logger.info("Control socket %s", path)
    return sock


def setup(config: Any) -> None:
    """Create the region and bind the admin listeners once (a no-op without the options)."""
    if config.shared is not None or not (config.metrics or config.control):
        return
    from graft import _graft

    config.shared = _graft.shared_new()
    if config.metrics:
        config.admin_sockets.append(_bind_metrics(config.metrics, config.backlog))
        config.admin_kinds.append(LISTEN_METRICS)
    if config.control:
        config.admin_sockets.append(_bind_control(config.control, config.backlog))
        config.admin_kinds.append(LISTEN_CONTROL)


def close(config: Any) -> None:
    """Close the admin listeners and remove the control socket file (the creator's job)."""
    for sock in config.admin_sockets:
        sock.close()
    config.admin_sockets = []
    config.admin_kinds = []
    if config.control:
        try:
            if stat.S_ISSOCK(os.stat(config.control).st_mode):
                os.remove(config.control)
        except OSError:
            pass
