/* graft-serve's command line: its options, their defaults and their parsing. */
#ifndef GRAFT__SERVE_OPTS_H
#define GRAFT__SERVE_OPTS_H

#include <stddef.h>
#include <stdio.h>

#define MAX_NATIVE 64

typedef struct opts {
    const char *natives[MAX_NATIVE];
    size_t nnative;
    const char *host, *uds;
    const char *metrics, *control; /* --metrics HOST:PORT, --control PATH */
    const char *openapi;           /* --openapi FILE, read once into openapi_text */
    char *openapi_text;
    size_t openapi_len;
    const char *health_path;       /* --health-path PATH: answered by the engine */
    const char *access_format;     /* --access-log-format FORMAT (serve_alog.c); NULL: uvicorn's line */
    int workers_given; /* --workers was given (even 1): a supervisor and workers, as graft */
    int port, threads, workers, backlog, access_log, server_header, date_header, blocking;
    int fastapi_routing; /* --fastapi-routing: unrouted requests answered as FastAPI's router */
    int ws, ws_deflate, ws_queue;
    long ws_max_size;
    double ws_ping_interval, ws_ping_timeout;
    double keep_alive, graceful, header_timeout, body_timeout, send_timeout, linger, linger_idle;
    long limit_linger;
    long limit_worker_rss; /* --limit-worker-rss MiB: a worker above it is replaced; 0: none */
    long limit_line, limit_head, limit_fields, limit_body, limit_concurrency;
    char headers[4096];
    size_t headers_len;
    /* TLS, uvicorn's options and values (tls.h); on when ssl_certfile or ssl_keyfile is set. */
    const char *ssl_certfile, *ssl_keyfile, *ssl_password, *ssl_ca_certs, *ssl_ciphers;
    int ssl_version, ssl_cert_reqs;
    unsigned char ssl_ticket_keys[80]; /* made before forking workers (serve_tls.c) */
    int has_ticket_keys;
    int ssl_no_ktls; /* --no-ssl-ktls */
} opts;

/* Fills o with the defaults: the engine's (engine.h) where graft shares them. */
void graft__serve_defaults(opts *o);
/* Prints the help, with the default values, to f. */
void graft__serve_usage(FILE *f);
/* Parses argv into o (defaults first). Returns 0, or -1 on a bad option (after a message);
 * --help and --version print and exit 0. */
int graft__serve_parse(opts *o, int argc, char **argv);

#endif
