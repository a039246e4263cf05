/* The embedder's side of a request: body, response bytes, release. Any
 * thread; every function takes the connection lock, but the *_locked ones,
 * whose caller holds it (graft__req_lock, or deliver). */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "conn.h"
#include "tap.h"

/* Wakes the I/O thread for this connection by arming EPOLLOUT, which a
 * writable socket reports at once: no queue, no extra file descriptor. */
static void kick(graft__conn *c)
{
    if (c->closed || c->kicked)
        return;
    c->kicked = 1;
    graft__conn_set_events(c, c->events | EPOLLOUT);
}

static int keep_alive_locked(graft__req *r)
{
    graft__conn *c = r->conn;
    int ka = r->keep_alive && !c->closed && !c->read_eof && !c->want_close &&
             !atomic_load(&c->th->e->draining) && !r->websocket;
    /* A client waiting for 100 Continue that we never sent will not send the
     * body, and one that sends it anyway would desynchronise us: close. */
    if (c->body_mode != GRAFT__BODY_NONE && r->expect_continue && !r->continue_sent)
        ka = 0;
    return ka;
}

int graft__req_response_head(graft__req *r, const graft__response *resp, graft__buf *out,
                             graft__response_decision *d)
{
    graft__conn *c = r->conn;
    graft__response x = *resp;
    x.minor_version = r->minor_version;
    x.is_head = r->is_head;
    pthread_mutex_lock(&c->mu);
    x.keep_alive = resp->keep_alive && keep_alive_locked(r);
    /* The engine is freed only after its threads closed every connection under this lock,
     * so an open one's config is there while we hold it. A closed connection takes no more
     * bytes, so its head needs neither Date nor the default headers. */
    const graft__engine_config *cfg = c->closed ? NULL : &c->th->e->cfg;
    int rc = graft__http1_response_head(out, &x, cfg, d);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static void finish_response(graft__conn *c, graft__req *r, int flags)
{
    r->response_done = 1;
    r->receive_waiting = r->send_waiting = 0;
    if (c->req != r)
        return; /* connection already closed */
    c->req = NULL;
    c->requests++;
    atomic_fetch_sub(&c->th->e->inflight, 1);
    graft__req_release(r); /* the connection's reference; the caller holds another */
    int close_now = (flags & GRAFT__W_CLOSE) || !r->keep_alive || c->read_eof ||
                    atomic_load(&c->th->e->draining);
    if (c->body_mode != GRAFT__BODY_NONE && r->expect_continue && !r->continue_sent)
        close_now = 1;
    if (close_now) {
        c->want_close = 1;
        c->no_more_input = 1;
        kick(c);
        return;
    }
    c->idle_since_ms = graft__now_ms();
    /* Pipelined bytes, or a body to drain, are waiting for the I/O thread. */
    if (graft__buf_avail(&c->in) || !(c->events & EPOLLIN))
        kick(c);
}

void graft__conn_kick(graft__conn *c) { kick(c); }

int graft__conn_write_locked(graft__conn *c, const struct iovec *iov, int iovcnt)
{
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    size_t done = 0;
    if (!graft__conn_pending(c) && total) {
        for (;;) {
            ssize_t n = graft__io_writev(c, iov, iovcnt);
            if (n >= 0) {
                done = (size_t)n;
                break;
            }
            if (n == -EAGAIN)
                break;
            if (c->req)
                c->req->client_gone = 1;
            c->want_close = 1;
            c->no_more_input = 1;
            kick(c);
            return -EPIPE;
        }
    }
    if (done < total) {
        size_t skip = done;
        for (int i = 0; i < iovcnt; i++) {
            size_t l = iov[i].iov_len;
            if (skip >= l) {
                skip -= l;
                continue;
            }
            if (graft__buf_append(&c->out, (const char *)iov[i].iov_base + skip, l - skip) < 0) {
                c->want_close = 1;
                kick(c);
                return -ENOMEM;
            }
            skip = 0;
        }
        if (!(c->events & EPOLLOUT))
            graft__conn_set_events(c, c->events | EPOLLOUT);
    }
    return 0;
}

static int write_locked(graft__req *r, const struct iovec *iov, int iovcnt, int flags)
{
    graft__conn *c = r->conn;
    int rc = 0;
    if (c->closed || r->aborted || r->response_done || c->req != r || c->ws ||
        ((flags & GRAFT__W_LIVE) && r->client_gone)) {
        rc = -EPIPE;
        goto out;
    }
    r->response_started = 1;
    /* Counted before the bytes go: a client that has its answer finds it in a scrape. */
    if ((flags & GRAFT__W_FINAL) && c->kind == GRAFT__LISTEN_APP)
        graft__metrics_request(c->th->e->cfg.metrics, r);
    rc = graft__conn_write_locked(c, iov, iovcnt);
    if (rc < 0)
        goto out;
    if (flags & GRAFT__W_FINAL)
        finish_response(c, r, flags);
    else if (graft__buf_avail(&c->out) > GRAFT__OUT_HIGH) {
        r->send_waiting = 1;
        rc = 1;
    }
out:
    return rc;
}

int graft__req_write(graft__req *r, const struct iovec *iov, int iovcnt, int flags)
{
    pthread_mutex_lock(&r->conn->mu);
    int rc = write_locked(r, iov, iovcnt, flags);
    pthread_mutex_unlock(&r->conn->mu);
    return rc;
}

int graft__req_respond_locked(graft__req *r, int status, const char *ctype, const char *body,
                              size_t len)
{
    graft__conn *c = r->conn;
    if (c->closed)
        return -EPIPE;
    graft__field ct = {"content-type", 12, ctype, strlen(ctype)};
    graft__response resp = {.status = status,
                            .minor_version = r->minor_version,
                            .is_head = r->is_head,
                            .keep_alive = keep_alive_locked(r),
                            .plan = GRAFT__PLAN_LENGTH,
                            .body_len = len,
                            .lead = &ct,
                            .nlead = 1};
    graft__buf head = {0};
    graft__response_decision d;
    if (graft__http1_response_head(&head, &resp, &c->th->e->cfg, &d) < 0)
        return -ENOMEM;
    r->status = status;
    struct iovec iov[2] = {{head.data, head.len}, {(void *)body, r->is_head ? 0 : len}};
    int rc = write_locked(r, iov, 2, GRAFT__W_FINAL | (d.close ? GRAFT__W_CLOSE : 0));
    graft__buf_free(&head);
    return rc < 0 ? rc : 0;
}

/* 100 Continue, once, to a client that waits for it before sending the body, unless the
 * body already came, a response began (the final status answers the expectation) or nobody
 * can read it. Written with graft__conn_write_locked: what the socket does not take is
 * queued after what it did, never twice; a broken connection is marked for close there,
 * and the request's waiter hears of it through the DISCONNECT that follows. */
static void send_continue_locked(graft__conn *c, graft__req *r)
{
    if (!r->expect_continue || r->continue_sent || r->body_done || r->response_started ||
        r->client_gone || r->aborted || c->closed)
        return;
    r->continue_sent = 1;
    struct iovec iov = graft__http1_continue();
    (void)graft__conn_write_locked(c, &iov, 1);
}

int graft__req_take_body(graft__req *r, graft__buf *out, int *more, int *gone)
{
    graft__conn *c = r->conn;
    int rc = 0;
    pthread_mutex_lock(&c->mu);
    *gone = r->client_gone || r->aborted || c->closed;
    send_continue_locked(c, r);
    size_t avail = graft__buf_avail(&r->body);
    if (avail) {
        int was_full = avail >= GRAFT__BODY_HIGH;
        if (out->len == 0 && out->data == NULL && r->body.off == 0) {
            *out = r->body; /* hand the buffer over instead of copying */
            r->body = (graft__buf){0};
        } else {
            rc = graft__buf_append(out, graft__buf_head(&r->body), avail);
            graft__buf_consume(&r->body, avail);
        }
        if (was_full || graft__buf_avail(&c->in))
            kick(c); /* reading was paused on our account */
    }
    *more = !r->body_done;
    if (!*gone && r->shutdown && r->body_done && !avail)
        *gone = 1;
    if (!avail && *more && !*gone) {
        r->receive_waiting = 1;
        c->body_wait_ms = graft__now_ms();
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void graft__req_release(graft__req *r)
{
    if (atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    graft__buf_free(&r->body);
    free(r->ws_offer);
    if (r->tap)
        r->tap->ops->release(r->tap);
    if (r->conn)
        graft__conn_release(r->conn);
    free(r);
}

int graft__req_gone(graft__req *r)
{
    graft__conn *c = r->conn;
    pthread_mutex_lock(&c->mu);
    int gone = r->client_gone || r->aborted || (c->closed && !r->response_done);
    pthread_mutex_unlock(&c->mu);
    return gone;
}

int graft__req_wait_disconnect(graft__req *r)
{
    graft__conn *c = r->conn;
    pthread_mutex_lock(&c->mu);
    int gone = r->client_gone || r->aborted || c->closed || r->shutdown || r->response_done;
    if (!gone)
        r->receive_waiting = 1;
    pthread_mutex_unlock(&c->mu);
    return gone;
}

int graft__req_sendfile(graft__req *r, const struct iovec *head, int headcnt, int fd,
                        uint64_t off, uint64_t count, int flags)
{
    graft__conn *c = r->conn;
    pthread_mutex_lock(&c->mu);
    if (c->closed || r->aborted || r->response_done || c->req != r || c->file_fd >= 0 ||
        ((flags & GRAFT__W_LIVE) && r->client_gone)) {
        pthread_mutex_unlock(&c->mu);
        close(fd);
        return -EPIPE;
    }
    r->response_started = 1;
    if (c->kind == GRAFT__LISTEN_APP)
        graft__metrics_request(c->th->e->cfg.metrics, r);
    for (int i = 0; i < headcnt; i++)
        if (graft__buf_append(&c->out, head[i].iov_base, head[i].iov_len) < 0) {
            pthread_mutex_unlock(&c->mu);
            close(fd);
            return -ENOMEM;
        }
    c->file_fd = fd;
    c->file_off = off;
    c->file_left = count;
    if (c->ssl)
        atomic_fetch_add_explicit(c->ktls_send ? &c->th->e->tls_files_ktls : &c->th->e->tls_files_copied, 1,
                                  memory_order_relaxed);
    int rc = 0;
    if (graft__conn_flush(c) < 0) {
        r->client_gone = 1;
        c->want_close = 1;
        c->no_more_input = 1;
        kick(c);
        rc = -EPIPE;
    } else {
        if (graft__conn_pending(c) && !(c->events & EPOLLOUT))
            graft__conn_set_events(c, c->events | EPOLLOUT);
        finish_response(c, r, flags | GRAFT__W_FINAL);
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int graft__req_closed(graft__req *r)
{
    graft__conn *c = r->conn;
    pthread_mutex_lock(&c->mu);
    int closed = r->client_gone || c->closed || r->aborted;
    pthread_mutex_unlock(&c->mu);
    return closed;
}

size_t graft__req_queued(graft__req *r)
{
    graft__conn *c = r->conn;
    pthread_mutex_lock(&c->mu);
    size_t queued = graft__buf_avail(&c->out);
    pthread_mutex_unlock(&c->mu);
    return queued;
}

int graft__req_unread_body(graft__req *r, graft__buf *b)
{
    if (!graft__buf_avail(b))
        return 0;
    graft__conn *c = r->conn;
    int rc = 0;
    pthread_mutex_lock(&c->mu);
    size_t held = graft__buf_avail(&r->body);
    if (held)
        rc = graft__buf_append(b, graft__buf_head(&r->body), held);
    if (rc == 0) {
        graft__buf_free(&r->body);
        r->body = *b;
        *b = (graft__buf){0};
        r->collect_body = 0;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void graft__req_lock(graft__req *r) { pthread_mutex_lock(&r->conn->mu); }
void graft__req_unlock(graft__req *r) { pthread_mutex_unlock(&r->conn->mu); }

void graft__req_collect_body_locked(graft__req *r)
{
    graft__conn *c = r->conn;
    r->collect_body = 1;
    r->receive_waiting = 1;
    c->body_wait_ms = graft__now_ms();
    send_continue_locked(c, r);
}

int graft__req_want_writable_locked(graft__req *r)
{
    graft__conn *c = r->conn;
    if (c->closed || r->aborted || r->client_gone || r->response_done || c->req != r)
        return -EPIPE;
    /* WRITABLE comes when a flush leaves the queue below the low mark; if it already is, a
     * kick makes the I/O thread flush (nothing) and deliver it. */
    r->send_waiting = 1;
    if (graft__buf_avail(&c->out) < GRAFT__OUT_LOW)
        kick(c);
    return 0;
}
