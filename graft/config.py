"""Server configuration: uvicorn-compatible options plus graft's own limits.

``Config`` is the single object the C engine and the ASGI bridge read their settings from, so
every option is a plain attribute with a checked, normalised value (see ``Config.__init__``).
Defaults are uvicorn's, so ``Config("app:app")`` behaves like ``uvicorn.Config("app:app")``.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import logging
import logging.config
import os
import socket
import stat
import sys
from typing import Any, Callable

from graft.access_format import AccessLogFormat
from graft.logging import LEVEL_LOGGERS, LOGGING_CONFIG, colorize, parse_log_level

logger = logging.getLogger("graft.error")

SERVER_NAME = b"graft"
_QUIT_HINT = "(Press CTRL+C to quit)"

LOOP_CHOICES = ("auto", "asyncio", "uvloop", "none")
LIFESPAN_CHOICES = ("auto", "on", "off")
INTERFACE_CHOICES = ("auto", "asgi3", "asgi2")
HTTP_CHOICES = ("auto", "h11", "httptools")  # accepted for CLI compatibility; graft parses HTTP in C
WS_CHOICES = ("auto", "none", "websockets", "wsproto")  # anything but "none" = graft's own
# Python's ssl.PROTOCOL_TLS_SERVER, uvicorn's --ssl-version default; the values graft's C layer
# serves: PROTOCOL_TLS (2, also SSLv23), TLSv1 (3), TLSv1_1 (4), TLSv1_2 (5), TLS_SERVER (17).
SSL_PROTOCOL_VERSION = 17
SSL_VERSIONS = (2, 3, 4, 5, 17)


class ImportFromStringError(Exception):
    """An "module:attribute" import string could not be resolved (message is user-facing)."""


def import_from_string(import_str: Any) -> Any:
    """Resolve ``"package.module:attr.sub"``; non-strings are returned unchanged.

    Only a failure to find *the named* module is turned into ImportFromStringError; an
    ImportError raised by the module's own imports propagates with its traceback, because
    hiding it would point the user at the wrong problem.
    """
    if not isinstance(import_str, str):
        return import_str

    module_str, _, attrs_str = import_str.partition(":")
    if not module_str or not attrs_str:
        raise ImportFromStringError(
            f'Import string "{import_str}" must be in format "<module>:<attribute>".'
        )

    try:
        module = importlib.import_module(module_str)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        # "a.b.c" not found may be reported as "a" or "a.b" missing.
        if missing != module_str and not module_str.startswith(missing + "."):
            raise
        raise ImportFromStringError(f'Could not import module "{module_str}".') from None

    instance: Any = module
    try:
        for attr in attrs_str.split("."):
            instance = getattr(instance, attr)
    except AttributeError:
        raise ImportFromStringError(
            f'Attribute "{attrs_str}" not found in module "{module_str}".'
        ) from None
    return instance


class ASGI2Middleware:
    """Adapts an ASGI2 (double-callable, ``app(scope)(receive, send)``) app to ASGI3."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        instance = self.app(scope)
        await instance(receive, send)


def _is_asgi3(app: Any) -> bool:
    """uvicorn's heuristic: ASGI3 apps are coroutine functions / have an async __call__."""
    if inspect.isclass(app):
        return hasattr(app, "__await__")
    if inspect.isfunction(app):
        return asyncio.iscoroutinefunction(app)
    call = getattr(app, "__call__", None)
    return asyncio.iscoroutinefunction(call)


def _looks_like_factory(obj: Any) -> bool:
    """A plain sync function callable with no arguments: an app factory passed without --factory.

    uvicorn finds these by calling *anything* with no arguments and ignoring TypeError, which
    also hides real TypeErrors raised inside a factory; we only call what can be a factory.
    """
    if not inspect.isfunction(obj) or asyncio.iscoroutinefunction(obj):
        return False
    try:
        inspect.signature(obj).bind()
    except (TypeError, ValueError):
        return False
    return True


def load_env_file(path: str | os.PathLike[str]) -> None:
    """Load KEY=VALUE lines into os.environ without overriding variables already set.

    Uses python-dotenv when installed (same semantics as uvicorn); otherwise a small parser
    handling comments, ``export KEY=...``, and single/double-quoted values.
    """
    try:
        from dotenv import load_dotenv
    except ImportError:
        load_dotenv = None
    if load_dotenv is not None:
        load_dotenv(dotenv_path=path)
        return
    for key, value in parse_env_text(_read_text(path)).items():
        os.environ.setdefault(key, value)


def _read_text(path: str | os.PathLike[str]) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def parse_env_text(text: str) -> dict[str, str]:
    """Parse dotenv-style text: ``KEY=VALUE`` per line, ``#`` comments, optional quotes."""
    result: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            quote, value = value[0], value[1:-1]
            if quote == '"':
                value = (
                    value.replace("\\n", "\n").replace("\\t", "\t").replace('\\"', '"').replace("\\\\", "\\")
                )
        else:
            # Unquoted: an inline comment starts at " #".
            hash_at = value.find(" #")
            if hash_at != -1:
                value = value[:hash_at].rstrip()
        result[key] = value
    return result


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"Invalid value for {name}: {value!r} (choose from {', '.join(choices)}).")
    return value


def _check_int(name: str, value: Any, minimum: int, optional: bool = False) -> int | None:
    """Return ``value`` as an int >= minimum (accepting "12" and 12.0); ValueError otherwise."""
    if value is None and optional:
        return None
    result: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        result = value
    elif isinstance(value, float) and value.is_integer():
        result = int(value)
    elif isinstance(value, str):
        try:
            result = int(value.strip())
        except ValueError:
            result = None
    if result is None:
        raise ValueError(f"Invalid value for {name}: {value!r} is not an integer.")
    if result < minimum:
        raise ValueError(f"Invalid value for {name}: {result} (must be >= {minimum}).")
    return result


def _check_number(name: str, value: Any, optional: bool = False, allow_zero: bool = True) -> float | int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool):
        raise ValueError(f"Invalid value for {name}: {value!r} is not a number.")
    if not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"Invalid value for {name}: {value!r} is not a number.") from None
        if value.is_integer():
            value = int(value)
    if value < 0 or (value == 0 and not allow_zero) or value != value:
        raise ValueError(f"Invalid value for {name}: {value} (must be {'>=' if allow_zero else '>'} 0).")
    return value


def _normalise_headers(headers: Any) -> list[tuple[str, str]]:
    result: list[tuple[str, str]] = []
    for item in headers or []:
        if isinstance(item, str):
            name, sep, value = item.partition(":")
            if not sep:
                raise ValueError(f'Invalid header {item!r}: expected "NAME:VALUE".')
        else:
            try:
                name, value = item
            except (TypeError, ValueError):
                raise ValueError(f"Invalid header {item!r}: expected a (name, value) pair.") from None
        if not isinstance(name, str) or not isinstance(value, str):
            raise ValueError(f"Invalid header {item!r}: name and value must be str.")
        name, value = name.strip(), value.strip()
        if not name or any(c in name for c in " \t\r\n:") or any(c in value for c in "\r\n\0"):
            raise ValueError(f"Invalid header {item!r}.")
        try:
            name.encode("latin-1"), value.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(f"Invalid header {item!r}: not latin-1 encodable.") from None
        result.append((name, value))
    return result


def _normalise_ips(value: Any) -> list[str]:
    if isinstance(value, str):
        items = value.split(",")
    else:
        items = list(value)
    return [str(item).strip() for item in items if str(item).strip()]




SD_LISTEN_FDS_START = 3  # sd_listen_fds(3): passed sockets start at this descriptor


def systemd_listen_fd() -> int | None:
    """The socket systemd passed (socket activation: LISTEN_FDS, LISTEN_PID naming us), or None.

    As sd_listen_fds(3), the variables are removed once read, so nothing started later takes
    the socket for its own. graft serves one socket: several passed ones are an error (exit 1)
    rather than a silent choice.
    """
    fds, pid = os.environ.get("LISTEN_FDS"), os.environ.get("LISTEN_PID")
    if fds is None:
        return None
    for name in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)
    if pid is not None and pid.strip() != str(os.getpid()):
        return None  # meant for another process (an ancestor that exec'd us through a shell)
    try:
        n = int(fds)
    except ValueError:
        logger.error("LISTEN_FDS=%r is not a number.", fds)
        sys.exit(1)
    if n < 1:
        return None
    if n > 1:
        logger.error("systemd passed %d sockets (LISTEN_FDS); graft serves one. Give the socket "
                     "unit a single ListenStream=.", n)
        sys.exit(1)
    return SD_LISTEN_FDS_START

def remove_stale_socket(path: str, what: str) -> None:
    """Unlink a Unix socket an earlier run left at path; exit 1 when a file that is not a
    socket is there (never delete someone's file)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        logger.error("Cannot bind %s %s: a file that is not a socket exists there.", what, path)
        sys.exit(1)
    os.unlink(path)

class Config:
    """All server settings, validated up front so a bad value fails before anything starts.

    Invalid values raise ValueError with a message naming the option. Construction also
    configures logging and loads ``env_file`` (like uvicorn) because later defaults —
    ``$WEB_CONCURRENCY``, ``$FORWARDED_ALLOW_IPS`` — may come from that file.
    """

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 8000,
        uds: str | None = None,
        fd: int | None = None,
        loop: str = "auto",
        lifespan: str = "auto",
        env_file: str | os.PathLike[str] | None = None,
        log_config: dict[str, Any] | str | Any | None = LOGGING_CONFIG,
        log_level: str | int | None = None,
        access_log: bool = True,
        use_colors: bool | None = None,
        interface: str = "auto",
        reload: bool = False,
        workers: int | None = None,
        proxy_headers: bool = True,
        server_header: bool = True,
        date_header: bool = True,
        forwarded_allow_ips: list[str] | str | None = None,
        root_path: str = "",
        limit_concurrency: int | None = None,
        limit_max_requests: int | None = None,
        limit_max_requests_jitter: int = 0,
        limit_worker_rss: int | None = None,
        backlog: int = 2048,
        timeout_keep_alive: float = 5,
        timeout_graceful_shutdown: float | None = None,
        headers: list[tuple[str, str]] | None = None,
        factory: bool = False,
        app_dir: str | None = "",
        http: str = "auto",
        ws: str = "auto",
        ws_max_size: int = 16 * 1024 * 1024,
        ws_max_queue: int = 32,
        ws_ping_interval: float | None = 20.0,
        ws_ping_timeout: float | None = 20.0,
        ws_per_message_deflate: bool = True,
        ssl_keyfile: str | os.PathLike[str] | None = None,
        ssl_certfile: str | os.PathLike[str] | None = None,
        ssl_keyfile_password: str | None = None,
        ssl_version: int = SSL_PROTOCOL_VERSION,
        ssl_cert_reqs: int = 0,
        ssl_ca_certs: str | os.PathLike[str] | None = None,
        ssl_ciphers: str | None = None,
        # graft-specific
        threads: int = 1,
        io_poll: str = "loop",
        limit_request_line: int = 8190,
        limit_request_head: int = 65536,
        limit_request_fields: int = 100,
        limit_request_body: int | None = None,
        timeout_request_header: float = 10.0,
        timeout_body_read: float = 30.0,
        timeout_send: float = 60.0,
        timeout_linger: float = 30.0,
        timeout_linger_idle: float = 5.0,
        limit_linger: int = 64 * 1024 * 1024,
        native: list[str] | None = None,
        blocking_threads: int = 4,
        pathsend: bool = False,
        route_mode: list[str] | None = None,
        shadow_log: str | os.PathLike[str] | None = None,
        shadow_timeout: float = 5.0,
        metrics: str | None = None,
        control: str | None = None,
        health_path: str | None = None,
        access_log_format: str | None = None,
        ssl_ktls: bool = True,
    ) -> None:
        if reload:
            raise ValueError(
                "--reload is not supported by graft. Use uvicorn (or watchfiles) for development "
                "auto-reload; graft is meant for serving."
            )
        # TLS in C (src/core/tls.c) with uvicorn's options and values: on when a key or a
        # certificate is given; the files are read when the server starts (a bad one stops it
        # with an error naming the file) and again on SIGHUP.
        self.ssl_keyfile = os.fspath(ssl_keyfile) if ssl_keyfile else None
        self.ssl_certfile = os.fspath(ssl_certfile) if ssl_certfile else None
        self.ssl_keyfile_password = ssl_keyfile_password or None
        self.ssl_version = _check_int("ssl_version", ssl_version, 0)
        if self.ssl_version not in SSL_VERSIONS:
            raise ValueError(f"--ssl-version {ssl_version}: expected one of {', '.join(map(str, SSL_VERSIONS))} "
                             "(Python's ssl.PROTOCOL_* values; 17 is PROTOCOL_TLS_SERVER, the default)")
        self.ssl_cert_reqs = _check_int("ssl_cert_reqs", ssl_cert_reqs, 0)
        if self.ssl_cert_reqs > 2:
            raise ValueError(f"--ssl-cert-reqs {ssl_cert_reqs}: expected 0 (CERT_NONE), 1 (CERT_OPTIONAL) "
                             "or 2 (CERT_REQUIRED)")
        self.ssl_ca_certs = os.fspath(ssl_ca_certs) if ssl_ca_certs else None
        self.ssl_ciphers = ssl_ciphers or None
        # Session-ticket keys every worker shares (set by serve() before it forks), so a
        # session resumes on any worker; None: each process makes its own.
        self.ssl_ticket_keys: bytes | None = None
        # Kernel TLS for file responses where the kernel offers it (graft's own option).
        self.ssl_ktls = bool(ssl_ktls)
        if self.ssl_keyfile and not self.ssl_certfile:
            raise ValueError("--ssl-keyfile needs --ssl-certfile (the certificate to serve).")
        if app is None or not (isinstance(app, str) or callable(app)):
            raise ValueError(f"app must be an import string 'module:attribute' or an ASGI callable, got {app!r}.")

        self.app = app
        self.host = host
        self.port = _check_int("port", port, 0)
        if self.port is not None and self.port > 65535:
            raise ValueError(f"Invalid value for port: {port} (must be 0..65535).")
        self.uds = uds or None
        self.fd = _check_int("fd", fd, 0, optional=True)
        self.loop = _check_choice("loop", loop, LOOP_CHOICES)
        self.lifespan = _check_choice("lifespan", lifespan, LIFESPAN_CHOICES)
        self.interface = _check_choice("interface", interface, INTERFACE_CHOICES)
        self.http = _check_choice("http", http, HTTP_CHOICES)
        self.ws = _check_choice("ws", ws, WS_CHOICES)
        self.env_file = env_file
        self.log_config = log_config
        self.log_level: int | None = None if log_level is None else parse_log_level(log_level)
        self.access_log = bool(access_log)
        self.use_colors = use_colors
        self.reload = False
        self.proxy_headers = bool(proxy_headers)
        self.server_header = bool(server_header)
        self.date_header = bool(date_header)
        self.root_path = root_path or ""
        self.limit_concurrency = _check_int("limit_concurrency", limit_concurrency, 1, optional=True)
        self.limit_max_requests = _check_int("limit_max_requests", limit_max_requests, 1, optional=True)
        self.limit_max_requests_jitter = _check_int("limit_max_requests_jitter", limit_max_requests_jitter, 0)
        # MiB; checked by the supervisor (graft/supervisor.py), so only under --workers N.
        self.limit_worker_rss = _check_int("limit_worker_rss", limit_worker_rss, 1, optional=True)
        self.backlog = _check_int("backlog", backlog, 1)
        self.timeout_keep_alive = _check_number("timeout_keep_alive", timeout_keep_alive)
        self.timeout_graceful_shutdown = _check_number(
            "timeout_graceful_shutdown", timeout_graceful_shutdown, optional=True
        )
        self.headers = _normalise_headers(headers)
        self.factory = bool(factory)
        self.app_dir = app_dir
        self.ws_max_size = _check_int("ws_max_size", ws_max_size, 1)
        self.ws_max_queue = _check_int("ws_max_queue", ws_max_queue, 1)
        self.ws_ping_interval = _check_number("ws_ping_interval", ws_ping_interval, optional=True)
        self.ws_ping_timeout = _check_number("ws_ping_timeout", ws_ping_timeout, optional=True)
        self.ws_per_message_deflate = bool(ws_per_message_deflate)

        self.threads = _check_int("threads", threads, 1)
        if io_poll not in ("loop", "thread"):
            raise ValueError(f"io_poll must be 'loop' or 'thread', not {io_poll!r}")
        self.io_poll = io_poll
        self.limit_request_line = _check_int("limit_request_line", limit_request_line, 1)
        self.limit_request_head = _check_int("limit_request_head", limit_request_head, 1)
        self.limit_request_fields = _check_int("limit_request_fields", limit_request_fields, 1)
        self.limit_request_body = _check_int("limit_request_body", limit_request_body, 0, optional=True)
        self.timeout_request_header = _check_number(
            "timeout_request_header", timeout_request_header, allow_zero=False
        )
        self.timeout_body_read = _check_number("timeout_body_read", timeout_body_read, allow_zero=False)
        self.timeout_send = _check_number("timeout_send", timeout_send, allow_zero=False)
        self.timeout_linger = _check_number("timeout_linger", timeout_linger, allow_zero=False)
        self.timeout_linger_idle = _check_number("timeout_linger_idle", timeout_linger_idle, allow_zero=False)
        self.limit_linger = _check_int("limit_linger", limit_linger, 1)
        if isinstance(native, (str, os.PathLike)):
            native = [native]
        self.native: list[str] = [os.fspath(p) for p in (native or [])]
        self.blocking_threads = _check_int("blocking_threads", blocking_threads, 0)
        # 'METHOD TEMPLATE=MODE' or '*=MODE' per native route; checked against the loaded
        # libraries when the server starts (an unknown route or mode stops it there).
        if isinstance(route_mode, str):
            route_mode = [route_mode]
        self.route_mode: list[str] = list(route_mode or [])
        # Shadow mode (docs/MIGRATING.md): where mismatch lines go (None: the graft.shadow
        # logger) and how long a replay may take before it counts as failed.
        self.shadow_log: str | None = os.fspath(shadow_log) if shadow_log else None
        self.shadow_timeout = _check_number("shadow_timeout", shadow_timeout, allow_zero=False)
        # Prometheus metrics on their own listener (HOST:PORT) and the live control socket
        # (a Unix socket path); either one turns recording on (graft/admin.py).
        self.metrics: str | None = metrics or None
        if self.metrics is not None:
            from graft.admin import split_host_port

            split_host_port(self.metrics)  # ValueError early, not in a worker
        self.control: str | None = os.fspath(control) if control else None
        # Answered by the engine before the app: 200 while serving, 503 while draining.
        if health_path and not str(health_path).startswith("/"):
            raise ValueError(f"--health-path {health_path!r}: must start with '/', e.g. /healthz")
        self.health_path: str | None = str(health_path) if health_path else None
        # Parsed now, so that a bad format is a start-up error (graft/access_format.py).
        self.access_log_format: AccessLogFormat | None = (
            AccessLogFormat(str(access_log_format)) if access_log_format else None
        )
        # Set by graft.admin.setup() before any fork: the shared region (a capsule), the admin
        # listeners and their kinds; metrics_slot is this worker's slot (the supervisor's pick).
        self.shared: Any = None
        self.admin_sockets: list[socket.socket] = []
        self.admin_kinds: list[int] = []
        self.metrics_slot = 0
        # The write end of this worker's readiness pipe (graft.supervisor.notify_ready), set by
        # the supervisor in the forked child; -1 when not under a supervisor.
        self.ready_fd = -1
        # Off by default, as uvicorn (which has no pathsend): offering it makes Starlette's
        # GZipMiddleware leave FileResponse/StaticFiles uncompressed.
        self.pathsend = bool(pathsend)

        # Header list sent on every response after `date`: `server: graft` unless disabled or
        # overridden by a --header, then the --header values (uvicorn's order).
        encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.headers]
        if self.server_header and not any(k == b"server" for k, _ in encoded):
            encoded.insert(0, (b"server", SERVER_NAME))
        self.encoded_headers: list[tuple[bytes, bytes]] = encoded

        self.loaded = False
        self.loaded_app: Any = None
        self._env_loaded = False

        self.configure_logging()
        self.load_env()

        if workers is None:
            env_workers = os.environ.get("WEB_CONCURRENCY")
            if env_workers:
                try:
                    workers = int(env_workers)
                except ValueError:
                    raise ValueError(f"Invalid $WEB_CONCURRENCY {env_workers!r}: not an integer.") from None
        self.workers = _check_int("workers", 1 if workers is None else workers, 1)
        # --workers given (even 1) means a supervisor and workers, so that SIGHUP is a rolling
        # reload and a crashed worker is replaced; without it graft is one process, as uvicorn.
        # An app object cannot be re-imported by workers: it stays one process (as uvicorn).
        self.workers_given = workers is not None
        if (self.metrics or self.control) and self.workers > 64:  # GRAFT__SHM_SLOTS
            raise ValueError("--metrics and --control allow at most 64 workers (one shared slot each).")

        if forwarded_allow_ips is None:
            forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")  # uvicorn >= 0.35
        self.forwarded_allow_ips: list[str] = _normalise_ips(forwarded_allow_ips)

    # -- derived values -------------------------------------------------------------------
    @property
    def asgi_version(self) -> str:
        """ASGI version put in scope["asgi"]["version"]: "2.0" for a wrapped ASGI2 app."""
        return "2.0" if self.interface == "asgi2" else "3.0"

    @property
    def use_subprocess(self) -> bool:
        """Whether a supervisor runs the app in worker processes (see workers_given)."""
        return self.workers > 1 or (self.workers_given and isinstance(self.app, str))

    @property
    def ws_enabled(self) -> bool:
        return self.ws != "none"

    # -- logging --------------------------------------------------------------------------
    def configure_logging(self) -> None:
        """Apply ``log_config`` (dict, .json/.yaml/.yml or .ini-style file), then ``log_level``.

        A dict config is deep-copied before use so ``use_colors`` never mutates the module
        default shared by every Config.
        """
        log_config = self.log_config
        if log_config is not None:
            if isinstance(log_config, dict):
                log_config = _deepcopy_config(log_config)
                if self.access_log_format is not None and log_config is not None:
                    # The format is the whole line, as gunicorn writes it: no level prefix.
                    formatter = log_config.get("formatters", {}).get("access")
                    if isinstance(formatter, dict) and formatter.get("()") == "graft.logging.AccessFormatter":
                        log_config["formatters"]["access"] = {"format": "%(message)s"}
                if self.use_colors in (True, False):
                    for name in ("default", "access"):
                        formatter = log_config.get("formatters", {}).get(name)
                        if isinstance(formatter, dict) and "()" in formatter:
                            formatter["use_colors"] = self.use_colors
                logging.config.dictConfig(log_config)
            elif isinstance(log_config, (str, os.PathLike)) and os.fspath(log_config).endswith(".json"):
                with open(log_config, encoding="utf-8") as f:
                    logging.config.dictConfig(json.load(f))
            elif isinstance(log_config, (str, os.PathLike)) and os.fspath(log_config).endswith((".yaml", ".yml")):
                try:
                    import yaml
                except ImportError:
                    raise ValueError(
                        f"log_config {os.fspath(log_config)!r} is YAML but PyYAML is not installed (pip install pyyaml)."
                    ) from None
                with open(log_config, encoding="utf-8") as f:
                    logging.config.dictConfig(yaml.safe_load(f))
            else:
                if isinstance(log_config, (str, os.PathLike)) and not os.path.exists(log_config):
                    raise ValueError(f"log_config file {os.fspath(log_config)!r} does not exist.")
                logging.config.fileConfig(log_config, disable_existing_loggers=False)

        if self.log_level is not None:
            for name in LEVEL_LOGGERS:
                logging.getLogger(name).setLevel(self.log_level)
        if not self.access_log:
            access = logging.getLogger("graft.access")
            access.handlers = []
            access.propagate = False

    @property
    def is_ssl(self) -> bool:
        """TLS is on (uvicorn's rule: a key or a certificate was given)."""
        return bool(self.ssl_keyfile or self.ssl_certfile)

    @property
    def tls_spec(self) -> tuple[Any, ...] | None:
        """What the C layer builds its TLS context from (graft._graft.Server's tls=)."""
        if not self.is_ssl:
            return None
        return (self.ssl_certfile, self.ssl_keyfile, self.ssl_keyfile_password, self.ssl_version,
                self.ssl_cert_reqs, self.ssl_ca_certs, self.ssl_ciphers, self.ssl_ticket_keys, self.ssl_ktls)

    # -- environment and app --------------------------------------------------------------
    def load_env(self) -> None:
        """Load ``env_file`` once (called from __init__; safe to call again)."""
        if self._env_loaded or self.env_file is None:
            return
        if not os.path.isfile(self.env_file):
            raise ValueError(f"env_file {os.fspath(self.env_file)!r} does not exist.")
        logger.info("Loading environment from '%s'", os.fspath(self.env_file))
        load_env_file(self.env_file)
        self._env_loaded = True

    def load(self) -> None:
        """Import (or call the factory for) the app and wrap it to ASGI3 if needed.

        Sets ``loaded_app`` and ``loaded``. Like uvicorn, a bad import string or factory logs
        "Error loading ASGI app. ..." on graft.error and exits with status 1. Idempotent.
        """
        if self.loaded:
            return
        self.load_env()
        if self.app_dir:
            if self.app_dir not in sys.path:
                sys.path.insert(0, self.app_dir)

        try:
            app = import_from_string(self.app)
        except ImportFromStringError as exc:
            logger.error("Error loading ASGI app. %s", exc)
            sys.exit(1)

        if self.factory:
            try:
                app = app()
            except TypeError as exc:
                logger.error("Error loading ASGI app factory: %s", exc)
                sys.exit(1)
        elif _looks_like_factory(app):
            logger.warning(
                "ASGI app factory detected. Using it, but please consider setting the --factory flag explicitly."
            )
            app = app()

        if not callable(app):
            logger.error("Error loading ASGI app. %r is not callable.", app)
            sys.exit(1)

        if self.interface == "auto":
            self.interface = "asgi3" if _is_asgi3(app) else "asgi2"
        if self.interface == "asgi2":
            app = ASGI2Middleware(app)

        self.loaded_app = app
        self.loaded = True

    # -- event loop -----------------------------------------------------------------------
    def setup_event_loop(self) -> Callable[[], asyncio.AbstractEventLoop]:
        """Select the event loop and return a factory for it.

        "auto" uses uvloop when importable, else asyncio; "uvloop" requires it. The loop
        policy is also set (as uvicorn does) so code calling ``asyncio.new_event_loop()``
        gets the same loop type. Use the result as ``asyncio.Runner(loop_factory=...)``.
        """
        if self.loop in ("auto", "uvloop"):
            try:
                import uvloop
            except ImportError:
                if self.loop == "uvloop":
                    raise ImportError("--loop uvloop requires the uvloop package (pip install uvloop).") from None
            else:
                asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
                return uvloop.new_event_loop
        return asyncio.new_event_loop

    # -- listening socket -----------------------------------------------------------------
    def bind_socket(self) -> socket.socket:
        """Create the listening socket (uds > fd > systemd's LISTEN_FDS > host:port), non-blocking.

        Binding failures log the OSError and exit with status 1, as uvicorn does. Logs the
        "Graft running on ..." line.
        """
        if self.uds:
            sock = self._bind_uds(self.uds)
            logger.info(
                "Graft running on unix socket %s (Press CTRL+C to quit)",
                self.uds,
                extra={"color_message": f"Graft running on unix socket {colorize('%s', bold=True)} {_QUIT_HINT}"},
            )
        elif self.fd is not None:
            sock = self._socket_from_fd(self.fd)
            logger.info("Graft running on socket %s (Press CTRL+C to quit)", sock.getsockname())
        elif (activated := systemd_listen_fd()) is not None:
            sock = self._socket_from_fd(activated)
            os.close(activated)  # _socket_from_fd serves a duplicate
            logger.info("Graft running on socket %s from systemd (Press CTRL+C to quit)", sock.getsockname())
        else:
            sock, family = self._bind_tcp()
            addr_format = "%s://[%s]:%d" if family == socket.AF_INET6 else "%s://%s:%d"
            logger.info(
                f"Graft running on {addr_format} (Press CTRL+C to quit)",
                "https" if self.is_ssl else "http",
                self._bare_host(),
                sock.getsockname()[1],
                extra={"color_message": f"Graft running on {colorize(addr_format, bold=True)} {_QUIT_HINT}"},
            )
        sock.setblocking(False)
        return sock

    def _bare_host(self) -> str:
        host = self.host if self.host is not None else "0.0.0.0"
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return host

    def _bind_tcp(self) -> tuple[socket.socket, int]:
        host = self._bare_host()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, self.port))
            sock.listen(self.backlog)
        except OSError as exc:
            sock.close()
            logger.error(exc)
            sys.exit(1)
        return sock, family

    def _bind_uds(self, path: str) -> socket.socket:
        remove_stale_socket(path, "unix socket")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(path)
            os.chmod(path, 0o666)
            sock.listen(self.backlog)
        except OSError as exc:
            sock.close()
            logger.error(exc)
            sys.exit(1)
        return sock

    def _socket_from_fd(self, fd: int) -> socket.socket:
        try:
            # socket(fileno=...) detects family and type; dup so the caller's fd stays valid.
            sock = socket.socket(fileno=os.dup(fd))
        except OSError as exc:
            logger.error("Cannot use file descriptor %d as a socket: %s", fd, exc)
            sys.exit(1)
        if sock.type != socket.SOCK_STREAM:
            sock.close()
            logger.error("File descriptor %d is not a stream socket.", fd)
            sys.exit(1)
        try:
            if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                sock.listen(self.backlog)
        except OSError as exc:
            sock.close()
            logger.error("Cannot listen on file descriptor %d: %s", fd, exc)
            sys.exit(1)
        return sock


# Config's keyword defaults by name: the Python side's one statement of them (the signature
# above). The CLI (main.py) takes its defaults and their "[default: ...]" texts from here, and
# tests/server/test_defaults.py checks the C engine's (engine.h) against them.
DEFAULTS: dict[str, Any] = {
    name: param.default
    for name, param in inspect.signature(Config.__init__).parameters.items()
    if param.default is not inspect.Parameter.empty
}


def _deepcopy_config(value: Any) -> Any:
    """Copy nested dicts/lists of a logging config; leave other objects (handlers, streams) alone."""
    if isinstance(value, dict):
        return {k: _deepcopy_config(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deepcopy_config(v) for v in value]
    return value
