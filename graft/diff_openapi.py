"""`graft diff --openapi FILE ORIGINAL_URL PORT_URL [--seed N] [--count N] [--paths GLOB]`:
an offline verifier for ports. Generates seeded requests from the OpenAPI document (every
operation in turn, valid and invalid: graft/reqgen/gen.py), sends each to both servers in the
same order (writes too, so two servers that start from the same data stay in step) and
compares the answers by graft's one comparison rule (``_graft.compare_responses``: status;
headers as a multiset minus ``date``, ``server`` and the framing; body bytes). Prints each
difference (the request, which parts differ, both answers abridged) and a summary line.
Exits 0 when every answer matched, 1 when any differed, 2 on a usage or connection error.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
from urllib.parse import urlsplit

from graft import _graft
from graft.diff import DIFFER, ERROR, SAME, Target, UsageError
from graft.reqgen.gen import Generator, Request


def _abridged(answer: dict, limit: int = 300) -> str:
    body = answer["body"].decode("utf-8", "replace")
    if len(body) > limit:
        body = body[:limit] + f"... ({len(answer['body'])} bytes)"
    heads = ", ".join(f"{k}: {v}" for k, v in answer["headers"]
                      if k.lower() not in ("date", "server", "content-length", "transfer-encoding"))
    return f"{answer['status']} [{heads}] {body}"


def load_document(path: str) -> dict:
    """The OpenAPI document of FILE ('-': stdin); UsageError when it is not one."""
    try:
        if path == "-":
            doc = json.load(sys.stdin)
        else:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
    except OSError as exc:
        raise UsageError(f"--openapi {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise UsageError(f"--openapi {path}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        raise UsageError(f"--openapi {path}: not an OpenAPI document (no paths)")
    return doc


def run(reqs: list[Request], a: Target, b: Target, out, *, show: int = 50) -> tuple[int, int]:
    """Sends every request to a then b; prints the first `show` differences. Returns
    (differences, requests sent); raises ConnectionError naming the request and server."""
    differ = 0
    for n, rq in enumerate(reqs, 1):
        answers = []
        for t in (a, b):
            try:
                answers.append(t.send(rq.method, rq.path, rq.query, rq.headers, rq.body))
            except (OSError, http.client.HTTPException) as exc:
                raise ConnectionError(f"#{n} {rq.method} {rq.path}: {t.url}: "
                                      f"{exc or type(exc).__name__}") from None
        diff = _graft.compare_responses(*answers)
        if diff:
            differ += 1
            if differ <= show:
                out.write(f"DIFFERS {','.join(diff)}: #{n} {rq.line()}  ({rq.note})\n"
                          f"  original: {_abridged(answers[0])}\n  port:     {_abridged(answers[1])}\n")
    return differ, len(reqs)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="graft diff --openapi", description=__doc__.split("\n\n")[0])
    ap.add_argument("--openapi", required=True, metavar="FILE",
                    help="The OpenAPI document (`graft openapi APP > FILE`, or the app's openapi.json).")
    ap.add_argument("original", metavar="ORIGINAL_URL", help="The original service (e.g. under uvicorn).")
    ap.add_argument("port", metavar="PORT_URL", help="The port (graft --native, graft-serve).")
    ap.add_argument("--seed", type=int, default=0, help="Seed of the request sequence. [default: 0]")
    ap.add_argument("--count", type=int, default=500, help="Requests in total. [default: 500]")
    ap.add_argument("--paths", action="append", default=[], metavar="GLOB",
                    help="Only operations whose path template matches GLOB (fnmatch); repeatable.")
    ap.add_argument("--graft-serve", action="store_true",
                    help="The port runs under graft-serve: leave out the inputs the kit declines "
                    "(docs/KIT.md), which graft-serve answers with its own graft_unsupported 422.")
    ap.add_argument("--show", type=int, default=50, metavar="N",
                    help="Print at most N differences (all are counted). [default: 50]")
    ap.add_argument("--list", action="store_true", help="Print the requests instead of sending them.")
    ap.add_argument("--timeout", type=float, default=10.0, help="Seconds per request. [default: 10]")
    ns = ap.parse_args(argv)
    try:
        if ns.count < 0:
            raise UsageError("--count must be >= 0")
        gen = Generator(load_document(ns.openapi), ns.seed, ns.paths, safe=ns.graft_serve)
        if not gen.ops:
            raise UsageError(f"--openapi {ns.openapi}: no operation" +
                             (f" matches --paths {' '.join(ns.paths)}" if ns.paths else ""))
        reqs = gen.requests(ns.count)
        if ns.list:
            for rq in reqs:
                print(f"{rq.line()}  ({rq.note})")
            return SAME
        a, b = Target(ns.original, ns.timeout), Target(ns.port, ns.timeout)
    except UsageError as exc:
        print(f"graft diff: {exc}", file=sys.stderr)
        return ERROR
    # Both get the original's Host, so redirects (a trailing slash's 307) name the same URL.
    host = urlsplit(ns.original).netloc.rpartition("@")[2]
    for rq in reqs:
        rq.headers.insert(0, ("host", host))
    try:
        differ, sent = run(reqs, a, b, sys.stdout, show=ns.show)
    except ConnectionError as exc:
        print(f"graft diff: {exc}", file=sys.stderr)
        return ERROR
    finally:
        a.close()
        b.close()
    print(f"{sent} requests over {len(gen.ops)} operations (seed {ns.seed}): "
          + (f"{differ} differ" if differ else "all answers identical"))
    return DIFFER if differ else SAME
