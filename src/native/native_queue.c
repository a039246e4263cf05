/* Where native requests wait to run: deliver runs under the connection lock, so it only
 * queues; handlers run after the engine's batch on the same I/O thread, or, for blocking
 * routes, on the worker pool. */
#include <errno.h>
#include <stdlib.h>

#include "native_req.h"

/* Handlers queued by deliver on this I/O thread; run after the batch. */
static __thread struct graft_request *tl_pending_head, *tl_pending_tail;

void graft__native_push_local(struct graft_request *gr)
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

void graft__native_schedule(graft__native *n, struct graft_request *gr)
{
    /* An answer without the handler (gr->fail) blocks nothing: no pool hop for it. */
    if (gr->route && (gr->route->flags & GRAFT_ROUTE_BLOCKING) && n->npool > 0 &&
        gr->fail == GR_FAIL_NONE)
        push_pool(n, gr);
    else
        graft__native_push_local(gr);
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
        graft__native_run_one(gr);
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
        graft__native_run_one(gr);
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
