"""An OpenAPI operation read into plain nodes, for `graft port` and `graft diff --openapi`.

FastAPI's document says a parameter's or body field's type in several shapes (a `$ref` to
an enum component, `anyOf: [X, {"type": "null"}]` for Optional, inline objects); `node()`
folds them into one `Node` per schema, so the C writer and the request generator walk the
same thing. What the kit does not reproduce (docs/KIT.md, "Unsupported constructs") is a
Node of kind "unsupported" with the reason: conservatively the same list, in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCALARS = ("int", "number", "bool", "str", "uuid", "datetime", "str_enum", "int_enum")
_IN_ORDER = {"path": 0, "query": 1, "header": 2, "cookie": 3}


@dataclass
class Node:
    kind: str  # a SCALARS member, "list", "model" or "unsupported"
    nullable: bool = False
    rules: dict = field(default_factory=dict)  # minimum, maxLength, pattern, multipleOf, ...
    members: list = field(default_factory=list)  # enums
    has_default: bool = False
    default: Any = None
    items: "Node | None" = None  # list
    fields: list = field(default_factory=list)  # model: (name, Node, required)
    forbid_extra: bool = False  # model: additionalProperties false
    why: str = ""  # unsupported: the construct
    title: str = ""  # a model's or enum's component name

    def describe(self) -> str:
        """The Python-ish type, for comments: Optional[List[int]], Order, Color."""
        if self.kind == "list":
            t = f"List[{self.items.describe() if self.items else '?'}]"
        elif self.kind in ("model", "str_enum", "int_enum"):
            t = self.title or {"model": "object", "str_enum": "str enum", "int_enum": "int enum"}[self.kind]
        else:
            t = {"number": "float", "uuid": "UUID", "datetime": "datetime"}.get(self.kind, self.kind)
            if self.kind == "unsupported":
                t = "unsupported"
        return f"Optional[{t}]" if self.nullable else t


@dataclass
class Param:
    name: str
    where: str  # path, query, header, cookie
    required: bool
    node: Node


@dataclass
class Operation:
    method: str  # upper case
    path: str  # the template as in the document
    op_id: str
    params: list
    body: "Node | None"  # the JSON body's schema, None without one
    body_why: str = ""  # the body is not one the kit reads (unsupported construct)
    unsupported: str = ""  # the operation as a whole (x-graft-unsupported, security)


def deref(doc: dict, schema: Any, depth: int = 0) -> dict:
    """The schema with a `$ref` to #/components/schemas/... replaced by its target (sibling
    keys such as `default` kept over it)."""
    if not isinstance(schema, dict):
        return {}
    ref = schema.get("$ref")
    if not isinstance(ref, str) or depth > 32:
        return schema
    target: Any = doc
    for part in ref.lstrip("#/").split("/"):
        target = target.get(part) if isinstance(target, dict) else None
    merged = dict(deref(doc, target, depth + 1)) if isinstance(target, dict) else {"x-bad-ref": ref}
    merged.setdefault("title", ref.rsplit("/", 1)[-1])
    merged["x-ref-name"] = ref.rsplit("/", 1)[-1]
    for k, v in schema.items():
        if k != "$ref":
            merged[k] = v
    return merged


_RULES = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
          "minLength", "maxLength", "pattern", "minItems", "maxItems")


def node(doc: dict, schema: Any, depth: int = 0, in_body: bool = False) -> Node:
    """One schema as a Node; see the module's doc."""
    s = deref(doc, schema)
    if depth > 16:
        return Node("unsupported", why="nesting deeper than 16 levels (a recursive model?)")
    if "x-bad-ref" in s:
        return Node("unsupported", why=f"a $ref the document does not hold ({s['x-bad-ref']})")
    nullable = False
    any_of = s.get("anyOf")
    if any_of is not None:
        rest = [x for x in any_of if not (isinstance(x, dict) and x.get("type") == "null")]
        if len(rest) != 1 or len(any_of) != 2:
            return Node("unsupported", why="anyOf other than [X, null] (a Union)")
        inner = node(doc, rest[0], depth + 1, in_body)
        inner.nullable = True
        if "default" in s:
            inner.has_default, inner.default = s["default"] is not None, s["default"]
        return inner
    for bad in ("oneOf", "allOf", "const", "not"):
        if bad in s:
            return Node("unsupported", why=f"{bad} (not reproduced by the kit)")
    t = s.get("type")
    n = Node("unsupported")
    if "enum" in s:
        if "x-ref-name" not in s:
            return Node("unsupported", why="an inline enum (a Literal: literal_error)")
        members = s["enum"]
        if all(isinstance(m, str) for m in members):
            n = Node("str_enum", members=list(members), title=s["x-ref-name"])
        elif all(isinstance(m, int) and not isinstance(m, bool) for m in members):
            n = Node("int_enum", members=list(members), title=s["x-ref-name"])
        else:
            return Node("unsupported", why="an enum mixing member types")
    elif t == "integer":
        n = Node("int")
    elif t == "number":
        n = Node("number")
    elif t == "boolean":
        n = Node("bool")
    elif t == "string":
        fmt = s.get("format")
        if fmt is None:
            n = Node("str")
        elif fmt == "uuid":
            n = Node("uuid")
        elif fmt == "date-time":
            n = Node("datetime")
        else:
            return Node("unsupported", why=f"format {fmt!r}")
    elif t == "array":
        if "prefixItems" in s:
            return Node("unsupported", why="a tuple (prefixItems)")
        n = Node("list", items=node(doc, s.get("items", {}), depth + 1, in_body))
    elif t == "object" or "properties" in s:
        if isinstance(s.get("additionalProperties"), dict):
            return Node("unsupported", why="a dict (additionalProperties as a schema)")
        required = set(s.get("required") or [])
        fields = []
        for name, sub in (s.get("properties") or {}).items():
            f = node(doc, sub, depth + 1, True)
            if "." in name:
                f = Node("unsupported", why="a field name containing '.'")
            fields.append((name, f, name in required))
        n = Node("model", fields=fields, forbid_extra=s.get("additionalProperties") is False,
                 title=s.get("x-ref-name", s.get("title", "")))
    else:
        return Node("unsupported", why=f"type {t!r}" if t else "a schema without a type (Any)")
    n.rules = {k: s[k] for k in _RULES if k in s}
    if "default" in s:
        n.has_default, n.default = s["default"] is not None, s["default"]
    if n.kind == "str" and "pattern" in n.rules and not pattern_supported(n.rules["pattern"]):
        return Node("unsupported", why=f"pattern {n.rules['pattern']!r} outside the kit's subset")
    return n


def pattern_supported(p: str) -> bool:
    """A rough test of the kit's pattern subset (docs/KIT.md "Patterns"): no groups,
    alternation, flags or Unicode classes."""
    return not any(c in p for c in "()|") and "\\p" not in p and "\\P" not in p and "(?" not in p


def first_unsupported(n: Node, where: str = "") -> tuple[str, str] | None:
    """(where, why) of the first unsupported node inside n (a field path for bodies)."""
    if n.kind == "unsupported":
        return where, n.why
    if n.kind == "list" and n.items is not None:
        return first_unsupported(n.items, where + ".N" if where else "N")
    for name, f, _ in n.fields:
        hit = first_unsupported(f, f"{where}.{name}" if where else name)
        if hit:
            return hit
    return None


def _param(doc: dict, p: dict) -> Param:
    p = deref(doc, p)
    where = p.get("in", "query")
    name = p.get("name", "?")
    if "content" in p or "schema" not in p:
        n = Node("unsupported", why="content instead of schema")
    elif p.get("style") not in (None, {"path": "simple", "query": "form", "header": "simple",
                                       "cookie": "form"}.get(where)) or p.get("explode") is False:
        n = Node("unsupported", why="a non-default style/explode")
    elif p.get("allowReserved"):
        n = Node("unsupported", why="allowReserved")
    else:
        n = node(doc, p["schema"])
        if n.kind == "list" and (where != "query" or "minItems" in n.rules or "maxItems" in n.rules):
            n = Node("unsupported", why="a list outside the query, or with minItems/maxItems")
        elif n.kind == "list" and n.items is not None and n.items.kind not in SCALARS:
            n = Node("unsupported", why=f"a list of {n.items.describe()}")
        elif n.kind == "model":
            n = Node("unsupported", why="an object parameter")
    return Param(name, where, bool(p.get("required")), n)


def operation(doc: dict, method: str, path: str) -> Operation:
    """The operation METHOD PATH of the document (both as the document spells them)."""
    item = doc["paths"][path]
    op = item[method.lower()]
    params = [_param(doc, p) for p in op.get("parameters") or []]
    params.sort(key=lambda p: _IN_ORDER.get(p.where, 4))  # FastAPI's order (stable)
    unsupported = ""
    if isinstance(op.get("x-graft-unsupported"), str):
        unsupported = op["x-graft-unsupported"]
    elif op.get("security"):
        unsupported = "security (an auth dependency: validated before the parameters)"
    elif item.get("parameters"):
        unsupported = "path-level parameters"
    body, body_why = None, ""
    rb = op.get("requestBody")
    if rb is not None:
        rb = deref(doc, rb)
        content = rb.get("content") or {}
        if set(content) != {"application/json"}:
            body_why = f"a request body of {', '.join(sorted(content)) or 'no'} media type (not JSON)"
        elif not rb.get("required"):
            body_why = "an optional request body"
        else:
            body = node(doc, content["application/json"].get("schema", {}), in_body=True)
            if body.kind != "model":
                body_why = "a request body that is not a model" if body.kind != "unsupported" else body.why
                body = None
    return Operation(method.upper(), path, op.get("operationId") or "", params, body, body_why,
                     unsupported)


def operations(doc: dict) -> list[Operation]:
    """Every operation of the document, in its order (HTTP methods only)."""
    out = []
    for path, item in (doc.get("paths") or {}).items():
        for m in ("get", "put", "post", "delete", "patch", "head", "options"):
            if isinstance(item, dict) and isinstance(item.get(m), dict):
                out.append(operation(doc, m, path))
    return out
