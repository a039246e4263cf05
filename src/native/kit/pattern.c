/* A safe subset of Rust regex, matched by a bounded NFA simulation (pattern.h). */
#include <string.h>

#include "coerce.h"
#include "pattern.h"

enum { A_LIT, A_ANY, A_CLASS };
#define PERL_D 1
#define PERL_W 2
#define PERL_S 4
#define INF 0xffff

/* Decodes the code point at s[*i] (valid UTF-8 assumed, as checked by the callers) and
 * advances *i. */
static uint32_t next_cp(const unsigned char *s, size_t *i)
{
    uint32_t c = s[(*i)++];
    int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
    if (more)
        c &= 0x3f >> more;
    while (more--)
        c = (c << 6) | (s[(*i)++] & 0x3f);
    return c;
}

/* Punctuation that stands for itself after a backslash. */
static int escapable(unsigned char e)
{
    return e && strchr(".\\+*?()[]{}^$|-/", e) != NULL;
}

/* One class member or range end: a literal code point or an escaped one; 0 when
 * unsupported, else the bytes read. */
static size_t class_char(const unsigned char *s, uint32_t *cp)
{
    size_t i = 0;
    if (s[0] == '\\') {
        if (s[1] == 'n' || s[1] == 't') {
            *cp = s[1] == 'n' ? '\n' : '\t';
            return 2;
        }
        if (!escapable(s[1]))
            return 0;
        *cp = s[1];
        return 2;
    }
    if (s[0] == '\0' || s[0] == '[' || s[0] == ']')
        return 0;
    *cp = next_cp(s, &i);
    return i;
}

/* Parses the class after '[' into a; returns the bytes read up to and with ']', or 0. */
static size_t parse_class(graft__kit_pattern *p, graft__kit_atom *a, const unsigned char *s)
{
    size_t i = 0;
    a->kind = A_CLASS;
    if (s[i] == '^') {
        a->neg = 1;
        i++;
    }
    a->first = (uint16_t)p->nranges;
    if (s[i] == ']')
        return 0; /* "[]...]": a literal ']' in Rust, left out */
    while (s[i] != ']') {
        if (s[i] == '\0' || s[i] == '[' || (s[i] == '&' && s[i + 1] == '&') ||
            (s[i] == '~' && s[i + 1] == '~') || (s[i] == '-' && s[i + 1] == '-'))
            return 0; /* nested classes and set operations */
        if (s[i] == '\\' && (s[i + 1] == 'd' || s[i + 1] == 'w' || s[i + 1] == 's')) {
            a->perl |= s[i + 1] == 'd' ? PERL_D : s[i + 1] == 'w' ? PERL_W : PERL_S;
            p->needs_ascii = 1;
            i += 2;
            continue;
        }
        uint32_t lo, hi;
        size_t k = class_char(s + i, &lo);
        if (!k)
            return 0;
        i += k;
        hi = lo;
        if (s[i] == '-' && s[i + 1] != ']') {
            k = class_char(s + i + 1, &hi);
            if (!k || hi < lo)
                return 0;
            i += 1 + k;
            if (s[i] == '-' && s[i + 1] != ']')
                return 0; /* "a-c-e": a range running on, left out */
        }
        if (p->nranges == GRAFT__KIT_PATTERN_RANGES)
            return 0;
        p->ranges[p->nranges][0] = lo;
        p->ranges[p->nranges][1] = hi;
        p->nranges++;
    }
    a->n = (uint16_t)(p->nranges - a->first);
    return i + 1;
}

/* Reads a decimal of 1 to 4 digits; 0 when there is none. */
static size_t number(const unsigned char *s, unsigned *v)
{
    size_t i = 0;
    *v = 0;
    while (i < 4 && s[i] >= '0' && s[i] <= '9')
        *v = *v * 10 + (unsigned)(s[i++] - '0');
    return s[i] >= '0' && s[i] <= '9' ? 0 : i;
}

/* Parses a quantifier at s into a (default {1,1}); returns the bytes read, or
 * (size_t)-1 when unsupported. */
static size_t parse_quant(graft__kit_atom *a, const unsigned char *s)
{
    size_t i = 0;
    unsigned lo = 1, hi = 1;
    if (s[0] == '*' || s[0] == '+' || s[0] == '?') {
        lo = s[0] == '+';
        hi = s[0] == '?' ? 1 : INF;
        i = 1;
    } else if (s[0] == '{') {
        size_t k = number(s + 1, &lo);
        if (!k)
            return (size_t)-1;
        i = 1 + k;
        hi = lo;
        if (s[i] == ',') {
            i++;
            hi = INF;
            if (s[i] != '}') {
                k = number(s + i, &hi);
                if (!k || hi < lo)
                    return (size_t)-1;
                i += k;
            }
        }
        if (s[i++] != '}')
            return (size_t)-1;
    }
    if (s[i] == '*' || s[i] == '+' || s[i] == '?' || s[i] == '{')
        return (size_t)-1; /* lazy, or a quantifier of a quantifier */
    a->min = (uint16_t)lo;
    a->max = (uint16_t)hi;
    return i;
}

int graft__kit_pattern_compile(graft__kit_pattern *p, const char *src)
{
    const unsigned char *s = (const unsigned char *)src;
    memset(p, 0, sizeof *p);
    size_t i = 0;
    if (s[i] == '^') {
        p->anchor_start = 1;
        i++;
    }
    while (s[i]) {
        if (s[i] == '$' && s[i + 1] == '\0') {
            p->anchor_end = 1;
            break;
        }
        if (p->natoms == GRAFT__KIT_PATTERN_ATOMS)
            return GRAFT__KIT_UNSUPPORTED;
        graft__kit_atom *a = &p->atoms[p->natoms];
        unsigned char c = s[i];
        if (c == '.') {
            a->kind = A_ANY;
            i++;
        } else if (c == '[') {
            size_t k = parse_class(p, a, s + i + 1);
            if (!k)
                return GRAFT__KIT_UNSUPPORTED;
            i += 1 + k;
        } else if (c == '\\') {
            unsigned char e = s[i + 1];
            const char *perl = e ? strchr("dwsDWS", e) : NULL;
            if (perl) {
                a->kind = A_CLASS;
                a->first = (uint16_t)p->nranges;
                a->perl = (uint8_t)((*perl | 0x20) == 'd' ? PERL_D : (*perl | 0x20) == 'w' ? PERL_W : PERL_S);
                a->neg = e < 'a';
                p->needs_ascii = 1;
            } else if (e == 'n' || e == 't') {
                a->kind = A_LIT;
                a->cp = e == 'n' ? '\n' : '\t';
            } else if (escapable(e)) {
                a->kind = A_LIT;
                a->cp = e;
            } else {
                return GRAFT__KIT_UNSUPPORTED;
            }
            i += 2;
        } else if (strchr("()|*+?{}]^$", c)) {
            return GRAFT__KIT_UNSUPPORTED;
        } else {
            a->kind = A_LIT;
            a->cp = next_cp(s, &i);
        }
        size_t q = parse_quant(a, s + i);
        if (q == (size_t)-1)
            return GRAFT__KIT_UNSUPPORTED;
        i += q;
        size_t states = (size_t)(a->max == INF ? a->min : a->max) + 1;
        if (p->nstates + states > GRAFT__KIT_PATTERN_STATES)
            return GRAFT__KIT_UNSUPPORTED;
        a->state = (uint16_t)p->nstates;
        p->nstates += states;
        p->natoms++;
    }
    return GRAFT__KIT_OK;
}

/* Whether atom a takes code point c. The \d \w \s sets are ASCII here: the caller declines
 * non-ASCII subjects for patterns that use them. */
static int takes(const graft__kit_pattern *p, const graft__kit_atom *a, uint32_t c)
{
    if (a->kind == A_LIT)
        return c == a->cp;
    if (a->kind == A_ANY)
        return c != '\n';
    int in = ((a->perl & PERL_D) && c >= '0' && c <= '9') ||
             ((a->perl & PERL_W) && ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) ||
             ((a->perl & PERL_W) && ((c >= '0' && c <= '9') || c == '_')) ||
             ((a->perl & PERL_S) && ((c >= 9 && c <= 13) || c == ' '));
    for (size_t k = a->first; k < (size_t)a->first + a->n && !in; k++)
        in = c >= p->ranges[k][0] && c <= p->ranges[k][1];
    return a->neg ? !in : in;
}

#define BIT(set, k) ((set)[(k) >> 6] >> ((k) & 63) & 1)
#define SET(set, k) ((set)[(k) >> 6] |= (uint64_t)1 << ((k) & 63))

/* Follows the empty moves: an atom repeated at least min times may hand over to the next
 * one. Returns whether the end of the pattern is reached. */
static int closure(const graft__kit_pattern *p, uint64_t *set)
{
    for (size_t k = 0; k < p->natoms; k++) {
        const graft__kit_atom *a = &p->atoms[k];
        unsigned cap = a->max == INF ? a->min : a->max;
        for (unsigned c = a->min; c <= cap; c++) {
            if (!BIT(set, a->state + c))
                continue;
            if (k + 1 == p->natoms)
                return 1;
            SET(set, p->atoms[k + 1].state);
            break;
        }
    }
    return 0;
}

int graft__kit_pattern_match(const graft__kit_pattern *p, const char *s, size_t n)
{
    if (p->needs_ascii)
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] >= 0x80)
                return GRAFT__KIT_UNSUPPORTED;
    if (p->natoms == 0)
        return p->anchor_start && p->anchor_end ? n == 0 : 1;
    uint64_t cur[GRAFT__KIT_PATTERN_STATES / 64] = {0}, next[GRAFT__KIT_PATTERN_STATES / 64];
    size_t pos = 0;
    SET(cur, 0);
    for (;;) {
        if (closure(p, cur) && (!p->anchor_end || pos == n))
            return 1;
        if (pos == n)
            return 0;
        uint32_t c = next_cp((const unsigned char *)s, &pos);
        memset(next, 0, sizeof next);
        int any = 0;
        for (size_t k = 0; k < p->natoms; k++) {
            const graft__kit_atom *a = &p->atoms[k];
            unsigned cap = a->max == INF ? a->min : a->max;
            for (unsigned q = 0; q <= cap; q++) {
                if (!BIT(cur, a->state + q) || (a->max != INF && q == a->max) || !takes(p, a, c))
                    continue;
                SET(next, a->state + (q + 1 > cap ? cap : q + 1));
                any = 1;
            }
        }
        memcpy(cur, next, sizeof cur);
        if (!p->anchor_start)
            SET(cur, 0); /* an unanchored search starts again at every position */
        else if (!any)
            return 0;
    }
}
