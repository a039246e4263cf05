/* The TLS server context: built from uvicorn's options, swapped on reload. Each version is
 * a graft__tls_ctx holding an SSL_CTX and its certificate's PEM (the ASGI extension's
 * server_cert), reference counted: the graft__tls holds the current one, every connection
 * the one it was accepted with. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls_ctx.h"

struct graft__tls {
    pthread_mutex_t mu; /* guards cur */
    graft__tls_ctx *cur;
    char *certfile, *keyfile, *password, *ca_certs, *ciphers;
    int version, cert_reqs, no_ktls;
    /* Every context version encrypts tickets with these, so sessions survive a reload (and,
     * given by the supervisor, resume on any worker). */
    unsigned char ticket_keys[GRAFT__TLS_TICKET_KEYS];
};

int graft__tls_ticket_keys(unsigned char keys[GRAFT__TLS_TICKET_KEYS])
{
    return RAND_bytes(keys, GRAFT__TLS_TICKET_KEYS) == 1 ? 0 : -EIO;
}

/* Python's ssl module's default for a server context (3.10+), which uvicorn keeps when
 * --ssl-ciphers is not given. */
static const char py_default_ciphers[] =
    "@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM";

/* err = "WHAT FILE: WHY[HINT]". WHY is the first cause in OpenSSL's queue (a system error:
 * the file is missing or unreadable; else e.g. "bad decrypt", "no start line"), not the
 * generic summary it ends with. Returns the cause's reason text for the caller's hints. */
static const char *set_err(char *err, size_t len, const char *what, const char *file, const char *hint)
{
    unsigned long e, first = 0;
    while ((e = ERR_get_error()) != 0)
        if (!first)
            first = e;
    char why[256] = "invalid";
    const char *reason = first ? ERR_reason_error_string(first) : NULL;
    if (first && ERR_GET_LIB(first) == ERR_LIB_SYS)
        snprintf(why, sizeof why, "%s", strerror(ERR_GET_REASON(first)));
    else if (reason)
        snprintf(why, sizeof why, "%s", reason);
    else if (first)
        ERR_error_string_n(first, why, sizeof why);
    snprintf(err, len, "%s %s: %s%s", what, file ? file : "(none)", why, hint ? hint : "");
    return reason ? reason : "";
}

/* A file that cannot be opened is named with its errno, before OpenSSL reports it its way. */
static int readable(const char *what, const char *file, char *err, size_t len)
{
    FILE *f = fopen(file, "re");
    if (!f) {
        snprintf(err, len, "%s %s: %s", what, file, strerror(errno));
        return 0;
    }
    fclose(f);
    return 1;
}

static int pass_cb(char *buf, int size, int rwflag, void *ud)
{
    (void)rwflag;
    const char *pw = ud;
    if (!pw)
        return 0;
    size_t n = strlen(pw);
    if (n > (size_t)size)
        n = (size_t)size;
    memcpy(buf, pw, n);
    return (int)n;
}

/* ALPN: http/1.1 only (h2 once HTTP/2 lands). A client that offers neither gets no ALPN
 * answer rather than an alert, as nginx does. */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                   unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    static const unsigned char ours[] = "\x08http/1.1";
    unsigned char *sel;
    if (SSL_select_next_proto(&sel, outlen, ours, sizeof ours - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static int set_versions(SSL_CTX *ctx, int version)
{
    int lo, hi = 0;
    switch (version) {
    case GRAFT__SSL_PROTOCOL_TLS:
    case GRAFT__SSL_PROTOCOL_TLS_SERVER:
        lo = TLS1_2_VERSION; /* Python's minimum for these */
        break;
    case GRAFT__SSL_PROTOCOL_TLSv1:
        lo = hi = TLS1_VERSION;
        break;
    case GRAFT__SSL_PROTOCOL_TLSv1_1:
        lo = hi = TLS1_1_VERSION;
        break;
    case GRAFT__SSL_PROTOCOL_TLSv1_2:
        lo = hi = TLS1_2_VERSION;
        break;
    default:
        return -1;
    }
    return SSL_CTX_set_min_proto_version(ctx, lo) && SSL_CTX_set_max_proto_version(ctx, hi) ? 0 : -1;
}

static char *cert_pem(SSL_CTX *ctx)
{
    X509 *x = SSL_CTX_get0_certificate(ctx);
    BIO *b = x ? BIO_new(BIO_s_mem()) : NULL;
    char *out = NULL;
    if (b && PEM_write_bio_X509(b, x)) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        out = malloc((size_t)n + 1);
        if (out) {
            memcpy(out, p, (size_t)n);
            out[n] = '\0';
        }
    }
    BIO_free(b);
    return out;
}

static graft__tls_ctx *build(const graft__tls *t, char *err, size_t errlen)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        set_err(err, errlen, "cannot create a TLS context", "", NULL);
        return NULL;
    }
    if (set_versions(ctx, t->version) < 0) {
        snprintf(err, errlen, "--ssl-version %d: not a server protocol graft supports "
                 "(2, 3, 4, 5 or 17, Python's ssl.PROTOCOL_* values)", t->version);
        goto fail;
    }
    /* A client that half-closes TCP after its request without close_notify (as plain HTTP
     * clients may) still gets its answer: its EOF is an EOF, not a fatal error. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (!t->no_ktls)
        SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
    /* Partial writes: a write returns once a record is out, so what the socket does not take
     * stays in the connection's output queue (bounded there) rather than inside OpenSSL; the
     * queue may move when it grows, hence the moving buffer. Released buffers (as nginx): an
     * idle keep-alive connection holds no 16 KiB record buffers, at a malloc per busy read. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    /* One read(2) takes what the socket has, not a record header and then its body. */
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"graft", 5);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
    /* const in OpenSSL's view: the macro's argument is only read */
    if (SSL_CTX_set_tlsext_ticket_keys(ctx, (void *)t->ticket_keys, GRAFT__TLS_TICKET_KEYS) != 1) {
        set_err(err, errlen, "cannot set the TLS session-ticket keys", "", NULL);
        goto fail;
    }
    if (!SSL_CTX_set_cipher_list(ctx, t->ciphers ? t->ciphers : py_default_ciphers)) {
        set_err(err, errlen, "--ssl-ciphers", t->ciphers ? t->ciphers : "(default)", NULL);
        goto fail;
    }
    SSL_CTX_set_default_passwd_cb(ctx, pass_cb);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, t->password);
    const char *keyfile = t->keyfile ? t->keyfile : t->certfile;
    if (!readable("cannot load --ssl-certfile", t->certfile, err, errlen) ||
        !readable("cannot load --ssl-keyfile", keyfile, err, errlen) ||
        (t->ca_certs && !readable("cannot load --ssl-ca-certs", t->ca_certs, err, errlen)))
        goto fail;
    if (SSL_CTX_use_certificate_chain_file(ctx, t->certfile) != 1) {
        set_err(err, errlen, "cannot load --ssl-certfile", t->certfile, " (not a PEM certificate?)");
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, keyfile, SSL_FILETYPE_PEM) != 1) {
        const char *r = set_err(err, errlen, "cannot load --ssl-keyfile", keyfile,
                                t->password ? " (wrong --ssl-keyfile-password?)"
                                            : " (not a PEM key, or encrypted: give --ssl-keyfile-password)");
        if (strstr(r, "mismatch"))
            snprintf(err, errlen, "--ssl-keyfile %s does not match --ssl-certfile %s (%s)", keyfile, t->certfile, r);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        set_err(err, errlen, "--ssl-keyfile does not match --ssl-certfile:", keyfile, NULL);
        goto fail;
    }
    if (t->ca_certs && SSL_CTX_load_verify_locations(ctx, t->ca_certs, NULL) != 1) {
        set_err(err, errlen, "cannot load --ssl-ca-certs", t->ca_certs, NULL);
        goto fail;
    }
    if (t->cert_reqs == GRAFT__SSL_CERT_REQUIRED)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    else if (t->cert_reqs == GRAFT__SSL_CERT_OPTIONAL)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    else if (t->cert_reqs != GRAFT__SSL_CERT_NONE) {
        snprintf(err, errlen, "--ssl-cert-reqs %d: expected 0 (none), 1 (optional) or 2 (required)",
                 t->cert_reqs);
        goto fail;
    }
    graft__tls_ctx *x = calloc(1, sizeof *x);
    if (!x || !(x->cert_pem = cert_pem(ctx))) {
        free(x);
        snprintf(err, errlen, "out of memory building the TLS context");
        goto fail;
    }
    x->ctx = ctx;
    atomic_init(&x->refs, 1);
    return x;
fail:
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
}

void graft__tls_ctx_release(graft__tls_ctx *x)
{
    if (!x || atomic_fetch_sub(&x->refs, 1) != 1)
        return;
    SSL_CTX_free(x->ctx);
    free(x->cert_pem);
    free(x);
}

graft__tls_ctx *graft__tls_current(graft__tls *t)
{
    pthread_mutex_lock(&t->mu);
    graft__tls_ctx *x = t->cur;
    atomic_fetch_add(&x->refs, 1);
    pthread_mutex_unlock(&t->mu);
    return x;
}

static char *dup_or_null(const char *s, int *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = 1;
    return d;
}

int graft__tls_new(const graft__tls_config *cfg, graft__tls **out, char *err, size_t errlen)
{
    if (!cfg->certfile || !cfg->certfile[0]) {
        snprintf(err, errlen, "TLS needs --ssl-certfile (--ssl-keyfile alone is not enough)");
        return -EINVAL;
    }
    graft__tls *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    int oom = 0;
    pthread_mutex_init(&t->mu, NULL);
    t->certfile = dup_or_null(cfg->certfile, &oom);
    t->keyfile = dup_or_null(cfg->keyfile && cfg->keyfile[0] ? cfg->keyfile : NULL, &oom);
    t->password = dup_or_null(cfg->password && cfg->password[0] ? cfg->password : NULL, &oom);
    t->ca_certs = dup_or_null(cfg->ca_certs && cfg->ca_certs[0] ? cfg->ca_certs : NULL, &oom);
    t->ciphers = dup_or_null(cfg->ciphers && cfg->ciphers[0] ? cfg->ciphers : NULL, &oom);
    t->version = cfg->version;
    t->cert_reqs = cfg->cert_reqs;
    t->no_ktls = cfg->no_ktls;
    if (cfg->ticket_keys)
        memcpy(t->ticket_keys, cfg->ticket_keys, GRAFT__TLS_TICKET_KEYS);
    else if (graft__tls_ticket_keys(t->ticket_keys) < 0)
        oom = 1;
    if (oom || !(t->cur = build(t, err, errlen))) {
        if (oom)
            snprintf(err, errlen, "out of memory");
        graft__tls_free(t);
        return oom ? -ENOMEM : -EINVAL;
    }
    *out = t;
    return 0;
}

int graft__tls_reload(graft__tls *t, char *err, size_t errlen)
{
    graft__tls_ctx *x = build(t, err, errlen);
    if (!x)
        return -EINVAL;
    pthread_mutex_lock(&t->mu);
    graft__tls_ctx *old = t->cur;
    t->cur = x;
    pthread_mutex_unlock(&t->mu);
    graft__tls_ctx_release(old);
    return 0;
}

void graft__tls_free(graft__tls *t)
{
    if (!t)
        return;
    graft__tls_ctx_release(t->cur);
    pthread_mutex_destroy(&t->mu);
    free(t->certfile);
    free(t->keyfile);
    if (t->password)
        OPENSSL_cleanse(t->password, strlen(t->password));
    free(t->password);
    free(t->ca_certs);
    free(t->ciphers);
    OPENSSL_cleanse(t->ticket_keys, sizeof t->ticket_keys);
    free(t);
}

void graft__tls_serial(graft__tls *t, char *buf, size_t len)
{
    buf[0] = '\0';
    graft__tls_ctx *x = graft__tls_current(t);
    X509 *c = SSL_CTX_get0_certificate(x->ctx);
    BIGNUM *bn = c ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(c), NULL) : NULL;
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    if (hex) {
        size_t i = 0;
        for (; hex[i] && i + 1 < len; i++)
            buf[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] | 0x20 : hex[i]);
        buf[i] = '\0';
    }
    OPENSSL_free(hex);
    BN_free(bn);
    graft__tls_ctx_release(x);
}

int graft__tls_kernel_ktls(void)
{
    char line[256] = "";
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "re");
    if (f) {
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        fclose(f);
    }
    char *save = NULL;
    for (char *p = strtok_r(line, " \n", &save); p; p = strtok_r(NULL, " \n", &save))
        if (strcmp(p, "tls") == 0)
            return 1;
    return 0;
}
