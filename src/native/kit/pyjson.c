/* json.loads(bytes) in Python 3.11, reduced to where it fails (pyjson.h). The scanner walks
 * bytes: every character the grammar tests is ASCII, so byte and character decisions agree,
 * and the failing byte offset is turned into a character count at the end. */
#include "pyjson.h"

#include <stdlib.h>
#include <string.h>

#include "coerce.h"

#define PYJSON_MAX_DEPTH 500

typedef struct {
    const unsigned char *s;
    size_t n;
    const char *msg;
    size_t pos;
    int unsupported;
} scan;

/* Every scanning function returns the index after what it read, or -1 with the error set. */
static long fail(scan *c, const char *msg, size_t pos)
{
    c->msg = msg;
    c->pos = pos;
    return -1;
}

static size_t ws(const scan *c, size_t i)
{
    while (i < c->n && (c->s[i] == ' ' || c->s[i] == '\t' || c->s[i] == '\n' || c->s[i] == '\r'))
        i++;
    return i;
}

static int is_hex(unsigned char d)
{
    return (d >= '0' && d <= '9') || (d >= 'a' && d <= 'f') || (d >= 'A' && d <= 'F');
}

static unsigned hex4(const unsigned char *p)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++)
        v = v << 4 | (unsigned)(p[k] <= '9' ? p[k] - '0' : (p[k] | 0x20) - 'a' + 10);
    return v;
}

/* scanstring_unicode: i is just after the opening quote. */
static long string(scan *c, size_t i)
{
    size_t begin = i - 1, n = c->n;
    for (;;) {
        size_t next = i;
        unsigned char d = 0;
        for (; next < n; next++) {
            d = c->s[next];
            if (d == '"' || d == '\\')
                break;
            if (d <= 0x1f)
                return fail(c, "Invalid control character at", next);
        }
        if (next == n || !(d == '"' || d == '\\'))
            return fail(c, "Unterminated string starting at", begin);
        if (d == '"')
            return (long)next + 1;
        next++; /* the backslash */
        if (next == n)
            return fail(c, "Unterminated string starting at", begin);
        d = c->s[next];
        if (d != 'u') {
            if (!strchr("\"\\/bfnrt", d) || d == 0)
                return fail(c, "Invalid \\escape", next - 1);
            i = next + 1;
            continue;
        }
        next++;
        size_t end = next + 4;
        if (end >= n)
            return fail(c, "Invalid \\uXXXX escape", next - 1);
        for (size_t k = next; k < end; k++)
            if (!is_hex(c->s[k]))
                return fail(c, "Invalid \\uXXXX escape", end - 5);
        unsigned u = hex4(c->s + next);
        next = end;
        if (u >= 0xd800 && u <= 0xdbff && end + 6 < n && c->s[next] == '\\' && c->s[next + 1] == 'u') {
            next += 2;
            end += 6;
            for (size_t k = next; k < end; k++)
                if (!is_hex(c->s[k]))
                    return fail(c, "Invalid \\uXXXX escape", end - 5);
            unsigned u2 = hex4(c->s + next);
            if (!(u2 >= 0xdc00 && u2 <= 0xdfff))
                end -= 6;
        }
        i = end;
    }
}

static long value(scan *c, size_t i, int depth);

/* _match_number_unicode: only a missing integer digit fails ("Expecting value" at start). */
static long number(scan *c, size_t start)
{
    size_t i = start, n = c->n;
    if (c->s[i] == '-' && ++i >= n)
        return fail(c, "Expecting value", start);
    if (c->s[i] >= '1' && c->s[i] <= '9') {
        while (++i < n && c->s[i] >= '0' && c->s[i] <= '9')
            ;
    } else if (c->s[i] == '0') {
        i++;
    } else {
        return fail(c, "Expecting value", start);
    }
    if (i + 1 < n && c->s[i] == '.' && c->s[i + 1] >= '0' && c->s[i + 1] <= '9') {
        i += 2;
        while (i < n && c->s[i] >= '0' && c->s[i] <= '9')
            i++;
    }
    if (i + 1 < n && (c->s[i] == 'e' || c->s[i] == 'E')) {
        size_t e = i++;
        if (i + 1 < n && (c->s[i] == '-' || c->s[i] == '+'))
            i++;
        while (i < n && c->s[i] >= '0' && c->s[i] <= '9')
            i++;
        if (!(c->s[i - 1] >= '0' && c->s[i - 1] <= '9'))
            i = e;
    }
    return (long)i;
}

/* _parse_object_unicode / _parse_array_unicode: i is just after the bracket. */
static long container(scan *c, size_t i, int depth, int object)
{
    char close = object ? '}' : ']';
    i = ws(c, i);
    if (i < c->n && c->s[i] == close)
        return (long)i + 1;
    for (;;) {
        long r;
        if (object) {
            if (i >= c->n || c->s[i] != '"')
                return fail(c, "Expecting property name enclosed in double quotes", i);
            if ((r = string(c, i + 1)) < 0)
                return r;
            i = ws(c, (size_t)r);
            if (i >= c->n || c->s[i] != ':')
                return fail(c, "Expecting ':' delimiter", i);
            i = ws(c, i + 1);
        }
        if ((r = value(c, i, depth + 1)) < 0)
            return r;
        i = ws(c, (size_t)r);
        if (i < c->n && c->s[i] == close)
            return (long)i + 1;
        if (i >= c->n || c->s[i] != ',')
            return fail(c, "Expecting ',' delimiter", i);
        i = ws(c, i + 1);
    }
}

static int word(const scan *c, size_t i, const char *w)
{
    size_t k = strlen(w);
    return i + k <= c->n && memcmp(c->s + i, w, k) == 0;
}

/* scan_once_unicode */
static long value(scan *c, size_t i, int depth)
{
    if (i >= c->n)
        return fail(c, "Expecting value", i);
    if (depth > PYJSON_MAX_DEPTH) {
        c->unsupported = 1;
        return fail(c, "", i);
    }
    switch (c->s[i]) {
    case '"':
        return string(c, i + 1);
    case '{':
    case '[':
        return container(c, i + 1, depth, c->s[i] == '{');
    case 'n':
        if (word(c, i, "null"))
            return (long)i + 4;
        break;
    case 't':
        if (word(c, i, "true"))
            return (long)i + 4;
        break;
    case 'f':
        if (word(c, i, "false"))
            return (long)i + 5;
        break;
    case 'N':
        if (word(c, i, "NaN"))
            return (long)i + 3;
        break;
    case 'I':
        if (word(c, i, "Infinity"))
            return (long)i + 8;
        break;
    case '-':
        if (word(c, i, "-Infinity"))
            return (long)i + 9;
        break;
    }
    return number(c, i);
}

int graft__kit_pyjson_utf8(const char *body, size_t n)
{
    const unsigned char *s = (const unsigned char *)body;
    int surrogates = 0;
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t more = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 9;
        if (more == 9 || n - i - 1 < more)
            return 1;
        unsigned v = more == 0 ? c : more == 1 ? c & 0x1f : more == 2 ? c & 0x0f : c & 0x07;
        for (size_t k = 1; k <= more; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 1;
            v = v << 6 | (s[i + k] & 0x3f);
        }
        static const unsigned min[] = {0, 0x80, 0x800, 0x10000};
        if (v < min[more] || v > 0x10ffff)
            return 1;
        surrogates |= v >= 0xd800 && v <= 0xdfff;
        i += more + 1;
    }
    return surrogates ? 2 : 0;
}

int graft__kit_pyjson_scan(const char *text, size_t n, size_t *pos, const char **msg)
{
    const unsigned char *s = (const unsigned char *)text;
    scan c = {.s = s, .n = n};
    long end = value(&c, ws(&c, 0), 0);
    if (c.unsupported)
        return GRAFT__KIT_UNSUPPORTED;
    if (end >= 0 && ws(&c, (size_t)end) != n)
        fail(&c, "Extra data", ws(&c, (size_t)end));
    else if (end >= 0)
        return GRAFT__PYJSON_OK;
    size_t chars = 0; /* a surrogate's 3-byte form is one character too */
    for (size_t i = 0; i < c.pos && i < n; i++)
        chars += (s[i] & 0xc0) != 0x80;
    *pos = chars;
    *msg = c.msg;
    return GRAFT__PYJSON_INVALID;
}

int graft__kit_pyjson_error(const char *body, size_t n, size_t *pos, const char **msg)
{
    char *text;
    size_t len;
    int rc = graft__kit_pyjson_decode(body, n, &text, &len);
    if (rc != 0)
        return rc;
    rc = graft__kit_pyjson_scan(text, len, pos, msg);
    free(text);
    return rc;
}
