"""The kit's scalar layer (src/native/kit) against the installed Pydantic and FastAPI:
the differential run at a smaller size than `make kit-diff`, the float texts, and whole 422
bodies compared byte for byte with what a FastAPI app answers."""
import ctypes
import os
import sys
from enum import Enum
from typing import Annotated

import fastapi
import pydantic
import pytest
from fastapi import Body, FastAPI, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diff_coerce  # noqa: E402
import kitlib  # noqa: E402
from kitlib import ERR  # noqa: E402

COUNT = int(os.environ.get("GRAFT_KIT_DIFF_COUNT", "3000"))


def test_versions_are_the_pinned_ones():
    # the messages compared here change between releases: requirements-dev.txt pins these
    assert fastapi.__version__.startswith("0.165.")
    assert pydantic.VERSION.startswith("2.14.")


@pytest.mark.parametrize("tp", diff_coerce.TYPES)
def test_differential(tp):
    stats, bad = diff_coerce.run(COUNT, "make-test", [tp])
    assert bad == []
    st = stats[tp]
    assert st["mismatch"] == 0
    # most inputs must be answered, not declined, or the comparison proves little (the
    # date-time generator makes many strings Pydantic refuses, which the kit declines)
    assert st["agree"] >= COUNT * (0.4 if tp == "datetime" else 0.5), st


def test_float_texts():
    bad, compared = diff_coerce.float_texts(COUNT, "make-test")
    assert bad == []
    assert compared["repr"] == COUNT and compared["json"] == COUNT and compared["display"] >= COUNT // 10


class Color(str, Enum):
    red = "red"
    green = "green"


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    a: int
    tags: list[int] = Field(default_factory=list, min_length=1, max_length=2)


def make_app():
    app = FastAPI()

    @app.get("/q")
    def q(i: Annotated[int, Query(gt=5, multiple_of=3)], f: Annotated[float, Query(le=1e-05)] = 0.0,
          b: bool = False, s: Annotated[str, Query(min_length=3, max_length=4)] = "abc",
          c: Color = Color.red, l: Annotated[list[int], Query()] = [], need: int = Query()):
        return {}

    @app.post("/m")
    def m(item: Item):
        return {}

    @app.post("/l")
    def l(body: Annotated[list[int], Body(min_length=2)]):
        return {}

    return app


class Kit422:
    """Builds a whole 422 body with the C functions, from C coercion results."""

    def __init__(self):
        self.d = diff_coerce.Differ()
        self.errors, self.keep = [], []

    def add(self, etype, loc, inp, rules=None, text=None, length=0, actual=0):
        v, raw = kitlib.value(inp)
        locs = [kitlib.Loc(p.encode(), len(p.encode()), 0) if isinstance(p, str) else kitlib.Loc(None, 0, p) for p in loc]
        arr = (kitlib.Loc * len(locs))(*locs)
        e = kitlib.Error(etype, arr, len(locs), v, length=length, actual=actual)
        key = diff_coerce.ERR_KEY.get(kitlib.ERR_NAMES[etype])
        if rules and key in ("gt", "ge", "lt", "le", "multiple_of"):
            e.limit = kitlib.limit(rules[key])
        if rules and key in ("min_length", "max_length"):
            e.length = rules[key]
        if text is not None:
            t = text.encode()
            e.text, e.text_n = t, len(t)
            self.keep.append(t)
        self.keep += [raw, arr, locs]
        self.errors.append(e)

    def param(self, tp, name, s, rules=None, loc=None):
        """Coerces a query value with the C layer; adds its error, if any."""
        rules = rules or {}
        res, v, raw = self.d.c_run(tp, rules, s)
        assert res[0] != "unsupported", (tp, s)
        if res[0] == "err":
            text = None
            if tp == "enum_str":
                text = "'red' or 'green'"
            self.add(res[1], loc or ("query", name), s, rules, text)

    def body(self):
        arr = (kitlib.Error * len(self.errors))(*self.errors)
        rc, text = self.d.kit.buf_text(self.d.lib.graft__kit_detail_body, arr, len(self.errors))
        assert rc == 0
        return text.encode()


def q_case(client, query):
    """FastAPI's answer and the kit's, for one query string of /q."""
    from urllib.parse import parse_qsl
    got = client.get("/q?" + query)
    params = parse_qsl(query, keep_blank_values=True)
    one = dict(params)
    k = Kit422()
    for name, tp, rules in [("i", "int", {"gt": 5, "multiple_of": 3}), ("f", "float", {"le": 1e-05}),
                            ("b", "bool", {}), ("s", "str", {"min_length": 3, "max_length": 4}),
                            ("c", "enum_str", {})]:
        if name in one:
            k.param(tp, name, one[name], rules)
        elif name == "i":
            k.add(ERR["missing"], ("query", "i"), None)
    items = [v for n, v in params if n == "l"]
    for idx, v in enumerate(items):
        k.param("int", "l", v, loc=("query", "l", idx))
    if "need" not in one:
        k.add(ERR["missing"], ("query", "need"), None)
    else:
        k.param("int", "need", one["need"])
    return got, k


@pytest.mark.parametrize("query", [
    "i=4&need=1", "i=7&need=1", "i=x&need=", "i=5.0&f=0.2&need=1", "i=9&f=nan&b=maybe&need=1",
    "i=9&s=ab&c=blue&need=1", "i=9&s=%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9&need=1", "i=9&l=1&l=x&l=2.5&need=1",
    "f=1e-4", "i=12&s=%00%22%5C%0A%7F%C3%A9&need=1", "i=%E2%80%83%2B0_9%E3%80%80&f=1_0e-6%20&need=0009",
])
def test_query_422_bodies_match_fastapi(query):
    client = TestClient(make_app())
    got, k = q_case(client, query)
    assert got.status_code == 422
    assert k.body() == got.content


def test_query_200_when_the_kit_finds_nothing():
    # the same coercion accepts what FastAPI accepts: no error entry, and FastAPI answers 200
    client = TestClient(make_app())
    for query in ["i=%E2%80%83%2B0_9%E3%80%80&b=YES&f=1_0e-6&need=0009",
                  "i=9&b=on&f=1e-5&s=abcd&c=green&l=1&l=02&need=-1"]:
        got, k = q_case(client, query)
        assert got.status_code == 200 and k.errors == [], query


def test_body_error_types_match_fastapi():
    """The entries the body layer will build: their msg, input and ctx as FastAPI writes them."""
    client = TestClient(make_app())
    h = {"content-type": "application/json"}
    cases = []
    k = Kit422()
    k.add(ERR["too_short"], ("body", "tags"), [], text="List", length=1, actual=0)
    k.add(ERR["extra_forbidden"], ("body", "z"), 1)
    cases.append((b'{"a":1,"tags":[],"z":1}', "/m", k))
    k = Kit422()
    k.add(ERR["int_from_float"], ("body", "a"), 1.5)
    k.add(ERR["too_long"], ("body", "tags"), [1, 2, 3], text="List", length=2, actual=3)
    cases.append((b'{"a":1.5,"tags":[1,2,3]}', "/m", k))
    k = Kit422()
    k.add(ERR["model_attributes_type"], ("body",), [1])
    cases.append((b"[1]", "/m", k))
    k = Kit422()
    k.add(ERR["json_invalid"], ("body", 5), {}, text="Expecting value")
    cases.append((b'{"a":', "/m", k))
    k = Kit422()
    k.add(ERR["int_parsing"], ("body", "a"), "x")
    k.add(ERR["list_type"], ("body", "tags"), "y")
    cases.append((b'{"a":"x","tags":"y"}', "/m", k))
    k = Kit422()
    k.add(ERR["missing"], ("body", "a"), {"tags": [1]})
    cases.append((b'{"tags":[1]}', "/m", k))
    k = Kit422()
    k.add(ERR["too_short"], ("body",), [1], text="List", length=2, actual=1)
    cases.append((b"[1]", "/l", k))
    k = Kit422()
    k.add(ERR["int_type"], ("body", "a"), None)
    k.add(ERR["int_parsing"], ("body", "tags", 0), "z")
    cases.append((b'{"a":null,"tags":["z"]}', "/m", k))
    for body, path, k in cases:
        got = client.post(path, content=body, headers=h)
        assert got.status_code == 422, body
        assert k.body() == got.content, body


def test_nonfinite_input_is_declined_where_fastapi_fails():
    # FastAPI's json.dumps(allow_nan=False) raises on an inf input: the app answers 500, so
    # the kit must not build that 422 but decline
    k = Kit422()
    k.add(ERR["int_from_float"], ("body", "a"), float("inf"))
    arr = (kitlib.Error * 1)(*k.errors)
    rc, _ = k.d.kit.buf_text(k.d.lib.graft__kit_detail_body, arr, 1)
    assert rc == kitlib.UNSUPPORTED


def _big_text(r):
    """An int text near or beyond int64, in the lax forms Pydantic reads, sometimes broken."""
    digits = str(r.choice([2**63 - 1, 2**63, 2**64, 10**19, 3 * 10**25]) + r.randint(-3, 3)) if r.random() < 0.4 \
        else str(r.randint(1, 9)) + "".join(r.choice("0123456789") for _ in range(r.randint(17, 45)))
    body = "".join(c + ("_" if r.random() < 0.1 and i < len(digits) - 1 else "") for i, c in enumerate(digits))
    text = (r.choice(["", "", " ", "\u3000", "\t "]) + r.choice(["", "", "+", "-"]) + r.choice(["", "", "0", "00_0"])
            + body + r.choice(["", "", ".0", ".000", ".5"]) + r.choice(["", "", " "]))
    if r.random() < 0.1:
        text = text.replace("_", "__", 1) if "_" in text else text + "_"
    return text


def test_int_text_and_beyond_check_match_pydantic():
    """graft__kit_int_text gives str() of the int Pydantic makes (and its side of int64), and
    graft__kit_int_beyond_check Pydantic's error (or none) for the big ones, under each rule set."""
    import random

    lib = kitlib.Kit().lib
    lib.graft__kit_int_text.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                                        ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_int)]
    d = diff_coerce.Differ()
    r = random.Random(2**63)
    bad, texts, beyond_seen = [], 0, 0
    for i in range(3000):
        s = _big_text(r) if i % 2 else diff_coerce.gen.number_text(r)
        raw = s.encode()
        out = ctypes.create_string_buffer(len(raw) + 22)
        n, side = ctypes.c_size_t(), ctypes.c_int()
        rc = lib.graft__kit_int_text(raw, len(raw), out, ctypes.byref(n), ctypes.byref(side))
        p = d.pydantic("int", {}, s)
        if rc == 0:
            texts += 1
            v = p[1] if p[0] == "ok" else None
            want_side = 0 if v is None or -2**63 <= v < 2**63 else (1 if v > 0 else -1)
            if p[0] != "ok" or out.raw[:n.value].decode() != str(v) or side.value != want_side:
                bad.append((s, "text", out.raw[:n.value], side.value, p))
        elif rc > 0 and (p[0] != "err" or p[1]["type"] != kitlib.ERR_NAMES[rc]):
            bad.append((s, "error", rc, p))
        if rc != 0 or side.value == 0:
            continue
        beyond_seen += 1
        for rules in diff_coerce.INT_RULES:
            ir = kitlib.IntRules(sum(diff_coerce.RULE_BIT[k] for k in rules),
                                 *(rules.get(k, 0) for k in ("gt", "ge", "lt", "le", "multiple_of")))
            brc = lib.graft__kit_int_beyond_check(ctypes.byref(ir), raw, len(raw))
            pr = d.pydantic("int", rules, s)
            want = "ok" if pr[0] == "ok" else pr[1]["type"]
            got = "ok" if brc == kitlib.UNSUPPORTED else kitlib.ERR_NAMES[brc] if brc > 0 else brc
            if got != want:
                bad.append((s, rules, got, want))
    assert not bad, bad[:5]
    assert texts > 1000 and beyond_seen > 800, (texts, beyond_seen)
