/* A request as the embedder sees it. Fields above `shared` are immutable after
 * delivery and may be read from any thread without locking. */
#ifndef GRAFT__REQ_H
#define GRAFT__REQ_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "buf.h"
#include "http1.h"
#include "response.h"

struct graft__conn;

typedef struct graft__req {
    /* Immutable after delivery. One allocation holds the struct, the headers
     * array and a copy of the head; it is freed in one go. */
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    const char *path; /* raw path, still percent-encoded */
    size_t path_len;
    const char *query;
    size_t query_len;
    graft__header *headers;
    size_t num_headers;
    int minor_version;
    unsigned is_head : 1;
    unsigned expect_continue : 1;
    unsigned has_body : 1;
    unsigned keep_alive : 1; /* the client allows another request on this connection */
    unsigned websocket : 1;  /* a valid WebSocket handshake (ws_offer holds its details) */
    uint64_t content_length; /* declared Content-Length; 0 when none, or chunked */
    struct graft__ws_offer *ws_offer;
    char client_ip[48];
    int client_port; /* -1 for AF_UNIX */
    char server_ip[48];
    int server_port;
    void *app_data; /* the embedder's object; owned by the embedder */
    /* The native layer's request while a native handler owns it: written under the
     * connection lock (graft__req_lock), because deliver reads it. */
    void *native;
    /* An observer of the exchange (tap.h), set before the request reaches the embedder that
     * answers it; released with the request. */
    struct graft__tap *tap;
    int status;     /* response status, for the access log and the metrics */
    /* Body bytes a native handler sent (heads and chunk framing not counted), for
     * --access-log-format's %(b)s; written by the responder before it completes the request. */
    uint64_t body_sent;
    /* Metrics labels (shared.h), set by whoever produces the response before its final
     * write, read by the engine when that write completes it (graft__metrics_request): the
     * route template (NULL: "other"; the pointer need only live until the final write
     * returns), who answered (GRAFT__BY_*; 0 is the app), and the arrival time in monotonic
     * ns, stamped by the engine when metrics are on or cfg.stamp_start asks (0 otherwise). */
    const char *route_label;
    unsigned char answered_by;
    uint64_t t_start_ns;

    /* Shared with the I/O thread: touched only under the connection lock. */
    struct graft__conn *conn;
    graft__buf body;              /* received body bytes not yet taken */
    unsigned body_done : 1;       /* the whole body has arrived */
    unsigned shutdown : 1;        /* server shutting down: disconnect once the body is taken */
    unsigned aborted : 1;         /* server gave up on the request: writes fail */
    unsigned receive_waiting : 1; /* deliver BODY/DISCONNECT when something happens */
    unsigned send_waiting : 1;    /* deliver WRITABLE when output drains */
    unsigned continue_sent : 1;
    unsigned collect_body : 1;     /* buffer the whole body (native whole-body routes): no 64 KiB pause */
    unsigned response_done : 1;
    /* Written only under the connection lock, like the bits above, but also
     * read without it by the bridge's send() and at the app's end. Adjacent
     * bitfields are one memory location, so such a read would race with the
     * poller setting any bit above; these flags are atomics of their own
     * instead. Unlocked readers use relaxed loads (a plain load on x86 and
     * arm64): nothing is published through them, response_started is set
     * only by the thread that reads it, and a stale client_gone is caught by
     * the next locked call. */
    atomic_bool client_gone;      /* read EOF, write error or reset */
    atomic_bool response_started; /* some response bytes were written */
    atomic_int refs;
} graft__req;

/* Takes the received body bytes into out (appending). Sets *more to 1 while
 * body bytes are still expected and *gone when the client left or the server
 * is shutting down. Sends 100 Continue first when the client asked for it.
 * When nothing is available and more is expected, arms receive_waiting so a
 * BODY or DISCONNECT event follows. Returns 0 or a negative errno. */
int graft__req_take_body(graft__req *r, graft__buf *out, int *more, int *gone);

/* Arms a DISCONNECT event for an app that waits for nothing but the end of
 * the exchange. Returns 1 (and arms nothing) when the client is already gone
 * or the server is shutting down, else 0. */
int graft__req_wait_disconnect(graft__req *r);

/* Output queue marks: above HIGH a writer is asked to wait; WRITABLE comes below LOW. */
#define GRAFT__OUT_HIGH (256 * 1024)
#define GRAFT__OUT_LOW (64 * 1024)

enum {
    GRAFT__W_FINAL = 1, /* the response is complete after these bytes */
    GRAFT__W_CLOSE = 2, /* close the connection after the response */
    /* Fail with -EPIPE once the engine has seen the client leave (read EOF, reset), even
     * while the kernel would still take the bytes: the ASGI bridge's send() then raises at
     * once (uvicorn stops writing at EOF too). Without it a half-closed client that still
     * reads gets its response. */
    GRAFT__W_LIVE = 4,
};

/* Writes response bytes now, queueing what the socket does not take. Returns 0,
 * 1 when the queue is above the high-water mark (a WRITABLE event follows; the
 * caller should wait for it), or -EPIPE when the client is gone (nothing was
 * written, and no event follows). Safe from any thread. */
int graft__req_write(graft__req *r, const struct iovec *iov, int iovcnt, int flags);

/* Under the lock (an admin handler, from deliver's place). Answers r completely: status,
 * content-type ctype, the len bytes of body (none for HEAD), framed by the response writer
 * with the engine's default headers. Returns 0, -EPIPE (closed) or -ENOMEM. */
int graft__req_respond_locked(graft__req *r, int status, const char *ctype, const char *body,
                              size_t len);

/* Sends head bytes then count bytes of fd from off (sendfile), completing the
 * response. Takes ownership of fd in every case. Returns 0 or -EPIPE. */
int graft__req_sendfile(graft__req *r, const struct iovec *head, int headcnt, int fd,
                        uint64_t off, uint64_t count, int flags);


/* Appends the head of r's response to out (the protocol's wire format; HTTP/1.x today) with
 * the engine's part: Date, its default headers, and its keep-alive verdict ANDed with
 * resp->keep_alive (minor_version and is_head are taken from r). Reports the framing the
 * body must follow in *d. Safe from any thread. Returns 0 or -ENOMEM (out unchanged). */
int graft__req_response_head(graft__req *r, const graft__response *resp, graft__buf *out,
                             graft__response_decision *d);

/* Whether nobody can receive this request's response any more: the client left (EOF,
 * reset, write error, send timeout) or the server gave up on it. */
int graft__req_gone(graft__req *r);

/* Drops one reference; the last one frees the request. */
void graft__req_release(graft__req *r);

/* Whether the client is out of reach through this request's connection: it left, the server
 * gave up on the request, or the connection closed. Unlike graft__req_gone this stays 1 once
 * the connection closed after the response completed (a WebSocket, a finished stream). */
int graft__req_closed(graft__req *r);

/* Response bytes queued for the client and not yet written (a file being sent not counted). */
size_t graft__req_queued(graft__req *r);

/* Puts the bytes of b back in front of the body bytes the engine holds, so the next taker
 * reads the body unchanged, and ends graft__req_collect_body_locked's collecting; b is left
 * empty. Nothing happens when b holds no bytes. Returns 0, or -ENOMEM (nothing changed). */
int graft__req_unread_body(graft__req *r, graft__buf *b);

/* The connection lock, which deliver runs under.
 *
 * Decision (issue 12): an embedder's per-request state that deliver reads and other threads
 * change lives under this lock, rather than under a lock of the embedder's own, which deliver
 * could only take nested inside this one (every other path would have to nest it the same
 * way, or deadlock). The native layer keeps its request pointer (`native`) and its armed
 * WRITABLE callback there. Hold it briefly, around the embedder's own fields and the
 * *_locked calls below only: every other graft__req_* call takes it itself (it is not
 * recursive), and deliver already holds it. */
void graft__req_lock(graft__req *r);
void graft__req_unlock(graft__req *r);

/* Under the lock (deliver holds it). Parks the request until its whole body has arrived: the
 * body is buffered whole (no 64 KiB read pause; the caller bounds it), 100 Continue goes out
 * when the client waits for it, and a BODY or DISCONNECT event is armed, the body timeout
 * running meanwhile. Call it again from a BODY event to wait for the rest. */
void graft__req_collect_body_locked(graft__req *r);

/* Under the lock. Arms a WRITABLE event for when queued output drains below GRAFT__OUT_LOW
 * (at once when it already is), or DISCONNECT if the client leaves first. Returns 0, or
 * -EPIPE when no event would ever come: the connection closed, the client left, the request
 * was aborted or its response is complete. */
int graft__req_want_writable_locked(graft__req *r);

#endif
