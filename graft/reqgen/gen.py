"""Seeded requests for every operation of an OpenAPI document (`graft diff --openapi`, and the
tests `graft port` writes). About a third are valid, the rest change one thing: a parameter
or body field at an edge (boundaries, wrong types, lax forms, enums in the wrong case), a
required one missing, an extra one, or the request itself (percent-encoded captures, `%2F`,
a trailing slash, HEAD on a GET route, malformed JSON, a wrong or missing content-type, an
empty body). Integer path parameters take small ids (1..20 within their bounds) so requests
hit existing rows. The same seed gives the same sequence."""

from __future__ import annotations

import fnmatch
import json
import random
import re
from dataclasses import dataclass, field
from urllib.parse import quote

from graft.reqgen import values
from graft.reqgen.schema import Operation, operations

_CAPTURE = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


@dataclass
class Request:
    method: str
    path: str  # percent-encoded, as sent
    query: str  # encoded, without '?'
    headers: list = field(default_factory=list)  # [(name, value)]
    body: bytes | None = None
    note: str = ""  # what this request varies

    def line(self) -> str:
        """METHOD /path?query [header: value ...] body (abridged), for reports."""
        out = f"{self.method} {self.path}" + (f"?{self.query}" if self.query else "")
        for k, v in self.headers:
            out += f" [{k}: {v}]"
        if self.body is not None:
            b = self.body.decode("utf-8", "replace")
            out += " body " + (b if len(b) <= 200 else b[:200] + "...")
        return out


def _enc(s: str) -> str:
    return quote(s, safe="")


def _latin1(s: str) -> str:
    """A header value http.client can send: UTF-8 bytes as latin-1 code points, no controls."""
    s = "".join(c for c in s if c >= " " and c != "\x7f")
    return s.encode("utf-8").decode("latin-1")


class Generator:
    """Requests from a document's operations (those whose path matches the globs, if any).
    safe: leave out the inputs the kit declines (docs/KIT.md: ints beyond int64, uuids and
    date-times Pydantic refuses, non-ASCII headers and cookies, malformed JSON, bodies that
    are not application/json), which graft-serve answers with its own graft_unsupported 422."""

    def __init__(self, doc: dict, seed: int = 0, globs: list[str] | None = None, safe: bool = False):
        self.rnd = random.Random(seed)
        self.safe = safe
        self.ops = [op for op in operations(doc)
                    if not globs or any(fnmatch.fnmatchcase(op.path, g) for g in globs)]

    def requests(self, count: int) -> list[Request]:
        """count requests, every operation in turn (in the document's order)."""
        if not self.ops:
            return []
        return [self.one(self.ops[i % len(self.ops)]) for i in range(count)]

    def one(self, op: Operation) -> Request:
        rnd = self.rnd
        mode = rnd.random()
        # the parameter (or "body") one request changes; -1: a request-level oddity
        # parameters with rules (bounds, lengths, patterns, enums) have more edges: twice the weight
        targets = [i for i, p in enumerate(op.params)
                   for _ in range(2 if p.node.rules or p.node.members else 1)]
        targets += ["body"] * 3 if op.body is not None else []
        target = None if mode < 0.35 or not targets else rnd.choice(targets) if mode < 0.85 else -1
        # now and then a second parameter at an edge too: a 422 listing several entries (their order)
        extra = rnd.choice(targets) if isinstance(target, int) and target >= 0 and rnd.random() < 0.25 else None
        vals, notes = {}, []
        for i, p in enumerate(op.params):
            n = p.node
            if target == i or extra == i:
                kind = rnd.random()
                if kind < 0.12 and p.where != "path":
                    notes.append(f"{p.name} missing")
                    continue
                if n.kind == "list":
                    k = rnd.randint(0, 3)
                    vals[i] = [values.edge_text(n.items, rnd, self.safe) if rnd.random() < 0.5 else
                               values.text(values.valid(n.items, rnd)) for _ in range(k)]
                else:
                    vals[i] = values.edge_text(n, rnd, self.safe, self.safe and p.where in ("header", "cookie"))
                notes.append(f"{p.name} edge")
            elif p.required or rnd.random() < 0.5:
                if n.kind == "list":
                    vals[i] = [values.text(x) for x in values.valid(n, rnd)]
                elif n.kind == "unsupported":
                    vals[i] = rnd.choice(["1", "a", ""])
                else:
                    vals[i] = values.text(values.valid(n, rnd, small=p.where == "path"))
        path = op.path
        path_idx = [i for i, p in enumerate(op.params) if p.where == "path"]
        for pos, m in enumerate(_CAPTURE.finditer(op.path)):
            named = [i for i in path_idx if op.params[i].name == m.group(1)]
            idx = named[0] if named else path_idx[pos] if pos < len(path_idx) else None
            v = vals.get(idx, "1") if idx is not None else "1"
            path = path.replace(m.group(0), _enc(v) or "%20", 1)
        query = [(p.name, v) for i, p in enumerate(op.params) if p.where == "query" and i in vals
                 for v in (vals[i] if isinstance(vals[i], list) else [vals[i]])]
        headers = [(p.name, _latin1(vals[i])) for i, p in enumerate(op.params)
                   if p.where == "header" and i in vals]
        cookies = [f"{p.name}={vals[i]}" for i, p in enumerate(op.params) if p.where == "cookie" and i in vals]
        body = None
        method = op.method
        if op.body is not None:
            obj = values.valid(op.body, rnd)
            if target == "body":
                obj = self._edge_body(op, obj, notes)
            body = json.dumps(obj).encode()
            headers.append(("content-type", "application/json"))
        if target == -1:
            method, path, query, headers, body = self._oddity(op, method, path, query, headers, body, notes)
        if cookies:
            headers.append(("cookie", _latin1("; ".join(cookies))))
        qs = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in query)
        return Request(method, path, qs, headers, body, ", ".join(notes) or "valid")

    def _edge_body(self, op: Operation, obj: dict, notes: list) -> dict:
        rnd = self.rnd
        fields = op.body.fields
        if not fields or rnd.random() < 0.1:
            notes.append("body edge")
            return values.edge_json(op.body, rnd, self.safe)
        name, f, req = rnd.choice(fields)
        r = rnd.random()
        if r < 0.15:
            obj.pop(name, None)
            notes.append(f"body {name} missing")
        elif r < 0.25:
            obj["zz_extra"] = rnd.choice([1, "x", None])
            notes.append("body extra field")
        elif r < 0.35:
            obj[name] = None
            notes.append(f"body {name} null")
        else:
            obj[name] = values.edge_json(f, rnd, self.safe)
            notes.append(f"body {name} edge")
        return obj

    def _oddity(self, op, method, path, query, headers, body, notes):
        rnd = self.rnd
        choices = ["extra query", "duplicate query", "trailing slash", "encoded path"]
        if op.method == "GET":
            choices += ["HEAD"]
        if "{" in op.path:
            choices += ["%2F in capture", "unicode capture", "encoded path"]
        if body is not None:
            choices += ["empty body", "JSON not an object"]
            if not self.safe:
                choices += ["malformed JSON", "wrong content-type", "no content-type", "JSON with trailing data"]
        what = rnd.choice(choices)
        notes.append(what)
        if what == "extra query":
            query = query + [("zz_extra", "1")]
        elif what == "duplicate query" and query:
            query = query + [(query[0][0], rnd.choice(["x", "1", ""]))]
        elif what == "trailing slash":
            path = path + "/" if not path.endswith("/") else path.rstrip("/") or "/"
        elif what == "HEAD":
            method = "HEAD"
        elif what == "encoded path":
            # every character percent-encoded: the same decoded path
            path = "".join(c if c == "/" else "%%%02X" % ord(c) if c.isascii() and c != "%" else c for c in path)
        elif what in ("%2F in capture", "unicode capture"):
            segs = path.split("/")
            tsegs = op.path.split("/")
            idx = [i for i, s in enumerate(tsegs) if s.startswith("{")]
            if idx:
                i = rnd.choice(idx)
                odd = ["\u00fc", "\u00e9t\u00e9", "\u2603", "1\u00b2"]
                segs[i] = "1%2F2" if what == "%2F in capture" else _enc(rnd.choice(odd))
                path = "/".join(segs)
        elif what == "malformed JSON":
            body = rnd.choice([b'{"a": ', b"{'a': 1}", b"{,}", b'{"a" 1}', b"[1,]", b"nul"])
        elif what == "wrong content-type":
            headers = [(k, "text/plain" if k == "content-type" else v) for k, v in headers]
        elif what == "no content-type":
            headers = [(k, v) for k, v in headers if k != "content-type"]
        elif what == "empty body":
            body = b""
        elif what == "JSON not an object":
            body = rnd.choice([b"[]", b"null", b'"x"', b"5"])
        elif what == "JSON with trailing data":
            body = (body or b"{}") + b" x"
        return method, path, query, headers, body
