/* Strict HTTP/1.1 request-head parser (RFC 9112 §2-§5, RFC 9110 §5).
 *
 * The parser is stateless: the caller hands it the whole buffer each time and
 * it re-scans from the start. Scanning is strictly left to right and every
 * check depends only on the bytes already seen, so a prefix of a request
 * yields either 0 (need more) or the very same result as the whole request.
 * Limits are applied by truncating the view of the buffer: the head must fit
 * in max_head bytes (else -431) and the request line in max_request_line
 * bytes (else -414), whether or not the rest has arrived yet. */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "http1_internal.h"

/* Bits: see GRAFT__CT_* in http1_internal.h. Generated from the RFC grammar;
 * tests/unit/core/test_http1.c re-derives every entry and compares. */
const unsigned char graft__http1_ctype[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc4, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xc4, 0x67, 0x06, 0x45, 0x67, 0x47, 0x67, 0x67, 0x66, 0x66, 0x67, 0x67, 0x66, 0x67, 0x67, 0x46,
    0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x46, 0x66, 0x46, 0x66, 0x46, 0x46,
    0x46, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67,
    0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x46, 0x06, 0x46, 0x47, 0x67,
    0x47, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67,
    0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x46, 0x47, 0x46, 0x67, 0x00,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
};

int graft__tok_eq(const char *s, size_t len, const char *lower)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + ('a' - 'A'));
        if (lower[i] == '\0' || c != (unsigned char)lower[i])
            return 0;
    }
    return lower[len] == '\0';
}

enum { NEED_MORE = 0, DONE = 1 };

/* request-line = method SP request-target SP HTTP-version CRLF. The content
 * (without CRLF) must end by `end`; any content byte at or past it is -414.
 * On success *next is the offset just past the LF. */
static int parse_request_line(const unsigned char *s, size_t p, size_t lim, size_t end,
                              graft__http1_request *req, size_t *next)
{
    size_t m = p;
    for (;; p++) {
        if (p >= lim)
            return NEED_MORE;
        if (p >= end)
            return -414;
        if (!GRAFT__IS(s[p], GRAFT__CT_TCHAR))
            break;
    }
    if (p == m || s[p] != ' ')
        return -400;
    req->method = (const char *)s + m;
    req->method_len = p - m;

    size_t t = ++p;
    for (;; p++) {
        if (p >= lim)
            return NEED_MORE;
        if (p >= end)
            return -414;
        if (!GRAFT__IS(s[p], GRAFT__CT_TARGET))
            break;
    }
    if (p == t || s[p] != ' ')
        return -400;
    req->target = (const char *)s + t;
    req->target_len = p - t;

    /* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3). */
    p++;
    for (size_t i = 0; i < 8; i++, p++) {
        if (p >= lim)
            return NEED_MORE;
        if (p >= end)
            return -414;
        unsigned char c = s[p];
        int ok = i < 5 ? c == (unsigned char)"HTTP/"[i]
                 : i == 6 ? c == '.'
                          : GRAFT__IS(c, GRAFT__CT_DIGIT) != 0;
        if (!ok)
            return -400;
    }
    if (p >= lim)
        return NEED_MORE;
    if (s[p] != '\r')
        return -400;
    if (p + 1 >= lim)
        return NEED_MORE;
    if (s[p + 1] != '\n')
        return -400;
    if (s[p - 3] != '1')
        return -505;
    /* 1.2 .. 1.9: a later minor version of 1.x, handled as 1.1 (RFC 9110 §2.5). */
    req->minor_version = s[p - 1] == '0' ? 0 : 1;
    *next = p + 2;
    return DONE;
}

static const char slash[] = "/";

/* Classifies the request-target (RFC 9112 §3.2) and fills path/query/authority. */
static int classify_target(graft__http1_request *req)
{
    const char *t = req->target;
    size_t n = req->target_len;

    req->query = t + n;
    req->query_len = 0;
    if (GRAFT__LIT_EQ(req->method, req->method_len, "CONNECT")) {
        /* authority-form = uri-host ":" port, and CONNECT allows no other form. */
        if (!graft__http1_valid_host(t, n, 1))
            return -400;
        req->authority = t;
        req->authority_len = n;
        req->path = t;
        req->path_len = n;
        return 0;
    }
    if (t[0] == '*') {
        if (n != 1 || !GRAFT__LIT_EQ(req->method, req->method_len, "OPTIONS"))
            return -400;
        req->path = t;
        req->path_len = 1;
        return 0;
    }
    size_t a = 0; /* offset of the path within the target */
    if (t[0] != '/') {
        /* absolute-form, only for the http and https schemes. */
        static const char http[] = "http://", https[] = "https://";
        if (n > sizeof http - 1 && graft__tok_eq(t, sizeof http - 1, http))
            a = sizeof http - 1;
        else if (n > sizeof https - 1 && graft__tok_eq(t, sizeof https - 1, https))
            a = sizeof https - 1;
        else
            return -400;
        size_t e = a;
        while (e < n && t[e] != '/' && t[e] != '?')
            e++;
        if (e == a || !graft__http1_valid_host(t + a, e - a, 0))
            return -400;
        req->authority = t + a;
        req->authority_len = e - a;
        a = e;
    }
    const char *q = memchr(t + a, '?', n - a);
    size_t pe = q ? (size_t)(q - t) : n;
    if (pe == a) {
        req->path = slash; /* absolute-form with an empty path */
        req->path_len = 1;
    } else {
        req->path = t + a;
        req->path_len = pe - a;
    }
    if (q) {
        req->query = q + 1;
        req->query_len = n - pe - 1;
    }
    return 0;
}

/* First offset in [p, lim) that is not a field-value byte. Eight bytes at a
 * time: a word with no byte < 0x20 and no 0x7F is all value bytes. */
static size_t scan_value(const unsigned char *s, size_t p, size_t lim)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    for (;;) {
        while (lim - p >= 8) {
            uint64_t x;
            memcpy(&x, s + p, 8);
            uint64_t ctl = (x - ones * 0x20) & ~x & highs;
            uint64_t d = x ^ (ones * 0x7f);
            uint64_t del = (d - ones) & ~d & highs;
            if (ctl | del)
                break;
            p += 8;
        }
        /* Up to 8 bytes one by one (HTAB is legal but trips the word test). */
        size_t stop = lim - p >= 8 ? p + 8 : lim;
        for (; p < stop; p++)
            if (!GRAFT__IS(s[p], GRAFT__CT_VALUE))
                return p;
        if (p == lim)
            return p;
    }
}

/* Lengths of the names graft__http1_field acts on (host, expect, upgrade,
 * connection, content-length, transfer-encoding): skips the call for most. */
#define FRAMING_NAME_LENS (1u << 4 | 1u << 6 | 1u << 7 | 1u << 10 | 1u << 14 | 1u << 17)

/* Field lines and the empty line that ends the head. Returns the head length,
 * NEED_MORE or a negative status. */
static int parse_fields(const unsigned char *s, size_t p, size_t lim, graft__http1_request *req,
                        size_t max_headers)
{
    graft__http1_fstate st = {0};
    size_t n = 0;
    for (;;) {
        if (p >= lim)
            return NEED_MORE;
        if (s[p] == '\r') {
            if (p + 1 >= lim)
                return NEED_MORE;
            if (s[p + 1] != '\n')
                return -400;
            req->num_headers = n;
            int r = graft__http1_fields_done(req, &st);
            return r < 0 ? r : (int)(p + 2);
        }
        if (n == max_headers)
            return -431;
        /* field-name ":" — no whitespace before the colon, no obs-fold. */
        size_t name = p;
        while (p < lim && GRAFT__IS(s[p], GRAFT__CT_TCHAR))
            p++;
        if (p >= lim)
            return NEED_MORE;
        if (p == name || s[p] != ':')
            return -400;
        size_t name_len = p - name;
        p++;
        while (p < lim && GRAFT__IS(s[p], GRAFT__CT_WS))
            p++;
        size_t val = p;
        p = scan_value(s, p, lim);
        if (p >= lim)
            return NEED_MORE;
        if (s[p] != '\r')
            return -400; /* bare LF, NUL, other CTL or DEL */
        if (p + 1 >= lim)
            return NEED_MORE;
        if (s[p + 1] != '\n')
            return -400; /* bare CR */
        size_t ve = p;
        while (ve > val && GRAFT__IS(s[ve - 1], GRAFT__CT_WS))
            ve--;
        graft__header *h = &req->headers[n++];
        h->name = (const char *)s + name;
        h->name_len = name_len;
        h->value = (const char *)s + val;
        h->value_len = ve - val;
        if (name_len < 32 && (FRAMING_NAME_LENS >> name_len & 1)) {
            int r = graft__http1_field(req, &st, h->name, name_len, h->value, h->value_len);
            if (r < 0)
                return r;
        }
        p += 2;
    }
}

/* Whether [q, e) holds an LF followed by LF or CRLF. memchr visits one LF per
 * line, so this stays far cheaper than a validating scan. */
static int maybe_ended(const unsigned char *q, const unsigned char *e)
{
    while (q < e && (q = memchr(q, '\n', (size_t)(e - q))) != NULL) {
        if (e - q >= 2 && q[1] == '\n')
            return 1;
        if (e - q >= 3 && q[1] == '\r' && q[2] == '\n')
            return 1;
        q++;
    }
    return 0;
}

int graft__http1_parse_request(const char *buf, size_t len, graft__http1_request *req,
                               const graft__http1_limits *limits)
{
    const unsigned char *s = (const unsigned char *)buf;
    /* Everything past max_head is invisible: a head that does not end within
     * it can never succeed, so once that many bytes are here it is -431. */
    size_t max_head = limits->max_head < INT_MAX ? limits->max_head : INT_MAX; /* fits the result */
    size_t lim = len < max_head ? len : max_head;
    int over = len >= max_head;

    req->method = req->target = req->path = req->query = NULL;
    req->method_len = req->target_len = req->path_len = req->query_len = 0;
    req->authority = req->host = NULL;
    req->authority_len = req->host_len = 0;
    req->minor_version = 1;
    req->num_headers = 0;
    req->content_length = -1;
    req->chunked = req->expect_continue = req->expect_other = 0;
    req->conn_close = req->conn_keep_alive = req->conn_upgrade = req->has_upgrade = 0;

    /* RFC 9112 §2.2: ignore empty lines before the request-line. */
    size_t p = 0;
    while (p + 1 < lim && s[p] == '\r' && s[p + 1] == '\n')
        p += 2;
    if (p < lim && s[p] == '\n')
        return -400; /* bare LF */
    if (p < lim && s[p] == '\r')
        return p + 1 < lim ? -400 : over ? -431 : NEED_MORE; /* bare CR, or CR|LF split */

    size_t end = limits->max_request_line;
    end = end > SIZE_MAX - p ? SIZE_MAX : p + end;

    size_t next = 0;
    int r = parse_request_line(s, p, lim, end, req, &next);
    if (r == NEED_MORE)
        return over ? -431 : NEED_MORE;
    if (r < 0)
        return r;
    static const char end_crlf[] = "\r\n\r\n";
    const size_t end_len = sizeof end_crlf - 1;
    /* Cheap pre-check before the validating scan: unless some LF (from the
     * request line's on) is followed by CRLF or LF, the head cannot have
     * ended, nor been cut short by a bare-LF line, so ask for more bytes. */
    if (!over && !(lim - next >= 2 && memcmp(s + lim - end_len, end_crlf, end_len) == 0) &&
        !maybe_ended(s + next - 1, s + lim))
        return NEED_MORE;
    if ((r = classify_target(req)) < 0)
        return r;
    r = parse_fields(s, next, lim, req, limits->max_headers);
    if (r == NEED_MORE && over)
        return -431;
    return r;
}
