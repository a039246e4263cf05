/* Lax scalar coercion from strings (coerce.h): int, float, bool. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "c_locale.h"
#include "coerce.h"

/* Python's int() gives up on more digits than this (sys.int_info.default_max_str_digits);
 * Pydantic reports int_parsing_size there. Longer texts are declined whole. */
#define INT_TEXT_MAX 4300
/* A float text longer than this is copied to the heap for strtod. */
#define FLOAT_STACK 128

/* Length of the Unicode White_Space character (Rust's char::is_whitespace, which
 * str::trim uses) that starts at s, or 0. */
static size_t space_at(const unsigned char *s, size_t n)
{
    if (n >= 1 && ((s[0] >= 0x09 && s[0] <= 0x0d) || s[0] == 0x20))
        return 1;
    if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
        return 2;
    if (n < 3)
        return 0;
    if (s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80) /* U+1680 */
        return 3;
    if (s[0] == 0xe2 && s[1] == 0x80 &&
        (s[2] <= 0x8a || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf) && s[2] >= 0x80)
        return 3; /* U+2000..U+200A, U+2028, U+2029, U+202F */
    if (s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) /* U+205F */
        return 3;
    if (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80) /* U+3000 */
        return 3;
    return 0;
}

/* Whether a White_Space character ends at s[n-1]; its length, or 0. */
static size_t space_before(const unsigned char *s, size_t n)
{
    for (size_t k = 1; k <= 3 && k <= n; k++)
        if (space_at(s + n - k, k) == k)
            return k;
    return 0;
}

/* Trims leading and trailing Unicode whitespace, as Rust's str::trim. */
static void trim(const char **s, size_t *n)
{
    const unsigned char *p = (const unsigned char *)*s;
    size_t len = *n, k;
    while (len && (k = space_at(p, len)) > 0) {
        p += k;
        len -= k;
    }
    while (len && (k = space_before(p, len)) > 0)
        len -= k;
    *s = (const char *)p;
    *n = len;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* A text over INT_TEXT_MAX bytes: int_parsing_size when it is a bare decimal, "-"?[1-9][0-9]*,
 * with more than INT_TEXT_MAX digits (Python's int() refuses it before Pydantic looks further).
 * Anything else that long is declined: Pydantic's answer then depends on where the whitespace,
 * leading zeros, underscores or sign sit ("+9..." and " 9..." are int_parsing, "9... " is not). */
static int too_long(const char *s, size_t n)
{
    size_t i = s[0] == '-';
    if (n - i <= INT_TEXT_MAX || s[i] < '1' || s[i] > '9')
        return GRAFT__KIT_UNSUPPORTED;
    for (; i < n; i++)
        if (!is_digit(s[i]))
            return GRAFT__KIT_UNSUPPORTED;
    return GRAFT__KIT_E_INT_PARSING_SIZE;
}

static int int_grammar(const char *s, size_t n, int64_t *out, int *beyond, size_t *digits);

/* graft__kit_int_from_str, telling apart (in *beyond: 1 above, -1 below) a valid integer
 * text declined only for being outside int64. */
static int int_parse(const char *s, size_t n, int64_t *out, int *beyond)
{
    *beyond = 0;
    size_t digits = 0;
    int rc = n > INT_TEXT_MAX ? too_long(s, n) : GRAFT__KIT_UNSUPPORTED;
    if (rc != GRAFT__KIT_UNSUPPORTED)
        return rc;
    trim(&s, &n);
    if (n <= INT_TEXT_MAX) /* at most 4300 bytes once trimmed: no size limit to meet */
        return int_grammar(s, n, out, beyond, &digits);
    /* a longer text that keeps at most 4300 significant digits reads as any other, Pydantic
     * shows; with more, or an error, its answer follows rules not reproduced */
    rc = int_grammar(s, n, out, beyond, &digits);
    if ((rc == GRAFT__KIT_OK || *beyond) && digits <= INT_TEXT_MAX)
        return rc;
    *beyond = 0;
    return GRAFT__KIT_UNSUPPORTED;
}

/* The int grammar on s, whatever its length; *digits counts the significant digits. */
static int int_grammar(const char *s, size_t n, int64_t *out, int *beyond, size_t *digits)
{
    *digits = 0;
    trim(&s, &n);
    /* a fraction is allowed when it is one or more zeros, and only zeros */
    const char *dot = memchr(s, '.', n);
    if (dot) {
        size_t f = (size_t)(s + n - dot) - 1;
        if (f == 0)
            return GRAFT__KIT_E_INT_PARSING;
        for (size_t i = 1; i <= f; i++)
            if (dot[i] != '0')
                return GRAFT__KIT_E_INT_PARSING;
        n = (size_t)(dot - s);
    }
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == n || !is_digit(s[i]))
        return GRAFT__KIT_E_INT_PARSING;
    /* leading zeros, and underscores among them, go first: "0__5" is 5 but "5__0" is not a
     * number. When nothing but zeros and underscores is left, the last one must be a 0. */
    if (s[i] == '0') {
        size_t j = i;
        while (j < n && (s[j] == '0' || s[j] == '_'))
            j++;
        if (j == n) {
            if (s[n - 1] != '0')
                return GRAFT__KIT_E_INT_PARSING;
            *out = 0;
            return GRAFT__KIT_OK;
        }
        /* Pydantic reads "0-47" as -47, "0-_3" as -3 but "0-05" as no number: a sign
         * after leading zeros is not reproduced */
        if (s[j] == '-' || s[j] == '+')
            return GRAFT__KIT_UNSUPPORTED;
        if (!is_digit(s[j]))
            return GRAFT__KIT_E_INT_PARSING;
        i = j;
    }
    /* digits, a single underscore only between two of them; accumulated negatively so
     * INT64_MIN fits */
    int64_t v = 0;
    int over = 0;
    for (; i < n; i++) {
        if (s[i] == '_') {
            if (i + 1 == n || !is_digit(s[i + 1]) || !is_digit(s[i - 1]))
                return GRAFT__KIT_E_INT_PARSING;
            continue;
        }
        if (!is_digit(s[i]))
            return GRAFT__KIT_E_INT_PARSING;
        int d = s[i] - '0';
        ++*digits;
        if (v < (INT64_MIN + d) / 10)
            over = 1; /* keeps checking the syntax: a bad text is int_parsing however long */
        else
            v = v * 10 - d;
    }
    if (over || (!neg && v == INT64_MIN)) {
        *beyond = neg ? -1 : 1;
        return GRAFT__KIT_UNSUPPORTED;
    }
    *out = neg ? v : -v;
    return GRAFT__KIT_OK;
}

int graft__kit_int_from_str(const char *s, size_t n, int64_t *out)
{
    int beyond;
    return int_parse(s, n, out, &beyond);
}

int graft__kit_int_text(const char *s, size_t n, char *out, size_t *len, int *beyond)
{
    int64_t v;
    int rc = int_parse(s, n, &v, beyond);
    if (rc == GRAFT__KIT_OK) {
        /* fits: written from the value, as Python's str(int) (no "+", "-0" is "0") */
        char t[24];
        size_t k = sizeof t;
        uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        do
            t[--k] = (char)('0' + u % 10);
        while (u /= 10);
        if (v < 0)
            t[--k] = '-';
        *len = sizeof t - k;
        memcpy(out, t + k, *len);
        out[*len] = '\0';
        return GRAFT__KIT_OK;
    }
    if (rc != GRAFT__KIT_UNSUPPORTED || !*beyond)
        return rc;
    /* beyond int64: the syntax is known good, so the digits are what is left after the
     * whitespace, the sign, leading zeros, underscores and a ".000" fraction */
    trim(&s, &n);
    const char *dot = memchr(s, '.', n);
    if (dot)
        n = (size_t)(dot - s);
    size_t i = s[0] == '+' || s[0] == '-', o = 0;
    if (*beyond < 0)
        out[o++] = '-';
    while (i < n && (s[i] == '0' || s[i] == '_'))
        i++;
    for (; i < n; i++)
        if (s[i] != '_')
            out[o++] = s[i];
    out[o] = '\0';
    *len = o;
    return GRAFT__KIT_OK;
}

/* The remainder of |the integer| by m (0 < m < 2^63) for a text int_parse found valid: its
 * digits up to a fraction, whitespace, sign, underscores and leading zeros adding nothing.
 * r * 10 is summed mod m, as r + r never overflows 64 bits while r < 2^63. */
static uint64_t big_remainder(const char *s, size_t n, uint64_t m)
{
    trim(&s, &n);
    uint64_t r = 0;
    for (size_t i = 0; i < n && s[i] != '.'; i++) {
        if (!is_digit(s[i]))
            continue;
        uint64_t t = 0;
        for (int k = 0; k < 10; k++)
            t = (t + r) % m;
        r = (t + (uint64_t)(s[i] - '0') % m) % m;
    }
    return r;
}

int graft__kit_int_beyond_check(const graft__kit_int_rules *r, const char *s, size_t n)
{
    int64_t v;
    int beyond;
    if (int_parse(s, n, &v, &beyond) != GRAFT__KIT_UNSUPPORTED || !beyond)
        return GRAFT__KIT_UNSUPPORTED;
    /* Pydantic checks the big integer in its order: multiple_of, le, lt, ge, gt */
    if ((r->has & GRAFT__KIT_MULTIPLE_OF) && r->multiple_of > 0 && big_remainder(s, n, (uint64_t)r->multiple_of))
        return GRAFT__KIT_E_MULTIPLE_OF;
    if (beyond > 0 && (r->has & GRAFT__KIT_LE))
        return GRAFT__KIT_E_LESS_THAN_EQUAL;
    if (beyond > 0 && (r->has & GRAFT__KIT_LT))
        return GRAFT__KIT_E_LESS_THAN;
    if (beyond < 0 && (r->has & GRAFT__KIT_GE))
        return GRAFT__KIT_E_GREATER_THAN_EQUAL;
    if (beyond < 0 && (r->has & GRAFT__KIT_GT))
        return GRAFT__KIT_E_GREATER_THAN;
    return GRAFT__KIT_UNSUPPORTED;
}

/* Case-insensitive comparison of n bytes with a lowercase ASCII word. */
static int word_eq(const char *s, size_t n, const char *w)
{
    if (strlen(w) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != w[i])
            return 0;
    }
    return 1;
}

/* Rust's f64 grammar on the underscore-free text t (n bytes): sign, then inf, infinity or
 * nan in any case, or digits with an optional '.' (a digit on one side at least) and an
 * optional exponent with its own sign. */
static int float_syntax(const char *t, size_t n)
{
    size_t i = 0;
    if (i < n && (t[i] == '+' || t[i] == '-'))
        i++;
    if (word_eq(t + i, n - i, "inf") || word_eq(t + i, n - i, "infinity") ||
        word_eq(t + i, n - i, "nan"))
        return 1;
    size_t digits = 0;
    while (i < n && is_digit(t[i]))
        i++, digits++;
    if (i < n && t[i] == '.') {
        i++;
        while (i < n && is_digit(t[i]))
            i++, digits++;
    }
    if (!digits)
        return 0;
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        if (i < n && (t[i] == '+' || t[i] == '-'))
            i++;
        if (i == n || !is_digit(t[i]))
            return 0;
        while (i < n && is_digit(t[i]))
            i++;
    }
    return i == n;
}

int graft__kit_float_from_str(const char *s, size_t n, double *out)
{
    size_t whole = n;
    trim(&s, &n);
    /* Pydantic drops underscores only after the trimmed text failed to parse, and then
     * from the untrimmed text, where the whitespace makes it fail again */
    if (n != whole && memchr(s, '_', n))
        return GRAFT__KIT_E_FLOAT_PARSING;
    if (n == 0 || s[0] == '_' || s[n - 1] == '_')
        return GRAFT__KIT_E_FLOAT_PARSING;
    char stack[FLOAT_STACK];
    char *t = n < sizeof stack ? stack : malloc(n + 1);
    if (!t)
        return -ENOMEM;
    size_t k = 0;
    int rc = GRAFT__KIT_OK;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '_')
            t[k++] = s[i];
        else if (s[i + 1] == '_') /* s[n-1] is not '_', so i + 1 < n */
            rc = GRAFT__KIT_E_FLOAT_PARSING;
    }
    t[k] = '\0';
    if (rc == GRAFT__KIT_OK && !float_syntax(t, k))
        rc = GRAFT__KIT_E_FLOAT_PARSING;
    if (rc == GRAFT__KIT_OK) {
        const char *p = t + (t[0] == '+' || t[0] == '-');
        if (*p == 'n' || *p == 'N') {
            *out = NAN; /* Python shows every NaN as nan: the sign is dropped */
        } else {
            /* the syntax is checked above, so strtod reads it all and rounds correctly;
             * inf, infinity and overflow come out as +-inf as in Rust */
            locale_t old = graft__kit_c_locale_begin();
            *out = strtod(t, NULL);
            graft__kit_c_locale_end(old);
        }
    }
    if (t != stack)
        free(t);
    return rc;
}

int graft__kit_bool_from_str(const char *s, size_t n, int *out)
{
    static const char *const yes[] = {"1", "on", "t", "true", "y", "yes"};
    static const char *const no[] = {"0", "off", "f", "false", "n", "no"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        if (word_eq(s, n, yes[i])) {
            *out = 1;
            return GRAFT__KIT_OK;
        }
        if (word_eq(s, n, no[i])) {
            *out = 0;
            return GRAFT__KIT_OK;
        }
    }
    return GRAFT__KIT_E_BOOL_PARSING;
}
