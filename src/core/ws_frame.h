/* WebSocket frame headers from a client (RFC 6455 §5.2), decoded and judged without a
 * connection, so the rules can be unit-tested and fuzzed on their own (engine internals). */
#ifndef GRAFT__WS_FRAME_H
#define GRAFT__WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* What the connection accepts as its next frame. */
typedef struct graft__ws_frame_limits {
    uint64_t max_size; /* largest data frame payload; a larger one is refused (1009) */
    int in_message;    /* a fragmented message is open: only continuation and control frames fit */
    int rsv1_ok;       /* permessage-deflate was agreed: RSV1 may mark a message's first frame */
} graft__ws_frame_limits;

/* A decoded frame header. */
typedef struct graft__ws_frame {
    int fin, rsv1, opcode;
    uint64_t len;          /* payload bytes that follow the header */
    unsigned char mask[4]; /* the client's masking key */
    size_t head_len;       /* header bytes, masking key included: 6, 8 or 14 */
} graft__ws_frame;

/* Why a frame is refused (negative, as graft__ws_frame_decode returns them). */
enum {
    GRAFT__WS_FRAME_EUNMASKED = -1, /* a client frame without the mask bit (§5.1) */
    GRAFT__WS_FRAME_ERSV = -2,      /* RSV bits no agreed extension defines (§5.2, RFC 7692 §6) */
    GRAFT__WS_FRAME_EOPCODE = -3,   /* a reserved opcode (§5.2) */
    GRAFT__WS_FRAME_ECONTROL = -4,  /* a control frame fragmented or over 125 bytes (§5.5) */
    GRAFT__WS_FRAME_ESEQUENCE = -5, /* continuation outside a message, or data inside one (§5.4) */
    GRAFT__WS_FRAME_ELENGTH = -6,   /* a 64-bit length with its most significant bit set (§5.2) */
    GRAFT__WS_FRAME_ETOOBIG = -7,   /* a data frame's payload over lim->max_size (§7.4.1) */
};

/* Decodes the frame header at p[0..n). Returns the header's length (out filled), 0 when more
 * bytes are needed, or a GRAFT__WS_FRAME_E* code. A frame is judged as soon as the bytes that
 * condemn it are there: the first two for all but ELENGTH and ETOOBIG, which need the
 * extended length; the masking key is awaited only for a frame that passed. */
int graft__ws_frame_decode(const unsigned char *p, size_t n, const graft__ws_frame_limits *lim,
                           graft__ws_frame *out);

/* The close code a server fails the connection with for a GRAFT__WS_FRAME_E* code. */
int graft__ws_frame_close_code(int err);

/* Unmasks p[0..n) in place, pos being the payload offset of p[0] modulo 4; returns the
 * offset after it, so a payload can be unmasked in pieces as it arrives. */
unsigned graft__ws_unmask(unsigned char *p, size_t n, const unsigned char mask[4], unsigned pos);

#endif
