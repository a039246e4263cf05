/* The HTTP/1.1 engine: listeners, I/O threads and connections. No Python.
 *
 * Threads: the engine runs `threads` I/O threads, each with its own epoll set
 * and connections. A parsed request is handed to the embedder through
 * `deliver` (called on the I/O thread with the request's connection lock
 * held, so it only queues work: see graft__req_lock); the embedder answers
 * later from any thread through the graft__req_* calls in req.h.
 *
 * Lifetime: memory of a connection is released only when its I/O thread has
 * closed it and the last request referencing it has been released. */
#ifndef GRAFT__ENGINE_H
#define GRAFT__ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "http1.h"
#include "ws.h"

typedef struct graft__engine graft__engine;
typedef struct graft__req graft__req;

/* Events handed to the embedder. Each call transfers one request reference,
 * which the embedder must give back with graft__req_release. */
enum graft__event {
    GRAFT__EV_REQUEST = 1,    /* a new request head; body may follow */
    GRAFT__EV_BODY = 2,       /* body bytes (or its end) arrived while the app waited */
    GRAFT__EV_DISCONNECT = 3, /* the client went away, or the server is shutting down */
    GRAFT__EV_WRITABLE = 4,   /* queued output drained below the low-water mark */
    GRAFT__EV_LOG = 5,        /* a response produced elsewhere completed (access log); status in req */
};

typedef void (*graft__deliver_fn)(void *ud, graft__req *req, int event);

/* Defaults for the settings below, the one C source for both embedders: the bridge's
 * Server() keywords and graft-serve's options take them from here, and
 * tests/server/test_defaults.py checks they match graft/config.py's (the Python CLI's). */
#define GRAFT__DEFAULT_THREADS 1
#define GRAFT__DEFAULT_LIMIT_REQUEST_LINE 8190
#define GRAFT__DEFAULT_LIMIT_REQUEST_HEAD 65536
#define GRAFT__DEFAULT_LIMIT_REQUEST_FIELDS 100
#define GRAFT__DEFAULT_TIMEOUT_KEEP_ALIVE 5.0
#define GRAFT__DEFAULT_TIMEOUT_REQUEST_HEADER 10.0
#define GRAFT__DEFAULT_TIMEOUT_BODY_READ 30.0
#define GRAFT__DEFAULT_TIMEOUT_SEND 60.0
#define GRAFT__DEFAULT_TIMEOUT_LINGER 30.0
#define GRAFT__DEFAULT_TIMEOUT_LINGER_IDLE 5.0
#define GRAFT__DEFAULT_LIMIT_LINGER ((uint64_t)64 * 1024 * 1024)
#define GRAFT__DEFAULT_WS_MAX_SIZE ((uint64_t)16 * 1024 * 1024)
#define GRAFT__DEFAULT_WS_MAX_QUEUE 32
#define GRAFT__DEFAULT_WS_PING_INTERVAL 20.0
#define GRAFT__DEFAULT_WS_PING_TIMEOUT 20.0
#define GRAFT__DEFAULT_WS_PER_MESSAGE_DEFLATE 1

/* Listening sockets one engine takes at most (graft__engine_config.n_listen): more make
 * graft__engine_new fail with -EINVAL, and the bridge refuses them with a ValueError naming
 * the limit. The I/O threads tag listeners in epoll by index below it. */
#define GRAFT__MAX_LISTENERS 256

/* What a listener serves (graft__engine_config.listen_kinds). Requests on an admin listener
 * (metrics, control) are parsed with the same parser, limits and timeouts, then handed to
 * cfg.admin instead of deliver: they never reach the app or native handlers. */
enum { GRAFT__LISTEN_APP = 0, GRAFT__LISTEN_METRICS = 1, GRAFT__LISTEN_CONTROL = 2 };

struct graft__metrics;

typedef struct graft__engine_config {
    graft__http1_limits limits;
    uint64_t max_body;          /* 0: unlimited; larger bodies get 413 */
    double timeout_keep_alive;  /* idle seconds between requests */
    double timeout_header;      /* seconds to receive a whole request head */
    double timeout_body;        /* idle seconds while the app waits for body bytes */
    double timeout_send;        /* seconds pending output may make no progress before a close */
    /* Lingering close (after our answer, with the write side shut, input is read and
     * discarded so the client can finish sending and read the answer, rather than get a
     * reset): at most this many seconds in all, this many without data, this many bytes.
     * 0 picks the default (GRAFT__DEFAULT_TIMEOUT_LINGER, _LINGER_IDLE, _LIMIT_LINGER: 30 s,
     * 5 s, 64 MiB, as nginx's lingering_time/lingering_timeout). */
    double timeout_linger;
    double timeout_linger_idle;
    uint64_t max_linger;
    int threads;                /* I/O threads, >= 1 */
    int limit_concurrency;      /* 0: none; else 503 beyond this many connections or requests */
    const int *listen_fds;      /* listening sockets, already bound and listening */
    int n_listen;               /* at most GRAFT__MAX_LISTENERS */
    int listen_unix;            /* listeners are AF_UNIX (no client/server address) */
    /* Pre-serialised default response headers ("server: graft\r\n..."), appended after Date. */
    const char *default_headers;
    size_t default_headers_len;
    int date_header;            /* emit Date */
    /* Called on each I/O thread after every batch of events, with no lock held (native
     * handlers queued by deliver run there). NULL for none. */
    void (*after_batch)(void *ud);
    graft__ws_config ws;        /* WebSocket settings; ws.enabled 0 treats upgrades as HTTP */
    /* The embedder's thread polls the connections itself (graft__engine_poll) while it is
     * idle, and I/O threads stand by; one takes over when the embedder stops polling while
     * events wait (it is busy), until graft__engine_reclaim. 0: I/O threads always poll. */
    int external_poll;
    /* Per listener, GRAFT__LISTEN_*; NULL: every listener serves the app. A control listener
     * must be AF_UNIX: its connections are closed unless the peer (SO_PEERCRED) runs as this
     * process's effective uid or as root. */
    const int *listen_kinds;
    /* Answers a request on an admin listener, on the poller under the connection lock (so
     * through graft__req_respond_locked), and releases the reference it is given. */
    void (*admin)(void *admin_ud, graft__req *r, int kind);
    void *admin_ud;
    /* Where completed responses and open connections are counted (shared.h); NULL: nothing
     * is recorded, not even the request's start time. The embedder owns it. */
    struct graft__metrics *metrics;
    /* Stamp every app request's arrival (t_start_ns) even without metrics: an access-log
     * format with a duration atom needs it. 0: no clock read per request. */
    int stamp_start;
    /* --health-path: a request on an app listener whose path is exactly this (the query is
     * ignored) is answered by the engine itself, on the poller: 200 "ok" while serving,
     * 503 "draining" once the graceful shutdown began (a load balancer then takes this
     * worker out before it is gone). NULL or "": no such path, nothing is compared. The
     * engine keeps a copy. */
    const char *health_path;
    /* TLS on the app listeners (tls.h; admin listeners stay plain); NULL: plain. The
     * embedder owns it and frees it after graft__engine_free; it may reload it meanwhile. */
    struct graft__tls *tls;
} graft__engine_config;

/* Creates an engine; *out is set on success. Returns 0 or a negative errno (-EINVAL for a
 * thread count outside 1..256 or more than GRAFT__MAX_LISTENERS listeners). */
int graft__engine_new(const graft__engine_config *cfg, graft__deliver_fn deliver, void *ud,
                      graft__engine **out);
/* Starts the I/O threads. Returns 0 or a negative errno (nothing started then). */
int graft__engine_start(graft__engine *e);
/* Stops accepting: listeners leave every epoll set and are closed by the engine. The engine
 * has one draining state, so this also begins the graceful shutdown below: there is no
 * "stop accepting but keep serving keep-alive connections". */
void graft__engine_stop_accepting(graft__engine *e);
/* Begins a graceful shutdown: listeners close as above, idle connections close now, busy
 * ones after their response, and requests waiting for nothing but disconnect are told so.
 * After graft__engine_stop_accepting it changes nothing; it names the embedder's intent. */
void graft__engine_shutdown(graft__engine *e);
/* Force-disconnects every in-flight request (graceful timeout expired). */
void graft__engine_abort(graft__engine *e);
/* External polling (cfg.external_poll), from the embedder's thread only.
 *
 * The fd that becomes readable when I/O thread i's connections have events; watch it
 * with the embedder's own event loop and call graft__engine_poll when it is. */
int graft__engine_poll_fd(graft__engine *e, int i);
/* Handles I/O thread i's ready events without blocking: requests are delivered, and native
 * handlers run, on the calling thread. Returns the number of events, or -EBUSY once the
 * I/O thread has taken over (stop watching the fd until graft__engine_reclaim). */
int graft__engine_poll(graft__engine *e, int i);
/* Takes I/O thread i's connections back after a takeover; watch the fd again afterwards.
 * Returns 1 if the I/O thread had them, 0 if the embedder still did, -EINVAL without
 * external polling. */
int graft__engine_reclaim(graft__engine *e, int i);
/* Marks the embedder as inside code that may run long (+1) or back out of it (-1); a
 * watchdog keeps checking for a stalled embedder only while this count is positive. */
void graft__engine_busy(graft__engine *e, int delta);
/* File responses sent over TLS so far: with kernel TLS (SSL_sendfile) and read and encrypted
 * by graft (no kernel TLS); for the log and the tests. */
void graft__engine_tls_files(graft__engine *e, long *ktls, long *copied);
/* Open connections, for shutdown progress and limits. */
long graft__engine_connections(graft__engine *e);
/* Stops the threads, closes every connection and frees the engine. */
void graft__engine_free(graft__engine *e);

#endif
