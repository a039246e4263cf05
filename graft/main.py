"""Command line and ``run()``: ``graft app:app`` accepts uvicorn's options with uvicorn's defaults.

Exit statuses follow uvicorn: 0 after a normal stop, 1 when the app cannot be imported or
the socket cannot be bound, 2 for invalid options, 3 when the app's startup failed.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import platform
import socket
import stat
import sys
from typing import Any, Sequence

from graft.config import DEFAULTS, HTTP_CHOICES, INTERFACE_CHOICES, LIFESPAN_CHOICES, WS_CHOICES, Config
from graft.logging import LOG_LEVELS, LOGGING_CONFIG

STARTUP_FAILURE = 3
ENV_PREFIX = "GRAFT_"

logger = logging.getLogger("graft.error")


def version_string() -> str:
    """``graft 0.1.0 with CPython 3.11.7 on Linux``."""
    from graft import __version__

    return (
        f"graft {__version__} with {platform.python_implementation()} "
        f"{platform.python_version()} on {platform.system()}"
    )


# -- argument types ---------------------------------------------------------------------------
def _number(text: str) -> int | float:
    """Seconds: an int when integral (so 5 stays 5, as in uvicorn), else a float."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value != value or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a non-negative number")
    return int(value) if value.is_integer() else value


_SIZE_SUFFIXES = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
}


def _size(text: str) -> int:
    """Byte count with an optional K/M/G suffix (powers of 1024): 65536, 64K, 10M."""
    stripped = text.strip().lower()
    digits = stripped.rstrip("kmgb")
    suffix = stripped[len(digits) :]
    if not digits.isdigit() or suffix not in _SIZE_SUFFIXES:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 65536, 64K, 10M)")
    return int(digits) * _SIZE_SUFFIXES[suffix]


def _size_text(size: int) -> str:
    """A byte count as _size reads it, in the largest whole suffix: 67108864 -> "64M"."""
    for suffix in ("G", "M", "K"):
        unit = _SIZE_SUFFIXES[suffix.lower()]
        if size and size % unit == 0:
            return f"{size // unit}{suffix}"
    return str(size)


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on", "y", "t"):
        return True
    if value in ("0", "false", "no", "off", "n", "f"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not a boolean")


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f'{text!r} is not a header in the form "NAME:VALUE"')
    return name.strip(), value.strip()


# -- parser -----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The ``graft`` argument parser; every option's dest is the Config keyword it sets."""
    p = argparse.ArgumentParser(
        prog="graft",
        usage="graft [OPTIONS] APP",
        description="Serve an ASGI app (APP is 'module:attribute') with graft's C HTTP engine.",
        epilog=f"Every option can also be set with an environment variable {ENV_PREFIX}<OPTION> "
        f"(e.g. {ENV_PREFIX}PORT=9000, {ENV_PREFIX}APP=main:app). Other commands: "
        "`graft routes APP --native LIB` (coverage report), `graft openapi APP` (the app's OpenAPI "
        "document, for graft-serve --openapi), `graft port APP 'METHOD /path'` (a C handler for one "
        "route, and its differential test), `graft diff URL_A URL_B` and `graft diff --openapi FILE "
        "URL_A URL_B` (compare two servers' answers), `graft ctl --control PATH routes|set` "
        "(a running server's native routes, live).",
    )
    bool_opt = argparse.BooleanOptionalAction
    p.add_argument("app", metavar="APP", nargs="?", default=None, help="ASGI app as 'module:attribute'.")

    g = p.add_argument_group("binding")
    g.add_argument("--host", default="127.0.0.1", help="Bind socket to this host. [default: 127.0.0.1]")
    g.add_argument(
        "--port", type=int, default=8000, help="Bind socket to this port; 0 picks a free one. [default: 8000]"
    )
    g.add_argument("--uds", default=None, help="Bind to a UNIX domain socket.")
    g.add_argument("--fd", type=int, default=None, help="Bind to socket from this file descriptor.")
    g.add_argument(
        "--backlog",
        type=int,
        default=DEFAULTS["backlog"],
        help=f"Maximum number of connections to hold in backlog. [default: {DEFAULTS['backlog']}]",
    )

    g = p.add_argument_group("processes and loop")
    g.add_argument(
        "--workers",
        type=int,
        default=None,
        help="Number of worker processes. Defaults to $WEB_CONCURRENCY or 1.",
    )
    g.add_argument(
        "--threads",
        type=int,
        default=DEFAULTS["threads"],
        help=f"Number of C I/O threads per worker. [default: {DEFAULTS['threads']}]",
    )
    g.add_argument(
        "--io-poll",
        choices=("loop", "thread"),
        default="loop",
        help="Who reads and parses requests while the event loop is idle: the loop's own "
        "thread (no thread hop; the I/O threads take over while the loop is blocked) or always "
        "the C I/O threads. [default: loop]",
    )
    g.add_argument(
        "--loop",
        choices=("auto", "asyncio", "uvloop"),
        default="auto",
        help="Event loop implementation. [default: auto]",
    )
    g.add_argument(
        "--http",
        choices=HTTP_CHOICES,
        default="auto",
        help="Accepted for uvicorn compatibility; graft always uses its own HTTP parser.",
    )
    g.add_argument(
        "--ws",
        choices=WS_CHOICES,
        default="auto",
        help="WebSocket support; 'none' disables it. [default: auto]",
    )
    g.add_argument(
        "--ws-max-size",
        type=int,
        default=DEFAULTS["ws_max_size"],
        help=f"WebSocket max message size in bytes. [default: {DEFAULTS['ws_max_size']}]",
    )
    g.add_argument(
        "--ws-max-queue",
        type=int,
        default=DEFAULTS["ws_max_queue"],
        help=f"WebSocket max incoming message queue. [default: {DEFAULTS['ws_max_queue']}]",
    )
    g.add_argument(
        "--ws-ping-interval",
        type=float,
        default=DEFAULTS["ws_ping_interval"],
        help=f"WebSocket ping interval in seconds. [default: {DEFAULTS['ws_ping_interval']}]",
    )
    g.add_argument(
        "--ws-ping-timeout",
        type=float,
        default=DEFAULTS["ws_ping_timeout"],
        help=f"WebSocket ping timeout in seconds. [default: {DEFAULTS['ws_ping_timeout']}]",
    )
    g.add_argument(
        "--ws-per-message-deflate",
        type=_bool,
        default=DEFAULTS["ws_per_message_deflate"],
        metavar="BOOLEAN",
        help=f"WebSocket per-message-deflate compression. [default: {DEFAULTS['ws_per_message_deflate']}]",
    )
    g.add_argument(
        "--lifespan",
        choices=LIFESPAN_CHOICES,
        default="auto",
        help="Lifespan implementation. [default: auto]",
    )
    g.add_argument(
        "--interface",
        choices=INTERFACE_CHOICES,
        default="auto",
        help="Application interface. [default: auto]",
    )

    g = p.add_argument_group("app")
    g.add_argument("--env-file", default=None, metavar="PATH", help="Environment configuration file.")
    g.add_argument(
        "--app-dir",
        default=".",
        help="Look for APP in this directory, by adding it to sys.path. [default: .]",
    )
    g.add_argument(
        "--factory",
        action="store_true",
        default=False,
        help="Treat APP as an application factory (a callable returning the app).",
    )
    g.add_argument(
        "--root-path", default="", help="Set the ASGI 'root_path' for apps mounted below a URL path."
    )
    g.add_argument(
        "--native",
        action="append",
        default=None,
        metavar="PATH",
        help="Load a native handler library (.so, or .so?CONFIG to pass it a string); repeatable.",
    )
    g.add_argument(
        "--route-mode",
        action="append",
        default=None,
        metavar="'METHOD TEMPLATE=MODE'",
        help="Who answers a native route: native (default), python (the app), split:P (P %% "
        "native) or shadow[:P] (the app answers; P %% are replayed natively and compared); "
        "'*=MODE' sets every native HTTP route. Repeatable.",
    )
    g.add_argument(
        "--shadow-log",
        default=None,
        metavar="FILE",
        help="Append shadow-mode mismatches to FILE as JSON lines (created 0600; reopened when "
        "rotated). [default: the graft.shadow logger, at WARNING]",
    )
    g.add_argument(
        "--shadow-timeout",
        type=float,
        default=DEFAULTS["shadow_timeout"],
        metavar="SECONDS",
        help=f"A shadow replay not answered in this time counts as failed (timeout). "
        f"[default: {DEFAULTS['shadow_timeout']}]",
    )
    g.add_argument(
        "--metrics",
        default=None,
        metavar="HOST:PORT",
        help="Serve Prometheus metrics (text format 0.0.4) at /metrics on this address, summed "
        "over all workers. Off by default.",
    )
    g.add_argument(
        "--control",
        default=None,
        metavar="PATH",
        help="Listen for `graft ctl` on this Unix socket (mode 0600; other users refused): list "
        "native routes with their counters and switch their modes live in every worker.",
    )
    g.add_argument(
        "--health-path",
        default=None,
        metavar="PATH",
        help="Answer requests for exactly this path (e.g. /healthz) in graft itself, before the "
        "app: 200 'ok' while the worker serves, 503 once it drains (shutdown, SIGHUP reload). "
        "Off by default.",
    )
    g.add_argument(
        "--blocking-threads",
        type=int,
        default=DEFAULTS["blocking_threads"],
        metavar="N",
        help=f"Worker threads for native routes marked GRAFT_ROUTE_BLOCKING. [default: {DEFAULTS['blocking_threads']}]",
    )

    g.add_argument(
        "--pathsend",
        action=bool_opt,
        default=False,
        help="Offer the ASGI http.response.pathsend extension (zero-copy file responses). "
        "Off by default, as in uvicorn: while it is offered, Starlette's GZipMiddleware does "
        "not compress FileResponse/StaticFiles. [default: off]",
    )

    g = p.add_argument_group("logging")
    g.add_argument(
        "--log-config", default=None, metavar="PATH", help="Logging configuration file (.json, .yaml, .ini)."
    )
    g.add_argument("--log-level", choices=tuple(LOG_LEVELS), default=None, help="Log level. [default: info]")
    g.add_argument("--access-log", action=bool_opt, default=True, help="Enable/disable the access log.")
    g.add_argument(
        "--access-log-format",
        default=None,
        metavar="FORMAT",
        help="Access-log line in gunicorn's atoms, e.g. '%%(h)s \"%%(r)s\" %%(s)s %%(b)s %%(D)s "
        "%%(answered_by)s'; see README. Default: uvicorn's line.",
    )
    g.add_argument("--use-colors", action=bool_opt, default=None, help="Enable/disable colourized logging.")

    g = p.add_argument_group("HTTP")
    g.add_argument(
        "--proxy-headers",
        action=bool_opt,
        default=True,
        help="Trust X-Forwarded-Proto/For from --forwarded-allow-ips. [default: on]",
    )
    g.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="Comma-separated IPs/networks to trust proxy headers from; '*' trusts all. "
        "Defaults to $FORWARDED_ALLOW_IPS or 127.0.0.1,::1. Over a Unix socket the peer has no "
        "address: as uvicorn, only '*' trusts it.",
    )
    g.add_argument(
        "--server-header", action=bool_opt, default=True, help="Enable/disable the default Server header."
    )
    g.add_argument(
        "--date-header", action=bool_opt, default=True, help="Enable/disable the default Date header."
    )
    g.add_argument(
        "--header",
        dest="headers",
        action="append",
        type=_header,
        default=None,
        metavar="NAME:VALUE",
        help="Add a default response header; repeatable.",
    )

    g = p.add_argument_group("TLS (uvicorn's options; served in C with OpenSSL, re-read on SIGHUP)")
    g.add_argument("--ssl-keyfile", default=None, metavar="PATH", help="SSL key file.")
    g.add_argument("--ssl-certfile", default=None, metavar="PATH", help="SSL certificate file.")
    g.add_argument("--ssl-keyfile-password", default=None, metavar="PASSWORD", help="SSL keyfile password.")
    g.add_argument(
        "--ssl-version",
        type=int,
        default=17,
        metavar="INT",
        help="SSL version to use (see stdlib ssl module's PROTOCOL_* values). [default: 17]",
    )
    g.add_argument(
        "--ssl-cert-reqs",
        type=int,
        default=0,
        metavar="INT",
        help="Whether client certificate is required (see stdlib ssl module's CERT_*: 0 none, 1 "
        "optional, 2 required). [default: 0]",
    )
    g.add_argument("--ssl-ca-certs", default=None, metavar="PATH", help="CA certificates file.")
    g.add_argument(
        "--ssl-ciphers",
        default=None,
        metavar="CIPHERS",
        help="Ciphers to use (see stdlib ssl module's). Defaults to Python's (OpenSSL's safe) defaults.",
    )
    g.add_argument(
        "--ssl-ktls",
        action=bool_opt,
        default=True,
        help="Send file responses with kernel TLS (SSL_sendfile) where the kernel offers it (graft's "
        "own option). [default: on]",
    )

    g = p.add_argument_group("limits and timeouts")
    g.add_argument(
        "--limit-concurrency",
        type=int,
        default=None,
        help="Maximum concurrent connections/tasks before answering 503.",
    )
    g.add_argument(
        "--limit-max-requests",
        type=int,
        default=None,
        help="Maximum requests a worker serves before it is replaced.",
    )
    g.add_argument(
        "--limit-max-requests-jitter",
        type=int,
        default=DEFAULTS["limit_max_requests_jitter"],
        metavar="N",
        help="Add a random 0..N to each worker's --limit-max-requests, so workers started "
        "together do not restart together. [default: 0]",
    )
    g.add_argument(
        "--limit-worker-rss",
        type=int,
        default=None,
        metavar="MiB",
        help="With --workers: a worker whose resident memory exceeds this many MiB is replaced "
        "(a new worker starts, then the old one drains gracefully). Off by default.",
    )
    g.add_argument(
        "--limit-request-line",
        type=_size,
        default=DEFAULTS["limit_request_line"],
        help=f"Maximum request line length in bytes. [default: {DEFAULTS['limit_request_line']}]",
    )
    g.add_argument(
        "--limit-request-head",
        type=_size,
        default=DEFAULTS["limit_request_head"],
        help=f"Maximum size of the request header section in bytes. [default: {DEFAULTS['limit_request_head']}]",
    )
    g.add_argument(
        "--limit-request-fields",
        type=int,
        default=DEFAULTS["limit_request_fields"],
        help=f"Maximum number of request header fields. [default: {DEFAULTS['limit_request_fields']}]",
    )
    g.add_argument(
        "--limit-request-body",
        type=_size,
        default=None,
        help="Maximum request body size in bytes (K/M/G suffixes ok); larger bodies get 413. [default: unlimited]",
    )
    g.add_argument(
        "--timeout-keep-alive",
        type=_number,
        default=DEFAULTS["timeout_keep_alive"],
        help="Close idle keep-alive connections after this many seconds. "
        f"[default: {DEFAULTS['timeout_keep_alive']:g}]",
    )
    g.add_argument(
        "--timeout-graceful-shutdown",
        type=_number,
        default=None,
        help="Maximum seconds to wait for in-flight requests on shutdown.",
    )
    g.add_argument(
        "--timeout-request-header",
        type=_number,
        default=DEFAULTS["timeout_request_header"],
        help="Maximum seconds to receive a request's header section. "
        f"[default: {DEFAULTS['timeout_request_header']:g}]",
    )
    g.add_argument(
        "--timeout-body-read",
        type=_number,
        default=DEFAULTS["timeout_body_read"],
        help=f"Maximum idle seconds between request body bytes. [default: {DEFAULTS['timeout_body_read']:g}]",
    )
    g.add_argument(
        "--timeout-send",
        type=_number,
        default=DEFAULTS["timeout_send"],
        help="Close a connection whose pending response makes no progress for this many seconds "
        f"(a client that stopped reading). [default: {DEFAULTS['timeout_send']:g}]",
    )

    g.add_argument(
        "--timeout-linger",
        type=_number,
        default=DEFAULTS["timeout_linger"],
        help="After answering a request whose body was not read (a 413 to an upload), keep "
        "reading and discarding it for at most this many seconds before closing, so the "
        "client can finish sending and read the answer (nginx's lingering_time). "
        f"[default: {DEFAULTS['timeout_linger']:g}]",
    )
    g.add_argument(
        "--timeout-linger-idle",
        type=_number,
        default=DEFAULTS["timeout_linger_idle"],
        help="End that lingering close after this many seconds without data "
        f"(nginx's lingering_timeout). [default: {DEFAULTS['timeout_linger_idle']:g}]",
    )
    g.add_argument(
        "--limit-linger",
        type=_size,
        default=DEFAULTS["limit_linger"],
        help="End that lingering close after discarding this many bytes (K/M/G suffixes ok). "
        f"[default: {_size_text(DEFAULTS['limit_linger'])}]",
    )

    g = p.add_argument_group("unsupported (clear errors)")
    g.add_argument("--reload", action="store_true", default=False, help="Not supported by graft.")

    p.add_argument(
        "--version", action="version", version=version_string(), help="Display the graft version and exit."
    )
    return p


def _apply_env_defaults(parser: argparse.ArgumentParser, environ: dict[str, str] | os._Environ[str]) -> None:
    """Let ``GRAFT_<DEST>`` variables provide defaults (command-line options still win)."""
    for action in parser._actions:  # noqa: SLF001 - argparse has no public iterator
        if action.dest in ("help", "version"):
            continue
        env_name = ENV_PREFIX + action.dest.upper()
        raw = environ.get(env_name)
        if raw is None:
            continue
        try:
            if isinstance(action, (argparse.BooleanOptionalAction, argparse._StoreTrueAction)):  # noqa: SLF001
                value: Any = _bool(raw)
            elif isinstance(action, argparse._AppendAction):  # noqa: SLF001
                convert = action.type or str
                value = [convert(item) for item in raw.split()]
            else:
                value = action.type(raw) if action.type else raw
                if action.choices is not None and value not in action.choices:
                    raise argparse.ArgumentTypeError(
                        f"{raw!r} is not one of {', '.join(map(str, action.choices))}"
                    )
        except (argparse.ArgumentTypeError, ValueError) as exc:
            parser.error(f"invalid value in ${env_name}: {exc}")
        parser.set_defaults(**{action.dest: value})


def parse_args(argv: Sequence[str] | None = None, environ: Any = None) -> dict[str, Any]:
    """Parse the command line into keyword arguments for ``run()`` / ``Config``."""
    parser = build_parser()
    _apply_env_defaults(parser, os.environ if environ is None else environ)
    ns = parser.parse_args(argv)
    if not ns.app:
        parser.error("the following arguments are required: APP")
    kwargs = vars(ns)
    if kwargs["log_config"] is None:
        kwargs["log_config"] = LOGGING_CONFIG
    kwargs["native"] = kwargs["native"] or []
    kwargs["route_mode"] = kwargs["route_mode"] or []
    kwargs["headers"] = kwargs["headers"] or []
    return kwargs


# -- running ----------------------------------------------------------------------------------
def _serve_worker(config: Config, sockets: list[socket.socket] | None = None) -> int:
    """Body of one worker process: returns 3 if the server never started (see Supervisor)."""
    from graft.server import Server

    server = Server(config)
    try:
        server.run(sockets=sockets)
    except KeyboardInterrupt:
        pass
    except SystemExit:
        if not getattr(server, "started", False):
            return STARTUP_FAILURE
        raise
    except Exception:
        if not getattr(server, "started", False):
            logger.exception("Worker process [%d] failed to start.", os.getpid())
            return STARTUP_FAILURE
        raise
    return 0 if getattr(server, "started", False) else STARTUP_FAILURE


def _remove_uds(path: str | None) -> None:
    if not path:
        return
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.remove(path)
    except OSError:
        pass


def run(app: Any, **kwargs: Any) -> None:
    """Serve ``app`` (import string or ASGI callable); the programmatic ``uvicorn.run``.

    Raises ValueError for invalid options; exits (SystemExit) with 1 if the app cannot be
    loaded or the socket bound and 3 if the app's startup failed; returns after a normal stop.
    """
    serve(Config(app, **kwargs))


def serve(config: Config) -> None:
    """Run the server for a ready Config: one process, or a Supervisor when --workers is given."""
    if config.workers > 1 and not isinstance(config.app, str):
        logger.warning("You must pass the application as an import string to enable 'reload' or 'workers'.")
        sys.exit(1)

    if getattr(config, "limit_worker_rss", None) and not config.use_subprocess:
        logger.warning("--limit-worker-rss needs --workers N (the supervisor replaces workers); ignored.")
    from graft.server import Server  # imported here: the C extension is not needed to parse options

    from graft import admin

    if config.is_ssl:
        # Read the files once before any fork, so that a bad one is one clear error (exit 1,
        # as uvicorn) rather than N failed workers; every worker then builds its own context
        # from disk (a rolling reload's new workers read the new certificates).
        from graft import _graft

        try:
            _graft.tls_check(config.tls_spec)
        except ValueError as exc:
            logger.error("%s", exc)
            sys.exit(1)
        if config.ssl_ticket_keys is None:
            # One set of session-ticket keys for all workers (and their rolling-reload
            # successors, forked from the same supervisor): a session resumes on any worker.
            config.ssl_ticket_keys = os.urandom(80)

    exit_code = 0
    try:
        admin.setup(config)  # before any fork: every worker inherits the region and listeners
        if config.use_subprocess:
            from graft.supervisor import Supervisor

            sock = config.bind_socket()
            try:
                target = functools.partial(_serve_worker, config)
                exit_code = Supervisor(config, target=target, sockets=[sock]).run()
            finally:
                sock.close()
        else:
            server = Server(config)
            try:
                server.run()
            except KeyboardInterrupt:
                pass
            if not getattr(server, "started", False):
                exit_code = STARTUP_FAILURE
    finally:
        if config.uds:
            _remove_uds(config.uds)
        admin.close(config)

    if exit_code:
        sys.exit(exit_code)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``graft`` command and ``python -m graft``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["routes"]:  # the coverage report: no server
        from graft.routes import main as routes_main

        return routes_main(args[1:])
    if args[:1] == ["diff"]:  # compare two servers' answers: no server
        from graft.diff import main as diff_main

        return diff_main(args[1:])
    if args[:1] == ["openapi"]:  # the app's OpenAPI document (for graft-serve): no server
        from graft.openapi import main as openapi_main

        return openapi_main(args[1:])
    if args[:1] == ["port"]:  # a C handler skeleton for one route (and its test): no server
        from graft.port import main as port_main

        return port_main(args[1:])
    if args[:1] == ["ctl"]:  # a client of a running server's --control socket
        from graft.ctl import main as ctl_main

        return ctl_main(args[1:])
    kwargs = parse_args(argv)
    app = kwargs.pop("app")
    try:
        config = Config(app, **kwargs)
    except ValueError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    serve(config)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
