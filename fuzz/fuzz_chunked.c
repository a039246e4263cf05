/* libFuzzer target for the chunked transfer-coding decoder (src/core/http1_chunked.c).
 *
 *   clang -fsanitize=fuzzer,address,undefined -Isrc/core/api src/core/http1_*.c \
 *         fuzz/fuzz_chunked.c -o build/fuzz_chunked
 *
 * The input is the body itself (no request head, unlike fuzz_http1), so every mutation
 * reaches the decoder. Beyond "no crash" it checks:
 *  - the decoder agrees with an independent whole-buffer reference parser of the
 *    RFC 9112 §7.1 grammar (outcome, bytes consumed, decoded body) when the limits are
 *    out of reach;
 *  - the outcome does not depend on how the bytes are split across calls;
 *  - with small limits the outcome is the same, or an error where a limit was hit;
 *  - every data span lies in the caller's buffer, and nothing past "done" is consumed.
 * Link with fuzz/replay.c instead of libFuzzer (any compiler) to replay files given
 * on the command line; make test-c replays the seed corpus so. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

#include "fuzz_check.h"

enum { DONE = 1, MORE = 2, BAD = 3 };

typedef struct outcome {
    int status;
    size_t consumed; /* DONE: bytes up to the final LF; MORE: all of them */
    size_t out_len;
} outcome;

/* ---- reference parser: plain recursive descent over the whole buffer ----
 * Character classes are spelled out from RFC 9110 here rather than taken from the
 * parser's table, so a wrong table entry shows up as a disagreement. */

static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}
static int is_ws(unsigned char c) { return c == ' ' || c == '\t'; }
static int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}
static int is_vchar_obs(unsigned char c) { return (c >= 0x21 && c <= 0x7e) || c >= 0x80; }
static int is_qdtext(unsigned char c)
{
    return is_ws(c) || c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}
static int is_field_vchar(unsigned char c) { return is_ws(c) || is_vchar_obs(c); }

typedef struct ref {
    const unsigned char *s;
    size_t n, p;
} ref;

/* Each returns 0 on success, MORE when the input ends first, BAD on a violation. */
#define NEED(r) \
    if ((r)->p >= (r)->n) return MORE
#define TRY(x)              \
    do {                    \
        int rc_ = (x);      \
        if (rc_)            \
            return rc_;     \
    } while (0)

static int skip_ws(ref *r)
{
    for (;;) {
        NEED(r);
        if (!is_ws(r->s[r->p]))
            return 0;
        r->p++;
    }
}

static int crlf(ref *r)
{
    NEED(r);
    if (r->s[r->p++] != '\r')
        return BAD;
    NEED(r);
    return r->s[r->p++] == '\n' ? 0 : BAD;
}

/* chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), then CRLF. BWS is
 * allowed only where another ';' or '=' follows: "1 \r\n" is refused (strict, like the
 * decoder, since a lenient parser downstream could split differently). */
static int ext_then_crlf(ref *r)
{
    for (;;) {
        NEED(r);
        if (r->s[r->p] == '\r')
            return crlf(r);
        TRY(skip_ws(r));
        if (r->s[r->p++] != ';')
            return BAD;
        TRY(skip_ws(r));
        if (!is_tchar(r->s[r->p]))
            return BAD;
        while (is_tchar(r->s[r->p])) {
            r->p++;
            NEED(r);
        }
        if (r->s[r->p] == '\r' || r->s[r->p] == ';')
            continue;
        TRY(skip_ws(r));
        if (r->s[r->p] == ';')
            continue;
        if (r->s[r->p++] != '=')
            return BAD;
        TRY(skip_ws(r));
        if (r->s[r->p] == '"') {
            r->p++;
            for (;;) {
                NEED(r);
                unsigned char c = r->s[r->p++];
                if (c == '"')
                    break;
                if (c == '\\') {
                    NEED(r);
                    if (!is_field_vchar(r->s[r->p++]))
                        return BAD;
                } else if (!is_qdtext(c)) {
                    return BAD;
                }
            }
        } else {
            if (!is_tchar(r->s[r->p]))
                return BAD;
            while (is_tchar(r->s[r->p])) {
                r->p++;
                NEED(r);
            }
        }
    }
}

/* trailer-section = *( field-line CRLF ), then CRLF; no obs-fold, no bare CR/LF. */
static int trailers(ref *r)
{
    for (;;) {
        NEED(r);
        if (r->s[r->p] == '\r')
            return crlf(r);
        if (!is_tchar(r->s[r->p]))
            return BAD;
        while (is_tchar(r->s[r->p])) {
            r->p++;
            NEED(r);
        }
        if (r->s[r->p++] != ':')
            return BAD;
        for (;;) {
            NEED(r);
            if (r->s[r->p] == '\r')
                break;
            if (!is_field_vchar(r->s[r->p++]))
                return BAD;
        }
        TRY(crlf(r));
    }
}

static int ref_body(ref *r, unsigned char *out, size_t *out_len)
{
    for (;;) {
        uint64_t size = 0;
        size_t digits = 0;
        NEED(r);
        if (!is_hex(r->s[r->p]))
            return BAD;
        while (is_hex(r->s[r->p])) {
            if (++digits > 16)
                return BAD; /* cannot fit 64 bits */
            unsigned char c = r->s[r->p++];
            size = size << 4 | (uint64_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
            NEED(r);
        }
        TRY(ext_then_crlf(r));
        if (size == 0)
            return trailers(r);
        size_t avail = r->n - r->p;
        if ((uint64_t)avail < size) {
            memcpy(out + *out_len, r->s + r->p, avail);
            *out_len += avail;
            r->p = r->n;
            return MORE;
        }
        memcpy(out + *out_len, r->s + r->p, (size_t)size);
        *out_len += (size_t)size;
        r->p += (size_t)size;
        TRY(crlf(r));
    }
}

static void reference(const unsigned char *s, size_t n, unsigned char *out, outcome *o)
{
    ref r = {s, n, 0};
    o->out_len = 0;
    int rc = ref_body(&r, out, &o->out_len);
    o->status = rc == 0 ? DONE : rc;
    o->consumed = rc == 0 ? r.p : n;
}

/* ---- the decoder, fed as a caller would ---- */

/* step 0: all at once; 1: byte by byte; else pieces of 1..step bytes from seed. */
static void decode(const char *body, size_t len, size_t step, uint32_t seed, size_t max_line,
                   size_t max_trailers, char *out, outcome *o)
{
    graft__chunked d;
    size_t off = 0, avail = 0;
    graft__chunked_init(&d, max_line, max_trailers);
    o->out_len = 0;
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
                CHECK(graft__chunked_decode(&d, body, len, &data, &dl) == -400); /* sticky */
                o->status = BAD;
                o->consumed = len;
                return;
            }
            CHECK((size_t)r <= avail - off);
            if (dl) {
                CHECK(data >= body + off && data + dl == body + off + (size_t)r);
                memcpy(out + o->out_len, data, dl);
                o->out_len += dl;
            } else {
                CHECK(r > 0); /* progress whenever bytes are available */
            }
            off += (size_t)r;
            if (d.done) {
                CHECK(graft__chunked_decode(&d, body + off, len - off, &data, &dl) == 0 && dl == 0);
                o->status = DONE;
                o->consumed = off;
                return;
            }
        }
    }
    o->status = MORE;
    o->consumed = off;
    CHECK(off == len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact copy, so ASan sees any read past the end. */
    char *body = malloc(size ? size : 1);
    unsigned char *want = malloc(size + 1);
    char *got = malloc(size + 1);
    CHECK(body && want && got);
    memcpy(body, data, size);
    uint32_t seed = 2166136261u;
    for (size_t i = 0; i < size && i < 64; i++)
        seed = (seed ^ data[i]) * 16777619u;

    outcome ref_o, o, small;
    reference((const unsigned char *)body, size, want, &ref_o);
    static const size_t steps[] = {0, 1, 3, 64};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        /* limits far above any input this run can produce: only the grammar decides */
        decode(body, size, steps[i], seed, (size_t)1 << 30, (size_t)1 << 30, got, &o);
        if (o.status != ref_o.status || o.consumed != ref_o.consumed || o.out_len != ref_o.out_len) {
            fprintf(stderr, "step %zu: decoder status %d consumed %zu body %zu, reference %d %zu %zu\n",
                    steps[i], o.status, o.consumed, o.out_len, ref_o.status, ref_o.consumed,
                    ref_o.out_len);
            abort();
        }
        CHECK(memcmp(got, want, o.out_len) == 0);
    }
    /* Small limits only turn an outcome into an error, split or not. */
    decode(body, size, 0, seed, 16, 64, got, &small);
    CHECK(small.status == BAD || (small.status == ref_o.status && small.consumed == ref_o.consumed &&
                                  small.out_len == ref_o.out_len));
    outcome small_split;
    decode(body, size, 3, seed, 16, 64, got, &small_split);
    CHECK(small_split.status == small.status && small_split.consumed == small.consumed &&
          small_split.out_len == small.out_len);
    free(body);
    free(want);
    free(got);
    return 0;
}

