/* The Prometheus text format (0.0.4) of a shared region: every slot's series merged by label
 * set (so a scrape answered by any worker counts each worker once), the histogram merged over
 * statuses, the gauges, and process metrics summed over the live workers from /proc. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared_layout.h"

static const char *const bounds_text[GRAFT__MX_BOUNDS] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
    "0.05",   "0.1",     "0.25",   "0.5",   "1",      "2.5",   "5",     "10"};

/* Merged label sets beyond this are left out of one scrape (bounded memory per scrape). */
#define MAX_MERGED (GRAFT__SHM_SERIES * 4)

typedef struct agg {
    graft__mx_key key;
    uint64_t count, sum_ns, buckets[GRAFT__MX_BOUNDS + 1];
} agg;

typedef struct table {
    agg *v;
    size_t n, cap;
    unsigned *idx; /* position + 1; 0 empty; 2 * MAX_MERGED entries */
} table;

static uint64_t hash(const graft__mx_key *k)
{
    const unsigned char *p = (const unsigned char *)k;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof *k; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* Adds the values of k into t (merging equal keys); ignores what no longer fits. */
static void merge(table *t, const graft__mx_key *k, uint64_t count, uint64_t sum,
                  const uint64_t *buckets)
{
    size_t mask = 2 * MAX_MERGED - 1, i = (size_t)hash(k) & mask;
    while (t->idx[i] && memcmp(&t->v[t->idx[i] - 1].key, k, sizeof *k) != 0)
        i = (i + 1) & mask;
    if (!t->idx[i]) {
        if (t->n >= MAX_MERGED)
            return;
        if (t->n == t->cap) {
            size_t cap = t->cap * 2;
            agg *v = realloc(t->v, cap * sizeof *v);
            if (!v)
                return; /* this label set is left out of the scrape */
            t->v = v;
            t->cap = cap;
        }
        memset(&t->v[t->n], 0, sizeof t->v[t->n]);
        t->v[t->n].key = *k;
        t->idx[i] = (unsigned)++t->n;
    }
    agg *a = &t->v[t->idx[i] - 1];
    a->count += count;
    a->sum_ns += sum;
    for (int b = 0; b <= GRAFT__MX_BOUNDS; b++)
        a->buckets[b] += buckets[b];
}

static int table_init(table *t)
{
    t->n = 0;
    t->cap = 64;
    t->v = malloc(t->cap * sizeof *t->v);
    t->idx = calloc(2 * MAX_MERGED, sizeof *t->idx);
    if (t->v && t->idx)
        return 0;
    free(t->v);
    free(t->idx);
    return -ENOMEM;
}

static void table_free(table *t)
{
    free(t->v);
    free(t->idx);
}

/* printf into out; every line written here is short, bounded by its labels. */
static int put(graft__buf *out, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    return graft__buf_append(out, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* A route label value with \, " and newline escaped (the format's only escapes). */
static void esc(char *dst, const char *src)
{
    size_t j = 0;
    for (size_t i = 0; src[i] && i < GRAFT__MX_ROUTE; i++) {
        char c = src[i];
        if (c == '\\' || c == '"' || c == '\n') {
            dst[j++] = '\\';
            c = c == '\n' ? 'n' : c;
        }
        dst[j++] = c;
    }
    dst[j] = '\0';
}

static int render_requests(const table *t, const table *h, graft__buf *out)
{
    int rc = put(out, "# HELP graft_requests_total Responses completed, by who answered.\n"
                      "# TYPE graft_requests_total counter\n");
    char r[2 * GRAFT__MX_ROUTE + 1];
    for (size_t i = 0; rc == 0 && i < t->n; i++) {
        const agg *a = &t->v[i];
        esc(r, a->key.route);
        rc = put(out, "graft_requests_total{method=\"%s\",route=\"%s\",answered_by=\"%s\",status=\"%u\"} %llu\n",
                 graft__mx_methods[a->key.method], r, graft__mx_by[a->key.by],
                 (unsigned)a->key.status, (unsigned long long)a->count);
    }
    if (rc == 0)
        rc = put(out, "# HELP graft_request_duration_seconds Time from the request head to the "
                      "response's last byte handed to the kernel.\n"
                      "# TYPE graft_request_duration_seconds histogram\n");
    for (size_t i = 0; rc == 0 && i < h->n; i++) {
        const agg *a = &h->v[i];
        esc(r, a->key.route);
        char labels[sizeof r + 128];
        snprintf(labels, sizeof labels, "method=\"%s\",route=\"%s\",answered_by=\"%s\"",
                 graft__mx_methods[a->key.method], r, graft__mx_by[a->key.by]);
        uint64_t cum = 0;
        for (int b = 0; rc == 0 && b < GRAFT__MX_BOUNDS; b++) {
            cum += a->buckets[b];
            rc = put(out, "graft_request_duration_seconds_bucket{%s,le=\"%s\"} %llu\n", labels,
                     bounds_text[b], (unsigned long long)cum);
        }
        if (rc == 0)
            rc = put(out, "graft_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n"
                          "graft_request_duration_seconds_sum{%s} %.9f\n"
                          "graft_request_duration_seconds_count{%s} %llu\n",
                     labels, (unsigned long long)a->count, labels, (double)a->sum_ns / 1e9,
                     labels, (unsigned long long)a->count);
    }
    return rc;
}

static int render_shadow(const table *t, graft__buf *out)
{
    static const char *const names[] = {"compared", "mismatches", "failed", "skipped"};
    static const char *const help[] = {"Shadowed requests whose two answers were compared.",
                                       "Compared shadowed requests whose answers differed.",
                                       "Shadowed requests whose native answer failed.",
                                       "Shadowed requests not compared (e.g. unsafe method)."};
    int rc = 0;
    char r[2 * GRAFT__MX_ROUTE + 1];
    for (int w = 0; rc == 0 && w < 4; w++) {
        rc = put(out, "# HELP graft_shadow_%s_total %s\n# TYPE graft_shadow_%s_total counter\n",
                 names[w], help[w], names[w]);
        for (size_t i = 0; rc == 0 && i < t->n; i++) {
            const agg *a = &t->v[i];
            if (a->key.kind != GRAFT__MX_SHADOW_BASE + GRAFT__SHADOW_COMPARED + w)
                continue;
            esc(r, a->key.route);
            if (w == GRAFT__SHADOW_FAILED - 1)
                rc = put(out, "graft_shadow_failed_total{method=\"%s\",route=\"%s\",reason=\"%s\"} %llu\n",
                         graft__mx_methods[a->key.method], r, a->key.reason,
                         (unsigned long long)a->count);
            else
                rc = put(out, "graft_shadow_%s_total{method=\"%s\",route=\"%s\"} %llu\n", names[w],
                         graft__mx_methods[a->key.method], r, (unsigned long long)a->count);
        }
    }
    return rc;
}

int graft__metrics_render(graft__shared *s, graft__buf *out)
{
    table t, h, sh;
    if (table_init(&t) < 0)
        return -ENOMEM;
    if (table_init(&h) < 0) {
        table_free(&t);
        return -ENOMEM;
    }
    if (table_init(&sh) < 0) {
        table_free(&t);
        table_free(&h);
        return -ENOMEM;
    }
    long conns = 0;
    uint64_t dropped = 0;
    int live = 0;
    for (int i = 0; i < GRAFT__SHM_SLOTS; i++) {
        graft__mx_slot *sl = &s->slots[i];
        if (atomic_load(&sl->pid) > 0) {
            live++;
            conns += atomic_load_explicit(&sl->connections, memory_order_relaxed);
        }
        dropped += atomic_load_explicit(&sl->dropped, memory_order_relaxed);
        unsigned n = atomic_load_explicit(&sl->nseries, memory_order_acquire);
        for (unsigned j = 0; j < n; j++) {
            graft__mx_series *se = &sl->series[j];
            uint64_t b[GRAFT__MX_BOUNDS + 1];
            for (int k = 0; k <= GRAFT__MX_BOUNDS; k++)
                b[k] = atomic_load_explicit(&se->buckets[k], memory_order_relaxed);
            uint64_t c = atomic_load_explicit(&se->count, memory_order_relaxed);
            uint64_t sum = atomic_load_explicit(&se->sum_ns, memory_order_relaxed);
            if (se->key.kind != GRAFT__MX_REQ) {
                merge(&sh, &se->key, c, sum, b);
                continue;
            }
            merge(&t, &se->key, c, sum, b);
            graft__mx_key hk = se->key;
            hk.status = 0; /* the histogram has no status label */
            merge(&h, &hk, c, sum, b);
        }
    }
    int workers = atomic_load_explicit(&s->workers, memory_order_relaxed);
    int rc = render_requests(&t, &h, out);
    if (rc == 0)
        rc = render_shadow(&sh, out);
    if (rc == 0)
        rc = put(out, "# HELP graft_connections Open client connections.\n"
                      "# TYPE graft_connections gauge\ngraft_connections %ld\n"
                      "# HELP graft_workers Worker processes serving.\n"
                      "# TYPE graft_workers gauge\ngraft_workers %d\n"
                      "# HELP graft_metrics_series_dropped_total Observations not recorded: "
                      "a worker's series table was full.\n"
                      "# TYPE graft_metrics_series_dropped_total counter\n"
                      "graft_metrics_series_dropped_total %llu\n",
                 conns < 0 ? 0 : conns, workers ? workers : live, (unsigned long long)dropped);
    if (rc == 0)
        rc = graft__mx_render_process(s, out);
    table_free(&t);
    table_free(&h);
    table_free(&sh);
    return rc;
}
