/* Incremental UTF-8 validation (RFC 3629: no overlongs, no surrogates, <= U+10FFFF),
 * so text split across fragments is checked as it arrives. */
#include "utf8.h"

/* State: 0 accept, 1 reject, else (need << 24) | (lo << 16) | (hi << 8) | 2 where
 * need is the number of continuation bytes still due and [lo, hi] bounds the next one. */
#define ST(need, lo, hi) (((uint32_t)(need) << 24) | ((uint32_t)(lo) << 16) | ((uint32_t)(hi) << 8) | 2u)

uint32_t graft__utf8_step(uint32_t st, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        if (st == 0) {
            if (c < 0x80)
                continue;
            if (c >= 0xC2 && c <= 0xDF)
                st = ST(1, 0x80, 0xBF);
            else if (c == 0xE0)
                st = ST(2, 0xA0, 0xBF);
            else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
                st = ST(2, 0x80, 0xBF);
            else if (c == 0xED)
                st = ST(2, 0x80, 0x9F);
            else if (c == 0xF0)
                st = ST(3, 0x90, 0xBF);
            else if (c >= 0xF1 && c <= 0xF3)
                st = ST(3, 0x80, 0xBF);
            else if (c == 0xF4)
                st = ST(3, 0x80, 0x8F);
            else
                return GRAFT__UTF8_BAD;
            continue;
        }
        if (st == GRAFT__UTF8_BAD)
            return st;
        unsigned need = st >> 24, lo = (st >> 16) & 0xFF, hi = (st >> 8) & 0xFF;
        if (c < lo || c > hi)
            return GRAFT__UTF8_BAD;
        st = need == 1 ? 0 : ST(need - 1, 0x80, 0xBF);
    }
    return st;
}

int graft__utf8_valid(const char *s, size_t n)
{
    return graft__utf8_step(GRAFT__UTF8_OK, (const unsigned char *)s, n) == GRAFT__UTF8_OK;
}
