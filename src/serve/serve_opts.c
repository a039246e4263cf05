/* graft-serve's options (serve_opts.h): defaults shared with the engine, the help that
 * prints them, and the parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../native/native.h"
#include "engine.h"
#include "serve_opts.h"
#include "shared.h"
#include "tls.h"


/* The defaults: the engine's (engine.h) where the bridge shares them, graft-serve's own
 * otherwise. usage() prints these values, so the help cannot drift from them. */
void graft__serve_defaults(opts *o)
{
    *o = (opts){.host = "127.0.0.1", .port = 8000, .threads = GRAFT__DEFAULT_THREADS, .workers = 1,
                .backlog = 2048, .access_log = 1, .server_header = 1, .date_header = 1, .blocking = GRAFT__NATIVE_DEFAULT_BLOCKING_THREADS,
                .keep_alive = GRAFT__DEFAULT_TIMEOUT_KEEP_ALIVE, .graceful = 30,
                .header_timeout = GRAFT__DEFAULT_TIMEOUT_REQUEST_HEADER,
                .body_timeout = GRAFT__DEFAULT_TIMEOUT_BODY_READ,
                .send_timeout = GRAFT__DEFAULT_TIMEOUT_SEND,
                .linger = GRAFT__DEFAULT_TIMEOUT_LINGER,
                .linger_idle = GRAFT__DEFAULT_TIMEOUT_LINGER_IDLE,
                .limit_linger = (long)GRAFT__DEFAULT_LIMIT_LINGER,
                .limit_line = GRAFT__DEFAULT_LIMIT_REQUEST_LINE,
                .limit_head = GRAFT__DEFAULT_LIMIT_REQUEST_HEAD,
                .limit_fields = GRAFT__DEFAULT_LIMIT_REQUEST_FIELDS, .ws = 1,
                .ws_deflate = GRAFT__DEFAULT_WS_PER_MESSAGE_DEFLATE,
                .ws_queue = GRAFT__DEFAULT_WS_MAX_QUEUE,
                .ws_max_size = (long)GRAFT__DEFAULT_WS_MAX_SIZE,
                .ws_ping_interval = GRAFT__DEFAULT_WS_PING_INTERVAL,
                .ws_ping_timeout = GRAFT__DEFAULT_WS_PING_TIMEOUT,
                .ssl_version = GRAFT__SSL_PROTOCOL_TLS_SERVER, .ssl_cert_reqs = GRAFT__SSL_CERT_NONE};
}

void graft__serve_usage(FILE *f)
{
    opts d;
    graft__serve_defaults(&d);
    fprintf(f,
            "usage: graft-serve --native LIB.so [--native ...] [options]\n"
            "  --host HOST (%s)   --port PORT (%d, 0 = any)   --uds PATH\n"
            "  --threads N (%d)           --workers N (%d)               --blocking-threads N (%d)\n"
            "  --timeout-keep-alive S (%g)  --timeout-graceful-shutdown S (%g)\n"
            "  --timeout-request-header S (%g)  --timeout-body-read S (%g)  --timeout-send S (%g)\n"
            "  --timeout-linger S (%g)  --timeout-linger-idle S (%g)  --limit-linger B (%ld)\n"
            "  --limit-request-line B (%ld)  --limit-request-head B (%ld)\n"
            "  --limit-request-fields N (%ld)  --limit-request-body B (none)  --limit-concurrency N\n"
            "  --backlog N (%d)  --header NAME:VALUE  --no-access-log  --no-server-header\n"
            "  --no-date-header  --ws auto|none  --ws-max-size B (%ld)  --ws-max-queue N (%d)\n"
            "  --ws-ping-interval S (%g)  --ws-ping-timeout S (%g)  --ws-per-message-deflate true|false\n"
            "  --metrics HOST:PORT (Prometheus /metrics, all workers)  --control PATH (graft ctl)\n"
            "  --openapi FILE (route contracts: `graft openapi APP > FILE`, or a plain openapi.json;\n"
            "    implies --fastapi-routing)\n"
            "  --fastapi-routing (404/405 JSON, no HEAD for GET routes, trailing-slash 307: as FastAPI)\n"
            "  --health-path PATH (200 ok while serving, 503 while draining)\n"
            "  --limit-worker-rss MiB (with --workers: a worker above it is replaced after a drain)\n"
            "  --access-log-format FORMAT (gunicorn's atoms, as graft's; default: uvicorn's line)\n"
            "  --ssl-certfile PATH  --ssl-keyfile PATH  --ssl-keyfile-password PASSWORD\n"
            "  --ssl-version INT (%d)  --ssl-cert-reqs INT (%d: 0 none, 1 optional, 2 required)\n"
            "  --ssl-ca-certs PATH  --ssl-ciphers CIPHERS (TLS as uvicorn's options; SIGHUP re-reads\n"
            "    certificate and key without --workers)  --no-ssl-ktls (no kernel TLS for files)\n"
            "  --version\n"
            "LIB.so may carry a configuration string for the library as LIB.so?CONFIG.\n"
            "Without --uds, a socket passed by systemd (LISTEN_FDS=1) is served instead of HOST:PORT.\n",
            d.host, d.port, d.threads, d.workers, d.blocking, d.keep_alive, d.graceful,
            d.header_timeout, d.body_timeout, d.send_timeout, d.linger, d.linger_idle,
            d.limit_linger, d.limit_line, d.limit_head, d.limit_fields, d.backlog, d.ws_max_size,
            d.ws_queue, d.ws_ping_interval, d.ws_ping_timeout, d.ssl_version, d.ssl_cert_reqs);
}

int graft__serve_parse(opts *o, int argc, char **argv)
{
    graft__serve_defaults(o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && ++i)
        if (ARG("--native")) {
            if (o->nnative == MAX_NATIVE)
                return -1;
            o->natives[o->nnative++] = v;
        } else if (ARG("--host"))
            o->host = v;
        else if (ARG("--port"))
            o->port = atoi(v);
        else if (ARG("--uds"))
            o->uds = v;
        else if (ARG("--metrics"))
            o->metrics = v;
        else if (ARG("--control"))
            o->control = v;
        else if (ARG("--openapi"))
            o->openapi = v;
        else if (ARG("--health-path"))
            o->health_path = v;
        else if (ARG("--threads"))
            o->threads = atoi(v);
        else if (ARG("--workers"))
            o->workers = atoi(v), o->workers_given = 1;
        else if (ARG("--blocking-threads"))
            o->blocking = atoi(v);
        else if (ARG("--backlog"))
            o->backlog = atoi(v);
        else if (ARG("--timeout-keep-alive"))
            o->keep_alive = atof(v);
        else if (ARG("--timeout-graceful-shutdown"))
            o->graceful = atof(v);
        else if (ARG("--timeout-request-header"))
            o->header_timeout = atof(v);
        else if (ARG("--timeout-body-read"))
            o->body_timeout = atof(v);
        else if (ARG("--timeout-send"))
            o->send_timeout = atof(v);
        else if (ARG("--timeout-linger"))
            o->linger = atof(v);
        else if (ARG("--timeout-linger-idle"))
            o->linger_idle = atof(v);
        else if (ARG("--limit-linger"))
            o->limit_linger = atol(v);
        else if (ARG("--limit-request-line"))
            o->limit_line = atol(v);
        else if (ARG("--limit-request-head"))
            o->limit_head = atol(v);
        else if (ARG("--limit-request-fields"))
            o->limit_fields = atol(v);
        else if (ARG("--limit-request-body"))
            o->limit_body = atol(v);
        else if (ARG("--ws-max-size"))
            o->ws_max_size = atol(v);
        else if (ARG("--ws-max-queue"))
            o->ws_queue = atoi(v);
        else if (ARG("--ws-ping-interval"))
            o->ws_ping_interval = atof(v);
        else if (ARG("--ws-ping-timeout"))
            o->ws_ping_timeout = atof(v);
        else if (ARG("--ws-per-message-deflate"))
            o->ws_deflate = strcmp(v, "false") != 0 && strcmp(v, "0") != 0;
        else if (ARG("--ws"))
            o->ws = strcmp(v, "none") != 0;
        else if (ARG("--limit-worker-rss"))
            o->limit_worker_rss = atol(v);
        else if (ARG("--limit-concurrency"))
            o->limit_concurrency = atol(v);
        else if (ARG("--header")) {
            const char *colon = strchr(v, ':');
            if (!colon || colon == v || strpbrk(v, "\r\n"))
                return -1;
            int k = snprintf(o->headers + o->headers_len, sizeof o->headers - o->headers_len,
                             "%.*s: %s\r\n", (int)(colon - v), v, colon + 1 + strspn(colon + 1, " "));
            if (k < 0 || (size_t)k >= sizeof o->headers - o->headers_len)
                return -1;
            o->headers_len += (size_t)k;
        } else if (ARG("--access-log-format"))
            o->access_format = v;
        else if (ARG("--ssl-certfile"))
            o->ssl_certfile = v;
        else if (ARG("--ssl-keyfile"))
            o->ssl_keyfile = v;
        else if (ARG("--ssl-keyfile-password"))
            o->ssl_password = v;
        else if (ARG("--ssl-ca-certs"))
            o->ssl_ca_certs = v;
        else if (ARG("--ssl-ciphers"))
            o->ssl_ciphers = v;
        else if (ARG("--ssl-version"))
            o->ssl_version = atoi(v);
        else if (ARG("--ssl-cert-reqs"))
            o->ssl_cert_reqs = atoi(v);
        else if (strcmp(a, "--no-ssl-ktls") == 0)
            o->ssl_no_ktls = 1;
        else if (strcmp(a, "--fastapi-routing") == 0)
            o->fastapi_routing = 1;
        else if (strcmp(a, "--no-access-log") == 0)
            o->access_log = 0;
        else if (strcmp(a, "--access-log") == 0)
            o->access_log = 1;
        else if (strcmp(a, "--no-server-header") == 0)
            o->server_header = 0;
        else if (strcmp(a, "--no-date-header") == 0)
            o->date_header = 0;
        else if (strcmp(a, "--version") == 0) {
            printf("graft-serve 0.1.0 (graft ABI %d)\n", GRAFT_ABI_VERSION);
            exit(0);
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            graft__serve_usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "graft-serve: unknown or incomplete option %s\n", a);
            return -1;
        }
#undef ARG
    }
    if (o->nnative == 0) {
        fprintf(stderr, "graft-serve: at least one --native LIB.so is required\n");
        return -1;
    }
    if (o->threads < 1 || o->workers < 1 || o->port < 0 || o->port > 65535 || o->limit_worker_rss < 0)
        return -1;
    if ((o->metrics || o->control) && o->workers > GRAFT__SHM_SLOTS) {
        fprintf(stderr, "graft-serve: at most %d workers with --metrics or --control\n", GRAFT__SHM_SLOTS);
        return -1;
    }
    return 0;
}
