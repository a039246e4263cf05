/* Engine internals: I/O threads and connections (not for embedders). */
#ifndef GRAFT__CONN_H
#define GRAFT__CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "buf.h"
#include "engine.h"
#include "http1.h"
#include "req.h"
#include "response.h"
#include "shared.h"
#include "tls_ctx.h"

typedef struct graft__iothread graft__iothread;

/* Body bytes buffered for the app before reading pauses (uvicorn uses 64 KiB too). */
#define GRAFT__BODY_HIGH (64 * 1024)
/* Pipelined input buffered while a response is pending before reading pauses. */
#define GRAFT__PIPELINE_MAX (64 * 1024)
/* Unread request body we are willing to read and discard to keep a connection. */
#define GRAFT__DRAIN_MAX (1024 * 1024)
/* Bytes read per read(2); also the size of each I/O thread's shared read buffer. */
#define GRAFT__READ_CHUNK 16384

enum graft__body_mode { GRAFT__BODY_NONE, GRAFT__BODY_LENGTH, GRAFT__BODY_CHUNKED };

typedef struct graft__conn {
    pthread_mutex_t mu;
    atomic_int refs; /* the I/O thread's while open + one per request/queued use */
    int fd;
    graft__iothread *th;
    struct graft__conn *prev, *next; /* the thread's list, I/O thread only */

    /* I/O thread only. `in` holds unparsed input between events; while an event is being
     * handled it may borrow the thread's read buffer (th->rbuf), so an idle connection owns
     * no input memory (conn.c's in_settle gives it back). */
    graft__buf in;
    int body_mode;
    uint64_t body_left;
    uint64_t body_total;   /* body bytes of the current request decoded so far (the limit) */
    graft__chunked chunked;
    int64_t head_started_ms; /* first byte of the current head, 0 when none */
    unsigned requests;

    /* Under mu. */
    graft__buf out;
    struct graft__ws_state *ws; /* set once the connection is a WebSocket */
    int file_fd;           /* file being sent after `out`, -1 when none (owned) */
    uint64_t file_off, file_left;
    graft__req *req;       /* request whose response is pending */
    uint32_t events;       /* current epoll interest */
    int64_t idle_since_ms; /* keep-alive idle start, 0 when busy */
    int64_t body_wait_ms;  /* when the app began waiting for body bytes, 0 when not */
    unsigned closed : 1;   /* fd closed; writes fail */
    unsigned want_close : 1;
    unsigned read_eof : 1;
    unsigned kicked : 1;   /* EPOLLOUT armed only to wake the I/O thread */
    unsigned lingering : 1; /* write side shut, discarding input until EOF or timeout */
    unsigned no_more_input : 1; /* a framing error or close: never parse another request */
    int64_t linger_until_ms;  /* lingering ends then at the latest */
    int64_t linger_data_ms;   /* input last arrived while lingering */
    uint64_t lingered;        /* bytes discarded while lingering */
    uint64_t drained;      /* body bytes discarded after the response completed */
    uint64_t sent;         /* bytes written to the socket (progress for the send timeout) */
    uint64_t sweep_sent;   /* `sent` when the sweep last saw progress */
    int64_t stall_since_ms; /* output pending without progress since, 0 when none pending */
    char client_ip[48];
    int client_port;
    char server_ip[48];
    int server_port;
    int kind; /* GRAFT__LISTEN_* of the listener that accepted it */
    /* TLS (tls_io.c), under mu: the session (NULL on a plain connection, and once closed),
     * the context version it was accepted with, and its facts once the handshake is done. */
    struct ssl_st *ssl;
    graft__tls_ctx *tctx;
    graft__tls_info *tls;
    unsigned tls_want_write : 1; /* the last read waits for writability (handshake output) */
    unsigned tls_dead : 1;       /* a fatal TLS error: no more SSL calls but SSL_free */
    unsigned tls_notified : 1;   /* close_notify sent */
    unsigned tls_more : 1;       /* reading paused with decrypted input still inside OpenSSL */
    unsigned ktls_send : 1;      /* the kernel encrypts what we send (SSL_sendfile) */
} graft__conn;

/* Who waits on an I/O thread's epoll set: the thread itself, or the embedder's
 * thread (cfg.external_poll) while the I/O thread stands by (handoff.c). */
enum { GRAFT__OWNER_IO = 0, GRAFT__OWNER_EXT = 1 };
/* epoll data of the standby set's two fds. */
enum { GRAFT__STANDBY_WAKE = 1, GRAFT__STANDBY_WATCH = 2 };

struct graft__iothread {
    graft__engine *e;
    pthread_t tid;
    int epfd;
    int wakefd; /* eventfd: stop / shutdown requests */
    /* Everything below, and every connection's I/O-thread-only state, is touched only by
     * the thread holding pollmu. Events are fetched from epfd only under pollmu by the
     * embedder, and used by the I/O thread only if it still owns epfd once it has the lock,
     * so no thread ever acts on an event for a connection another poller has freed. */
    pthread_mutex_t pollmu;
    atomic_int owner;       /* GRAFT__OWNER_*, written under pollmu */
    int standby_fd;         /* epoll over wakefd and watch_fd: the I/O thread's wait in standby */
    int watch_fd;           /* timerfd: the watchdog that notices a busy embedder */
    atomic_uint ext_polls;  /* bumped by every external poll */
    unsigned seen_polls;    /* ext_polls at the watchdog's last look */
    int suspect;            /* the last look found events waiting for a stalled embedder */
    int64_t watch_ns;       /* the watchdog's current period (handoff.c) */
    int64_t watch_until_ns; /* embedder's view of when the watchdog fires (under pollmu) */
    int listening;
    int64_t next_sweep;
    graft__conn *conns; /* list head */
    long nconns;
    graft__conn **closing; /* closed this iteration; refs dropped after the batch */
    size_t nclosing, capclosing;
    graft__header *hdrs;   /* scratch for the parser */
    char *rbuf;            /* GRAFT__READ_CHUNK bytes lent to the connection being read */
    int64_t accept_resume_ms; /* listeners paused (out of fds) until then, 0 when listening */
};

struct graft__engine {
    graft__engine_config cfg;
    char *default_headers;
    char *health_path;      /* engine's copy of cfg.health_path; NULL without one */
    size_t health_path_len;
    graft__deliver_fn deliver;
    void *ud;
    graft__iothread *threads;
    int nthreads;
    int *listen_fds;
    int *listen_kinds; /* GRAFT__LISTEN_* per listener (engine's copy) */
    atomic_int stopping;  /* threads exit */
    atomic_int draining;  /* graceful shutdown: no keep-alive, no accepts */
    atomic_int aborting;
    atomic_int listeners_removed;
    atomic_long connections;
    atomic_long inflight;
    atomic_int accept_logged; /* an out-of-descriptors episode was logged (any thread's) */
    atomic_int ext_busy;  /* the embedder is inside code that may block (a hint, handoff.c) */
    atomic_long tls_files_ktls, tls_files_copied; /* file responses over TLS, by path */
    pthread_mutex_t listen_mu;
};

/* iothread.c: monotonic milliseconds from the coarse clock, for timeouts. */
int64_t graft__now_ms(void);

/* iothread.c: handles one batch of events (caller holds th->pollmu). */
void graft__iothread_handle(graft__iothread *th, const struct epoll_event *evs, int n);
/* handoff.c: the standby I/O thread's look at the embedder (under pollmu); 1 if it took over. */
int graft__handoff_watch(graft__iothread *th, int fired);
/* iothread.c: accept(2) ran out of a resource (err: EMFILE, ENFILE, ENOBUFS, ENOMEM):
 * the thread's listeners leave its epoll set for a while, so a poll does not spin on a
 * connection that cannot be taken; logged once per episode. */
void graft__iothread_pause_accept(graft__iothread *th, int err);
/* iothread.c: an accept succeeded (ends the episode). */
static inline void graft__iothread_accepted(graft__iothread *th)
{
    if (atomic_load_explicit(&th->e->accept_logged, memory_order_relaxed))
        atomic_store_explicit(&th->e->accept_logged, 0, memory_order_relaxed);
}
/* handoff.c: creates the standby epoll set and the watchdog timer. */
int graft__handoff_init(graft__iothread *th);
/* iothread.c: sets up th's epoll set, wake fd, listeners and scratch buffers (the engine
 * calls it once per thread before starting any). Returns 0 or a negative errno; what was
 * made is undone by graft__iothread_destroy either way. */
int graft__iothread_init(graft__iothread *th, graft__engine *e);
/* iothread.c: the thread's body (pthread_create's start routine; arg is the iothread). */
void *graft__iothread_main(void *arg);
/* iothread.c: makes th look at the engine's flags (stopping, draining, aborting); any thread. */
void graft__iothread_wake(graft__iothread *th);
/* iothread.c: closes th's fds and frees its buffers, after its thread has been joined. */
void graft__iothread_destroy(graft__iothread *th);

/* Output not yet on the wire (buffer or file). */
static inline int graft__conn_pending(const graft__conn *c)
{
    return graft__buf_avail(&c->out) || c->file_fd >= 0;
}

/* No new request may start on c: a file is still being sent (the next response would
 * overtake it) or queued output is above the high-water mark (a client that pipelines and
 * never reads would otherwise grow the server without bound). */
static inline int graft__conn_out_busy(const graft__conn *c)
{
    return c->file_fd >= 0 || graft__buf_avail(&c->out) > GRAFT__OUT_HIGH;
}

/* conn.c */
/* Accepts what listener lfd has pending (a bounded batch) onto th (I/O thread). */
void graft__conn_accept(graft__iothread *th, int lfd, int kind);
/* Handles c's epoll events: writes, reads, parses, and closes or lingers (I/O thread). */
void graft__conn_on_events(graft__conn *c, uint32_t events);
/* Applies c's timeouts (head, keep-alive, body, send, linger) at time now (I/O thread). */
void graft__conn_sweep(graft__conn *c, int64_t now);
/* Graceful shutdown of c (abort 0: close when idle, else after the response) or an abort
 * (close now, telling a waiting app); I/O thread. */
void graft__conn_shutdown(graft__conn *c, int abort);
/* Closes the fd and leaves the thread's list; memory goes with the last reference (I/O
 * thread, under mu). */
void graft__conn_close_locked(graft__conn *c);
/* Drops one reference; the last one frees c. */
void graft__conn_release(graft__conn *c);
/* Sets the epoll interest of c to ev (under mu). */
void graft__conn_set_events(graft__conn *c, uint32_t ev);
/* Writes a canned error response and closes (I/O thread, under mu). */
void graft__conn_fail(graft__conn *c, int status);
/* Sends what is queued (under mu). Returns 0, or -1 when the connection broke. */
int graft__conn_flush(graft__conn *c);
/* Writes now what the socket takes and queues the rest (under mu, any thread). Returns 0,
 * -EPIPE (connection broken: marked for close) or -ENOMEM. */
int graft__conn_write_locked(graft__conn *c, const struct iovec *iov, int iovcnt);
/* Wakes the I/O thread for c (under mu). */
void graft__conn_kick(graft__conn *c);
/* Like graft__conn_fail with one extra header field (NULL for none). */
void graft__conn_fail_hdr(graft__conn *c, int status, const graft__field *extra);

/* conn_input.c (I/O thread, under mu) */
/* Hands r to the embedder with event ev, giving it a new reference to r. */
void graft__conn_deliver(graft__conn *c, graft__req *r, int ev);
/* Reads what the socket has into c->in, up to the pause mark; sets read_eof at EOF or error. */
void graft__conn_read(graft__conn *c);
/* Parses heads and decodes body bytes from c->in (or WebSocket frames), delivering requests,
 * body and disconnects to the embedder. */
void graft__conn_process(graft__conn *c);
/* Sets c's epoll interest from its state: reading unless paused, writing while output waits. */
void graft__conn_update_interest(graft__conn *c);

#endif
