/* Engine lifecycle: configuration, thread start/stop, shutdown requests. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"

int graft__engine_new(const graft__engine_config *cfg, graft__deliver_fn deliver, void *ud,
                      graft__engine **out)
{
    if (cfg->threads < 1 || cfg->threads > 256 || cfg->n_listen > GRAFT__MAX_LISTENERS)
        return -EINVAL;
    graft__engine *e = calloc(1, sizeof *e);
    if (!e)
        return -ENOMEM;
    e->cfg = *cfg;
    if (e->cfg.timeout_linger <= 0)
        e->cfg.timeout_linger = GRAFT__DEFAULT_TIMEOUT_LINGER;
    if (e->cfg.timeout_linger_idle <= 0)
        e->cfg.timeout_linger_idle = GRAFT__DEFAULT_TIMEOUT_LINGER_IDLE;
    if (!e->cfg.max_linger)
        e->cfg.max_linger = GRAFT__DEFAULT_LIMIT_LINGER;
    e->deliver = deliver;
    e->ud = ud;
    e->nthreads = cfg->threads;
    pthread_mutex_init(&e->listen_mu, NULL);
    e->default_headers = malloc(cfg->default_headers_len + 1);
    e->listen_fds = calloc((size_t)cfg->n_listen + 1, sizeof(int));
    e->listen_kinds = calloc((size_t)cfg->n_listen + 1, sizeof(int));
    e->threads = calloc((size_t)cfg->threads, sizeof *e->threads);
    if (!e->default_headers || !e->listen_fds || !e->listen_kinds || !e->threads) {
        graft__engine_free(e);
        return -ENOMEM;
    }
    memcpy(e->default_headers, cfg->default_headers ? cfg->default_headers : "",
           cfg->default_headers_len);
    e->default_headers[cfg->default_headers_len] = '\0';
    e->cfg.default_headers = e->default_headers;
    memcpy(e->listen_fds, cfg->listen_fds, (size_t)cfg->n_listen * sizeof(int));
    e->cfg.listen_fds = e->listen_fds;
    if (cfg->listen_kinds)
        memcpy(e->listen_kinds, cfg->listen_kinds, (size_t)cfg->n_listen * sizeof(int));
    e->cfg.listen_kinds = e->listen_kinds;
    if (cfg->health_path && cfg->health_path[0]) {
        e->health_path = strdup(cfg->health_path);
        if (!e->health_path) {
            graft__engine_free(e);
            return -ENOMEM;
        }
        e->health_path_len = strlen(e->health_path);
    }
    e->cfg.health_path = e->health_path;
    for (int i = 0; i < e->nthreads; i++) {
        e->threads[i].epfd = e->threads[i].wakefd = -1;
        e->threads[i].standby_fd = e->threads[i].watch_fd = -1;
        pthread_mutex_init(&e->threads[i].pollmu, NULL);
    }
    for (int i = 0; i < e->nthreads; i++) {
        int rc = graft__iothread_init(&e->threads[i], e);
        if (rc) {
            graft__engine_free(e);
            return rc;
        }
    }
    *out = e;
    return 0;
}

int graft__engine_start(graft__engine *e)
{
    for (int i = 0; i < e->nthreads; i++) {
        int rc = pthread_create(&e->threads[i].tid, NULL, graft__iothread_main, &e->threads[i]);
        if (rc) {
            atomic_store(&e->stopping, 1);
            for (int j = 0; j < i; j++) {
                graft__iothread_wake(&e->threads[j]);
                pthread_join(e->threads[j].tid, NULL);
            }
            return -rc;
        }
    }
    return 0;
}

static void wake_all(graft__engine *e)
{
    for (int i = 0; i < e->nthreads; i++)
        graft__iothread_wake(&e->threads[i]);
}

/* Draining makes each I/O thread drop its listeners (the last one closes them) and shut its
 * connections down gracefully (iothread.c, on_wake): both entry points below are this. */
static void drain(graft__engine *e)
{
    atomic_store(&e->draining, 1);
    wake_all(e);
}

void graft__engine_stop_accepting(graft__engine *e) { drain(e); }

void graft__engine_shutdown(graft__engine *e) { drain(e); }

void graft__engine_abort(graft__engine *e)
{
    atomic_store(&e->draining, 1);
    atomic_store(&e->aborting, 1);
    wake_all(e);
}

void graft__engine_tls_files(graft__engine *e, long *ktls, long *copied)
{
    *ktls = atomic_load_explicit(&e->tls_files_ktls, memory_order_relaxed);
    *copied = atomic_load_explicit(&e->tls_files_copied, memory_order_relaxed);
}

long graft__engine_connections(graft__engine *e) { return atomic_load(&e->connections); }

void graft__engine_free(graft__engine *e)
{
    if (!e)
        return;
    if (e->threads) {
        atomic_store(&e->stopping, 1);
        for (int i = 0; i < e->nthreads; i++)
            if (e->threads[i].tid) {
                graft__iothread_wake(&e->threads[i]);
                pthread_join(e->threads[i].tid, NULL);
            }
        for (int i = 0; i < e->nthreads; i++)
            graft__iothread_destroy(&e->threads[i]);
    }
    /* Listeners are closed by the threads; close any they never saw. */
    if (e->listen_fds && atomic_load(&e->listeners_removed) < e->nthreads)
        for (int i = 0; i < e->cfg.n_listen; i++)
            if (e->listen_fds[i] >= 0)
                close(e->listen_fds[i]);
    pthread_mutex_destroy(&e->listen_mu);
    free(e->threads);
    free(e->listen_fds);
    free(e->listen_kinds);
    free(e->default_headers);
    free(e->health_path);
    free(e);
}
