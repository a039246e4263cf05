"""The porting kit's C functions (src/native/kit) loaded with ctypes, for the differential
tests: the kit's sources and the core files they use, built as one shared library."""
import ctypes
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KIT = os.path.join(ROOT, "src", "native", "kit")
SOURCES = sorted(os.path.join(KIT, f) for f in os.listdir(KIT) if f.endswith(".c")) + [
    os.path.join(ROOT, "src", "core", f) for f in ("json_str.c", "buf.c", "utf8.c")]
HEADERS = sorted(os.path.join(KIT, f) for f in os.listdir(KIT) if f.endswith(".h"))
LIB = os.path.join(ROOT, "build", "kit", "libgraftkit.so")
CFLAGS = ["-std=c11", "-D_GNU_SOURCE", "-O2", "-g", "-Wall", "-Wextra", "-Wmissing-prototypes",
          "-Werror", "-shared", "-fPIC", "-Iinclude", "-Isrc/core/api"]

# enum graft__kit_err, in coerce.h's order
ERR_NAMES = ["ok", "missing", "int_parsing", "int_from_float", "float_parsing", "bool_parsing",
             "greater_than", "greater_than_equal", "less_than", "less_than_equal", "multiple_of",
             "string_too_short", "string_too_long", "string_pattern_mismatch", "enum", "string_type",
             "int_type", "float_type", "bool_type", "model_attributes_type", "list_type", "too_short",
             "too_long", "json_invalid", "extra_forbidden", "finite_number",
             "int_parsing_size"]
ERR = {n: i for i, n in enumerate(ERR_NAMES)}
UNSUPPORTED = -95  # -EOPNOTSUPP
V_NULL, V_BOOL, V_INT, V_FLOAT, V_STR, V_RAW = range(6)
GT, GE, LT, LE, MULTIPLE_OF, MIN_LENGTH, MAX_LENGTH, PATTERN = (1 << i for i in range(8))


def build():
    """Builds the library when a source is newer than it; returns its path."""
    srcs = SOURCES + HEADERS
    if os.path.exists(LIB) and os.path.getmtime(LIB) >= max(os.path.getmtime(s) for s in srcs):
        return LIB
    os.makedirs(os.path.dirname(LIB), exist_ok=True)
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, *CFLAGS, *SOURCES, "-o", LIB + ".tmp", "-lm"], cwd=ROOT, check=True)
    os.replace(LIB + ".tmp", LIB)
    return LIB


class Value(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("b", ctypes.c_int), ("i", ctypes.c_int64),
                ("f", ctypes.c_double), ("s", ctypes.c_char_p), ("n", ctypes.c_size_t)]


class Loc(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("n", ctypes.c_size_t), ("index", ctypes.c_int64)]


class Error(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("loc", ctypes.POINTER(Loc)), ("nloc", ctypes.c_size_t),
                ("input", Value), ("limit", Value), ("length", ctypes.c_size_t),
                ("actual", ctypes.c_size_t), ("text", ctypes.c_char_p), ("text_n", ctypes.c_size_t)]


class Buf(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("off", ctypes.c_size_t), ("len", ctypes.c_size_t),
                ("cap", ctypes.c_size_t)]


class IntRules(ctypes.Structure):
    _fields_ = [("has", ctypes.c_uint)] + [(k, ctypes.c_int64) for k in ("gt", "ge", "lt", "le", "multiple_of")]


class FloatRules(ctypes.Structure):
    _fields_ = [("has", ctypes.c_uint)] + [(k, ctypes.c_double) for k in ("gt", "ge", "lt", "le", "multiple_of")]


class StrRules(ctypes.Structure):
    _fields_ = [("has", ctypes.c_uint), ("min_length", ctypes.c_size_t), ("max_length", ctypes.c_size_t),
                ("pattern", ctypes.c_char_p)]


class DateTime(ctypes.Structure):
    _fields_ = [(k, ctypes.c_int) for k in ("year", "month", "day", "hour", "minute", "second", "microsecond",
                                             "has_tz", "tz_offset")]

    def to_python(self):
        """The fields, and the UTC offset in seconds (None when naive)."""
        return (self.year, self.month, self.day, self.hour, self.minute, self.second, self.microsecond,
                float(self.tz_offset) if self.has_tz else None)


class Kit:
    """The library's functions with Python-friendly wrappers."""

    def __init__(self):
        self.lib = lib = ctypes.CDLL(build())
        P = ctypes.POINTER
        for name, args in [
            ("graft__kit_to_int", [P(Value), P(ctypes.c_int64)]),
            ("graft__kit_to_float", [P(Value), P(ctypes.c_double)]),
            ("graft__kit_to_bool", [P(Value), P(ctypes.c_int)]),
            ("graft__kit_to_str", [P(Value), P(ctypes.c_char_p), P(ctypes.c_size_t)]),
            ("graft__kit_int_check", [P(IntRules), ctypes.c_int64]),
            ("graft__kit_float_check", [P(FloatRules), ctypes.c_double]),
            ("graft__kit_str_check", [P(StrRules), ctypes.c_char_p, ctypes.c_size_t]),
            ("graft__kit_uuid_from_str", [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p]),
            ("graft__kit_datetime_from_str", [ctypes.c_char_p, ctypes.c_size_t, P(DateTime)]),
            ("graft__kit_enum_str", [P(ctypes.c_char_p), ctypes.c_size_t, P(Value), P(ctypes.c_size_t)]),
            ("graft__kit_enum_int", [P(ctypes.c_int64), ctypes.c_size_t, P(Value), P(ctypes.c_size_t)]),
            ("graft__kit_detail_entry", [P(Buf), P(Error)]),
            ("graft__kit_detail_body", [P(Buf), P(Error), ctypes.c_size_t]),
            ("graft__kit_enum_expected", [P(Buf), P(ctypes.c_char_p), P(ctypes.c_int64), ctypes.c_size_t]),
        ]:
            fn = getattr(lib, name)
            fn.argtypes, fn.restype = args, ctypes.c_int
        for name in ("graft__kit_float_repr", "graft__kit_float_display", "graft__kit_float_json"):
            fn = getattr(lib, name)
            fn.argtypes, fn.restype = [ctypes.c_double, ctypes.c_char_p], ctypes.c_size_t
        lib.graft__buf_free.argtypes, lib.graft__buf_free.restype = [P(Buf)], None
        self._keep = []

    def float_text(self, which, v):
        out = ctypes.create_string_buffer(400)
        n = getattr(self.lib, "graft__kit_float_" + which)(v, out)
        return out.raw[:n].decode()

    def buf_text(self, fn, *args):
        """Calls fn(buf, *args); returns (rc, the buffer's text)."""
        b = Buf()
        rc = fn(ctypes.byref(b), *args)
        text = ctypes.string_at(b.data + b.off, b.len - b.off) if b.data else b""
        self.lib.graft__buf_free(ctypes.byref(b))
        return rc, text.decode("utf-8", "replace")


def value(v):
    """A Value for the Python object v, as json.loads or a query string would give it; the
    returned tuple also holds the bytes the Value points to (keep it alive)."""
    if v is None:
        return Value(V_NULL), None
    if isinstance(v, bool):
        return Value(V_BOOL, int(v)), None
    if isinstance(v, int):
        return Value(V_INT, 0, v), None
    if isinstance(v, float):
        return Value(V_FLOAT, 0, 0, v), None
    if isinstance(v, str):
        raw = v.encode("utf-8", "surrogatepass")
        return Value(V_STR, 0, 0, 0.0, raw, len(raw)), raw
    import json
    raw = json.dumps(v, ensure_ascii=False, separators=(",", ":")).encode()
    return Value(V_RAW, 0, 0, 0.0, raw, len(raw)), raw


def limit(v):
    """A ctx limit: an int or a float Value."""
    return Value(V_INT, 0, v) if isinstance(v, int) else Value(V_FLOAT, 0, 0, v)
