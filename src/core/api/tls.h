/* TLS for the engine's app listeners (OpenSSL 3): the server context an embedder builds
 * from uvicorn's --ssl-* options, its reload, and the facts a request exposes about its
 * connection's TLS session. The handshake and every TLS read and write run on the engine's
 * threads (the transport in src/core/tls_io.c); embedders never touch an SSL object. */
#ifndef GRAFT__TLS_H
#define GRAFT__TLS_H

#include <stddef.h>
#include <stdint.h>

typedef struct graft__tls graft__tls;
struct graft__req;

/* Python's ssl constants, as uvicorn's --ssl-version and --ssl-cert-reqs take them. */
#define GRAFT__SSL_PROTOCOL_TLS 2         /* also PROTOCOL_SSLv23: negotiate, TLS 1.2+ */
#define GRAFT__SSL_PROTOCOL_TLSv1 3
#define GRAFT__SSL_PROTOCOL_TLSv1_1 4
#define GRAFT__SSL_PROTOCOL_TLSv1_2 5
#define GRAFT__SSL_PROTOCOL_TLS_SERVER 17 /* uvicorn's default */
#define GRAFT__SSL_CERT_NONE 0
#define GRAFT__SSL_CERT_OPTIONAL 1
#define GRAFT__SSL_CERT_REQUIRED 2

/* What a context is built from: uvicorn's options, with its meanings. Strings may be NULL
 * (keyfile: the key is in certfile; ciphers: Python's default list). */
typedef struct graft__tls_config {
    const char *certfile;
    const char *keyfile;
    const char *password;
    const char *ca_certs;
    const char *ciphers;
    int version;   /* GRAFT__SSL_PROTOCOL_* */
    int cert_reqs; /* GRAFT__SSL_CERT_* */
    /* Session-ticket keys (GRAFT__TLS_TICKET_KEYS bytes: name, HMAC and AES keys), made once
     * by whoever forks the workers, so a session resumes on any worker; NULL: random keys of
     * this context's own (kept across its reloads). */
    const unsigned char *ticket_keys;
    /* Do not ask for kernel TLS (file responses then always go through pread + SSL_write),
     * e.g. where the kernel's TLS is distrusted; nginx makes it opt-in for that reason. */
    int no_ktls;
} graft__tls_config;

/* Bytes of session-ticket key material (OpenSSL's SSL_CTX_set_tlsext_ticket_keys). */
#define GRAFT__TLS_TICKET_KEYS 80
/* Fills keys with fresh random ticket key material. Returns 0 or -EIO. */
int graft__tls_ticket_keys(unsigned char keys[GRAFT__TLS_TICKET_KEYS]);

/* Builds a server context from cfg (the strings are copied, for reloads). Returns 0 and
 * sets *out, or a negative errno with a message naming the option and file in err (a
 * missing file, a bad key, a wrong password, a key that does not match the certificate). */
int graft__tls_new(const graft__tls_config *cfg, graft__tls **out, char *err, size_t errlen);
/* Re-reads certificate, key and CA files into a new context and makes it the one new
 * handshakes use; connections keep the context they began with (reference counted). On
 * failure the old context stays and err says why. Any thread. */
int graft__tls_reload(graft__tls *t, char *err, size_t errlen);
/* Frees t; connections still open keep their own reference to their context. */
void graft__tls_free(graft__tls *t);
/* Serial number of the current certificate as lowercase hex (for logs and tests); writes
 * "" if unknown. */
void graft__tls_serial(graft__tls *t, char *buf, size_t len);
/* Whether this kernel offers kernel TLS for sending (the `tls` ULP); probed once. */
int graft__tls_kernel_ktls(void);

/* A connection's TLS facts, filled once on its first request after the handshake and
 * immutable afterwards; it lives as long as the connection's memory (so as long as any
 * request on it). Strings are NUL-terminated. The ASGI TLS extension's fields. */
typedef struct graft__tls_info {
    int version;              /* 0x0301 .. 0x0304 (TLS 1.0 .. 1.3) */
    int cipher;               /* IANA cipher suite id */
    const char *server_cert;  /* PEM of the server certificate; "" if unknown */
    char *client_name;        /* RFC 4514 subject of the client certificate; NULL without one */
    char *client_error;       /* why the client certificate failed verification; NULL if none */
    char **client_chain;      /* PEMs, the client's certificate first */
    size_t n_client_chain;
    int sendfile_ktls;        /* the connection sends files with kernel TLS (SSL_sendfile) */
} graft__tls_info;

/* The TLS facts of r's connection; NULL for a plain connection. Any thread, no lock. */
const graft__tls_info *graft__req_tls(const struct graft__req *r);

#endif
