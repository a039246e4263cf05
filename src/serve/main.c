/* graft-serve: the pure C server. Runs handler libraries with no Python in
 * the process: the end of a migration. Unmatched requests get 404. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "../native/native.h"
#include "serve_admin.h"
#include "serve_openapi.h"
#include "shared.h"
#include "status.h"

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
    int port, threads, workers, backlog, access_log, server_header, date_header, blocking;
    int fastapi_routing; /* --fastapi-routing: unrouted requests answered as FastAPI's router */
    int ws, ws_deflate, ws_queue;
    long ws_max_size;
    double ws_ping_interval, ws_ping_timeout;
    double keep_alive, graceful, header_timeout, body_timeout, send_timeout, linger, linger_idle;
    long limit_linger;
    long limit_line, limit_head, limit_fields, limit_body, limit_concurrency;
    char headers[4096];
    size_t headers_len;
} opts;

/* The defaults: the engine's (engine.h) where the bridge shares them, graft-serve's own
 * otherwise. usage() prints these values, so the help cannot drift from them. */
static void set_defaults(opts *o)
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
                .ws_ping_timeout = GRAFT__DEFAULT_WS_PING_TIMEOUT};
}

static void usage(FILE *f)
{
    opts d;
    set_defaults(&d);
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
            "  --version\n"
            "LIB.so may carry a configuration string for the library as LIB.so?CONFIG.\n",
            d.host, d.port, d.threads, d.workers, d.blocking, d.keep_alive, d.graceful,
            d.header_timeout, d.body_timeout, d.send_timeout, d.linger, d.linger_idle,
            d.limit_linger, d.limit_line, d.limit_head, d.limit_fields, d.backlog, d.ws_max_size,
            d.ws_queue, d.ws_ping_interval, d.ws_ping_timeout);
}

static int parse(opts *o, int argc, char **argv)
{
    set_defaults(o);
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
            o->workers = atoi(v);
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
        } else if (strcmp(a, "--fastapi-routing") == 0)
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
            usage(stdout);
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
    if (o->threads < 1 || o->workers < 1 || o->port < 0 || o->port > 65535)
        return -1;
    if ((o->metrics || o->control) && o->workers > GRAFT__SHM_SLOTS) {
        fprintf(stderr, "graft-serve: at most %d workers with --metrics or --control\n", GRAFT__SHM_SLOTS);
        return -1;
    }
    return 0;
}

static int bind_socket(const opts *o)
{
    int fd;
    if (o->uds) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(o->uds) >= sizeof sa.sun_path)
            return -1;
        strcpy(sa.sun_path, o->uds);
        unlink(o->uds);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, o->backlog) < 0) {
            perror("graft-serve: bind");
            return -1;
        }
        return fd;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", o->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai;
    int rc = getaddrinfo(o->host, port, &hints, &ai);
    if (rc) {
        fprintf(stderr, "graft-serve: %s: %s\n", o->host, gai_strerror(rc));
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, o->backlog) < 0) {
        fprintf(stderr, "graft-serve: cannot bind %s:%d: %s\n", o->host, o->port, strerror(errno));
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static void access_log(graft__req *r, int status)
{
    char client[80] = "";
    if (r->client_port >= 0)
        snprintf(client, sizeof client, "%s:%d", r->client_ip, r->client_port);
    pthread_mutex_lock(&log_mu);
    printf("INFO:     %s - \"%.*s %.*s HTTP/1.%d\" %d %s\n", client, (int)r->method_len, r->method,
           (int)r->target_len, r->target, r->minor_version, status, graft__status_reason(status));
    fflush(stdout);
    pthread_mutex_unlock(&log_mu);
}

/* What serve() listens on and records into: the main listener, the admin listeners
 * (bound before any fork), the shared region (NULL: metrics off) and this worker's slot. */
typedef struct listeners {
    int fds[3], kinds[3], n;
    graft__shared *shared;
    int slot;
} listeners;

static int serve(const opts *o, const listeners *ls)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* threads inherit it; only sigwait below sees them */
    char err[1024] = "";
    graft__native *nat;
    int rc = graft__native_new(&nat, o->natives, o->nnative, o->blocking, err, sizeof err);
    if (rc) {
        fprintf(stderr, "graft-serve: %s\n", err);
        return 3;
    }
    /* main() checked the document and reported before binding */
    if (o->openapi_text && graft__serve_set_contracts(nat, o->openapi_text, o->openapi_len, 0) != 0) {
        graft__native_free(nat);
        return 3;
    }
    char hdrs[4200];
    int hl = snprintf(hdrs, sizeof hdrs, "%s%.*s", o->server_header ? "server: graft\r\n" : "",
                      (int)o->headers_len, o->headers);
    graft__native_set_next(nat, NULL, NULL);
    /* --openapi serves a FastAPI service: its routing answers come with it. Cannot fail: no next. */
    graft__native_set_fastapi_routing(nat, o->fastapi_routing || o->openapi_text != NULL);
    nat->access_log = o->access_log ? access_log : NULL;
    graft__metrics *mx = NULL;
    graft__admin admin = {.shared = ls->shared, .has_app = 0};
    if (ls->shared) {
        rc = graft__metrics_new(&mx, ls->shared, ls->slot);
        if (!rc)
            rc = graft__native_attach_shared(nat, ls->shared);
        nat->metrics = mx;
        if (rc) {
            fprintf(stderr, "graft-serve: metrics: %s\n", strerror(-rc));
            return 3;
        }
    }
    graft__engine_config cfg = {
        .limits = {.max_request_line = (size_t)o->limit_line,
                   .max_head = (size_t)o->limit_head,
                   .max_headers = (size_t)o->limit_fields},
        .max_body = (uint64_t)o->limit_body,
        .timeout_keep_alive = o->keep_alive,
        .timeout_header = o->header_timeout,
        .timeout_body = o->body_timeout,
        .timeout_send = o->send_timeout,
        .timeout_linger = o->linger,
        .timeout_linger_idle = o->linger_idle,
        .max_linger = o->limit_linger > 0 ? (uint64_t)o->limit_linger : 0,
        .threads = o->threads,
        .limit_concurrency = (int)o->limit_concurrency,
        .listen_fds = ls->fds,
        .listen_kinds = ls->kinds,
        .n_listen = ls->n,
        .metrics = mx,
        .admin = mx ? graft__admin_handle : NULL,
        .admin_ud = &admin,
        .health_path = o->health_path,
        .listen_unix = o->uds != NULL,
        .default_headers = hdrs,
        .default_headers_len = (size_t)hl,
        .date_header = o->date_header,
        .after_batch = graft__native_run_pending,
        .ws = {.enabled = o->ws,
               .max_size = (uint64_t)o->ws_max_size,
               .max_queue = o->ws_queue > 0 ? o->ws_queue : 1,
               .ping_interval = o->ws_ping_interval,
               .ping_timeout = o->ws_ping_timeout,
               .per_message_deflate = o->ws_deflate},
    };
    graft__engine *e;
    rc = graft__engine_new(&cfg, graft__native_deliver, nat, &e);
    if (!rc)
        rc = graft__engine_start(e);
    if (rc) {
        fprintf(stderr, "graft-serve: cannot start: %s\n", strerror(-rc));
        return 1;
    }
    fprintf(stderr, "INFO:     Started server process [%d]\n", (int)getpid());
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    fprintf(stderr, "INFO:     Shutting down\n");
    graft__engine_shutdown(e);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct timespec nap = {0, 20 * 1000 * 1000};
    for (;;) {
        if (graft__engine_connections(e) == 0)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 > o->graceful)
            break;
        sigset_t pend;
        if (sigpending(&pend) == 0 && sigismember(&pend, SIGINT))
            break; /* a second Ctrl-C forces */
        nanosleep(&nap, NULL);
    }
    graft__engine_abort(e);
    graft__engine_free(e);
    graft__native_free(nat);
    graft__metrics_free(mx);
    fprintf(stderr, "INFO:     Finished server process [%d]\n", (int)getpid());
    return 0;
}

static volatile sig_atomic_t stop_sig;
static void on_sig(int s) { stop_sig = s; }

/* Several workers share the listening socket (one accept queue); crashed ones are replaced. */
static int supervise(const opts *o, listeners *ls)
{
    pid_t *pids = calloc((size_t)o->workers, sizeof *pids);
    int status = 0;
    if (!pids)
        return 1;
    struct sigaction sa = {.sa_handler = on_sig};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    for (;;) {
        for (int i = 0; i < o->workers && !stop_sig; i++) {
            if (pids[i] > 0)
                continue;
            pid_t p = fork();
            if (p == 0) {
                signal(SIGTERM, SIG_DFL);
                signal(SIGINT, SIG_DFL);
                ls->slot = i; /* worker i keeps slot i: a respawn continues its counts */
                _exit(serve(o, ls));
            }
            pids[i] = p;
        }
        if (ls->shared) {
            int live = 0;
            for (int i = 0; i < o->workers; i++)
                live += pids[i] > 0;
            graft__shared_set_workers(ls->shared, live);
        }
        if (stop_sig)
            break;
        int st;
        pid_t p = waitpid(-1, &st, 0);
        if (p < 0 && errno == EINTR)
            continue;
        for (int i = 0; i < o->workers; i++)
            if (pids[i] == p) {
                pids[i] = 0;
                if (ls->shared)
                    graft__shared_slot_reset(ls->shared, i);
                if (WIFEXITED(st) && WEXITSTATUS(st) == 3) {
                    stop_sig = SIGTERM; /* a worker that cannot start will never start */
                    status = 3;
                }
            }
    }
    for (int i = 0; i < o->workers; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM);
    for (int i = 0; i < o->workers; i++)
        if (pids[i] > 0)
            waitpid(pids[i], NULL, 0);
    free(pids);
    return status;
}

int main(int argc, char **argv)
{
    opts o;
    if (parse(&o, argc, argv) < 0) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (o.openapi && graft__serve_read_openapi(o.openapi, &o.openapi_text, &o.openapi_len) < 0)
        return 1;
    /* Refuse before binding or forking: the libraries are loaded once more here, only to
     * match their routes with the document (as `graft routes` does). */
    if (o.openapi_text) {
        graft__native *nat;
        char err[1024] = "";
        if (graft__native_new(&nat, o.natives, o.nnative, 0, err, sizeof err)) {
            fprintf(stderr, "graft-serve: %s\n", err);
            return 3;
        }
        int crc = graft__serve_set_contracts(nat, o.openapi_text, o.openapi_len, 1);
        graft__native_free(nat);
        if (crc != 0)
            return 3;
    }
    int lfd = bind_socket(&o);
    if (lfd < 0)
        return 1;
    if (!o.uds) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char ip[64] = "";
        int port = 0;
        if (getsockname(lfd, (struct sockaddr *)&ss, &sl) == 0) {
            if (ss.ss_family == AF_INET) {
                inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof ip);
                port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
            } else {
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof ip);
                port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
            }
        }
        fprintf(stderr, "INFO:     graft-serve running on http://%s:%d (Press CTRL+C to quit)\n", ip, port);
    }
    listeners ls = {.fds = {lfd}, .kinds = {GRAFT__LISTEN_APP}, .n = 1};
    if (o.metrics) {
        ls.fds[ls.n] = graft__serve_bind_metrics(o.metrics, o.backlog);
        ls.kinds[ls.n++] = GRAFT__LISTEN_METRICS;
        if (ls.fds[ls.n - 1] < 0)
            return 1;
        fprintf(stderr, "INFO:     Metrics on http://%s/metrics\n", o.metrics);
    }
    if (o.control) {
        ls.fds[ls.n] = graft__serve_bind_control(o.control, o.backlog);
        ls.kinds[ls.n++] = GRAFT__LISTEN_CONTROL;
        if (ls.fds[ls.n - 1] < 0)
            return 1;
    }
    if (o.metrics || o.control) {
        int rc = graft__shared_new(&ls.shared); /* before any fork: every worker shares it */
        if (rc < 0) {
            fprintf(stderr, "graft-serve: cannot map the shared region: %s\n", strerror(-rc));
            return 1;
        }
        graft__shared_set_workers(ls.shared, o.workers);
    }
    int rc = o.workers > 1 ? supervise(&o, &ls) : serve(&o, &ls);
    free(o.openapi_text);
    if (o.control)
        unlink(o.control);
    return rc;
}
