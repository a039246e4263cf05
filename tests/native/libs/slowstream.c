/* slowstream.c — large streamed responses to slow clients, for
 * test_native_backpressure.py (issue 11 #9).
 *
 * GET /pump?mib=N streams N MiB the way graft.h asks: write until graft_stream_write
 * says 1 (slow), then wait for graft_stream_on_writable's callback.
 * GET /careless?mib=N writes N MiB ignoring "slow", and stops at the first error.
 * Both write 64 KiB chunks: chunk k is k as 8 big-endian bytes, then bytes 8..65535
 * of a block whose byte j is (j * 131 + 7) & 255, so the client can check every byte.
 * GET /misuse answers with what graft_stream_on_writable returned when misused (before
 * the stream, NULL callback, armed twice), then ends the stream with a callback armed:
 * graft_stream_end cancels it, so it never runs.
 * GET /stats: {"pump_waits", "pump_done", "pump_status", "careless_rc",
 * "careless_bytes", "misuse_called"} (the last run of each). */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <graft.h>

GRAFT_LIBRARY()

#define CHUNK 65536

typedef struct lib {
    char base[CHUNK];
    atomic_long pump_waits, pump_done, pump_status, careless_rc, careless_bytes;
    atomic_long misuse_called; /* callbacks that must never run */
} lib;

typedef struct pump {
    lib *l;
    uint64_t next, total; /* chunks */
    char buf[CHUNK];
} pump;

static void fill(lib *l, char *buf, uint64_t k)
{
    memcpy(buf, l->base, CHUNK);
    for (int i = 0; i < 8; i++)
        buf[i] = (char)(k >> (56 - 8 * i));
}

static uint64_t mib_param(graft_request *req)
{
    size_t n = 0;
    const char *v = graft_query(req, "mib", &n);
    long m = v ? strtol(v, NULL, 10) : 1;
    return m > 0 && m <= 1024 ? (uint64_t)m : 1;
}

/* Writes until the client is slow, then returns and is called again by graft. */
static void pump_run(graft_request *req, int status, void *ud)
{
    pump *p = ud;
    if (status < 0)
        goto end;
    while (p->next < p->total) {
        fill(p->l, p->buf, p->next);
        status = graft_stream_write(req, p->buf, CHUNK);
        if (status < 0)
            goto end;
        p->next++;
        if (status == 1 && p->next < p->total) {
            atomic_fetch_add(&p->l->pump_waits, 1);
            status = graft_stream_on_writable(req, pump_run, p);
            if (status == 0)
                return; /* graft calls pump_run again */
            goto end;
        }
    }
    status = 0;
end:
    atomic_store(&p->l->pump_status, status);
    atomic_store(&p->l->pump_done, (long)p->next);
    graft_stream_end(req);
    free(p);
}

static int pump_route(graft_request *req, void *st)
{
    pump *p = malloc(sizeof *p);
    if (!p)
        return GRAFT_ENOMEM;
    p->l = st;
    p->next = 0;
    p->total = mib_param(req) * (1024 * 1024 / CHUNK);
    atomic_store(&p->l->pump_done, -1);
    int rc = graft_stream_start(req, 200, "application/octet-stream");
    if (rc < 0) {
        free(p);
        return rc;
    }
    pump_run(req, 0, p);
    return GRAFT_OK;
}

/* The handler that buffered 537 MiB: it never waits. */
static int careless_route(graft_request *req, void *st)
{
    lib *l = st;
    uint64_t total = mib_param(req) * (1024 * 1024 / CHUNK);
    char *buf = malloc(CHUNK);
    if (!buf)
        return GRAFT_ENOMEM;
    atomic_store(&l->careless_rc, 1);
    int rc = graft_stream_start(req, 200, "application/octet-stream");
    long bytes = 0;
    for (uint64_t k = 0; rc >= 0 && k < total; k++) {
        fill(l, buf, k);
        rc = graft_stream_write(req, buf, CHUNK);
        if (rc >= 0)
            bytes += CHUNK;
    }
    atomic_store(&l->careless_bytes, bytes);
    atomic_store(&l->careless_rc, rc < 0 ? rc : 0);
    free(buf);
    graft_stream_end(req);
    return GRAFT_OK;
}

static void never(graft_request *req, int status, void *ud)
{
    (void)req;
    (void)status;
    atomic_fetch_add(&((lib *)ud)->misuse_called, 1);
}

static int misuse_route(graft_request *req, void *st)
{
    int before = graft_stream_on_writable(req, never, st);
    int rc = graft_stream_start(req, 200, "text/plain");
    if (rc < 0)
        return rc;
    int null_cb = graft_stream_on_writable(req, NULL, st);
    int first = graft_stream_on_writable(req, never, st);
    int second = graft_stream_on_writable(req, never, st);
    char b[128];
    int n = snprintf(b, sizeof b, "%d %d %d %d", before, null_cb, first, second);
    graft_stream_write(req, b, (size_t)n);
    graft_stream_end(req);
    return GRAFT_OK;
}

static int stats(graft_request *req, void *st)
{
    lib *l = st;
    char b[256];
    int n = snprintf(b, sizeof b,
                     "{\"pump_waits\":%ld,\"pump_done\":%ld,\"pump_status\":%ld,"
                     "\"careless_rc\":%ld,\"careless_bytes\":%ld,\"misuse_called\":%ld}",
                     atomic_load(&l->pump_waits), atomic_load(&l->pump_done),
                     atomic_load(&l->pump_status), atomic_load(&l->careless_rc),
                     atomic_load(&l->careless_bytes), atomic_load(&l->misuse_called));
    return graft_respond(req, 200, "application/json", b, (size_t)n);
}

int graft_register(graft_router *r, const char *config)
{
    (void)config;
    lib *l = calloc(1, sizeof *l);
    if (!l)
        return GRAFT_ENOMEM;
    for (int j = 0; j < CHUNK; j++)
        l->base[j] = (char)((j * 131 + 7) & 255); /* bytes 0-7 are overwritten per chunk */
    graft_router_set_state(r, l, free);
    int rc = graft_route(r, "GET", "/pump", pump_route, 0);
    if (!rc)
        rc = graft_route(r, "GET", "/careless", careless_route, 0);
    if (!rc)
        rc = graft_route(r, "GET", "/misuse", misuse_route, 0);
    if (!rc)
        rc = graft_route(r, "GET", "/stats", stats, 0);
    return rc;
}
