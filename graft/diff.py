"""`graft diff URL_A URL_B [--request 'METHOD PATH[?QUERY]' ...] [--requests FILE] [--header
'Name: value' ...] [--json]`: sends each request to two servers and compares the answers.

The comparison is graft's one rule (the C code shadow mode runs, through
``_graft.compare_responses``): same status; the same header fields as a multiset, names
case-insensitive, ``date`` and ``server`` ignored, and how the body is framed
(``content-length`` or chunked) ignored; the same body bytes. Prints one line per request,
``same`` or ``DIFFERS status,headers``; with ``--json``, the shadow-mode mismatch line for each
request that differs (URL_A's answer under ``python``, URL_B's under ``native``). Exits 0 when
every answer matched, 1 when any differed, 2 on a usage or connection error.
"""

from __future__ import annotations

import argparse
import http.client
import sys
from urllib.parse import urlsplit

from graft import _graft

SAME, DIFFER, ERROR = 0, 1, 2


class UsageError(Exception):
    pass


def parse_request(spec: str) -> tuple[str, str, str]:
    """'METHOD PATH[?QUERY]' as (method, path, query)."""
    parts = spec.split()
    if len(parts) != 2 or not parts[1].startswith("/"):
        raise UsageError(f"a request is 'METHOD /path[?query]', not {spec!r}")
    method, target = parts
    path, _, query = target.partition("?")
    return method.upper(), path, query


def read_requests(path: str) -> list[str]:
    """The request lines of FILE: one a line; blank lines and '#' comments skipped."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = [ln.split("#", 1)[0].strip() for ln in f]
    except OSError as exc:
        raise UsageError(f"--requests {path}: {exc.strerror}") from None
    return [ln for ln in lines if ln]


def parse_header(spec: str) -> tuple[str, str]:
    name, sep, value = spec.partition(":")
    if not sep or not name.strip() or name != name.strip():
        raise UsageError(f"a header is 'Name: value', not {spec!r}")
    return name, value.strip()


class Target:
    """One server: its address and the path prefix of its URL, with one kept-alive connection."""

    def __init__(self, url: str, timeout: float):
        u = urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise UsageError(f"{url!r} is not an http:// or https:// URL")
        self.url = url
        self.prefix = u.path.rstrip("/")
        cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
        self.conn = cls(u.hostname, u.port, timeout=timeout)

    def send(self, method: str, path: str, query: str, headers: list, body: bytes | None = None) -> dict:
        """The answer as the rule's input; http.client decodes chunked bodies. A body (even
        empty) is sent with its content-length."""
        target = self.prefix + path + ("?" + query if query else "")
        for attempt in (0, 1):
            try:
                # a Host header of the caller's is sent instead of http.client's own
                self.conn.putrequest(method, target, skip_host=any(k.lower() == "host" for k, _ in headers))
                for k, v in headers:
                    self.conn.putheader(k, v)
                if body is not None:
                    self.conn.putheader("content-length", str(len(body)))
                self.conn.endheaders(body or None)
                r = self.conn.getresponse()
                body = r.read()
                if r.will_close:
                    self.conn.close()
                return {"status": r.status, "headers": r.getheaders(), "body": body}
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()  # a kept-alive connection the server closed: once more
                if attempt:
                    raise

    def close(self) -> None:
        self.conn.close()


def main(argv: list[str]) -> int:
    if "--openapi" in argv:  # the schema-driven mode (graft/diff_openapi.py)
        from graft.diff_openapi import main as openapi_main

        return openapi_main(argv)
    ap = argparse.ArgumentParser(prog="graft diff", description=__doc__.split("\n\n")[0],
                                 epilog="Schema-driven mode: graft diff --openapi FILE URL_A URL_B "
                                 "(seeded requests for every operation; see graft diff --openapi -h).")
    ap.add_argument("url_a", metavar="URL_A")
    ap.add_argument("url_b", metavar="URL_B")
    ap.add_argument("--request", action="append", default=[], metavar="'METHOD PATH[?QUERY]'",
                    help="A request to send to both; repeatable. [default: 'GET /']")
    ap.add_argument("--requests", metavar="FILE", help="Requests, one a line ('#' comments).")
    ap.add_argument("--header", action="append", default=[], metavar="'Name: value'",
                    help="A header sent with every request; repeatable.")
    ap.add_argument("--json", action="store_true",
                    help="Print the shadow-mode JSON line of each request that differs.")
    ap.add_argument("--timeout", type=float, default=10.0, help="Seconds per request. [default: 10]")
    ns = ap.parse_args(argv)
    try:
        specs = list(ns.request) + (read_requests(ns.requests) if ns.requests else [])
        reqs = [parse_request(s) for s in specs or ["GET /"]]
        headers = [parse_header(h) for h in ns.header]
        a, b = Target(ns.url_a, ns.timeout), Target(ns.url_b, ns.timeout)
    except UsageError as exc:
        print(f"graft diff: {exc}", file=sys.stderr)
        return ERROR
    worst = SAME
    try:
        for method, path, query in reqs:
            shown = f"{method} {path}" + ("?" + query if query else "")
            answers = []
            for t in (a, b):
                try:
                    answers.append(t.send(method, path, query, headers))
                except (OSError, http.client.HTTPException) as exc:
                    print(f"graft diff: {shown}: {t.url}: {exc or type(exc).__name__}", file=sys.stderr)
                    return ERROR
            diff = _graft.compare_responses(*answers)
            if diff:
                worst = DIFFER
            if ns.json:
                if diff:
                    sys.stdout.write(_graft.shadow_line(f"{method} {path}", method, path, query,
                                                        answers[0], answers[1], diff))
            else:
                print(f"{shown}  " + ("DIFFERS " + ",".join(diff) if diff else "same"))
    finally:
        a.close()
        b.close()
    return worst
