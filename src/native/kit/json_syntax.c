/* Python's json.loads errors for malformed documents (json_syntax.h). The scanner walks bytes:
 * every position it reports is at an ASCII byte or a character's first byte, and is turned
 * into a code point count at the end. Each rule below names the CPython branch it follows. */
#include <string.h>

#include "coerce.h"
#include "json_syntax.h"
#include "utf8.h"

#define MAX_DEPTH 256

typedef struct scan {
    const char *s;
    size_t n;
    const char *msg; /* the error, once found */
    size_t at;       /* its byte offset */
    int deep;        /* nesting beyond MAX_DEPTH: not reproduced */
} scan;

/* Positions are returned through the value; SIZE_MAX is "failed" (msg / deep set). */
#define FAIL ((size_t)-1)

static size_t fail(scan *c, const char *msg, size_t at)
{
    c->msg = msg;
    c->at = at;
    return FAIL;
}

static int ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }
static int digit(char ch) { return ch >= '0' && ch <= '9'; }

static size_t skip_ws(const scan *c, size_t i)
{
    while (i < c->n && ws(c->s[i]))
        i++;
    return i;
}

static int hex4(const char *p)
{
    for (int k = 0; k < 4; k++)
        if (!(digit(p[k]) || (p[k] >= 'a' && p[k] <= 'f') || (p[k] >= 'A' && p[k] <= 'F')))
            return 0;
    return 1;
}

static unsigned hexval(const char *p)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++)
        v = v * 16 + (unsigned)(digit(p[k]) ? p[k] - '0' : (p[k] | 0x20) - 'a' + 10);
    return v;
}

/* scanstring_unicode: i is just past the opening quote; returns the index after the closing
 * one. */
static size_t string(scan *c, size_t i)
{
    size_t begin = i - 1, n = c->n;
    const char *s = c->s;
    for (;;) {
        while (i < n && s[i] != '"' && s[i] != '\\') {
            if ((unsigned char)s[i] <= 0x1f)
                return fail(c, "Invalid control character at", i);
            i++;
        }
        if (i == n)
            return fail(c, "Unterminated string starting at", begin);
        if (s[i] == '"')
            return i + 1;
        if (++i == n) /* past the backslash */
            return fail(c, "Unterminated string starting at", begin);
        if (s[i] != 'u') {
            if (!strchr("\"\\/bfnrt", s[i]) || s[i] == '\0')
                return fail(c, "Invalid \\escape", i - 1);
            i++;
            continue;
        }
        if (i + 5 >= n) /* CPython: end = next + 4 >= len, at the 'u' (a quote must follow) */
            return fail(c, "Invalid \\uXXXX escape", i);
        if (!hex4(s + i + 1))
            return fail(c, "Invalid \\uXXXX escape", i);
        unsigned u = hexval(s + i + 1);
        i += 5;
        /* a high surrogate followed by "\u": the second escape is read as its pair (and must
         * be hex, whatever it turns out to be), when end + 6 < len */
        if (u >= 0xd800 && u <= 0xdbff && i + 6 < n && s[i] == '\\' && s[i + 1] == 'u') {
            if (!hex4(s + i + 2))
                return fail(c, "Invalid \\uXXXX escape", i + 1);
            unsigned u2 = hexval(s + i + 2);
            if (u2 >= 0xdc00 && u2 <= 0xdfff)
                i += 6;
        }
    }
}

static size_t value(scan *c, size_t i, int depth);

/* _parse_object_unicode: i is just past '{'. */
static size_t object(scan *c, size_t i, int depth)
{
    i = skip_ws(c, i);
    if (i < c->n && c->s[i] == '}')
        return i + 1;
    for (;;) {
        if (i >= c->n || c->s[i] != '"')
            return fail(c, "Expecting property name enclosed in double quotes", i);
        if ((i = string(c, i + 1)) == FAIL)
            return FAIL;
        i = skip_ws(c, i);
        if (i >= c->n || c->s[i] != ':')
            return fail(c, "Expecting ':' delimiter", i);
        if ((i = value(c, skip_ws(c, i + 1), depth)) == FAIL)
            return FAIL;
        i = skip_ws(c, i);
        if (i < c->n && c->s[i] == '}')
            return i + 1;
        if (i >= c->n || c->s[i] != ',')
            return fail(c, "Expecting ',' delimiter", i);
        i = skip_ws(c, i + 1);
    }
}

/* _parse_array_unicode: i is just past '['. */
static size_t array(scan *c, size_t i, int depth)
{
    i = skip_ws(c, i);
    if (i < c->n && c->s[i] == ']')
        return i + 1;
    for (;;) {
        if ((i = value(c, i, depth)) == FAIL)
            return FAIL;
        i = skip_ws(c, i);
        if (i < c->n && c->s[i] == ']')
            return i + 1;
        if (i >= c->n || c->s[i] != ',')
            return fail(c, "Expecting ',' delimiter", i);
        i = skip_ws(c, i + 1);
    }
}

/* _match_number_unicode: "Expecting value" at the start when no integer part; a fraction
 * needs a digit after '.', an exponent a digit after e[+-] (else it is left unread). */
static size_t number(scan *c, size_t i)
{
    size_t start = i, n = c->n;
    const char *s = c->s;
    if (s[i] == '-' && ++i >= n)
        return fail(c, "Expecting value", start);
    if (s[i] >= '1' && s[i] <= '9')
        while (++i < n && digit(s[i]))
            ;
    else if (s[i] == '0')
        i++;
    else
        return fail(c, "Expecting value", start);
    if (i + 1 < n && s[i] == '.' && digit(s[i + 1]))
        for (i += 2; i < n && digit(s[i]); i++)
            ;
    if (i + 1 < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = i++;
        if (i + 1 < n && (s[i] == '-' || s[i] == '+'))
            i++;
        while (i < n && digit(s[i]))
            i++;
        if (!digit(s[i - 1]))
            i = e;
    }
    return i;
}

/* A named constant at i, matched only when the text after it is long enough, as CPython. */
static int word(const scan *c, size_t i, const char *w)
{
    size_t k = strlen(w);
    return c->n - i >= k && memcmp(c->s + i, w, k) == 0;
}

/* scan_once_unicode */
static size_t value(scan *c, size_t i, int depth)
{
    if (i >= c->n)
        return fail(c, "Expecting value", i);
    switch (c->s[i]) {
    case '"':
        return string(c, i + 1);
    case '{':
    case '[':
        if (depth >= MAX_DEPTH) {
            c->deep = 1;
            return FAIL;
        }
        return c->s[i] == '{' ? object(c, i + 1, depth + 1) : array(c, i + 1, depth + 1);
    case 'n':
        if (word(c, i, "null"))
            return i + 4;
        break;
    case 't':
        if (word(c, i, "true"))
            return i + 4;
        break;
    case 'f':
        if (word(c, i, "false"))
            return i + 5;
        break;
    case 'N':
        if (word(c, i, "NaN"))
            return i + 3;
        break;
    case 'I':
        if (word(c, i, "Infinity"))
            return i + 8;
        break;
    case '-':
        if (word(c, i, "-Infinity"))
            return i + 9;
        break;
    }
    return number(c, i);
}

int graft__kit_json_pyerror(const char *s, size_t n, const char **msg, size_t *pos)
{
    /* json.detect_encoding: BOMs (all start with one of these bytes; none is valid UTF-8 but
     * 0xEF, which then fails below or is a BOM) and the NULs of UTF-16/32 pick another codec */
    const unsigned char *u = (const unsigned char *)s;
    if ((n >= 3 && u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf) || ((n == 2 || n >= 4) && (!u[0] || !u[1])) ||
        !graft__utf8_valid(s, n))
        return GRAFT__KIT_UNSUPPORTED;
    scan c = {.s = s, .n = n};
    size_t end = value(&c, skip_ws(&c, 0), 0); /* JSONDecoder.decode: _w, raw_decode, _w */
    if (end == FAIL && c.deep)
        return GRAFT__KIT_UNSUPPORTED;
    if (end != FAIL && (end = skip_ws(&c, end)) == n)
        return 0;
    if (end != FAIL)
        fail(&c, "Extra data", end);
    size_t chars = 0;
    for (size_t i = 0; i < c.at; i++)
        chars += ((unsigned char)s[i] & 0xc0) != 0x80;
    *msg = c.msg;
    *pos = chars;
    return 1;
}
