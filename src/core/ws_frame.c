/* WebSocket frame-header decoding and unmasking (RFC 6455 §5), with no connection: the
 * caller says what the connection accepts next, and fails it with the close code named. */
#include <string.h>

#include "ws.h"
#include "ws_frame.h"

/* The checks that need only the first two bytes: everything but the extended length. */
static int judge_head(unsigned char b0, unsigned char b1, const graft__ws_frame_limits *lim)
{
    int fin = b0 & 0x80, rsv1 = b0 & 0x40, rsv23 = b0 & 0x30, op = b0 & 0x0F;
    if (!(b1 & 0x80))
        return GRAFT__WS_FRAME_EUNMASKED;
    if ((op > GRAFT__WS_BINARY && op < GRAFT__WS_CLOSE) || op > GRAFT__WS_PONG)
        return GRAFT__WS_FRAME_EOPCODE;
    if (rsv23)
        return GRAFT__WS_FRAME_ERSV;
    if (op & 0x8) {
        if (!fin || (b1 & 0x7F) > 125)
            return GRAFT__WS_FRAME_ECONTROL;
        return rsv1 ? GRAFT__WS_FRAME_ERSV : 0;
    }
    if ((op == GRAFT__WS_CONT) != (lim->in_message != 0))
        return GRAFT__WS_FRAME_ESEQUENCE;
    /* RSV1 marks a compressed message on its first frame only (RFC 7692 §6.1) */
    if (rsv1 && (op == GRAFT__WS_CONT || !lim->rsv1_ok))
        return GRAFT__WS_FRAME_ERSV;
    return 0;
}

int graft__ws_frame_decode(const unsigned char *p, size_t n, const graft__ws_frame_limits *lim,
                           graft__ws_frame *out)
{
    if (n < 2)
        return 0;
    /* judged before the rest arrives, so a bad frame is refused even when the peer sends
     * nothing more (RFC 6455 §5.1) */
    int rc = judge_head(p[0], p[1], lim);
    if (rc < 0)
        return rc;
    uint64_t len = p[1] & 0x7F;
    size_t hl = 2;
    if (len == 126) {
        if (n < 4)
            return 0;
        len = ((uint64_t)p[2] << 8) | p[3];
        hl = 4;
    } else if (len == 127) {
        if (n < 10)
            return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = (len << 8) | p[2 + i];
        hl = 10;
        if (len >> 63)
            return GRAFT__WS_FRAME_ELENGTH;
    }
    if (!(p[0] & 0x8) && len > lim->max_size)
        return GRAFT__WS_FRAME_ETOOBIG;
    if (n < hl + 4)
        return 0;
    out->fin = (p[0] & 0x80) != 0;
    out->rsv1 = (p[0] & 0x40) != 0;
    out->opcode = p[0] & 0x0F;
    out->len = len;
    memcpy(out->mask, p + hl, 4);
    out->head_len = hl + 4;
    return (int)out->head_len;
}

int graft__ws_frame_close_code(int err)
{
    return err == GRAFT__WS_FRAME_ETOOBIG ? 1009 : 1002;
}

unsigned graft__ws_unmask(unsigned char *p, size_t n, const unsigned char mask[4], unsigned pos)
{
    for (size_t i = 0; i < n; i++)
        p[i] ^= mask[(pos + i) & 3];
    return (unsigned)((pos + n) & 3);
}
