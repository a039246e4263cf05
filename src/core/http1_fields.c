/* Validation of the header fields that decide message framing and connection
 * handling (RFC 9112 §6, RFC 9110 §7.2, §7.6.1, §10.1.1). Done inside the
 * parser so that every user of it gets the same, unambiguous framing. */
#include <stdint.h>
#include <string.h>

#include "http1_internal.h"

/* Next element of a comma-separated list of tokens (RFC 9110 §5.6.1): empty
 * elements and OWS around commas are skipped. Returns 1 with the token, 0 at
 * the end, -1 when an element is not a single token (parameters, quoted
 * strings, inner spaces...). */
static int next_token(const char *v, size_t len, size_t *pos, const char **tok, size_t *tok_len)
{
    size_t p = *pos;
    while (p < len && (v[p] == ',' || GRAFT__IS(v[p], GRAFT__CT_WS)))
        p++;
    if (p == len)
        return 0;
    size_t t = p;
    while (p < len && GRAFT__IS(v[p], GRAFT__CT_TCHAR))
        p++;
    if (p == t)
        return -1;
    *tok = v + t;
    *tok_len = p - t;
    while (p < len && GRAFT__IS(v[p], GRAFT__CT_WS))
        p++;
    if (p < len && v[p] != ',')
        return -1;
    *pos = p;
    return 1;
}

/* Content-Length = 1*DIGIT, also as a list of identical values ("5, 5") that
 * some intermediaries produce (RFC 9110 §8.6). Every element must be present
 * and equal to all others, including those of earlier fields. */
static int content_length(graft__http1_request *req, const char *v, size_t len)
{
    const int64_t max = (int64_t)1 << 62;
    size_t p = 0;
    for (;;) {
        size_t d = p;
        int64_t n = 0;
        while (p < len && GRAFT__IS(v[p], GRAFT__CT_DIGIT)) {
            int64_t digit = v[p++] - '0';
            if (n > (max - digit) / 10)
                return -400;
            n = n * 10 + digit;
        }
        if (p == d)
            return -400; /* empty element, sign, or other junk */
        if (req->content_length >= 0 && req->content_length != n)
            return -400;
        req->content_length = n;
        while (p < len && GRAFT__IS(v[p], GRAFT__CT_WS))
            p++;
        if (p == len)
            return 0;
        if (v[p++] != ',')
            return -400;
        while (p < len && GRAFT__IS(v[p], GRAFT__CT_WS))
            p++;
    }
}

/* Transfer-Encoding = 1#transfer-coding. Only the order is recorded here; the
 * verdict (400 / 501 / chunked) needs all fields, see graft__http1_fields_done. */
static int transfer_encoding(graft__http1_fstate *st, const char *v, size_t len)
{
    size_t p = 0, tl, n = 0;
    const char *t;
    int r;
    while ((r = next_token(v, len, &p, &t, &tl)) > 0) {
        n++;
        st->te_last_chunked = graft__tok_eq(t, tl, "chunked") != 0;
        if (st->te_last_chunked)
            st->te_chunked++;
        else
            st->te_other++;
    }
    if (r < 0 || n == 0)
        return -400; /* coding with parameters, bad token, or no coding at all */
    st->te_fields++;
    return 0;
}

static int connection(graft__http1_request *req, const char *v, size_t len)
{
    size_t p = 0, tl;
    const char *t;
    int r;
    while ((r = next_token(v, len, &p, &t, &tl)) > 0) {
        if (graft__tok_eq(t, tl, "close"))
            req->conn_close = 1;
        else if (graft__tok_eq(t, tl, "keep-alive"))
            req->conn_keep_alive = 1;
        else if (graft__tok_eq(t, tl, "upgrade"))
            req->conn_upgrade = 1;
    }
    return r < 0 ? -400 : 0;
}

int graft__http1_valid_host(const char *s, size_t len, int need_port)
{
    size_t p = 0;
    if (p < len && s[p] == '[') {
        /* IP-literal: checked loosely (hex, ':', '.', IPvFuture chars, zone). */
        p++;
        while (p < len && (GRAFT__IS(s[p], GRAFT__CT_REGNAME) || s[p] == ':' || s[p] == '%'))
            p++;
        if (p == 1 || p == len || s[p] != ']')
            return 0;
        p++;
    } else {
        /* reg-name / IPv4address: unreserved, sub-delims, pct-encoded. */
        while (p < len) {
            if (GRAFT__IS(s[p], GRAFT__CT_REGNAME))
                p++;
            else if (s[p] == '%' && len - p >= 3 && GRAFT__IS(s[p + 1], GRAFT__CT_HEX) &&
                     GRAFT__IS(s[p + 2], GRAFT__CT_HEX))
                p += 3;
            else
                break;
        }
    }
    if (p == len)
        return !need_port; /* empty Host is allowed (RFC 9110 §7.2) */
    if (p == 0 || s[p] != ':')
        return 0;
    size_t port = ++p;
    while (p < len && GRAFT__IS(s[p], GRAFT__CT_DIGIT))
        p++;
    return p == len && (!need_port || p > port);
}

int graft__http1_field(graft__http1_request *req, graft__http1_fstate *st, const char *name,
                       size_t name_len, const char *v, size_t len)
{
    /* Dispatch on length first: most fields are rejected without a compare.
     * Keep FRAMING_NAME_LENS in http1_request.c in step with these cases. */
    switch (name_len) {
    case 4:
        if (!graft__tok_eq(name, 4, "host"))
            return 0;
        if (++st->host_count > 1 || !graft__http1_valid_host(v, len, 0))
            return -400; /* RFC 9112 §3.2: duplicate or invalid Host */
        req->host = v;
        req->host_len = len;
        return 0;
    case 6:
        if (graft__tok_eq(name, 6, "expect") && len > 0) {
            if (graft__tok_eq(v, len, "100-continue"))
                req->expect_continue = 1;
            else
                req->expect_other = 1;
        }
        return 0;
    case 7:
        if (graft__tok_eq(name, 7, "upgrade"))
            req->has_upgrade = 1;
        return 0;
    case 10:
        return graft__tok_eq(name, 10, "connection") ? connection(req, v, len) : 0;
    case 14:
        return graft__tok_eq(name, 14, "content-length") ? content_length(req, v, len) : 0;
    case 17:
        return graft__tok_eq(name, 17, "transfer-encoding") ? transfer_encoding(st, v, len) : 0;
    default:
        return 0;
    }
}

int graft__http1_fields_done(graft__http1_request *req, const graft__http1_fstate *st)
{
    if (req->minor_version == 1 && st->host_count == 0)
        return -400; /* RFC 9112 §3.2 */
    if (st->te_fields == 0)
        return 0;
    /* Transfer-Encoding present. Every case that leaves the body length
     * ambiguous is 400 (RFC 9112 §6.1, §6.3): with Content-Length, in
     * HTTP/1.0, chunked not last, or chunked applied twice. A well-formed
     * list that ends in a single chunked but also has other codings
     * ("gzip, chunked") is only unsupported: 501 (RFC 9112 §6.1). */
    if (req->content_length >= 0 || req->minor_version == 0 || !st->te_last_chunked ||
        st->te_chunked != 1)
        return -400;
    if (st->te_other)
        return -501;
    req->chunked = 1;
    return 0;
}

int graft__list_next(const char **p, const char *end, const char **item, size_t *len)
{
    const char *v = *p;
    if (v >= end)
        return 0;
    const char *comma = memchr(v, ',', (size_t)(end - v));
    const char *a = v, *b = comma ? comma : end;
    while (a < b && (*a == ' ' || *a == '\t'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
        b--;
    *item = a;
    *len = (size_t)(b - a);
    *p = comma ? comma + 1 : end;
    return 1;
}
