"""`graft port MODULE:APP 'METHOD /template' [--app-dir DIR] [--out FILE.c] [--test FILE.py]`:
a ready-to-build C handler for one route of the app, from the route's OpenAPI operation.

The handler calls GRAFT_VALIDATE, then reads every parameter and body field through the kit's
typed getters into C locals (each with a comment naming its Python type and rules), then
reaches a marked section for the route's logic. As generated it is safe to deploy: the kit
answers invalid requests with FastAPI's exact 422 itself, and every valid request is declined
(GRAFT_DECLINE) to the app, which answers it as before. Constructs the kit does not support
get a comment and the raw accessor, and a warning on stderr naming the parameter and the
construct. With --test (or by default next to --out) it also writes a differential pytest
file: the app under graft alone and under graft with the built library, answering the same
seeded requests (graft/reqgen) identically by the comparison rule.
Exit status: 0, 1 when the app cannot be loaded, 2 for a usage error (an unknown route).
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from graft.port_c import handler_c
from graft.port_testfile import TEST_TEMPLATE
from graft.reqgen.schema import operation
from graft.routes import app_routes, shape


class UsageError(Exception):
    pass


def _find(doc: dict, app, method: str, template: str) -> tuple[str, str, list]:
    """(the document's template, the native route's template, warnings) of METHOD template."""
    ops = [(m.upper(), p) for p, item in (doc.get("paths") or {}).items() for m in (item or {})
           if m in ("get", "put", "post", "delete", "patch", "head", "options")]
    hit = [p for m, p in ops if m == method and p == template] or \
          [p for m, p in ops if m == method and shape(p) == shape(template)]
    if not hit:
        known = ", ".join(f"{m} {p}" for m, p in ops) or "none"
        raise UsageError(f"no route {method} {template} in the app's OpenAPI document "
                         f"(its operations: {known})")
    path = hit[0]
    route = path
    notes = []
    for m, p in app_routes(app):  # the app's own template keeps a final {x:path}
        if m == method and shape(p) == shape(path):
            for name, conv in re.findall(r"\{([^}:]+):([^}]*)\}", p):
                if conv != "path":
                    notes.append(f"path parameter {name}: the converter :{conv} (Starlette matches only "
                                 f"its form; the native route takes any segment: another answers the kit's "
                                 f"422 where the app answers 404)")
            route = re.sub(r"\{([^}:]+):(?!path\})[^}]*\}", r"{\1}", p)
            break
    return path, route, notes


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="graft port", description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1].replace("\n", " "))
    ap.add_argument("app", metavar="MODULE:APP")
    ap.add_argument("route", metavar="'METHOD /template'", help="The route, as the app declares it.")
    ap.add_argument("--app-dir", default=".", help="Look for MODULE here first. [default: .]")
    ap.add_argument("--out", metavar="FILE.c", help="Write the C file here [default: stdout].")
    ap.add_argument("--test", metavar="FILE.py",
                    help="Write the differential pytest file here [default: test_<FILE>.py next to --out].")
    ns = ap.parse_args(argv)
    parts = ns.route.split()
    if len(parts) != 2 or not parts[1].startswith("/"):
        print(f"graft port: a route is 'METHOD /template', not {ns.route!r}", file=sys.stderr)
        return 2
    method, template = parts[0].upper(), parts[1]
    from graft.openapi import load, versions

    app_dir = os.path.abspath(ns.app_dir)
    app, doc = load(ns.app, app_dir, "graft port")
    if doc is None:
        return 1
    try:
        path, route, notes = _find(doc, app, method, template)
    except UsageError as exc:
        print(f"graft port: {exc}", file=sys.stderr)
        return 2
    op = operation(doc, method, path)
    out_c = ns.out or re.sub(r"[^0-9A-Za-z_]+", "_", f"{method}{path}".lower()).strip("_") + ".c"
    text, warnings = handler_c(op, route, ns.app, out_c, versions(), notes)
    for w in warnings:
        print(f"graft port: warning: {method} {path}: {w}", file=sys.stderr)
    if ns.out:
        with open(ns.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    test = ns.test or (os.path.join(os.path.dirname(ns.out) or ".",
                                    "test_" + os.path.splitext(os.path.basename(ns.out))[0] + ".py")
                       if ns.out else None)
    if test:
        so = os.path.splitext(os.path.abspath(out_c))[0] + ".so"
        with open(test, "w", encoding="utf-8") as f:
            f.write(TEST_TEMPLATE.format(method=method, path=path, app=ns.app, app_dir=app_dir, lib=so,
                                         so=os.path.basename(so), test=os.path.basename(test)))
    return 0
