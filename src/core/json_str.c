/* JSON string escaping: the one escaper graft writes JSON text with (json_str.h). */
#include <errno.h>
#include <stdint.h>

#include "json_str.h"
#include "utf8.h"

/* Length of the UTF-8 sequence at s[0] (c >= 0x80): > 0 when valid, else minus the length
 * of its maximal subpart (the longest prefix of a valid sequence, at least one byte), which
 * is what Python's decode(errors="replace") turns into one U+FFFD (Unicode 3.9, U+FFFD
 * substitution of maximal subparts). */
static long utf8_seq(const unsigned char *s, size_t n)
{
    uint32_t st = graft__utf8_step(GRAFT__UTF8_OK, s, 1);
    if (st == GRAFT__UTF8_BAD)
        return -1;
    size_t k = 1;
    for (; k < n; k++) {
        st = graft__utf8_step(st, s + k, 1);
        if (st == GRAFT__UTF8_OK)
            return (long)(k + 1);
        if (st == GRAFT__UTF8_BAD)
            return -(long)k; /* s[k] is not part of it: it starts the next sequence */
    }
    return -(long)k; /* truncated at the end */
}

int graft__json_str(graft__buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int rc = graft__buf_append(out, GRAFT__STRLIT("\""));
    size_t start = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6];
        if (c >= 0x80) {
            long k = utf8_seq((const unsigned char *)s + i, n - i);
            if (k > 0) {
                i += (size_t)k - 1;
                continue;
            }
            rc = graft__buf_append(out, s + start, i - start);
            if (rc == 0)
                rc = graft__buf_append(out, GRAFT__STRLIT("\xef\xbf\xbd")); /* U+FFFD */
            i += (size_t)-k - 1;
            start = i + 1;
            continue;
        }
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c < 0x20) {
            u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0'; u[4] = hex[c >> 4]; u[5] = hex[c & 15];
            rc = graft__buf_append(out, s + start, i - start);
            if (rc == 0)
                rc = graft__buf_append(out, u, sizeof u);
            start = i + 1;
            continue;
        }
        if (esc) {
            rc = graft__buf_append(out, s + start, i - start);
            if (rc == 0)
                rc = graft__buf_append(out, esc, 2);
            start = i + 1;
        }
    }
    if (rc == 0)
        rc = graft__buf_append(out, s + start, n - start);
    if (rc == 0)
        rc = graft__buf_append(out, GRAFT__STRLIT("\""));
    return rc < 0 ? -ENOMEM : 0;
}
