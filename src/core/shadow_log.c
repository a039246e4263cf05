/* Where mismatch lines go (shadow.h): a file, appended to and reopened when rotated away, or a
 * bounded queue the Python graft.shadow logger drains. Either way a token bucket bounds the
 * rate, so a handler that differs on every request writes a burst, then a trickle, plus a
 * count of what was dropped. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "shadow.h"

#define NS_PER_S 1000000000ull
/* One token back every 1/RATE second; whole tokens only, so no fraction is lost or invented. */
#define REFILL_NS (NS_PER_S / GRAFT__SHADOW_RATE)
/* How often a file sink checks whether its path was rotated away: stat per write would cost
 * a syscall per line for an event that happens daily. */
#define ROTATE_CHECK_NS NS_PER_S
#define QUEUE_CAP_DEFAULT 1000

struct graft__shadow_log {
    pthread_mutex_t mu;
    int fd;     /* -1: queue mode */
    char *path; /* file mode: reopened by name on rotation */
    uint64_t checked_ns;
    uint64_t tokens;
    uint64_t refilled_ns;
    int started; /* the bucket's clock is set by the first write */
    uint64_t suppressed, pending; /* all dropped lines; those not yet reported by a note */
    graft__buf q;
    size_t nq, qcap;
    void (*notify)(void *);
    void *notify_arg;
};

static int open_file(const char *path)
{
    /* 0600: the lines hold request paths and bodies. An existing file keeps its mode: an
     * operator who made it group-readable meant it. */
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

int graft__shadow_log_open(graft__shadow_log **out, const char *path, size_t queue_cap, char *err,
                           size_t errlen)
{
    *out = NULL;
    graft__shadow_log *l = calloc(1, sizeof *l);
    if (!l || (path && !(l->path = strdup(path)))) {
        free(l);
        snprintf(err, errlen, "shadow log: out of memory");
        return -ENOMEM;
    }
    l->fd = -1;
    l->tokens = GRAFT__SHADOW_BURST;
    l->qcap = queue_cap ? queue_cap : QUEUE_CAP_DEFAULT;
    if (l->qcap > GRAFT__SHADOW_QUEUE_MAX)
        l->qcap = GRAFT__SHADOW_QUEUE_MAX;
    if (path && (l->fd = open_file(path)) < 0) {
        int e = errno;
        snprintf(err, errlen, "--shadow-log %s: cannot open: %s", path, strerror(e));
        free(l->path);
        free(l);
        return -e;
    }
    int rc = pthread_mutex_init(&l->mu, NULL);
    if (rc) {
        snprintf(err, errlen, "shadow log: %s", strerror(rc));
        if (l->fd >= 0)
            close(l->fd);
        free(l->path);
        free(l);
        return -rc;
    }
    *out = l;
    return 0;
}

void graft__shadow_log_set_notify(graft__shadow_log *l, void (*notify)(void *arg), void *arg)
{
    l->notify = notify;
    l->notify_arg = arg;
}

/* Adds the tokens earned since the last refill, up to the burst. */
static void refill(graft__shadow_log *l, uint64_t now)
{
    if (!l->started) {
        l->started = 1;
        l->refilled_ns = now;
        return;
    }
    if (now <= l->refilled_ns)
        return;
    uint64_t earned = (now - l->refilled_ns) / REFILL_NS;
    l->tokens += earned;
    l->refilled_ns += earned * REFILL_NS;
    if (l->tokens >= GRAFT__SHADOW_BURST) {
        l->tokens = GRAFT__SHADOW_BURST;
        l->refilled_ns = now; /* a full bucket earns nothing while it waits */
    }
}

/* Reopens the path when it no longer names the open file (renamed or removed by a log
 * rotator). On failure the old descriptor stays: lines keep going somewhere, and the next
 * check tries again. */
static void maybe_reopen(graft__shadow_log *l, uint64_t now)
{
    if (now - l->checked_ns < ROTATE_CHECK_NS && l->checked_ns)
        return;
    l->checked_ns = now ? now : 1;
    struct stat ps, fs;
    if (stat(l->path, &ps) == 0 && fstat(l->fd, &fs) == 0 && ps.st_dev == fs.st_dev &&
        ps.st_ino == fs.st_ino)
        return;
    int fd = open_file(l->path);
    if (fd < 0)
        return;
    close(l->fd);
    l->fd = fd;
}

/* Writes every byte of the iovecs; O_APPEND and the lock keep lines whole. */
static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

int graft__shadow_log_write_at(graft__shadow_log *l, const char *line, size_t len, uint64_t now_ns)
{
    int newline = len == 0 || line[len - 1] != '\n';
    char note[48];
    size_t note_len = 0;
    int rc = 1, queued = 0;
    pthread_mutex_lock(&l->mu);
    refill(l, now_ns);
    if (l->tokens == 0 || (l->fd < 0 && (len > GRAFT__SHADOW_LINE_MAX ||
                                         l->nq + 1 + (l->pending > 0) > l->qcap))) {
        l->suppressed++;
        l->pending++;
        pthread_mutex_unlock(&l->mu);
        return 0;
    }
    if (l->pending)
        note_len = (size_t)snprintf(note, sizeof note, "{\"suppressed\": %llu}\n",
                                    (unsigned long long)l->pending);
    if (l->fd >= 0) {
        maybe_reopen(l, now_ns);
        struct iovec iov[3];
        int n = 0;
        if (note_len)
            iov[n++] = (struct iovec){note, note_len};
        iov[n++] = (struct iovec){(void *)line, len};
        if (newline)
            iov[n++] = (struct iovec){"\n", 1};
        int w = write_all(l->fd, iov, n);
        if (w < 0)
            rc = w;
    } else {
        size_t before = l->q.len;
        if ((note_len && graft__buf_append(&l->q, note, note_len) < 0) ||
            graft__buf_append(&l->q, line, len) < 0 || (newline && graft__buf_append(&l->q, "\n", 1) < 0)) {
            l->q.len = before;
            rc = -ENOMEM;
        } else {
            l->nq += 1 + (note_len > 0);
            queued = 1;
        }
    }
    if (rc == 1) {
        l->tokens--;
        l->pending = 0;
    }
    pthread_mutex_unlock(&l->mu);
    if (queued && l->notify)
        l->notify(l->notify_arg);
    return rc;
}

int graft__shadow_log_write(graft__shadow_log *l, const char *line, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return graft__shadow_log_write_at(l, line, len, (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec);
}

int graft__shadow_log_take(graft__shadow_log *l, graft__buf *out)
{
    pthread_mutex_lock(&l->mu);
    int n = (int)l->nq;
    if (n && graft__buf_append(out, graft__buf_head(&l->q), graft__buf_avail(&l->q)) < 0) {
        pthread_mutex_unlock(&l->mu);
        return -ENOMEM;
    }
    l->nq = 0;
    l->q.off = l->q.len = 0;
    if (l->q.cap > 1024 * 1024)
        graft__buf_free(&l->q); /* a burst's memory is not kept for the quiet that follows */
    pthread_mutex_unlock(&l->mu);
    return n;
}

uint64_t graft__shadow_log_suppressed(graft__shadow_log *l)
{
    pthread_mutex_lock(&l->mu);
    uint64_t n = l->suppressed;
    pthread_mutex_unlock(&l->mu);
    return n;
}

void graft__shadow_log_close(graft__shadow_log *l)
{
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd);
    pthread_mutex_destroy(&l->mu);
    graft__buf_free(&l->q);
    free(l->path);
    free(l);
}
