/* Input side of a connection: read, parse heads, decode bodies, hand
 * requests to the embedder. I/O thread, c->mu held. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "conn.h"
#include "ws_state.h"

/* --health-path: answers the request itself (and releases the delivery's reference) when its
 * path is exactly the configured one. Never reaches the app or a native handler, so it says
 * whether this worker is up and accepting, not whether the app is healthy. */
static int answer_health(graft__conn *c, graft__req *r)
{
    graft__engine *e = c->th->e;
    if (r->path_len != e->health_path_len || memcmp(r->path, e->health_path, r->path_len) != 0)
        return 0;
    static const char ok[] = "ok\n", draining[] = "draining\n";
    if (atomic_load(&e->draining)) /* answered with connection: close as well */
        graft__req_respond_locked(r, 503, "text/plain; charset=utf-8", draining, sizeof draining - 1);
    else
        graft__req_respond_locked(r, 200, "text/plain; charset=utf-8", ok, sizeof ok - 1);
    graft__req_release(r);
    return 1;
}

void graft__conn_deliver(graft__conn *c, graft__req *r, int ev)
{
    atomic_fetch_add(&r->refs, 1);
    if (c->kind != GRAFT__LISTEN_APP) {
        /* Admin listeners answer at once, here: nothing else ever holds their requests. */
        if (ev == GRAFT__EV_REQUEST && c->th->e->cfg.admin)
            c->th->e->cfg.admin(c->th->e->cfg.admin_ud, r, c->kind);
        else
            graft__req_release(r);
        return;
    }
    if (ev == GRAFT__EV_REQUEST && c->th->e->health_path && answer_health(c, r))
        return;
    c->th->e->deliver(c->th->e->ud, r, ev);
}

/* Makes room for one read. Input starts in the thread's read buffer (lent until the event
 * is handled, conn.c's in_settle); a connection needs memory of its own only for input
 * it could not use at once, and for a read after the lent buffer filled up. */
static int in_room(graft__conn *c)
{
    graft__iothread *th = c->th;
    if (!th->rbuf) /* it went to a connection when memory was short */
        th->rbuf = malloc(GRAFT__READ_CHUNK);
    if (!c->in.data && th->rbuf) {
        c->in = (graft__buf){.data = th->rbuf, .cap = GRAFT__READ_CHUNK};
        return 0;
    }
    if (c->in.data && c->in.data == th->rbuf) {
        if (c->in.off) { /* compacting is fine: the buffer is ours for this event */
            size_t n = graft__buf_avail(&c->in);
            memmove(c->in.data, c->in.data + c->in.off, n);
            c->in.off = 0;
            c->in.len = n;
        }
        if (c->in.cap - c->in.len >= GRAFT__READ_CHUNK / 4)
            return 0;
        /* Full: move to memory of our own before growing (never realloc the thread's). */
        size_t n = c->in.len;
        char *p = malloc(n + GRAFT__READ_CHUNK);
        if (!p)
            return -1;
        memcpy(p, c->in.data, n);
        c->in = (graft__buf){.data = p, .len = n, .cap = n + GRAFT__READ_CHUNK};
        return 0;
    }
    size_t n = graft__buf_avail(&c->in);
    if (th->rbuf && n <= GRAFT__READ_CHUNK / 4) {
        /* A few bytes kept from an earlier event (a head arriving in pieces): read on behind
         * them in the lent buffer rather than grow ours to a whole read's size, so a client
         * that trickles costs what it sent, not 16 KiB. */
        memcpy(th->rbuf, graft__buf_head(&c->in), n);
        graft__buf_free(&c->in);
        c->in = (graft__buf){.data = th->rbuf, .len = n, .cap = GRAFT__READ_CHUNK};
        return 0;
    }
    return graft__buf_reserve(&c->in, GRAFT__READ_CHUNK);
}

void graft__conn_read(graft__conn *c)
{
    c->tls_more = 0;
    if (c->read_eof)
        return;
    for (;;) {
        if (graft__buf_avail(&c->in) >= c->th->e->cfg.limits.max_head + GRAFT__PIPELINE_MAX) {
            /* paused: update_interest drops EPOLLIN. Input OpenSSL already took off the
             * socket would not wake epoll again: remember it. */
            c->tls_more = graft__io_pending(c) || (c->ssl && SSL_has_pending(c->ssl));
            return;
        }
        if (in_room(c) < 0) {
            c->read_eof = 1;
            return;
        }
        size_t room = c->in.cap - c->in.len;
        ssize_t n = graft__io_read(c, c->in.data + c->in.len, room);
        if (n > 0) {
            c->in.len += (size_t)n;
            /* A short read drained the socket; level-triggered epoll reports anything newer.
             * TLS returns a record at a time: a short one drained only when OpenSSL holds
             * nothing more (its read-ahead took what the socket had). */
            if ((size_t)n < room && (!c->ssl || !SSL_has_pending(c->ssl)))
                return;
            continue;
        }
        if (n == -EAGAIN)
            return;
        c->read_eof = 1;
        return;
    }
}

/* Copies the head into one allocation owned by the request, so the input
 * buffer can be compacted or grown while the app still reads the request. */
static graft__req *make_req(graft__conn *c, const char *buf, size_t head_len,
                            const graft__http1_request *p)
{
    size_t hsz = p->num_headers * sizeof(graft__header);
    graft__req *r = calloc(1, sizeof *r + hsz + head_len);
    if (!r)
        return NULL;
    graft__header *h = (graft__header *)(r + 1);
    char *copy = (char *)h + hsz;
    memcpy(copy, buf, head_len);
#define REBASE(ptr) ((ptr) >= buf && (ptr) < buf + head_len ? copy + ((ptr) - buf) : (ptr))
    r->method = REBASE(p->method);
    r->method_len = p->method_len;
    r->target = REBASE(p->target);
    r->target_len = p->target_len;
    r->path = REBASE(p->path);
    r->path_len = p->path_len;
    r->query = p->query ? REBASE(p->query) : copy;
    r->query_len = p->query_len;
    for (size_t i = 0; i < p->num_headers; i++) {
        h[i].name = REBASE(p->headers[i].name);
        h[i].name_len = p->headers[i].name_len;
        h[i].value = REBASE(p->headers[i].value);
        h[i].value_len = p->headers[i].value_len;
    }
#undef REBASE
    r->headers = h;
    r->num_headers = p->num_headers;
    r->minor_version = p->minor_version;
    r->is_head = GRAFT__LIT_EQ(p->method, p->method_len, "HEAD");
    r->expect_continue = p->expect_continue;
    r->has_body = p->chunked || p->content_length > 0;
    r->keep_alive = p->minor_version >= 1 ? !p->conn_close : (p->conn_keep_alive && !p->conn_close);
    memcpy(r->client_ip, c->client_ip, sizeof r->client_ip);
    r->client_port = c->client_port;
    memcpy(r->server_ip, c->server_ip, sizeof r->server_ip);
    r->server_port = c->server_port;
    r->conn = c;
    atomic_fetch_add(&c->refs, 1);
    atomic_init(&r->refs, 1); /* the connection's */
    return r;
}

static int upgrade_is_websocket(const graft__http1_request *p)
{
    for (size_t i = 0; i < p->num_headers; i++) {
        const graft__header *h = &p->headers[i];
        if (!GRAFT__TOK_IS(h->name, h->name_len, "upgrade"))
            continue;
        /* a comma-separated list of protocols; "websocket" among them, any case */
        const char *v = h->value, *end = v + h->value_len, *item;
        size_t n;
        while (graft__list_next(&v, end, &item, &n))
            if (GRAFT__TOK_IS(item, n, "websocket"))
                return 1;
    }
    return 0;
}

static int parse_head(graft__conn *c)
{
    graft__engine *e = c->th->e;
    graft__http1_request p;
    memset(&p, 0, sizeof p);
    p.headers = c->th->hdrs;
    const char *buf = graft__buf_head(&c->in);
    int rc = graft__http1_parse_request(buf, graft__buf_avail(&c->in), &p, &e->cfg.limits);
    if (rc == 0) {
        if (!c->head_started_ms)
            c->head_started_ms = graft__now_ms();
        return 0;
    }
    if (rc < 0) {
        graft__conn_fail(c, -rc);
        return -1;
    }
    graft__ws_offer offer;
    int ws = 0;
    if (e->cfg.ws.enabled && p.has_upgrade && upgrade_is_websocket(&p)) {
        int st = graft__ws_check_handshake_parsed(&p, &offer, &e->cfg.ws);
        if (st == 426) {
            graft__conn_fail_hdr(c, 426, &(graft__field){GRAFT__STRLIT("sec-websocket-version"),
                                                          GRAFT__STRLIT("13")});
            return -1;
        }
        if (st) {
            graft__conn_fail(c, st);
            return -1;
        }
        ws = 1;
    }
    if (p.expect_other) { /* RFC 9110 §10.1.1: an expectation we cannot meet */
        graft__conn_fail(c, 417);
        return -1;
    }
    if (e->cfg.max_body && p.content_length > 0 && (uint64_t)p.content_length > e->cfg.max_body) {
        graft__conn_fail(c, 413);
        return -1;
    }
    long limit = e->cfg.limit_concurrency;
    if (limit > 0 &&
        (atomic_load(&e->connections) > limit || atomic_load(&e->inflight) >= limit)) {
        graft__conn_fail(c, 503);
        return -1;
    }
    graft__io_tls_info(c); /* once per connection: the handshake is done */
    graft__req *r = make_req(c, buf, (size_t)rc, &p);
    if (r && (e->cfg.metrics || e->cfg.stamp_start) && c->kind == GRAFT__LISTEN_APP)
        r->t_start_ns = graft__metrics_now();
    if (r && ws) {
        r->ws_offer = malloc(sizeof offer);
        if (r->ws_offer) {
            *r->ws_offer = offer;
            r->websocket = 1;
        }
    }
    if (!r || (ws && !r->websocket)) {
        if (r)
            graft__req_release(r);
        graft__conn_fail(c, 503);
        return -1;
    }
    graft__buf_consume(&c->in, (size_t)rc);
    c->head_started_ms = 0;
    c->idle_since_ms = 0;
    c->drained = 0;
    c->body_total = 0;
    if (p.chunked) {
        c->body_mode = GRAFT__BODY_CHUNKED;
        graft__chunked_init(&c->chunked, 0, 0);
    } else if (p.content_length > 0) {
        c->body_mode = GRAFT__BODY_LENGTH;
        c->body_left = (uint64_t)p.content_length;
        r->content_length = (uint64_t)p.content_length;
    } else {
        c->body_mode = GRAFT__BODY_NONE;
        r->body_done = 1;
    }
    if (atomic_load(&e->draining))
        r->shutdown = 1;
    c->req = r;
    atomic_fetch_add(&e->inflight, 1);
    graft__conn_deliver(c, r, GRAFT__EV_REQUEST);
    return 1;
}

/* Moves body bytes from the input buffer to the request (or discards them
 * when the response is already complete). Returns -1 on a framing error. */
static int pump_body(graft__conn *c)
{
    graft__engine *e = c->th->e;
    graft__req *r = c->req;
    int progressed = 0;
    while (c->body_mode != GRAFT__BODY_NONE && graft__buf_avail(&c->in)) {
        if (r && graft__buf_avail(&r->body) >= GRAFT__BODY_HIGH && !r->collect_body)
            break;
        const char *data = NULL;
        size_t dlen = 0;
        if (c->body_mode == GRAFT__BODY_LENGTH) {
            dlen = graft__buf_avail(&c->in);
            if (dlen > c->body_left)
                dlen = (size_t)c->body_left;
            data = graft__buf_head(&c->in);
            c->body_left -= dlen;
            if (c->body_left == 0)
                c->body_mode = GRAFT__BODY_NONE;
        } else {
            ssize_t n = graft__chunked_decode(&c->chunked, graft__buf_head(&c->in),
                                              graft__buf_avail(&c->in), &data, &dlen);
            if (n < 0)
                return -1;
            if (c->chunked.done)
                c->body_mode = GRAFT__BODY_NONE;
            if (n == 0 && dlen == 0 && !c->chunked.done)
                break;
            /* data points into c->in: copy before consuming */
            if (r && dlen && graft__buf_append(&r->body, data, dlen) < 0)
                return -1;
            if (!r)
                c->drained += dlen;
            graft__buf_consume(&c->in, (size_t)n);
            progressed = 1;
            /* The running total, not what is buffered: the app may already have taken
             * the earlier chunks. */
            c->body_total += dlen;
            if (r && e->cfg.max_body && c->body_total > e->cfg.max_body)
                return -2;
            continue;
        }
        if (r && dlen && graft__buf_append(&r->body, data, dlen) < 0)
            return -1;
        if (!r)
            c->drained += dlen;
        graft__buf_consume(&c->in, dlen);
        progressed = 1;
    }
    if (!r) {
        if (c->drained > GRAFT__DRAIN_MAX)
            return -3;
        return 0;
    }
    if (c->body_mode == GRAFT__BODY_NONE)
        r->body_done = 1;
    if (progressed)
        c->body_wait_ms = graft__now_ms();
    if ((progressed || r->body_done) && r->receive_waiting) {
        r->receive_waiting = 0;
        graft__conn_deliver(c, r, GRAFT__EV_BODY);
    }
    return 0;
}

static void body_error(graft__conn *c, int rc)
{
    graft__req *r = c->req;
    if (r && !r->response_started) {
        r->aborted = 1;
        graft__conn_fail(c, rc == -2 ? 413 : 400);
    } else {
        c->want_close = 1;
        c->no_more_input = 1;
    }
    if (r && !c->closed && r->receive_waiting) {
        r->receive_waiting = 0;
        r->client_gone = 1;
        graft__conn_deliver(c, r, GRAFT__EV_DISCONNECT);
    } else if (r)
        r->client_gone = 1;
}

void graft__conn_process(graft__conn *c)
{
    if (c->ws) {
        graft__ws_process(c);
        return;
    }
    while (!c->closed && !c->no_more_input) {
        if (c->body_mode != GRAFT__BODY_NONE) {
            int rc = pump_body(c);
            if (rc < 0) {
                body_error(c, rc);
                return;
            }
            if (c->body_mode != GRAFT__BODY_NONE)
                break;
        }
        /* Responses leave in request order, and unread output bounds what a client that
         * pipelines without reading can make us hold: the next request waits. */
        if (c->req || c->want_close || !graft__buf_avail(&c->in) || graft__conn_out_busy(c))
            break;
        if (parse_head(c) <= 0)
            break;
    }
    if (c->closed || !c->read_eof)
        return;
    /* The client closed its side. */
    graft__req *r = c->req;
    if (!r) {
        /* Answers already queued still go out (a client may half-close after its request,
         * as uvicorn's transport flushes before closing): close once they are flushed
         * (linger_or_close), --timeout-send bounding a client that never reads. */
        c->want_close = 1;
        c->no_more_input = 1;
        if (!graft__conn_pending(c))
            graft__conn_close_locked(c);
        return;
    }
    r->client_gone = 1;
    c->want_close = 1;
    if (r->receive_waiting || r->send_waiting) {
        r->receive_waiting = r->send_waiting = 0;
        graft__conn_deliver(c, r, GRAFT__EV_DISCONNECT);
    }
}

void graft__conn_update_interest(graft__conn *c)
{
    uint32_t ev = 0;
    if (!c->read_eof) {
        int want_read;
        if (c->lingering)
            want_read = 1;
        else if (c->ws)
            want_read = graft__ws_want_read(c);
        else if (c->no_more_input)
            want_read = 0;
        else if (c->body_mode != GRAFT__BODY_NONE)
            want_read = !c->req || c->req->collect_body ||
                        graft__buf_avail(&c->req->body) < GRAFT__BODY_HIGH;
        else
            want_read = graft__buf_avail(&c->in) < c->th->e->cfg.limits.max_head + GRAFT__PIPELINE_MAX;
        /* EPOLLRDHUP only with EPOLLIN: a level-triggered half-close we do not read would
         * be reported on every poll while reading is paused. */
        if (want_read)
            ev |= EPOLLIN | EPOLLRDHUP;
    }
    if (ev & EPOLLIN) {
        if (c->tls_more && !c->kicked)
            c->kicked = 1; /* come back for input waiting inside OpenSSL */
        if (c->tls_want_write)
            ev |= EPOLLOUT;
    }
    if (graft__conn_pending(c) || c->kicked)
        ev |= EPOLLOUT;
    graft__conn_set_events(c, ev);
}
