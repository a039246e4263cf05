/* Shadow mode (issue 8): the app answers the client; afterwards the route's native handler
 * runs on the same request, its answer is captured instead of sent, and the two are compared
 * by the one rule (compare.c). A mismatch is counted and logged; a replay that declines,
 * fails or outlasts the timeout is counted by reason. The client never waits for any of it.
 *
 * Lifetime: deliver hangs a graft__shadow on the request as its tap (tap.h); the bridge
 * feeds it the body the app read and the answer it sent. When the answer is complete the
 * shadow is queued (bounded: a full queue counts the request skipped) with a reference on
 * the request, whose immutable fields the replay reads. One runner thread replays them in
 * order. The shadow is freed with its last reference: the tap's (dropped when the request is
 * freed), the queue's, and the replayed graft_request's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "native_req.h"
#include "native_shadow.h"

static void shadow_unref(graft__shadow *sh)
{
    if (atomic_fetch_sub(&sh->refs, 1) != 1)
        return;
    graft__capture_free(&sh->py);
    graft__capture_free(&sh->nat);
    graft__buf_free(&sh->body);
    pthread_mutex_destroy(&sh->mu);
    pthread_cond_destroy(&sh->cv);
    graft__native *n = sh->runner->n;
    free(sh);
    graft__native_unref(n); /* the runner, the routes and the counters outlive every shadow */
}

void graft__shadow_release(graft__shadow *sh) { shadow_unref(sh); }

void graft__shadow_count(graft__native *n, const graft__route *rt, int what, const char *reason)
{
    graft__metrics_shadow(n->metrics, what, rt->method, rt->template, reason);
}

/* Keeps what fits of a file body under c's cap (read from offset 0) and counts all of it. */
static void capture_file(graft__capture *c, int fd, uint64_t size)
{
    char buf[16384];
    uint64_t off = 0;
    while (off < size && off < c->body_cap) {
        size_t want = sizeof buf;
        if (want > size - off)
            want = (size_t)(size - off);
        ssize_t got = pread(fd, buf, want, (off_t)off);
        if (got <= 0)
            break;
        graft__capture_body(c, buf, (size_t)got);
        off += (uint64_t)got;
    }
    c->body_total += size - off; /* the rest is counted, never kept */
}

/* --- the tap: what the app read and answered (the bridge's thread) --- */

static graft__shadow *of(graft__tap *t) { return (graft__shadow *)((char *)t - offsetof(graft__shadow, tap)); }

static void tap_request_body(graft__tap *t, const void *p, size_t n, int done)
{
    graft__shadow *sh = of(t);
    size_t limit = sh->route->lib ? sh->route->lib->body_limit : (1u << 20);
    if (graft__buf_avail(&sh->body) + n > limit || graft__buf_append(&sh->body, p, n) < 0)
        sh->body_over = 1;
    if (done)
        sh->body_done = 1;
}

static void tap_response_head(graft__tap *t, int status, const graft__field *f, size_t n)
{
    graft__shadow *sh = of(t);
    /* A second head replaces the first: one the app's error turned into a 500 before any of
     * it went out. */
    graft__capture_free(&sh->py);
    graft__capture_init(&sh->py, sh->runner->compare_cap);
    if (graft__capture_head(&sh->py, status, f, n) < 0)
        sh->oom = 1;
}

static void tap_response_body(graft__tap *t, const void *p, size_t n)
{
    graft__capture_body(&of(t)->py, p, n);
}

static void tap_response_file(graft__tap *t, int fd, uint64_t size)
{
    capture_file(&of(t)->py, fd, size);
}

static void tap_response_end(graft__tap *t)
{
    graft__shadow *sh = of(t);
    graft__req *r = sh->req;
    if (sh->queued)
        return;
    sh->queued = 1;
    /* The replay needs the whole request: a body the app left unread, or one over the
     * library's limit, cannot be replayed. */
    if (sh->oom || sh->body_over || (r->has_body && !sh->body_done)) {
        graft__shadow_count(sh->runner->n, sh->route, GRAFT__SHADOW_SKIPPED, NULL);
        return;
    }
    graft__shadow_enqueue(sh->runner, sh);
}

static void tap_release(graft__tap *t)
{
    graft__shadow *sh = of(t);
    /* The app's answer never completed (the client left, the server stopped): nothing to
     * compare. Every shadowed request ends compared, failed or skipped. */
    if (!sh->queued)
        graft__shadow_count(sh->runner->n, sh->route, GRAFT__SHADOW_SKIPPED, NULL);
    shadow_unref(sh);
}

static const graft__tap_ops shadow_tap_ops = {
    tap_request_body, tap_response_head, tap_response_body,
    tap_response_file, tap_response_end,  tap_release,
};

void graft__shadow_watch(graft__native *n, graft__req *r, const graft__match *m)
{
    graft__shadow_runner *run = n->shadow;
    size_t caps = 0;
    for (size_t i = 0; i < m->nparams; i++)
        caps += m->lens[i];
    graft__shadow *sh = run ? calloc(1, sizeof *sh + caps) : NULL;
    if (!sh) {
        graft__shadow_count(n, m->route, GRAFT__SHADOW_SKIPPED, NULL);
        return;
    }
    sh->tap.ops = &shadow_tap_ops;
    sh->runner = run;
    sh->req = r;
    sh->route = m->route;
    sh->m = *m;
    char *p = sh->caps;
    for (size_t i = 0; i < m->nparams; i++) {
        memcpy(p, m->vals[i], m->lens[i]);
        sh->m.vals[i] = p;
        p += m->lens[i];
    }
    atomic_init(&sh->refs, 1); /* the tap's: the request drops it when it is freed */
    atomic_fetch_add(&n->refs, 1);
    pthread_mutex_init(&sh->mu, NULL);
    pthread_cond_init(&sh->cv, NULL);
    graft__capture_init(&sh->py, run->compare_cap);
    graft__capture_init(&sh->nat, run->compare_cap);
    r->tap = &sh->tap; /* before the app sees the request: deliver holds the lock */
}

/* --- the replay's answer (any thread the handler answers from) --- */

int graft__shadow_head(struct graft_request *gr, int status, const graft__field *f, size_t n,
                       graft__response_decision *d)
{
    graft__shadow *sh = gr->shadow;
    /* The writer's framing rule, without a wire: no body for HEAD, 1xx, 204 and 304; the
     * rest is captured unframed (so never chunked). */
    int none = gr->req->is_head || status < 200 || status == 204 || status == 304;
    d->framing = none ? GRAFT__FRAMING_NONE : GRAFT__FRAMING_LENGTH;
    d->close = 0;
    pthread_mutex_lock(&sh->mu);
    int rc = graft__capture_head(&sh->nat, status, f, n);
    pthread_mutex_unlock(&sh->mu);
    return rc < 0 ? GRAFT_ENOMEM : 0;
}

void graft__shadow_body(struct graft_request *gr, const struct iovec *iov, int cnt)
{
    graft__shadow *sh = gr->shadow;
    pthread_mutex_lock(&sh->mu);
    for (int i = 0; i < cnt; i++)
        if (iov[i].iov_len)
            graft__capture_body(&sh->nat, iov[i].iov_base, iov[i].iov_len);
    pthread_mutex_unlock(&sh->mu);
}

void graft__shadow_file(struct graft_request *gr, int fd, uint64_t size)
{
    graft__shadow *sh = gr->shadow;
    pthread_mutex_lock(&sh->mu);
    capture_file(&sh->nat, fd, size);
    pthread_mutex_unlock(&sh->mu);
}

void graft__shadow_done(struct graft_request *gr, int status)
{
    graft__shadow *sh = gr->shadow;
    gr->state = GR_DONE;
    pthread_mutex_lock(&sh->mu);
    sh->nat_status = status;
    sh->nat_done = 1;
    pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->mu);
    graft_request_release(gr); /* the initial reference */
}

int graft__shadow_on_writable(struct graft_request *gr, graft_writable_cb cb, void *ud)
{
    graft__shadow *sh = gr->shadow;
    int rc = 0;
    pthread_mutex_lock(&sh->mu);
    if (gr->state != GR_STREAMING || sh->wcb) {
        rc = GRAFT_EINVAL;
    } else {
        /* Nothing drains slower than memory: the runner calls it back at once. */
        sh->wcb = cb;
        sh->wud = ud;
        pthread_cond_broadcast(&sh->cv);
    }
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

void graft__shadow_cancel_writable(struct graft_request *gr)
{
    graft__shadow *sh = gr->shadow;
    pthread_mutex_lock(&sh->mu);
    sh->wcb = NULL;
    sh->wud = NULL;
    pthread_mutex_unlock(&sh->mu);
}
