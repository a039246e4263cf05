/* JSON bodies holding integers beyond int64, for graft-serve. Python's json reads them (its
 * ints are unbounded) and Pydantic judges them: above le=1000 is less_than_equal, in a string
 * field string_type, each quoting the integer. Jansson refuses them, so the body is parsed a
 * second time with each such integer turned into a marker: a string made of a NUL and the
 * integer's text (only for bodies without "\u0000", so no other string starts with a NUL).
 * contract_body_value.c writes a marker back as the integer and judges it by the field's
 * type where that is exact. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "contract_arg.h"

/* Whether the integer text s (n bytes: an optional '-', then digits without leading zeros,
 * as JSON writes them) lies outside int64. */
static int beyond_int64(const char *s, size_t n)
{
    int neg = s[0] == '-';
    const char *d = s + neg, *lim = neg ? "9223372036854775808" : "9223372036854775807";
    size_t dn = n - (size_t)neg;
    return dn > 19 || (dn == 19 && memcmp(d, lim, 19) > 0);
}

json_t *graft__body_bigint_doc(const char *body, size_t n)
{
    if (memmem(body, n, "\\u0000", 6))
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
        if (c != '-' && !(c >= '0' && c <= '9')) {
            i++;
            continue;
        }
        size_t s = i++;
        while (i < n && body[i] >= '0' && body[i] <= '9')
            i++;
        if (i < n && (body[i] == '.' || body[i] == 'e' || body[i] == 'E')) { /* a float */
            while (i < n && strchr("0123456789.eE+-", body[i]))
                i++;
            continue;
        }
        if (i - s < 19 || !beyond_int64(body + s, i - s))
            continue;
        found = 1;
        rc = graft__buf_append(&b, body + from, s - from);
        rc = rc ? rc : graft__buf_append(&b, GRAFT__STRLIT("\"\\u0000"));
        rc = rc ? rc : graft__buf_append(&b, body + s, i - s);
        rc = rc ? rc : graft__buf_append(&b, "\"", 1);
        from = i;
    }
    rc = rc ? rc : graft__buf_append(&b, body + from, n - from);
    json_t *doc = NULL;
    if (!rc && found) {
        json_error_t je;
        doc = json_loadb(graft__buf_head(&b), graft__buf_avail(&b),
                         JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    }
    graft__buf_free(&b);
    return doc;
}

int graft__body_bigint(json_t *j, const char **digits, size_t *n)
{
    if (!json_is_string(j) || json_string_length(j) < 2 || json_string_value(j)[0] != '\0')
        return 0;
    *digits = json_string_value(j) + 1;
    *n = json_string_length(j) - 1;
    return 1;
}
