/* Unit tests for the porting kit's scalar layer (src/native/kit): lax coercion, constraints,
 * float texts and FastAPI detail entries. The expectations are what Pydantic 2.14 / FastAPI
 * 0.165 answered for the same inputs (tests/kit/diff_coerce.py compares against them at
 * random, in bulk); here the edge cases stay pinned without Python. Inputs are copied into
 * exactly-sized heap blocks so sanitizers catch a read past the end. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "kit/coerce.h"
#include "kit/datetime.h"
#include "kit/errors.h"
#include "kit/float_text.h"
#include "kit/pattern.h"

#include "../unit.h"

#define U GRAFT__KIT_UNSUPPORTED
#define E(x) GRAFT__KIT_E_##x

static char *copy(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    if (!p)
        abort();
    memcpy(p, s, n);
    return p;
}

typedef struct icase {
    const char *in;
    int rc;
    int64_t v;
} icase;

static const icase icases[] = {
    {"5", 0, 5}, {" 5 ", 0, 5}, {"\t5\n", 0, 5}, {"5_000", 0, 5000}, {"_5", E(INT_PARSING), 0},
    {"5_", E(INT_PARSING), 0}, {"5__0", E(INT_PARSING), 0}, {"0__5", 0, 5}, {"0_5", 0, 5},
    {"05", 0, 5}, {"-05", 0, -5}, {"+5", 0, 5}, {"- 5", E(INT_PARSING), 0}, {"5.0", 0, 5},
    {"5.00", 0, 5}, {"5.", E(INT_PARSING), 0}, {".0", E(INT_PARSING), 0}, {"5.5", E(INT_PARSING), 0},
    {"5.0_0", E(INT_PARSING), 0}, {"1_0.0", 0, 10}, {"5e2", E(INT_PARSING), 0},
    {"0x10", E(INT_PARSING), 0}, {"\xd9\xa3", E(INT_PARSING), 0} /* Arabic-Indic 3 */,
    {"\xc2\xa0" "5", 0, 5}, {"\xe3\x80\x80" "5\xe2\x80\xa8", 0, 5} /* U+3000, U+2028 */,
    {"\xe2\x80\x8b" "5", E(INT_PARSING), 0} /* U+200B is not White_Space */,
    {"\x1c" "5", E(INT_PARSING), 0}, {"", E(INT_PARSING), 0}, {"  ", E(INT_PARSING), 0},
    {"0_", E(INT_PARSING), 0}, {"0__0", 0, 0}, {"-0", 0, 0}, {"+00", 0, 0},
    {"9223372036854775807", 0, INT64_MAX}, {"-9223372036854775808", 0, INT64_MIN},
    {"9223372036854775808", U, 0}, {"-9223372036854775809", U, 0}, {"0-47", U, 0},
    {"9_223_372_036_854_775_807.000", 0, INT64_MAX}, {"inf", E(INT_PARSING), 0},
};

static void test_int(void)
{
    for (size_t i = 0; i < sizeof icases / sizeof *icases; i++) {
        const icase *c = &icases[i];
        size_t n = strlen(c->in);
        char *s = copy(c->in, n);
        int64_t v = -1;
        int rc = graft__kit_int_from_str(s, n, &v);
        check(rc == c->rc && (rc != 0 || v == c->v), "int", "[%s]: rc %d v %lld, want %d %lld", c->in,
              rc, (long long)v, c->rc, (long long)c->v);
        free(s);
    }
    char *big = malloc(4301);
    memset(big, '1', 4301);
    int64_t v;
    check(graft__kit_int_from_str(big, 4301, &v) == E(INT_PARSING_SIZE), "int", "4301 digits: int_parsing_size");
    big[0] = '+';
    check(graft__kit_int_from_str(big, 4301, &v) == U, "int", "+ and 4300 digits: declined");
    big[0] = ' ';
    check(graft__kit_int_from_str(big, 4301, &v) == U, "int", "space and 4300 digits: declined");
    big[0] = '0';
    check(graft__kit_int_from_str(big, 4301, &v) == U, "int", "a leading zero over 4300: declined");
    big[0] = '-';
    check(graft__kit_int_from_str(big, 4301, &v) == U, "int", "-4300 digits: beyond int64");
    memset(big, '0', 4300);
    big[4300] = '7';
    check(graft__kit_int_from_str(big, 4301, &v) == 0 && v == 7, "int", "4300 leading zeros: 7");
    big[4300] = 'x';
    check(graft__kit_int_from_str(big, 4301, &v) == U, "int", "an error in a long text: declined");
    free(big);
}

/* The canonical text of a valid int text, compared with str() of what Pydantic makes of it. */
static void test_int_text(void)
{
    static const struct {
        const char *in, *want;
        int beyond;
    } cases[] = {
        {"5", "5", 0},
        {"+5", "5", 0},
        {"-0", "0", 0},
        {"-00", "0", 0},
        {"0_0", "0", 0},
        {" 00099_999999999999999999", "99999999999999999999", 1},
        {"9223372036854775807", "9223372036854775807", 0},
        {"9223372036854775808", "9223372036854775808", 1},
        {"-9223372036854775808", "-9223372036854775808", 0},
        {"-9223372036854775809", "-9223372036854775809", -1},
        {"\xe3\x80\x80-0_0_18446744073709551616.000 ", "-18446744073709551616", -1},
        {"99999999999999999999.0", "99999999999999999999", 1},
        {"1_0000_0000_0000_0000_0000", "100000000000000000000", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n = strlen(cases[i].in), len = 0;
        char *s = copy(cases[i].in, n), out[64];
        int beyond = 9;
        int rc = graft__kit_int_text(s, n, out, &len, &beyond);
        check(rc == 0 && beyond == cases[i].beyond && len == strlen(cases[i].want) &&
                  strcmp(out, cases[i].want) == 0,
              "int_text", "[%s]: rc %d beyond %d [%s], want [%s] %d", cases[i].in, rc, beyond,
              rc == 0 ? out : "", cases[i].want, cases[i].beyond);
        free(s);
    }
    char out[64];
    size_t len;
    int beyond;
    check(graft__kit_int_text("9_", 2, out, &len, &beyond) == E(INT_PARSING), "int_text", "bad text: its error");
    check(graft__kit_int_text("0-99999999999999999999", 22, out, &len, &beyond) == U, "int_text",
          "declined text: declined");
    char *big = malloc(4401 + 22);
    memset(big, '9', 4300);
    check(graft__kit_int_text(big, 4300, big, &len, &beyond) == 0 && len == 4300 && beyond == 1 &&
              big[0] == '9' && big[4299] == '9' && big[4300] == '\0',
          "int_text", "4300 digits, written over its own input");
    big[0] = '-';
    memset(big + 1, '0', 4400);
    memcpy(big + 4401 - 20, "18446744073709551616", 20);
    check(graft__kit_int_text(big, 4401, big, &len, &beyond) == 0 && beyond == -1 &&
              GRAFT__LIT_EQ(big, len, "-18446744073709551616"),
          "int_text", "leading zeros beyond 4300 bytes");
    free(big);
}

typedef struct fcase {
    const char *in;
    int rc;
    const char *repr; /* of the value */
} fcase;

static const fcase fcases[] = {
    {"5", 0, "5.0"}, {" 5.5 ", 0, "5.5"}, {"5_000.0_1", 0, "5000.01"}, {"5._5", 0, "5.5"},
    {"1e_5", 0, "100000.0"}, {"1_e5", 0, "100000.0"}, {"in_f", 0, "inf"}, {"-Infinity", 0, "-inf"},
    {"NaN", 0, "nan"}, {"-nan", 0, "nan"}, {"infinit", E(FLOAT_PARSING), NULL},
    {"_5.0", E(FLOAT_PARSING), NULL}, {"1__0.5", E(FLOAT_PARSING), NULL}, {"1.5_", E(FLOAT_PARSING), NULL},
    {" 5_0", E(FLOAT_PARSING), NULL} /* underscores and whitespace: never both */,
    {"5.", 0, "5.0"}, {".5", 0, "0.5"}, {".", E(FLOAT_PARSING), NULL}, {"1e", E(FLOAT_PARSING), NULL},
    {"0x1p3", E(FLOAT_PARSING), NULL}, {"nan(1)", E(FLOAT_PARSING), NULL}, {"1e400", 0, "inf"},
    {"1e-400", 0, "0.0"}, {"2.5e-324", 0, "5e-324"}, {"1.7976931348623159e308", 0, "inf"},
    {"\xe3\x80\x80" "5.5", 0, "5.5"}, {"5\x00", E(FLOAT_PARSING), NULL}, {"-0_0", 0, "-0.0"},
};

static void test_float(void)
{
    for (size_t i = 0; i < sizeof fcases / sizeof *fcases; i++) {
        const fcase *c = &fcases[i];
        size_t n = strlen(c->in);
        if (c->in[0] == '5' && c->in[1] == '\0' && c->rc)
            n = 2; /* "5\0": the NUL counts */
        char *s = copy(c->in, n);
        double v = -1;
        int rc = graft__kit_float_from_str(s, n, &v);
        char t[GRAFT__KIT_FLOAT_MAX];
        if (rc == 0)
            graft__kit_float_repr(v, t);
        check(rc == c->rc && (rc != 0 || strcmp(t, c->repr) == 0), "float", "[%s]: rc %d [%s], want %d [%s]",
              c->in, rc, rc == 0 ? t : "", c->rc, c->repr ? c->repr : "");
        free(s);
    }
    /* a long text goes through a heap copy: 397 leading zeros, then 1.5 */
    char *big = malloc(400);
    memset(big, '0', 400);
    memcpy(big + 397, "1.5", 3);
    double v;
    check(graft__kit_float_from_str(big, 400, &v) == 0 && v == 1.5, "float", "400-byte text");
    free(big);
}

static void test_bool(void)
{
    static const struct { const char *in; int rc, v; } cs[] = {
        {"true", 0, 1}, {"tRuE", 0, 1}, {"YES", 0, 1}, {"y", 0, 1}, {"on", 0, 1}, {"1", 0, 1},
        {"t", 0, 1}, {"OFF", 0, 0}, {"f", 0, 0}, {"n", 0, 0}, {"no", 0, 0}, {"false", 0, 0}, {"0", 0, 0},
        {" true", E(BOOL_PARSING), 0}, {"00", E(BOOL_PARSING), 0}, {"1.0", E(BOOL_PARSING), 0},
        {"", E(BOOL_PARSING), 0}, {"tru", E(BOOL_PARSING), 0}, {"ye\xc5\xbf", E(BOOL_PARSING), 0},
    };
    for (size_t i = 0; i < sizeof cs / sizeof *cs; i++) {
        size_t n = strlen(cs[i].in);
        char *s = copy(cs[i].in, n);
        int v = -1, rc = graft__kit_bool_from_str(s, n, &v);
        check(rc == cs[i].rc && (rc || v == cs[i].v), "bool", "[%s]: rc %d v %d", cs[i].in, rc, v);
        free(s);
    }
    /* JSON kinds: int 0/1 only (bool_parsing), integral floats as ints, others bool_type */
    graft__kit_value in = {.kind = GRAFT__KIT_V_INT, .i = 2};
    int v;
    check(graft__kit_to_bool(&in, &v) == E(BOOL_PARSING), "bool", "int 2");
    in = (graft__kit_value){.kind = GRAFT__KIT_V_FLOAT, .f = 1.0};
    check(graft__kit_to_bool(&in, &v) == 0 && v == 1, "bool", "float 1.0");
    in.f = -3.0;
    check(graft__kit_to_bool(&in, &v) == E(BOOL_PARSING), "bool", "float -3.0");
    in.f = 0.5;
    check(graft__kit_to_bool(&in, &v) == E(BOOL_TYPE), "bool", "float 0.5");
    in.f = 0x1p63;
    check(graft__kit_to_bool(&in, &v) == E(BOOL_TYPE), "bool", "float 2^63");
    in = (graft__kit_value){.kind = GRAFT__KIT_V_NULL};
    check(graft__kit_to_bool(&in, &v) == E(BOOL_TYPE), "bool", "null");
}

static void test_json_kinds(void)
{
    int64_t i;
    double f;
    graft__kit_value in = {.kind = GRAFT__KIT_V_FLOAT, .f = 5.0};
    check(graft__kit_to_int(&in, &i) == 0 && i == 5, "to_int", "5.0");
    in.f = 5.5;
    check(graft__kit_to_int(&in, &i) == E(INT_FROM_FLOAT), "to_int", "5.5");
    in.f = -0x1p63;
    check(graft__kit_to_int(&in, &i) == U, "to_int", "-2^63 is int_parsing_size: declined");
    in.f = INFINITY;
    check(graft__kit_to_int(&in, &i) == U, "to_int", "inf is finite_number: declined");
    in = (graft__kit_value){.kind = GRAFT__KIT_V_BOOL, .b = 1};
    check(graft__kit_to_int(&in, &i) == 0 && i == 1, "to_int", "true");
    check(graft__kit_to_float(&in, &f) == 0 && f == 1.0, "to_float", "true");
    in = (graft__kit_value){.kind = GRAFT__KIT_V_RAW, .s = "[1]", .n = 3};
    check(graft__kit_to_int(&in, &i) == E(INT_TYPE), "to_int", "list");
    check(graft__kit_to_float(&in, &f) == E(FLOAT_TYPE), "to_float", "list");
    in = (graft__kit_value){.kind = GRAFT__KIT_V_INT, .i = (1LL << 53) + 1};
    check(graft__kit_to_float(&in, &f) == 0 && f == 0x1p53, "to_float", "2^53+1 rounds to even");
    const char *s;
    size_t n;
    in = (graft__kit_value){.kind = GRAFT__KIT_V_INT, .i = 5};
    check(graft__kit_to_str(&in, &s, &n) == E(STRING_TYPE), "to_str", "int is not a string");
}

static void test_checks(void)
{
    graft__kit_int_rules ir = {.has = GRAFT__KIT_GT | GRAFT__KIT_GE | GRAFT__KIT_LT | GRAFT__KIT_LE | GRAFT__KIT_MULTIPLE_OF,
                               .gt = 5, .ge = 6, .lt = 4, .le = 3, .multiple_of = 7};
    /* Pydantic's order: multiple_of, le, lt, ge, gt */
    check(graft__kit_int_check(&ir, 5) == E(MULTIPLE_OF), "int_check", "multiple_of first");
    ir.has &= ~GRAFT__KIT_MULTIPLE_OF;
    check(graft__kit_int_check(&ir, 5) == E(LESS_THAN_EQUAL), "int_check", "then le");
    ir.has &= ~GRAFT__KIT_LE;
    check(graft__kit_int_check(&ir, 5) == E(LESS_THAN), "int_check", "then lt");
    ir.has &= ~GRAFT__KIT_LT;
    check(graft__kit_int_check(&ir, 5) == E(GREATER_THAN_EQUAL), "int_check", "then ge");
    ir = (graft__kit_int_rules){.has = GRAFT__KIT_MULTIPLE_OF, .multiple_of = 3};
    check(graft__kit_int_check(&ir, INT64_MIN + 2) == 0 && graft__kit_int_check(&ir, INT64_MIN) == E(MULTIPLE_OF),
          "int_check", "INT64_MIN");
    ir.multiple_of = 0;
    check(graft__kit_int_check(&ir, 1) == -EINVAL, "int_check", "multiple_of 0");

    /* beyond int64: the bounds Pydantic compares the big integer with decide, else declined */
    ir = (graft__kit_int_rules){.has = GRAFT__KIT_GE | GRAFT__KIT_LE, .ge = 1, .le = INT64_MAX};
    check(graft__kit_int_beyond_check(&ir, "9223372036854775808", 19) == E(LESS_THAN_EQUAL), "int_beyond", "above: le");
    check(graft__kit_int_beyond_check(&ir, " -1_000_000_000_000_000_000_000 ", 32) == E(GREATER_THAN_EQUAL),
          "int_beyond", "below: ge");
    check(graft__kit_int_beyond_check(&ir, "5", 1) == GRAFT__KIT_UNSUPPORTED, "int_beyond", "inside int64");
    check(graft__kit_int_beyond_check(&ir, "0-99999999999999999999", 22) == GRAFT__KIT_UNSUPPORTED, "int_beyond",
          "other declines stay");
    ir.has = GRAFT__KIT_GE;
    check(graft__kit_int_beyond_check(&ir, "99999999999999999999", 20) == GRAFT__KIT_UNSUPPORTED, "int_beyond",
          "no bound decides");
    ir = (graft__kit_int_rules){.has = GRAFT__KIT_LT | GRAFT__KIT_GT | GRAFT__KIT_MULTIPLE_OF, .lt = 9, .gt = 0,
                                .multiple_of = 2};
    check(graft__kit_int_beyond_check(&ir, "99999999999999999999", 20) == E(MULTIPLE_OF), "int_beyond",
          "multiple_of first, by the big remainder");
    check(graft__kit_int_beyond_check(&ir, "-1_0000_0000_0000_0000_0000", 27) == E(GREATER_THAN), "int_beyond",
          "a multiple: then the bounds");
    ir = (graft__kit_int_rules){.has = GRAFT__KIT_MULTIPLE_OF, .multiple_of = INT64_MAX};
    check(graft__kit_int_beyond_check(&ir, "18446744073709551616", 20) == E(MULTIPLE_OF) &&
              graft__kit_int_beyond_check(&ir, "-18446744073709551614", 21) == GRAFT__KIT_UNSUPPORTED,
          "int_beyond", "multiple_of 2^63-1: 2^64 leaves 2, 2^64-2 is a multiple (valid)");
    ir.multiple_of = 3;
    check(graft__kit_int_beyond_check(&ir, " 00099_999999999999999999.00", 28) == GRAFT__KIT_UNSUPPORTED &&
              graft__kit_int_beyond_check(&ir, "100000000000000000000", 21) == E(MULTIPLE_OF),
          "int_beyond", "multiple_of 3");
    ir = (graft__kit_int_rules){.has = GRAFT__KIT_LT | GRAFT__KIT_GT | GRAFT__KIT_MULTIPLE_OF, .lt = 9, .gt = 0,
                                .multiple_of = 2};
    ir.has &= ~GRAFT__KIT_MULTIPLE_OF;
    check(graft__kit_int_beyond_check(&ir, "99999999999999999999", 20) == E(LESS_THAN) &&
          graft__kit_int_beyond_check(&ir, "-99999999999999999999", 21) == E(GREATER_THAN), "int_beyond", "lt, gt");

    graft__kit_float_rules fr = {.has = GRAFT__KIT_MULTIPLE_OF, .multiple_of = 0.1};
    check(graft__kit_float_check(&fr, -0.3) == 0 && graft__kit_float_check(&fr, 0.45) == E(MULTIPLE_OF),
          "float_check", "0.1 steps");
    fr.multiple_of = 3.0;
    check(graft__kit_float_check(&fr, 3.0 + 1e-10) == 0 && graft__kit_float_check(&fr, 3.0 + 2e-9) == E(MULTIPLE_OF),
          "float_check", "1e-9 tolerance");
    check(graft__kit_float_check(&fr, 1e20) == 0 && graft__kit_float_check(&fr, 2.2955060917217523e21) == E(MULTIPLE_OF),
          "float_check", "large values as Pydantic");
    check(graft__kit_float_check(&fr, NAN) == 0 && graft__kit_float_check(&fr, INFINITY) == 0, "float_check",
          "NaN and inf pass multiple_of");
    fr = (graft__kit_float_rules){.has = GRAFT__KIT_GT, .gt = 5};
    check(graft__kit_float_check(&fr, NAN) == E(GREATER_THAN), "float_check", "NaN fails a bound");

    graft__kit_str_rules sr = {.has = GRAFT__KIT_MIN_LENGTH | GRAFT__KIT_MAX_LENGTH, .min_length = 2, .max_length = 3};
    check(graft__kit_str_check(&sr, "\xc3\xa9", 2) == E(STRING_TOO_SHORT), "str_check", "code points, not bytes");
    check(graft__kit_str_check(&sr, "\xc3\xa9\xc3\xa9\xc3\xa9", 6) == 0, "str_check", "three code points");
    check(graft__kit_str_check(&sr, "abcd", 4) == E(STRING_TOO_LONG), "str_check", "too long");
    check(graft__kit_str_check(&sr, "a\xff", 2) == U, "str_check", "invalid UTF-8");
    sr.has |= GRAFT__KIT_PATTERN;
    sr.pattern = "^a+$";
    check(graft__kit_str_check(&sr, "a", 1) == E(STRING_TOO_SHORT), "str_check", "lengths before the pattern");
    check(graft__kit_str_check(&sr, "aa", 2) == 0, "str_check", "pattern matches");
    check(graft__kit_str_check(&sr, "ab", 2) == E(STRING_PATTERN_MISMATCH), "str_check", "pattern mismatch");
    sr.pattern = "(a)+";
    check(graft__kit_str_check(&sr, "aa", 2) == U, "str_check", "a group: declined");
}

/* Patterns: Rust regex's is_match, checked against Pydantic at random by tests/kit. */
static void test_pattern(void)
{
    static const struct { const char *pat, *s; int want; } cs[] = {
        {"a", "xay", 1},                      /* a search, not a full match */
        {"^a", "xa", 0}, {"a$", "ab", 0}, {"a$", "ba", 1}, {"^$", "", 1}, {"^$", "x", 0}, {"", "x", 1},
        {"^[a-z0-9_-]{3,5}$", "ab_9", 1}, {"^[a-z0-9_-]{3,5}$", "ab", 0}, {"^[a-z0-9_-]{3,5}$", "abcdef", 0},
        {"^.$", "\n", 0}, {"^.$", "\xc3\xa9", 1} /* one code point */, {"^[^a]$", "\n", 1},
        {"^\\d+$", "123", 1}, {"^\\d+$", "12a", 0}, {"^\\d+$", "\xd9\xa3", U} /* Rust's \d is Unicode */,
        {"^a{2}b?c*$", "aac", 1}, {"^a{2}b?c*$", "aaa", 0}, {"^x{2,}$", "xxxx", 1}, {"^x{2,}$", "x", 0},
        {"^\\.\\+$", ".+", 1}, {"^[\\]\\-]+$", "]-]", 1}, {"^[\xc3\xa0-\xc3\xbf]$", "\xc3\xa9", 1},
    };
    for (size_t i = 0; i < sizeof cs / sizeof *cs; i++) {
        graft__kit_pattern p;
        int rc = graft__kit_pattern_compile(&p, cs[i].pat);
        size_t n = strlen(cs[i].s);
        char *s = copy(cs[i].s, n);
        int m = rc == 0 ? graft__kit_pattern_match(&p, s, n) : rc;
        check(m == cs[i].want, "pattern", "/%s/ on [%s]: %d, want %d", cs[i].pat, cs[i].s, m, cs[i].want);
        free(s);
    }
    static const char *const outside[] = {"(ab)+", "a|b", "\\bx", "(?i)a", "a*?", "[[:alpha:]]", "[a&&b]",
                                          "a{2}{3}", "\\p{L}", "[]a]", "a**", "{", "^a^", "a$b", "[z-a]"};
    for (size_t i = 0; i < sizeof outside / sizeof *outside; i++) {
        graft__kit_pattern p;
        check(graft__kit_pattern_compile(&p, outside[i]) == U, "pattern", "/%s/ declined", outside[i]);
    }
    graft__kit_pattern p;
    check(graft__kit_pattern_compile(&p, "a{300}") == U, "pattern", "over the state bound");
}

static void test_uuid_enum(void)
{
    static const char *const ok[] = {
        "a8098c1a-f86e-11da-bd1a-00112444be1e", "A8098C1AF86E11DABD1A00112444BE1E",
        "{a8098c1a-f86e-11da-bd1a-00112444be1e}", "urn:uuid:a8098c1a-f86e-11da-bd1a-00112444be1e"};
    for (size_t i = 0; i < 4; i++) {
        uint8_t u[16];
        int rc = graft__kit_uuid_from_str(ok[i], strlen(ok[i]), u);
        check(rc == 0 && u[0] == 0xa8 && u[15] == 0x1e, "uuid", "%s", ok[i]);
    }
    uint8_t u[16];
    check(graft__kit_uuid_from_str("a8098c1a-f86e-11da-bd1a-00112444be1", 35, u) == U, "uuid", "short: declined");
    static const char *const strs[] = {"red", "green", "it's"};
    size_t idx;
    graft__kit_value in = {.kind = GRAFT__KIT_V_STR, .s = "green", .n = 5};
    check(graft__kit_enum_str(strs, 3, &in, &idx) == 0 && idx == 1, "enum", "green");
    in.n = 4;
    check(graft__kit_enum_str(strs, 3, &in, &idx) == E(ENUM), "enum", "gree");
    in = (graft__kit_value){.kind = GRAFT__KIT_V_INT, .i = 1};
    check(graft__kit_enum_str(strs, 3, &in, &idx) == E(ENUM), "enum", "a number is no str member");
    static const int64_t ints[] = {1, 2, -3};
    in = (graft__kit_value){.kind = GRAFT__KIT_V_STR, .s = " -3.0", .n = 5};
    check(graft__kit_enum_int(ints, 3, &in, &idx) == 0 && idx == 2, "enum", "int member from ' -3.0'");
    in.s = "one";
    in.n = 3;
    check(graft__kit_enum_int(ints, 3, &in, &idx) == E(ENUM), "enum", "one");
    graft__buf b = {0};
    check(graft__kit_enum_expected(&b, strs, NULL, 3) == 0 && GRAFT__LIT_EQ(b.data, b.len, "'red', 'green' or \"it's\""),
          "enum", "expected text [%.*s]", (int)b.len, b.data ? b.data : "");
    graft__buf_free(&b);
    check(graft__kit_enum_expected(&b, NULL, ints, 3) == 0 && GRAFT__LIT_EQ(b.data, b.len, "1, 2 or -3"), "enum",
          "int expected text");
    graft__buf_free(&b);
}

/* Date-times: the forms Pydantic gave these values for; the rest declines. */
static void test_datetime(void)
{
    static const struct { const char *in; int rc, y, mo, d, h, mi, sec, us, tz, off; } cs[] = {
        {"2020-01-02T03:04:05Z", 0, 2020, 1, 2, 3, 4, 5, 0, 1, 0},
        {"2020-01-02t03:04:05z", 0, 2020, 1, 2, 3, 4, 5, 0, 1, 0},
        {"2020-01-02 03:04", 0, 2020, 1, 2, 3, 4, 0, 0, 0, 0},
        {"2020-01-02_03:04:05", 0, 2020, 1, 2, 3, 4, 5, 0, 0, 0},
        {"2024-02-29", 0, 2024, 2, 29, 0, 0, 0, 0, 0, 0},
        {"2020-01-02T03:04:05.1234567890123Z", 0, 2020, 1, 2, 3, 4, 5, 123456, 1, 0},
        {"2020-01-02T03:04:05,1Z", 0, 2020, 1, 2, 3, 4, 5, 100000, 1, 0},
        {"2020-01-02T03:04:05.123-01:30", 0, 2020, 1, 2, 3, 4, 5, 123000, 1, -5400},
        {"2020-01-02T03:04:05+0100", 0, 2020, 1, 2, 3, 4, 5, 0, 1, 3600},
        {"2020-01-02T03:04:05-23:59", 0, 2020, 1, 2, 3, 4, 5, 0, 1, -86340},
        {"2023-02-29", U, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {"1900-02-29", U, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"0000-01-01T00:00:00Z", U, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {"2020-01-02T24:00:00Z", U, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"2020-01-02T03:04:60Z", U, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {"2020-01-02T03:04:05+01", U, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"2020-01-02T03:04:05+24:00", U, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {"2020-01-02T03:04:05.Z", U, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"1700000000", U, 0, 0, 0, 0, 0, 0, 0, 0, 0} /* a timestamp: Pydantic takes it, the kit declines */,
        {" 2020-01-02", U, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {"2020-01-02T03", U, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cs / sizeof *cs; i++) {
        size_t n = strlen(cs[i].in);
        char *s = copy(cs[i].in, n);
        graft__kit_datetime d;
        int rc = graft__kit_datetime_from_str(s, n, &d);
        check(rc == cs[i].rc && (rc != 0 || (d.year == cs[i].y && d.month == cs[i].mo && d.day == cs[i].d &&
                                             d.hour == cs[i].h && d.minute == cs[i].mi && d.second == cs[i].sec &&
                                             d.microsecond == cs[i].us && d.has_tz == cs[i].tz && d.tz_offset == cs[i].off)),
              "datetime", "[%s]: rc %d", cs[i].in, rc);
        free(s);
    }
}

static void test_float_text(void)
{
    static const struct { double v; const char *repr, *display, *json; } cs[] = {
        {5.0, "5.0", "5", "5.0"}, {1e-05, "1e-05", "0.00001", "0.00001"}, {1e16, "1e+16", "10000000000000000", "1e+16"},
        {0.0001, "0.0001", "0.0001", "0.0001"}, {-0.0, "-0.0", "-0", "-0.0"}, {1e-07, "1e-07", "0.0000001", "1e-7"},
        {2.5e-05, "2.5e-05", "0.000025", "0.000025"}, {1e22, "1e+22", "10000000000000000000000", "1e+22"},
        {123456789.123, "123456789.123", "123456789.123", "123456789.123"},
        {-9.2523345947265625, "-9.252334594726562", "-9.252334594726563", "-9.252334594726562"},
        {INFINITY, "inf", "inf", "Infinity"}, {NAN, "nan", "NaN", "NaN"},
    };
    for (size_t i = 0; i < sizeof cs / sizeof *cs; i++) {
        char t[GRAFT__KIT_FLOAT_MAX];
        graft__kit_float_repr(cs[i].v, t);
        check(strcmp(t, cs[i].repr) == 0, "repr", "%s, want %s", t, cs[i].repr);
        graft__kit_float_display(cs[i].v, t);
        check(strcmp(t, cs[i].display) == 0, "display", "%s, want %s", t, cs[i].display);
        graft__kit_float_json(cs[i].v, t);
        check(strcmp(t, cs[i].json) == 0, "json", "%s, want %s", t, cs[i].json);
    }
    char t[GRAFT__KIT_FLOAT_MAX];
    size_t n = graft__kit_float_display(5e-324, t);
    check(n == 326 && strlen(t) == n, "display", "5e-324 fits: %zu", n);
}

static void test_entries(void)
{
    graft__kit_loc loc[] = {{"query", 5, 0}, {"f", 1, 0}};
    graft__kit_error e = {.type = E(LESS_THAN_EQUAL), .loc = loc, .nloc = 2,
                          .input = {.kind = GRAFT__KIT_V_STR, .s = "0.2", .n = 3},
                          .limit = {.kind = GRAFT__KIT_V_FLOAT, .f = 1e-05}};
    graft__buf b = {0};
    check(graft__kit_detail_entry(&b, &e) == 0 &&
              GRAFT__LIT_EQ(b.data, b.len, "{\"type\":\"less_than_equal\",\"loc\":[\"query\",\"f\"],\"msg\":\"Input should be less than or equal to 0.00001\",\"input\":\"0.2\",\"ctx\":{\"le\":1e-05}}"),
          "entry", "le: %.*s", (int)b.len, b.data ? b.data : "");
    graft__buf_free(&b);
    graft__kit_loc body[] = {{"body", 4, 0}, {"tags", 4, 0}};
    graft__kit_error es[2] = {
        {.type = E(MISSING), .loc = loc, .nloc = 2},
        {.type = E(TOO_LONG), .loc = body, .nloc = 2, .input = {.kind = GRAFT__KIT_V_RAW, .s = "[1,2]", .n = 5},
         .length = 1, .actual = 2, .text = "List", .text_n = 4},
    };
    check(graft__kit_detail_body(&b, es, 2) == 0 &&
              GRAFT__LIT_EQ(b.data, b.len, "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"query\",\"f\"],\"msg\":\"Field required\",\"input\":null},{\"type\":\"too_long\",\"loc\":[\"body\",\"tags\"],\"msg\":\"List should have at most 1 item after validation, not 2\",\"input\":[1,2],\"ctx\":{\"field_type\":\"List\",\"max_length\":1,\"actual_length\":2}}]}"),
          "entry", "body: %.*s", (int)b.len, b.data ? b.data : "");
    graft__buf_free(&b);
    e.input = (graft__kit_value){.kind = GRAFT__KIT_V_FLOAT, .f = NAN};
    check(graft__kit_detail_entry(&b, &e) == U, "entry", "NaN input: FastAPI fails, declined");
    graft__buf_free(&b);
    e.type = 999;
    check(graft__kit_detail_entry(&b, &e) == -EINVAL, "entry", "unknown type");
    graft__buf_free(&b);
}

int main(void)
{
    test_int();
    test_int_text();
    test_float();
    test_bool();
    test_json_kinds();
    test_checks();
    test_pattern();
    test_uuid_enum();
    test_datetime();
    test_float_text();
    test_entries();
    return unit_report();
}
