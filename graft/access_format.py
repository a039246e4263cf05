"""``--access-log-format``: gunicorn-style access-log atoms, parsed once at start-up.

The format is parsed into a list of literal texts and atom renderers, plus what the C side
must supply beyond the default line's arguments: the request and response header names the
format names (looked up per request in C, nothing else), and whether it needs the duration
(only then does the engine read the clock at each request's arrival). The default line (no
format) keeps its own, unchanged path.

Atoms (gunicorn's names and meanings where gunicorn has them):

======================  =====================================================================
``%(h)s``               client address, without the port (gunicorn's remote address); '-' on a Unix socket
``%(r)s``               request line: ``GET /path?q=1 HTTP/1.1``
``%(m)s``               method
``%(U)s``               path, without the query
``%(q)s``               query string (empty when none)
``%(H)s``               protocol: ``HTTP/1.1``
``%(s)s``               status code
``%(b)s``               response body bytes, '-' when 0
``%(B)s``               response body bytes
``%(D)s``               duration in microseconds
``%(M)s``               duration in milliseconds (integer)
``%(T)s``               duration in seconds (integer)
``%(L)s``               duration in decimal seconds: ``0.001234``
``%(f)s``               Referer, '-' when absent
``%(a)s``               User-Agent, '-' when absent
``%({name}i)s``         request header ``name``, '-' when absent
``%({name}o)s``         response header ``name``, '-' when absent (always '-' for native answers)
``%(p)s``               process id, as ``<1234>``
``%(t)s``               time of the log line: ``[06/Dec/2026:02:10:00 +0000]``
``%(answered_by)s``     who answered: native, python, declined (a native handler declined; the app answered) or graft
``%%``                  a literal '%'
======================  =====================================================================

Durations run from the request head's arrival to the line being written. Body bytes are what
the app sent (or the native handler, or graft's own error body).
"""

from __future__ import annotations

import os
import re
import time
from typing import Any, Callable

_ANSWERED_BY = ("python", "native", "declined", "graft")

_TOKEN = re.compile(r"%(?:\(([^)]*)\)s|%)")

# Atoms that need only the default arguments or the always-supplied bytes/answered_by.
_SIMPLE = frozenset("h r m U q H s b B p t".split()) | {"answered_by"}
_DURATION = frozenset("D M T L".split())

ATOMS = sorted(_SIMPLE | _DURATION | {"f", "a", "{name}i", "{name}o"})


class AccessLogFormat:
    """A parsed format: ``needs`` goes to the C server, ``render(...)`` makes a line."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        req: list[str] = []
        resp: list[str] = []
        duration = False
        parts: list[Any] = []  # str literal, or (kind, key)
        pos = 0
        for m in _TOKEN.finditer(fmt):
            parts.append(_literal(fmt, fmt[pos : m.start()]))
            pos = m.end()
            name = m.group(1)
            if name is None:  # %%
                parts.append("%")
                continue
            hm = re.fullmatch(r"\{([!#$%&'*+.^_`|~0-9A-Za-z-]+)\}([io])", name)
            if hm:
                header, side = hm.group(1).lower(), hm.group(2)
                names = req if side == "i" else resp
                if header not in names:
                    names.append(header)
                parts.append((side, names.index(header)))
            elif name in ("f", "a"):
                header = "referer" if name == "f" else "user-agent"
                if header not in req:
                    req.append(header)
                parts.append(("i", req.index(header)))
            elif name in _SIMPLE or name in _DURATION:
                duration = duration or name in _DURATION
                parts.append((name, None))
            else:
                raise ValueError(
                    f"--access-log-format: unknown atom %({name})s; known: "
                    + ", ".join(f"%({a})s" for a in ATOMS)
                )
        parts.append(_literal(fmt, fmt[pos:]))
        self.parts = [p for p in parts if p != ""]
        # What the C server supplies (bridge.h: access_fmt).
        self.needs = (
            tuple(n.encode("ascii") for n in req),
            tuple(n.encode("ascii") for n in resp),
            duration,
        )

    def render(
        self, client: str, method: str, root_path: str, target: str, version: str, status: int, extra: tuple
    ) -> str:
        req_vals, resp_vals, nbytes, us, by = extra
        out = []
        for p in self.parts:
            if isinstance(p, str):
                out.append(p)
                continue
            kind, key = p
            out.append(_RENDER[kind](client, method, root_path + target, version, status, nbytes, us, by, req_vals, resp_vals, key))
        return "".join(out)


def _literal(fmt: str, text: str) -> str:
    if "%" in text:
        raise ValueError(
            f"--access-log-format {fmt!r}: a '%' must start an atom such as %(h)s, or be written %%"
        )
    return text


def _hdr(vals: tuple, key: int) -> str:
    v = vals[key]
    return "-" if v is None else v


def _time() -> str:
    return time.strftime("[%d/%b/%Y:%H:%M:%S %z]", time.localtime())


_RENDER: dict[str, Callable[..., str]] = {
    "h": lambda c, *_: c.rpartition(":")[0] or "-",
    "r": lambda c, m, t, v, *_: f"{m} {t} HTTP/{v}",
    "m": lambda c, m, *_: m,
    "U": lambda c, m, t, *_: t.partition("?")[0],
    "q": lambda c, m, t, *_: t.partition("?")[2],
    "H": lambda c, m, t, v, *_: f"HTTP/{v}",
    "s": lambda c, m, t, v, s, *_: str(s),
    "b": lambda c, m, t, v, s, b, *_: str(b) if b else "-",
    "B": lambda c, m, t, v, s, b, *_: str(b),
    "D": lambda c, m, t, v, s, b, us, *_: str(us),
    "M": lambda c, m, t, v, s, b, us, *_: str(us // 1000),
    "T": lambda c, m, t, v, s, b, us, *_: str(us // 1_000_000),
    "L": lambda c, m, t, v, s, b, us, *_: f"{us // 1_000_000}.{us % 1_000_000:06d}",
    "answered_by": lambda c, m, t, v, s, b, us, by, *_: _ANSWERED_BY[by] if 0 <= by < 4 else "-",
    "i": lambda c, m, t, v, s, b, us, by, rq, rs, k: _hdr(rq, k),
    "o": lambda c, m, t, v, s, b, us, by, rq, rs, k: _hdr(rs, k),
    "p": lambda *_: f"<{os.getpid()}>",
    "t": lambda *_: _time(),
}
