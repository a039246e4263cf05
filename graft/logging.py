"""Logging setup for graft, shaped like uvicorn's so existing log pipelines keep working.

Two loggers matter:

* ``graft.error`` (via its parent ``graft``) -> stderr, server life-cycle messages;
* ``graft.access`` -> stdout, one line per response.

The C side logs each response as::

    logging.getLogger("graft.access").info(
        '%s - "%s %s HTTP/%s" %d', client_addr, method, path_with_query, http_version, status)

so the record args are ``(client_addr, method, full_path, http_version, status_code)``.
With the default config a line reads exactly like uvicorn's::

    INFO:     127.0.0.1:54321 - "GET /path?x=1 HTTP/1.1" 200 OK

Apps that log to ``uvicorn`` / ``uvicorn.error`` (common in FastAPI code) are routed to the
same stderr handler, so their output does not vanish when swapping uvicorn for graft.
"""

from __future__ import annotations

import copy
import http
import logging
import sys
from typing import Any

TRACE_LOG_LEVEL = 5
logging.addLevelName(TRACE_LOG_LEVEL, "TRACE")

LOG_LEVELS: dict[str, int] = {
    "critical": logging.CRITICAL,
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": TRACE_LOG_LEVEL,
}

# ANSI SGR codes, the same colours uvicorn (click.style) uses.
_RESET = "\x1b[0m"


def colorize(text: str, fg: int | None = None, bold: bool = False) -> str:
    """Wrap ``text`` in ANSI colour codes (``fg`` is an SGR colour number, e.g. 32 green)."""
    codes = []
    if bold:
        codes.append("1")
    if fg is not None:
        codes.append(str(fg))
    if not codes:
        return text
    return f"\x1b[{';'.join(codes)}m{text}{_RESET}"


_LEVEL_COLOURS: dict[int, int] = {
    TRACE_LOG_LEVEL: 34,  # blue
    logging.DEBUG: 36,  # cyan
    logging.INFO: 32,  # green
    logging.WARNING: 33,  # yellow
    logging.ERROR: 31,  # red
    logging.CRITICAL: 91,  # bright red
}

_STATUS_COLOURS: dict[int, int] = {
    1: 97,  # bright white
    2: 32,  # green
    3: 33,  # yellow
    4: 31,  # red
    5: 91,  # bright red
}


class ColourizedFormatter(logging.Formatter):
    """Formatter that provides ``%(levelprefix)s`` ("INFO:     ") and optional colours.

    ``use_colors``: True forces colours, False disables them, None colours only when the
    stream this formatter is meant for is a terminal. A record may carry
    ``extra={"color_message": ...}``: used instead of ``msg`` when colouring.
    """

    stream_name = "stdout"

    def __init__(
        self,
        fmt: str | None = None,
        datefmt: str | None = None,
        style: str = "%",
        use_colors: bool | None = None,
    ) -> None:
        if use_colors in (True, False):
            self.use_colors = bool(use_colors)
        else:
            self.use_colors = self._stream_is_tty()
        super().__init__(fmt=fmt, datefmt=datefmt, style=style)  # type: ignore[arg-type]

    def _stream_is_tty(self) -> bool:
        stream = getattr(sys, self.stream_name, None)
        try:
            return bool(stream is not None and stream.isatty())
        except (AttributeError, ValueError):  # closed or replaced stream
            return False

    def color_level_name(self, level_name: str, level_no: int) -> str:
        colour = _LEVEL_COLOURS.get(level_no)
        return colorize(level_name, fg=colour) if colour is not None else level_name

    def formatMessage(self, record: logging.LogRecord) -> str:
        record = copy.copy(record)
        level_name = record.levelname
        padding = " " * max(0, 8 - len(level_name))
        if self.use_colors:
            level_name = self.color_level_name(level_name, record.levelno)
            if "color_message" in record.__dict__:
                record.msg = record.__dict__["color_message"]
                record.__dict__["message"] = record.getMessage()
        record.__dict__["levelprefix"] = level_name + ":" + padding
        return super().formatMessage(record)


class DefaultFormatter(ColourizedFormatter):
    """Formatter for server messages; they go to stderr, so colour follows stderr's tty-ness."""

    stream_name = "stderr"


class AccessFormatter(ColourizedFormatter):
    """Formatter for access lines: provides ``client_addr``, ``request_line``, ``status_code``.

    Expects the record args ``(client_addr, method, full_path, http_version, status_code)``.
    ``status_code`` renders as "200 OK" (like uvicorn), coloured by class in colour mode.
    A record with other args (someone else logging to graft.access) is formatted plainly
    instead of raising.
    """

    stream_name = "stdout"

    def get_status_code(self, status_code: int) -> str:
        try:
            phrase = http.HTTPStatus(status_code).phrase
        except ValueError:
            phrase = ""
        text = f"{status_code} {phrase}"
        if self.use_colors:
            colour = _STATUS_COLOURS.get(status_code // 100)
            if colour is not None:
                return colorize(text, fg=colour)
        return text

    def formatMessage(self, record: logging.LogRecord) -> str:
        args = record.args
        if not isinstance(args, tuple) or len(args) != 5:
            record = copy.copy(record)
            record.__dict__.setdefault("client_addr", "-")
            record.__dict__.setdefault("request_line", record.getMessage())
            record.__dict__.setdefault("status_code", "-")
            return super().formatMessage(record)
        client_addr, method, full_path, http_version, status_code = args
        try:
            status = self.get_status_code(int(status_code))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            status = str(status_code)
        request_line = f"{method} {full_path} HTTP/{http_version}"
        if self.use_colors:
            request_line = colorize(request_line, bold=True)
        record = copy.copy(record)
        record.__dict__.update(
            {"client_addr": client_addr, "request_line": request_line, "status_code": status}
        )
        return super().formatMessage(record)


LOGGING_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "default": {
            "()": "graft.logging.DefaultFormatter",
            "fmt": "%(levelprefix)s %(message)s",
            "use_colors": None,
        },
        "access": {
            "()": "graft.logging.AccessFormatter",
            "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
        },
    },
    "handlers": {
        "default": {
            "formatter": "default",
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
        },
        "access": {
            "formatter": "access",
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
        },
    },
    "loggers": {
        "graft": {"handlers": ["default"], "level": "INFO", "propagate": False},
        "graft.error": {"level": "INFO"},
        "graft.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        # Compatibility: application code written for uvicorn often logs here.
        "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
    },
}

# Loggers whose level --log-level sets.
LEVEL_LOGGERS = ("graft", "graft.error", "graft.access", "graft.asgi", "uvicorn", "uvicorn.error")


def parse_log_level(value: str | int) -> int:
    """Turn "debug" / "TRACE" / 10 / "10" into a numeric level; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"Invalid log level {value!r}.")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        name = value.strip().lower()
        if name in LOG_LEVELS:
            return LOG_LEVELS[name]
        if name.isdigit():
            return int(name)
    choices = ", ".join(LOG_LEVELS)
    raise ValueError(f"Invalid log level {value!r}: expected one of {choices} or an integer.")


def trace(logger: logging.Logger, msg: str, *args: Any, **kwargs: Any) -> None:
    """Log at TRACE level (5), below DEBUG."""
    if logger.isEnabledFor(TRACE_LOG_LEVEL):
        logger.log(TRACE_LOG_LEVEL, msg, *args, **kwargs)


__all__: list[str] = [
    "TRACE_LOG_LEVEL",
    "LOG_LEVELS",
    "LOGGING_CONFIG",
    "LEVEL_LOGGERS",
    "ColourizedFormatter",
    "DefaultFormatter",
    "AccessFormatter",
    "parse_log_level",
    "colorize",
    "trace",
]
