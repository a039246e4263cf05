/* Recording metrics into this worker's slot of the shared region (shared.h).
 *
 * Only this process writes its slot. A series is found through a process-local hash index
 * (lock-free for lookups: entries are published with release and never change); a new series
 * is added under a process-local mutex, its key written before the slot's count is raised, so
 * a renderer in another process sees it only whole. Counting is relaxed atomic adds: a scrape
 * may see a count before its sum, never a lost or doubled increment. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "req.h"
#include "shared_layout.h"

#define INDEX_SIZE (GRAFT__SHM_SERIES * 2) /* a power of two: at most half full */

struct graft__metrics {
    graft__shared *s;
    graft__mx_slot *slot;
    pthread_mutex_t mu;             /* adding a series */
    atomic_uint index[INDEX_SIZE];  /* series number + 1; 0 empty */
};

const char *const graft__mx_methods[GRAFT__MX_NMETHODS] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "other"};
const char *const graft__mx_by[4] = {"python", "native", "declined", "graft"};

/* Histogram bounds in ns; metrics_render.c prints the same values in seconds. */
static const uint64_t bounds_ns[GRAFT__MX_BOUNDS] = {
    100000,    250000,    500000,     1000000,    2500000,    5000000,     10000000,   25000000,
    50000000,  100000000, 250000000,  500000000,  1000000000, 2500000000u, 5000000000u, 10000000000u};

int graft__mx_method_index(const char *m, size_t n)
{
    for (int i = 0; i < GRAFT__MX_NMETHODS - 1; i++)
        if (strlen(graft__mx_methods[i]) == n && memcmp(graft__mx_methods[i], m, n) == 0)
            return i;
    return GRAFT__MX_NMETHODS - 1;
}

uint64_t graft__metrics_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* FNV-1a over the key up to the route's NUL: the bytes after it are all zero, so equal keys
 * hash equal, and the hot path hashes a short route rather than the whole key. */
static uint64_t key_hash(const graft__mx_key *k)
{
    const unsigned char *p = (const unsigned char *)k;
    size_t n = offsetof(graft__mx_key, route) + strnlen(k->route, GRAFT__MX_ROUTE);
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* The index position holding k, or the empty one where it would go. */
static size_t probe(graft__metrics *m, const graft__mx_key *k, unsigned *found)
{
    size_t i = (size_t)key_hash(k) & (INDEX_SIZE - 1);
    for (;; i = (i + 1) & (INDEX_SIZE - 1)) {
        unsigned v = atomic_load_explicit(&m->index[i], memory_order_acquire);
        if (!v || memcmp(&m->slot->series[v - 1].key, k, sizeof *k) == 0) {
            *found = v;
            return i;
        }
    }
}

/* The series of k in this slot, added when new; NULL when the slot is full (counted). */
static graft__mx_series *series_of(graft__metrics *m, const graft__mx_key *k)
{
    unsigned v;
    size_t i = probe(m, k, &v);
    if (v)
        return &m->slot->series[v - 1];
    pthread_mutex_lock(&m->mu);
    i = probe(m, k, &v); /* another thread of ours may have added it meanwhile */
    if (!v) {
        unsigned n = atomic_load_explicit(&m->slot->nseries, memory_order_relaxed);
        if (n >= GRAFT__SHM_SERIES) {
            pthread_mutex_unlock(&m->mu);
            atomic_fetch_add_explicit(&m->slot->dropped, 1, memory_order_relaxed);
            return NULL;
        }
        m->slot->series[n].key = *k; /* its values are 0: never counted before publication */
        atomic_store_explicit(&m->slot->nseries, n + 1, memory_order_release);
        v = n + 1;
        atomic_store_explicit(&m->index[i], v, memory_order_release);
    }
    pthread_mutex_unlock(&m->mu);
    return &m->slot->series[v - 1];
}

int graft__metrics_new(graft__metrics **out, graft__shared *s, int slot)
{
    if (!s || slot < 0 || slot >= GRAFT__SHM_SLOTS)
        return -EINVAL;
    graft__metrics *m = calloc(1, sizeof *m);
    if (!m)
        return -ENOMEM;
    pthread_mutex_init(&m->mu, NULL);
    m->s = s;
    m->slot = &s->slots[slot];
    /* A respawned worker continues the series its slot's previous owner left. */
    unsigned n = atomic_load_explicit(&m->slot->nseries, memory_order_acquire);
    for (unsigned j = 0; j < n; j++) {
        unsigned v;
        size_t i = probe(m, &m->slot->series[j].key, &v);
        if (!v)
            atomic_store_explicit(&m->index[i], j + 1, memory_order_relaxed);
    }
    atomic_store(&m->slot->connections, 0);
    atomic_store(&m->slot->pid, (int)getpid());
    *out = m;
    return 0;
}

void graft__metrics_free(graft__metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

graft__shared *graft__metrics_shared(graft__metrics *m) { return m ? m->s : NULL; }

void graft__metrics_conn(graft__metrics *m, int delta)
{
    if (m)
        atomic_fetch_add_explicit(&m->slot->connections, delta, memory_order_relaxed);
}

static void set_route(graft__mx_key *k, const char *route)
{
    if (!route)
        route = "other";
    size_t n = strlen(route);
    memcpy(k->route, route, n < GRAFT__MX_ROUTE ? n : GRAFT__MX_ROUTE - 1);
}

void graft__metrics_request(graft__metrics *m, const graft__req *r)
{
    if (!m || r->status < 100 || r->status > 599)
        return;
    graft__mx_key k;
    memset(&k, 0, sizeof k);
    k.kind = GRAFT__MX_REQ;
    k.method = (uint8_t)graft__mx_method_index(r->method, r->method_len);
    k.by = r->answered_by <= GRAFT__BY_GRAFT ? r->answered_by : GRAFT__BY_PYTHON;
    k.status = (uint16_t)r->status;
    set_route(&k, r->route_label);
    graft__mx_series *se = series_of(m, &k);
    if (!se)
        return;
    uint64_t now = graft__metrics_now();
    uint64_t d = r->t_start_ns && now > r->t_start_ns ? now - r->t_start_ns : 0;
    int b = 0;
    while (b < GRAFT__MX_BOUNDS && d > bounds_ns[b])
        b++;
    atomic_fetch_add_explicit(&se->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&se->sum_ns, d, memory_order_relaxed);
    atomic_fetch_add_explicit(&se->count, 1, memory_order_relaxed);
}

void graft__metrics_shadow(graft__metrics *m, int what, const char *method, const char *route,
                           const char *reason)
{
    if (!m || what < GRAFT__SHADOW_COMPARED || what > GRAFT__SHADOW_SKIPPED || !method)
        return;
    graft__mx_key k;
    memset(&k, 0, sizeof k);
    k.kind = (uint8_t)(GRAFT__MX_SHADOW_BASE + what);
    k.method = (uint8_t)graft__mx_method_index(method, strlen(method));
    set_route(&k, route);
    if (what == GRAFT__SHADOW_FAILED) {
        /* A bounded, label-safe reason: the renderer then needs no escaping for it. */
        const char *p = reason ? reason : "other";
        for (size_t i = 0; p[i] && i < GRAFT__MX_REASON - 1; i++) {
            char c = p[i];
            int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
            k.reason[i] = ok ? c : '_';
        }
    }
    graft__mx_series *se = series_of(m, &k);
    if (se)
        atomic_fetch_add_explicit(&se->count, 1, memory_order_relaxed);
}

void graft__metrics_route_counts(graft__shared *s, const char *method, const char *template,
                                 graft__route_counts *out)
{
    memset(out, 0, sizeof *out);
    int mi = graft__mx_method_index(method, strlen(method));
    for (int i = 0; i < GRAFT__SHM_SLOTS; i++) {
        graft__mx_slot *sl = &s->slots[i];
        unsigned n = atomic_load_explicit(&sl->nseries, memory_order_acquire);
        for (unsigned j = 0; j < n; j++) {
            const graft__mx_series *se = &sl->series[j];
            if (se->key.method != mi || strncmp(se->key.route, template, GRAFT__MX_ROUTE) != 0)
                continue;
            uint64_t c = atomic_load_explicit(&((graft__mx_series *)se)->count, memory_order_relaxed);
            uint64_t *to = NULL;
            switch (se->key.kind) {
            case GRAFT__MX_REQ:
                to = se->key.by == GRAFT__BY_NATIVE     ? &out->native
                     : se->key.by == GRAFT__BY_DECLINED ? &out->declined
                     : se->key.by == GRAFT__BY_PYTHON   ? &out->python
                                                        : NULL;
                break;
            case GRAFT__MX_SHADOW_BASE + GRAFT__SHADOW_COMPARED: to = &out->shadow_compared; break;
            case GRAFT__MX_SHADOW_BASE + GRAFT__SHADOW_MISMATCH: to = &out->shadow_mismatches; break;
            case GRAFT__MX_SHADOW_BASE + GRAFT__SHADOW_FAILED: to = &out->shadow_failed; break;
            case GRAFT__MX_SHADOW_BASE + GRAFT__SHADOW_SKIPPED: to = &out->shadow_skipped; break;
            }
            if (to)
                *to += c;
        }
    }
}
