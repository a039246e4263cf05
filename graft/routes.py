"""`graft routes MODULE:APP [--app-dir DIR] [--native LIB ...] [--json]`: the coverage report.

Starts no server: imports the app, loads the handler libraries as `--native` would, and lists
every route of the app with who serves it (a native library, or Python), then every native
route that matches no app route (dead code, or a route the app never had). A native route
matches an app route when the methods are equal and the path templates are equal once
parameter names and converters are ignored (`/items/{id}` matches `/items/{item_id:int}`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any, Iterator

from graft.config import ImportFromStringError, import_from_string

_PARAM = re.compile(r"\{[^}]*\}")


def shape(template: str) -> str:
    """The template with every parameter, name and converter alike, as ``{}``."""
    return _PARAM.sub("{}", template)


def _routes_of(app: Any) -> list | None:
    """The route list of a Starlette/FastAPI app or router, looking through middleware."""
    seen = 0
    while app is not None and seen < 32:
        routes = getattr(app, "routes", None)
        if isinstance(routes, list):
            return routes
        app = getattr(app, "app", None)  # middleware wraps the next app as .app
        seen += 1
    return None


def _is_websocket(route: Any) -> bool:
    # Starlette's WebSocketRoute and its subclasses (FastAPI's APIWebSocketRoute).
    return any(c.__name__ == "WebSocketRoute" for c in type(route).__mro__)


def app_routes(app: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, template) of every route the app routes to, mounts included; WebSocket
    routes have the method WEBSOCKET, as native WebSocket routes do."""
    for route in _routes_of(app) or []:
        path = getattr(route, "path", None)
        if path is None:
            continue
        methods = getattr(route, "methods", None)
        if _is_websocket(route):
            yield "WEBSOCKET", prefix + path
        elif methods:
            for m in sorted(methods):
                yield m, prefix + path
        elif _routes_of(getattr(route, "app", None)) is not None:  # a Mount
            yield from app_routes(route.app, prefix + path.rstrip("/"))


def report(app: Any, natives: list[str]) -> list[dict]:
    """One row per app route, then one per native route the app does not have."""
    from graft import _graft

    native = _graft.native_routes(natives) if natives else []
    by_shape: dict[tuple[str, str], tuple[str, str]] = {}
    for method, template, lib in native:
        by_shape.setdefault((method, shape(template)), (template, lib))
    rows, matched = [], set()
    seen = set()
    for method, path in app_routes(app):
        if (method, path) in seen:
            continue
        seen.add((method, path))
        hit = by_shape.get((method, shape(path)))
        if hit:
            matched.add((method, shape(path)))
        rows.append({"method": method, "path": path, "served_by": "native" if hit else "python",
                     "library": hit[1] if hit else None, "app_route": True,
                     "native_template": hit[0] if hit else None})
    for method, template, lib in native:
        if (method, shape(template)) not in matched:
            rows.append({"method": method, "path": template, "served_by": "native",
                         "library": lib, "app_route": False, "native_template": template})
    return rows


def _text(rows: list[dict]) -> str:
    width = max([len(r["method"]) for r in rows] + [6])
    pwidth = max([len(r["path"]) for r in rows] + [4])
    lines = [f"{'METHOD':<{width}}  {'PATH':<{pwidth}}  SERVED BY"]
    for r in rows:
        who = f"native ({r['library']})" if r["served_by"] == "native" else "python"
        if not r["app_route"]:
            who += "  -- not an app route"
        lines.append(f"{r['method']:<{width}}  {r['path']:<{pwidth}}  {who}")
    n_app = sum(r["app_route"] for r in rows)
    n_native = sum(r["app_route"] and r["served_by"] == "native" for r in rows)
    lines.append(f"{n_native} of {n_app} app routes native; "
                 f"{sum(not r['app_route'] for r in rows)} native routes match no app route")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="graft routes", description=__doc__.split("\n\n")[0])
    ap.add_argument("app", metavar="MODULE:APP")
    ap.add_argument("--app-dir", default="", help="Look for the app in DIR (added to sys.path).")
    ap.add_argument("--native", action="append", default=[], metavar="PATH",
                    help="A handler library, as graft's --native; repeatable.")
    ap.add_argument("--json", action="store_true", help="Print a JSON array of routes.")
    ns = ap.parse_args(argv)
    sys.path.insert(0, os.path.abspath(ns.app_dir) if ns.app_dir else os.getcwd())
    try:
        app = import_from_string(ns.app)
    except ImportFromStringError as exc:
        print(f"Error loading ASGI app. {exc}", file=sys.stderr)
        return 1
    if _routes_of(app) is None:
        print(f"graft routes: {ns.app} has no route table graft can read (Starlette or "
              "FastAPI routing)", file=sys.stderr)
        return 1
    try:
        rows = report(app, ns.native)
    except RuntimeError as exc:  # a library that cannot be loaded
        print(f"graft routes: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(rows, indent=2) if ns.json else _text(rows))
    return 0
