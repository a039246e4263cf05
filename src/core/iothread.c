/* One I/O thread: an epoll loop over its listeners' accepts, its
 * connections, a wake eventfd, and a coarse timer sweep. With external
 * polling it stands by while the embedder polls instead (handoff.c). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"

/* epoll data tags: listeners and the wake fd are marked by small integers
 * that can never be a conn pointer. */
#define TAG_WAKE ((uintptr_t)1)
#define TAG_LISTEN_BASE ((uintptr_t)16) /* + listener index */
#define SWEEP_MS 250
/* How long listeners rest after accept(2) ran out of descriptors (asyncio waits 1 s too). */
#define ACCEPT_PAUSE_MS 1000

int64_t graft__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Adds (on) or removes the listeners from th's epoll set. */
static int watch_listeners(graft__iothread *th, int on)
{
    graft__engine *e = th->e;
    th->accept_resume_ms = 0;
    for (int i = 0; i < e->cfg.n_listen; i++) {
        if (e->listen_fds[i] < 0)
            continue;
        if (!on) {
            epoll_ctl(th->epfd, EPOLL_CTL_DEL, e->listen_fds[i], NULL);
            continue;
        }
        /* EPOLLEXCLUSIVE: one thread wakes per incoming connection, not all of them. */
        struct epoll_event lev = {.events = EPOLLIN | (e->nthreads > 1 ? EPOLLEXCLUSIVE : 0),
                                  .data.ptr = (void *)(TAG_LISTEN_BASE + (uintptr_t)i)};
        if (epoll_ctl(th->epfd, EPOLL_CTL_ADD, e->listen_fds[i], &lev) < 0 && errno != EEXIST)
            return -errno;
    }
    return 0;
}

void graft__iothread_pause_accept(graft__iothread *th, int err)
{
    if (!th->listening || th->accept_resume_ms)
        return;
    watch_listeners(th, 0);
    th->accept_resume_ms = graft__now_ms() + ACCEPT_PAUSE_MS;
    if (!atomic_exchange(&th->e->accept_logged, 1)) {
        /* The engine has no logger of its own (no Python here); one stderr line per episode,
         * in the default log format, like asyncio's "socket.accept() out of system resource". */
        char msg[160];
        int n = snprintf(msg, sizeof msg,
                         "ERROR:    accept() failed: %s; not accepting for %d ms (graft)\n",
                         strerror(err), ACCEPT_PAUSE_MS);
        if (n > 0 && write(2, msg, (size_t)n) < 0) {
            /* nothing better to do */
        }
    }
}

static void remove_listeners(graft__iothread *th)
{
    graft__engine *e = th->e;
    th->listening = 0;
    watch_listeners(th, 0);
    /* The last thread to let go closes the sockets, so no thread can accept on a reused fd number. */
    if (atomic_fetch_add(&e->listeners_removed, 1) + 1 == e->nthreads) {
        pthread_mutex_lock(&e->listen_mu);
        for (int i = 0; i < e->cfg.n_listen; i++) {
            if (e->listen_fds[i] >= 0)
                close(e->listen_fds[i]);
            e->listen_fds[i] = -1;
        }
        pthread_mutex_unlock(&e->listen_mu);
    }
}

static void on_wake(graft__iothread *th)
{
    uint64_t v;
    /* The embedder's poll and the standby thread both see a wake-up; the one that reads
     * it acts on it, after the flags that caused it were set. */
    if (read(th->wakefd, &v, sizeof v) <= 0)
        return;
    graft__engine *e = th->e;
    if (th->listening && atomic_load(&e->draining))
        remove_listeners(th);
    if (atomic_load(&e->draining) || atomic_load(&e->aborting)) {
        int abort = atomic_load(&e->aborting);
        for (graft__conn *c = th->conns, *n; c; c = n) {
            n = c->next;
            graft__conn_shutdown(c, abort);
        }
    }
}

static void flush_closing(graft__iothread *th)
{
    for (size_t i = 0; i < th->nclosing; i++)
        graft__conn_release(th->closing[i]);
    th->nclosing = 0;
}

void graft__iothread_handle(graft__iothread *th, const struct epoll_event *evs, int n)
{
    graft__engine *e = th->e;
    for (int i = 0; i < n; i++) {
        uintptr_t tag = (uintptr_t)evs[i].data.ptr;
        if (tag == TAG_WAKE)
            on_wake(th);
        else if (tag >= TAG_LISTEN_BASE && tag < TAG_LISTEN_BASE + GRAFT__MAX_LISTENERS) {
            if (th->listening)
                graft__conn_accept(th, e->listen_fds[tag - TAG_LISTEN_BASE],
                                   e->listen_kinds[tag - TAG_LISTEN_BASE]);
        } else
            graft__conn_on_events((graft__conn *)evs[i].data.ptr, evs[i].events);
    }
    /* Connections closed in this batch may still appear in later entries
     * of the same batch, so their memory is given up only now. */
    if (e->cfg.after_batch)
        e->cfg.after_batch(e->ud);
    flush_closing(th);
    int64_t now = graft__now_ms();
    if (now >= th->next_sweep) {
        th->next_sweep = now + SWEEP_MS;
        if (th->accept_resume_ms && now >= th->accept_resume_ms)
            watch_listeners(th, 1);
        for (graft__conn *c = th->conns, *nx; c; c = nx) {
            nx = c->next;
            graft__conn_sweep(c, now);
        }
        if (e->cfg.after_batch)
            e->cfg.after_batch(e->ud);
        flush_closing(th);
    }
}

/* The thread owns epfd: waits on it, then handles what it got if it still owns it. */
static int own_batch(graft__iothread *th)
{
    struct epoll_event evs[128];
    int n = epoll_wait(th->epfd, evs, 128, SWEEP_MS);
    if (n < 0 && errno != EINTR)
        return -1;
    pthread_mutex_lock(&th->pollmu);
    /* If the embedder reclaimed epfd meanwhile, these events are its to fetch again (they
     * are level-triggered) and may name connections it has closed since. */
    if (atomic_load(&th->owner) == GRAFT__OWNER_IO)
        graft__iothread_handle(th, evs, n > 0 ? n : 0);
    pthread_mutex_unlock(&th->pollmu);
    return 0;
}

/* The embedder owns epfd: wait for a wake-up, the watchdog or the sweep. */
static int standby(graft__iothread *th)
{
    struct epoll_event evs[2];
    int n = epoll_wait(th->standby_fd, evs, 2, SWEEP_MS);
    if (n < 0 && errno != EINTR)
        return -1;
    pthread_mutex_lock(&th->pollmu);
    int fired = 0;
    for (int i = 0; i < n; i++) {
        if (evs[i].data.u64 == GRAFT__STANDBY_WAKE) {
            on_wake(th);
        } else {
            uint64_t v;
            fired = read(th->watch_fd, &v, sizeof v) > 0;
        }
    }
    if (atomic_load(&th->owner) == GRAFT__OWNER_EXT && !graft__handoff_watch(th, fired))
        graft__iothread_handle(th, NULL, 0); /* the sweep, and what on_wake closed */
    pthread_mutex_unlock(&th->pollmu);
    return 0;
}

void *graft__iothread_main(void *arg)
{
    graft__iothread *th = arg;
    graft__engine *e = th->e;
    /* SCHED_BATCH: a waking I/O thread does not preempt the Python thread when
     * both share a core; it runs when Python yields and then finds many ready
     * connections at once, so requests reach Python in batches. */
    struct sched_param sp = {0};
    pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
    while (!atomic_load(&e->stopping)) {
        int rc = atomic_load(&th->owner) == GRAFT__OWNER_IO ? own_batch(th) : standby(th);
        if (rc < 0)
            break;
    }
    pthread_mutex_lock(&th->pollmu);
    if (th->listening)
        remove_listeners(th);
    for (graft__conn *c = th->conns, *nx; c; c = nx) {
        nx = c->next;
        graft__conn_shutdown(c, 1);
    }
    if (e->cfg.after_batch)
        e->cfg.after_batch(e->ud);
    flush_closing(th);
    pthread_mutex_unlock(&th->pollmu);
    return NULL;
}

int graft__iothread_init(graft__iothread *th, graft__engine *e)
{
    th->e = e;
    th->listening = 1;
    th->next_sweep = graft__now_ms() + SWEEP_MS;
    th->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (th->epfd < 0)
        return -errno;
    th->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (th->wakefd < 0)
        return -errno;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = (void *)TAG_WAKE};
    if (epoll_ctl(th->epfd, EPOLL_CTL_ADD, th->wakefd, &ev) < 0)
        return -errno;
    int rc = watch_listeners(th, 1);
    if (rc < 0)
        return rc;
    th->hdrs = calloc(e->cfg.limits.max_headers ? e->cfg.limits.max_headers : 1, sizeof *th->hdrs);
    th->rbuf = malloc(GRAFT__READ_CHUNK);
    if (!th->hdrs || !th->rbuf)
        return -ENOMEM;
    return graft__handoff_init(th);
}

void graft__iothread_wake(graft__iothread *th)
{
    uint64_t one = 1;
    ssize_t r = write(th->wakefd, &one, sizeof one);
    (void)r;
}

void graft__iothread_destroy(graft__iothread *th)
{
    if (th->epfd >= 0)
        close(th->epfd);
    if (th->wakefd >= 0)
        close(th->wakefd);
    if (th->standby_fd >= 0)
        close(th->standby_fd);
    if (th->watch_fd >= 0)
        close(th->watch_fd);
    pthread_mutex_destroy(&th->pollmu);
    free(th->closing);
    free(th->hdrs);
    free(th->rbuf);
}
