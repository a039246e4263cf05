"""Pre-fork supervisor for ``--workers N``: N processes accepting on one shared listening socket.

Why one shared socket and not SO_REUSEPORT: with SO_REUSEPORT every worker has its own accept
queue, and connections the kernel already queued for a worker that dies are reset. With one
socket there is one queue; a dying worker only loses the connections it had accepted, and the
respawned (or any other) worker picks up the rest.

Design:

* ``os.fork()`` (the parent has no threads and has not imported the app, so forking is safe
  and cheap); the child calls ``target(sockets=sockets)`` and ``os._exit``\\s with its result, so
  it never unwinds into the parent's stack (which would, e.g., remove the --uds file).
* Signals are never handled in Python code with side effects: the handlers are no-ops and
  ``signal.set_wakeup_fd`` writes each signal number into a pipe that the main loop
  ``select``\\s on, together with SIGCHLD for prompt reaping.
* Children get ``PR_SET_PDEATHSIG=SIGTERM``, so they do not outlive a parent that is
  SIGKILLed, and the parent's signal handling is undone in them.
* Readiness: each child inherits the write end of a pipe of its own (``config.ready_fd``) and
  writes one byte to it once it serves (``notify_ready``: after lifespan startup, with the
  engine accepting). The read ends are in the main loop's ``select``.
* SIGHUP is a rolling reload: a new *generation* of N workers starts while the old one keeps
  serving; only when all of it is ready does the old one get SIGTERM (stop accepting, drain).
  A new worker that exits before it is ready, or a generation not ready within
  ``RELOAD_READY_TIMEOUT``, fails the reload: the rest of the new generation is stopped and
  the old workers keep serving. A SIGHUP during a reload is ignored (logged): the reload under
  way already starts from what is on disk now, or at most a moment ago.
* ``--limit-worker-rss MiB``: every ``RSS_INTERVAL`` the supervisor reads each serving
  worker's resident set (``/proc/PID/statm``). One above the ceiling gets a replacement first,
  as a reload does; only once that one is ready does the old one drain, so capacity never
  drops. A replacement that fails to start, or is not ready within ``RELOAD_READY_TIMEOUT``,
  leaves the old worker serving (checked again ``STARTUP_RETRY`` later).
"""

from __future__ import annotations

import atexit
import ctypes
import errno
import logging
import os
import select
import signal
import socket
import sys
import time
from typing import Any, Callable

from graft.logging import colorize

logger = logging.getLogger("graft.error")

STARTUP_FAILURE = 3  # a worker that exits with this never got to serve: stop, don't respawn
RESPAWN_BACKOFF = 1.0  # a worker that dies sooner than this after starting is respawned this late
KILL_GRACE = 5.0  # after SIGKILL, how long to wait for the kernel to reap
STARTUP_RETRY = 5.0  # a respawn that failed to start (after the first start) is retried this late
RELOAD_READY_TIMEOUT = 60.0  # a new generation not ready this long after SIGHUP fails the reload
RSS_INTERVAL = 1.0  # how often --limit-worker-rss reads the workers' resident memory
SHARED_SLOTS = 64  # GRAFT__SHM_SLOTS: metrics slots in the shared region

_PR_SET_PDEATHSIG = 1

_SIGNAL_NAMES = {
    getattr(signal, name): name
    for name in ("SIGINT", "SIGTERM", "SIGQUIT", "SIGHUP", "SIGTTIN", "SIGTTOU", "SIGCHLD")
    if hasattr(signal, name)
}
HANDLED_SIGNALS = tuple(_SIGNAL_NAMES)


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"killed by signal {name}"
    if os.WIFEXITED(status):
        return f"exit code {os.WEXITSTATUS(status)}"
    return f"status {status}"


def _set_parent_death_signal(sig: int) -> None:
    """Ask Linux to send ``sig`` to this process when its parent dies (best effort)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(sig), 0, 0, 0)
    except (OSError, AttributeError):
        pass


class Worker:
    """Bookkeeping for one child process."""

    __slots__ = ("pid", "started_at", "terminating", "slot", "generation", "ready_fd", "ready", "kill_at",
                 "replacing", "replaced", "ready_by")

    def __init__(self, pid: int, slot: int = 0, generation: int = 0, ready_fd: int = -1) -> None:
        self.pid = pid
        self.slot = slot  # its metrics slot in the shared region
        self.started_at = time.monotonic()
        self.terminating = False
        self.generation = generation  # bumped by each SIGHUP reload
        self.ready_fd = ready_fd  # read end of its readiness pipe (-1 once closed)
        self.ready = False
        self.kill_at: float | None = None  # a drained old worker still here then gets SIGKILL
        self.replacing = 0  # the pid of the worker (over --limit-worker-rss) this one replaces
        self.replaced = False  # a replacement for this worker is starting
        self.ready_by: float | None = None  # a replacement not ready by then is stopped


class Reload:
    """A reload under way: the generation being started and when it must be ready."""

    __slots__ = ("generation", "deadline")

    def __init__(self, generation: int, deadline: float) -> None:
        self.generation = generation
        self.deadline = deadline


def notify_ready(config: Any) -> None:
    """Tell the supervisor (if any) that this worker serves: one byte on its readiness pipe.

    Called by the worker once, after lifespan startup and with its listeners accepting; a
    no-op outside a supervisor (``config.ready_fd`` is -1 there)."""
    fd = getattr(config, "ready_fd", -1)
    if fd is None or fd < 0:
        return
    config.ready_fd = -1
    try:
        os.write(fd, b"1")
    except OSError:
        pass  # the supervisor is gone; PR_SET_PDEATHSIG ends us soon
    finally:
        os.close(fd)


class Supervisor:
    """Runs ``config.workers`` copies of ``target`` and keeps that many alive until told to stop.

    ``target(sockets=sockets)`` runs in each child; its return value (int, None = 0) is the
    child's exit status. Exit status 3 from a worker not being stopped means it failed to
    start (bad import, lifespan startup failure): at first start (until all N workers were
    ready) the supervisor then stops everything and ``run()`` returns 3 instead of respawning
    forever. Later, a respawn failing so is retried every ``STARTUP_RETRY`` s while the others
    serve, and a new worker failing during a reload fails the reload (module docstring).

    Signals: SIGINT/SIGTERM -> graceful stop (workers get SIGTERM, SIGKILL after
    ``timeout_graceful_shutdown + 5`` s, or 30 s if unset), ``run()`` returns 0; a second
    SIGINT, or SIGQUIT -> SIGKILL all workers at once; SIGHUP -> rolling reload;
    SIGTTIN/SIGTTOU -> one worker more/less (ignored during a reload).
    """

    def __init__(
        self,
        config: Any,
        target: Callable[..., Any],
        sockets: list[socket.socket],
    ) -> None:
        self.config = config
        self.target = target
        self.sockets = sockets
        self.num_workers: int = int(getattr(config, "workers", 1) or 1)
        self.workers: dict[int, Worker] = {}
        self.pid = os.getpid()
        # The shared region (graft/admin.py), when --metrics or --control is on: each worker
        # gets a free slot at fork, freed at reap (its counts stay for the next one).
        self.shared = getattr(config, "shared", None)

        self.stopping = False
        self.force = False
        self.exit_code = 0
        self._pending_respawns: list[float] = []  # monotonic times at which to start a worker
        self._stop_deadline: float | None = None
        self.generation = 0  # the serving generation; respawns join it
        self._served = False  # the first start completed: start failures no longer stop us
        self._reload: Reload | None = None
        self._last_generation = 0  # the highest generation number handed out
        rss = getattr(config, "limit_worker_rss", None)
        self.limit_rss_kib = int(rss) * 1024 if rss else 0
        self._next_rss_check = 0.0

        self._wakeup_r = -1
        self._wakeup_w = -1
        self._old_handlers: dict[int, Any] = {}
        self._old_wakeup_fd = -1

    # -- main loop ------------------------------------------------------------------------
    def run(self) -> int:
        """Start the workers, supervise until stopped, return the exit status for the parent."""
        logger.info(
            "Started parent process [%d]",
            self.pid,
            extra={"color_message": "Started parent process [" + colorize("%d", fg=36, bold=True) + "]"},
        )
        self._install_signals()
        try:
            for _ in range(self.num_workers):
                self._try_spawn()
            while True:
                self._handle_signals(self._wait_for_events())
                self._read_readiness()
                self._reap()
                self._check_reload()
                if self.stopping:
                    if not self.workers:
                        break
                    self._enforce_stop_deadline()
                else:
                    self._respawn_due()
                    self._kill_overdue()
                    self._check_rss()
        finally:
            self._kill_all(signal.SIGKILL)  # only non-empty if we got here by an exception
            self._reap_blocking(KILL_GRACE)
            self._restore_signals()
        logger.info(
            "Stopping parent process [%d]",
            self.pid,
            extra={"color_message": "Stopping parent process [" + colorize("%d", fg=36, bold=True) + "]"},
        )
        return self.exit_code

    def _wait_for_events(self) -> bytes:
        """Block until a signal arrives or the next timer (respawn, stop deadline) is due."""
        timeout = 1.0
        now = time.monotonic()
        if self._pending_respawns and not self.stopping:
            timeout = min(timeout, max(0.0, min(self._pending_respawns) - now))
        if self._stop_deadline is not None:
            timeout = min(timeout, max(0.0, self._stop_deadline - now))
        if self._reload is not None:
            timeout = min(timeout, max(0.0, self._reload.deadline - now))
        kill_at = [w.kill_at for w in self.workers.values() if w.kill_at is not None]
        if kill_at:
            timeout = min(timeout, max(0.0, min(kill_at) - now))
        watched = [self._wakeup_r] + [w.ready_fd for w in self.workers.values() if w.ready_fd >= 0]
        try:
            readable, _, _ = select.select(watched, [], [], timeout)
        except InterruptedError:  # pragma: no cover - PEP 475 retries, kept for safety
            readable = []
        if self._wakeup_r not in readable:
            return b""
        data = b""
        while True:
            try:
                chunk = os.read(self._wakeup_r, 4096)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
        return data

    def _handle_signals(self, data: bytes) -> None:
        for signum in data:
            if signum == signal.SIGCHLD:
                continue  # reaping happens after every wake-up anyway
            name = _SIGNAL_NAMES.get(signum, str(signum))
            if signum in (signal.SIGINT, signal.SIGTERM):
                if self.stopping:
                    if signum == signal.SIGINT:
                        logger.info("Received second SIGINT, killing workers.")
                        self._force_stop()
                    continue
                logger.info("Received %s, exiting.", name)
                self._begin_stop()
            elif signum == getattr(signal, "SIGQUIT", None):
                logger.info("Received SIGQUIT, killing workers.")
                self._begin_stop()
                self._force_stop()
            elif self.stopping:
                continue
            elif signum == getattr(signal, "SIGHUP", None):
                self._begin_reload()
            elif self._reload is not None:
                logger.info("Received %s during a reload; ignored.", name)
            elif signum == getattr(signal, "SIGTTIN", None):
                self.num_workers += 1
                logger.info("Received SIGTTIN, increasing the number of workers to %d.", self.num_workers)
                self._try_spawn()
            elif signum == getattr(signal, "SIGTTOU", None):
                if self.num_workers <= 1:
                    logger.info("Received SIGTTOU, but already at one worker.")
                    continue
                self.num_workers -= 1
                logger.info("Received SIGTTOU, decreasing the number of workers to %d.", self.num_workers)
                if self._pending_respawns:
                    self._pending_respawns.pop()
                else:
                    alive = [w for w in self.workers.values() if not w.terminating]
                    if alive:
                        self._terminate(max(alive, key=lambda w: w.started_at))

    # -- rolling reload (SIGHUP) ----------------------------------------------------------
    def _begin_reload(self) -> None:
        """Start a new generation of workers; the old one serves until all of it is ready."""
        if self._reload is not None:
            logger.info("Received SIGHUP during a reload; ignored (the reload under way continues).")
            return
        free = self._free_slot_count()
        if free < self.num_workers:
            logger.error(
                "Received SIGHUP, but a reload needs %d free metrics slots and %d are free "
                "(a reload with --metrics/--control allows at most %d workers); the workers keep "
                "serving.", self.num_workers, free, SHARED_SLOTS // 2)
            return
        # A number never used before: workers of a failed reload still draining must not be
        # taken for the new generation's (nor fail it when they exit).
        self._last_generation += 1
        self._reload = Reload(self._last_generation, time.monotonic() + RELOAD_READY_TIMEOUT)
        logger.info("Received SIGHUP, reloading: starting %d new workers.", self.num_workers)
        for _ in range(self.num_workers):
            try:
                self._spawn(self._reload.generation)
            except OSError as exc:
                self._fail_reload(f"cannot start a worker process: {exc}")
                return

    def _free_slot_count(self) -> int:
        if self.shared is None:
            return self.num_workers  # no slots to run out of
        return SHARED_SLOTS - len(self.workers)

    def _new_generation(self) -> list[Worker]:
        gen = self._reload.generation if self._reload is not None else -1
        return [w for w in self.workers.values() if w.generation == gen]

    def _check_reload(self) -> None:
        """Commit the reload once the whole new generation is ready; fail it on timeout."""
        if self._reload is None or self.stopping:
            return
        new = self._new_generation()
        if len(new) >= self.num_workers and all(w.ready for w in new):
            self._commit_reload()
        elif time.monotonic() >= self._reload.deadline:
            waiting = ", ".join(str(w.pid) for w in new if not w.ready)
            self._fail_reload(f"workers {waiting} not ready after {RELOAD_READY_TIMEOUT:.0f} s")

    def _commit_reload(self) -> None:
        old = [w for w in self.workers.values() if w.generation != self._reload.generation]
        self.generation = self._reload.generation
        self._reload = None
        self._pending_respawns.clear()  # respawns of the old generation are not needed now
        logger.info("Reload complete: %d new workers ready; the old ones drain.", self.num_workers)
        # Draining is bounded as a stop is: an old worker must not hold its slot forever.
        kill_at = time.monotonic() + self._stop_timeout()
        for worker in old:
            if not worker.terminating:
                self._terminate(worker)
            worker.kill_at = kill_at

    def _kill_overdue(self) -> None:
        now = time.monotonic()
        for worker in list(self.workers.values()):
            if worker.kill_at is not None and now >= worker.kill_at:
                logger.warning("Old worker [%d] did not finish draining in time; killing it.", worker.pid)
                worker.kill_at = None
                try:
                    os.kill(worker.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def _fail_reload(self, why: str) -> None:
        """Stop what was started of the new generation; the old workers keep serving."""
        logger.error("Reload failed: %s; the old workers keep serving.", why)
        new = self._new_generation()
        self._reload = None
        for worker in new:
            if not worker.terminating:
                self._terminate(worker)

    def _read_readiness(self) -> None:
        """Note workers that reported ready (one byte) or closed their pipe (EOF: exited)."""
        for worker in list(self.workers.values()):
            if worker.ready_fd < 0:
                continue
            try:
                data = os.read(worker.ready_fd, 16)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            self._close_ready_fd(worker)
            if data:
                worker.ready = True
                self._on_ready(worker)  # one byte or EOF: either way nothing more will come
        # The first start is over once N workers were ready at once: until then any of them
        # failing to start stops the server, as it always did.
        if not self._served and sum(w.ready for w in self.workers.values()) >= self.num_workers:
            self._served = True

    # -- --limit-worker-rss ---------------------------------------------------------------
    def _on_ready(self, worker: Worker) -> None:
        """A replacement is ready: the worker it replaces now drains."""
        if not worker.replacing or worker.terminating:
            return
        old = self.workers.get(worker.replacing)
        worker.replacing, worker.ready_by = 0, None
        if old is None or old.terminating:
            return
        logger.info("Worker [%d] is ready to replace worker [%d]; that one drains.", worker.pid, old.pid)
        self._terminate(old)
        old.kill_at = time.monotonic() + self._stop_timeout()

    def _check_rss(self) -> None:
        now = time.monotonic()
        for worker in list(self.workers.values()):
            if worker.ready_by is not None and now >= worker.ready_by and not worker.ready \
                    and not worker.terminating:
                logger.error("Replacing worker [%d] failed: worker %d not ready after %.0f s; the worker "
                             "keeps serving.", worker.replacing, worker.pid, RELOAD_READY_TIMEOUT)
                self._unmark_replaced(worker)
                self._terminate(worker)
                self._next_rss_check = now + STARTUP_RETRY
        if not self.limit_rss_kib or self._reload is not None or now < self._next_rss_check:
            return
        self._next_rss_check = now + RSS_INTERVAL
        for worker in list(self.workers.values()):
            if (not worker.ready or worker.terminating or worker.replaced or worker.replacing
                    or worker.generation != self.generation):
                continue
            rss = rss_kib(worker.pid)
            if rss is not None and rss > self.limit_rss_kib:
                self._replace(worker, rss)

    def _replace(self, worker: Worker, rss: int) -> None:
        logger.warning("Worker [%d] uses %d MiB of memory (RSS), above --limit-worker-rss %d MiB; "
                       "replacing it after a graceful drain.", worker.pid, rss // 1024, self.limit_rss_kib // 1024)
        try:
            fresh = self._spawn()
        except OSError as exc:
            logger.error("Cannot start a worker process to replace worker [%d]: %s; it keeps serving.",
                         worker.pid, exc)
            return
        fresh.replacing = worker.pid
        fresh.ready_by = time.monotonic() + RELOAD_READY_TIMEOUT
        worker.replaced = True

    def _unmark_replaced(self, replacement: Worker) -> None:
        old = self.workers.get(replacement.replacing)
        if old is not None:
            old.replaced = False  # it keeps serving; the next check tries again
        replacement.replacing, replacement.ready_by = 0, None

    @staticmethod
    def _close_ready_fd(worker: Worker) -> None:
        if worker.ready_fd >= 0:
            os.close(worker.ready_fd)
            worker.ready_fd = -1

    # -- stopping -------------------------------------------------------------------------
    def _stop_timeout(self) -> float:
        """How long a worker told to stop may take before SIGKILL."""
        grace = getattr(self.config, "timeout_graceful_shutdown", None)
        return 30.0 if grace is None else float(grace) + 5.0

    def _begin_stop(self) -> None:
        self.stopping = True
        self._reload = None
        self._pending_respawns.clear()
        self._stop_deadline = time.monotonic() + self._stop_timeout()
        for worker in list(self.workers.values()):
            self._terminate(worker)

    def _force_stop(self) -> None:
        self.force = True
        self._kill_all(signal.SIGKILL)
        self._stop_deadline = time.monotonic() + KILL_GRACE

    def _enforce_stop_deadline(self) -> None:
        if self._stop_deadline is None or time.monotonic() < self._stop_deadline:
            return
        if not self.force:
            pids = ", ".join(str(pid) for pid in self.workers)
            logger.warning("Workers did not stop in time, killing them: %s", pids)
            self._force_stop()
        else:
            # SIGKILLed and still not reaped (e.g. stuck in uninterruptible sleep): give up.
            logger.error("Workers still present after SIGKILL: %s", ", ".join(map(str, self.workers)))
            self.workers.clear()

    def _terminate(self, worker: Worker) -> None:
        worker.terminating = True
        try:
            os.kill(worker.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        logger.info("Terminated child process [%d]", worker.pid)

    def _kill_all(self, sig: int) -> None:
        for worker in list(self.workers.values()):
            worker.terminating = True
            try:
                os.kill(worker.pid, sig)
            except ProcessLookupError:
                pass

    # -- reaping and respawning -----------------------------------------------------------
    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self._on_exit(pid, status)

    def _reap_blocking(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.workers and time.monotonic() < deadline:
            self._reap()
            if self.workers:
                time.sleep(0.02)

    def _on_exit(self, pid: int, status: int) -> None:
        worker = self.workers.pop(pid, None)
        if worker is None:
            return  # not ours (e.g. a grandchild re-parented to us as subreaper)
        self._close_ready_fd(worker)
        self._update_shared(freed=worker.slot)
        description = _describe_status(status)
        if self.stopping or self.force:
            logger.info("Child process [%d] exited (%s).", pid, description)
            return
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        if self._reload is not None and worker.generation == self._reload.generation:
            # A new worker gone before the commit (an import error, a bad library, a crash):
            # the reload fails as a whole rather than commit a generation short of one.
            state = "after it was ready" if worker.ready else "before it was ready"
            self._fail_reload(f"worker {pid} exited with {description} {state}")
            return
        if worker.generation != self.generation:
            logger.info("Child process [%d] exited (%s).", pid, description)
            return  # a stopped new worker of a failed reload, or a drained old one
        if worker.replacing and not worker.ready:
            logger.error("Replacing worker [%d] failed: worker %d exited with %s before it was ready; "
                         "the worker keeps serving.", worker.replacing, pid, description)
            self._unmark_replaced(worker)
            self._next_rss_check = time.monotonic() + STARTUP_RETRY  # what is on disk may be broken
            return
        failed_start = code == STARTUP_FAILURE and not worker.terminating and not worker.ready
        if failed_start and not self._served:
            logger.error("Child process [%d] failed to start (%s); stopping all workers.", pid, description)
            self.exit_code = STARTUP_FAILURE
            self._begin_stop()
            return
        if failed_start:
            # Once the server has served, a respawn that cannot start (the code or a library
            # on disk broke since) must not take the service down: the others keep serving,
            # and it is retried until what is on disk starts again.
            logger.error("Child process [%d] failed to start (%s); the other workers keep serving; "
                         "retrying in %.0f s.", pid, description, STARTUP_RETRY)
        elif worker.terminating:
            logger.info("Child process [%d] exited (%s).", pid, description)
        elif code == 0:
            logger.info("Child process [%d] exited (%s); starting a new one.", pid, description)
        else:
            logger.warning("Child process [%d] died (%s); starting a new one.", pid, description)
        if self._serving_count() + len(self._pending_respawns) >= self.num_workers:
            return  # scaled down with SIGTTOU
        lived = time.monotonic() - worker.started_at
        delay = RESPAWN_BACKOFF if lived < RESPAWN_BACKOFF and not worker.terminating else 0.0
        if failed_start:
            delay = STARTUP_RETRY
        self._pending_respawns.append(time.monotonic() + delay)

    def _serving_count(self) -> int:
        return sum(1 for w in self.workers.values() if w.generation == self.generation and not w.terminating)

    def _respawn_due(self) -> None:
        now = time.monotonic()
        due = [t for t in self._pending_respawns if t <= now]
        if not due:
            return
        self._pending_respawns = [t for t in self._pending_respawns if t > now]
        for _ in due:
            self._try_spawn()

    def _try_spawn(self) -> None:
        """Fork a worker; if the system refuses (EAGAIN, ENOMEM), retry a bit later."""
        try:
            self._spawn()
        except OSError as exc:
            logger.error("Cannot start a worker process: %s; retrying in %.0f s.", exc, RESPAWN_BACKOFF)
            self._pending_respawns.append(time.monotonic() + RESPAWN_BACKOFF)

    def _spawn(self, generation: int | None = None) -> Worker:
        # Flush so buffered output is not written twice (once by each process).
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (AttributeError, ValueError, OSError):
                pass
        # Block our signals across fork: until the child has undone our handlers, a signal
        # meant for it would run the parent's no-op handler and write to the parent's pipe.
        slot = self._free_slot()
        ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)
        try:
            try:
                pid = os.fork()
            except OSError:
                os.close(ready_r)
                os.close(ready_w)
                raise
            if pid == 0:  # pragma: no cover - runs in the child (measured by the worker tests)
                os.close(ready_r)
                self.config.metrics_slot = slot
                self.config.ready_fd = ready_w
                self._child_main(old_mask)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        os.close(ready_w)  # the child holds the only write end: EOF tells us it is gone
        os.set_blocking(ready_r, False)
        gen = self.generation if generation is None else generation
        worker = self.workers[pid] = Worker(pid, slot, gen, ready_r)
        self._update_shared()
        return worker

    # -- shared region (metrics slots, workers gauge) -------------------------------------
    def _free_slot(self) -> int:
        if self.shared is None:
            return 0
        used = {w.slot for w in self.workers.values()}
        for slot in range(SHARED_SLOTS):
            if slot not in used:
                return slot
        raise OSError(errno.EAGAIN, "no free metrics slot (at most 64 workers with --metrics/--control)")

    def _update_shared(self, freed: int | None = None) -> None:
        if self.shared is None:
            return
        from graft import _graft

        if freed is not None:
            _graft.shared_slot_reset(self.shared, freed)
        _graft.shared_set_workers(self.shared, len(self.workers))

    # -- child side -----------------------------------------------------------------------
    def _child_main(self, signal_mask: Any) -> None:
        """Runs in the forked child; never returns."""
        code: Any = 1
        try:
            _set_parent_death_signal(signal.SIGTERM)
            if os.getppid() != self.pid:
                os._exit(1)  # the parent died before prctl took effect
            self._reset_child_signals()
            signal.pthread_sigmask(signal.SIG_SETMASK, signal_mask)
            try:
                code = self.target(sockets=self.sockets)
            except SystemExit as exc:
                code = exc.code
            except KeyboardInterrupt:
                code = 0
            except BaseException:  # noqa: BLE001 - report, then exit non-zero
                logger.exception("Worker process [%d] crashed.", os.getpid())
                code = 1
        finally:
            try:
                atexit._run_exitfuncs()
            except BaseException:  # noqa: BLE001
                pass
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except BaseException:  # noqa: BLE001
                    pass
            os._exit(self._exit_status(code))

    @staticmethod
    def _exit_status(code: Any) -> int:
        if code is None:
            return 0
        if isinstance(code, bool):
            return int(code)
        if isinstance(code, int):
            return code & 0xFF
        # sys.exit("message") semantics: print it, status 1.
        try:
            print(code, file=sys.stderr)
        except BaseException:  # noqa: BLE001
            pass
        return 1

    def _reset_child_signals(self) -> None:
        for worker in self.workers.values():  # the siblings' readiness pipes are not ours
            self._close_ready_fd(worker)
        signal.set_wakeup_fd(-1)
        for sig, handler in self._old_handlers.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        for fd in (self._wakeup_r, self._wakeup_w):
            if fd >= 0:
                os.close(fd)
        self._wakeup_r = self._wakeup_w = -1

    # -- signal plumbing ------------------------------------------------------------------
    def _install_signals(self) -> None:
        self._wakeup_r, self._wakeup_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._old_wakeup_fd = signal.set_wakeup_fd(self._wakeup_w, warn_on_full_buffer=False)
        for sig in HANDLED_SIGNALS:
            self._old_handlers[sig] = signal.signal(sig, _noop_handler)

    def _restore_signals(self) -> None:
        for sig, handler in self._old_handlers.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        self._old_handlers.clear()
        signal.set_wakeup_fd(self._old_wakeup_fd)
        for fd in (self._wakeup_r, self._wakeup_w):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError as exc:  # pragma: no cover
                    if exc.errno != errno.EBADF:
                        raise
        self._wakeup_r = self._wakeup_w = -1


def rss_kib(pid: int) -> int | None:
    """Process pid's resident set size in KiB (/proc/PID/statm), or None if it cannot be read."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            resident = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return resident * (os.sysconf("SC_PAGESIZE") // 1024)


def _noop_handler(signum: int, frame: Any) -> None:
    """The signal number reaches the main loop through the wakeup fd; nothing to do here."""
