/* Engine internals of TLS (not for embedders): the reference-counted context version and the
 * transport every connection's I/O goes through (tls_io.c). */
#ifndef GRAFT__TLS_CTX_H
#define GRAFT__TLS_CTX_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "tls.h"

struct ssl_ctx_st;

/* One version of the server context: what a reload replaces. */
typedef struct graft__tls_ctx {
    struct ssl_ctx_st *ctx;
    char *cert_pem; /* the certificate's PEM, the TLS extension's server_cert */
    atomic_int refs;
} graft__tls_ctx;

/* tls.c: a new reference to t's current context (any thread). */
graft__tls_ctx *graft__tls_current(graft__tls *t);
/* tls.c: drops a reference; the last frees the SSL_CTX (NULL is a no-op). */
void graft__tls_ctx_release(graft__tls_ctx *x);

struct graft__conn;

/* tls_io.c: the transport. Every call runs under c->mu (the poller's reads included), so one
 * SSL object is never used by two threads at once. Plain connections use read/writev/
 * sendfile; TLS ones SSL_read/SSL_write (and SSL_sendfile under kernel TLS). */

/* Starts TLS on a freshly accepted connection (server side, handshake driven by the first
 * reads). Returns 0 or a negative errno. */
int graft__io_tls_start(struct graft__conn *c, graft__tls *t);
/* Reads up to n bytes: > 0 bytes, 0 at EOF (or a failed handshake / TLS error), -EAGAIN
 * when nothing is ready (c->tls_want_write says the read waits for writability). */
ssize_t graft__io_read(struct graft__conn *c, void *buf, size_t n);
/* Writes what the socket takes of iov (TLS: coalesced into one record when small): bytes
 * written (possibly fewer), -EAGAIN, or another negative errno when the connection broke. */
ssize_t graft__io_writev(struct graft__conn *c, const struct iovec *iov, int iovcnt);
/* Sends c->file_fd from file_off (plain: sendfile; TLS: SSL_sendfile under kernel TLS,
 * else pread into c->out, bounded, written by the caller's flush). Returns 0 when all was
 * sent or queued, 1 when the socket is full, -1 on error. */
int graft__io_sendfile(struct graft__conn *c);
/* Whether decrypted input waits inside the TLS layer (the socket may be empty). */
int graft__io_pending(const struct graft__conn *c);
/* Our side is done: TLS close_notify (best effort, never blocking), then shutdown(SHUT_WR). */
void graft__io_shutdown_wr(struct graft__conn *c);
/* Before close(fd): close_notify when the session is healthy, then the SSL object is freed
 * (the connection's TLS facts stay, for requests still held). */
void graft__io_close(struct graft__conn *c);
/* Frees c's TLS facts and context reference, with its memory. */
void graft__io_free(struct graft__conn *c);
/* Fills c's TLS facts once, after the handshake (on the poller, before its first request
 * is delivered). */
void graft__io_tls_info(struct graft__conn *c);

#endif
