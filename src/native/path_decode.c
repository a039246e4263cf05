/* The path native routes match: the text the app sees as scope["path"] (the bridge's
 * decode_path, src/bridge/scope.c, which is what uvicorn gives apps), so a native route and
 * FastAPI's router always judge the same string. */
#include "path_decode.h"

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The decoded byte at *i (advancing past it): "%XX" is one byte, anything else (a '%' not
 * followed by two hex digits included, as urllib's unquote leaves it) is itself. */
static unsigned char next_byte(const char *s, size_t n, size_t *i)
{
    unsigned char c = (unsigned char)s[*i];
    if (c == '%' && *i + 2 < n) {
        int hi = hexval((unsigned char)s[*i + 1]), lo = hexval((unsigned char)s[*i + 2]);
        if (hi >= 0 && lo >= 0) {
            *i += 3;
            return (unsigned char)(hi * 16 + lo);
        }
    }
    *i += 1;
    return c;
}

/* How many bytes a UTF-8 sequence starting with lead has, and the range its second byte must
 * fall in (Unicode table 3-7: no overlongs, no surrogates, nothing above U+10FFFF); 0 for a
 * byte that cannot start one. */
static int seq_len(unsigned char lead, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF)
        return 2;
    if (lead >= 0xE0 && lead <= 0xEF) {
        if (lead == 0xE0)
            *lo = 0xA0;
        else if (lead == 0xED)
            *hi = 0x9F;
        return 3;
    }
    if (lead >= 0xF0 && lead <= 0xF4) {
        if (lead == 0xF0)
            *lo = 0x90;
        else if (lead == 0xF4)
            *hi = 0x8F;
        return 4;
    }
    return 0;
}

static const unsigned char replacement[3] = {0xEF, 0xBF, 0xBD}; /* U+FFFD */

long graft__path_decode(char *dst, size_t cap, const char *src, size_t n)
{
    size_t o = 0, i = 0;
    while (i < n) {
        unsigned char c = next_byte(src, n, &i);
        if (c < 0x80) {
            if (o == cap)
                return -1;
            dst[o++] = (char)c;
            continue;
        }
        unsigned char lo, hi, seq[4] = {c};
        int want = seq_len(c, &lo, &hi), got = 1;
        /* Take continuation bytes while they fit; Python's "replace" then turns the longest
         * valid-so-far prefix of a broken sequence into one U+FFFD (a lone bad byte too). */
        while (got < want && i < n) {
            size_t peek = i;
            unsigned char b = next_byte(src, n, &peek);
            if (b < lo || b > hi)
                break;
            seq[got++] = b;
            i = peek;
            lo = 0x80;
            hi = 0xBF;
        }
        const unsigned char *out = got == want ? seq : replacement;
        size_t len = got == want ? (size_t)want : sizeof replacement;
        if (cap - o < len)
            return -1;
        for (size_t k = 0; k < len; k++)
            dst[o++] = (char)out[k];
    }
    return (long)o;
}
