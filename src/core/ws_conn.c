/* WebSocket framing on the connection: the I/O thread parses and validates
 * frames and queues whole messages; any thread sends. Failures follow RFC
 * 6455 §7.1.7: send a close with the reason code, then drop the connection. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "conn.h"
#include "ws_frame.h"
#include "ws_state.h"

#define CLOSE_WAIT_MS 5000

int graft__ws_code_valid(int code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

void graft__ws_free(graft__ws_state *ws)
{
    if (ws->inf_ready)
        inflateEnd(&ws->inf);
    if (ws->def_ready)
        deflateEnd(&ws->def);
    graft__buf_free(&ws->m);
    graft__buf_free(&ws->close_reason);
    for (graft__ws_msg *m = ws->qhead, *n; m; m = n) {
        n = m->next;
        graft__buf_free(&m->data);
        free(m);
    }
    free(ws);
}

/* Frame header for a server frame (never masked). */
static size_t frame_head(unsigned char *h, int fin, int rsv1, int op, uint64_t len)
{
    h[0] = (unsigned char)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (op & 0x0F));
    if (len < 126) {
        h[1] = (unsigned char)len;
        return 2;
    }
    if (len <= 0xFFFF) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++)
        h[2 + i] = (unsigned char)(len >> (56 - 8 * i));
    return 10;
}

static int send_frame(graft__conn *c, int op, int rsv1, const void *data, size_t len)
{
    unsigned char h[10];
    size_t hl = frame_head(h, 1, rsv1, op, len);
    struct iovec iov[2] = {{h, hl}, {(void *)data, len}};
    return graft__conn_write_locked(c, iov, 2);
}

static void send_close(graft__conn *c, int code, const char *reason, size_t rlen)
{
    graft__ws_state *ws = c->ws;
    if (ws->close_sent || c->closed)
        return;
    unsigned char p[125];
    size_t n = 0;
    if (code) {
        if (rlen > 123) {
            rlen = 123;
            /* never cut inside a UTF-8 sequence: the reason must stay valid text */
            while (rlen > 0 && ((unsigned char)reason[rlen] & 0xC0) == 0x80)
                rlen--;
        }
        p[0] = (unsigned char)(code >> 8);
        p[1] = (unsigned char)code;
        memcpy(p + 2, reason, rlen);
        n = 2 + rlen;
    }
    ws->close_sent = 1;
    ws->close_sent_ms = graft__now_ms();
    send_frame(c, GRAFT__WS_CLOSE, 0, p, n);
}

/* Tells a waiting app that something changed (message or close). */
static void notify(graft__conn *c)
{
    graft__req *r = c->req;
    if (r && r->receive_waiting) {
        r->receive_waiting = 0;
        graft__conn_deliver(c, r, GRAFT__EV_BODY);
    }
}

static void fail(graft__conn *c, int code)
{
    graft__ws_state *ws = c->ws;
    if (!ws->close_received && !ws->failed)
        ws->close_code = code;
    ws->failed = 1;
    send_close(c, code, "", 0);
    c->no_more_input = 1;
    c->want_close = 1;
    if (c->req)
        c->req->client_gone = 1;
    notify(c);
    graft__conn_kick(c);
}

static int enqueue(graft__ws_state *ws, int op, graft__buf *data)
{
    graft__ws_msg *m = malloc(sizeof *m);
    if (!m)
        return -1;
    m->next = NULL;
    m->opcode = op;
    m->data = *data;
    *data = (graft__buf){0};
    if (ws->qtail)
        ws->qtail->next = m;
    else
        ws->qhead = m;
    ws->qtail = m;
    ws->qcount++;
    return 0;
}

/* Inflates a whole compressed message (RFC 7692 §7.2.2). Returns 0, -1009 or -1007/-1002. */
static int inflate_msg(graft__ws_state *ws, graft__buf *out)
{
    if (!ws->inf_ready) {
        memset(&ws->inf, 0, sizeof ws->inf);
        if (inflateInit2(&ws->inf, -15) != Z_OK)
            return -1011;
        ws->inf_ready = 1;
    }
    static unsigned char tail[4] = {0x00, 0x00, 0xff, 0xff};
    if (graft__buf_append(&ws->m, tail, 4) < 0)
        return -1011;
    z_stream *z = &ws->inf;
    z->next_in = (unsigned char *)graft__buf_head(&ws->m);
    z->avail_in = (uInt)graft__buf_avail(&ws->m);
    for (;;) {
        if (graft__buf_reserve(out, 16384) < 0)
            return -1011;
        z->next_out = (unsigned char *)out->data + out->len;
        z->avail_out = (uInt)(out->cap - out->len);
        int rc = inflate(z, Z_SYNC_FLUSH);
        out->len = out->cap - z->avail_out;
        if (out->len > ws->cfg.max_size)
            return -1009;
        if (rc == Z_STREAM_END) { /* the peer ended its stream (BFINAL): start afresh next time */
            inflateReset(z);
            break;
        }
        if (rc == Z_BUF_ERROR || (rc == Z_OK && z->avail_in == 0 && z->avail_out != 0))
            break;
        if (rc != Z_OK)
            return -1007; /* corrupt compressed data: invalid payload (RFC 6455 §7.4.1) */
    }
    if (ws->offer.client_no_ctx)
        inflateReset(&ws->inf);
    graft__buf_free(&ws->m);
    return 0;
}

static void handle_control(graft__conn *c)
{
    graft__ws_state *ws = c->ws;
    if (ws->f_op == GRAFT__WS_PING) {
        if (!ws->close_sent)
            send_frame(c, GRAFT__WS_PONG, 0, ws->ctrl, ws->ctrl_len);
        return;
    }
    if (ws->f_op == GRAFT__WS_PONG) {
        ws->ping_sent_ms = 0;
        return;
    }
    /* close */
    int code = 1005;
    const char *reason = "";
    size_t rlen = 0;
    if (ws->ctrl_len == 1) {
        fail(c, 1002);
        return;
    }
    if (ws->ctrl_len >= 2) {
        code = (ws->ctrl[0] << 8) | ws->ctrl[1];
        if (!graft__ws_code_valid(code)) {
            fail(c, 1002);
            return;
        }
        reason = (const char *)ws->ctrl + 2;
        rlen = ws->ctrl_len - 2;
        if (graft__utf8_step(0, (const unsigned char *)reason, rlen) != GRAFT__UTF8_OK) {
            fail(c, 1007);
            return;
        }
    }
    ws->close_received = 1;
    if (!ws->failed && !ws->close_code) {
        ws->close_code = code;
        /* At most 123 bytes; without memory the app sees the code with an empty reason. */
        (void)graft__buf_append(&ws->close_reason, reason, rlen);
    }
    /* echo the code (RFC 6455 §5.5.1), then the server closes the TCP connection */
    send_close(c, code == 1005 ? 0 : code, "", 0);
    c->no_more_input = 1;
    c->want_close = 1;
    if (c->req)
        c->req->client_gone = 1;
    notify(c);
}

/* Data bytes of the current frame, already unmasked. Returns 0 or -code. */
static int data_bytes(graft__ws_state *ws, const unsigned char *p, size_t n)
{
    if (graft__buf_avail(&ws->m) + n > ws->cfg.max_size)
        return -1009;
    if (graft__buf_append(&ws->m, p, n) < 0)
        return -1011;
    if (ws->m_op == GRAFT__WS_TEXT && !ws->m_compressed) {
        ws->utf8 = graft__utf8_step(ws->utf8, p, n);
        if (ws->utf8 == GRAFT__UTF8_BAD)
            return -1007;
    }
    return 0;
}

static int end_message(graft__conn *c)
{
    graft__ws_state *ws = c->ws;
    graft__buf msg = {0};
    if (ws->m_compressed) {
        int rc = inflate_msg(ws, &msg);
        if (rc < 0) {
            graft__buf_free(&msg);
            return rc;
        }
        if (ws->m_op == GRAFT__WS_TEXT &&
            graft__utf8_step(0, (unsigned char *)graft__buf_head(&msg), graft__buf_avail(&msg)) != GRAFT__UTF8_OK) {
            graft__buf_free(&msg);
            return -1007;
        }
    } else {
        if (ws->m_op == GRAFT__WS_TEXT && ws->utf8 != GRAFT__UTF8_OK)
            return -1007;
        msg = ws->m;
        ws->m = (graft__buf){0};
    }
    int op = ws->m_op;
    ws->m_op = 0;
    ws->m_compressed = 0;
    ws->utf8 = 0;
    if (ws->close_sent) { /* we are closing: data is discarded */
        graft__buf_free(&msg);
        return 0;
    }
    if (enqueue(ws, op, &msg) < 0) {
        graft__buf_free(&msg);
        return -1011;
    }
    notify(c);
    return 0;
}

/* Reading frames stops while the app has max_queue messages to take, and while the
 * connection's output is above GRAFT__OUT_HIGH, until it drains below GRAFT__OUT_LOW: every
 * ping read queues a pong (and a close its echo), so a peer that sends pings and never reads
 * would otherwise grow the output without bound. The peer's unread frames wait in its socket
 * and ours (bounded by the kernel), as TCP flow control intends. */
int graft__ws_want_read(graft__conn *c)
{
    graft__ws_state *ws = c->ws;
    size_t out = graft__buf_avail(&c->out);
    if (out > GRAFT__OUT_HIGH)
        ws->out_paused = 1;
    else if (out < GRAFT__OUT_LOW)
        ws->out_paused = 0;
    return !c->no_more_input && !ws->out_paused && ws->qcount < ws->cfg.max_queue;
}

/* Decodes the next frame header in c->in and starts that frame. Returns 1 when it started, 0
 * when more bytes are needed, -1 when the frame was refused (the connection failed). */
static int start_frame(graft__conn *c)
{
    graft__ws_state *ws = c->ws;
    graft__ws_frame_limits lim = {ws->cfg.max_size, ws->m_op != 0, ws->offer.deflate};
    graft__ws_frame f;
    int rc = graft__ws_frame_decode((const unsigned char *)graft__buf_head(&c->in),
                                    graft__buf_avail(&c->in), &lim, &f);
    if (rc < 0) {
        fail(c, graft__ws_frame_close_code(rc));
        return -1;
    }
    if (rc == 0)
        return 0;
    graft__buf_consume(&c->in, (size_t)rc);
    ws->in_frame = 1;
    ws->f_op = f.opcode;
    ws->f_fin = f.fin;
    ws->f_left = f.len;
    memcpy(ws->mask, f.mask, sizeof ws->mask);
    ws->mask_pos = 0;
    ws->ctrl_len = 0;
    if (!(f.opcode & 0x8) && f.opcode != GRAFT__WS_CONT) {
        ws->m_op = f.opcode;
        ws->m_compressed = f.rsv1;
        ws->utf8 = 0;
    }
    ws->last_rx_ms = graft__now_ms();
    return 1;
}

/* Takes what c->in holds of the current frame's payload and, once it is whole, acts on the
 * frame. Returns 1 when the frame ended, 0 when more bytes are needed, -1 when the
 * connection failed. A zero-length frame ends here without input. */
static int frame_payload(graft__conn *c)
{
    graft__ws_state *ws = c->ws;
    unsigned char *p = (unsigned char *)graft__buf_head(&c->in);
    size_t avail = graft__buf_avail(&c->in);
    size_t n = avail < ws->f_left ? avail : (size_t)ws->f_left;
    ws->mask_pos = graft__ws_unmask(p, n, ws->mask, ws->mask_pos);
    int rc = 0;
    if (n && (ws->f_op & 0x8)) {
        memcpy(ws->ctrl + ws->ctrl_len, p, n);
        ws->ctrl_len += n;
    } else if (n) {
        rc = data_bytes(ws, p, n);
    }
    graft__buf_consume(&c->in, n);
    ws->f_left -= n;
    if (rc < 0) {
        fail(c, -rc);
        return -1;
    }
    if (ws->f_left)
        return 0;
    ws->in_frame = 0;
    if (ws->f_op & 0x8) {
        handle_control(c);
    } else if (ws->f_fin) {
        rc = end_message(c);
        if (rc < 0) {
            fail(c, -rc);
            return -1;
        }
    }
    return 1;
}

void graft__ws_process(graft__conn *c)
{
    graft__ws_state *ws = c->ws;
    while (!c->closed && !c->no_more_input) {
        if (!graft__ws_want_read(c))
            break; /* back-pressure: the app or the peer is not reading */
        int rc = ws->in_frame ? 1 : start_frame(c);
        if (rc > 0)
            rc = frame_payload(c);
        if (rc < 0)
            return; /* failed: fail() already told the app */
        if (rc == 0)
            break;
    }
    if (c->read_eof && !c->closed) {
        if (!ws->close_received && !ws->failed && !ws->close_code)
            ws->close_code = 1006;
        if (c->req)
            c->req->client_gone = 1;
        c->want_close = 1;
        notify(c);
    }
}

void graft__ws_sweep(graft__conn *c, int64_t now)
{
    graft__ws_state *ws = c->ws;
    const graft__ws_config *cfg = &ws->cfg;
    if (ws->close_sent) {
        if (now - ws->close_sent_ms > CLOSE_WAIT_MS)
            graft__conn_close_locked(c);
        return;
    }
    if (cfg->ping_interval <= 0)
        return;
    if (ws->ping_sent_ms) {
        if (now - ws->ping_sent_ms > (int64_t)(cfg->ping_timeout * 1000))
            fail(c, 1011);
        return;
    }
    int64_t since = ws->last_rx_ms ? ws->last_rx_ms : ws->close_sent_ms;
    if (now - since >= (int64_t)(cfg->ping_interval * 1000)) {
        ws->ping_sent_ms = now;
        send_frame(c, GRAFT__WS_PING, 0, GRAFT__STRLIT("graft"));
    }
}

void graft__ws_shutdown(graft__conn *c, int abort)
{
    graft__ws_state *ws = c->ws;
    if (abort) {
        graft__conn_close_locked(c);
        return;
    }
    if (!ws->close_sent) {
        if (!ws->close_code)
            ws->close_code = 1012;
        send_close(c, 1012, "", 0);
        if (c->req)
            c->req->shutdown = 1;
        notify(c);
    }
}

/* ---- the embedder's side (any thread) ----
 *
 * Lifetime: the embedder's reference on the request keeps the request, which keeps the
 * connection (c->refs), which owns this state (freed in graft__conn_release with the
 * connection). That chain may outlive the engine: an app still running after shutdown gave up
 * on it (graceful timeout, then graft__engine_free) may call any function below later. By
 * then the I/O thread closed every connection (c->closed) on its way out, and c->th points
 * into freed memory. So these functions touch the engine or the I/O thread (c->th, through
 * graft__conn_kick and the writes) only while !c->closed, and the state keeps its own copy
 * of the settings (ws->cfg) rather than a pointer into the engine's. */

int graft__ws_accept(graft__req *r, const char *sp, size_t sp_len, const char *headers, size_t hl)
{
    graft__conn *c = r->conn;
    int rc = 0;
    pthread_mutex_lock(&c->mu);
    if (c->closed || c->req != r || c->ws || !r->websocket || r->response_started) {
        rc = -EPIPE;
        goto out;
    }
    graft__ws_state *ws = calloc(1, sizeof *ws);
    graft__buf head = {0};
    if (!ws || graft__ws_head(c, r->ws_offer, sp, sp_len, headers, hl, &head) < 0) {
        free(ws);
        graft__buf_free(&head);
        rc = -ENOMEM;
        goto out;
    }
    ws->offer = *r->ws_offer;
    ws->cfg = c->th->e->cfg.ws; /* a copy: see the lifetime note above */
    ws->last_rx_ms = graft__now_ms();
    r->response_started = 1;
    r->status = 101;
    struct iovec iov = {head.data, head.len};
    rc = graft__conn_write_locked(c, &iov, 1);
    graft__buf_free(&head);
    c->ws = ws;
    c->idle_since_ms = 0;
    graft__conn_kick(c); /* frames may already be waiting in the input buffer */
out:
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static int deflate_msg(graft__ws_state *ws, const void *data, size_t len, graft__buf *out)
{
    if (!ws->def_ready) {
        memset(&ws->def, 0, sizeof ws->def);
        int bits = ws->offer.server_bits ? ws->offer.server_bits : 15;
        if (deflateInit2(&ws->def, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return -1;
        ws->def_ready = 1;
    }
    z_stream *z = &ws->def;
    z->next_in = (unsigned char *)data;
    z->avail_in = (uInt)len;
    do {
        if (graft__buf_reserve(out, len / 2 + 64) < 0)
            return -1;
        z->next_out = (unsigned char *)out->data + out->len;
        z->avail_out = (uInt)(out->cap - out->len);
        if (deflate(z, Z_SYNC_FLUSH) == Z_STREAM_ERROR)
            return -1;
        out->len = out->cap - z->avail_out;
    } while (z->avail_out == 0);
    if (out->len >= 4)
        out->len -= 4; /* drop the 00 00 ff ff of the sync flush (RFC 7692 §7.2.1) */
    if (ws->offer.server_no_ctx)
        deflateReset(z);
    return 0;
}

int graft__ws_send(graft__req *r, int opcode, const void *data, size_t len)
{
    graft__conn *c = r->conn;
    int rc;
    pthread_mutex_lock(&c->mu);
    graft__ws_state *ws = c->ws;
    if (c->closed || c->req != r || !ws || ws->close_sent || ws->failed) {
        rc = -EPIPE;
        goto out;
    }
    if (ws->offer.deflate && len > 0) {
        graft__buf z = {0};
        if (deflate_msg(ws, data, len, &z) < 0) {
            graft__buf_free(&z);
            rc = -ENOMEM;
            goto out;
        }
        rc = send_frame(c, opcode, 1, graft__buf_head(&z), graft__buf_avail(&z));
        graft__buf_free(&z);
    } else {
        rc = send_frame(c, opcode, 0, data, len);
    }
    if (rc == 0 && graft__buf_avail(&c->out) > GRAFT__OUT_HIGH) {
        r->send_waiting = 1;
        rc = 1;
    }
out:
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int graft__ws_close(graft__req *r, int code, const char *reason, size_t len)
{
    graft__conn *c = r->conn;
    pthread_mutex_lock(&c->mu);
    graft__ws_state *ws = c->ws;
    if (ws && !c->closed) {
        if (!ws->close_code)
            ws->close_code = code ? code : 1000;
        send_close(c, code ? code : 1000, reason, len);
        if (ws->close_received)
            c->want_close = 1;
        graft__conn_kick(c);
    }
    pthread_mutex_unlock(&c->mu);
    return 0;
}

int graft__ws_take(graft__req *r, int *opcode, graft__buf *out, int *code, graft__buf *reason)
{
    graft__conn *c = r->conn;
    int rc = 0;
    pthread_mutex_lock(&c->mu);
    graft__ws_state *ws = c->ws;
    if (ws && ws->qhead) {
        graft__ws_msg *m = ws->qhead;
        ws->qhead = m->next;
        if (!ws->qhead)
            ws->qtail = NULL;
        int was_full = ws->qcount-- >= ws->cfg.max_queue;
        *opcode = m->opcode;
        *out = m->data;
        free(m);
        if (was_full)
            graft__conn_kick(c); /* reading paused on our account */
        rc = 1;
    } else if (!ws || c->closed || ws->close_received || ws->failed || r->client_gone ||
               (ws->close_sent && r->shutdown)) {
        *code = ws && ws->close_code ? ws->close_code : 1006;
        if (ws)
            /* Without memory for the (<= 123 byte) reason the code still goes through. */
            (void)graft__buf_append(reason, graft__buf_head(&ws->close_reason),
                                    graft__buf_avail(&ws->close_reason));
        rc = 2;
    } else {
        r->receive_waiting = 1;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}
