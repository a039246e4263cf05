/* json.loads(bytes)'s first step: json.detect_encoding picks the codec (a BOM, or the NULs
 * ASCII text has in UTF-16/32 among the first four bytes), then bytes.decode(codec,
 * "surrogatepass"). The text is handed on as UTF-8, lone surrogates written as their 3-byte
 * forms (as the surrogatepass codecs would keep them). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coerce.h"
#include "pyjson.h"

enum codec { UTF8, UTF16LE, UTF16BE, UTF32LE, UTF32BE };

static size_t put(char *o, uint32_t c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xc0 | c >> 6);
        o[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xe0 | c >> 12);
        o[1] = (char)(0x80 | (c >> 6 & 0x3f));
        o[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | c >> 18);
    o[1] = (char)(0x80 | (c >> 12 & 0x3f));
    o[2] = (char)(0x80 | (c >> 6 & 0x3f));
    o[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

static uint32_t unit(const unsigned char *p, enum codec k)
{
    switch (k) {
    case UTF16LE: return (uint32_t)p[0] | (uint32_t)p[1] << 8;
    case UTF16BE: return (uint32_t)p[0] << 8 | p[1];
    case UTF32LE: return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    default: return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    }
}

/* json.detect_encoding; *skip is the BOM the codec drops ("utf-16", "utf-32", "utf-8-sig"). */
static enum codec detect(const unsigned char *s, size_t n, size_t *skip)
{
    *skip = 0;
    if (n >= 4 && ((s[0] == 0 && s[1] == 0 && s[2] == 0xfe && s[3] == 0xff) ||
                   (s[0] == 0xff && s[1] == 0xfe && s[2] == 0 && s[3] == 0))) {
        *skip = 4;
        return s[0] == 0 ? UTF32BE : UTF32LE;
    }
    if (n >= 2 && ((s[0] == 0xfe && s[1] == 0xff) || (s[0] == 0xff && s[1] == 0xfe))) {
        *skip = 2;
        return s[0] == 0xfe ? UTF16BE : UTF16LE;
    }
    if (n >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf) {
        *skip = 3;
        return UTF8;
    }
    if (n >= 4 && !s[0])
        return s[1] ? UTF16BE : UTF32BE;
    if (n >= 4 && !s[1])
        return s[2] || s[3] ? UTF16LE : UTF32LE;
    if (n == 2 && !s[0])
        return UTF16BE;
    if (n == 2 && !s[1])
        return UTF16LE;
    return UTF8;
}

int graft__kit_pyjson_decode(const char *body, size_t n, char **text, size_t *len)
{
    const unsigned char *s = (const unsigned char *)body;
    size_t skip, o = 0;
    enum codec k = detect(s, n, &skip);
    s += skip;
    n -= skip;
    char *out = malloc(2 * n + 8);
    if (!out)
        return -ENOMEM;
    if (k == UTF8) {
        if (graft__kit_pyjson_utf8((const char *)s, n) == 1) {
            free(out);
            return GRAFT__PYJSON_UNICODE;
        }
        memcpy(out, s, n);
        o = n;
    } else {
        size_t w = k == UTF16LE || k == UTF16BE ? 2 : 4;
        if (n % w) { /* "truncated data" */
            free(out);
            return GRAFT__PYJSON_UNICODE;
        }
        for (size_t i = 0; i < n; i += w) {
            uint32_t c = unit(s + i, k);
            if (w == 2 && c >= 0xd800 && c <= 0xdbff && i + 4 <= n) {
                uint32_t c2 = unit(s + i + 2, k);
                if (c2 >= 0xdc00 && c2 <= 0xdfff) {
                    c = 0x10000 + ((c - 0xd800) << 10) + (c2 - 0xdc00);
                    i += 2;
                }
            }
            if (c > 0x10ffff) { /* "code point not in range(0x110000)" */
                free(out);
                return GRAFT__PYJSON_UNICODE;
            }
            o += put(out + o, c);
        }
    }
    out[o] = '\0';
    *text = out;
    *len = o;
    return 0;
}
