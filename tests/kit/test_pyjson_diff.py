"""kit/pyjson.c against Python's own json.loads: for seeded random fragments of JSON (brackets,
strings and escapes, numbers, literals, whitespace, invalid UTF-8, NULs, BOMs; and the same
re-encoded as UTF-16/32, with and without a BOM), the C reading must
give Python's outcome — parsed, JSONDecodeError with the same message and character position,
or UnicodeDecodeError — or say it is not reproduced (only for the documented cases)."""
import ctypes
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kitlib  # noqa: E402

COUNT = int(os.environ.get("GRAFT_KIT_DIFF_COUNT", "3000")) * 10

ATOMS = [b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"\\u", b"\\ud800", b"\\udc00", b"12", b"-", b"0",
         b".", b"e", b"E", b"+", b"1", b"null", b"nul", b"true", b"false", b"NaN", b"Infinity", b"-Infinity",
         b" ", b"\n", b"\t", b"\r", b"x", b'"a"', b"\xc3\xa9", b"\xff", b"\x01", b"\xed\xa0\x80", b'"k":', b"00",
         b"1e", b"1.5", b"\x00", b"\\n", b"\\q", b"\\u12", b"\\u00e9", b'"\\u00e9"', b"\xe2\x82", b"\xef\xbb\xbf"]
FIXED = [b'{"a":', b'{"a" 1}', b"[1,2", b'"\\u1234', b'"\\u12', b'{"a":1,}', b"[1,]", b"1 2", b"", b"  ", b"-",
         b"01", b'"abc', b'{"a":"\x01"}', b"[1.]", b"1e+", b"-x", b"\xc3\xa9", b'{"\xc3\xa9": x}', b"[" * 600]


def _lib():
    lib = ctypes.CDLL(kitlib.build())
    f = lib.graft__kit_pyjson_error
    f.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_char_p)]
    return f


def _c(f, doc):
    pos, msg = ctypes.c_size_t(), ctypes.c_char_p()
    r = f(doc, len(doc), ctypes.byref(pos), ctypes.byref(msg))
    return {0: ("ok",), 1: ("invalid", (msg.value or b"").decode(), pos.value), 2: ("unicode",)}.get(r, ("unsupported",))


def _python(doc):
    try:
        json.loads(doc)
        return ("ok",)
    except json.JSONDecodeError as e:
        return ("invalid", e.msg, e.pos)
    except UnicodeDecodeError:
        return ("unicode",)
    except RecursionError:
        return ("recursion",)


def test_pyjson_matches_python():
    f = _lib()
    rnd = random.Random(11)
    docs = FIXED + [b"".join(rnd.choice(ATOMS) for _ in range(rnd.randint(1, 10))) for _ in range(COUNT)]
    for doc in docs[:COUNT // 5]:  # UTF-16/32 (json.detect_encoding), BOM or NULs, odd lengths
        text = doc.decode("utf-8", "replace")
        for codec in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"):
            enc = text.encode(codec, "surrogatepass")
            docs.append(enc[:-1] if rnd.random() < 0.1 else enc)
    seen, mismatches = set(), []
    for doc in docs:
        c, py = _c(f, doc), _python(doc)
        seen.add(c[0] if c[0] != "invalid" else c[1])
        if c == ("unsupported",):  # only nesting beyond 500 (Python's RecursionError)
            assert doc.count(b"[") + doc.count(b"{") > 500, doc
            continue
        if c != py:
            mismatches.append((doc, py, c))
    assert not mismatches, mismatches[:10]
    # every message of CPython's scanner came up
    assert {"ok", "unicode", "unsupported", "Expecting value", "Expecting ',' delimiter", "Expecting ':' delimiter",
            "Expecting property name enclosed in double quotes", "Unterminated string starting at",
            "Invalid control character at", "Invalid \\escape", "Invalid \\uXXXX escape", "Extra data"} <= seen, seen
