/* Dispatching matched requests to native handlers: parked until the body is
 * complete when the route asks for it, queued per thread while the engine
 * holds the connection lock, run after the batch (or on the pool). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../core/conn.h" /* TODO(issue 12): engine API only */
#include "native_req.h"
#include "ws.h"

/* The route whose handler or callback this thread is running, for the crash report. Static
 * TLS (initial-exec) even in graft's dlopen()ed extension: reading it from a signal handler is
 * then a plain load, which may not allocate as the first access to dynamic TLS can. */
static __thread const graft__route *volatile tl_route __attribute__((tls_model("initial-exec")));

/* Runs f with tl_route set (saved and restored: nothing nests today, but a crash must never
 * name a route that already returned), on a thread that has its alternate signal stack. */
#define WITH_ROUTE(n, rt, f)                                                                       \
    do {                                                                                           \
        if (!tl_altstack_checked)                                                                  \
            setup_altstack(n);                                                                     \
        const graft__route *prev_route_ = tl_route;                                                \
        tl_route = (rt);                                                                           \
        f;                                                                                         \
        tl_route = prev_route_;                                                                    \
    } while (0)

static size_t append_str(char *buf, size_t at, size_t cap, const char *s)
{
    while (s && *s && at < cap)
        buf[at++] = *s++;
    return at;
}

static size_t append_num(char *buf, size_t at, size_t cap, long v)
{
    char tmp[24];
    size_t n = 0;
    unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0 && at < cap)
        buf[at++] = '-';
    while (n && at < cap)
        buf[at++] = tmp[--n];
    return at;
}

/* A fatal signal. Only async-signal-safe calls: getpid, write, raise (the disposition is
 * already back to SIG_DFL by SA_RESETHAND, so re-raising ends the process as it would have
 * ended without us, core dump included; the pending signal is delivered on return). */
static void crash_handler(int sig)
{
    int saved = errno;
    const graft__route *rt = tl_route;
    if (rt) {
        char line[1024];
        size_t cap = sizeof line - 1, n = 0;
        n = append_str(line, n, cap, "graft: worker ");
        n = append_num(line, n, cap, (long)getpid());
        n = append_str(line, n, cap, " crashed (signal ");
        n = append_num(line, n, cap, sig);
        n = append_str(line, n, cap, ") in native handler ");
        n = append_str(line, n, cap, rt->method);
        n = append_str(line, n, cap, " ");
        n = append_str(line, n, cap, rt->template);
        line[n++] = '\n';
        for (size_t off = 0; off < n;) {
            ssize_t w = write(STDERR_FILENO, line + off, n - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
    }
    errno = saved;
    raise(sig);
}

/* A handler that overflows its stack faults on the guard page, where the crash handler
 * could not run either: each thread that runs handlers gets an alternate signal stack (when
 * it has none and the handler is ours, so faulthandler's or a sanitizer's stay as they
 * are). The key's destructor disables and unmaps it when the thread exits; a thread that
 * outlives the native layer (the event loop's) keeps its stack for the next server. */
#define ALTSTACK_SIZE (64 * 1024)
static __thread int tl_altstack_checked;

static void altstack_free(void *p)
{
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == p && !(cur.ss_flags & SS_ONSTACK)) {
        stack_t off = {.ss_flags = SS_DISABLE};
        sigaltstack(&off, NULL);
    }
    munmap(p, ALTSTACK_SIZE);
}

static void setup_altstack(graft__native *n)
{
    tl_altstack_checked = 1;
    struct sigaction sa;
    stack_t cur;
    if (!n->has_altstack_key || sigaction(SIGSEGV, NULL, &sa) != 0 ||
        sa.sa_handler != crash_handler || sigaltstack(NULL, &cur) != 0 ||
        !(cur.ss_flags & SS_DISABLE))
        return;
    void *p = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED)
        return;
    stack_t ss = {.ss_sp = p, .ss_size = ALTSTACK_SIZE, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        munmap(p, ALTSTACK_SIZE);
        return;
    }
    pthread_setspecific(n->altstack_key, p);
}

int graft__native_crash_init(graft__native *n)
{
    if (pthread_key_create(&n->altstack_key, altstack_free) != 0)
        return -1;
    n->has_altstack_key = 1;
    return 0;
}

void graft__native_crash_fini(graft__native *n)
{
    /* Threads that already exited freed theirs; the caller's stays (see above). */
    if (n->has_altstack_key)
        pthread_key_delete(n->altstack_key);
    n->has_altstack_key = 0;
}

void graft__native_crash_install(void)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = crash_handler;
    /* SA_RESETHAND: one shot, a fault inside the handler just ends the process. SA_ONSTACK:
     * on the thread's alternate stack when it has one (a stack overflow). */
    sa.sa_flags = SA_RESETHAND | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        /* Only over the default action: an existing handler (Python's faulthandler, a
         * sanitizer, the embedder's own) keeps the signal, and ours stays installed once. */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
            !(old.sa_flags & SA_SIGINFO))
            sigaction(sigs[i], &sa, NULL);
    }
}

/* Handlers queued by deliver on this I/O thread; run after the batch. */
static __thread struct graft_request *tl_pending_head, *tl_pending_tail;

static void push_local(struct graft_request *gr)
{
    gr->queued = 1;
    gr->next = NULL;
    if (tl_pending_tail)
        tl_pending_tail->next = gr;
    else
        tl_pending_head = gr;
    tl_pending_tail = gr;
}

static void push_pool(graft__native *n, struct graft_request *gr)
{
    pthread_mutex_lock(&n->pmu);
    gr->next = NULL;
    if (n->ptail)
        n->ptail->next = gr;
    else
        n->phead = gr;
    n->ptail = gr;
    pthread_cond_signal(&n->pcv);
    pthread_mutex_unlock(&n->pmu);
}

static void schedule(graft__native *n, struct graft_request *gr)
{
    if (gr->route && (gr->route->flags & GRAFT_ROUTE_BLOCKING) && n->npool > 0 && !gr->fail_status)
        push_pool(n, gr);
    else
        push_local(gr);
}

size_t graft__pct_decode(char *dst, const char *src, size_t n, int plus_space)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '%' && i + 2 < n) {
            int hi = src[i + 1], lo = src[i + 2];
            hi = hi >= '0' && hi <= '9' ? hi - '0' : (hi | 0x20) >= 'a' && (hi | 0x20) <= 'f' ? (hi | 0x20) - 'a' + 10 : -1;
            lo = lo >= '0' && lo <= '9' ? lo - '0' : (lo | 0x20) >= 'a' && (lo | 0x20) <= 'f' ? (lo | 0x20) - 'a' + 10 : -1;
            if (hi >= 0 && lo >= 0) {
                dst[o++] = (char)(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        dst[o++] = plus_space && c == '+' ? ' ' : c;
    }
    dst[o] = '\0';
    return o;
}

/* One allocation of NUL-terminated strings: method, path, query, decoded params. */
static int build_strings(struct graft_request *gr)
{
    graft__req *r = gr->req;
    size_t need = r->method_len + r->path_len + r->query_len + 3;
    for (size_t i = 0; i < gr->m.nparams; i++)
        need += gr->m.lens[i] + 1;
    char *p = malloc(need);
    if (!p)
        return -1;
    gr->strs = p;
    memcpy(p, r->method, r->method_len);
    p[r->method_len] = '\0';
    gr->method_z = p;
    p += r->method_len + 1;
    memcpy(p, r->path, r->path_len);
    p[r->path_len] = '\0';
    gr->path_z = p;
    p += r->path_len + 1;
    memcpy(p, r->query, r->query_len);
    p[r->query_len] = '\0';
    gr->query_z = p;
    p += r->query_len + 1;
    for (size_t i = 0; i < gr->m.nparams; i++) {
        gr->params[i] = p;
        gr->param_lens[i] = graft__pct_decode(p, gr->m.vals[i], gr->m.lens[i], 0);
        p += gr->m.lens[i] + 1;
    }
    return 0;
}

static void gr_free(struct graft_request *gr)
{
    graft__buf_free(&gr->hdrs);
    graft__buf_free(&gr->body);
    free(gr->strs);
    free(gr->qbuf);
    free(gr->qk);
    free(gr->qv);
    free(gr->qvl);
    if (gr->req)
        graft__req_release(gr->req);
    graft__native *n = gr->nat;
    free(gr);
    graft__native_unref(n); /* may be the last: the server stopped while a handler held gr */
}

GRAFT_API void graft_request_retain(graft_request *gr) { atomic_fetch_add(&gr->refs, 1); }

GRAFT_API void graft_request_release(graft_request *gr)
{
    if (atomic_fetch_sub(&gr->refs, 1) == 1)
        gr_free(gr);
}

static void set_native(graft__req *r, void *v);

void graft__native_done(struct graft_request *gr, int status)
{
    graft__native *n = gr->nat;
    graft__req *r = gr->req;
    r->status = status;
    gr->state = GR_DONE;
    set_native(r, NULL); /* later events of this request go to the next embedder */
    /* the access log lives with the next embedder */
    if (n->next) {
        if (n->log_to_next) {
            atomic_fetch_add(&r->refs, 1);
            n->next(n->next_ud, r, GRAFT__EV_LOG);
        }
    } else if (n->access_log) {
        n->access_log(r, status);
    }
    graft_request_release(gr); /* the initial reference */
}

static void set_native(graft__req *r, void *v)
{
    graft__conn *c = r->conn;
    pthread_mutex_lock(&c->mu);
    r->native = v;
    pthread_mutex_unlock(&c->mu);
}

/* Puts body bytes the native request took back in front of what the engine holds.
 * Returns 0, or -ENOMEM with both parts left where they were. */
static int give_back_body(struct graft_request *gr)
{
    graft__req *r = gr->req;
    graft__conn *c = r->conn;
    if (!graft__buf_avail(&gr->body))
        return 0;
    pthread_mutex_lock(&c->mu);
    if (graft__buf_append(&gr->body, graft__buf_head(&r->body), graft__buf_avail(&r->body)) < 0) {
        pthread_mutex_unlock(&c->mu);
        return -ENOMEM;
    }
    graft__buf_free(&r->body);
    r->body = gr->body;
    gr->body = (graft__buf){0};
    r->collect_body = 0;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

/* Hands a declined request to the next embedder, which sees it as new. */
static void forward(struct graft_request *gr)
{
    graft__req *r = gr->req;
    if (!gr->nat->next) {
        graft_respond(gr, 404, "text/plain; charset=utf-8", GRAFT__STRLIT("Not Found"));
        return;
    }
    /* Forwarded unchanged: the app reads the same body. Without the memory to put it back
     * the app would read it cut short, so the client gets a 500 instead. */
    if (give_back_body(gr) < 0) {
        graft_respond(gr, 500, "text/plain; charset=utf-8", GRAFT__STRLIT("Internal Server Error"));
        return;
    }
    set_native(r, NULL);
    atomic_fetch_add(&r->refs, 1);
    gr->state = GR_DONE;
    gr->nat->next(gr->nat->next_ud, r, GRAFT__EV_REQUEST);
    graft_request_release(gr); /* the initial reference: no response will come through gr */
}

/* A WebSocket route: accept, then hand each queued message to the callbacks; the
 * request lives (initial reference) until on_close. */
static void run_ws(struct graft_request *gr)
{
    const graft__route *rt = gr->route;
    void *state = rt->lib ? rt->lib->state : NULL;
    graft_ws *ws = (graft_ws *)gr;
    if (gr->ws_closed)
        return;
    if (!gr->ws_open) {
        if (graft__ws_accept(gr->req, NULL, 0, NULL, 0) < 0) {
            /* No 101 went out (out of memory, or the client left): end the exchange so the
             * connection closes instead of waiting for an answer nobody will give. */
            graft__req_write(gr->req, NULL, 0, GRAFT__W_FINAL | GRAFT__W_CLOSE);
            gr->ws_closed = 1;
            gr->state = GR_DONE;
            set_native(gr->req, NULL);
            graft_request_release(gr);
            return;
        }
        gr->ws_open = 1;
        gr->state = GR_STREAMING;
        if (rt->ws.on_open)
            WITH_ROUTE(gr->nat, rt, rt->ws.on_open(ws, state));
    }
    for (;;) {
        int op = 0, code = 0;
        graft__buf data = {0}, reason = {0};
        int rc = graft__ws_take(gr->req, &op, &data, &code, &reason);
        if (rc == 1 && rt->ws.on_message)
            WITH_ROUTE(gr->nat, rt, rt->ws.on_message(ws, op == GRAFT__WS_BINARY,
                                             graft__buf_avail(&data) ? graft__buf_head(&data) : "",
                                             graft__buf_avail(&data), state));
        if (rc == 2) {
            gr->ws_closed = 1;
            if (rt->ws.on_close)
                WITH_ROUTE(gr->nat, rt, rt->ws.on_close(ws, code,
                                               graft__buf_avail(&reason) ? graft__buf_head(&reason) : "",
                                               graft__buf_avail(&reason), state));
        }
        graft__buf_free(&data);
        graft__buf_free(&reason);
        if (rc == 2) {
            graft__native_done(gr, 101); /* access log, and the initial reference goes */
            return;
        }
        if (rc != 1)
            return; /* nothing queued: an event brings us back */
    }
}

/* Runs an armed graft_stream_on_writable callback the engine has triggered (poller thread,
 * no lock held), then drops the reference the armed callback held. */
static void fire_writable(struct graft_request *gr)
{
    graft__conn *c = gr->req->conn;
    pthread_mutex_lock(&c->mu);
    graft_writable_cb cb = gr->wcb;
    void *ud = gr->wud;
    int status = gr->wstatus;
    gr->wcb = NULL; /* cleared first: the callback may arm the next one */
    gr->wud = NULL;
    gr->wfire = 0;
    pthread_mutex_unlock(&c->mu);
    if (cb) /* NULL: graft_stream_end cancelled it meanwhile */
        WITH_ROUTE(gr->nat, gr->route, cb(gr, status, ud));
    graft_request_release(gr);
}

void graft__native_cancel_writable(struct graft_request *gr)
{
    graft__conn *c = gr->req->conn;
    pthread_mutex_lock(&c->mu);
    int drop = gr->wcb && !gr->wfire; /* a queued one drops its reference when it runs */
    gr->wcb = NULL;
    gr->wud = NULL;
    pthread_mutex_unlock(&c->mu);
    if (drop)
        graft_request_release(gr);
}

static void run_one(struct graft_request *gr)
{
    graft__native *n = gr->nat;
    if (gr->wfire) {
        fire_writable(gr);
        return;
    }
    if (gr->route && gr->route->is_ws) {
        graft_request_retain(gr);
        run_ws(gr);
        graft_request_release(gr);
        return;
    }
    if (gr->fail_status == 404) {
        graft_respond(gr, 404, "text/plain; charset=utf-8", GRAFT__STRLIT("Not Found"));
        return;
    }
    if (gr->fail_status) {
        if (gr->fail_status == 1) { /* client gone while parked */
            /* End the exchange in the engine too, or the connection (and its fd) stays open
             * with a request that nobody will ever answer. */
            graft__req_write(gr->req, NULL, 0, GRAFT__W_FINAL | GRAFT__W_CLOSE);
            gr->state = GR_DONE;
            set_native(gr->req, NULL);
            graft_request_release(gr);
            return;
        }
        graft_respond(gr, gr->fail_status, "text/plain; charset=utf-8",
                      gr->fail_status == 413 ? "Content Too Large" : "Internal Server Error",
                      gr->fail_status == 413 ? 17 : 21);
        return;
    }
    if (gr->route->flags & GRAFT_ROUTE_BODY) {
        int more = 0, gone = 0;
        graft__req_take_body(gr->req, &gr->body, &more, &gone);
    }
    graft_request_retain(gr); /* ours, so gr outlives an answer given inside the handler */
    const graft__route *rt = gr->route;
    int rc;
    WITH_ROUTE(gr->nat, rt, rc = rt->handler(gr, rt->lib ? rt->lib->state : NULL));
    if (gr->state == GR_NONE) {
        if (rc == GRAFT_DECLINE)
            forward(gr);
        else if (rc < 0)
            graft_respond(gr, 500, "text/plain; charset=utf-8", GRAFT__STRLIT("Internal Server Error"));
        /* GRAFT_OK without an answer: the handler answers later */
    } else if (gr->state == GR_STREAMING && rc < 0) {
        graft__req_write(gr->req, NULL, 0, GRAFT__W_FINAL | GRAFT__W_CLOSE);
        graft__native_done(gr, 500);
    }
    (void)n;
    graft_request_release(gr);
}

void graft__native_run_pending(void *ud)
{
    (void)ud;
    while (tl_pending_head) {
        struct graft_request *gr = tl_pending_head;
        tl_pending_head = gr->next;
        if (!tl_pending_head)
            tl_pending_tail = NULL;
        gr->queued = 0;
        run_one(gr);
    }
}

static void *pool_main(void *arg)
{
    graft__native *n = arg;
    pthread_mutex_lock(&n->pmu);
    for (;;) {
        while (!n->phead && !n->pstop)
            pthread_cond_wait(&n->pcv, &n->pmu);
        if (!n->phead && n->pstop)
            break;
        struct graft_request *gr = n->phead;
        n->phead = gr->next;
        if (!n->phead)
            n->ptail = NULL;
        pthread_mutex_unlock(&n->pmu);
        run_one(gr);
        pthread_mutex_lock(&n->pmu);
    }
    pthread_mutex_unlock(&n->pmu);
    return NULL;
}

int graft__native_start_pool(graft__native *n, int threads)
{
    n->pool = calloc((size_t)threads, sizeof *n->pool);
    if (!n->pool)
        return -ENOMEM;
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&n->pool[i], NULL, pool_main, n) != 0)
            break;
        n->npool++;
    }
    return 0;
}

void graft__native_stop_pool(graft__native *n)
{
    pthread_mutex_lock(&n->pmu);
    n->pstop = 1;
    pthread_cond_broadcast(&n->pcv);
    pthread_mutex_unlock(&n->pmu);
    for (int i = 0; i < n->npool; i++)
        pthread_join(n->pool[i], NULL);
    free(n->pool);
    n->pool = NULL;
    n->npool = 0;
}

void graft__native_set_next(graft__native *n, graft__deliver_fn next, void *ud)
{
    n->next = next;
    n->next_ud = ud;
}

static void park_for_body(struct graft_request *gr)
{
    graft__req *r = gr->req;
    graft__conn *c = r->conn;
    gr->waiting_body = 1;
    r->collect_body = 1; /* the library's limit bounds it, not the 64 KiB read pause */
    r->receive_waiting = 1;
    c->body_wait_ms = graft__now_ms();
    if (r->expect_continue && !r->continue_sent && !c->closed) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        r->continue_sent = 1;
        graft__buf_append(&c->out, cont, sizeof cont - 1);
        graft__conn_flush(c);
        if (graft__conn_pending(c))
            graft__conn_set_events(c, c->events | EPOLLOUT);
    }
}

void graft__native_deliver(void *ud, graft__req *r, int ev)
{
    graft__native *n = ud;
    if (ev == GRAFT__EV_REQUEST) {
        graft__match m;
        /* With an app behind us HEAD is "another method": the app answers it as it always
         * did (FastAPI: 405 on a GET route) unless the library registered HEAD itself. */
        if (!graft__router_match(&n->router, r->method, r->method_len, r->path, r->path_len,
                                 r->websocket, n->next == NULL, &m)) {
            if (n->next) {
                n->next(n->next_ud, r, ev);
                return;
            }
            memset(&m, 0, sizeof m); /* no app behind us: a 404 answered like a route */
        }
        struct graft_request *gr = calloc(1, sizeof *gr);
        if (!gr) {
            if (n->next) /* graft-serve has none: n->next was called through NULL here */
                n->next(n->next_ud, r, ev);
            else {
                /* Nobody will answer: end the exchange, or the connection stays open. */
                graft__req_write(r, NULL, 0, GRAFT__W_FINAL | GRAFT__W_CLOSE);
                graft__req_release(r);
            }
            return;
        }
        gr->req = r; /* the event's reference */
        gr->nat = n;
        atomic_fetch_add(&n->refs, 1); /* dropped by gr_free */
        gr->route = m.route;
        gr->m = m;
        atomic_init(&gr->refs, 1);
        if (build_strings(gr) < 0) {
            gr->req = NULL;
            gr_free(gr);
            if (n->next)
                n->next(n->next_ud, r, ev);
            else {
                /* Nobody will answer: end the exchange, or the connection stays open. */
                graft__req_write(r, NULL, 0, GRAFT__W_FINAL | GRAFT__W_CLOSE);
                graft__req_release(r);
            }
            return;
        }
        r->native = gr;
        if (!m.route) {
            gr->fail_status = 404;
            push_local(gr);
            return;
        }
        size_t limit = m.route->lib ? m.route->lib->body_limit : (1u << 20);
        if (m.route->flags & GRAFT_ROUTE_BODY) {
            graft__conn *c = r->conn;
            uint64_t declared = c->body_mode == GRAFT__BODY_LENGTH ? c->body_left : 0;
            if (declared > limit) {
                gr->fail_status = 413;
            } else if (!r->body_done) {
                park_for_body(gr);
                return;
            }
        }
        schedule(n, gr);
        return;
    }
    struct graft_request *gr = r->native;
    if (!gr) {
        if (n->next)
            n->next(n->next_ud, r, ev);
        else
            graft__req_release(r);
        return;
    }
    if (gr->route && gr->route->is_ws) {
        if (gr->ws_open && !gr->ws_closed && !gr->queued)
            push_local(gr); /* a message or the close arrived */
        graft__req_release(r);
        return;
    }
    if (gr->wcb && !gr->wfire && (ev == GRAFT__EV_WRITABLE || ev == GRAFT__EV_DISCONNECT)) {
        /* Not under the connection lock we hold: after the batch, on this thread. */
        gr->wstatus = ev == GRAFT__EV_WRITABLE ? 0 : GRAFT_EGONE;
        gr->wfire = 1;
        push_local(gr);
    }
    if (gr->waiting_body) {
        size_t limit = gr->route->lib ? gr->route->lib->body_limit : (1u << 20);
        if (ev == GRAFT__EV_DISCONNECT || r->client_gone) {
            gr->waiting_body = 0;
            gr->fail_status = 1;
            schedule(n, gr);
        } else if (graft__buf_avail(&r->body) > limit) {
            gr->waiting_body = 0;
            gr->fail_status = 413;
            schedule(n, gr);
        } else if (r->body_done) {
            gr->waiting_body = 0;
            schedule(n, gr);
        } else {
            r->receive_waiting = 1;
        }
    }
    graft__req_release(r); /* the event's reference (the native request holds its own) */
}

GRAFT_API int graft_ws_send(graft_ws *ws, int binary, const void *data, size_t len)
{
    struct graft_request *gr = (struct graft_request *)ws;
    if (!gr || (!data && len))
        return GRAFT_EINVAL;
    if (graft__native_enter(gr->nat))
        return GRAFT_EGONE; /* the server stopped: the engine is gone */
    int rc = graft__ws_send(gr->req, binary ? GRAFT__WS_BINARY : GRAFT__WS_TEXT, data, len);
    graft__native_leave(gr->nat);
    return rc == -EPIPE ? GRAFT_EGONE : rc < 0 ? GRAFT_ENOMEM : rc;
}

GRAFT_API int graft_ws_close(graft_ws *ws, int code, const char *reason)
{
    struct graft_request *gr = (struct graft_request *)ws;
    if (!gr || (code && !graft__ws_code_valid(code)))
        return GRAFT_EINVAL;
    if (graft__native_enter(gr->nat))
        return GRAFT_EGONE;
    int rc = graft__ws_close(gr->req, code, reason ? reason : "", reason ? strlen(reason) : 0);
    graft__native_leave(gr->nat);
    return rc;
}

GRAFT_API const char *graft_ws_param(graft_ws *ws, const char *name, size_t *len)
{
    return graft_param((graft_request *)ws, name, len);
}

GRAFT_API void graft_ws_set_data(graft_ws *ws, void *data) { ((struct graft_request *)ws)->ws_data = data; }
GRAFT_API void *graft_ws_data(graft_ws *ws) { return ((struct graft_request *)ws)->ws_data; }
GRAFT_API void graft_ws_retain(graft_ws *ws) { graft_request_retain((graft_request *)ws); }
GRAFT_API void graft_ws_release(graft_ws *ws) { graft_request_release((graft_request *)ws); }
