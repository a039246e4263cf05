"""graft/reqgen's schema reading and graft/port.py's C text helpers, without servers: the
shapes FastAPI writes (Optional as anyOf null, $ref enums and models, defaults) become the
right nodes; what the kit does not support is named; C names and strings are safe."""

from __future__ import annotations

import random

from graft.port_c import Writer, c_string, rules_text
from graft.reqgen import values
from graft.reqgen.schema import Node, Operation, node, operation

DOC = {
    "paths": {"/a/{x}": {"get": {"operationId": "a", "parameters": [
        {"name": "q", "in": "query", "required": False,
         "schema": {"anyOf": [{"$ref": "#/components/schemas/Color"}, {"type": "null"}], "title": "Q"}},
        {"name": "x", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}},
        {"name": "m", "in": "query", "schema": {"enum": ["a", "b"], "type": "string"}},
        {"name": "h", "in": "header", "schema": {"type": "array", "items": {"type": "integer"}}},
    ], "requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/M"}}}}}}},
    "components": {"schemas": {
        "Color": {"type": "string", "enum": ["red", "green"], "title": "Color"},
        "M": {"type": "object", "required": ["n"], "additionalProperties": False, "properties": {
            "n": {"type": "integer", "exclusiveMaximum": 10.0},
            "d": {"type": "object", "additionalProperties": {"type": "integer"}},
            "u": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            "l": {"type": "array", "items": {"$ref": "#/components/schemas/Color"}, "default": []},
        }},
    }},
}


def test_operation_nodes():
    op = operation(DOC, "get", "/a/{x}")
    assert [(p.name, p.where) for p in op.params] == [("x", "path"), ("q", "query"), ("m", "query"),
                                                      ("h", "header")]  # FastAPI's order
    x, q, m, h = (p.node for p in op.params)
    assert x.kind == "int" and x.rules == {"minimum": 1} and op.params[0].required
    assert q.kind == "str_enum" and q.nullable and q.members == ["red", "green"] and q.describe() == "Optional[Color]"
    assert m.kind == "unsupported" and "Literal" in m.why
    assert h.kind == "unsupported" and "a list outside the query" in h.why
    body = op.body
    assert body.kind == "model" and body.forbid_extra and body.title == "M"
    fields = {name: (f, req) for name, f, req in body.fields}
    assert fields["n"][1] and fields["n"][0].kind == "int"
    assert fields["d"][0].kind == "unsupported" and "dict" in fields["d"][0].why
    assert fields["u"][0].kind == "unsupported" and "anyOf" in fields["u"][0].why
    assert fields["l"][0].kind == "list" and fields["l"][0].items.kind == "str_enum" and fields["l"][0].default == []


def test_values_stay_inside_the_rules():
    rnd = random.Random(1)
    n = node(DOC, {"type": "integer", "minimum": 3, "maximum": 7, "multipleOf": 2})
    assert {values.valid(n, rnd) for _ in range(200)} == {4, 6}
    s = node(DOC, {"type": "string", "pattern": "^[a-c]{2,3}x$"})
    import re

    assert all(re.fullmatch("[a-c]{2,3}x", values.valid(s, rnd)) for _ in range(100))
    f = node(DOC, {"type": "number", "exclusiveMinimum": 0, "maximum": 1})
    assert all(0 < values.valid(f, rnd) <= 1 for _ in range(200))
    path_id = node(DOC, {"type": "integer"})
    assert all(1 <= values.valid(path_id, rnd, small=True) <= 20 for _ in range(100))


def test_safe_edges_leave_out_declined_inputs():
    rnd = random.Random(2)
    n = node(DOC, {"type": "integer"})
    assert "99999999999999999999" in {values.edge_text(n, rnd) for _ in range(500)}
    assert "99999999999999999999" not in {values.edge_text(n, rnd, safe=True) for _ in range(500)}
    u = node(DOC, {"type": "string", "format": "uuid"})
    assert "not-a-uuid" not in {values.edge_text(u, rnd, safe=True) for _ in range(200)}
    s = node(DOC, {"type": "string", "maxLength": 3})
    assert all(t.isascii() for t in (values.edge_text(s, rnd, True, True) for _ in range(300)))


def test_c_names_and_strings():
    assert c_string('a"b\\c') == '"a\\"b\\\\c"'
    assert c_string("\u00fc?") == '"\\303\\274\\077"'  # octal: never runs into the next char
    w = Writer(Operation("GET", "/", "", [], None), "/")
    assert [w.ident(x) for x in ("int", "req", "x-token", "x_token", "9a", "")] == \
        ["int_2", "req_2", "x_token", "x_token_2", "_9a", "v"]
    assert rules_text(Node("int", rules={"minimum": 0.0, "exclusiveMaximum": 10.0})) == ">= 0, < 10"
    assert rules_text(Node("number", rules={"minimum": 0.0}, has_default=True, default=0.5)) == ">= 0.0, default 0.5"
