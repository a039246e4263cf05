"""Seeded random inputs for the kit's differential tests, aimed at the edges of Pydantic's
lax coercion: whitespace of every Unicode kind, underscores anywhere, leading zeros, signs,
exponents, "5.0", inf/nan spellings, numbers past int64, bool words in mixed case, non-ASCII
digits, NUL bytes, UUID forms and their near misses, and JSON scalars of every kind."""
import math
import random
import uuid

# Unicode White_Space (what Pydantic trims) and look-alikes it does not trim
SPACES = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x85", "\xa0", "\u1680", "\u2000", "\u2005",
          "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
NOT_SPACES = ["\x1c", "\x1f", "\u200b", "\ufeff", "\u180e", "\x00", "\u00ad"]
ODD_DIGITS = ["٣", "５", "߁", "²", "½", "𝟙"]
INT64_EDGES = [2**63 - 1, 2**63, -2**63, -2**63 - 1, 2**64, 10**19, 10**18]


def _ws(r):
    roll = r.random()
    if roll < 0.6:
        return ""
    if roll < 0.9:
        return "".join(r.choice(SPACES) for _ in range(r.randint(1, 3)))
    return r.choice(NOT_SPACES)


def _digits(r, lo=1, hi=6):
    roll = r.random()
    if roll < 0.1:
        return str(r.choice(INT64_EDGES)).lstrip("-")
    if roll < 0.15:
        return "".join(r.choice("0123456789") for _ in range(r.randint(17, 25)))
    if roll < 0.2:
        return "0" * r.randint(1, 4) + str(r.randint(0, 999))
    if roll < 0.22:
        return "1" * r.randint(4290, 4310)
    return "".join(r.choice("0123456789") for _ in range(r.randint(lo, hi)))


def _underscores(r, s):
    """Underscores in random places (between digits, doubled, at an end), sometimes."""
    if r.random() < 0.6 or not s:
        return s
    out = list(s)
    for _ in range(r.randint(1, 3)):
        out.insert(r.randint(0, len(out)), "_" * (1 if r.random() < 0.8 else 2))
    return "".join(out)


def _sign(r):
    return r.choice(["", "", "", "-", "+", "--", "+-", "- "])


def _case(r, w):
    return "".join(c.upper() if r.random() < 0.5 else c for c in w)


def _mutate(r, s):
    """A small corruption: a character dropped, doubled, replaced or inserted."""
    if not s or r.random() < 0.85:
        return s
    i = r.randrange(len(s))
    roll = r.random()
    if roll < 0.25:
        return s[:i] + s[i + 1:]
    if roll < 0.5:
        return s[:i] + s[i] + s[i:]
    pool = ".e_xE+-0" + "".join(ODD_DIGITS) + "".join(NOT_SPACES)
    if roll < 0.75:
        return s[:i] + r.choice(pool) + s[i + 1:]
    return s[:i] + r.choice(pool) + s[i:]


def number_text(r):
    """A string shaped like an int or a float, often slightly wrong."""
    roll = r.random()
    if roll < 0.08:
        body = _case(r, r.choice(["inf", "infinity", "nan", "infinit", "in_f", "n_an", "nan(1)"]))
    elif roll < 0.12:
        body = r.choice(["", ".", "e5", "0x10", "0b1", "0o7", "1e", "5.", ".5", "_", "0_", "_0", "1d5"])
    elif roll < 0.16:
        body = r.choice(ODD_DIGITS) + r.choice(["", ".0", "5"])
    else:
        body = _underscores(r, _digits(r))
        frac = r.random()
        if frac < 0.25:
            body += "." + _underscores(r, "0" * r.randint(1, 4))
        elif frac < 0.45:
            body += "." + _underscores(r, _digits(r, 0, 4))
        elif frac < 0.5:
            body = "." + body
        if r.random() < 0.2:
            body += r.choice("eE") + r.choice(["", "+", "-", "_", "+_"]) + _underscores(r, _digits(r, 1, 3))
    return _mutate(r, _ws(r) + _sign(r) + body + _ws(r))


def bool_text(r):
    roll = r.random()
    if roll < 0.7:
        w = _case(r, r.choice(["0", "1", "on", "off", "t", "f", "true", "false", "y", "n", "yes", "no"]))
    elif roll < 0.8:
        w = r.choice(["2", "00", "01", "1.0", "0.0", "+1", "-0", "truee", "tru", "yeſ", "ye", "nope", "", "１"])
    else:
        w = number_text(r)
    return _mutate(r, _ws(r) + w + _ws(r)) if r.random() < 0.3 else w


def json_scalar(r, for_type):
    """A value as json.loads gives it: None, bools, ints (within int64: the JSON layer
    declines others), floats of every kind, a string, a list or an object."""
    roll = r.random()
    if roll < 0.1:
        return None
    if roll < 0.25:
        return r.random() < 0.5
    if roll < 0.45:
        return r.choice([0, 1, 2, -1, 5, 2**63 - 1, -2**63, r.randint(-10**6, 10**6), r.randint(-2**63, 2**63 - 1)])
    if roll < 0.75:
        return r.choice([0.0, -0.0, 1.0, 0.5, 5.0, 5.5, -3.0, 1e20, 2.0**63, -2.0**63, 2.0**63 - 1024,
                         9.223372036854775e18, float("inf"), float("-inf"), float("nan"), 1e-7,
                         r.uniform(-1e6, 1e6), float(r.randint(-10**6, 10**6)), 2.0**53 + 2])
    if roll < 0.92:
        return number_text(r) if for_type != "bool" else bool_text(r)
    return r.choice([[1], [], [1, "a"], {"a": 1}, {}])


STR_ALPHABET = "abcAZ09 _-'\"\\é€😀\u0000\n\t\u3000\u0301ß"


def str_text(r):
    return "".join(r.choice(STR_ALPHABET) for _ in range(r.choice([0, 1, 2, 3, 4, 5, 6, 8, 12])))


def uuid_text(r):
    u = uuid.UUID(int=r.getrandbits(128))
    form = r.random()
    if form < 0.3:
        s = str(u)
    elif form < 0.5:
        s = u.hex
    elif form < 0.6:
        s = "{" + str(u) + "}"
    elif form < 0.7:
        s = "urn:uuid:" + str(u)
    elif form < 0.75:
        s = r.choice(["URN:UUID:", "urn:UUID:", "uuid:", "{"]) + str(u)
    elif form < 0.8:
        h = u.hex
        s = "-".join([h[:4], h[4:12], h[12:20], h[20:24], h[24:]])  # hyphens misplaced
    else:
        s = str(u)
    if r.random() < 0.3:
        s = s.upper() if r.random() < 0.5 else _case(r, s)
    if r.random() < 0.2:
        s = _ws(r) + s + _ws(r)
    if r.random() < 0.2:
        i = r.randrange(len(s))
        s = s[:i] + r.choice("g-x ٣_0") + s[i + 1:]
    return s


def float_value(r):
    """A double for the float-text comparisons: every magnitude, integral values, halves."""
    roll = r.random()
    if roll < 0.3:
        v = r.uniform(0, 10) * 10.0 ** r.randint(-30, 30)
    elif roll < 0.5:
        v = float(f"{r.randint(1, 999999)}e{r.randint(-330, 308)}")
    elif roll < 0.6:
        v = float(r.randint(0, 2**60))
    elif roll < 0.7:
        v = r.choice([0.0, 1e-4, 1e-5, 9.999999999999999e-5, 1e16, 9999999999999998.0, 1e15, 5e-324,
                      2.2250738585072014e-308, 1.7976931348623157e308, 0.1, 0.3, 2.0**63])
    elif roll < 0.8:
        v = r.randint(1, 10**6) / 2 ** r.randint(0, 20)
    else:
        import struct
        v = struct.unpack("<d", r.getrandbits(64).to_bytes(8, "little"))[0]
        if not math.isfinite(v):
            v = 1.5
    return -v if r.random() < 0.4 else v


# ---- patterns: the subset src/native/kit/pattern.h reproduces, and constructs outside it ----

PAT_LITERALS = "abcxyzXYZ019 _@é€/"
PAT_ESCAPED = ".+*?()[]{}^$|-\\"
SUBJECT_EXTRA = "aé٣\n\t .-_Z9€\\"
OUTSIDE = ["(ab)+", "a|b", "\\bx", "(?i)a", "a*?", "[[:alpha:]]", "[a&&b]", "a{2}{3}", "\\p{L}", "x(?=y)",
           "[]a]", "a{,3}", "\\Aa", "\\x41", "[a-c-e]", "a**", "{", "\\e"]


def _atom(r):
    """(pattern text, code points that match, whether it uses \\d \\w \\s)."""
    roll = r.random()
    if roll < 0.35:
        c = r.choice(PAT_LITERALS)
        return c, [c], False
    if roll < 0.45:
        c = r.choice(PAT_ESCAPED)
        return "\\" + c, [c], False
    if roll < 0.55:
        return ".", [c for c in SUBJECT_EXTRA if c != "\n"], False
    if roll < 0.7:
        k = r.choice("dwsDWS")
        pos = {"d": "0123456789", "w": "azAZ09_", "s": " \t\n\x0b\x0c\r"}[k.lower()]
        if k.isupper():
            return "\\" + k, [c for c in "aZ-.~" + " \t\n" + "09_" if c not in pos], True
        return "\\" + k, list(pos), True
    parts, chars, perl = [], [], False
    for _ in range(r.randint(1, 3)):
        kind = r.random()
        if kind < 0.4:
            lo, hi = r.choice([("a", "z"), ("0", "9"), ("A", "F"), ("à", "ÿ"), ("!", "/")])
            parts.append(f"{lo}-{hi}")
            chars += [chr(c) for c in range(ord(lo), ord(hi) + 1)]
        elif kind < 0.6:
            c = r.choice("_@é xZ")
            parts.append(c)
            chars.append(c)
        elif kind < 0.75:
            c = r.choice("-.]\\^[")
            parts.append("\\" + c)
            chars.append(c)
        else:
            k = r.choice("dws")
            parts.append("\\" + k)
            chars += list({"d": "0123456789", "w": "azAZ09_", "s": " \t\n"}[k])
            perl = True
    neg = r.random() < 0.2
    text = "[" + ("^" if neg else "") + "".join(parts) + "]"
    if neg:
        chars = [c for c in SUBJECT_EXTRA + "azAZ09_" if c not in chars]
    return text, chars, perl


def pattern(r):
    """A random pattern: (text, atoms [(chars, min, max)], anchors, in_subset, uses_perl)."""
    if r.random() < 0.08:
        return r.choice(OUTSIDE), [], (False, False), False, False
    atoms, text, perl = [], "", False
    start, end = r.random() < 0.5, r.random() < 0.5
    for _ in range(r.randint(0, 5)):
        t, chars, p = _atom(r)
        perl |= p
        q = r.random()
        if q < 0.5:
            quant, lo, hi = "", 1, 1
        elif q < 0.6:
            quant, lo, hi = "*", 0, None
        elif q < 0.7:
            quant, lo, hi = "+", 1, None
        elif q < 0.8:
            quant, lo, hi = "?", 0, 1
        elif q < 0.87:
            lo = r.randint(0, 4)
            quant, hi = f"{{{lo}}}", lo
        elif q < 0.93:
            lo = r.randint(0, 3)
            quant, hi = f"{{{lo},}}", None
        else:
            lo = r.randint(0, 3)
            hi = lo + r.randint(0, 4)
            quant = f"{{{lo},{hi}}}"
        text += t + quant
        atoms.append((chars, lo, hi))
    return ("^" if start else "") + text + ("$" if end else ""), atoms, (start, end), True, perl


def pattern_subject(r, atoms):
    """A string that often matches the atoms, often slightly not."""
    out = []
    if r.random() < 0.3:
        out.append("".join(r.choice(SUBJECT_EXTRA) for _ in range(r.randint(0, 3))))
    for chars, lo, hi in atoms:
        n = r.randint(lo, (hi if hi is not None else lo + 3))
        out.append("".join(r.choice(chars) for _ in range(n)) if chars else "")
    if r.random() < 0.3:
        out.append("".join(r.choice(SUBJECT_EXTRA) for _ in range(r.randint(0, 3))))
    return _mutate(r, "".join(out)) if r.random() < 0.5 else "".join(out)


def datetime_text(r):
    """A date-time string in one of the forms Pydantic takes, often with a field out of range
    or a form outside the kit's subset (timestamps, short offsets, junk)."""
    roll = r.random()
    if roll < 0.05:
        return r.choice(["1700000000", "-1", "0", "1700000000.5", "1e3", "", "2020-01-02Z", "20200102T030405Z"])
    def pick(good, bad):
        return good if r.random() < 0.97 else r.choice(bad)
    y = pick(r.choice([r.randint(1, 9999), 2000, 1900, 2024, 2023, 1, 9999]), [0])
    mo = pick(r.randint(1, 12), [0, 13])
    d = pick(r.choice([r.randint(1, 28), 29, 30, 31]), [0, 32])
    s = f"{y:04d}-{mo:02d}-{d:02d}"
    if r.random() < 0.85:
        s += r.choice("TTTt _")
        hh, mm = pick(r.randint(0, 23), [24, 99]), pick(r.randint(0, 59), [60])
        s += f"{hh:02d}:{mm:02d}" if r.random() < 0.95 else f"{hh}:{mm:02d}"
        if r.random() < 0.8:
            s += f":{pick(r.randint(0, 59), [60]):02d}"
            if r.random() < 0.5:
                s += r.choice(".,") + "".join(r.choice("0123456789") for _ in range(r.choice([0, 1, 3, 6, 7, 9, 15])))
        tz = r.random()
        if tz < 0.3:
            s += r.choice("Zz")
        elif tz < 0.6:
            oh, om = pick(r.randint(0, 23), [24]), pick(r.choice([r.randint(0, 59), 0, 30]), [60])
            s += r.choice("+-") + f"{oh:02d}" + r.choice([":", ":", ""]) + f"{om:02d}"
        elif tz < 0.65:
            s += r.choice(["+01", "+1:00", "+01:0", "ZZ", "+01:00:30"])
    return _mutate(r, s)
