"""`graft ctl --control PATH routes [--json]` and `graft ctl --control PATH set 'METHOD TEMPLATE' MODE`.

A client of a running server's control socket (``--control PATH``): lists every native route
with its live mode and counters (summed over all workers), or switches a route's mode in every
worker at once (native, python, split:P; shadow[:P] where the server has it). The server
validates the mode exactly as ``--route-mode`` does; an error exits non-zero with its message.
The socket speaks plain HTTP/1.1: ``GET /routes`` and ``POST /routes?route=...&mode=...``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import sys
from typing import Any
from urllib.parse import urlencode

TIMEOUT = 5.0


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=TIMEOUT)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        sock.connect(self._path)
        self.sock = sock


def request(path: str, method: str, target: str) -> tuple[int, Any]:
    """One request to the control socket at path: (status, decoded JSON body)."""
    conn = _UnixConnection(path)
    try:
        conn.request(method, target)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(body)
    except ValueError:
        return resp.status, {"error": body.decode("utf-8", "replace").strip()}


def _counters(route: dict) -> str:
    c = route.get("counters", {})
    text = f"native={c.get('native', 0)} python={c.get('python', 0)} declined={c.get('declined', 0)}"
    shadow = [k for k in ("shadow_compared", "shadow_mismatches", "shadow_failed", "shadow_skipped") if c.get(k)]
    if shadow:
        text += " " + " ".join(f"{k}={c[k]}" for k in shadow)
    return text


def format_table(routes: list[dict]) -> str:
    """The human-readable listing: one line per route."""
    rows = [("METHOD", "TEMPLATE", "MODE", "COUNTERS")]
    for r in routes:
        mode = "websocket" if r.get("websocket") else r.get("mode", "?")
        rows.append((r["method"], r["path"], mode, _counters(r)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}".rstrip() for row in rows
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="graft ctl", description="Control a running graft server (--control).")
    p.add_argument("--control", required=True, metavar="PATH", help="The server's --control socket.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("routes", help="List native routes with their mode and counters.")
    r.add_argument("--json", action="store_true", help="Machine-readable output (a JSON array).")
    s = sub.add_parser("set", help="Set a native route's mode in every worker.")
    s.add_argument("route", metavar="'METHOD TEMPLATE'", help="As `routes` lists it, e.g. 'GET /items/{id}'.")
    s.add_argument("mode", metavar="MODE", help="native, python or split:P (and shadow[:P] where available).")
    s.add_argument("--json", action="store_true", help="Print the route's new state as JSON.")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "routes":
            status, body = request(args.control, "GET", "/routes")
        else:
            route = " ".join(args.route.split())  # one space between method and template
            status, body = request(args.control, "POST", "/routes?" + urlencode({"route": route, "mode": args.mode}))
    except OSError as exc:
        print(f"graft ctl: cannot reach the control socket {args.control}: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        message = body.get("error") if isinstance(body, dict) else body
        print(f"graft ctl: {message}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(body, indent=2))
    elif args.command == "routes":
        print(format_table(body))
    else:
        print(format_table([body]))
    return 0
