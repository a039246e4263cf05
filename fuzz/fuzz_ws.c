/* libFuzzer target for WebSocket frame-header decoding and unmasking (src/core/ws_frame.c).
 *
 *   clang -fsanitize=fuzzer,address,undefined -Isrc/core/api -Isrc/core \
 *         src/core/ws_frame.c fuzz/fuzz_ws.c -o build/fuzz_ws
 *
 * The first input byte sets what the connection agreed: bit 0 permessage-deflate (RSV1 allowed),
 * bits 1-3 the max size (16 MiB, 0, 1, 125, 126, 65535, 65536, unlimited). The rest is a client's
 * byte stream, decoded frame by frame as the connection does: a message opens with a data frame
 * without FIN and closes with a continuation with FIN. Beyond "no crash" (ASan sees every read,
 * on exactly-sized copies), it checks for each frame:
 *  - the result is a header length (6, 8 or 14, matching the length form), 0 or a known error,
 *    and a header never extends past the input;
 *  - the fields are the header's bits, re-read plainly, and the masking key sits just before
 *    the payload;
 *  - an accepted frame obeys RFC 6455: known opcode, control frames final and <= 125 bytes
 *    without RSV1, continuations exactly inside a message, RSV1 only when agreed and never on a
 *    continuation, the 64-bit length's top bit clear, data payloads within the max size;
 *  - every prefix of the input decodes to 0 (need more) until the verdict is due and to the
 *    same verdict from then on; a refusal on the 2-byte rules is due at 2 bytes (a bad frame is
 *    refused even when the peer sends nothing more); errors map to close 1002, or 1009 for size;
 *  - unmasking in two pieces, split anywhere, gives what XOR with the key byte by byte gives;
 *  - frames consumed (header + payload) never pass the end of the input.
 * Link with fuzz/replay.c instead of libFuzzer (any compiler) to replay files given on the
 * command line; make test-c replays the seed corpus so. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws.h"
#include "ws_frame.h"

#include "fuzz_check.h"

static const uint64_t max_sizes[8] = {16 * 1024 * 1024, 0, 1, 125, 126, 65535, 65536, UINT64_MAX};

static unsigned char *copy(const uint8_t *p, size_t n)
{
    unsigned char *c = malloc(n ? n : 1);
    CHECK(c);
    memcpy(c, p, n);
    return c;
}

static int decode_copy(const uint8_t *p, size_t n, const graft__ws_frame_limits *lim,
                       graft__ws_frame *f)
{
    unsigned char *c = copy(p, n);
    memset(f, 0xa5, sizeof *f);
    int rc = graft__ws_frame_decode(c, n, lim, f);
    free(c);
    return rc;
}

/* Refusals decided by the first two bytes alone. */
static int two_byte_rule(int rc)
{
    return rc == GRAFT__WS_FRAME_EUNMASKED || rc == GRAFT__WS_FRAME_ERSV ||
           rc == GRAFT__WS_FRAME_EOPCODE || rc == GRAFT__WS_FRAME_ECONTROL ||
           rc == GRAFT__WS_FRAME_ESEQUENCE;
}

/* Bytes the length form needs after the first two. */
static size_t ext_len(const uint8_t *p)
{
    unsigned l7 = p[1] & 0x7F;
    return l7 == 126 ? 2 : l7 == 127 ? 8 : 0;
}

/* The payload length the header declares (its 2 + ext_len(p) bytes are there). */
static uint64_t declared_len(const uint8_t *p)
{
    uint64_t len = p[1] & 0x7F;
    if (ext_len(p)) {
        len = 0;
        for (size_t i = 0; i < ext_len(p); i++)
            len = len << 8 | p[2 + i];
    }
    return len;
}

static void check_accepted(const uint8_t *p, size_t n, const graft__ws_frame_limits *lim,
                           const graft__ws_frame *f, int rc)
{
    CHECK((size_t)rc == f->head_len && f->head_len <= n);
    CHECK(f->head_len == 2 + ext_len(p) + 4);
    CHECK(f->fin == (p[0] >> 7) && f->rsv1 == ((p[0] >> 6) & 1) && f->opcode == (p[0] & 15));
    CHECK((p[0] & 0x30) == 0 && (p[1] & 0x80));
    CHECK(f->len == declared_len(p) && f->len >> 63 == 0);
    CHECK(memcmp(f->mask, p + f->head_len - 4, 4) == 0);
    int op = f->opcode;
    CHECK(op <= GRAFT__WS_BINARY || (op >= GRAFT__WS_CLOSE && op <= GRAFT__WS_PONG));
    if (op >= GRAFT__WS_CLOSE) {
        CHECK(f->fin && f->len <= 125 && !f->rsv1);
    } else {
        CHECK(f->len <= lim->max_size);
        CHECK((op == GRAFT__WS_CONT) == (lim->in_message != 0));
        CHECK(!f->rsv1 || (lim->rsv1_ok && op != GRAFT__WS_CONT));
    }
}

/* A refusal names a rule the header really breaks, and is due as soon as that shows. */
static void check_refused(const uint8_t *p, size_t n, const graft__ws_frame_limits *lim, int rc)
{
    int code = graft__ws_frame_close_code(rc);
    CHECK(code == (rc == GRAFT__WS_FRAME_ETOOBIG ? 1009 : 1002));
    CHECK(n >= 2);
    int fin = p[0] >> 7, op = p[0] & 15, control = op >= GRAFT__WS_CLOSE;
    graft__ws_frame f;
    if (two_byte_rule(rc))
        CHECK(decode_copy(p, 2, lim, &f) == rc);
    switch (rc) {
    case GRAFT__WS_FRAME_EUNMASKED:
        CHECK(!(p[1] & 0x80));
        break;
    case GRAFT__WS_FRAME_EOPCODE:
        CHECK((op > GRAFT__WS_BINARY && op < GRAFT__WS_CLOSE) || op > GRAFT__WS_PONG);
        break;
    case GRAFT__WS_FRAME_ERSV:
        CHECK((p[0] & 0x30) || ((p[0] & 0x40) && (control || op == GRAFT__WS_CONT || !lim->rsv1_ok)));
        break;
    case GRAFT__WS_FRAME_ECONTROL:
        CHECK(control && (!fin || (p[1] & 0x7F) > 125));
        break;
    case GRAFT__WS_FRAME_ESEQUENCE:
        CHECK(!control && (op == GRAFT__WS_CONT) != (lim->in_message != 0));
        break;
    case GRAFT__WS_FRAME_ELENGTH:
        CHECK((p[1] & 0x7F) == 127 && n >= 10 && (p[2] & 0x80));
        break;
    case GRAFT__WS_FRAME_ETOOBIG:
        CHECK(!control && n >= 2 + ext_len(p) && declared_len(p) > lim->max_size);
        break;
    default:
        CHECK(0);
    }
}

/* Every prefix needs more until some length, then gets the final verdict. */
static void check_prefixes(const uint8_t *p, size_t n, const graft__ws_frame_limits *lim, int rc)
{
    int decided = 0;
    for (size_t k = 0; k <= n && k <= 14; k++) {
        graft__ws_frame f;
        int r = decode_copy(p, k, lim, &f);
        CHECK(r == 0 || r == rc);
        if (decided)
            CHECK(r == rc);
        decided = r != 0;
        if (k < 2)
            CHECK(r == 0);
    }
    if (n >= 14)
        CHECK(rc != 0); /* the longest header is 14 bytes: by then there is a verdict */
}

static void check_unmask(const uint8_t *payload, size_t n, const unsigned char mask[4], size_t cut)
{
    unsigned char *a = copy(payload, n);
    unsigned pos = graft__ws_unmask(a, cut, mask, 0);
    CHECK(pos == cut % 4);
    pos = graft__ws_unmask(a + cut, n - cut, mask, pos);
    CHECK(pos == n % 4);
    for (size_t i = 0; i < n; i++)
        CHECK(a[i] == (payload[i] ^ mask[i % 4]));
    free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    graft__ws_frame_limits lim = {max_sizes[(data[0] >> 1) & 7], 0, data[0] & 1};
    size_t off = 1;
    for (;;) {
        const uint8_t *p = data + off;
        size_t n = size - off;
        graft__ws_frame f;
        memset(&f, 0xa5, sizeof f);
        int rc = graft__ws_frame_decode(p, n, &lim, &f);
        CHECK(rc >= GRAFT__WS_FRAME_ETOOBIG && rc <= 14);
        check_prefixes(p, n, &lim, rc);
        if (rc < 0) {
            check_refused(p, n, &lim, rc);
            break;
        }
        if (rc == 0)
            break;
        check_accepted(p, n, &lim, &f, rc);
        if (f.len > n - f.head_len)
            break; /* the payload is still to come */
        size_t plen = (size_t)f.len;
        check_unmask(p + f.head_len, plen, f.mask, plen ? p[f.head_len] % (plen + 1) : 0);
        off += f.head_len + plen;
        CHECK(off <= size);
        if (f.opcode < GRAFT__WS_CLOSE)
            lim.in_message = !f.fin;
    }
    return 0;
}
