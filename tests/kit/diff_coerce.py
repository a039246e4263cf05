"""Differential test of the kit's scalar layer against the installed Pydantic, in process:
seeded random inputs per type go through pydantic.TypeAdapter(...).validate_python (lax mode,
as FastAPI validates a query parameter or a json.loads'ed body field) and through the C
functions (ctypes, kitlib.py); the two must agree on the value, or on the error's whole
detail entry as FastAPI writes it in a 422 (jsonable_encoder, then json.dumps as
JSONResponse does). Where the C layer answers UNSUPPORTED (graft declines to the app), the
case must be one docs/KIT.md lists as declined.

    python tests/kit/diff_coerce.py --count 100000 --seed 1
"""
import argparse
import ctypes
import datetime
import json
import math
import os
import random
import re
import sys
import uuid
from enum import Enum
from typing import Annotated

from fastapi.encoders import jsonable_encoder
from pydantic import Field, TypeAdapter, ValidationError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402
import kitlib  # noqa: E402
from kitlib import ERR, UNSUPPORTED  # noqa: E402

INT_RULES = [{}, {}, {"gt": 5}, {"ge": 0, "le": 100}, {"lt": -3}, {"multiple_of": 3},
             {"multiple_of": 7, "gt": -10, "lt": 10}, {"gt": 2**63 - 2}, {"ge": -2**63, "le": 0, "multiple_of": 2}]
FLOAT_RULES = [{}, {}, {"gt": 5.0}, {"ge": 0.0, "le": 1e-05}, {"lt": -3.5}, {"multiple_of": 0.1},
               {"multiple_of": 2.5, "gt": -10.0, "lt": 10.0}, {"le": 1e20, "ge": 1e-7}, {"lt": float("inf")},
               {"multiple_of": 1e-3}, {"gt": -0.0, "lt": 0.3}, {"multiple_of": 3.0, "ge": 123456789.123}]
STR_RULES = [{}, {"min_length": 1}, {"min_length": 3, "max_length": 5}, {"max_length": 0},
             {"max_length": 1}, {"min_length": 2, "pattern": "^a+$"}, {"pattern": "^[a-z]*$"}]
RULE_BIT = {"gt": kitlib.GT, "ge": kitlib.GE, "lt": kitlib.LT, "le": kitlib.LE, "multiple_of": kitlib.MULTIPLE_OF,
            "min_length": kitlib.MIN_LENGTH, "max_length": kitlib.MAX_LENGTH, "pattern": kitlib.PATTERN}
ERR_KEY = {"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt", "less_than_equal": "le",
           "multiple_of": "multiple_of", "string_too_short": "min_length", "string_too_long": "max_length",
           "string_pattern_mismatch": "pattern"}
INT_MEMBERS = [1, 2, -3]
STR_MEMBERS = ["red", "green", "it's"]
IntE = Enum("IntE", {f"m{i}": v for i, v in enumerate(INT_MEMBERS)}, type=int)
StrE = Enum("StrE", {f"m{i}": v for i, v in enumerate(STR_MEMBERS)}, type=str)
# what Pydantic trims: Unicode White_Space (Rust's str::trim)
SPACES = " \t\n\r\x0b\x0c\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
TYPES = ["int", "float", "bool", "str", "pattern", "uuid", "datetime", "enum_int", "enum_str"]
# the date-time forms src/native/kit/datetime.h reproduces (ASCII digits only)
DATETIME_SUBSET = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt _][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?([Zz]|[+-][0-9]{2}:?[0-9]{2})?)?")
# the generated patterns seen so far: whether each is in the subset, and uses \d \w \s
PATTERNS = {}


def dumps(obj):
    """JSONResponse.render."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))


def fastapi_entry(err, prefix):
    """One detail entry as FastAPI 0.165 writes it: the loc prefixed (_regenerate_error_with_loc),
    jsonable_encoder, json.dumps; None when json.dumps refuses it (a NaN or inf: FastAPI fails)."""
    e = {**err, "loc": (*prefix, *err["loc"])}
    try:
        return dumps(jsonable_encoder(e))
    except ValueError:
        return None


class Differ:
    def __init__(self):
        self.kit = kitlib.Kit()
        self.lib = self.kit.lib
        self.adapters = {}

    def adapter(self, tp, rules):
        key = (tp, tuple(sorted(rules.items())))
        if key not in self.adapters:
            base = {"int": int, "float": float, "bool": bool, "str": str, "uuid": uuid.UUID, "datetime": datetime.datetime,
                    "enum_int": IntE, "enum_str": StrE}[tp]
            self.adapters[key] = TypeAdapter(Annotated[base, Field(**rules)] if rules else base)
        return self.adapters[key]

    def pydantic(self, tp, rules, inp):
        if tp == "pattern":
            try:
                self.adapter("str", rules)
            except Exception:  # a pattern Rust's regex refuses: Pydantic cannot build the field
                return ("schema_error", None)
            tp = "str"
        try:
            return ("ok", self.adapter(tp, rules).validate_python(inp))
        except ValidationError as exc:
            return ("err", exc.errors(include_url=False)[0])

    def c_entry(self, etype, inp_value, prefix, rules, text=None):
        """The C detail entry; None when the C side says FastAPI could not write it."""
        locs = [kitlib.Loc(p.encode(), len(p.encode()), 0) if isinstance(p, str) else kitlib.Loc(None, 0, p)
                for p in prefix]
        arr = (kitlib.Loc * len(locs))(*locs)
        e = kitlib.Error(etype, arr, len(locs), inp_value)
        key = ERR_KEY.get(kitlib.ERR_NAMES[etype])
        keep = []
        if key in ("gt", "ge", "lt", "le", "multiple_of"):
            e.limit = kitlib.limit(rules[key])
        elif key in ("min_length", "max_length"):
            e.length = rules[key]
        elif key == "pattern":
            text = rules["pattern"]
        if text is not None:
            raw = text.encode()
            keep.append(raw)
            e.text, e.text_n = raw, len(raw)
        rc, out = self.kit.buf_text(self.lib.graft__kit_detail_entry, ctypes.byref(e))
        if rc == UNSUPPORTED:
            return None
        assert rc == 0, rc
        return out

    def c_run(self, tp, rules, inp):
        """("ok", value) | ("err", type) | ("unsupported",), and the C Value of the input."""
        v, keep = kitlib.value(inp)
        ref = ctypes.byref(v)
        if tp == "int":
            out = ctypes.c_int64()
            rc = self.lib.graft__kit_to_int(ref, ctypes.byref(out))
            if rc == 0 and rules:
                r = kitlib.IntRules(sum(RULE_BIT[k] for k in rules), *(rules.get(k, 0) for k in ("gt", "ge", "lt", "le", "multiple_of")))
                rc = self.lib.graft__kit_int_check(ctypes.byref(r), out.value)
            got = out.value
        elif tp == "float":
            out = ctypes.c_double()
            rc = self.lib.graft__kit_to_float(ref, ctypes.byref(out))
            if rc == 0 and rules:
                r = kitlib.FloatRules(sum(RULE_BIT[k] for k in rules), *(rules.get(k, 0.0) for k in ("gt", "ge", "lt", "le", "multiple_of")))
                rc = self.lib.graft__kit_float_check(ctypes.byref(r), out.value)
            got = out.value
        elif tp == "bool":
            out = ctypes.c_int()
            rc = self.lib.graft__kit_to_bool(ref, ctypes.byref(out))
            got = bool(out.value)
        elif tp in ("str", "pattern"):
            s, n = ctypes.c_char_p(), ctypes.c_size_t()
            rc = self.lib.graft__kit_to_str(ref, ctypes.byref(s), ctypes.byref(n))
            if rc == 0:
                pat = rules.get("pattern")
                r = kitlib.StrRules(sum(RULE_BIT[k] for k in rules), rules.get("min_length", 0), rules.get("max_length", 0),
                                    pat.encode() if pat is not None else None)
                rc = self.lib.graft__kit_str_check(ctypes.byref(r), keep, len(keep))
            got = inp
        elif tp == "datetime":
            out = kitlib.DateTime()
            rc = self.lib.graft__kit_datetime_from_str(keep, len(keep), ctypes.byref(out))
            got = out.to_python() if rc == 0 else None
        elif tp == "uuid":
            out = ctypes.create_string_buffer(16)
            rc = UNSUPPORTED if not isinstance(inp, str) else self.lib.graft__kit_uuid_from_str(keep, len(keep), out)
            got = uuid.UUID(bytes=out.raw[:16]) if rc == 0 else None
        else:
            idx = ctypes.c_size_t()
            if tp == "enum_int":
                arr = (ctypes.c_int64 * 3)(*INT_MEMBERS)
                rc = self.lib.graft__kit_enum_int(arr, 3, ref, ctypes.byref(idx))
                got = IntE(INT_MEMBERS[idx.value]) if rc == 0 else None
            else:
                arr = (ctypes.c_char_p * 3)(*(m.encode() for m in STR_MEMBERS))
                rc = self.lib.graft__kit_enum_str(arr, 3, ref, ctypes.byref(idx))
                got = StrE(STR_MEMBERS[idx.value]) if rc == 0 else None
        if rc == 0:
            return ("ok", got), v, keep
        if rc > 0:
            return ("err", rc), v, keep
        assert rc == UNSUPPORTED, (tp, inp, rc)
        return ("unsupported",), v, keep

    def declined_ok(self, tp, rules, inp, p):
        """Whether UNSUPPORTED is the documented answer for this case (docs/KIT.md)."""
        if tp in ("int", "enum_int"):
            if isinstance(inp, str) and len(inp.strip(SPACES).encode()) > 4300:
                return True
            if isinstance(inp, float) and (not math.isfinite(inp) or abs(inp) >= 2.0**63):
                return True
            if isinstance(inp, str) and re.match(r"[+-]?0[0_]*[-+]", inp.strip(SPACES)):
                return True  # a sign after leading zeros
            base = self.pydantic("int", {}, inp)  # the value before any constraint
            if base[0] == "ok":
                return not (-2**63 <= base[1] < 2**63)
            return base[1]["type"] in ("int_parsing_size", "finite_number")
        if tp == "str":
            return "pattern" in rules and (p[0] == "ok" or p[1]["type"] == "string_pattern_mismatch")
        if tp == "uuid":
            return p[0] == "err"
        if tp == "datetime":
            return p[0] == "err" or not DATETIME_SUBSET.fullmatch(inp)
        if tp == "pattern":
            spec = PATTERNS[rules["pattern"]]
            return not spec["in_subset"] or (spec["perl"] and not inp.isascii())
        return False

    def one(self, tp, rules, inp):
        """Compares one input; returns "agree", "declined", or a mismatch description."""
        p = self.pydantic(tp, rules, inp)
        c, v, keep = self.c_run(tp, rules, inp)
        prefix = ("query", "x") if isinstance(inp, str) else ("body", "x")
        if p[0] == "schema_error":
            return "declined" if c[0] == "unsupported" else f"C {c!r} for a pattern Pydantic refuses"
        if c[0] == "unsupported":
            return "declined" if self.declined_ok(tp, rules, inp, p) else f"C declined, Pydantic {p!r}"
        if c[0] == "ok":
            if p[0] != "ok":
                return f"C ok {c[1]!r}, Pydantic {p[1]!r}"
            if tp == "datetime":
                pv = (p[1].year, p[1].month, p[1].day, p[1].hour, p[1].minute, p[1].second, p[1].microsecond,
                      None if p[1].utcoffset() is None else p[1].utcoffset().total_seconds())
                if c[1] != pv:
                    return f"C {c[1]!r}, Pydantic {p[1]!r}"
                return "agree"
            if repr(c[1]) != repr(p[1]) or type(c[1]) is not type(p[1]):
                return f"C {c[1]!r}, Pydantic {p[1]!r}"
            return "agree"
        if p[0] != "err":
            return f"C error {kitlib.ERR_NAMES[c[1]]}, Pydantic ok {p[1]!r}"
        text = None
        if tp in ("enum_int", "enum_str"):
            rc, text = self.kit.buf_text(
                self.lib.graft__kit_enum_expected,
                (ctypes.c_char_p * 3)(*(m.encode() for m in STR_MEMBERS)) if tp == "enum_str" else None,
                (ctypes.c_int64 * 3)(*INT_MEMBERS) if tp == "enum_int" else None, 3)
            assert rc == 0, rc
        mine = self.c_entry(c[1], v, prefix, rules, text)
        theirs = fastapi_entry(p[1], prefix)
        if mine != theirs:
            return f"entry\n  C:        {mine}\n  FastAPI:  {theirs}"
        return "agree" if mine is not None else "declined"


def inputs(tp, r, count):
    """count (rules, input) pairs for tp."""
    pats = []
    for _ in range(count):
        json_kind = r.random() < 0.25
        if tp == "int":
            yield r.choice(INT_RULES), gen.json_scalar(r, "int") if json_kind else gen.number_text(r)
        elif tp == "float":
            yield r.choice(FLOAT_RULES), gen.json_scalar(r, "float") if json_kind else gen.number_text(r)
        elif tp == "bool":
            yield {}, gen.json_scalar(r, "bool") if json_kind else gen.bool_text(r)
        elif tp == "str":
            yield r.choice(STR_RULES), gen.json_scalar(r, "str") if r.random() < 0.1 else gen.str_text(r)
        elif tp == "uuid":
            yield {}, gen.uuid_text(r)
        elif tp == "datetime":
            yield {}, gen.datetime_text(r)
        elif tp == "enum_int":
            yield {}, gen.json_scalar(r, "int") if json_kind else (
                gen.number_text(r) if r.random() < 0.6 else r.choice(["1", " 2", "-3", "01", "1.0", "+1", "-3.00", "1_0"]))
        elif tp == "pattern":
            if not pats or r.random() < 0.05:
                text, atoms, _, in_subset, perl = gen.pattern(r)
                PATTERNS[text] = {"in_subset": in_subset, "perl": perl}
                pats.append((text, atoms))
            text, atoms = r.choice(pats[-40:])
            yield {"pattern": text}, gen.pattern_subject(r, atoms)
        else:
            yield {}, gen.json_scalar(r, "str") if r.random() < 0.1 else (
                r.choice(STR_MEMBERS + ["Red", " red", "it’s", "it's "]) if r.random() < 0.6 else gen.str_text(r))


def run(count, seed, types=TYPES, max_report=10):
    """Runs count inputs per type; returns ({type: {"agree": n, "declined": n, "mismatch": n}},
    [mismatch descriptions])."""
    d = Differ()
    stats, bad = {}, []
    for tp in types:
        r = random.Random(f"{seed}:{tp}")
        st = stats[tp] = {"agree": 0, "declined": 0, "mismatch": 0}
        for rules, inp in inputs(tp, r, count):
            res = d.one(tp, rules, inp)
            if res in ("agree", "declined"):
                st[res] += 1
                continue
            st["mismatch"] += 1
            if len(bad) < max_report:
                bad.append(f"{tp} {rules} {inp!r:.120}: {res}")
    return stats, bad


def float_texts(count, seed):
    """The three float texts against Python: repr, pydantic_core.to_json, and Pydantic's
    message text (Rust's Display: a greater_than error's msg with the value as the bound,
    on every tenth value: building a validator per value is slow). Returns the mismatches
    and how many texts of each kind were compared."""
    from pydantic_core import SchemaValidator, core_schema, to_json
    kit = kitlib.Kit()
    r = random.Random(f"{seed}:float_text")
    bad, compared = [], {"repr": 0, "json": 0, "display": 0}
    for k in range(count):
        v = gen.float_value(r)
        want = {"repr": repr(v), "json": to_json(v).decode()}
        if k % 10 == 0:
            try:
                SchemaValidator(core_schema.float_schema(gt=v)).validate_python(-math.inf)
            except ValidationError as exc:
                want["display"] = exc.errors()[0]["msg"].removeprefix("Input should be greater than ")
        for which, w in want.items():
            compared[which] += 1
            got = kit.float_text(which, v)
            if got != w:
                bad.append(f"{which}({v!r}): C {got!r}, Python {w!r}")
    return bad, compared


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=100_000, help="inputs per type")
    ap.add_argument("--seed", default="1")
    ap.add_argument("--types", default=",".join(TYPES))
    args = ap.parse_args()
    stats, bad = run(args.count, args.seed, args.types.split(","))
    for tp, st in stats.items():
        print(f"{tp:9} agree {st['agree']:7}  declined {st['declined']:6}  mismatch {st['mismatch']}")
    fbad, compared = float_texts(args.count, args.seed)
    print(f"float text: {compared} compared, {len(fbad)} mismatches")
    for b in bad + fbad[:10]:
        print("MISMATCH", b)
    return 1 if bad or fbad else 0


if __name__ == "__main__":
    sys.exit(main())
