/* A small JSON writer for handlers: RFC 8259 escaping, shortest round-trip doubles, and
 * strings that are always valid UTF-8 (invalid input bytes become U+FFFD). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graft.h"
#include "buf.h"
#include "json_str.h"
#include "kit/float_text.h"

struct graft_json {
    graft__buf b;
    int failed;
    int need_comma; /* a value was written at this level */
    int after_key;
};

GRAFT_API graft_json *graft_json_new(void) { return calloc(1, sizeof(graft_json)); }

GRAFT_API void graft_json_free(graft_json *j)
{
    if (!j)
        return;
    graft__buf_free(&j->b);
    free(j);
}

static void put(graft_json *j, const char *s, size_t n)
{
    if (!j->failed && graft__buf_append(&j->b, s, n) < 0)
        j->failed = 1;
}

static void sep(graft_json *j)
{
    if (j->after_key)
        j->after_key = 0;
    else if (j->need_comma)
        put(j, GRAFT__STRLIT(","));
    j->need_comma = 1;
}

GRAFT_API void graft_json_object_begin(graft_json *j)
{
    sep(j);
    put(j, GRAFT__STRLIT("{"));
    j->need_comma = 0;
}

GRAFT_API void graft_json_object_end(graft_json *j)
{
    put(j, GRAFT__STRLIT("}"));
    j->need_comma = 1;
}

GRAFT_API void graft_json_array_begin(graft_json *j)
{
    sep(j);
    put(j, GRAFT__STRLIT("["));
    j->need_comma = 0;
}

GRAFT_API void graft_json_array_end(graft_json *j)
{
    put(j, GRAFT__STRLIT("]"));
    j->need_comma = 1;
}

/* The escaping is core's (json_str.c), shared with the shadow-mode mismatch lines. */
static void str(graft_json *j, const char *s, size_t n)
{
    if (!j->failed && graft__json_str(&j->b, s, n) < 0)
        j->failed = 1;
}

GRAFT_API void graft_json_key(graft_json *j, const char *key)
{
    sep(j);
    str(j, key, strlen(key));
    put(j, GRAFT__STRLIT(":"));
    j->after_key = 1;
}

GRAFT_API void graft_json_string(graft_json *j, const char *s, size_t len) { sep(j); str(j, s, len); }

GRAFT_API void graft_json_int(graft_json *j, int64_t v)
{
    char t[32];
    sep(j);
    put(j, t, (size_t)snprintf(t, sizeof t, "%lld", (long long)v));
}

/* Whether s is a number in RFC 8259's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int number_syntax(const char *s, size_t n)
{
    size_t i = n > 0 && s[0] == '-' ? 1 : 0, d;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    else
        return 0;
    if (i < n && s[i] == '.') {
        for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9';)
            i++;
        if (i == d)
            return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i += i + 1 < n && (s[i + 1] == '+' || s[i + 1] == '-') ? 2 : 1;
        for (d = i; i < n && s[i] >= '0' && s[i] <= '9';)
            i++;
        if (i == d)
            return 0;
    }
    return i == n;
}

GRAFT_API void graft_json_number_text(graft_json *j, const char *s, size_t len)
{
    sep(j);
    if (s && number_syntax(s, len))
        put(j, s, len);
    else
        put(j, GRAFT__STRLIT("null"));
}

/* The correctly rounded digits may miss v while a string one unit away in the last digit
 * hits it (Python's repr picks that one); tries both, keeping the exponent. */
static int neighbour(char *t, double v)
{
    char *e = strchr(t, 'e');
    for (int delta = 1; delta >= -1; delta -= 2) {
        char u[48];
        memcpy(u, t, strlen(t) + 1);
        char *d = u + (e - t) - 1;
        int carry = delta;
        while (carry && d >= u) {
            if (*d == '.') {
                d--;
                continue;
            }
            if (*d < '0' || *d > '9')
                break;
            int x = *d - '0' + carry;
            carry = x > 9 ? 1 : x < 0 ? -1 : 0;
            *d = (char)('0' + (x + 10) % 10);
            d--;
        }
        char *first = u + (u[0] == '-');
        if (carry || *first == '0')
            continue; /* the exponent would change: not a neighbour of this length */
        if (strtod(u, NULL) == v) {
            memcpy(t, u, strlen(u) + 1);
            return 1;
        }
    }
    return 0;
}

GRAFT_API void graft_json_double(graft_json *j, double v)
{
    sep(j);
    if (!isfinite(v)) {
        put(j, GRAFT__STRLIT("null"));
        return;
    }
    char t[48];
    int n = 0, prec = 1;
    /* shortest digits that read back as the same double, laid out like Python's repr:
     * fixed notation for 1e-4 <= |v| < 1e16, else exponent */
    for (; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*e", prec - 1, v);
        if (strtod(t, NULL) == v || (prec > 1 && neighbour(t, v)))
            break;
    }
    int exp10 = atoi(strchr(t, 'e') + 1);
    if (exp10 >= -4 && exp10 < 16) {
        int decimals = prec - 1 - exp10;
        n = snprintf(t, sizeof t, "%.*f", decimals > 0 ? decimals : 0, v);
        if (!strchr(t, '.')) {
            t[n++] = '.';
            t[n++] = '0';
            t[n] = '\0';
        }
    } else {
        n = (int)strlen(t);
    }
    put(j, t, (size_t)n);
}

GRAFT_API void graft_json_double_pydantic(graft_json *j, double v)
{
    sep(j);
    if (!isfinite(v)) { /* Pydantic's default ser_json_inf_nan="null" */
        put(j, GRAFT__STRLIT("null"));
        return;
    }
    char t[GRAFT__KIT_FLOAT_MAX];
    put(j, t, graft__kit_float_json(v, t));
}

GRAFT_API void graft_json_bool(graft_json *j, int v) { sep(j); put(j, v ? "true" : "false", v ? 4 : 5); }
GRAFT_API void graft_json_null(graft_json *j) { sep(j); put(j, GRAFT__STRLIT("null")); }

GRAFT_API const char *graft_json_data(graft_json *j, size_t *len)
{
    if (j->failed || graft__buf_reserve(&j->b, 1) < 0)
        return NULL;
    j->b.data[j->b.len] = '\0'; /* NUL-terminated for convenience, not counted */
    if (len)
        *len = graft__buf_avail(&j->b);
    return j->b.data ? graft__buf_head(&j->b) : "";
}

GRAFT_API int graft_respond_json(graft_request *req, int status, graft_json *j)
{
    size_t len = 0;
    const char *d = graft_json_data(j, &len);
    int rc = d ? graft_respond(req, status, "application/json", d, len) : GRAFT_ENOMEM;
    graft_json_free(j);
    return rc;
}
