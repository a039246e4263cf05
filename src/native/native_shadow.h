/* Shadow mode's parts (native_shadow.c: the tap and the replay's captured answer;
 * shadow_runner.c: the queue, the runner thread and the comparison). */
#ifndef GRAFT__NATIVE_SHADOW_H
#define GRAFT__NATIVE_SHADOW_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/uio.h>

#include "capture.h"
#include "native_req.h"
#include "shadow.h"
#include "tap.h"

/* One shadowed request. The fields the tap writes belong to the bridge's thread until the
 * shadow is queued; after that to the runner. nat and the writable callback are under mu:
 * a handler may answer from a thread of its own. */
typedef struct graft__shadow {
    graft__tap tap;
    struct graft__shadow_runner *runner;
    graft__req *req;
    const graft__route *route;
    graft__match m; /* captures point into caps */
    atomic_int refs;
    graft__buf body; /* the request body the app read */
    int body_done, body_over, oom, queued;
    graft__capture py; /* the app's answer */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    graft__capture nat; /* the handler's answer */
    int nat_done, nat_status;
    graft_writable_cb wcb;
    void *wud;
    struct graft__shadow *next;
    char caps[]; /* m's captures, copied: the decoded path they were matched in is gone */
} graft__shadow;

/* The per-server replay machinery, created by graft__native_shadow_config. */
typedef struct graft__shadow_runner {
    graft__native *n;
    graft__shadow_log *log;
    uint64_t timeout_ns;
    size_t compare_cap, log_cap, queue_cap;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    graft__shadow *head, *tail;
    size_t len;
    pthread_t thread;
    int started, stop;
} graft__shadow_runner;

/* Bodies are compared up to this many bytes (their total lengths always); a mismatch's log
 * line holds up to GRAFT__SHADOW_LOG_BODY_CAP of each; GRAFT__SHADOW_QUEUE replays wait at
 * most, beyond which requests are counted skipped. */
#define GRAFT__SHADOW_COMPARE_CAP (64 * 1024)
#define GRAFT__SHADOW_LOG_BODY_CAP 4096
#define GRAFT__SHADOW_QUEUE 64

/* Counts one outcome (GRAFT__SHADOW_*, shared.h) for rt in the metrics, when they are on
 * (reason: why a replay failed: declined, error, timeout). */
void graft__shadow_count(graft__native *n, const graft__route *rt, int what, const char *reason);
/* Queues a shadow whose app answer is complete (takes a reference on it and its request), or
 * counts it skipped when the queue is full or the runner stopped. */
void graft__shadow_enqueue(graft__shadow_runner *run, graft__shadow *sh);
/* Drops one reference. */
void graft__shadow_release(graft__shadow *sh);

/* The replay's answer calls (native_response.c routes a shadow graft_request's here). */
int graft__shadow_head(struct graft_request *gr, int status, const graft__field *f, size_t n,
                       graft__response_decision *d);
void graft__shadow_body(struct graft_request *gr, const struct iovec *iov, int cnt);
void graft__shadow_file(struct graft_request *gr, int fd, uint64_t size);
/* Completes the replay's answer and drops the request's initial reference. */
void graft__shadow_done(struct graft_request *gr, int status);
int graft__shadow_on_writable(struct graft_request *gr, graft_writable_cb cb, void *ud);
void graft__shadow_cancel_writable(struct graft_request *gr);

#endif
