/* Native handler libraries as an engine embedder: matched requests run C
 * handlers on the I/O thread (or a worker pool); the rest, and declined ones,
 * go on to the next embedder (the ASGI bridge, or graft-serve's 404). */
#ifndef GRAFT__NATIVE_H
#define GRAFT__NATIVE_H

#include <pthread.h>
#include <stdatomic.h>

#include "buf.h"
#include "engine.h"
#include "req.h"
#include "router.h"
#include "shared.h"

typedef struct graft__lib {
    char *path;
    void *dl;
    void *state;
    void (*destroy)(void *);
    void *(*tcreate)(void *);
    void (*tdestroy)(void *);
    pthread_key_t key;
    int has_key;
    size_t body_limit;
} graft__lib;

typedef struct graft__native {
    graft_router router;
    graft__lib **libs;
    size_t nlibs;
    graft__deliver_fn next; /* NULL: answer unmatched/declined requests 404 (graft-serve) */
    void *next_ud;
    /* Access log for completed native responses when there is no next embedder. */
    void (*access_log)(graft__req *r, int status);
    /* Send GRAFT__EV_LOG to the next embedder when a native response completes (only when it
     * keeps an access log: every event costs the embedder a wake-up). */
    int log_to_next;
    /* Without a next embedder: answer an unrouted request as FastAPI's router would (404 and
     * 405 JSON, HEAD not served by GET routes, the trailing-slash 307; routing_answers.c)
     * instead of a plain-text 404. graft__native_set_fastapi_routing. */
    int fastapi_routing;
    /* worker pool for GRAFT_ROUTE_BLOCKING */
    pthread_t *pool;
    int npool;
    pthread_mutex_t pmu;
    pthread_cond_t pcv;
    struct graft_request *phead, *ptail;
    int pstop;
    /* Lifetime. A handler may hold a request (graft_request_retain) past the server's end,
     * and the request points at its route, library and this struct; so they are freed only
     * when refs, the host's reference (dropped by graft__native_free) plus one per live
     * graft_request, reaches 0. What the embedder owns (next, access_log,
     * the engine) is not counted: graft__native_free sets `stopped`, after which every
     * answer call fails with GRAFT_EGONE without touching it, and waits until no thread is
     * still inside one (`active`, see graft__native_enter). */
    atomic_int refs;
    atomic_int stopped;
    atomic_int active;
    /* Where shadow counters go (graft__metrics_shadow, shared.h): the embedder's handle, set
     * before the engine starts; NULL (metrics off) makes every recording call a no-op. */
    graft__metrics *metrics;
    /* Alternate signal stacks of the threads that run handlers (graft__native_crash_init). */
    pthread_key_t altstack_key;
    int has_altstack_key;
    /* Shadow mode's queue and runner thread (native_shadow.h); NULL until configured. */
    struct graft__shadow_runner *shadow;
    /* Route contracts (contract.h), set before serving by graft__native_set_contracts: the
     * parsed document and, per route (same index as router.routes), its contract or NULL.
     * Whether graft_validate may decline is whether an app stands behind (next != NULL). */
    struct graft__contracts *contracts;
    const struct graft__contract **route_contract;
} graft__native;

/* Threads of the pool that runs GRAFT_ROUTE_BLOCKING handlers unless the embedder says
 * otherwise (graft's --blocking-threads, graft-serve's); Config's default must agree. */
#define GRAFT__NATIVE_DEFAULT_BLOCKING_THREADS 4

/* Loads the libraries (spec "path" or "path?config") and registers their routes. On failure
 * returns a negative code and writes a message naming the file (and route) into err. */
int graft__native_new(graft__native **out, const char *const *specs, size_t n, int pool_threads,
                      char *err, size_t errlen);
/* Sets the mode of one native route, "METHOD TEMPLATE=MODE" (as the library registered the
 * route), or of every HTTP route, "*=MODE"; MODE is native, python or split:P (route_mode.c).
 * Safe while the server runs. Returns 0, or GRAFT_EINVAL with a message naming the route or
 * mode in err (an unknown route, a WebSocket route, a bad mode, or a mode other than native
 * without a next embedder). */
int graft__native_set_route_mode(graft__native *n, const char *spec, char *err, size_t errlen);

/* Sets up shadow mode: mismatch lines go to log (owned by the caller, alive until
 * graft__native_free returns), and a replay not answered within timeout_s counts as failed.
 * Call once, before serving; without it shadowed requests are counted skipped. Returns 0,
 * GRAFT_EINVAL (called twice) or GRAFT_ENOMEM. */
struct graft__shadow_log;
int graft__native_shadow_config(graft__native *n, struct graft__shadow_log *log, double timeout_s);
/* Stops the runner thread once the replay it runs ends (shutdown); queued ones are dropped. */
void graft__native_shadow_stop(graft__native *n);
/* Frees the runner (with the native layer's last reference). */
void graft__native_shadow_free(graft__native *n);
/* Validates mode (a mode string) for the route (method, template) with its registration
 * flags: the one check behind --route-mode and the control listener's set. has_app: a next
 * embedder can answer (only `native` is valid without one). Returns the packed mode (kind in
 * the low byte: 0 native, 1 python, 2 split, 3 shadow; percentage << 8), or -1 with a message
 * naming route and mode in err. */
int graft__route_mode_check(const char *method, const char *template, unsigned flags, int is_ws,
                            int has_app, const char *mode, char *err, size_t errlen);
/* Writes a packed mode as text ("native", "python", "split:50", "shadow:10") into buf; returns
 * what snprintf returns. */
int graft__route_mode_format(int mode, char *buf, size_t len);
/* Attaches every route to the live mode table of s (after --route-mode was applied): a route
 * new to the table enters it with its current mode; one already there (another worker, or
 * this slot's previous worker, put it there) adopts the table's mode. Call before the engine
 * starts. Returns 0 or a negative errno; a full table leaves the rest with modes of their own. */
int graft__native_attach_shared(graft__native *n, graft__shared *s);

/* The admin listeners' context (admin.c): the shared region they read and write, and whether
 * an app stands behind the native layer (graft) or not (graft-serve: only `native` is valid). */
typedef struct graft__admin {
    graft__shared *shared;
    int has_app;
} graft__admin;
/* The engine's cfg.admin (ud: a graft__admin): answers GET /metrics on a metrics listener,
 * GET /routes and POST /routes?route=&mode= on a control listener; releases r. */
void graft__admin_handle(void *ud, graft__req *r, int kind);

/* Gives each route the contract of the document's operation with its method and template
 * (contract_attach.c). has_app: graft (a route the kit cannot serve declines) or graft-serve.
 * Appends one line per native HTTP route to report: "D METHOD TEMPLATE: contract, N
 * parameters", "D ...: no operation in the document", or "W ...: <why unsupported>"; first, a
 * line "V <text>" when the document's x-graft names other FastAPI/Pydantic releases. Returns
 * the number of unsupported routes, or a negative code with a message in err. Call once,
 * before serving. */
int graft__native_set_contracts(graft__native *n, const char *json, size_t len, int has_app,
                                graft__buf *report, char *err, size_t errlen);

/* Where unmatched and declined requests (and their later events) go. */
void graft__native_set_next(graft__native *n, graft__deliver_fn next, void *ud);
/* With on, and no next embedder (GRAFT_EINVAL otherwise), requests no route takes get
 * FastAPI's routing-level answers: 404 {"detail":"Not Found"}; 405 {"detail":"Method Not
 * Allowed"} with `allow` naming the method of the first registered route whose template
 * matches the path (HEAD included: a GET route does not serve it); a 307 to the path with its
 * trailing slash removed or added when that matches a route. Call before serving. */
int graft__native_set_fastapi_routing(graft__native *n, int on);
/* The engine's deliver callback (I/O thread, connection lock held: only queues). */
void graft__native_deliver(void *ud, graft__req *req, int ev);
/* Runs the handlers queued on this thread; the engine calls it after each batch. */
void graft__native_run_pending(void *ud);
/* Stops the pool and the public API (later answers get GRAFT_EGONE), destroys thread and
 * library state, and drops the host's reference: routes and library records live on until
 * the last request a handler still holds is released. Call after the engine is freed and
 * while the next embedder is still alive; libraries stay mapped. */
void graft__native_free(graft__native *n);
/* Installs, once per process, a handler for SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT
 * (where the action is still the default) that writes "graft: worker PID crashed (signal N)
 * in native handler METHOD TEMPLATE" to stderr when the crashing thread is inside a native
 * handler or callback, then ends the process with the signal as before. */
void graft__native_crash_install(void);
/* Creates / deletes the key that frees a thread's alternate signal stack when it exits. */
int graft__native_crash_init(graft__native *n);
void graft__native_crash_fini(graft__native *n);
/* Drops one reference (graft__native_free's, or a request's); the last one frees. */
void graft__native_unref(graft__native *n);
/* Starts up to `threads` workers for GRAFT_ROUTE_BLOCKING handlers (fewer if thread creation
 * fails; with none, those handlers run where the others do). Returns 0 or -ENOMEM. */
int graft__native_start_pool(graft__native *n, int threads);
/* Stops the workers once the queue is empty, and joins them. */
void graft__native_stop_pool(graft__native *n);

/* Brackets a public call that may touch the engine or the embedder: returns 0 (then
 * graft__native_leave must follow) while the server runs, GRAFT_EGONE once it stopped. The
 * store of `stopped` and the load of `active` in graft__native_free, against the increment
 * of `active` and the load of `stopped` here, are all sequentially consistent: either the
 * call sees `stopped`, or graft__native_free sees it inside and waits. */
static inline int graft__native_enter(graft__native *n)
{
    atomic_fetch_add(&n->active, 1);
    if (atomic_load(&n->stopped)) {
        atomic_fetch_sub(&n->active, 1);
        return GRAFT_EGONE;
    }
    return 0;
}
static inline void graft__native_leave(graft__native *n) { atomic_fetch_sub(&n->active, 1); }

#endif
