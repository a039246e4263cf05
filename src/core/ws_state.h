/* Per-connection WebSocket state (engine internals). Guarded by the connection lock. */
#ifndef GRAFT__WS_STATE_H
#define GRAFT__WS_STATE_H

#include <zlib.h>

#include "conn.h"
#include "ws.h"

typedef struct graft__ws_msg {
    struct graft__ws_msg *next;
    int opcode;
    graft__buf data;
} graft__ws_msg;

typedef struct graft__ws_state {
    graft__ws_offer offer;
    graft__ws_config cfg; /* a copy: the state may outlive the engine (ws_conn.c) */
    z_stream inf, def;
    int inf_ready, def_ready;
    /* frame being parsed */
    int in_frame, f_op, f_fin;
    uint64_t f_left;
    unsigned char mask[4];
    unsigned mask_pos;
    unsigned char ctrl[125];
    size_t ctrl_len;
    /* message being assembled */
    int m_op, m_compressed;
    graft__buf m;
    uint32_t utf8;
    /* complete messages for the app */
    graft__ws_msg *qhead, *qtail;
    int qcount;
    int out_paused;   /* reading stopped until output drains below GRAFT__OUT_LOW */
    /* close handshake */
    int close_sent, close_received, failed;
    int close_code;   /* what the app is told */
    graft__buf close_reason;
    int64_t close_sent_ms, last_rx_ms, ping_sent_ms;
} graft__ws_state;

/* I/O thread: parses frames from c->in; may fail the connection. */
void graft__ws_process(graft__conn *c);
/* Whether the poller should read frames now (under mu); updates the output pause. */
int graft__ws_want_read(graft__conn *c);
/* Timers: pings, pong timeout, close-handshake timeout. */
void graft__ws_sweep(graft__conn *c, int64_t now);
/* Server shutdown: close with 1012 (or drop at once when aborting). */
void graft__ws_shutdown(graft__conn *c, int abort);
void graft__ws_free(graft__ws_state *ws);
int graft__ws_head(graft__conn *c, const graft__ws_offer *o, const char *sp, size_t sp_len,
                   const char *extra, size_t extra_len, graft__buf *out);

#endif
