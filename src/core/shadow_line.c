/* The mismatch line (shadow.h): one JSON object per differing request, self-contained so a
 * line can be read without the server's state: what was asked, what each side answered,
 * which parts differ. Credentials never reach the log; bodies are capped. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "json_str.h"
#include "shadow.h"
#include "utf8.h"

#define PUT(b, lit) graft__buf_append((b), GRAFT__STRLIT(lit))

/* Header values a log must not hold, whichever side sent them. */
static int redacted(const graft__field *f)
{
    return GRAFT__LIT_EQ(f->name, f->name_len, "authorization") ||
           GRAFT__LIT_EQ(f->name, f->name_len, "proxy-authorization") ||
           GRAFT__LIT_EQ(f->name, f->name_len, "cookie") ||
           GRAFT__LIT_EQ(f->name, f->name_len, "set-cookie");
}

/* Standard base64 (RFC 4648 §4) with padding, quoted as a JSON string. */
static int put_base64(graft__buf *b, const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (graft__buf_reserve(b, (n + 2) / 3 * 4 + 2) < 0)
        return -ENOMEM;
    char *d = b->data + b->len;
    *d++ = '"';
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *d++ = tab[v >> 18];
        *d++ = tab[(v >> 12) & 63];
        *d++ = tab[(v >> 6) & 63];
        *d++ = tab[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
        *d++ = tab[v >> 18];
        *d++ = tab[(v >> 12) & 63];
        *d++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        *d++ = '=';
    }
    *d++ = '"';
    b->len = (size_t)(d - b->data);
    return 0;
}

/* How many of the n shown bytes to write as text: n when they are UTF-8, fewer when the cut
 * (cut: bytes follow them) split a character, which is trimmed rather than turned into base64;
 * (size_t)-1 when they are not text. */
static size_t text_len(const char *s, size_t n, int cut)
{
    if (graft__utf8_valid(s, n))
        return n;
    for (size_t k = 1; cut && k <= 3 && k <= n; k++)
        if (graft__utf8_valid(s, n - k))
            return n - k;
    return (size_t)-1;
}

static int put_u64(graft__buf *b, uint64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%llu", (unsigned long long)v);
    return graft__buf_append(b, t, (size_t)n);
}

/* One side: {"status", "headers", "body", "body_base64", "body_length", "body_truncated"}. */
static int put_side(graft__buf *b, const graft__capture *c, size_t cap)
{
    int rc = PUT(b, "{\"status\": ");
    if (rc == 0)
        rc = c->status ? put_u64(b, (uint64_t)c->status) : PUT(b, "null");
    if (rc == 0)
        rc = PUT(b, ", \"headers\": [");
    for (size_t i = 0; i < c->nfields && rc == 0; i++) {
        const graft__field *f = &c->fields[i];
        rc = PUT(b, "[");
        if (rc == 0)
            rc = graft__json_str(b, f->name, f->name_len);
        if (rc == 0)
            rc = PUT(b, ", ");
        if (rc == 0)
            rc = redacted(f) ? PUT(b, "\"[redacted]\"") : graft__json_str(b, f->value, f->value_len);
        if (rc == 0)
            rc = i + 1 < c->nfields ? PUT(b, "], ") : PUT(b, "]");
    }
    if (rc == 0)
        rc = c->truncated_head ? PUT(b, "], \"headers_truncated\": true, \"body\": ")
                               : PUT(b, "], \"body\": ");
    size_t kept = graft__buf_avail(&c->body);
    size_t shown = kept < cap ? kept : cap;
    int cut = c->body_total > shown;
    const char *body = graft__buf_head(&c->body);
    size_t tl = shown ? text_len(body, shown, cut) : 0;
    int b64 = tl == (size_t)-1;
    if (rc == 0)
        rc = b64 ? put_base64(b, (const unsigned char *)body, shown) : graft__json_str(b, body, tl);
    if (rc == 0)
        rc = b64 ? PUT(b, ", \"body_base64\": true, \"body_length\": ")
                 : PUT(b, ", \"body_base64\": false, \"body_length\": ");
    if (rc == 0)
        rc = put_u64(b, c->body_total);
    if (rc == 0)
        rc = cut ? PUT(b, ", \"body_truncated\": true}") : PUT(b, ", \"body_truncated\": false}");
    return rc;
}

int graft__shadow_line(graft__buf *out, const char *method_route, const char *method,
                       const char *path, size_t path_len, const char *query, size_t query_len,
                       const graft__capture *python, const graft__capture *native, unsigned diff,
                       size_t body_log_cap)
{
    static const char *const parts[] = {"\"status\"", "\"headers\"", "\"body\""};
    size_t cap = body_log_cap ? body_log_cap : GRAFT__SHADOW_BODY_LOG_DEFAULT;
    size_t start = graft__buf_avail(out); /* unread bytes survive a compaction, offsets don't */
    int rc = PUT(out, "{\"route\": ");
    if (rc == 0)
        rc = graft__json_str(out, method_route, strlen(method_route));
    if (rc == 0)
        rc = PUT(out, ", \"request\": {\"method\": ");
    if (rc == 0)
        rc = graft__json_str(out, method, strlen(method));
    if (rc == 0)
        rc = PUT(out, ", \"path\": ");
    if (rc == 0)
        rc = graft__json_str(out, path, path_len);
    if (rc == 0)
        rc = PUT(out, ", \"query\": ");
    if (rc == 0)
        rc = graft__json_str(out, query ? query : "", query ? query_len : 0);
    if (rc == 0)
        rc = PUT(out, "}, \"differs\": [");
    int first = 1;
    for (unsigned i = 0; i < 3 && rc == 0; i++) {
        if (!(diff & (1u << i)))
            continue;
        if (!first)
            rc = PUT(out, ", ");
        if (rc == 0)
            rc = graft__buf_append(out, parts[i], strlen(parts[i]));
        first = 0;
    }
    if (rc == 0)
        rc = PUT(out, "], \"python\": ");
    if (rc == 0)
        rc = put_side(out, python, cap);
    if (rc == 0)
        rc = PUT(out, ", \"native\": ");
    if (rc == 0)
        rc = put_side(out, native, cap);
    if (rc == 0)
        rc = PUT(out, "}\n");
    if (rc < 0) {
        out->len = out->off + start; /* nothing half-written: out is as it was */
        return -ENOMEM;
    }
    return 0;
}
