"""The C text `graft port` writes (graft/port.py): one handler that validates with the kit,
reads every parameter and body field of the route's operation into typed locals (comments
name the Python type and rules), declines to the app until its logic is written, and the
route's registration. Constructs the kit does not support get the raw accessor and a warning.
"""

from __future__ import annotations

import os
import re

from graft.reqgen.schema import Node, Operation, first_unsupported

BUILD = ("cc -O2 -Wall -Wextra -shared -fPIC $(graft-config --cflags) {c} -o {so} "
         "$(graft-config --libs)")
_KEYWORDS = set("""auto break case char const continue default do double else enum extern float for
goto if inline int long register restrict return short signed sizeof static struct switch typedef
union unsigned void volatile while bool true false req lib_state path i0 i1 i2 i3 i4 i5 i6 i7 raw
raw_len""".split())


def c_string(s: str) -> str:
    """s as a C string literal: printable ASCII as is, the rest as 3-digit octal escapes."""
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif 32 <= b < 127 and c != "?":  # '?' escaped: no trigraphs
            out.append(c)
        else:
            out.append("\\%03o" % b)
    return '"' + "".join(out) + '"'


def _comment(s: str) -> str:
    return s.replace("*/", "* /").replace("\n", " ")


def rules_text(n: Node) -> str:
    """The node's rules as a comment fragment: ">= 1, <= 100, default 10"."""
    r, parts = n.rules, []
    for key, sym in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="),
                     ("exclusiveMaximum", "<"), ("multipleOf", "multiple of"),
                     ("minLength", "min length"), ("maxLength", "max length"),
                     ("minItems", "min items"), ("maxItems", "max items")):
        if key in r:
            v = r[key]
            if n.kind == "int" and isinstance(v, float) and v.is_integer():
                v = int(v)  # FastAPI writes a model's int bounds as floats; Pydantic reads ints
            parts.append(f"{sym} {v}")
    if "pattern" in r:
        parts.append(f"pattern {r['pattern']}")
    if n.kind in ("str_enum", "int_enum"):
        parts.append("one of " + ", ".join(repr(m) for m in n.members))
    if n.has_default or (n.default is not None and n.default != []):
        parts.append(f"default {n.default!r}")
    elif n.kind == "list" and n.default == []:
        parts.append("default []")
    return ", ".join(parts)


class Writer:
    """The C text of one handler, built line by line."""

    def __init__(self, op: Operation, route: str):
        self.op, self.route = op, route
        self.lines: list[str] = []
        self.locals: list[str] = []  # top-level locals, (void)-ed before the decline
        self.names: set[str] = set()
        self.warnings: list[str] = []
        self.needs_path = False
        self.needs_raw_body = False
        self.depth = 0

    def ident(self, name: str) -> str:
        base = re.sub(r"[^0-9A-Za-z_]", "_", name) or "v"
        if base[0].isdigit():
            base = "_" + base
        cand, k = base, 2
        while cand in self.names or cand in _KEYWORDS:
            cand, k = f"{base}_{k}", k + 1
        self.names.add(cand)
        return cand

    def emit(self, text: str) -> None:
        self.lines.append("    " * (self.depth + 1) + text)

    def warn(self, where: str, why: str, raw: str) -> None:
        self.warnings.append(f"{where}: {why}: not supported by the kit; the skeleton reads it "
                             f"raw ({raw})")

    # -- parameters ----------------------------------------------------------------------------
    def param(self, p) -> None:
        n = p.node
        req = "required" if p.required else "optional"
        rules = rules_text(n)
        self.emit(f"/* {p.where} {_comment(p.name)}: {n.describe()}, {req}"
                  f"{'; ' + _comment(rules) if rules else ''} */")
        v = self.ident(p.name)
        name = c_string(p.name)
        if n.kind == "unsupported" or (n.kind == "list" and n.items and n.items.kind == "bool"):
            self.raw_param(p, v, n.why or "a list of booleans (no graft_arg_*_at getter for them)")
            return
        if n.nullable or (not p.required and not n.has_default and n.kind != "list"):
            h = self.ident("has_" + v)
            self.emit(f"int {h} = graft_arg_has(req, {name}); /* 0: absent (None) */")
            self.locals.append(h)
        if n.kind == "list":
            cnt = self.ident(v + "_count")
            self.emit(f"size_t {cnt} = graft_arg_count(req, {name});")
            self.locals.append(cnt)
            self.emit(f"for (size_t i0 = 0; i0 < {cnt}; i0++) {{")
            self.depth += 1
            item = self.ident(v + "_item")
            self.scalar_decl(n.items, item, "graft_arg_{}_at(req, " + name + ", i0{})")
            self.emit(f"(void){item}; /* YOUR LOGIC: each item */")
            self.depth -= 1
            self.emit("}")
            return
        self.scalar_decl(n, v, "graft_arg_{}(req, " + name + "{})")
        self.locals.append(v)
        if n.kind in ("str", "uuid", "datetime", "str_enum"):
            self.locals.append(v + "_len")

    def scalar_decl(self, n: Node, v: str, call: str) -> None:
        """`TYPE v = getter;` for a scalar node; call has {} for the getter kind and the
        trailing length argument."""
        k = n.kind
        if k in ("int", "int_enum"):
            self.emit(f"int64_t {v} = {call.format('int', '')};")
        elif k == "number":
            self.emit(f"double {v} = {call.format('number', '')};")
        elif k == "bool":
            self.emit(f"int {v} = {call.format('bool', '')};")
        else:  # str, uuid, date-time (the text as given), str enum (the member)
            self.emit(f"size_t {v}_len = 0;")
            self.emit(f"const char *{v} = {call.format('str', ', &' + v + '_len')};")

    def raw_param(self, p, v: str, why: str) -> None:
        name = c_string(p.name)
        self.emit(f"/* UNSUPPORTED by the kit: {_comment(why)} */")
        if p.where == "query" and p.node.kind == "list":
            acc = "graft_query_all"
            self.emit(f"const char *{v}[64]; /* raw texts, as sent (decoded) */")
            self.emit(f"size_t {v}_lens[64];")
            self.emit(f"size_t {v}_count = graft_query_all(req, {name}, {v}, {v}_lens, 64);")
            self.locals += [v, v + "_lens", v + "_count"]
            self.warn(f"parameter {p.name} ({p.where})", why, acc)
            return
        if p.where == "path":
            acc = "graft_param"
            self.emit(f"size_t {v}_len = 0;")
            self.emit(f"const char *{v} = graft_param(req, {name}, &{v}_len); /* raw: decoded capture */")
        elif p.where == "query":
            acc = "graft_query"
            self.emit(f"size_t {v}_len = 0;")
            self.emit(f"const char *{v} = graft_query(req, {name}, &{v}_len); "
                      "/* raw: the FIRST value (FastAPI takes the last; graft_query_all has all) */")
        elif p.where == "header":
            acc = "graft_header"
            self.emit(f"size_t {v}_len = 0;")
            self.emit(f"const char *{v} = graft_header(req, {name}, &{v}_len); /* raw: not NUL-terminated */")
        else:
            acc = "graft_header(req, \"cookie\")"
            self.emit(f"size_t {v}_len = 0;")
            self.emit(f"const char *{v} = graft_header(req, \"cookie\", &{v}_len); "
                      f"/* raw: the whole Cookie header; find {_comment(p.name)} yourself */")
        self.locals += [v, v + "_len"]
        self.warn(f"parameter {p.name} ({p.where})", why, acc)

    # -- body ----------------------------------------------------------------------------------
    def path_expr(self, segs: list) -> str:
        """A C expression for a dotted body path: a literal, or `path` after an snprintf."""
        if all(isinstance(s, str) for s in segs):
            return c_string(".".join(segs))
        self.needs_path = True
        fmt = ".".join(s.replace("%", "%%") if isinstance(s, str) else "%zu" for s in segs)
        args = ", ".join(s[1] for s in segs if not isinstance(s, str))
        self.emit(f"snprintf(path, sizeof path, {c_string(fmt)}, {args});")
        return "path"

    def field(self, name: str, n: Node, required: bool, segs: list) -> None:
        shown = ".".join(s if isinstance(s, str) else "N" for s in segs)
        rules = rules_text(n)
        req = "each item" if not isinstance(segs[-1], str) else "required" if required else "optional"
        self.emit(f"/* body {_comment(shown)}: {n.describe()}, {req}"
                  f"{'; ' + _comment(rules) if rules else ''} */")
        base = "_".join(s if isinstance(s, str) else "i" for s in segs)
        top = self.depth == 0
        if n.kind == "unsupported":
            self.needs_raw_body = True
            self.emit(f"/* UNSUPPORTED by the kit: {_comment(n.why)}: read it from raw (graft_body) */")
            self.warn(f"request body field {shown}", n.why, "graft_body")
            return
        if n.nullable or (not required and not n.has_default and n.kind != "list"):
            h = self.ident("has_" + base)
            p = self.path_expr(segs)
            self.emit(f"int {h} = graft_body_has(req, {p}); /* 0: absent or null */")
            (self.locals.append(h) if top else self.emit(f"(void){h};"))
        if n.kind == "model" and not n.fields:  # a free-form object (a dict of anything)
            self.needs_raw_body = True
            self.emit("/* no declared fields (a free-form object): read it from raw (graft_body) */")
            return
        if n.kind == "model":
            for fname, f, freq in n.fields:
                self.field(fname, f, freq, segs + [fname])
            return
        if n.kind == "list":
            cnt = self.ident(base + "_count")
            p = self.path_expr(segs)
            self.emit(f"size_t {cnt} = graft_body_count(req, {p});")
            (self.locals.append(cnt) if top else self.emit(f"(void){cnt};"))
            iv = f"i{self.depth}"
            self.emit(f"for (size_t {iv} = 0; {iv} < {cnt}; {iv}++) {{")
            self.depth += 1
            item = n.items
            if item is not None and item.kind in ("model", "list"):
                self.field(name, item, True, segs + [("idx", iv)])
            elif item is not None and item.kind != "unsupported":
                v = self.ident(base + "_item")
                if item.kind == "bool":  # no graft_body_bool_at: the item's own path
                    call = "graft_body_{}(req, " + self.path_expr(segs + [("idx", iv)]) + "{})"
                else:
                    call = "graft_body_{}_at(req, " + self.path_expr(segs) + f", {iv}" + "{})"
                self.scalar_decl(item, v, call)
                self.emit(f"(void){v}; /* YOUR LOGIC: each item */")
                if item.kind in ("str", "uuid", "datetime", "str_enum"):
                    self.emit(f"(void){v}_len;")
            elif item is not None:
                self.field(name, item, True, segs + [("idx", iv)])
            self.depth -= 1
            self.emit("}")
            return
        v = self.ident(base)
        self.scalar_decl(n, v, "graft_body_{}(req, " + self.path_expr(segs) + "{})")
        if top:
            self.locals.append(v)
            if n.kind in ("str", "uuid", "datetime", "str_enum"):
                self.locals.append(v + "_len")
        else:
            self.emit(f"(void){v}; /* YOUR LOGIC */")
            if n.kind in ("str", "uuid", "datetime", "str_enum"):
                self.emit(f"(void){v}_len;")

    def body(self) -> None:
        op = self.op
        if op.body_why:
            self.needs_raw_body = True
            self.emit(f"/* request body: UNSUPPORTED by the kit: {_comment(op.body_why)} */")
            self.warn("request body", op.body_why, "graft_body")
            return
        if op.body is None:
            return
        self.emit(f"/* ---- the JSON body: {op.body.describe()}"
                  f"{' (extra keys forbidden)' if op.body.forbid_extra else ''} ---- */")
        for fname, f, req in op.body.fields:
            self.field(fname, f, req, [fname])


def handler_c(op: Operation, route: str, app_spec: str, out_c: str, versions: dict,
              notes: list | None = None) -> tuple[str, list[str]]:
    """The C file for op (registered as route) and the warnings (notes: more of them)."""
    w = Writer(op, route)
    w.warnings += notes or []
    fn = w.ident(re.sub(r"[^0-9A-Za-z_]", "_", op.op_id or f"{op.method}_{op.path}").lower())
    for p in op.params:
        w.param(p)
    w.body()
    if op.unsupported:
        w.warnings.insert(0, f"operation: {op.unsupported}: not supported by the kit; graft_validate "
                          "declines every request of this route under graft (the app answers them)")
    if any(p.node.kind == "unsupported" for p in op.params) or op.body_why or (
            op.body is not None and first_unsupported(op.body)):
        w.warnings.append("so graft_validate declines every request of this route under graft (the app "
                          "answers them), and graft-serve refuses to start with it")
    so = os.path.splitext(os.path.basename(out_c))[0] + ".so"
    flags = "GRAFT_ROUTE_BODY" if (op.body is not None or op.body_why) else "0"
    head = [
        f"/* {op.method} {op.path}: a native port of {app_spec}'s operation {op.op_id or '?'},",
        f" * generated by `graft port {app_spec} '{op.method} {op.path}'`"
        + (f" (FastAPI {versions.get('fastapi', '?')}, Pydantic {versions.get('pydantic', '?')})."
           if versions else "."),
        " *",
        " * Build:",
        f" *   {BUILD.format(c=os.path.basename(out_c), so=so)}",
        " * Run:",
        f" *   graft {app_spec} --native {so}",
        " *",
        " * As generated it is safe to deploy: GRAFT_VALIDATE checks every input against the app's",
        " * own contract (its OpenAPI operation) and answers an invalid request with the 422 FastAPI",
        " * would send, byte for byte; an input the kit cannot reproduce exactly is declined to the",
        " * app. Every input is then read into a typed local, and the handler returns GRAFT_DECLINE,",
        " * so the app still answers every valid request. Write the route's logic in the marked",
        " * section and answer there (graft_respond_json, graft_respond_detail for an",
        " * HTTPException's {\"detail\": ...}); `graft diff --openapi` and the generated test check",
        " * the port answers as the app does. docs/KIT.md has the getters and the rules.",
    ]
    if w.warnings:
        head += [" *", " * Warnings:"] + [f" *   {_comment(x)}" for x in w.warnings]
    head.append(" */")
    out = head + ["#include <stddef.h>", "#include <stdint.h>"]
    if w.needs_path:
        out.append("#include <stdio.h>")
    out += ["", "#include <graft.h>", "", "GRAFT_LIBRARY()", "",
            f"static int {fn}(graft_request *req, void *lib_state)", "{", "    (void)lib_state;",
            "    /* invalid input: the kit sent FastAPI's 422 (returns GRAFT_OK); an input it cannot",
            "     * reproduce, or no usable contract: returns GRAFT_DECLINE, the app answers */",
            "    GRAFT_VALIDATE(req);"]
    if w.needs_path:
        out.append("    char path[256]; /* a body path with list indexes (\"lines.0.qty\") */")
    if w.needs_raw_body:
        out += ["    size_t raw_len = 0;", "    const char *raw = graft_body(req, &raw_len); /* the raw body */"]
        w.locals += ["raw", "raw_len"]
    out += [""] + w.lines + [
        "",
        "    /* ---- YOUR LOGIC HERE ----",
        "     * Use the locals above, then answer, e.g.",
        "     *     graft_json *j = graft_json_new(); ... return graft_respond_json(req, 200, j);",
        "     *     return graft_respond_detail(req, 404, \"Item not found\");",
        "     * Until it answers, the app answers every valid request (the declining below). */",
    ] + [f"    (void){v};" for v in w.locals] + [
        "    return GRAFT_DECLINE;",
        "    /* ---- END OF YOUR LOGIC ---- */",
        "}", "",
        "GRAFT_API int graft_register(graft_router *r, const char *config)",
        "{", "    (void)config;",
        f"    return graft_route(r, {c_string(op.method)}, {c_string(route)}, {fn}, {flags});",
        "}", ""]
    return "\n".join(out), w.warnings
