/* Unit tests for WebSocket frame-header decoding and unmasking (src/core/ws_frame.c).
 *
 * Every case is also decoded on each prefix of its bytes and with bytes after it: a prefix
 * shorter than the point where the verdict is due must say "need more", every longer input
 * the same verdict, which is what lets the connection call the decoder again as bytes
 * trickle in, and refuse a bad frame as soon as the bytes that condemn it are there. Inputs
 * are copied into exactly-sized heap blocks so sanitizers catch a read past the end. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ws.h"
#include "ws_frame.h"

#include "../unit.h"

static unsigned char *dup_exact(const void *s, size_t n)
{
    unsigned char *p = malloc(n ? n : 1);
    if (!p)
        abort();
    memcpy(p, s, n);
    return p;
}

#define MIB16 ((uint64_t)16 * 1024 * 1024)
#define MASK "\x37\xfa\x21\x3d"

/* What the connection accepts next: fresh (no message open), 16 MiB, no extension. */
static const graft__ws_frame_limits plain = {MIB16, 0, 0};
static const graft__ws_frame_limits deflate = {MIB16, 0, 1};
static const graft__ws_frame_limits in_msg = {MIB16, 1, 0};
static const graft__ws_frame_limits in_msg_deflate = {MIB16, 1, 1};
static const graft__ws_frame_limits max5 = {5, 0, 0};
static const graft__ws_frame_limits max0 = {0, 0, 0};
static const graft__ws_frame_limits max125 = {125, 0, 0};
static const graft__ws_frame_limits max65535 = {65535, 0, 0};
static const graft__ws_frame_limits unlimited = {UINT64_MAX, 0, 0};

/* An expected refusal: the fields after `due` are not looked at. */
#define REFUSED(err, due) err, due, 0, 0, 0, 0

typedef struct fcase {
    const char *name;
    const char *in; /* the frame header (and maybe payload bytes) */
    size_t n;
    const graft__ws_frame_limits *lim;
    int want;       /* header length, or a GRAFT__WS_FRAME_E* code */
    size_t due;     /* shortest input that gets the verdict; a shorter one needs more */
    int fin, rsv1, opcode;
    uint64_t len;
} fcase;

static const fcase cases[] = {
    /* RFC 6455 §5.7's examples, as a client sends them (masked) */
    {"text Hello", GRAFT__STRLIT("\x81\x85" MASK "\x7f\x9f\x4d\x51\x58"), &plain, 6, 6, 1, 0, 1, 5},
    {"text first fragment", GRAFT__STRLIT("\x01\x83" MASK), &plain, 6, 6, 0, 0, 1, 3},
    {"continuation, last", GRAFT__STRLIT("\x80\x82" MASK), &in_msg, 6, 6, 1, 0, 0, 2},
    {"continuation, not last", GRAFT__STRLIT("\x00\x82" MASK), &in_msg, 6, 6, 0, 0, 0, 2},
    {"ping inside a message", GRAFT__STRLIT("\x89\x85" MASK), &in_msg, 6, 6, 1, 0, 9, 5},
    {"pong", GRAFT__STRLIT("\x8a\x80" MASK), &plain, 6, 6, 1, 0, 10, 0},
    {"close with a code", GRAFT__STRLIT("\x88\x82" MASK "\x34\x12"), &plain, 6, 6, 1, 0, 8, 2},
    {"empty binary", GRAFT__STRLIT("\x82\x80" MASK), &plain, 6, 6, 1, 0, 2, 0},
    {"binary 125, 7-bit", GRAFT__STRLIT("\x82\xfd" MASK), &plain, 6, 6, 1, 0, 2, 125},
    {"binary 126, 16-bit", GRAFT__STRLIT("\x82\xfe\x00\x7e" MASK), &plain, 8, 8, 1, 0, 2, 126},
    {"binary 256, 16-bit", GRAFT__STRLIT("\x82\xfe\x01\x00" MASK), &plain, 8, 8, 1, 0, 2, 256},
    {"binary 65535, 16-bit", GRAFT__STRLIT("\x82\xfe\xff\xff" MASK), &plain, 8, 8, 1, 0, 2, 65535},
    {"binary 65536, 64-bit", GRAFT__STRLIT("\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00" MASK), &plain,
     14, 14, 1, 0, 2, 65536},
    {"64-bit, every byte counts", GRAFT__STRLIT("\x82\xff\x01\x02\x03\x04\x05\x06\x07\x08" MASK),
     &unlimited, 14, 14, 1, 0, 2, 0x0102030405060708u},
    {"64-bit, largest allowed", GRAFT__STRLIT("\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff" MASK),
     &unlimited, 14, 14, 1, 0, 2, 0x7fffffffffffffffu},
    /* the minimal-length rule is not enforced (it never was) */
    {"16-bit form for 5", GRAFT__STRLIT("\x82\xfe\x00\x05" MASK), &plain, 8, 8, 1, 0, 2, 5},
    {"64-bit form for 5", GRAFT__STRLIT("\x82\xff\x00\x00\x00\x00\x00\x00\x00\x05" MASK), &plain,
     14, 14, 1, 0, 2, 5},
    {"compressed text", GRAFT__STRLIT("\xc1\x85" MASK), &deflate, 6, 6, 1, 1, 1, 5},
    {"compressed first fragment", GRAFT__STRLIT("\x41\x85" MASK), &deflate, 6, 6, 0, 1, 1, 5},

    /* §5.1: a client frame must be masked; judged on the 2-byte header alone */
    {"unmasked text", GRAFT__STRLIT("\x81\x05Hello"), &plain, REFUSED(GRAFT__WS_FRAME_EUNMASKED, 2)},
    {"unmasked empty close", GRAFT__STRLIT("\x88\x00"), &plain, REFUSED(GRAFT__WS_FRAME_EUNMASKED, 2)},
    {"unmasked 64-bit", GRAFT__STRLIT("\x82\x7f\x00\x00"), &plain, REFUSED(GRAFT__WS_FRAME_EUNMASKED, 2)},
    /* §5.2: RSV bits need an extension that defines them */
    {"RSV2", GRAFT__STRLIT("\xa1\x85" MASK), &deflate, REFUSED(GRAFT__WS_FRAME_ERSV, 2)},
    {"RSV3", GRAFT__STRLIT("\x91\x85" MASK), &deflate, REFUSED(GRAFT__WS_FRAME_ERSV, 2)},
    {"RSV1 without deflate", GRAFT__STRLIT("\xc1\x85" MASK), &plain, REFUSED(GRAFT__WS_FRAME_ERSV, 2)},
    {"RSV1 on a continuation", GRAFT__STRLIT("\xc0\x85" MASK), &in_msg_deflate, REFUSED(GRAFT__WS_FRAME_ERSV, 2)},
    {"RSV1 on a ping", GRAFT__STRLIT("\xc9\x80" MASK), &deflate, REFUSED(GRAFT__WS_FRAME_ERSV, 2)},
    /* §5.5: control frames are final and at most 125 bytes */
    {"fragmented ping", GRAFT__STRLIT("\x09\x80" MASK), &plain, REFUSED(GRAFT__WS_FRAME_ECONTROL, 2)},
    {"fragmented close", GRAFT__STRLIT("\x08\x80" MASK), &in_msg, REFUSED(GRAFT__WS_FRAME_ECONTROL, 2)},
    {"ping of 126", GRAFT__STRLIT("\x89\xfe\x00\x7e" MASK), &plain, REFUSED(GRAFT__WS_FRAME_ECONTROL, 2)},
    {"close of 64-bit length", GRAFT__STRLIT("\x88\xff"), &plain, REFUSED(GRAFT__WS_FRAME_ECONTROL, 2)},
    /* §5.4: continuations only inside a message, new data frames only outside one */
    {"continuation alone", GRAFT__STRLIT("\x80\x85" MASK), &plain, REFUSED(GRAFT__WS_FRAME_ESEQUENCE, 2)},
    {"text inside a message", GRAFT__STRLIT("\x81\x85" MASK), &in_msg, REFUSED(GRAFT__WS_FRAME_ESEQUENCE, 2)},
    {"binary inside a message", GRAFT__STRLIT("\x02\x85" MASK), &in_msg, REFUSED(GRAFT__WS_FRAME_ESEQUENCE, 2)},
    /* §5.2: the 64-bit length's most significant bit must be 0 */
    {"64-bit, top bit", GRAFT__STRLIT("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00" MASK), &unlimited,
     REFUSED(GRAFT__WS_FRAME_ELENGTH, 10)},
    {"64-bit, all ones", GRAFT__STRLIT("\x82\xff\xff\xff\xff\xff\xff\xff\xff\xff"), &unlimited,
     REFUSED(GRAFT__WS_FRAME_ELENGTH, 10)},
    {"64-bit, top bit, over max", GRAFT__STRLIT("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00"), &max5,
     REFUSED(GRAFT__WS_FRAME_ELENGTH, 10)},
    /* the size limit: judged once the length is known, before the mask */
    {"text at max", GRAFT__STRLIT("\x81\x85" MASK), &max5, 6, 6, 1, 0, 1, 5},
    {"text over max", GRAFT__STRLIT("\x81\x86" MASK), &max5, REFUSED(GRAFT__WS_FRAME_ETOOBIG, 2)},
    {"continuation over max", GRAFT__STRLIT("\x80\x86"), &(graft__ws_frame_limits){5, 1, 0},
     REFUSED(GRAFT__WS_FRAME_ETOOBIG, 2)},
    {"empty text, max 0", GRAFT__STRLIT("\x81\x80" MASK), &max0, 6, 6, 1, 0, 1, 0},
    {"1 byte, max 0", GRAFT__STRLIT("\x82\x81" MASK), &max0, REFUSED(GRAFT__WS_FRAME_ETOOBIG, 2)},
    {"16-bit over max", GRAFT__STRLIT("\x82\xfe\x00\x7e" MASK), &max125, REFUSED(GRAFT__WS_FRAME_ETOOBIG, 4)},
    {"64-bit over max", GRAFT__STRLIT("\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00" MASK), &max65535,
     REFUSED(GRAFT__WS_FRAME_ETOOBIG, 10)},
    {"64-bit at max", GRAFT__STRLIT("\x82\xff\x00\x00\x00\x00\x00\x00\xff\xff" MASK), &max65535,
     14, 14, 1, 0, 2, 65535},
    {"control frames are not limited", GRAFT__STRLIT("\x89\xfd" MASK), &max0, 6, 6, 1, 0, 9, 125},
};

static void run_case(const fcase *c)
{
    static const char tail[] = "\x81\x85\x00\x00\x00\x00trailing bytes";
    char *whole = malloc(c->n + sizeof tail);
    if (!whole)
        abort();
    memcpy(whole, c->in, c->n);
    memcpy(whole + c->n, tail, sizeof tail);
    /* every prefix, the input itself, and the input with more bytes after it */
    for (size_t k = 0; k <= c->n + sizeof tail; k++) {
        unsigned char *p = dup_exact(whole, k);
        graft__ws_frame f;
        memset(&f, 0xa5, sizeof f);
        int rc = graft__ws_frame_decode(p, k, c->lim, &f);
        int want = k < c->due ? 0 : c->want;
        check(rc == want, c->name, "%zu bytes: got %d, want %d", k, rc, want);
        if (rc > 0 && want > 0) {
            check(f.fin == c->fin && f.rsv1 == c->rsv1 && f.opcode == c->opcode, c->name,
                  "fin/rsv1/opcode %d/%d/%d, want %d/%d/%d", f.fin, f.rsv1, f.opcode, c->fin,
                  c->rsv1, c->opcode);
            check(f.len == c->len, c->name, "len %llu, want %llu", (unsigned long long)f.len,
                  (unsigned long long)c->len);
            check(f.head_len == (size_t)rc, c->name, "head_len %zu, returned %d", f.head_len, rc);
            check(memcmp(f.mask, MASK, 4) == 0, c->name, "mask %02x%02x%02x%02x", f.mask[0],
                  f.mask[1], f.mask[2], f.mask[3]);
        }
        free(p);
    }
    free(whole);
}

/* Every opcode the RFC reserves is refused, in every state, on the 2-byte header. */
static void test_reserved_opcodes(void)
{
    static const graft__ws_frame_limits *states[] = {&plain, &deflate, &in_msg, &in_msg_deflate};
    for (int op = 0; op < 16; op++) {
        int reserved = (op >= 3 && op <= 7) || op >= 11;
        for (size_t s = 0; s < sizeof states / sizeof states[0]; s++) {
            unsigned char h[2] = {(unsigned char)(0x80 | op), 0x80};
            graft__ws_frame f;
            int rc = graft__ws_frame_decode(h, 2, states[s], &f);
            char name[32];
            snprintf(name, sizeof name, "opcode %d", op);
            if (reserved)
                check(rc == GRAFT__WS_FRAME_EOPCODE, name, "state %zu: got %d", s, rc);
            else
                check(rc == 0 || rc == GRAFT__WS_FRAME_ESEQUENCE, name, "state %zu: got %d", s, rc);
        }
    }
}

/* The verdict on every 2-byte header in every state against the rules as the RFC states
 * them: accepted (need the mask) or refused, whichever rule refuses it. */
static void test_all_two_byte_heads(void)
{
    int bad = 0;
    for (int st = 0; st < 4; st++) {
        graft__ws_frame_limits lim = {MIB16, st & 1, (st >> 1) & 1};
        for (int b0 = 0; b0 < 256; b0++) {
            for (int b1 = 0; b1 < 256; b1++) {
                int fin = b0 >> 7, rsv1 = (b0 >> 6) & 1, rsv23 = (b0 >> 4) & 3, op = b0 & 15;
                int masked = b1 >> 7, len7 = b1 & 127;
                int known = op <= 2 || (op >= 8 && op <= 10), control = op >= 8;
                int ok = masked && !rsv23 && known;
                if (ok && control)
                    ok = fin && len7 <= 125 && !rsv1;
                else if (ok)
                    ok = (op == 0) == lim.in_message && (!rsv1 || (op != 0 && lim.rsv1_ok));
                unsigned char h[2] = {(unsigned char)b0, (unsigned char)b1};
                graft__ws_frame f;
                int rc = graft__ws_frame_decode(h, 2, &lim, &f);
                if ((rc == 0) != ok || rc > 0) {
                    if (bad++ < 5)
                        check(0, "two-byte head", "%02x %02x in state %d: got %d, want %s", b0, b1,
                              st, rc, ok ? "need more" : "refused");
                }
            }
        }
    }
    check(bad == 0, "two-byte heads", "%d wrong verdicts", bad);
}

static void test_close_codes(void)
{
    static const struct { int err, code; } map[] = {
        {GRAFT__WS_FRAME_EUNMASKED, 1002}, {GRAFT__WS_FRAME_ERSV, 1002},
        {GRAFT__WS_FRAME_EOPCODE, 1002},   {GRAFT__WS_FRAME_ECONTROL, 1002},
        {GRAFT__WS_FRAME_ESEQUENCE, 1002}, {GRAFT__WS_FRAME_ELENGTH, 1002},
        {GRAFT__WS_FRAME_ETOOBIG, 1009},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        int code = graft__ws_frame_close_code(map[i].err);
        check(code == map[i].code, "close code", "error %d: got %d, want %d", map[i].err, code,
              map[i].code);
    }
}

/* RFC 6455 §5.7's masked "Hello", unmasked whole and in two pieces split at every point. */
static void test_unmask(void)
{
    static const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    static const unsigned char masked[] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
    for (size_t cut = 0; cut <= sizeof masked; cut++) {
        unsigned char *p = dup_exact(masked, sizeof masked);
        unsigned pos = graft__ws_unmask(p, cut, mask, 0);
        check(pos == cut % 4, "unmask", "cut %zu: offset %u", cut, pos);
        pos = graft__ws_unmask(p + cut, sizeof masked - cut, mask, pos);
        check(pos == sizeof masked % 4, "unmask", "cut %zu: final offset %u", cut, pos);
        check(memcmp(p, "Hello", 5) == 0, "unmask", "cut %zu: got %.5s", cut, (char *)p);
        free(p);
    }
    /* an offset carried over from earlier pieces picks up the key where they left it */
    unsigned char one = 0x00;
    check(graft__ws_unmask(&one, 1, mask, 7) == 0 && one == 0x3d, "unmask", "offset 7: %02x", one);
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
    test_reserved_opcodes();
    test_all_two_byte_heads();
    test_close_codes();
    test_unmask();
    return unit_report();
}
