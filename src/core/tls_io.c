/* The connection transport: plain syscalls or OpenSSL. Everything runs under c->mu, which
 * writers from any thread and the poller's reads both hold, so an SSL object is never used
 * by two threads at once. OpenSSL's error queue is per thread: every call starts with it
 * clear, so SSL_get_error sees only its own failure. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conn.h"
#include "tls_ctx.h"

/* Bytes of a writev coalesced into one SSL_write: head and body of a small response become
 * one TLS record (16 KiB is the record limit). */
#define COALESCE_MAX 16384
/* A file over TLS without kernel TLS is read in pieces this large into the output queue. */
#define FILE_CHUNK (64 * 1024)

/* SSL_get_error needs this thread's error queue empty before the call; failures here clear
 * it after themselves, so it is almost always empty already: peeking is cheaper than
 * clearing every slot on every read and write. */
static inline void clear_errors(void)
{
    if (ERR_peek_error())
        ERR_clear_error();
}

int graft__io_tls_start(graft__conn *c, graft__tls *t)
{
    c->tctx = graft__tls_current(t);
    SSL *s = SSL_new(c->tctx->ctx);
    if (!s || !SSL_set_fd(s, c->fd)) {
        SSL_free(s);
        return -ENOMEM;
    }
    SSL_set_accept_state(s);
    c->ssl = s;
    return 0;
}

/* Maps an SSL_read/SSL_write failure: -EAGAIN (wait; want_write set when it waits for
 * writability) or -EPIPE (the session is dead: never call SSL_shutdown on it). */
static ssize_t tls_fail(graft__conn *c, int rc, int reading)
{
    int e = SSL_get_error(c->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (reading)
            c->tls_want_write = e == SSL_ERROR_WANT_WRITE;
        return -EAGAIN;
    }
    if (e == SSL_ERROR_ZERO_RETURN) /* the peer's close_notify: a clean EOF; no write gets through */
        return reading ? 0 : -EPIPE;
    c->tls_dead = 1;
    ERR_clear_error();
    return reading ? 0 : -EPIPE;
}

ssize_t graft__io_read(graft__conn *c, void *buf, size_t n)
{
    if (c->closed)
        return 0;
    if (!c->ssl) {
        for (;;) {
            ssize_t r = read(c->fd, buf, n);
            if (r >= 0)
                return r;
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? -EAGAIN : 0;
        }
    }
    if (c->tls_dead)
        return 0;
    clear_errors();
    c->tls_want_write = 0;
    size_t got = 0;
    int rc = SSL_read_ex(c->ssl, buf, n, &got);
    if (rc == 1)
        return (ssize_t)got;
    return tls_fail(c, rc, 1);
}

static ssize_t tls_write(graft__conn *c, const void *p, size_t n)
{
    if (c->tls_dead)
        return -EPIPE;
    clear_errors();
    size_t done = 0;
    int rc = SSL_write_ex(c->ssl, p, n, &done);
    if (rc == 1)
        return (ssize_t)done;
    return tls_fail(c, rc, 0);
}

ssize_t graft__io_writev(graft__conn *c, const struct iovec *iov, int iovcnt)
{
    if (c->closed)
        return -EPIPE; /* the fd may already be another connection's */
    if (!c->ssl) {
        for (;;) {
            ssize_t r = iovcnt == 1 ? write(c->fd, iov[0].iov_base, iov[0].iov_len)
                                    : writev(c->fd, iov, iovcnt);
            if (r >= 0)
                return r;
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? -EAGAIN : -EPIPE;
        }
    }
    /* Small pieces are gathered into full records (a response's head and the start of its
     * body leave as one record); a large piece is written as it is. A partial write stops:
     * the caller queues the rest, so a retry starts with the same bytes, as OpenSSL requires. */
    size_t done = 0, off = 0;
    int i = 0;
    char tmp[COALESCE_MAX];
    while (i < iovcnt) {
        size_t rem = iov[i].iov_len - off;
        if (rem == 0) {
            i++;
            off = 0;
            continue;
        }
        const char *p = (const char *)iov[i].iov_base + off;
        size_t n = rem;
        if (rem < COALESCE_MAX && i + 1 < iovcnt) {
            size_t o = 0, jo = off;
            for (int j = i; j < iovcnt && o < COALESCE_MAX;) {
                size_t take = iov[j].iov_len - jo;
                if (take > COALESCE_MAX - o)
                    take = COALESCE_MAX - o;
                memcpy(tmp + o, (const char *)iov[j].iov_base + jo, take);
                o += take;
                jo += take;
                if (jo == iov[j].iov_len) {
                    j++;
                    jo = 0;
                }
            }
            p = tmp;
            n = o;
        }
        ssize_t r = tls_write(c, p, n);
        if (r < 0)
            return done ? (ssize_t)done : r;
        done += (size_t)r;
        for (size_t adv = (size_t)r; adv;) {
            size_t left = iov[i].iov_len - off;
            if (adv < left) {
                off += adv;
                break;
            }
            adv -= left;
            i++;
            off = 0;
        }
        if ((size_t)r < n)
            break; /* the socket is full */
    }
    return (ssize_t)done;
}

int graft__io_sendfile(graft__conn *c)
{
    if (c->ssl && !c->ktls_send) {
        /* No kernel TLS: the file goes through the output queue a chunk at a time (the
         * caller flushes it and calls again), so the queue never holds more than one chunk. */
        if (graft__buf_avail(&c->out))
            return 0;
        size_t want = c->file_left > FILE_CHUNK ? FILE_CHUNK : (size_t)c->file_left;
        if (graft__buf_reserve(&c->out, want) < 0)
            return -1;
        ssize_t n;
        do
            n = pread(c->file_fd, c->out.data + c->out.len, want, (off_t)c->file_off);
        while (n < 0 && errno == EINTR);
        if (n <= 0)
            return -1; /* the file shrank under us (or failed): the framing is broken */
        c->out.len += (size_t)n;
        c->file_off += (uint64_t)n;
        c->file_left -= (uint64_t)n;
        return 0;
    }
    while (c->file_left) {
        size_t want = c->file_left > (1u << 30) ? (1u << 30) : (size_t)c->file_left;
        ssize_t n;
        if (c->ssl) {
            if (c->tls_dead)
                return -1;
            clear_errors();
            n = SSL_sendfile(c->ssl, c->file_fd, (off_t)c->file_off, want, 0);
            if (n < 0) {
                int e = SSL_get_error(c->ssl, (int)n);
                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
                    return 1;
                c->tls_dead = 1;
                ERR_clear_error();
                return -1;
            }
        } else {
            off_t off = (off_t)c->file_off;
            n = sendfile(c->fd, c->file_fd, &off, want);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return errno == EAGAIN ? 1 : -1;
            }
        }
        if (n == 0)
            return -1; /* the file shrank under us: the framing is broken */
        c->file_off += (uint64_t)n;
        c->file_left -= (uint64_t)n;
        c->sent += (uint64_t)n;
    }
    return 0;
}

int graft__io_pending(const graft__conn *c) { return c->ssl && SSL_pending(c->ssl) > 0; }

/* close_notify, best effort: once, on a healthy, established session, never waiting. */
static void notify(graft__conn *c)
{
    if (!c->ssl || c->tls_dead || c->tls_notified || !SSL_is_init_finished(c->ssl))
        return;
    c->tls_notified = 1;
    clear_errors();
    if (SSL_shutdown(c->ssl) < 0)
        ERR_clear_error();
}

void graft__io_shutdown_wr(graft__conn *c)
{
    notify(c);
    shutdown(c->fd, SHUT_WR);
}

void graft__io_close(graft__conn *c)
{
    if (!c->ssl)
        return;
    notify(c);
    SSL_free(c->ssl);
    c->ssl = NULL;
}

void graft__io_free(graft__conn *c)
{
    graft__tls_info *i = c->tls;
    if (i) {
        free(i->client_name);
        free(i->client_error);
        for (size_t k = 0; k < i->n_client_chain; k++)
            free(i->client_chain[k]);
        free(i->client_chain);
        free(i);
    }
    graft__tls_ctx_release(c->tctx);
}

/* The memory BIO's text as a NUL-terminated malloc'd string (NULL on failure), b freed. */
static char *bio_text(BIO *b, int ok)
{
    char *out = NULL;
    if (b && ok) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        if ((out = malloc((size_t)n + 1))) {
            memcpy(out, p, (size_t)n);
            out[n] = '\0';
        }
    }
    BIO_free(b);
    return out;
}

static char *pem_of(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    return bio_text(b, b && PEM_write_bio_X509(b, x));
}

static char *subject_rfc4514(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    /* RFC 2253 order and escaping is RFC 4514's string form. */
    unsigned long flags = (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT;
    return bio_text(b, b && X509_NAME_print_ex(b, X509_get_subject_name(x), 0, flags) >= 0);
}

void graft__io_tls_info(graft__conn *c)
{
    if (!c->ssl || c->tls)
        return;
    graft__tls_info *i = calloc(1, sizeof *i);
    if (!i)
        return; /* the request then reports no TLS facts rather than failing */
    i->version = SSL_version(c->ssl);
    const SSL_CIPHER *ci = SSL_get_current_cipher(c->ssl);
    i->cipher = ci ? (int)SSL_CIPHER_get_protocol_id(ci) : 0;
    i->server_cert = c->tctx->cert_pem;
    c->ktls_send = BIO_get_ktls_send(SSL_get_wbio(c->ssl)) ? 1 : 0;
    i->sendfile_ktls = c->ktls_send;
    X509 *peer = SSL_get1_peer_certificate(c->ssl);
    if (peer) {
        i->client_name = subject_rfc4514(peer);
        long v = SSL_get_verify_result(c->ssl);
        if (v != X509_V_OK)
            i->client_error = strdup(X509_verify_cert_error_string(v));
        /* The peer's own certificate first, then what else it sent (whether the chain holds
         * the leaf on the server side has varied between OpenSSL versions: skip it). */
        STACK_OF(X509) *chain = SSL_get_peer_cert_chain(c->ssl);
        int n = chain ? sk_X509_num(chain) : 0;
        i->client_chain = calloc((size_t)n + 1, sizeof *i->client_chain);
        if (i->client_chain) {
            i->client_chain[i->n_client_chain] = pem_of(peer);
            if (i->client_chain[i->n_client_chain])
                i->n_client_chain++;
            for (int k = 0; k < n; k++) {
                if (X509_cmp(sk_X509_value(chain, k), peer) == 0)
                    continue;
                char *p = pem_of(sk_X509_value(chain, k));
                if (p)
                    i->client_chain[i->n_client_chain++] = p;
            }
        }
        X509_free(peer);
    }
    c->tls = i;
}

const graft__tls_info *graft__req_tls(const graft__req *r) { return r->conn ? r->conn->tls : NULL; }
