"""ASGI lifespan protocol (spec 2.0): run the app's startup/shutdown hooks around serving.

The app is called once with a ``lifespan`` scope and runs as its own asyncio task for the
life of the server; ``startup()``/``shutdown()`` hand it the two events and wait for its
answer. ``state`` is the dict the app fills during startup; the server gives every request a
shallow copy of it (``scope["state"]``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

STATE_TRANSITION_ERROR = "Got invalid state transition on lifespan protocol."

_SEND_TYPES = (
    "lifespan.startup.complete",
    "lifespan.startup.failed",
    "lifespan.shutdown.complete",
    "lifespan.shutdown.failed",
)


class LifespanError(RuntimeError):
    """Raised into the app when it sends a message that is invalid for the lifespan protocol."""


class Lifespan:
    """Drives one app's lifespan; behaviour depends on ``mode`` (uvicorn's --lifespan).

    * "on": any failure is fatal — an exception or ``lifespan.startup.failed`` sets
      ``startup_failed`` and ``should_exit`` (the caller exits with status 3).
    * "auto": an app that raises before sending anything is taken as not supporting the
      protocol: logged at info, serving goes on. ``startup.failed`` is still fatal.
    * "off": the app is never called with a lifespan scope.

    ``config_or_app`` is a graft Config (loaded if needed; its ``lifespan`` is the default
    mode) or an ASGI3 callable.
    """

    def __init__(self, config_or_app: Any, mode: str | None = None, logger: logging.Logger | None = None) -> None:
        asgi_version = "3.0"
        if hasattr(config_or_app, "loaded_app") and hasattr(config_or_app, "load"):
            config = config_or_app
            if not config.loaded:
                config.load()
            self.app = config.loaded_app
            asgi_version = getattr(config, "asgi_version", "3.0")
            if mode is None:
                mode = config.lifespan
        else:
            self.app = config_or_app
        mode = mode or "auto"
        if mode not in ("auto", "on", "off"):
            raise ValueError(f"Invalid lifespan mode {mode!r} (choose from auto, on, off).")
        self.mode = mode
        self.logger = logger or logging.getLogger("graft.error")
        self.asgi_version = asgi_version

        self.state: dict[str, Any] = {}
        self.should_exit = False
        self.startup_failed = False
        self.shutdown_failed = False
        self.error_occurred = False
        self.error_message: str | None = None
        self.supported = mode != "off"

        self._queue: asyncio.Queue[dict[str, Any]] | None = None
        self._startup_done: asyncio.Event | None = None
        self._shutdown_done: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._sent_any = False  # the app spoke the protocol (sent a message, valid or not)
        self._fatal_error = False

    # -- public API -----------------------------------------------------------------------
    async def startup(self) -> None:
        """Send ``lifespan.startup`` and wait for the app's answer (no timeout, as uvicorn)."""
        if self.mode == "off":
            return
        self._queue = asyncio.Queue()
        self._startup_done = asyncio.Event()
        self._shutdown_done = asyncio.Event()

        self.logger.info("Waiting for application startup.")
        # Keep a reference: a task only referenced by the loop can be garbage-collected.
        self._task = asyncio.get_running_loop().create_task(self._main(), name="graft-lifespan")
        await self._queue.put({"type": "lifespan.startup"})
        await self._startup_done.wait()

        if self.startup_failed or self._fatal_error:
            self.startup_failed = True
            self.should_exit = True
            self.logger.error("Application startup failed. Exiting.")
        else:
            self.logger.info("Application startup complete.")

    async def shutdown(self) -> None:
        """Send ``lifespan.shutdown`` and wait for the answer; no-op if the app already ended."""
        if self.mode == "off" or self._task is None or not self.supported:
            return
        if self.error_occurred or self.startup_failed:
            return
        assert self._queue is not None and self._shutdown_done is not None
        self.logger.info("Waiting for application shutdown.")
        await self._queue.put({"type": "lifespan.shutdown"})
        await self._shutdown_done.wait()

        if self.shutdown_failed or self._fatal_error:
            self.shutdown_failed = True
            self.should_exit = True
            self.logger.error("Application shutdown failed. Exiting.")
        else:
            self.logger.info("Application shutdown complete.")

    # -- app side -------------------------------------------------------------------------
    async def _main(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": self.asgi_version, "spec_version": "2.0"},
            "state": self.state,
        }
        try:
            await self.app(scope, self.receive, self.send)
        except asyncio.CancelledError:
            raise  # the loop is closing; not an app error
        except Exception as exc:
            self.error_occurred = True
            if self.startup_failed or self.shutdown_failed:
                # The app reported the failure itself and then raised (Starlette does this).
                return
            self.error_message = f"{type(exc).__name__}: {exc}"
            if self.mode == "auto" and not self._sent_any:
                self.supported = False
                self.logger.info("ASGI 'lifespan' protocol appears unsupported.")
                self.logger.debug("The app raised on the lifespan scope:", exc_info=exc)
            else:
                # "on" mode, or an app that does speak the protocol: a real error.
                self._fatal_error = True
                self.logger.error("Exception in 'lifespan' protocol\n", exc_info=exc)
        finally:
            if self._startup_done is not None:
                self._startup_done.set()
            if self._shutdown_done is not None:
                self._shutdown_done.set()

    async def receive(self) -> dict[str, Any]:
        assert self._queue is not None
        return await self._queue.get()

    async def send(self, message: dict[str, Any]) -> None:
        assert self._startup_done is not None and self._shutdown_done is not None
        if not isinstance(message, dict):
            self._sent_any = True
            raise LifespanError(f"Expected a dict message on the lifespan protocol, got {type(message).__name__}.")
        kind = message.get("type")
        self._sent_any = True
        if kind not in _SEND_TYPES:
            raise LifespanError(
                f"Unexpected ASGI message type {kind!r} on the lifespan protocol "
                f"(expected one of {', '.join(_SEND_TYPES)})."
            )

        if kind.startswith("lifespan.startup."):
            if self._startup_done.is_set() or self._shutdown_done.is_set():
                raise LifespanError(STATE_TRANSITION_ERROR)
            if kind == "lifespan.startup.failed":
                self.startup_failed = True
                self._report_failure(message)
            self._startup_done.set()
        else:
            if not self._startup_done.is_set() or self._shutdown_done.is_set():
                raise LifespanError(STATE_TRANSITION_ERROR)
            if kind == "lifespan.shutdown.failed":
                self.shutdown_failed = True
                self._report_failure(message)
            self._shutdown_done.set()

    def _report_failure(self, message: dict[str, Any]) -> None:
        text = message.get("message") or ""
        self.error_message = str(text) if text else None
        if text:
            self.logger.error("%s", text)
