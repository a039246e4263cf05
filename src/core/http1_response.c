/* The HTTP/1.x wire format of a response: the head (status line, Date, default headers,
 * framing, connection) and chunked framing. The only place either is written. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "response.h"
#include "status.h"

/* One Date cache per thread: no lock, and any thread (I/O, loop, handler) may write heads.
 * The text is refreshed when the second changes. */
static __thread struct {
    time_t sec;
    char text[32]; /* "Sun, 06 Nov 1994 08:49:37 GMT" */
} tl_date;

#define DATE_LEN 29

static const char *date_now(void)
{
    static const char wday[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct timespec ts;
    /* The coarse clock is a vDSO read without a syscall; 1 s resolution is all Date needs. */
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if (ts.tv_sec != tl_date.sec || tl_date.text[0] == '\0') {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(tl_date.text, sizeof tl_date.text, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                 wday[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
                 tm.tm_min, tm.tm_sec);
        tl_date.sec = ts.tv_sec;
    }
    return tl_date.text;
}

/* Decimal digits of v at p; returns how many (at most 20). */
static size_t put_dec(char *p, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static char *put_fields(char *p, const graft__field *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p = put(p, f[i].name, f[i].name_len);
        p = put(p, GRAFT__STRLIT(": "));
        p = put(p, f[i].value, f[i].value_len);
        p = put(p, GRAFT__STRLIT("\r\n"));
    }
    return p;
}

static size_t fields_size(const graft__field *f, size_t n)
{
    size_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += f[i].name_len + f[i].value_len + 4;
    return s;
}

enum { LINE_NONE, LINE_LENGTH, LINE_CHUNKED };
enum { CONN_NONE, CONN_CLOSE, CONN_KEEP };

/* The framing decision, and which framing and connection lines say it. */
static void decide(const graft__response *r, graft__response_decision *d, int *line, int *conn)
{
    int keep = r->keep_alive;
    int bodiless = (r->status >= 100 && r->status < 200) || r->status == 204 || r->status == 304;
    *line = LINE_NONE;
    d->framing = GRAFT__FRAMING_NONE;
    if (r->plan == GRAFT__PLAN_NONE || bodiless) {
        /* no body, so nothing frames one */
    } else if (r->plan == GRAFT__PLAN_LENGTH) {
        /* HEAD with nothing measured says nothing of GET's length: a stream or SSE may
         * follow a GET, and RFC 9110 §8.6 allows a length on HEAD only if it is GET's. */
        if (!(r->flags & GRAFT__RESP_OWN_LENGTH) && !(r->is_head && r->body_len == 0))
            *line = LINE_LENGTH;
        d->framing = r->is_head ? GRAFT__FRAMING_NONE : GRAFT__FRAMING_LENGTH;
    } else if (r->minor_version >= 1) {
        if (!r->is_head) {
            *line = LINE_CHUNKED;
            d->framing = GRAFT__FRAMING_CHUNKED;
        }
    } else {
        keep = 0; /* HTTP/1.0 has no chunked coding: the body ends when the connection does */
        d->framing = r->is_head ? GRAFT__FRAMING_NONE : GRAFT__FRAMING_CLOSE;
    }
    if (r->flags & GRAFT__RESP_OWN_CONNECTION)
        *conn = CONN_NONE;
    else if (!keep)
        *conn = CONN_CLOSE;
    else
        *conn = r->minor_version == 0 ? CONN_KEEP : CONN_NONE; /* 1.0 closes unless told */
    d->close = !keep;
}

static char *put_framing(char *p, const graft__response *r, int line, int conn)
{
    if (line == LINE_LENGTH) {
        p = put(p, GRAFT__STRLIT("content-length: "));
        p += put_dec(p, r->body_len);
        p = put(p, GRAFT__STRLIT("\r\n"));
    } else if (line == LINE_CHUNKED) {
        p = put(p, GRAFT__STRLIT("transfer-encoding: chunked\r\n"));
    }
    if (conn == CONN_CLOSE)
        p = put(p, GRAFT__STRLIT("connection: close\r\n"));
    else if (conn == CONN_KEEP)
        p = put(p, GRAFT__STRLIT("connection: keep-alive\r\n"));
    return p;
}

int graft__http1_response_head(graft__buf *out, const graft__response *resp,
                               const graft__engine_config *cfg, graft__response_decision *d)
{
    int line, conn;
    decide(resp, d, &line, &conn);
    const char *reason = graft__status_reason(resp->status);
    size_t rlen = strlen(reason);
    int date = cfg && cfg->date_header && !(resp->flags & GRAFT__RESP_NO_DATE);
    size_t dlen = cfg && cfg->default_headers ? cfg->default_headers_len : 0;
    /* Sized first, so one reserve covers the head and a failure leaves out as it was. */
    size_t need = sizeof "HTTP/1.1  \r\n" + 20 + rlen + fields_size(resp->lead, resp->nlead) +
                  sizeof "content-length: \r\n" + 20 + sizeof "connection: keep-alive\r\n" +
                  (date ? sizeof "date: \r\n" + DATE_LEN : 0) + dlen +
                  fields_size(resp->fields, resp->nfields) + 2;
    if (graft__buf_reserve(out, need) < 0)
        return -ENOMEM;
    char *p = out->data + out->len;
    p = put(p, GRAFT__STRLIT("HTTP/1.1 ")); /* always 1.1: RFC 9110 §2.5 */
    p += put_dec(p, resp->status < 0 ? 0 : (uint64_t)resp->status);
    *p++ = ' ';
    p = put(p, reason, rlen);
    p = put(p, GRAFT__STRLIT("\r\n"));
    p = put_fields(p, resp->lead, resp->nlead);
    if (resp->flags & GRAFT__RESP_FRAMING_EARLY)
        p = put_framing(p, resp, line, conn);
    if (date) {
        p = put(p, GRAFT__STRLIT("date: "));
        p = put(p, date_now(), DATE_LEN);
        p = put(p, GRAFT__STRLIT("\r\n"));
    }
    if (dlen)
        p = put(p, cfg->default_headers, dlen);
    p = put_fields(p, resp->fields, resp->nfields);
    if (!(resp->flags & GRAFT__RESP_FRAMING_EARLY))
        p = put_framing(p, resp, line, conn);
    p = put(p, GRAFT__STRLIT("\r\n"));
    out->len = (size_t)(p - out->data);
    return 0;
}

size_t graft__fields_from_lines(const char *lines, size_t len, graft__field *out, size_t max)
{
    size_t n = 0;
    if (!len)
        return 0; /* lines may be NULL then */
    const char *p = lines, *end = lines + len;
    while (p < end) {
        /* Names hold no ':' and values no CR or LF: the producer checked both. */
        const char *colon = memchr(p, ':', (size_t)(end - p));
        const char *eol = colon ? memchr(colon, '\r', (size_t)(end - colon)) : NULL;
        if (!eol)
            break;
        if (n < max) {
            const char *v = colon + 1 < eol && colon[1] == ' ' ? colon + 2 : colon + 1;
            out[n] = (graft__field){p, (size_t)(colon - p), v, (size_t)(eol - v)};
        }
        n++;
        p = eol + 2;
    }
    return n;
}

size_t graft__chunk_prefix(char out[GRAFT__CHUNK_PREFIX_MAX], size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[16];
    size_t n = 0;
    do {
        tmp[n++] = hex[len & 15];
        len >>= 4;
    } while (len);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\r';
    out[n + 1] = '\n';
    return n + 2;
}

struct iovec graft__chunk_end(int last)
{
    static const char end[] = "\r\n0\r\n\r\n";
    return (struct iovec){(void *)end, last ? sizeof end - 1 : 2};
}

struct iovec graft__chunk_last(void)
{
    static const char last[] = "0\r\n\r\n";
    return (struct iovec){(void *)last, sizeof last - 1};
}

struct iovec graft__http1_continue(void)
{
    return (struct iovec){GRAFT__STRLIT("HTTP/1.1 100 Continue\r\n\r\n")};
}
