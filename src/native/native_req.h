/* The native layer's request, and the calls its files (src/native/native*.c) share. */
#ifndef GRAFT__NATIVE_REQ_H
#define GRAFT__NATIVE_REQ_H

#include "native.h"

enum { GR_NONE, GR_STREAMING, GR_DONE };

/* Why the request is answered, or ended, without running its handler. */
enum gr_fail {
    GR_FAIL_NONE = 0,   /* run the handler */
    GR_FAIL_NOT_FOUND,  /* no route matched and no app is behind us: 404 */
    GR_FAIL_TOO_LARGE,  /* the body is over the library's limit: 413 */
    GR_FAIL_GONE,       /* the client left while the body was awaited: end, no answer */
};

struct graft_request {
    graft__req *req;
    graft__native *nat;
    const graft__route *route;
    graft__match m;
    atomic_int refs;       /* 1 until the response completes, + retains */
    /* GR_*, set by whoever answers. Atomic: a handler that returns GRAFT_OK may hand the
     * request to a thread of its own, which answers while run_one still reads the state
     * to see whether the handler answered. One answering thread at a time, so plain
     * (sequentially consistent) loads and stores are all it needs. */
    atomic_int state;
    int waiting_body;      /* parked until the whole body arrives */
    enum gr_fail fail;     /* set by deliver before the request is queued */
    int close_after;       /* a streamed response closes the connection at graft_stream_end */
    int chunked;
    int no_body;           /* the writer framed no body (HEAD, 204, 304): writes are dropped */
    int own_length;        /* hdrs carry content-length (routing_answers.c's 307, for HEAD too) */
    graft__buf hdrs;       /* extra response headers */
    graft__buf body;       /* body bytes taken from the engine */
    char *strs;            /* NUL-terminated method/path/query and params (decoded) */
    char *params[GRAFT__MAX_PARAMS];
    size_t param_lens[GRAFT__MAX_PARAMS];
    char *qbuf;            /* decoded query pairs, built on first use */
    size_t nq;
    char **qk, **qv;
    size_t *qvl;
    const char *method_z, *path_z, *query_z;
    struct graft_request *next;
    /* graft_stream_on_writable, under graft__req_lock (deliver reads them): the armed
     * callback (holding a reference on the request until it has run) and, once the engine
     * said WRITABLE or DISCONNECT, the status it runs with from this poller's pending list
     * (wfire). */
    graft_writable_cb wcb;
    void *wud;
    int wfire, wstatus;
    /* A shadow replay: answers are captured here instead of sent (native_shadow.c). */
    struct graft__shadow *shadow;
    /* WebSocket routes */
    int ws_open, ws_closed, queued;
    void *ws_data;
    /* graft_validate's result, once it ran (validated), and the typed values of the route
     * contract's parameters (one per parameter, contract_validate.c). */
    int validated, vresult;
    struct graft__arg *args;
    size_t nargs;
    /* The JSON body graft_validate parsed (a json_t *, for the graft_body_* getters). */
    void *body_doc;
};

/* contract_validate.c: frees what graft_validate stored in gr. */
void graft__native_args_free(struct graft_request *gr);

/* A writer that ignores "slow" gets GRAFT_EAGAIN once this much output is queued: nginx-like,
 * a slow client costs a bounded buffer, never the handler's whole output. */
#define GRAFT__STREAM_CAP (1024 * 1024)

/* native_request.c: lifetime. */

/* A native request for r (taking over the event's reference) matched as m, with its method,
 * path, query and parameters (slices of the decoded path) copied out; NULL when memory is
 * short (r untouched). */
struct graft_request *graft__native_request_new(graft__native *n, graft__req *r,
                                                const graft__match *m);
/* Completes the response bookkeeping after the final bytes: later events go to the next
 * embedder, the access log is written, and the initial reference goes. */
void graft__native_done(struct graft_request *gr, int status);
/* Ends an exchange that gets no answer (the connection closes, or nobody waits for one),
 * without an access log line, and drops the initial reference. */
void graft__native_abandon(struct graft_request *gr);
/* Stops routing gr's request to the native layer: its later events go to the next embedder. */
void graft__native_detach(struct graft_request *gr);
/* Percent-decodes src into dst (room for n bytes); plus_space turns '+' into ' '. Returns length. */
size_t graft__pct_decode(char *dst, const char *src, size_t n, int plus_space);

/* native_queue.c: where requests wait to run. */

/* Queues gr to run on this thread after the engine's batch (graft__native_run_pending). */
void graft__native_push_local(struct graft_request *gr);
/* Queues gr to run: on the worker pool for a blocking route that will run its handler,
 * else on this thread after the batch. */
void graft__native_schedule(graft__native *n, struct graft_request *gr);
/* Who takes a matched request under its route's mode (route_mode.c). Any thread. */
enum {
    GRAFT__TAKE_APP = 0,    /* the app answers (python, or split's other share) */
    GRAFT__TAKE_NATIVE = 1, /* the handler answers */
    GRAFT__TAKE_SHADOW = 2, /* the app answers; the handler replays it afterwards */
};
/* Decides for one request; split and shadow count it, so P of every 100 go the native way. */
int graft__route_take(graft__route *rt);

/* Starts up to `threads` pool threads (fewer when creating one fails); -ENOMEM or 0. */
int graft__native_start_pool(graft__native *n, int threads);
/* Stops the pool threads once they finish what they run, and waits for them. */
void graft__native_stop_pool(graft__native *n);

/* routing_answers.c: FastAPI's answers for a request no route takes (fastapi_routing). */

/* Answers gr (no route matched) as FastAPI's router: 405, the trailing-slash 307, or 404. */
void graft__native_answer_unrouted(struct graft_request *gr);
/* Answers gr 404 {"detail":"Not Found"}, FastAPI's body. */
void graft__native_answer_not_found(struct graft_request *gr);

/* native_run.c: running a queued request (no lock held). */

/* Runs what gr was queued for: its handler, an answer without it (gr->fail), a fired
 * writable callback, or its WebSocket callbacks. */
void graft__native_run_one(struct graft_request *gr);
/* Cancels a graft_stream_on_writable callback (the response is ending); any thread. */
void graft__native_cancel_writable(struct graft_request *gr);

/* native_shadow.c: hangs a shadow on a request the app will answer (deliver, lock held). */
void graft__shadow_watch(graft__native *n, graft__req *r, const graft__match *m);

/* native_ws.c: accepts a WebSocket route's upgrade, then hands each queued message, and the
 * close, to the route's callbacks; the request lives (initial reference) until on_close. */
void graft__native_run_ws(struct graft_request *gr);

/* native_crash.c: marks the calling thread as running route rt's code, for the crash report,
 * and gives it an alternate signal stack on first use; returns the route marked before. */
const graft__route *graft__native_route_enter(graft__native *n, const graft__route *rt);
/* Restores the mark graft__native_route_enter returned. */
void graft__native_route_leave(const graft__route *prev);

/* Runs f, a handler or callback of route rt, marked for the crash report (restored after:
 * nothing nests today, but a crash must never name a route that already returned). */
#define GRAFT__WITH_ROUTE(n, rt, f)                                                                \
    do {                                                                                           \
        const graft__route *prev_route_ = graft__native_route_enter((n), (rt));                    \
        f;                                                                                         \
        graft__native_route_leave(prev_route_);                                                    \
    } while (0)

#endif
