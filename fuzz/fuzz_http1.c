/* libFuzzer target for the HTTP/1.1 request parser and the chunked decoder.
 *
 *   clang -fsanitize=fuzzer,address,undefined -Isrc/core/api -Isrc/core src/core/http1_*.c \
 *         fuzz/fuzz_http1.c -o build/fuzz_http1
 *
 * Beyond "no crash", it checks properties the server relies on:
 *  - results are in range and every returned pointer lies inside the input;
 *  - a prefix of the input parses to 0 or to the same result (safe to retry
 *    as bytes arrive), and the result with small limits agrees with the one
 *    with default limits unless a limit was hit;
 *  - the chunked decoder gives the same body and outcome whether the bytes
 *    come at once, one by one, or in random pieces.
 * Link with fuzz/replay.c instead of libFuzzer (any compiler) to replay files given
 * on the command line; make test-c replays the seed corpus so. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1_internal.h"

#include "fuzz_check.h"

static const graft__http1_limits small_limits = {64, 256, 8};
static const graft__http1_limits default_limits = {8190, 65536, 100};

static int inside(const char *p, size_t n, const char *buf, size_t len)
{
    return p >= buf && p <= buf + len && n <= (size_t)(buf + len - p);
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static void check_request(const char *buf, int r, const graft__http1_request *req,
                          const graft__http1_limits *lim)
{
    size_t n = (size_t)r;
    CHECK(n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0);
    CHECK(req->method_len > 0 && inside(req->method, req->method_len, buf, n));
    for (size_t i = 0; i < req->method_len; i++)
        CHECK(GRAFT__IS(req->method[i], GRAFT__CT_TCHAR));
    CHECK(req->target_len > 0 && inside(req->target, req->target_len, buf, n));
    CHECK(req->target_len <= lim->max_request_line);
    for (size_t i = 0; i < req->target_len; i++)
        CHECK(GRAFT__IS(req->target[i], GRAFT__CT_TARGET));
    const char *t = req->target, *te = t + req->target_len;
    CHECK(req->path_len > 0);
    CHECK(inside(req->path, req->path_len, t, req->target_len) ||
          (req->path_len == 1 && req->path[0] == '/' && req->authority));
    CHECK(inside(req->query, req->query_len, t, req->target_len));
    CHECK(req->query_len == 0 || req->query[-1] == '?');
    CHECK(req->query + req->query_len == te || req->query_len == 0);
    if (req->authority)
        CHECK(req->authority_len > 0 && inside(req->authority, req->authority_len, t, req->target_len));
    else
        CHECK(req->path[0] == '/' || (req->target_len == 1 && req->path[0] == '*'));
    CHECK(req->minor_version == 0 || req->minor_version == 1);
    CHECK(req->num_headers <= lim->max_headers);
    for (size_t i = 0; i < req->num_headers; i++) {
        const graft__header *h = &req->headers[i];
        CHECK(h->name_len > 0 && inside(h->name, h->name_len, buf, n));
        CHECK(inside(h->value, h->value_len, buf, n));
        CHECK(h->name[h->name_len] == ':');
        for (size_t j = 0; j < h->name_len; j++)
            CHECK(GRAFT__IS(h->name[j], GRAFT__CT_TCHAR));
        for (size_t j = 0; j < h->value_len; j++)
            CHECK(GRAFT__IS(h->value[j], GRAFT__CT_VALUE));
        CHECK(h->value_len == 0 || (!is_ws(h->value[0]) && !is_ws(h->value[h->value_len - 1])));
    }
    if (req->host)
        CHECK(inside(req->host, req->host_len, buf, n));
    else
        CHECK(req->minor_version == 0);
    CHECK(req->content_length >= -1 && req->content_length <= ((int64_t)1 << 62));
    if (req->chunked)
        CHECK(req->content_length == -1 && req->minor_version == 1);
}

static int parse(const char *buf, size_t len, graft__http1_request *req, graft__header *hdrs,
                 const graft__http1_limits *lim)
{
    memset(req, 0xa5, sizeof *req); /* outputs must not depend on the old contents */
    req->headers = hdrs;
    int r = graft__http1_parse_request(buf, len, req, lim);
    CHECK(r >= 0 ? (size_t)r <= len && (size_t)r <= lim->max_head
                 : r == -400 || r == -414 || r == -431 || r == -501 || r == -505);
    if (r > 0)
        check_request(buf, r, req, lim);
    return r;
}

/* A prefix must give 0 or the whole input's answer (if that is an error or
 * the head fits in the prefix). The copy is exact so ASan sees over-reads. */
static void check_prefix(const char *buf, size_t len, size_t k, int whole,
                         const graft__http1_limits *lim)
{
    static graft__header hdrs[100];
    graft__http1_request req;
    char *copy = malloc(k ? k : 1);
    CHECK(copy);
    memcpy(copy, buf, k);
    int r = parse(copy, k, &req, hdrs, lim);
    free(copy);
    if (whole > 0)
        CHECK(r == ((size_t)whole <= k ? whole : 0));
    else
        CHECK(r == 0 || r == whole);
    (void)len;
}

typedef struct feed_result {
    int status; /* 1 done, 2 needs more, 3 error */
    size_t consumed, out_len;
} feed_result;

/* Feeds body[0..len) to a fresh decoder as a caller would: the bytes up to
 * cut[i] become available at step i (step = 0: all at once). */
static void feed(const char *body, size_t len, size_t step, uint32_t seed, size_t max_line,
                 size_t max_trailers, char *out, feed_result *res)
{
    graft__chunked d;
    size_t off = 0, avail = 0;
    graft__chunked_init(&d, max_line, max_trailers);
    res->out_len = 0;
    while (avail < len) {
        if (step == 0) {
            avail = len;
        } else if (step == 1) {
            avail++;
        } else {
            seed = seed * 1664525u + 1013904223u;
            avail += 1 + (seed >> 16) % step;
            if (avail > len)
                avail = len;
        }
        while (off < avail) {
            const char *data;
            size_t dl;
            ssize_t r = graft__chunked_decode(&d, body + off, avail - off, &data, &dl);
            if (r < 0) {
                CHECK(r == -400);
                CHECK(graft__chunked_decode(&d, body, len, &data, &dl) == -400);
                res->status = 3;
                res->consumed = 0;
                return;
            }
            CHECK((size_t)r <= avail - off);
            if (dl) {
                CHECK(data >= body + off && data + dl == body + off + (size_t)r);
                memcpy(out + res->out_len, data, dl);
                res->out_len += dl;
            }
            off += (size_t)r;
            if (d.done) {
                CHECK(graft__chunked_decode(&d, body + off, len - off, &data, &dl) == 0 && dl == 0);
                res->status = 1;
                res->consumed = off;
                return;
            }
            CHECK(r > 0); /* progress whenever bytes are available */
        }
    }
    res->status = 2;
    res->consumed = off;
    CHECK(off == len);
}

static void check_chunked(const char *body, size_t len, uint32_t seed, size_t max_line,
                          size_t max_trailers)
{
    char *a = malloc(len + 1), *b = malloc(len + 1);
    feed_result ra, rb;
    CHECK(a && b);
    feed(body, len, 0, seed, max_line, max_trailers, a, &ra);
    CHECK(ra.out_len <= len);
    static const size_t steps[] = {1, 3, 64};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        feed(body, len, steps[i], seed, max_line, max_trailers, b, &rb);
        CHECK(ra.status == rb.status && ra.consumed == rb.consumed && ra.out_len == rb.out_len);
        CHECK(memcmp(a, b, ra.out_len) == 0);
    }
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static graft__header hdrs[100];
    const char *buf = (const char *)data;
    graft__http1_request req;
    uint32_t seed = 2166136261u;
    for (size_t i = 0; i < size && i < 64; i++)
        seed = (seed ^ data[i]) * 16777619u;

    int rs = parse(buf, size, &req, hdrs, &small_limits);
    int rd = parse(buf, size, &req, hdrs, &default_limits);
    /* Small limits only add 414/431; otherwise the answer is the same, or
     * "need more" where the small view hit its head limit first. */
    if (rs > 0 || rs == 0)
        CHECK(rd == rs);
    else if (rs != -414 && rs != -431)
        CHECK(rd == rs || rd == 0);

    if (size) {
        size_t k = seed % size;
        check_prefix(buf, size, k, rs, &small_limits);
        check_prefix(buf, size, k, rd, &default_limits);
    }

    /* The body after a parsed head, or the whole input (so the fuzzer can
     * reach the decoder directly with inputs that start with a chunk size). */
    const char *body = rd > 0 ? buf + rd : buf;
    size_t blen = rd > 0 ? size - (size_t)rd : size;
    check_chunked(body, blen, seed, 0, 0);
    check_chunked(body, blen, seed, 16, 64);
    return 0;
}

