"""kit/json_syntax.c against Python's json.loads: for malformed documents, the same message and
character position (FastAPI's json_invalid entry quotes both); for documents Python parses, 0;
for what json.loads decodes otherwise (BOMs, UTF-16/32, invalid UTF-8), UNSUPPORTED. Fixed
cases for every message, then seeded random mutations of valid documents."""
import ctypes
import json
import os
import random
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kitlib  # noqa: E402

COUNT = int(os.environ.get("GRAFT_KIT_DIFF_COUNT", "3000")) * 5


@pytest.fixture(scope="module")
def pyerror():
    lib = ctypes.CDLL(kitlib.build())
    fn = lib.graft__kit_json_pyerror
    fn.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_char_p),
                   ctypes.POINTER(ctypes.c_size_t)]
    fn.restype = ctypes.c_int

    def call(doc: bytes):
        msg, pos = ctypes.c_char_p(), ctypes.c_size_t()
        rc = fn(doc, len(doc), ctypes.byref(msg), ctypes.byref(pos))
        return (msg.value.decode(), pos.value) if rc == 1 else rc
    return call


def python(doc: bytes):
    try:
        json.loads(doc)
    except json.JSONDecodeError as e:
        return e.msg, e.pos
    except (UnicodeDecodeError, RecursionError):
        return kitlib.UNSUPPORTED
    return 0


FIXED = [b"", b"  ", b"[", b"[ ", b"{", b"{ ", b'{"a"', b'{"a":', b'{"a":1', b'{"a":1,', b"[1", b"[1,",
         b'"abc', b'"a\\', b'"\\u12', b'"\\u12345', b'"\\x"', b"1.", b"01", b"-", b"nul", b"tru", b"fals",
         b"[1,]", b'{"a":1,}', b'"\\ud800\\u12"', b'"\\ud800\\uZZZZ"', b'"\\uZZZZ"', b'"a\x01"', b"1 2",
         b'"\\u123"', b"NaN", b"[NaN,", b"-Infinity x", b"-Inf", b"1e", b"1e+", b"1E+5 x", b"[1.5e-3,-0,",
         b'{"\xc3\xa9":"\xc3\xa9", x}', b'["\xf0\x9f\x94\xa5" 1]', b"{1:2}", b"[}", b'{"a" 1}', b"\x00",
         b'"\x00"', b"true false", b'{"name": "x",', b' \n{"a":[1,2,{"b":null}]}\r\n', b"\t[\"\\/\"]"]


@pytest.mark.parametrize("doc", FIXED, ids=range(len(FIXED)))
def test_fixed(pyerror, doc):
    assert pyerror(doc) == python(doc), doc


def test_not_reproduced(pyerror):
    for doc in (b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b"\x00{\x00}", b'"\xff"', b"[" * 300 + b"]" * 300):
        assert pyerror(doc) == kitlib.UNSUPPORTED, doc


ATOMS = [b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"\\u", b"d800", b"\\udc00", b"1", b"0", b"-",
         b".", b"e", b"+", b"n", b"null", b"true", b"f", b"NaN", b"Infinity", b" ", b"\n", b"\x01", b"\xc3\xa9",
         b"x", b"u"]


def _doc(rnd: random.Random, depth: int = 0) -> bytes:
    k = rnd.random()
    if k < 0.2 and depth < 4:
        return b"[" + b",".join(_doc(rnd, depth + 1) for _ in range(rnd.randint(0, 3))) + b"]"
    if k < 0.4 and depth < 4:
        return b"{" + b",".join(b'"k%d\xc3\xa9":%s' % (i, _doc(rnd, depth + 1))
                                for i in range(rnd.randint(0, 3))) + b"}"
    return rnd.choice([b"1", b"-0.5e+3", b"0", b'"s\\n\\u00e9\\ud83d\\udd25"', b"true", b"null", b"false",
                       b"12.25", b'""', b"1E5"])


def test_random_mutations(pyerror):
    rnd = random.Random(20261206)
    mismatches = []
    for _ in range(COUNT):
        doc = bytearray(_doc(rnd))
        for _ in range(rnd.randint(1, 3)):
            op, at = rnd.random(), rnd.randint(0, len(doc))
            if op < 0.3:
                del doc[at:]
            elif op < 0.6:
                doc[at:at] = rnd.choice(ATOMS)
            elif doc:
                del doc[min(at, len(doc) - 1)]
        doc = bytes(doc)
        got, want = pyerror(doc), python(doc)
        if got != want:
            mismatches.append((doc, got, want))
    assert not mismatches, mismatches[:5]
