/* JSON bodies holding what Python's json reads but Jansson refuses, for graft-serve, given as
 * json.loads decoded them (kit/pyjson.h: UTF-8, no BOM): duplicate keys (the last value wins,
 * in the first key's place), integers beyond int64 (Python's ints are unbounded; Pydantic
 * judges them: above le=1000 is less_than_equal, in a string field string_type, each quoting
 * the integer) and the non-finite floats NaN, Infinity, -Infinity and 1e400 (any error
 * quoting one makes FastAPI fail writing its 422: a 500). The body is parsed a second time
 * with each such number turned into a marker: a string made of MARK and the token (only for
 * bodies holding no U+FDD0 at all, so no other string starts with it; strings may hold NULs
 * here, as Python's do). contract_body_value.c writes a marker back as the token and judges
 * it by the field's type where that is exact. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "contract_arg.h"

/* A NUL and the noncharacter U+FDD0: the marker's prefix (escaped, and as the parsed bytes) */
#define MARK_JSON "\"\\u0000\\ufdd0"
#define MARK "\0\xef\xb7\x90"
#define MARK_LEN 4

/* Whether the integer text s (n bytes: an optional '-', then digits without leading zeros,
 * as JSON writes them) lies outside int64. */
static int beyond_int64(const char *s, size_t n)
{
    if (n - (s[0] == '-') < 19)
        return 0;
    int neg = s[0] == '-';
    const char *d = s + neg, *lim = neg ? "9223372036854775808" : "9223372036854775807";
    size_t dn = n - (size_t)neg;
    return dn > 19 || (dn == 19 && memcmp(d, lim, 19) > 0);
}

static int starts(const char *s, size_t n, const char *w)
{
    size_t k = strlen(w);
    return n >= k && memcmp(s, w, k) == 0;
}

static int is_float(const char *s, size_t n)
{
    return memchr(s, '.', n) || memchr(s, 'e', n) || memchr(s, 'E', n);
}

/* Whether the float text s (n bytes, valid JSON) is beyond the doubles: inf in Python. */
static int overflows(const char *s, size_t n)
{
    char t[512];
    if (n >= sizeof t) /* not marked: Jansson then refuses the body again, unsupported */
        return 0;
    memcpy(t, s, n);
    t[n] = '\0';
    return isinf(strtod(t, NULL)); /* no locale issue: JSON has no decimal comma */
}

/* Whether the text holds U+FDD0, raw or escaped (any case of the hex digits). */
static int has_fdd0(const char *s, size_t n)
{
    if (memmem(s, n, "\xef\xb7\x90", 3))
        return 1;
    for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), "\\u", 2)) != NULL; p += 2)
        if ((size_t)(s + n - p) >= 6 && strncasecmp(p + 2, "fdd0", 4) == 0)
            return 1;
    return 0;
}

json_t *graft__body_bigint_doc(const char *body, size_t n)
{
    if (has_fdd0(body, n))
        return NULL;
    graft__buf b = {0};
    int found = 0, rc = 0;
    size_t i = 0, from = 0;
    while (i < n && rc == 0) {
        char c = body[i];
        if (c == '"') { /* skip the string (the body is valid JSON for Python) */
            for (i++; i < n && body[i] != '"'; i++)
                i += body[i] == '\\';
            i++;
            continue;
        }
        size_t s = i;
        int mark = 0;
        if (starts(body + i, n - i, "NaN") || starts(body + i, n - i, "Infinity") ||
            starts(body + i, n - i, "-Infinity")) {
            i += body[i] == 'N' ? 3 : body[i] == 'I' ? 8 : 9;
            mark = 1;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            i++;
            while (i < n && body[i] && strchr("0123456789.eE+-", body[i]))
                i++;
            mark = is_float(body + s, i - s) ? overflows(body + s, i - s) : beyond_int64(body + s, i - s);
        } else {
            i++;
        }
        if (!mark)
            continue;
        found = 1;
        rc = graft__buf_append(&b, body + from, s - from);
        rc = rc ? rc : graft__buf_append(&b, GRAFT__STRLIT(MARK_JSON));
        rc = rc ? rc : graft__buf_append(&b, body + s, i - s);
        rc = rc ? rc : graft__buf_append(&b, "\"", 1);
        from = i;
    }
    rc = rc ? rc : graft__buf_append(&b, body + from, n - from);
    json_t *doc = NULL;
    if (!rc) { /* duplicate keys too: Jansson then keeps the first key's place and the last
                * value, as Python's dict does */
        json_error_t je;
        doc = json_loadb(found ? graft__buf_head(&b) : body, found ? graft__buf_avail(&b) : n,
                         JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    }
    graft__buf_free(&b);
    return doc;
}

int graft__body_marker(json_t *j, const char **text, size_t *n)
{
    if (!json_is_string(j) || json_string_length(j) <= MARK_LEN || memcmp(json_string_value(j), MARK, MARK_LEN) != 0)
        return 0;
    *text = json_string_value(j) + MARK_LEN;
    *n = json_string_length(j) - MARK_LEN;
    int number = (*text)[0] == '-' ? (*n > 1 && (*text)[1] != 'I') : (*text)[0] != 'N' && (*text)[0] != 'I';
    return number && !is_float(*text, *n) ? GRAFT__BODY_BIGINT : GRAFT__BODY_NONFINITE;
}

double graft__body_nonfinite_value(const char *text)
{
    return text[0] == 'N' ? NAN : text[0] == 'I' ? INFINITY : text[0] == '-' && text[1] == 'I' ? -INFINITY
                                                                                             : strtod(text, NULL);
}

int graft__body_has_nonfinite(json_t *j)
{
    const char *t, *k;
    size_t n, i;
    json_t *x;
    if (json_is_array(j)) {
        json_array_foreach(j, i, x) if (graft__body_has_nonfinite(x)) return 1;
    } else if (json_is_object(j)) {
        json_object_foreach(j, k, x) if (graft__body_has_nonfinite(x)) return 1;
    }
    return graft__body_marker(j, &t, &n) == GRAFT__BODY_NONFINITE;
}
