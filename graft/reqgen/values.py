"""Values for one schema node: valid ones (inside every rule) and edge ones (boundaries, wrong
types, Pydantic's lax forms), as query/path/header text or as JSON values, from a seeded
random.Random. The request generator (gen.py) picks among them."""

from __future__ import annotations

import math
import random
import string

from graft.reqgen.schema import Node

_UUIDS = ["12345678-1234-1234-1234-1234567890ab", "123456781234123412341234567890AB",
          "{12345678-1234-1234-1234-1234567890ab}", "urn:uuid:12345678-1234-1234-1234-1234567890ab"]
_BAD_UUIDS = ["not-a-uuid", "12345678-1234-1234-1234-1234567890a", "", "1234"]
_DATETIMES = ["2024-02-29T12:00:00", "2024-01-01 00:00:00+01:00", "2024-01-01", "2024-01-02T03:04:05Z",
              "1999-12-31T23:59:59.123456-05:30"]
_BAD_DATETIMES = ["2024-13-01", "yesterday", "", "2024-02-30T00:00:00", "1700000000"]
_BOOL_WORDS = ["true", "false", "1", "0", "yes", "no", "on", "off", "t", "f", "y", "n", "TRUE", "Off"]
_BAD_BOOLS = ["maybe", "2", "", " true", "truee", "-1"]


def _int_bounds(r: dict) -> tuple[int | None, int | None]:
    lo = r.get("minimum")
    hi = r.get("maximum")
    if "exclusiveMinimum" in r:
        lo = math.floor(r["exclusiveMinimum"]) + 1
    if "exclusiveMaximum" in r:
        hi = math.ceil(r["exclusiveMaximum"]) - 1
    return (None if lo is None else math.ceil(lo)), (None if hi is None else math.floor(hi))


def valid_int(n: Node, rnd: random.Random, small: bool = False) -> int:
    lo, hi = _int_bounds(n.rules)
    if small or (lo is None and hi is None):
        lo2, hi2 = max(lo if lo is not None else 1, 1), 20
        if hi is not None:
            hi2 = min(hi2, hi)
        if lo2 <= hi2:
            lo, hi = lo2, hi2
    lo = lo if lo is not None else (hi - 20 if hi is not None else 0)
    hi = hi if hi is not None else lo + 20
    m = n.rules.get("multipleOf")
    if isinstance(m, (int, float)) and m and float(m).is_integer() and m > 0:
        m = int(m)
        k_lo, k_hi = -(-lo // m), hi // m
        if k_lo <= k_hi:
            return rnd.randint(k_lo, k_hi) * m
    return rnd.randint(lo, hi) if lo <= hi else lo


def valid_number(n: Node, rnd: random.Random) -> float:
    r = n.rules
    lo = r.get("minimum", r.get("exclusiveMinimum"))
    hi = r.get("maximum", r.get("exclusiveMaximum"))
    lo = float(lo) if lo is not None else (float(hi) - 100 if hi is not None else 0.0)
    hi = float(hi) if hi is not None else lo + 100
    m = r.get("multipleOf")
    if m:
        k_lo, k_hi = math.ceil(lo / m + 1e-9), math.floor(hi / m - 1e-9)
        if k_lo <= k_hi:
            return round(rnd.randint(k_lo, k_hi) * m, 6)
    v = round(rnd.uniform(lo, hi), 3)
    if v <= lo and "exclusiveMinimum" in r or v >= hi and "exclusiveMaximum" in r:
        v = (lo + hi) / 2
    return v


def _sample_pattern(p: str, rnd: random.Random) -> str | None:
    """A string matching pattern p for the kit's subset, or None for anything else."""
    out, i = [], 0
    p = p[1:] if p.startswith("^") else p
    p = p[:-1] if p.endswith("$") and not p.endswith("\\$") else p
    classes = {"d": string.digits, "w": string.ascii_letters + string.digits + "_", "s": " "}
    while i < len(p):
        c = p[i]
        if c == "\\" and i + 1 < len(p):
            e = p[i + 1]
            chars = classes.get(e, {"n": "\n", "t": "\t"}.get(e, e))
            if e in "DWS":
                chars = "!#"
            i += 2
        elif c == "[":
            j = p.find("]", i + 2)
            if j < 0:
                return None
            body, i = p[i + 1:j], j + 1
            if body.startswith("^"):
                chars = "".join(ch for ch in string.ascii_letters + string.digits if ch not in body[1:]) or "!"
            else:
                chars, k = "", 0
                while k < len(body):
                    if body[k] == "\\" and k + 1 < len(body):
                        chars += classes.get(body[k + 1], body[k + 1])
                        k += 2
                    elif k + 2 < len(body) and body[k + 1] == "-":
                        chars += "".join(chr(x) for x in range(ord(body[k]), ord(body[k + 2]) + 1))
                        k += 3
                    else:
                        chars += body[k]
                        k += 1
        elif c == ".":
            chars, i = string.ascii_lowercase, i + 1
        elif c in "()|*+?{^$":
            return None
        else:
            chars, i = c, i + 1
        lo, hi = 1, 1
        if i < len(p) and p[i] in "*+?":
            lo, hi = {"*": (0, 3), "+": (1, 4), "?": (0, 1)}[p[i]]
            i += 1
        elif i < len(p) and p[i] == "{":
            j = p.find("}", i)
            if j < 0:
                return None
            a, _, b = p[i + 1:j].partition(",")
            try:
                lo = int(a)
                hi = lo if "," not in p[i + 1:j] else (int(b) if b else lo + 3)
            except ValueError:
                return None
            i = j + 1
        out.extend(rnd.choice(chars) for _ in range(rnd.randint(lo, hi)))
    return "".join(out)


def valid_str(n: Node, rnd: random.Random) -> str:
    r = n.rules
    if "pattern" in r:
        s = _sample_pattern(r["pattern"], rnd)
        if s is not None:
            return s
    lo, hi = r.get("minLength", 1), r.get("maxLength", max(r.get("minLength", 1), 8))
    k = rnd.randint(lo, max(lo, min(hi, lo + 8)))
    return "".join(rnd.choice(string.ascii_lowercase) for _ in range(k))


def valid(n: Node, rnd: random.Random, small: bool = False):
    """A value inside every rule, typed (int, float, bool, str, list, dict)."""
    k = n.kind
    if k == "int":
        return valid_int(n, rnd, small)
    if k == "number":
        return valid_number(n, rnd)
    if k == "bool":
        return rnd.random() < 0.5
    if k == "str":
        return valid_str(n, rnd)
    if k == "uuid":
        return _UUIDS[0] if rnd.random() < 0.6 else rnd.choice(_UUIDS)
    if k == "datetime":
        return rnd.choice(_DATETIMES)
    if k in ("str_enum", "int_enum"):
        return rnd.choice(n.members) if n.members else "x"
    if k == "list":
        lo = n.rules.get("minItems", 0)
        hi = n.rules.get("maxItems", lo + 3)
        return [valid(n.items, rnd, small) for _ in range(rnd.randint(lo, max(lo, min(hi, lo + 3))))]
    if k == "model":
        out = {}
        for name, f, req in n.fields:
            if f.nullable and rnd.random() < 0.15:
                out[name] = None  # Optional: an explicit null is valid too
            elif req or rnd.random() < 0.6:
                out[name] = valid(f, rnd, small)
        return out
    return "x"


def text(v) -> str:
    """A typed value as a parameter's text (Python's bool words as FastAPI reads them)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def edge_text(n: Node, rnd: random.Random, safe: bool = False, ascii_only: bool = False) -> str:
    """A parameter text at or past an edge: boundaries, lax forms, wrong types. safe: none of
    the inputs the kit declines (docs/KIT.md), which graft-serve answers with its own 422;
    ascii_only: no non-ASCII text (headers and cookies: the kit declines it)."""
    k = n.kind
    if k == "int":
        lo, hi = _int_bounds(n.rules)
        v = valid_int(n, rnd)
        cands = [f" {v}", f"0{v}", f"{v}.0", f"{v}_0", "1_0", f"+{v}", "abc", "1.5", "", "5e2",
                 "true", "-0", f"{v} ", "0x10", "1__0"] + ([] if safe else ["99999999999999999999"])
        bounds = [str(b + d) for b in (lo, hi) if b is not None for d in (-1, 0, 1)]
        if n.rules.get("multipleOf"):
            bounds += [str(v + 1), str(n.rules["multipleOf"])]
        return rnd.choice(bounds if bounds and rnd.random() < 0.5 else cands)
    if k == "number":
        cands = ["inf", "-inf", "nan", "1e-3", ".5", "5.", "abc", "1_0.5", " 0.3", "", "True", "1e400",
                 "-0.0", "1,5"]
        bounds = []
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if key in n.rules:
                b = n.rules[key]
                bounds += [repr(float(b)), str(b), repr(b - 0.001), repr(b + 0.001)]
        if n.rules.get("multipleOf"):
            m = n.rules["multipleOf"]
            bounds += [repr(m * 3), repr(m * 2.5)]
        return rnd.choice(bounds if bounds and rnd.random() < 0.5 else cands)
    if k == "bool":
        return rnd.choice(_BOOL_WORDS + _BAD_BOOLS)
    if k == "str":
        r = n.rules
        cands = ["", "ü", "a b", "%", "x" * 3, "ABC", "123", "\u00e9t\u00e9", "a/b", "a+b"]
        bounds = []
        for key, d in (("minLength", -1), ("maxLength", 1)):
            if key in r:
                bounds += ["a" * r[key], "a" * max(0, r[key] + d), "\u00fc" * r[key]]
        if "pattern" in r:
            bounds += ["!!", "A", valid_str(n, rnd) + "!"]
        pick = rnd.choice(bounds if bounds and rnd.random() < 0.5 else cands)
        return pick.encode("ascii", "replace").decode() if ascii_only else pick
    if k == "uuid":  # Pydantic's uuid_parsing and datetime_parsing messages are declined
        return rnd.choice(_UUIDS + ([] if safe else _BAD_UUIDS))
    if k == "datetime":
        return rnd.choice(_DATETIMES + ([] if safe else _BAD_DATETIMES))
    if k == "str_enum":
        m = rnd.choice(n.members) if n.members else "x"
        return rnd.choice([m.upper(), m.capitalize(), m + " ", "", "other", m])
    if k == "int_enum":
        m = rnd.choice(n.members) if n.members else 1
        return rnd.choice([f"{m}.0", f" {m}", str(m + 1), "x", "", str(m)])
    return rnd.choice(["", "x", "1"])


def edge_json(n: Node, rnd: random.Random, safe: bool = False):
    """A JSON value at or past an edge of the node: boundaries, wrong kinds, lax forms, null
    (safe: as for edge_text)."""
    k = n.kind
    wrong = [None, "abc", 1.5, {}, [], True, 7, ""]
    if k == "int":
        lo, hi = _int_bounds(n.rules)
        v = valid_int(n, rnd)
        cands = [str(v), f" {v}", float(v), v + 0.5, "5.0", "1_0", False] + ([] if safe else [2**70])
        cands += [b + d for b in (lo, hi) if b is not None for d in (-1, 0, 1)]
    elif k == "number":
        v = valid_number(n, rnd)
        cands = [str(v), int(v), "inf", " 1.5", "1e-3", True]
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if key in n.rules:
                cands += [n.rules[key], n.rules[key] - 1, n.rules[key] + 1]
    elif k == "bool":
        cands = ["yes", "no", 1, 0, 2, 1.0, "maybe", "TRUE", 0.5]
    elif k == "str":
        cands = [5, 1.5, False, "", "\u00fc\u00df", {"a": 1}]
        for key, d in (("minLength", -1), ("maxLength", 1)):
            if key in n.rules:
                cands += ["b" * max(0, n.rules[key] + d), "b" * n.rules[key]]
        if "pattern" in n.rules:
            cands += ["!!", "Z"]
    elif k in ("uuid", "datetime"):
        cands = [edge_text(n, rnd, safe)] + ([] if safe else [5])
    elif k in ("str_enum", "int_enum"):
        m = rnd.choice(n.members) if n.members else "x"
        cands = [m, str(m).upper(), 99, "other", str(m)]
    elif k == "list":
        item = valid(n.items, rnd) if n.items else 1
        cands = [[], "x", {}, [item] * (n.rules.get("maxItems", 4) + 1), [item, edge_json(n.items, rnd, safe)]]
        if n.rules.get("minItems"):
            cands.append([item] * (n.rules["minItems"] - 1))
    elif k == "model":
        base = valid(n, rnd)
        cands = [[], "x", {}, dict(base, zz_extra=1)]
        if n.fields:
            name, f, _ = rnd.choice(n.fields)
            cands.append(dict(base, **{name: edge_json(f, rnd, safe)}))
            cands.append({kk: vv for kk, vv in base.items() if kk != name})
    else:
        cands = []
    return rnd.choice(cands + wrong[:3] if rnd.random() < 0.25 else cands or wrong)
