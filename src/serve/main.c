/* graft-serve: the pure C server. Runs handler libraries with no Python in the process: the
 * end of a migration. Unmatched requests get 404 (FastAPI's routing answers with --openapi).
 * Here: the listening sockets, the server itself, and the worker processes; the options are
 * in serve_opts.c, the admin listeners in serve_admin.c, the route contracts in
 * serve_openapi.c. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "../native/native.h"
#include "serve_admin.h"
#include "serve_alog.h"
#include "serve_openapi.h"
#include "shared.h"
#include "serve_listen.h"
#include "serve_opts.h"
#include "serve_tls.h"
#include "serve_workers.h"
#include "status.h"

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

/* --access-log-format, parsed in main before the workers fork; NULL: the uvicorn line. */
static graft__alog *alog;

static void access_log_format(graft__req *r, int status)
{
    char line[4096];
    size_t n = graft__alog_render(alog, r, status, line, sizeof line);
    pthread_mutex_lock(&log_mu);
    printf("%.*s\n", (int)n, line);
    fflush(stdout);
    pthread_mutex_unlock(&log_mu);
}

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
 * (bound before any fork), the shared region (NULL: metrics off) and this worker's slot;
 * under the supervisor, its readiness pipe (-1: none). */
typedef struct listeners {
    int fds[3], kinds[3], n;
    graft__shared *shared;
    int slot, ready_fd, supervised;
    int is_unix; /* the app listener is a Unix socket (--uds, or systemd's) */
    int report_contracts; /* print the --openapi report (main() did at first start) */
} listeners;

static int serve(const opts *o, const listeners *ls)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    /* With TLS, SIGHUP to one process re-reads certificate and key (each worker of a
     * supervisor builds its own context from disk when it starts). */
    int tls_failed;
    graft__tls *tls = graft__serve_tls_new(o, &tls_failed);
    if (tls_failed)
        return 3;
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* threads inherit it; only sigwait below sees them */
    char err[1024] = "";
    graft__native *nat;
    int rc = graft__native_new(&nat, o->natives, o->nnative, o->blocking, err, sizeof err);
    if (rc) {
        fprintf(stderr, "graft-serve: %s\n", err);
        return 3;
    }
    /* main() checked the document and reported before binding; a reloaded worker reports */
    if (o->openapi_text &&
        graft__serve_set_contracts(nat, o->openapi_text, o->openapi_len, ls->report_contracts) != 0) {
        graft__native_free(nat);
        return 3;
    }
    char hdrs[4200];
    int hl = snprintf(hdrs, sizeof hdrs, "%s%.*s", o->server_header ? "server: graft\r\n" : "",
                      (int)o->headers_len, o->headers);
    graft__native_set_next(nat, NULL, NULL);
    /* --openapi serves a FastAPI service: its routing answers come with it. Cannot fail: no next. */
    graft__native_set_fastapi_routing(nat, o->fastapi_routing || o->openapi_text != NULL);
    nat->access_log = !o->access_log ? NULL : alog ? access_log_format : access_log;
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
        .tls = tls,
        .stamp_start = o->access_log && alog && graft__alog_needs_duration(alog),
        .listen_unix = ls->is_unix,
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
    graft__serve_notify_ready(ls->ready_fd); /* with the libraries loaded and the engine accepting */
    int sig = 0;
    /* SIGHUP: a reload replaces processes, so it needs the supervisor (--workers N); one
     * process keeps serving rather than die of SIGHUP's default action, and with TLS re-reads
     * its certificate and key for new handshakes (open connections keep theirs). */
    while (sigwait(&set, &sig) != 0 || sig == SIGHUP) {
        if (sig == SIGHUP && !ls->supervised && tls) {
            if (graft__tls_reload(tls, err, sizeof err) < 0)
                fprintf(stderr, "ERROR:    TLS reload failed, keeping the current certificate: %s\n", err);
            else
                fprintf(stderr, "INFO:     Reloaded TLS certificate %s\n", o->ssl_certfile);
        } else if (sig == SIGHUP && !ls->supervised)
            fprintf(stderr, "WARNING:  Received SIGHUP: graft-serve reloads only under --workers N "
                    "(one process here); ignored.\n");
        sig = 0;
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
    graft__tls_free(tls);
    graft__metrics_free(mx);
    fprintf(stderr, "INFO:     Finished server process [%d]\n", (int)getpid());
    return 0;
}

/* One worker under the supervisor (serve_workers.c): its slot and readiness pipe. */
typedef struct worker_ctx {
    const opts *o;
    listeners *ls;
} worker_ctx;

static int run_worker(void *ud, int slot, int ready_fd, int generation)
{
    worker_ctx *c = ud;
    c->ls->slot = slot;
    c->ls->ready_fd = ready_fd;
    c->ls->supervised = 1;
    if (generation == 0 || !c->o->openapi)
        return serve(c->o, c->ls);
    /* A reload ships the --openapi document with the libraries: read it again, and report
     * a route the kit cannot reproduce here, as main() does at first start (the reload then
     * fails and the old workers keep serving). */
    opts o = *c->o;
    if (graft__serve_read_openapi(o.openapi, &o.openapi_text, &o.openapi_len) < 0)
        return GRAFT__SERVE_STARTUP_FAILURE;
    c->ls->report_contracts = 1;
    int rc = serve(&o, c->ls);
    free(o.openapi_text);
    return rc;
}

int main(int argc, char **argv)
{
    opts o;
    if (graft__serve_parse(&o, argc, argv) < 0) {
        graft__serve_usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (o.access_format) {
        char err[256];
        alog = graft__alog_parse(o.access_format, err, sizeof err);
        if (!alog) {
            fprintf(stderr, "graft-serve: %s\n", err);
            return 2;
        }
    }
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
    if (graft__serve_tls_prepare(&o) < 0)
        return 1;
    int is_unix = 0;
    int lfd = graft__serve_listen(&o, &is_unix);
    if (lfd < 0)
        return 1;
    listeners ls = {.fds = {lfd}, .kinds = {GRAFT__LISTEN_APP}, .n = 1, .ready_fd = -1, .is_unix = is_unix};
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
    int rc;
    int supervised = o.workers > 1 || o.workers_given;
    if (o.limit_worker_rss && !supervised)
        fprintf(stderr, "WARNING:  --limit-worker-rss needs --workers N (the supervisor replaces "
                "workers); ignored.\n");
    if (supervised) {
        worker_ctx wc = {&o, &ls};
        graft__serve_sup_config sc = {.workers = o.workers, .graceful = o.graceful,
                                      .limit_rss_kib = o.limit_worker_rss * 1024,
                                      .shared = ls.shared, .run = run_worker, .ud = &wc};
        rc = graft__serve_supervise(&sc);
    } else {
        rc = serve(&o, &ls);
    }
    free(o.openapi_text);
    if (o.control)
        unlink(o.control);
    return rc;
}
