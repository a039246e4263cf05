/* Unit tests for the HTTP/1.x response writer (src/core/http1_response.c): every framing
 * decision over status x HEAD x HTTP/1.0 x body plan x keep-alive, the flags through which
 * producers keep their wire order, Date and default headers, exact head bytes, chunked
 * framing and the header-line splitter. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "response.h"

#include "../unit.h"

/* The head as a NUL-terminated string (heads hold no NUL). */
static char *head_of(const graft__response *r, const graft__engine_config *cfg,
                     graft__response_decision *d)
{
    graft__buf b = {0};
    if (graft__http1_response_head(&b, r, cfg, d) < 0 || graft__buf_append(&b, "", 1) < 0) {
        printf("out of memory\n");
        exit(2);
    }
    return b.data;
}

/* Whether the head has exactly this line (with its CRLF), and where. */
static const char *line_at(const char *head, const char *line)
{
    char want[256];
    snprintf(want, sizeof want, "\r\n%s\r\n", line);
    return strstr(head, want);
}

static void expect_line(const char *name, const char *head, const char *line, int present)
{
    if (!!line_at(head, line) != present)
        fail(name, "line \"%s\" %s in:\n%s", line, present ? "missing" : "unexpected", head);
}

/* ------------------------------------------------------------ framing matrix */

/* What RFC 9110/9112 ask of each combination, stated rule by rule. */
struct expect {
    int framing, close;
    int content_length; /* a content-length line */
    int chunked;        /* a transfer-encoding: chunked line */
};

static struct expect expected(int status, int head, int minor, int plan, uint64_t len, int keep)
{
    struct expect e = {GRAFT__FRAMING_NONE, !keep, 0, 0};
    /* 1xx, 204 and 304 never have a body (RFC 9112 §6.3), nor has a plan without one. */
    if (status / 100 == 1 || status == 204 || status == 304 || plan == GRAFT__PLAN_NONE)
        return e;
    if (plan == GRAFT__PLAN_LENGTH) {
        e.content_length = !(head && len == 0); /* HEAD: only a length GET would have */
        e.framing = head ? GRAFT__FRAMING_NONE : GRAFT__FRAMING_LENGTH;
        return e;
    }
    if (minor >= 1) {
        e.chunked = !head;
        e.framing = head ? GRAFT__FRAMING_NONE : GRAFT__FRAMING_CHUNKED;
        return e;
    }
    e.close = 1; /* HTTP/1.0 stream: the close ends the body */
    e.framing = head ? GRAFT__FRAMING_NONE : GRAFT__FRAMING_CLOSE;
    return e;
}

static void run_matrix(void)
{
    static const int statuses[] = {101, 200, 204, 304, 404, 599};
    static const uint64_t lens[] = {0, 5, 1234567890123ull};
    graft__engine_config cfg = {.date_header = 0};
    for (size_t si = 0; si < sizeof statuses / sizeof statuses[0]; si++)
        for (int head = 0; head < 2; head++)
            for (int minor = 0; minor < 2; minor++)
                for (int plan = 0; plan < 3; plan++)
                    for (size_t li = 0; li < (plan == GRAFT__PLAN_LENGTH ? 3u : 1u); li++)
                        for (int keep = 0; keep < 2; keep++) {
                            int st = statuses[si];
                            uint64_t len = lens[li];
                            char name[128];
                            snprintf(name, sizeof name, "matrix %d head=%d 1.%d plan=%d len=%llu keep=%d",
                                     st, head, minor, plan, (unsigned long long)len, keep);
                            graft__response r = {.status = st, .minor_version = minor,
                                                 .is_head = head, .keep_alive = keep,
                                                 .plan = plan, .body_len = len};
                            graft__response_decision d;
                            char *h = head_of(&r, &cfg, &d);
                            struct expect e = expected(st, head, minor, plan, len, keep);
                            if (d.framing != e.framing || d.close != e.close)
                                fail(name, "framing %d close %d, want %d %d", d.framing, d.close,
                                     e.framing, e.close);
                            char cl[64];
                            snprintf(cl, sizeof cl, "content-length: %llu", (unsigned long long)len);
                            expect_line(name, h, cl, e.content_length);
                            if (!e.content_length && strstr(h, "content-length"))
                                fail(name, "a content-length line in:\n%s", h);
                            expect_line(name, h, "transfer-encoding: chunked", e.chunked);
                            expect_line(name, h, "connection: close", e.close);
                            expect_line(name, h, "connection: keep-alive", !e.close && minor == 0);
                            char sl[64];
                            snprintf(sl, sizeof sl, "HTTP/1.1 %d ", st);
                            if (strncmp(h, sl, strlen(sl)) != 0)
                                fail(name, "status line: %s", h);
                            size_t n = strlen(h);
                            if (n < 4 || strcmp(h + n - 4, "\r\n\r\n") != 0 || strstr(h, "\r\n\r\n") != h + n - 4)
                                fail(name, "head does not end at its only blank line:\n%s", h);
                            free(h);
                            finish_case();
                        }
}

/* ------------------------------------------------------------ exact heads */

static void exact(const char *name, const graft__response *r, const graft__engine_config *cfg,
                  const char *want)
{
    graft__response_decision d;
    char *h = head_of(r, cfg, &d);
    if (strcmp(h, want) != 0)
        fail(name, "got:\n%s\nwant:\n%s", h, want);
    free(h);
    finish_case();
}

static const graft__field ctype = {GRAFT__STRLIT("content-type"), GRAFT__STRLIT("text/plain")};

static void run_exact(void)
{
    static const char defaults[] = "server: graft\r\nx-extra: e\r\n";
    graft__engine_config cfg = {.default_headers = defaults,
                                .default_headers_len = sizeof defaults - 1};
    graft__field app[2] = {{GRAFT__STRLIT("content-type"), GRAFT__STRLIT("text/plain")},
                           {GRAFT__STRLIT("x-a"), GRAFT__STRLIT("")}};

    graft__response r = {.status = 200, .minor_version = 1, .keep_alive = 1,
                         .body_len = 13, .fields = app, .nfields = 2};
    exact("hello", &r, &cfg,
          "HTTP/1.1 200 OK\r\nserver: graft\r\nx-extra: e\r\ncontent-type: text/plain\r\n"
          "x-a: \r\ncontent-length: 13\r\n\r\n");

    r.minor_version = 0;
    exact("HTTP/1.0 keep-alive", &r, &cfg,
          "HTTP/1.1 200 OK\r\nserver: graft\r\nx-extra: e\r\ncontent-type: text/plain\r\n"
          "x-a: \r\ncontent-length: 13\r\nconnection: keep-alive\r\n\r\n");

    r.plan = GRAFT__PLAN_STREAM;
    r.minor_version = 1;
    r.keep_alive = 0;
    exact("chunked, closing", &r, NULL,
          "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-a: \r\n"
          "transfer-encoding: chunked\r\nconnection: close\r\n\r\n");

    /* The app's own content-length and connection: close stay as its only ones. */
    graft__field own[2] = {{GRAFT__STRLIT("connection"), GRAFT__STRLIT("close")},
                           {GRAFT__STRLIT("content-length"), GRAFT__STRLIT("3")}};
    graft__response o = {.status = 200, .minor_version = 1, .keep_alive = 0,
                         .flags = GRAFT__RESP_OWN_CONNECTION | GRAFT__RESP_OWN_LENGTH,
                         .body_len = 3, .fields = own, .nfields = 2};
    graft__response_decision d;
    exact("own connection and length", &o, &cfg,
          "HTTP/1.1 200 OK\r\nserver: graft\r\nx-extra: e\r\nconnection: close\r\n"
          "content-length: 3\r\n\r\n");
    free(head_of(&o, &cfg, &d));
    if (d.framing != GRAFT__FRAMING_LENGTH || !d.close)
        fail("own connection and length: decision", "framing %d close %d", d.framing, d.close);
    finish_case();

    /* Canned errors: framing and connection before Date and the defaults. */
    graft__field ver = {GRAFT__STRLIT("sec-websocket-version"), GRAFT__STRLIT("13")};
    graft__field canned_ct = {GRAFT__STRLIT("content-type"), GRAFT__STRLIT("text/plain; charset=utf-8")};
    graft__response c = {.status = 426, .minor_version = 1, .flags = GRAFT__RESP_FRAMING_EARLY,
                         .body_len = 16, .lead = &canned_ct, .nlead = 1, .fields = &ver, .nfields = 1};
    exact("canned 426", &c, &cfg,
          "HTTP/1.1 426 Upgrade Required\r\ncontent-type: text/plain; charset=utf-8\r\n"
          "content-length: 16\r\nconnection: close\r\nserver: graft\r\nx-extra: e\r\n"
          "sec-websocket-version: 13\r\n\r\n");

    graft__field ws[3] = {{GRAFT__STRLIT("upgrade"), GRAFT__STRLIT("websocket")},
                          {GRAFT__STRLIT("connection"), GRAFT__STRLIT("Upgrade")},
                          {GRAFT__STRLIT("sec-websocket-accept"), GRAFT__STRLIT("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")}};
    graft__field extra = {GRAFT__STRLIT("X-One"), GRAFT__STRLIT("1")};
    graft__response w = {.status = 101, .minor_version = 1, .keep_alive = 1,
                         .flags = GRAFT__RESP_OWN_CONNECTION, .plan = GRAFT__PLAN_NONE,
                         .lead = ws, .nlead = 3, .fields = &extra, .nfields = 1};
    exact("websocket 101", &w, &cfg,
          "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
          "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nserver: graft\r\nx-extra: e\r\n"
          "X-One: 1\r\n\r\n");

    graft__response u = {.status = 599, .minor_version = 1, .keep_alive = 1, .body_len = 0,
                         .fields = &ctype, .nfields = 1};
    exact("no reason phrase", &u, NULL,
          "HTTP/1.1 599 \r\ncontent-type: text/plain\r\ncontent-length: 0\r\n\r\n");
}

/* ------------------------------------------------------------ Date */

static void run_date(void)
{
    static const char defaults[] = "server: graft\r\n";
    graft__engine_config on = {.date_header = 1, .default_headers = defaults,
                               .default_headers_len = sizeof defaults - 1};
    graft__engine_config off = on;
    off.date_header = 0;
    graft__response r = {.status = 200, .minor_version = 1, .keep_alive = 1, .body_len = 0};
    graft__response_decision d;

    time_t before = time(NULL);
    char *h = head_of(&r, &on, &d);
    time_t after = time(NULL);
    const char *p = strstr(h, "\r\ndate: ");
    struct tm tm = {0};
    const char *end = p ? strptime(p + 8, "%a, %d %b %Y %H:%M:%S GMT", &tm) : NULL;
    if (!p || !end || strncmp(end, "\r\nserver: graft\r\n", 17) != 0)
        fail("date on", "no Date right before the defaults:\n%s", h);
    else if (timegm(&tm) < before - 2 || timegm(&tm) > after + 1)
        fail("date on", "Date %.29s is not now", p + 8);
    else if (p != strstr(h, "\r\n")) /* first line after the status line */
        fail("date on", "Date is not first:\n%s", h);
    char *again = head_of(&r, &on, &d);
    if (strlen(again) != strlen(h))
        fail("date on", "second head differs in length:\n%s\n%s", h, again);
    free(again);
    free(h);
    finish_case();

    h = head_of(&r, &off, &d);
    if (strstr(h, "date:"))
        fail("date off", "Date with date_header 0:\n%s", h);
    free(h);
    finish_case();

    r.flags = GRAFT__RESP_NO_DATE;
    h = head_of(&r, &on, &d);
    if (strstr(h, "date:") || !strstr(h, "server: graft"))
        fail("date: producer's own", "server Date or defaults wrong:\n%s", h);
    free(h);
    finish_case();

    r.flags = 0;
    h = head_of(&r, NULL, &d);
    if (strcmp(h, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n") != 0)
        fail("no config", "Date or defaults without a config:\n%s", h);
    free(h);
    finish_case();
}

/* The head goes after what out already holds, and nothing of it is lost. */
static void run_append(void)
{
    graft__buf b = {0};
    if (graft__buf_append(&b, GRAFT__STRLIT("queued")) < 0)
        exit(2);
    graft__buf_consume(&b, 2);
    graft__response r = {.status = 204, .minor_version = 1, .keep_alive = 1};
    graft__response_decision d;
    if (graft__http1_response_head(&b, &r, NULL, &d) < 0)
        exit(2);
    static const char want[] = "euedHTTP/1.1 204 No Content\r\n\r\n";
    if (graft__buf_avail(&b) != sizeof want - 1 || memcmp(graft__buf_head(&b), want, sizeof want - 1))
        fail("append", "got %.*s", (int)graft__buf_avail(&b), graft__buf_head(&b));
    graft__buf_free(&b);
    finish_case();
}

/* ------------------------------------------------------------ chunks */

static void run_chunks(void)
{
    static const struct {
        size_t len;
        const char *prefix;
    } cases[] = {{0, "0\r\n"}, {1, "1\r\n"}, {15, "f\r\n"}, {16, "10\r\n"}, {4096, "1000\r\n"},
                 {255, "ff\r\n"}, {(size_t)-1, "ffffffffffffffff\r\n"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[64], pre[GRAFT__CHUNK_PREFIX_MAX];
        snprintf(name, sizeof name, "chunk prefix %zu", cases[i].len);
        size_t n = graft__chunk_prefix(pre, cases[i].len);
        if (n != strlen(cases[i].prefix) || memcmp(pre, cases[i].prefix, n) != 0)
            fail(name, "got %.*s", (int)n, pre);
        finish_case();
    }
    struct iovec e = graft__chunk_end(0), el = graft__chunk_end(1), l = graft__chunk_last();
    if (e.iov_len != 2 || memcmp(e.iov_base, "\r\n", 2) != 0)
        fail("chunk end", "got %.*s", (int)e.iov_len, (char *)e.iov_base);
    if (el.iov_len != 7 || memcmp(el.iov_base, "\r\n0\r\n\r\n", 7) != 0)
        fail("chunk end + last", "got %.*s", (int)el.iov_len, (char *)el.iov_base);
    if (l.iov_len != 5 || memcmp(l.iov_base, "0\r\n\r\n", 5) != 0)
        fail("last chunk", "got %.*s", (int)l.iov_len, (char *)l.iov_base);
    finish_case();

    /* The interim response is the status line alone: no Date, no default fields. */
    struct iovec cont = graft__http1_continue();
    static const char want_cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (cont.iov_len != sizeof want_cont - 1 || memcmp(cont.iov_base, want_cont, cont.iov_len) != 0)
        fail("100 continue", "got %.*s", (int)cont.iov_len, (char *)cont.iov_base);
    finish_case();

    /* A whole body of pieces of 1, 15, 16 and 4096 bytes, the last one ending it. */
    static const size_t pieces[] = {1, 15, 16, 4096};
    static char data[4096];
    memset(data, 'x', sizeof data);
    graft__buf b = {0};
    for (size_t i = 0; i < 4; i++) {
        char pre[GRAFT__CHUNK_PREFIX_MAX];
        struct iovec end = graft__chunk_end(i == 3);
        if (graft__buf_append(&b, pre, graft__chunk_prefix(pre, pieces[i])) < 0 ||
            graft__buf_append(&b, data, pieces[i]) < 0 ||
            graft__buf_append(&b, end.iov_base, end.iov_len) < 0)
            exit(2);
    }
    size_t want_len = 3 + 1 + 2 + 3 + 15 + 2 + 4 + 16 + 2 + 6 + 4096 + 7;
    const char *s = graft__buf_head(&b);
    if (graft__buf_avail(&b) != want_len || memcmp(s, "1\r\nx\r\nf\r\n", 9) != 0 ||
        memcmp(s + 24, "\r\n10\r\n", 6) != 0 || memcmp(s + want_len - 7, "\r\n0\r\n\r\n", 7) != 0)
        fail("chunked body", "%zu bytes, want %zu", graft__buf_avail(&b), want_len);
    graft__buf_free(&b);
    finish_case();
}

/* ------------------------------------------------------------ header lines */

static void run_lines(void)
{
    static const char lines[] = "x-a: 1\r\nx-b:  lead\r\nx-c: a: b\r\nx-d: \r\n";
    graft__field f[4];
    size_t n = graft__fields_from_lines(lines, sizeof lines - 1, f, 4);
    static const char *want[4][2] = {{"x-a", "1"}, {"x-b", " lead"}, {"x-c", "a: b"}, {"x-d", ""}};
    if (n != 4)
        fail("lines", "%zu fields", n);
    for (size_t i = 0; i < 4 && i < n; i++)
        if (f[i].name_len != strlen(want[i][0]) || memcmp(f[i].name, want[i][0], f[i].name_len) ||
            f[i].value_len != strlen(want[i][1]) || memcmp(f[i].value, want[i][1], f[i].value_len))
            fail("lines", "field %zu: %.*s=%.*s", i, (int)f[i].name_len, f[i].name,
                 (int)f[i].value_len, f[i].value);
    /* Written back, the lines come out as they went in. */
    graft__response r = {.status = 200, .minor_version = 1, .keep_alive = 1,
                         .flags = GRAFT__RESP_OWN_LENGTH, .fields = f, .nfields = n};
    graft__response_decision d;
    char *h = head_of(&r, NULL, &d);
    if (strncmp(h + strlen("HTTP/1.1 200 OK\r\n"), lines, sizeof lines - 1) != 0)
        fail("lines", "not written back as given:\n%s", h);
    free(h);
    finish_case();

    if (graft__fields_from_lines(lines, sizeof lines - 1, f, 2) != 4 ||
        graft__fields_from_lines(NULL, 0, f, 4) != 0)
        fail("lines: counting", "count beyond max or of nothing is wrong");
    finish_case();
}

int main(void)
{
    run_matrix();
    run_exact();
    run_date();
    run_append();
    run_chunks();
    run_lines();
    return unit_report();
}
