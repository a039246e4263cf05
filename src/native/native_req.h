/* The native layer's request (internal to native*.c). */
#ifndef GRAFT__NATIVE_REQ_H
#define GRAFT__NATIVE_REQ_H

#include "native.h"

enum { GR_NONE, GR_STREAMING, GR_DONE };

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
    int fail_status;       /* answer this instead of calling the handler */
    int chunked;
    graft__buf hdrs;       /* extra response headers */
    graft__buf body;       /* body bytes taken from the engine */
    size_t body_off;       /* graft_body_read position */
    char *strs;            /* NUL-terminated method/path/query and decoded params */
    char *params[GRAFT__MAX_PARAMS];
    size_t param_lens[GRAFT__MAX_PARAMS];
    char *qbuf;            /* decoded query pairs, built on first use */
    size_t nq;
    char **qk, **qv;
    size_t *qvl;
    const char *method_z, *path_z, *query_z;
    struct graft_request *next;
    /* graft_stream_on_writable, under the connection lock: the armed callback (holding a
     * reference on the request until it has run) and, once the engine said WRITABLE or
     * DISCONNECT, the status it runs with from this poller's pending list (wfire). */
    graft_writable_cb wcb;
    void *wud;
    int wfire, wstatus;
    /* WebSocket routes */
    int ws_open, ws_closed, queued;
    void *ws_data;
};

/* A writer that ignores "slow" gets GRAFT_EAGAIN once this much output is queued: nginx-like,
 * a slow client costs a bounded buffer, never the handler's whole output. */
#define GRAFT__STREAM_CAP (1024 * 1024)

/* Cancels a graft_stream_on_writable callback (the response is ending); any thread. */
void graft__native_cancel_writable(struct graft_request *gr);
/* Completes the response bookkeeping after the final bytes (drops the initial reference). */
void graft__native_done(struct graft_request *gr, int status);
/* Percent-decodes src into dst (room for n bytes); plus_space turns '+' into ' '. Returns length. */
size_t graft__pct_decode(char *dst, const char *src, size_t n, int plus_space);

#endif
