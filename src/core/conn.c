/* Connection lifecycle on its I/O thread: accept, readiness events, timers,
 * lingering close. Input parsing lives in conn_input.c, the embedder's calls
 * in req.c. Everything here runs with c->mu held unless noted. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "status.h"
#include "ws_state.h"

static void addr_text(const struct sockaddr_storage *ss, char *ip, int *port)
{
    ip[0] = '\0';
    *port = -1;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, 48);
        *port = ntohs(a->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, 48);
        *port = ntohs(a->sin6_port);
    }
}

/* Whether the peer of a control connection may change the server: our effective uid, or
 * root. The socket's 0600 mode says the same; this holds even if its mode was changed. */
static int peer_allowed(int fd)
{
    struct ucred cr;
    socklen_t l = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0)
        return 0;
    return cr.uid == 0 || cr.uid == geteuid();
}

void graft__conn_accept(graft__iothread *th, int lfd, int kind)
{
    graft__engine *e = th->e;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            /* Level-triggered: a pending connection we cannot take would be reported on
             * every poll, a busy loop while the table stays full. Rest instead. */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                graft__iothread_pause_accept(th, errno);
            return;
        }
        graft__iothread_accepted(th);
        if (kind == GRAFT__LISTEN_CONTROL && (ss.ss_family != AF_UNIX || !peer_allowed(fd))) {
            close(fd);
            continue;
        }
        graft__conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        pthread_mutex_init(&c->mu, NULL);
        atomic_init(&c->refs, 1);
        c->fd = fd;
        c->file_fd = -1;
        c->th = th;
        c->kind = kind;
        if (kind == GRAFT__LISTEN_APP && e->cfg.tls && graft__io_tls_start(c, e->cfg.tls) < 0) {
            graft__io_close(c);
            graft__io_free(c);
            close(fd);
            pthread_mutex_destroy(&c->mu);
            free(c);
            continue;
        }
        if (ss.ss_family != AF_UNIX) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            addr_text(&ss, c->client_ip, &c->client_port);
            struct sockaddr_storage ls;
            socklen_t ll = sizeof ls;
            if (getsockname(fd, (struct sockaddr *)&ls, &ll) == 0)
                addr_text(&ls, c->server_ip, &c->server_port);
        } else {
            c->client_port = c->server_port = -1;
        }
        c->head_started_ms = graft__now_ms();
        c->events = EPOLLIN | EPOLLRDHUP;
        struct epoll_event ev = {.events = c->events, .data.ptr = c};
        if (epoll_ctl(th->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            graft__io_close(c);
            graft__io_free(c);
            close(fd);
            pthread_mutex_destroy(&c->mu);
            free(c);
            continue;
        }
        c->next = th->conns;
        if (th->conns)
            th->conns->prev = c;
        th->conns = c;
        th->nconns++;
        atomic_fetch_add(&e->connections, 1);
        if (kind == GRAFT__LISTEN_APP)
            graft__metrics_conn(e->cfg.metrics, 1);
    }
}

void graft__conn_set_events(graft__conn *c, uint32_t ev)
{
    if (c->closed || ev == c->events)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    epoll_ctl(c->th->epfd, EPOLL_CTL_MOD, c->fd, &e);
    c->events = ev;
}

int graft__conn_flush(graft__conn *c)
{
    for (;;) {
        while (graft__buf_avail(&c->out)) {
            struct iovec iov = {graft__buf_head(&c->out), graft__buf_avail(&c->out)};
            ssize_t n = graft__io_writev(c, &iov, 1);
            if (n == -EAGAIN)
                return 0;
            if (n <= 0)
                return -1; /* nothing taken without a wait: broken (never loop on it) */
            graft__buf_consume(&c->out, (size_t)n);
            c->sent += (uint64_t)n;
        }
        if (c->file_fd < 0 || !c->file_left)
            break;
        /* TLS without kernel TLS refills the queue from the file; else the kernel sends it. */
        int rc = graft__io_sendfile(c);
        if (rc < 0)
            return -1;
        if (rc > 0)
            return 0;
        if (!graft__buf_avail(&c->out))
            break;
    }
    /* Output is queued only for slow clients: memory held for nothing costs every idle
     * connection. */
    if (c->out.data)
        graft__buf_free(&c->out);
    if (c->file_fd >= 0 && !c->file_left) {
        close(c->file_fd);
        c->file_fd = -1;
    }
    return 0;
}

/* Drops c's input bytes and memory (a borrowed read buffer is only given back). */
static void in_drop(graft__conn *c)
{
    if (c->in.data != c->th->rbuf)
        graft__buf_free(&c->in);
    c->in = (graft__buf){0};
}

/* I/O thread only: closes the fd and leaves the list; memory goes when the last reference does. */
void graft__conn_close_locked(graft__conn *c)
{
    if (c->closed)
        return;
    graft__iothread *th = c->th;
    c->closed = 1;
    /* Closing an fd does not remove it from epoll while another process still holds the
     * socket (a fork of the app): its events would keep naming this freed conn. */
    epoll_ctl(th->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    graft__io_close(c);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        th->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    th->nconns--;
    atomic_fetch_sub(&th->e->connections, 1);
    if (c->kind == GRAFT__LISTEN_APP)
        graft__metrics_conn(th->e->cfg.metrics, -1);
    graft__req *r = c->req;
    if (r) {
        c->req = NULL;
        r->client_gone = 1;
        if (r->receive_waiting || r->send_waiting) {
            r->receive_waiting = r->send_waiting = 0;
            graft__conn_deliver(c, r, GRAFT__EV_DISCONNECT);
        }
        atomic_fetch_sub(&th->e->inflight, 1);
        graft__req_release(r); /* the connection's reference; the app still holds its own */
    }
    in_drop(c);
    if (th->nclosing == th->capclosing) {
        size_t cap = th->capclosing ? th->capclosing * 2 : 16;
        graft__conn **p = realloc(th->closing, cap * sizeof *p);
        if (!p) {
            /* Keep the reference rather than risk a use-after-free in this batch. */
            return;
        }
        th->closing = p;
        th->capclosing = cap;
    }
    th->closing[th->nclosing++] = c;
}

void graft__conn_release(graft__conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    graft__buf_free(&c->in);
    graft__buf_free(&c->out);
    if (c->file_fd >= 0)
        close(c->file_fd);
    if (c->ws)
        graft__ws_free(c->ws);
    graft__io_free(c);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Server-initiated close with possibly unread input: half-close our side and keep reading
 * and discarding for a while (nginx's lingering close), so the kernel does not answer unread
 * bytes with a reset. A client still sending a body we answered early (a 413 to a large
 * upload) can then finish sending and read the answer, which a reset would destroy or hide
 * behind a failed send. Bounded in time, idle time and bytes (engine config). */
static void linger_or_close(graft__conn *c)
{
    if (graft__conn_pending(c))
        return; /* after the flush */
    if (c->read_eof) {
        graft__conn_close_locked(c);
        return;
    }
    if (!c->lingering) {
        const graft__engine_config *cfg = &c->th->e->cfg;
        int64_t now = graft__now_ms();
        c->lingering = 1;
        c->linger_until_ms = now + (int64_t)(cfg->timeout_linger * 1000);
        c->linger_data_ms = now;
        c->lingered = 0;
        graft__io_shutdown_wr(c);
        in_drop(c);
        graft__conn_set_events(c, EPOLLIN | EPOLLRDHUP);
    }
}

static void linger_read(graft__conn *c)
{
    const graft__engine_config *cfg = &c->th->e->cfg;
    char scratch[16384];
    /* A bounded batch per event, so one fast sender does not hold the thread: after a full
     * batch level-triggered epoll reports the rest, and the sweep enforces the time limits. */
    for (int i = 0; i < 16; i++) {
        ssize_t n = read(c->fd, scratch, sizeof scratch);
        if (n > 0) {
            c->lingered += (uint64_t)n;
            c->linger_data_ms = graft__now_ms();
            if (c->lingered > cfg->max_linger)
                goto close; /* enough: what the client still sends gets a reset */
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        goto close; /* EOF or error */
    }
    return;
close:
    graft__conn_close_locked(c);
}

void graft__conn_fail(graft__conn *c, int status) { graft__conn_fail_hdr(c, status, NULL); }

void graft__conn_fail_hdr(graft__conn *c, int status, const graft__field *extra)
{
    static const char msg[] = "Invalid HTTP request received.";
    static const graft__field ctype = {GRAFT__STRLIT("content-type"),
                                       GRAFT__STRLIT("text/plain; charset=utf-8")};
    const char *body = msg;
    if (status == 503)
        body = "Service Unavailable";
    else if (status == 408)
        body = "Request Timeout";
    else if (status != 400)
        body = graft__status_reason(status);
    size_t blen = strlen(body);
    /* No request to answer in kind (there may be none): never HEAD, always closing. */
    graft__response resp = {.status = status,
                            .minor_version = 1,
                            .flags = GRAFT__RESP_FRAMING_EARLY,
                            .plan = GRAFT__PLAN_LENGTH,
                            .body_len = blen,
                            .lead = &ctype,
                            .nlead = 1,
                            .fields = extra,
                            .nfields = extra ? 1 : 0};
    graft__response_decision d;
    size_t queued = graft__buf_avail(&c->out);
    if (c->kind == GRAFT__LISTEN_APP && c->th->e->cfg.metrics) {
        /* An answer the server makes itself: counted as graft's, on no route. The method is
         * the current request's when its head was parsed, else unknown ("other"). */
        graft__req x = {.method = c->req ? c->req->method : "", .method_len = c->req ? c->req->method_len : 0,
                        .status = status, .answered_by = GRAFT__BY_GRAFT,
                        .t_start_ns = c->req ? c->req->t_start_ns : 0};
        graft__metrics_request(c->th->e->cfg.metrics, &x);
    }
    if (graft__http1_response_head(&c->out, &resp, &c->th->e->cfg, &d) == 0 &&
        graft__buf_append(&c->out, body, blen) < 0)
        c->out.len = c->out.off + queued; /* no head without its body: just close */
    c->want_close = 1;
    c->no_more_input = 1;
    in_drop(c);
    if (graft__conn_flush(c) < 0)
        graft__conn_close_locked(c);
    else
        linger_or_close(c);
}

/* After an event: gives a borrowed read buffer back, moving leftover input into memory of
 * c's own, and frees input memory that holds nothing. */
static void in_settle(graft__conn *c)
{
    size_t n = graft__buf_avail(&c->in);
    if (c->in.data != c->th->rbuf) {
        if (!n && c->in.data)
            graft__buf_free(&c->in);
        return;
    }
    if (!n) {
        c->in = (graft__buf){0};
        return;
    }
    char *p = malloc(n);
    if (!p) {
        /* Keep the thread's buffer here; the next read lends the thread a fresh one. */
        c->th->rbuf = NULL;
        return;
    }
    memcpy(p, graft__buf_head(&c->in), n);
    c->in = (graft__buf){.data = p, .len = n, .cap = n};
}

void graft__conn_on_events(graft__conn *c, uint32_t events)
{
    pthread_mutex_lock(&c->mu);
    if (c->closed)
        goto out;
    if (events & (EPOLLERR | EPOLLHUP)) {
        /* Reset, or both directions shut: nobody can read a response any more. */
        graft__conn_close_locked(c);
        goto out;
    }
    if (c->lingering) {
        linger_read(c);
        goto out;
    }
    if (events & EPOLLOUT) {
        c->kicked = 0;
        if (graft__conn_flush(c) < 0) {
            graft__conn_close_locked(c);
            goto out;
        }
        graft__req *r = c->req;
        if (r && r->send_waiting && graft__buf_avail(&c->out) < GRAFT__OUT_LOW) {
            r->send_waiting = 0;
            graft__conn_deliver(c, r, GRAFT__EV_WRITABLE);
        }
    }
    /* TLS: a read may wait for writability (handshake output), and input paused inside
     * OpenSSL is not the socket's: epoll would never report it. */
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) || c->tls_more ||
        (c->tls_want_write && (events & EPOLLOUT)))
        graft__conn_read(c);
    if (!c->closed)
        graft__conn_process(c);
    if (!c->closed && c->want_close && (!c->req || c->ws))
        linger_or_close(c);
    if (!c->closed)
        graft__conn_update_interest(c);
out:
    if (!c->closed)
        in_settle(c);
    pthread_mutex_unlock(&c->mu);
}

void graft__conn_sweep(graft__conn *c, int64_t now)
{
    graft__engine *e = c->th->e;
    pthread_mutex_lock(&c->mu);
    if (c->closed)
        goto out;
    if (c->lingering) {
        if (now >= c->linger_until_ms ||
            now - c->linger_data_ms >= (int64_t)(e->cfg.timeout_linger_idle * 1000))
            graft__conn_close_locked(c);
        goto out;
    }
    /* Output waiting for the client: only the send timeout applies (nginx's send_timeout),
     * and the keep-alive clock starts once the last byte is out. */
    if (graft__conn_pending(c)) {
        if (c->idle_since_ms)
            c->idle_since_ms = now;
        if (!c->stall_since_ms || c->sent != c->sweep_sent) {
            c->sweep_sent = c->sent;
            c->stall_since_ms = now;
        } else if (now - c->stall_since_ms > (int64_t)(e->cfg.timeout_send * 1000)) {
            if (c->req)
                c->req->client_gone = 1;
            graft__conn_close_locked(c); /* a waiting app sees a disconnect */
            goto out;
        }
    } else {
        c->stall_since_ms = 0;
    }
    if (c->ws) {
        graft__ws_sweep(c, now);
        goto out;
    }
    if (!c->req) {
        if (c->head_started_ms && now - c->head_started_ms > (int64_t)(e->cfg.timeout_header * 1000)) {
            if (graft__buf_avail(&c->in) && !c->want_close)
                graft__conn_fail(c, 408);
            else
                graft__conn_close_locked(c);
        } else if (!c->head_started_ms && c->idle_since_ms &&
                   now - c->idle_since_ms > (int64_t)(e->cfg.timeout_keep_alive * 1000)) {
            graft__conn_close_locked(c);
        }
    } else if (c->req->receive_waiting && c->body_mode != GRAFT__BODY_NONE && c->body_wait_ms &&
               now - c->body_wait_ms > (int64_t)(e->cfg.timeout_body * 1000)) {
        graft__conn_close_locked(c); /* the app sees http.disconnect */
    }
out:
    pthread_mutex_unlock(&c->mu);
}

/* Whether a request has begun to arrive on a connection with none in progress: bytes we
 * hold, or bytes the kernel holds that the poller has not read yet. */
static int input_waiting(graft__conn *c)
{
    char b;
    if (graft__buf_avail(&c->in) || graft__io_pending(c))
        return 1;
    return recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

void graft__conn_shutdown(graft__conn *c, int abort)
{
    pthread_mutex_lock(&c->mu);
    if (c->closed)
        goto out;
    if (c->ws) {
        graft__ws_shutdown(c, abort);
        goto out;
    }
    graft__req *r = c->req;
    if (!r) {
        if (abort)
            graft__conn_close_locked(c);
        else if (graft__conn_pending(c))
            c->want_close = c->no_more_input = 1; /* close once the queued answer is out */
        else if (c->lingering || (c->requests && !input_waiting(c)))
            graft__conn_close_locked(c); /* idle keep-alive (a lingering close only discards) */
        /* Else a request is arriving, or the connection is new (accepted, nothing sent yet:
         * its client connected in order to send one): it is read and answered with
         * connection: close (the engine drains) within the header timeout, rather than the
         * connection closed under a client that already sent. That narrows RFC 9112 §9.3.1's
         * race (a kept-alive connection closed while the client sends) to idle kept-alive
         * connections whose request had not arrived, which a client may retry once; during a
         * SIGHUP reload it keeps that retry, on a new connection, from being closed by a
         * second old worker that accepted it just before it drained. */
        goto out;
    }
    if (abort) {
        r->aborted = 1;
        graft__conn_close_locked(c);
        goto out;
    }
    r->shutdown = 1;
    if (r->body_done && r->receive_waiting && !graft__buf_avail(&r->body)) {
        r->receive_waiting = 0;
        graft__conn_deliver(c, r, GRAFT__EV_DISCONNECT);
    }
out:
    pthread_mutex_unlock(&c->mu);
}
