"""The server process: lifespan, sockets, the C engine on the running loop, signals, shutdown.

Threads: this (Python) thread runs the asyncio loop and every app coroutine. While the loop
is idle it also reads and parses requests itself, in C with the GIL released (io_poll="loop");
the C engine's I/O threads take the connections over while the loop is blocked, and hand
requests over through one eventfd the loop watches (see docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import socket
import sys
import threading
import time
from typing import Any

from graft import _graft
from graft.config import Config
from graft.lifespan import Lifespan

logger = logging.getLogger("graft.error")
access_logger = logging.getLogger("graft.access")
shadow_logger = logging.getLogger("graft.shadow")

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _log_error(message: str, exc: BaseException | None) -> None:
    if exc is not None:
        logger.error(message.rstrip(), exc_info=(type(exc), exc, exc.__traceback__))
    else:
        logger.error(message)


def _access(client: str, method: str, root_path: str, target: str, version: str, status: int) -> None:
    access_logger.info('%s - "%s %s HTTP/%s" %d', client, method, root_path + target, version, status)


def _format_access(fmt: Any) -> Any:
    """The access callback for --access-log-format: the C side adds the extra tuple it asks for."""
    render = fmt.render
    info = access_logger.info

    def access(client: str, method: str, root_path: str, target: str, version: str, status: int, extra: tuple) -> None:
        info(render(client, method, root_path, target, version, status, extra))

    return access


def _ws_log(client: str, root_path: str, target: str, status: int) -> None:
    """A WebSocket handshake's outcome, on the error logger at INFO as uvicorn logs it."""
    if status:
        logger.info('%s - "WebSocket %s" %d', client, root_path + target, status)
    else:
        logger.info('%s - "WebSocket %s" [accepted]', client, root_path + target)


class Server:
    """One server process: ``await serve()`` inside a loop, or ``run()`` to own the loop."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.started = False
        self.should_exit = False
        self.force_exit = False
        self.core: Any = None
        self._exit_event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.limit_max_requests = self._pick_limit_max_requests(config)

    @staticmethod
    def _pick_limit_max_requests(config: Config) -> int | None:
        """uvicorn's meaning: each worker's own limit is --limit-max-requests plus a random
        0..--limit-max-requests-jitter, so workers started together do not all restart at once."""
        base = config.limit_max_requests
        if base is None:
            return None
        jitter = getattr(config, "limit_max_requests_jitter", 0) or 0
        limit = base + random.randint(0, jitter)
        if jitter:
            logger.debug("This worker's request limit: %d (--limit-max-requests %d + jitter up to %d).",
                         limit, base, jitter)
        return limit

    # -- entry points -------------------------------------------------------------------------
    def run(self, sockets: list[socket.socket] | None = None) -> None:
        """Run until stopped, on a new event loop (uvloop when configured and installed)."""
        factory = self.config.setup_event_loop()
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(self.serve(sockets=sockets))

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        """Serve until a signal, ``should_exit`` or the request limit; then shut down gracefully."""
        config = self.config
        if not config.loaded:
            config.load()
        self._loop = asyncio.get_running_loop()
        self._exit_event = asyncio.Event()
        self._install_signal_handlers()
        logger.info("Started server process [%d]", os.getpid())
        self.lifespan = Lifespan(config)
        await self.lifespan.startup()
        if self.lifespan.should_exit or getattr(self.lifespan, "startup_failed", False):
            return
        try:
            self._start_core(sockets)
        except (OSError, RuntimeError) as exc:
            logger.error("%s", exc)
            await self.lifespan.shutdown()
            sys.exit(1)
        self.started = True
        from graft.supervisor import notify_ready

        notify_ready(config)  # after lifespan startup, with the engine accepting
        if not self.should_exit:
            await self._exit_event.wait()
        await self.shutdown()

    # -- start --------------------------------------------------------------------------------
    def _start_core(self, sockets: list[socket.socket] | None) -> None:
        config = self.config
        if sockets is None:
            sockets = [config.bind_socket()]
            self._own_sockets = sockets
        fds = []
        unix_path = None
        for sock in sockets:
            sock.setblocking(False)
            fds.append(os.dup(sock.fileno()))  # the engine closes its copies
            if sock.family == socket.AF_UNIX:
                unix_path = sock.getsockname()
        from graft import admin

        admin.setup(config)  # done already by serve() (before the fork); here when embedded
        kinds = [admin.LISTEN_APP] * len(fds)
        for sock, kind in zip(config.admin_sockets, config.admin_kinds):
            sock.setblocking(False)
            fds.append(os.dup(sock.fileno()))
            kinds.append(kind)
        trusted = None
        if config.proxy_headers:
            trusted = [ip.strip() for ip in config.forwarded_allow_ips if ip.strip()]
        access = _access if config.access_log and access_logger.isEnabledFor(logging.INFO) else None
        fmt = config.access_log_format
        if access is not None and fmt is not None:
            access = _format_access(fmt)
        self.core = _graft.Server(
            config.loaded_app,
            self._loop,
            fds,
            self.lifespan.state,
            _log_error,
            access,
            config.root_path,
            list(config.encoded_headers),  # server header first, then --header values
            False,
            config.date_header,
            trusted,
            config.threads,
            limit_request_line=config.limit_request_line,
            limit_request_head=config.limit_request_head,
            limit_request_fields=config.limit_request_fields,
            limit_request_body=config.limit_request_body or 0,
            timeout_keep_alive=float(config.timeout_keep_alive),
            timeout_request_header=float(config.timeout_request_header),
            timeout_body_read=float(config.timeout_body_read),
            timeout_send=float(config.timeout_send),
            timeout_linger=float(config.timeout_linger),
            timeout_linger_idle=float(config.timeout_linger_idle),
            limit_linger=config.limit_linger,
            limit_concurrency=config.limit_concurrency or 0,
            limit_max_requests=self.limit_max_requests or 0,
            on_max_requests=self._max_requests_reached,
            unix_path=unix_path,
            native=list(config.native or []),
            blocking_threads=config.blocking_threads,
            ws=config.ws_enabled,
            ws_max_size=config.ws_max_size,
            ws_max_queue=config.ws_max_queue,
            ws_ping_interval=float(config.ws_ping_interval or 0),
            ws_ping_timeout=float(config.ws_ping_timeout or 0),
            ws_per_message_deflate=config.ws_per_message_deflate,
            io_poll=config.io_poll == "loop",
            on_handoff=self._on_handoff,
            ws_log=_ws_log,
            pathsend=config.pathsend,
            shared=config.shared,
            slot=config.metrics_slot,
            listen_kinds=kinds,
            health_path=config.health_path,
            access_format=fmt.needs if access is not None and fmt is not None else None,
            tls=config.tls_spec,
        )
        if config.native:
            shadow_fd = self.core.set_shadow(config.shadow_log, float(config.shadow_timeout))
            if shadow_fd is not None:
                self._shadow_fd = shadow_fd
                self._loop.add_reader(shadow_fd, self._log_shadow)
        if config.native:
            self._set_contracts(config.loaded_app)
        for spec in config.route_mode:
            self.core.set_route_mode(spec)
        self._loop.add_reader(self.core.fileno(), self.core.drain)
        self.core.start()

    def _set_contracts(self, app) -> None:
        """Route contracts for the native routes from the app's OpenAPI document (FastAPI's
        app.openapi()); an app without one gives none (graft_validate then declines)."""
        from graft.openapi import contracts_text

        try:
            text = contracts_text(app)
        except Exception as exc:  # the app's own openapi() failed: serve without contracts
            logger.warning("Route contracts: app.openapi() failed (%s: %s); native routes get none "
                           "(graft_validate declines to the app).", type(exc).__name__, exc)
            return
        if text is None:
            return
        try:
            lines = self.core.set_contracts(text)
        except ValueError as exc:  # not a document the native layer can read
            logger.warning("Route contracts: %s; native routes get none.", exc)
            return
        for line in lines:
            if line.startswith("W "):
                logger.warning("Native route %s", line[2:])
            elif line.startswith("V "):
                logger.warning("Route contracts: %s", line[2:])
            else:
                logger.debug("Native route %s", line[2:])

    def _log_shadow(self) -> None:
        for line in self.core.shadow_lines():
            shadow_logger.warning("%s", line)

    @staticmethod
    def _on_handoff(thread: int) -> None:
        logger.debug("I/O thread %d served its connections while the event loop was blocked; "
                     "the loop polls them again.", thread)

    def _max_requests_reached(self) -> None:
        logger.warning("Maximum request limit of %d exceeded. Terminating process.",
                       self.limit_max_requests)
        self._request_exit()

    # -- signals ------------------------------------------------------------------------------
    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # embedded in a thread: the host owns signals
        for sig in HANDLED_SIGNALS:
            try:
                self._loop.add_signal_handler(sig, self.handle_exit, sig)
            except (NotImplementedError, RuntimeError):
                signal.signal(sig, lambda s, f: self._loop.call_soon_threadsafe(self.handle_exit, s))
        if self.config.is_ssl and self.config.ready_fd < 0:
            # One process (no supervisor): SIGHUP re-reads certificate and key only; open
            # connections stay. Under --workers the supervisor's reload starts new workers.
            self._loop.add_signal_handler(signal.SIGHUP, self.reload_tls)

    def reload_tls(self) -> None:
        """Re-read the TLS certificate and key for new handshakes; on failure keep the old."""
        if self.core is None:
            return
        try:
            self.core.reload_tls()
        except ValueError as exc:
            logger.error("TLS reload failed, keeping the current certificate: %s", exc)
            return
        logger.info("Reloaded TLS certificate %s (serial %s)", self.config.ssl_certfile, self.core.tls_serial())

    def handle_exit(self, sig: int) -> None:
        """First SIGINT/SIGTERM: graceful shutdown. A second SIGINT: force exit."""
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self._request_exit()

    def _request_exit(self) -> None:
        self.should_exit = True
        if self._exit_event is not None:
            self._exit_event.set()

    # -- shutdown -----------------------------------------------------------------------------
    def _cancel_app_tasks(self) -> None:
        """Cancels every task still running the app for a request, as uvicorn does after
        --timeout-graceful-shutdown."""
        for task in asyncio.all_tasks(self._loop):
            if isinstance(task.get_coro(), _graft.Cycle) and not task.done():
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")

    def _cancel_departed(self) -> None:
        """Without a graceful timeout uvicorn waits for every task; there a request whose client
        left runs to its end, because uvicorn's send() is silent then. graft's send() raises
        (ASGI 2.4), and an app that then waits on something only that send() would have
        released (a2wsgi: its WSGI thread blocks on a full queue once the task feeding send()
        died) would never end, nor would the shutdown. So once every request still running
        has lost its client, nothing can reach anyone any more: their tasks are cancelled."""
        core = self.core
        departed = self._departed_tasks()
        if departed and len(departed) >= core.inflight:
            for task in departed:
                task.cancel(msg="Task cancelled, client disconnected during shutdown")

    def _departed_tasks(self) -> list[asyncio.Task]:
        out = []
        for task in asyncio.all_tasks(self._loop):
            cycle = task.get_coro()
            if isinstance(cycle, _graft.Cycle) and not task.done() and not task.cancelling():
                if not cycle.departed:
                    return []  # someone is still served: wait, as uvicorn does
                out.append(task)
        return out

    async def shutdown(self) -> None:
        logger.info("Shutting down")
        core = self.core
        if core is not None:
            core.stop_accepting()
            core.shutdown()
            timeout = self.config.timeout_graceful_shutdown
            deadline = None if timeout is None else time.monotonic() + timeout
            if core.inflight or core.connections:
                logger.info("Waiting for connections to close. (CTRL+C to force quit)")
            while (core.inflight or core.connections) and not self.force_exit:
                if deadline is not None and time.monotonic() >= deadline:
                    logger.error("Cancel %d running task(s), timeout graceful shutdown exceeded",
                                 core.inflight)
                    break
                if deadline is None:
                    self._cancel_departed()
                await asyncio.sleep(0.02)
            if core.inflight or core.connections:
                core.abort()
                # As uvicorn after the timeout: the apps' tasks are cancelled, not only their
                # connections closed (a task blocked on something else would never notice).
                self._cancel_app_tasks()
                end = time.monotonic() + 1.0
                while core.inflight and time.monotonic() < end and not self.force_exit:
                    await asyncio.sleep(0.02)
            if self.config.is_ssl:
                ktls, copied = core.tls_files()
                if ktls or copied:
                    logger.info("TLS file responses: %d sent with kernel TLS (SSL_sendfile), %d read and "
                                "encrypted by graft (no kernel TLS)", ktls, copied)
            core.unwatch()
            self._loop.remove_reader(core.fileno())
            shadow_fd = getattr(self, "_shadow_fd", None)
            if shadow_fd is not None:
                self._loop.remove_reader(shadow_fd)
            core.close()
            if shadow_fd is not None:
                self._log_shadow()  # what the replays wrote up to their end, which close waited for
        if not self.force_exit:
            await self.lifespan.shutdown()
        for sock in getattr(self, "_own_sockets", []):
            sock.close()
        logger.info("Finished server process [%d]", os.getpid())
