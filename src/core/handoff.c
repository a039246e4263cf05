/* Who polls an I/O thread's connections.
 *
 * With cfg.external_poll the embedder's thread (Python's event loop) polls
 * them itself while it is idle: a request then goes from the socket to the
 * app on one thread, without waking another one, which is what a lone
 * client's latency pays for. The I/O thread stands by meanwhile. A watchdog
 * timer, armed by the embedder's polls, lets it notice an embedder that has
 * stopped polling while events wait (an app blocking its event loop); it then
 * takes the connections over, so native routes keep answering, until the
 * embedder is responsive again and reclaims them. */
#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>

#include "conn.h"

/* How long events may wait for a stalled embedder before the I/O thread takes over:
 * between one and two periods, the second look being a short confirmation. */
#define WATCH_NS (2 * 1000000LL)
#define CONFIRM_NS (500 * 1000LL)
/* The longest period while requests are in flight but the loop is not inside a request's
 * task step: it may be blocked elsewhere (a child task, a middleware), or just waiting. */
#define WATCH_MAX_NS (128 * 1000000LL)

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void arm(graft__iothread *th, int64_t ns)
{
    struct itimerspec its = {.it_value = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000}};
    timerfd_settime(th->watch_fd, 0, &its, NULL);
}

int graft__handoff_init(graft__iothread *th)
{
    atomic_store(&th->owner, th->e->cfg.external_poll ? GRAFT__OWNER_EXT : GRAFT__OWNER_IO);
    th->watch_ns = WATCH_NS;
    th->standby_fd = epoll_create1(EPOLL_CLOEXEC);
    if (th->standby_fd < 0)
        return -errno;
    th->watch_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (th->watch_fd < 0)
        return -errno;
    struct epoll_event wake = {.events = EPOLLIN, .data.u64 = GRAFT__STANDBY_WAKE};
    struct epoll_event watch = {.events = EPOLLIN, .data.u64 = GRAFT__STANDBY_WATCH};
    if (epoll_ctl(th->standby_fd, EPOLL_CTL_ADD, th->wakefd, &wake) < 0 ||
        epoll_ctl(th->standby_fd, EPOLL_CTL_ADD, th->watch_fd, &watch) < 0)
        return -errno;
    return 0;
}

static int events_waiting(int epfd)
{
    struct pollfd p = {.fd = epfd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

int graft__handoff_watch(graft__iothread *th, int fired)
{
    unsigned polls = atomic_load(&th->ext_polls);
    int stalled = polls == th->seen_polls;
    th->seen_polls = polls;
    if (stalled && events_waiting(th->epfd)) {
        /* Events may simply have arrived a moment ago: take over only if the embedder
         * still has not polled at a second look. */
        if (!th->suspect) {
            th->suspect = 1;
            arm(th, CONFIRM_NS);
            return 0;
        }
        th->suspect = 0;
        atomic_store(&th->owner, GRAFT__OWNER_IO);
        return 1;
    }
    th->suspect = 0;
    if (!fired)
        return 0;
    /* Keep looking every period while the embedder is active (it may be about to block)
     * or inside a request's code; with requests in flight but nothing else known, look
     * less and less often; an idle embedder costs no more wake-ups. */
    if (!stalled || atomic_load(&th->e->ext_busy) > 0)
        th->watch_ns = WATCH_NS;
    else if (atomic_load(&th->e->inflight) > 0)
        th->watch_ns = th->watch_ns * 2 > WATCH_MAX_NS ? WATCH_MAX_NS : th->watch_ns * 2;
    else
        return 0;
    arm(th, th->watch_ns);
    return 0;
}

int graft__engine_poll_fd(graft__engine *e, int i) { return e->threads[i].epfd; }

int graft__engine_poll(graft__engine *e, int i)
{
    graft__iothread *th = &e->threads[i];
    struct epoll_event evs[128];
    pthread_mutex_lock(&th->pollmu);
    if (atomic_load(&th->owner) != GRAFT__OWNER_EXT) {
        pthread_mutex_unlock(&th->pollmu);
        return -EBUSY;
    }
    int n = epoll_wait(th->epfd, evs, 128, 0);
    if (n < 0)
        n = 0;
    graft__iothread_handle(th, evs, n);
    atomic_fetch_add(&th->ext_polls, 1);
    if (n > 0) {
        /* The app is about to run: make sure the watchdog will look. Re-armed at most
         * once per half period, so a busy server pays no syscall per request. */
        int64_t now = mono_ns();
        if (now + WATCH_NS / 2 > th->watch_until_ns) {
            arm(th, WATCH_NS);
            th->watch_until_ns = now + WATCH_NS;
        }
    }
    pthread_mutex_unlock(&th->pollmu);
    return n;
}

int graft__engine_reclaim(graft__engine *e, int i)
{
    if (!e->cfg.external_poll)
        return -EINVAL;
    graft__iothread *th = &e->threads[i];
    /* Only the I/O thread moves ownership to itself, so a stale EXT here is harmless:
     * the embedder's next poll says -EBUSY and it reclaims again. */
    if (atomic_load(&th->owner) == GRAFT__OWNER_EXT)
        return 0;
    pthread_mutex_lock(&th->pollmu);
    atomic_store(&th->owner, GRAFT__OWNER_EXT);
    th->seen_polls = atomic_load(&th->ext_polls);
    th->suspect = 0;
    /* The takeover used up the one-shot timer, and the embedder may block again before its
     * next poll arms it (an app that blocks on every request): watch from now on. */
    th->watch_ns = WATCH_NS;
    arm(th, WATCH_NS);
    th->watch_until_ns = mono_ns() + WATCH_NS;
    pthread_mutex_unlock(&th->pollmu);
    return 1;
}

void graft__engine_busy(graft__engine *e, int delta)
{
    atomic_fetch_add_explicit(&e->ext_busy, delta, memory_order_relaxed);
}
