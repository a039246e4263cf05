/* Unit tests for the shared region (src/core/shared.c), metrics recording (metrics.c) and the
 * Prometheus rendering (metrics_render.c): counts of two slots merge into one series; a slot
 * taken again (a respawned worker) continues its series; histogram buckets are cumulative and
 * end at the count; shadow counters; a full slot counts into dropped; the live route table
 * keeps the first mode it was given (a later worker adopts it); label values are escaped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "req.h"
#include "shared.h"
#include "shared_layout.h"

#include "../unit.h"

static graft__req req(const char *method, const char *route, int by, int status)
{
    graft__req r;
    memset(&r, 0, sizeof r);
    r.method = method;
    r.method_len = strlen(method);
    r.route_label = route;
    r.answered_by = (unsigned char)by;
    r.status = status;
    return r;
}

/* The value of the sample line that starts with prefix (labels included), -1 when absent. */
static double sample(const graft__buf *b, const char *prefix)
{
    size_t pl = strlen(prefix);
    const char *p = b->data, *end = b->data + b->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        if ((size_t)(nl - p) > pl && memcmp(p, prefix, pl) == 0 && p[pl] == ' ')
            return atof(p + pl + 1);
        p = nl + 1;
    }
    return -1;
}

static graft__buf render(graft__shared *s)
{
    graft__buf b = {0};
    check(graft__metrics_render(s, &b) == 0, "render", "failed");
    graft__buf_append(&b, "", 1); /* NUL for strstr */
    b.len--;
    return b;
}

static void test_merge_and_respawn(void)
{
    graft__shared *s;
    graft__metrics *a, *b;
    check(graft__shared_new(&s) == 0, "shared_new", "failed");
    check(graft__metrics_new(&a, s, 0) == 0 && graft__metrics_new(&b, s, 1) == 0, "metrics_new", "failed");
    graft__req r = req("GET", "/items/{id}", GRAFT__BY_NATIVE, 200);
    for (int i = 0; i < 3; i++)
        graft__metrics_request(a, &r);
    for (int i = 0; i < 4; i++)
        graft__metrics_request(b, &r);
    graft__req o = req("BREW", NULL, GRAFT__BY_GRAFT, 400);
    graft__metrics_request(a, &o);
    graft__req none = req("GET", "/x", GRAFT__BY_PYTHON, 0); /* no status: never counted */
    graft__metrics_request(a, &none);
    graft__buf t = render(s);
    const char *key = "graft_requests_total{method=\"GET\",route=\"/items/{id}\",answered_by=\"native\",status=\"200\"}";
    check(sample(&t, key) == 7, "merge", "expected 7 over two slots, got %g", sample(&t, key));
    check(sample(&t, "graft_requests_total{method=\"other\",route=\"other\",answered_by=\"graft\",status=\"400\"}") == 1,
          "other", "an unknown method and no route count as other");
    check(!strstr(t.data, "route=\"/x\""), "status 0", "a response without status was counted");
    graft__buf_free(&t);

    /* Slot 0 taken again, as by a respawned worker: its series continue, none is doubled. */
    graft__metrics_free(a);
    check(graft__metrics_new(&a, s, 0) == 0, "retake", "failed");
    graft__metrics_request(a, &r);
    t = render(s);
    check(sample(&t, key) == 8, "respawn", "expected 8, got %g", sample(&t, key));
    check(s->slots[0].nseries == 2, "respawn series", "slot 0 has %u series, expected 2",
          s->slots[0].nseries);
    graft__buf_free(&t);
    graft__metrics_free(a);
    graft__metrics_free(b);
    graft__shared_free(s);
}

static void test_histogram(void)
{
    graft__shared *s;
    graft__metrics *m;
    graft__shared_new(&s);
    graft__metrics_new(&m, s, 3);
    graft__req r = req("POST", "/p", GRAFT__BY_PYTHON, 201);
    uint64_t now = graft__metrics_now();
    r.t_start_ns = now > 3000000000u ? now - 3000000000u : 1; /* about 3 s ago: the 5 s bucket */
    graft__metrics_request(m, &r);
    r.t_start_ns = 0; /* no start time: 0 s, the first bucket */
    graft__metrics_request(m, &r);
    r.status = 500; /* another status, the same histogram series */
    graft__metrics_request(m, &r);
    graft__buf t = render(s);
    const char *l = "method=\"POST\",route=\"/p\",answered_by=\"python\"";
    char k[256];
    snprintf(k, sizeof k, "graft_request_duration_seconds_bucket{%s,le=\"0.0001\"}", l);
    check(sample(&t, k) == 2, "bucket first", "got %g", sample(&t, k));
    snprintf(k, sizeof k, "graft_request_duration_seconds_bucket{%s,le=\"2.5\"}", l);
    check(sample(&t, k) == 2, "bucket 2.5", "got %g", sample(&t, k));
    snprintf(k, sizeof k, "graft_request_duration_seconds_bucket{%s,le=\"5\"}", l);
    check(sample(&t, k) == 3, "bucket 5", "got %g", sample(&t, k));
    snprintf(k, sizeof k, "graft_request_duration_seconds_bucket{%s,le=\"+Inf\"}", l);
    check(sample(&t, k) == 3, "bucket inf", "got %g", sample(&t, k));
    snprintf(k, sizeof k, "graft_request_duration_seconds_count{%s}", l);
    check(sample(&t, k) == 3, "count", "got %g", sample(&t, k));
    snprintf(k, sizeof k, "graft_request_duration_seconds_sum{%s}", l);
    check(sample(&t, k) > 2.9 && sample(&t, k) < 4, "sum", "got %g", sample(&t, k));
    graft__buf_free(&t);
    graft__metrics_free(m);
    graft__shared_free(s);
}

static void test_shadow_dropped_escape(void)
{
    graft__shared *s;
    graft__metrics *m;
    graft__shared_new(&s);
    graft__metrics_new(&m, s, 0);
    graft__metrics_shadow(m, GRAFT__SHADOW_COMPARED, "GET", "/a", NULL);
    graft__metrics_shadow(m, GRAFT__SHADOW_COMPARED, "GET", "/a", NULL);
    graft__metrics_shadow(m, GRAFT__SHADOW_MISMATCH, "GET", "/a", NULL);
    graft__metrics_shadow(m, GRAFT__SHADOW_FAILED, "GET", "/a", "time\"out");
    graft__metrics_shadow(NULL, GRAFT__SHADOW_SKIPPED, "GET", "/a", NULL); /* NULL: no-op */
    graft__metrics_shadow(m, 99, "GET", "/a", NULL);                      /* unknown: no-op */
    graft__req q = req("GET", "/q\"\\x", GRAFT__BY_NATIVE, 200);
    graft__metrics_request(m, &q);
    graft__metrics_request(NULL, &q); /* NULL: no-op */
    char route[32];
    for (int i = 0; i < GRAFT__SHM_SERIES + 5; i++) {
        snprintf(route, sizeof route, "/r%d", i);
        graft__req r = req("GET", route, GRAFT__BY_NATIVE, 200);
        graft__metrics_request(m, &r);
    }
    graft__buf t = render(s);
    check(sample(&t, "graft_shadow_compared_total{method=\"GET\",route=\"/a\"}") == 2, "compared", "wrong");
    check(sample(&t, "graft_shadow_mismatches_total{method=\"GET\",route=\"/a\"}") == 1, "mismatch", "wrong");
    check(sample(&t, "graft_shadow_failed_total{method=\"GET\",route=\"/a\",reason=\"time_out\"}") == 1,
          "failed", "the reason must be reduced to [a-z0-9_]");
    check(!strstr(t.data, "graft_shadow_skipped_total{"), "skipped", "a no-op counted");
    check(sample(&t, "graft_requests_total{method=\"GET\",route=\"/q\\\"\\\\x\",answered_by=\"native\",status=\"200\"}") == 1,
          "escape", "route label not escaped");
    /* 3 shadow series and /q took 4 of the slot's series first: of the GRAFT__SHM_SERIES + 5
     * routes, the last 9 find the slot full and are dropped. */
    double dropped = sample(&t, "graft_metrics_series_dropped_total");
    check(dropped == 9, "dropped", "expected 9, got %g", dropped);
    graft__route_counts c;
    graft__metrics_route_counts(s, "GET", "/a", &c);
    check(c.shadow_compared == 2 && c.shadow_mismatches == 1 && c.shadow_failed == 1 && c.native == 0,
          "route counts", "wrong");
    graft__buf_free(&t);
    graft__metrics_free(m);
    graft__shared_free(s);
}

static void test_route_table(void)
{
    graft__shared *s;
    graft__shared_new(&s);
    graft__shared_route *e1, *e2, *e3;
    check(graft__shared_route_attach(s, "GET", "/a/{id}", 0, 0, "lib.so", 1, &e1) == 0, "attach", "failed");
    /* A second worker, started with another mode, adopts the table's. */
    check(graft__shared_route_attach(s, "GET", "/a/{id}", 0, 0, "lib.so", 0, &e2) == 0 && e1 == e2 &&
              atomic_load(&e2->mode) == 1, "adopt", "the live mode was not kept");
    check(graft__shared_route_attach(s, "POST", "/a/{id}", 0, 0, NULL, 2 | (30 << 8), &e3) == 0 && e3 != e1,
          "method", "POST is another route");
    check(graft__shared_route_count(s) == 2, "count", "expected 2 routes");
    check(graft__shared_route_find(s, "POST", 4, "/a/{id}", 7) == e3, "find", "failed");
    check(graft__shared_route_find(s, "PUT", 3, "/a/{id}", 7) == NULL, "find none", "found");
    char longt[GRAFT__SHM_TEMPLATE + 8];
    memset(longt, 'a', sizeof longt - 1);
    longt[sizeof longt - 1] = '\0';
    check(graft__shared_route_attach(s, "GET", longt, 0, 0, NULL, 0, &e3) < 0, "too long", "accepted");
    graft__shared_free(s);
}

int main(void)
{
    test_merge_and_respawn();
    test_histogram();
    test_shadow_dropped_escape();
    test_route_table();
    return unit_report();
}
