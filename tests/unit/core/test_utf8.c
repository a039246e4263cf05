/* Unit tests for the incremental UTF-8 validator (src/core/utf8.c).
 *
 * Each case is fed whole, byte by byte and split in two at every point: all feedings must
 * end in the same state, and the input must turn invalid exactly at the byte that condemns
 * it (the validator rejects as early as RFC 3629 allows, which is what lets a WebSocket
 * text message fail on the fragment that breaks it). Then every code point's encoding,
 * every overlong, surrogate and above-U+10FFFF form, every 2-byte string and every string of
 * up to 4 boundary bytes are checked against a reference that decodes code point values. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "utf8.h"

#include "../unit.h"

enum { OK, BAD, MORE }; /* valid, invalid, a valid prefix of a sequence */

static int verdict(uint32_t st)
{
    return st == GRAFT__UTF8_OK ? OK : st == GRAFT__UTF8_BAD ? BAD : MORE;
}

/* Steps over s[0..n) from st in an exactly-sized heap copy, so sanitizers see overreads. */
static uint32_t step_copy(uint32_t st, const char *s, size_t n)
{
    unsigned char *p = malloc(n ? n : 1);
    if (!p)
        abort();
    memcpy(p, s, n);
    st = graft__utf8_step(st, p, n);
    free(p);
    return st;
}

typedef struct ucase {
    const char *name;
    const char *in;
    size_t n;
    int want;   /* OK, BAD or MORE */
    int bad_at; /* BAD: index of the first byte no valid text can have there */
} ucase;

static const ucase cases[] = {
    {"empty", GRAFT__STRLIT(""), OK, -1},
    {"ASCII", GRAFT__STRLIT("hello, world"), OK, -1},
    {"NUL and DEL", GRAFT__STRLIT("\x00\x7f"), OK, -1},
    {"U+0080", GRAFT__STRLIT("\xc2\x80"), OK, -1},
    {"U+07FF", GRAFT__STRLIT("\xdf\xbf"), OK, -1},
    {"U+0800", GRAFT__STRLIT("\xe0\xa0\x80"), OK, -1},
    {"U+D7FF", GRAFT__STRLIT("\xed\x9f\xbf"), OK, -1},
    {"U+E000", GRAFT__STRLIT("\xee\x80\x80"), OK, -1},
    {"U+FFFD", GRAFT__STRLIT("\xef\xbf\xbd"), OK, -1},
    {"U+FFFF", GRAFT__STRLIT("\xef\xbf\xbf"), OK, -1},
    {"U+10000", GRAFT__STRLIT("\xf0\x90\x80\x80"), OK, -1},
    {"U+10FFFF", GRAFT__STRLIT("\xf4\x8f\xbf\xbf"), OK, -1},
    {"mixed", GRAFT__STRLIT("a\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80!"), OK, -1},
    /* truncated: valid so far, more is due */
    {"lead of 2", GRAFT__STRLIT("\xc2"), MORE, -1},
    {"2 of 3", GRAFT__STRLIT("a\xe2\x82"), MORE, -1},
    {"3 of 4", GRAFT__STRLIT("\xf0\x90\x80"), MORE, -1},
    {"1 of 4 after text", GRAFT__STRLIT("ok\xf4"), MORE, -1},
    /* lone and stray bytes */
    {"continuation alone", GRAFT__STRLIT("\x80"), BAD, 0},
    {"continuation after ASCII", GRAFT__STRLIT("ab\xbf"), BAD, 2},
    {"one continuation too many", GRAFT__STRLIT("\xc3\xa9\x80"), BAD, 2},
    {"C0 (overlong lead)", GRAFT__STRLIT("\xc0\x80"), BAD, 0},
    {"C1 (overlong lead)", GRAFT__STRLIT("\xc1\xbf"), BAD, 0},
    {"F5 (above U+10FFFF)", GRAFT__STRLIT("\xf5\x80\x80\x80"), BAD, 0},
    {"F8 (5-byte form)", GRAFT__STRLIT("\xf8\x88\x80\x80\x80"), BAD, 0},
    {"FE", GRAFT__STRLIT("\xfe"), BAD, 0},
    {"FF", GRAFT__STRLIT("\xff"), BAD, 0},
    /* second byte out of its lead's range */
    {"2-byte, ASCII next", GRAFT__STRLIT("\xc2\x7f"), BAD, 1},
    {"2-byte, lead next", GRAFT__STRLIT("\xc2\xc2\x80"), BAD, 1},
    {"overlong 3-byte (E0 9F)", GRAFT__STRLIT("\xe0\x9f\xbf"), BAD, 1},
    {"surrogate U+D800", GRAFT__STRLIT("\xed\xa0\x80"), BAD, 1},
    {"surrogate U+DFFF", GRAFT__STRLIT("\xed\xbf\xbf"), BAD, 1},
    {"CESU-8 pair", GRAFT__STRLIT("\xed\xa0\xbd\xed\xb8\x80"), BAD, 1},
    {"overlong 4-byte (F0 8F)", GRAFT__STRLIT("\xf0\x8f\xbf\xbf"), BAD, 1},
    {"U+110000 (F4 90)", GRAFT__STRLIT("\xf4\x90\x80\x80"), BAD, 1},
    /* a later continuation byte wrong */
    {"3-byte, third is ASCII", GRAFT__STRLIT("\xe1\x80\x41"), BAD, 2},
    {"4-byte, fourth is a lead", GRAFT__STRLIT("\xf1\x80\x80\xf1"), BAD, 3},
    {"valid then invalid", GRAFT__STRLIT("\xe2\x82\xac\xe2\x82"
                                         "x"), BAD, 5},
};

static void run_case(const ucase *c)
{
    uint32_t whole = step_copy(GRAFT__UTF8_OK, c->in, c->n);
    check(verdict(whole) == c->want, c->name, "whole: state %#x", (unsigned)whole);
    /* each prefix: invalid from the condemning byte on, never before */
    for (size_t k = 0; k <= c->n; k++) {
        uint32_t st = step_copy(GRAFT__UTF8_OK, c->in, k);
        int bad = c->want == BAD && (int)k > c->bad_at;
        check((st == GRAFT__UTF8_BAD) == bad, c->name, "prefix of %zu: state %#x", k, (unsigned)st);
    }
    /* split in two at every point, and byte by byte: the same end state */
    for (size_t k = 0; k <= c->n; k++) {
        uint32_t st = step_copy(GRAFT__UTF8_OK, c->in, k);
        st = step_copy(st, c->in + k, c->n - k);
        check(st == whole, c->name, "split at %zu: state %#x, whole %#x", k, (unsigned)st,
              (unsigned)whole);
    }
    uint32_t st = GRAFT__UTF8_OK;
    for (size_t k = 0; k < c->n; k++)
        st = step_copy(st, c->in + k, 1);
    check(st == whole, c->name, "byte by byte: state %#x, whole %#x", (unsigned)st, (unsigned)whole);
    /* nothing more leaves the state as it is; invalid stays invalid */
    check(graft__utf8_step(whole, NULL, 0) == whole, c->name, "empty step changed the state");
    if (whole == GRAFT__UTF8_BAD)
        check(step_copy(whole, GRAFT__STRLIT("\x00\x80\x80")) == GRAFT__UTF8_BAD, c->name,
              "recovered after invalid");
}

/* ---- reference: decode code point values, then judge them ---- */

static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};

/* Whether some code point valid in an L-byte form has its value in [lo, hi]. */
static int any_valid(uint32_t lo, uint32_t hi, int L)
{
    if (lo < min_cp[L])
        lo = min_cp[L];
    if (hi > 0x10FFFF)
        hi = 0x10FFFF;
    return lo <= hi && !(lo >= 0xD800 && hi <= 0xDFFF);
}

static int ref_verdict(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        int L = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!L)
            return BAD;
        uint32_t cp = L == 1 ? c : c & (0x7F >> L);
        size_t have = n - i < (size_t)L ? n - i : (size_t)L;
        for (size_t k = 1; k < have; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return BAD;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        int missing = L - (int)have;
        uint32_t lo = cp << (6 * missing), hi = lo | ((1u << (6 * missing)) - 1);
        if (!any_valid(lo, hi, L))
            return BAD;
        if (missing)
            return MORE;
        i += (size_t)L;
    }
    return OK;
}

static size_t encode(uint32_t cp, int L, unsigned char *out)
{
    static const unsigned char lead[5] = {0, 0, 0xC0, 0xE0, 0xF0};
    if (L == 1) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    for (int k = L - 1; k > 0; k--, cp >>= 6)
        out[k] = (unsigned char)(0x80 | (cp & 0x3F));
    out[0] = (unsigned char)(lead[L] | cp);
    return (size_t)L;
}

/* Every scalar value in its shortest form is valid, and each of its proper prefixes is a
 * prefix; every other form (overlong, surrogate, above U+10FFFF) is refused. */
static void test_every_code_point(void)
{
    long wrong = 0;
    for (uint32_t cp = 0; cp < 0x200000; cp++) {
        int shortest = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        int scalar = cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
        for (int L = shortest; L <= 4; L++) {
            if (L == 1 && cp >= 0x80)
                continue;
            unsigned char b[4];
            size_t n = encode(cp, L, b);
            int want = scalar && L == shortest ? OK : BAD;
            uint32_t st = graft__utf8_step(GRAFT__UTF8_OK, b, n);
            if (verdict(st) != want && wrong++ < 5)
                check(0, "code point", "U+%04X in %d bytes: state %#x", (unsigned)cp, L, (unsigned)st);
            for (size_t k = 1; want == OK && k < n; k++) {
                st = graft__utf8_step(GRAFT__UTF8_OK, b, k);
                if (verdict(st) != MORE && wrong++ < 5)
                    check(0, "code point", "U+%04X, %zu of %zu bytes: state %#x", (unsigned)cp, k,
                          n, (unsigned)st);
            }
        }
    }
    check(wrong == 0, "every code point", "%ld wrong", wrong);
}

static long compare(const unsigned char *s, size_t n, long wrong)
{
    int got = verdict(graft__utf8_step(GRAFT__UTF8_OK, s, n)), want = ref_verdict(s, n);
    if (got != want && wrong++ < 5) {
        char hex[16] = "";
        for (size_t i = 0; i < n; i++)
            snprintf(hex + 3 * i, 4, "%02x ", s[i]);
        check(0, "reference", "%s: got %d, reference %d", hex, got, want);
    }
    return wrong;
}

static void test_against_reference(void)
{
    static const unsigned char edge[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0,
                                         0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0,
                                         0xF1, 0xF3, 0xF4, 0xF5, 0xF8, 0xFF};
    const size_t E = sizeof edge;
    long wrong = 0;
    unsigned char s[4];
    for (unsigned a = 0; a < 256; a++) {
        s[0] = (unsigned char)a;
        wrong = compare(s, 1, wrong);
        for (unsigned b = 0; b < 256; b++) {
            s[1] = (unsigned char)b;
            wrong = compare(s, 2, wrong);
        }
    }
    for (size_t i = 0; i < E * E * E * E; i++) {
        s[0] = edge[i % E];
        s[1] = edge[i / E % E];
        s[2] = edge[i / E / E % E];
        s[3] = edge[i / E / E / E];
        wrong = compare(s, 3, wrong);
        wrong = compare(s, 4, wrong);
    }
    check(wrong == 0, "against the reference", "%ld wrong", wrong);
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
    test_every_code_point();
    test_against_reference();
    return unit_report();
}
