/* Shadow replays: a bounded queue and one runner thread. Each replay runs the route's
 * handler on a graft_request whose answer is captured (native_shadow.c), waits for the
 * answer up to the timeout, compares it with the app's and logs a mismatch. One thread: a
 * replay is extra work the server chose to do, so it gets a fixed share of the machine, and
 * a burst beyond the queue is counted skipped rather than queued. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "native_shadow.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void graft__shadow_enqueue(graft__shadow_runner *run, graft__shadow *sh)
{
    pthread_mutex_lock(&run->mu);
    if (run->stop || !run->started || run->len >= run->queue_cap) {
        pthread_mutex_unlock(&run->mu);
        graft__shadow_count(run->n, sh->route, GRAFT__SHADOW_SKIPPED, NULL);
        return;
    }
    atomic_fetch_add(&sh->refs, 1);
    atomic_fetch_add(&sh->req->refs, 1); /* the replay reads its method, path, headers */
    sh->next = NULL;
    if (run->tail)
        run->tail->next = sh;
    else
        run->head = sh;
    run->tail = sh;
    run->len++;
    pthread_cond_signal(&run->cv);
    pthread_mutex_unlock(&run->mu);
}

static void log_mismatch(graft__shadow_runner *run, graft__shadow *sh, unsigned diff)
{
    const graft__route *rt = sh->route;
    graft__req *r = sh->req;
    size_t ml = strlen(rt->method), tl = strlen(rt->template);
    char *route = malloc(ml + tl + 2);
    graft__buf line = {0};
    if (route) {
        memcpy(route, rt->method, ml);
        route[ml] = ' ';
        memcpy(route + ml + 1, rt->template, tl + 1);
        if (graft__shadow_line(&line, route, rt->method, r->path, r->path_len, r->query,
                               r->query_len, &sh->py, &sh->nat, diff, run->log_cap) == 0)
            graft__shadow_log_write(run->log, graft__buf_head(&line), graft__buf_avail(&line));
    }
    graft__buf_free(&line);
    free(route);
}

/* Runs the handler, then waits for its answer (calling back a stream's writable callback
 * at once) until it completes or the deadline passes. Returns the failure reason, or NULL
 * when the answer is complete. */
static const char *replay(graft__shadow_runner *run, graft__shadow *sh)
{
    graft__native *n = run->n;
    atomic_fetch_add(&sh->req->refs, 1); /* the event's reference, which the request takes */
    struct graft_request *gr = graft__native_request_new(n, sh->req, &sh->m);
    if (!gr) {
        graft__req_release(sh->req);
        return "error";
    }
    atomic_fetch_add(&sh->refs, 1); /* gr's, dropped when gr is freed */
    gr->shadow = sh;
    gr->body = sh->body; /* the whole body, as the app read it */
    sh->body = (graft__buf){0};
    const graft__route *rt = sh->route;
    uint64_t deadline = now_ns() + run->timeout_ns;
    graft_request_retain(gr);
    int rc;
    GRAFT__WITH_ROUTE(n, rt, rc = rt->handler(gr, rt->lib ? rt->lib->state : NULL));
    const char *why = NULL;
    if (now_ns() > deadline) {
        /* It answered (or not) only after the timeout, on this thread: as late as if it had
         * answered from another. What it captured is not compared. */
        why = "timeout";
        if (gr->state == GR_NONE && rc != GRAFT_OK) {
            gr->state = GR_DONE;
            graft_request_release(gr);
        } else if (gr->state == GR_STREAMING && rc < 0) {
            graft__shadow_done(gr, 500);
        }
    } else if (gr->state == GR_NONE && rc != GRAFT_OK) {
        why = rc == GRAFT_DECLINE ? "declined" : "error";
        gr->state = GR_DONE;
        graft_request_release(gr); /* the initial reference: no answer will come */
    } else if (gr->state == GR_STREAMING && rc < 0) {
        why = "error"; /* live, the client would see its stream cut */
        graft__shadow_done(gr, 500);
    } else {
        pthread_mutex_lock(&sh->mu);
        while (!sh->nat_done) {
            if (sh->wcb) {
                graft_writable_cb cb = sh->wcb;
                void *ud = sh->wud;
                sh->wcb = NULL;
                sh->wud = NULL;
                pthread_mutex_unlock(&sh->mu);
                GRAFT__WITH_ROUTE(n, rt, cb(gr, 0, ud));
                pthread_mutex_lock(&sh->mu);
                continue;
            }
            uint64_t now = now_ns();
            if (now >= deadline) {
                why = "timeout";
                break;
            }
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t left = deadline - now;
            ts.tv_sec += (time_t)(left / 1000000000u);
            ts.tv_nsec += (long)(left % 1000000000u);
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&sh->cv, &sh->mu, &ts);
        }
        pthread_mutex_unlock(&sh->mu);
    }
    graft_request_release(gr);
    return why;
}

static void run_one(graft__shadow_runner *run, graft__shadow *sh)
{
    const char *why = replay(run, sh);
    if (why) {
        graft__shadow_count(run->n, sh->route, GRAFT__SHADOW_FAILED, why);
    } else {
        /* The handler is done with nat (it answered): no lock needed to read it. */
        unsigned diff = graft__compare(&sh->py, &sh->nat);
        graft__shadow_count(run->n, sh->route, GRAFT__SHADOW_COMPARED, NULL);
        if (diff) {
            graft__shadow_count(run->n, sh->route, GRAFT__SHADOW_MISMATCH, NULL);
            log_mismatch(run, sh, diff);
        }
    }
    graft__req_release(sh->req); /* the queue's reference on the request */
    graft__shadow_release(sh);
}

static void *runner_main(void *arg)
{
    graft__shadow_runner *run = arg;
    pthread_mutex_lock(&run->mu);
    for (;;) {
        while (!run->head && !run->stop)
            pthread_cond_wait(&run->cv, &run->mu);
        graft__shadow *sh = run->head;
        if (!sh)
            break;
        run->head = sh->next;
        if (!run->head)
            run->tail = NULL;
        run->len--;
        int stop = run->stop;
        pthread_mutex_unlock(&run->mu);
        if (stop) { /* shutting down: what is still queued is dropped, uncounted */
            graft__req_release(sh->req);
            graft__shadow_release(sh);
        } else {
            run_one(run, sh);
        }
        pthread_mutex_lock(&run->mu);
    }
    pthread_mutex_unlock(&run->mu);
    return NULL;
}

int graft__native_shadow_config(graft__native *n, graft__shadow_log *log, double timeout_s)
{
    if (n->shadow)
        return GRAFT_EINVAL;
    graft__shadow_runner *run = calloc(1, sizeof *run);
    if (!run)
        return GRAFT_ENOMEM;
    run->n = n;
    run->log = log;
    run->timeout_ns = timeout_s > 0 ? (uint64_t)(timeout_s * 1e9) : 0;
    run->compare_cap = GRAFT__SHADOW_COMPARE_CAP;
    run->log_cap = GRAFT__SHADOW_LOG_BODY_CAP;
    run->queue_cap = GRAFT__SHADOW_QUEUE;
    pthread_mutex_init(&run->mu, NULL);
    pthread_cond_init(&run->cv, NULL);
    if (pthread_create(&run->thread, NULL, runner_main, run) == 0)
        run->started = 1;
    n->shadow = run;
    return 0;
}

void graft__native_shadow_stop(graft__native *n)
{
    graft__shadow_runner *run = n->shadow;
    if (!run)
        return;
    pthread_mutex_lock(&run->mu);
    run->stop = 1;
    pthread_cond_broadcast(&run->cv);
    pthread_mutex_unlock(&run->mu);
    if (run->started)
        pthread_join(run->thread, NULL);
    run->started = 0;
}

void graft__native_shadow_free(graft__native *n)
{
    graft__shadow_runner *run = n->shadow;
    if (!run)
        return;
    pthread_mutex_destroy(&run->mu);
    pthread_cond_destroy(&run->cv);
    free(run);
    n->shadow = NULL;
}
