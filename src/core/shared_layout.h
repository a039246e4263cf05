/* The shared region's layout (shared.h), for shared.c, metrics.c and metrics_render.c only.
 *
 * Publication rule, for the route table and each slot's series alike: an entry is written
 * whole, then the count is incremented with release; readers load the count with acquire and
 * read only entries below it. Entries are never removed or rewritten (a series' values are
 * atomics), so a reader in another process never sees a half-written key. */
#ifndef GRAFT__SHARED_LAYOUT_H
#define GRAFT__SHARED_LAYOUT_H

#include <pthread.h>

#include "shared.h"

#define GRAFT__SHM_MAGIC 0x31304d4853544647ull /* "GFTSHM01" */
/* Series one worker slot holds; new label sets beyond it are counted in `dropped`. */
#define GRAFT__SHM_SERIES 4096
/* Route label bytes kept in a series key (NUL included); longer templates are cut. */
#define GRAFT__MX_ROUTE 128
#define GRAFT__MX_REASON 16
/* Histogram upper bounds, 100 µs to 10 s (metrics_render.c holds their text); one more
 * bucket counts what is above the last. Buckets are stored per bucket, cumulated on render. */
#define GRAFT__MX_BOUNDS 16

/* Series kinds: the metric family a key belongs to. */
enum { GRAFT__MX_REQ = 1, GRAFT__MX_SHADOW_BASE = 10 /* + GRAFT__SHADOW_* */ };

/* A series' label set, compared and hashed as bytes: every unused byte is zero. */
typedef struct graft__mx_key {
    uint8_t kind;
    uint8_t method; /* index in graft__mx_methods; the last one is "other" */
    uint8_t by;     /* GRAFT__BY_* */
    uint8_t pad;
    uint16_t status;
    char reason[GRAFT__MX_REASON];
    char route[GRAFT__MX_ROUTE];
} graft__mx_key;

typedef struct graft__mx_series {
    graft__mx_key key;
    atomic_uint_least64_t count;
    atomic_uint_least64_t sum_ns;
    atomic_uint_least64_t buckets[GRAFT__MX_BOUNDS + 1];
} graft__mx_series;

typedef struct graft__mx_slot {
    atomic_int pid;           /* 0: free */
    atomic_long connections;  /* open connections of the worker in the slot */
    atomic_uint_least64_t dropped; /* observations whose new series found the slot full */
    atomic_uint nseries;      /* published series (release) */
    graft__mx_series series[GRAFT__SHM_SERIES];
} graft__mx_slot;

struct graft__shared {
    uint64_t magic;
    uint64_t size;
    atomic_int workers;
    /* Guards route insertion across processes; robust, so a worker dying inside it does not
     * wedge the others (the next locker gets EOWNERDEAD and makes it consistent). */
    pthread_mutex_t route_mu;
    atomic_uint nroutes;
    graft__shared_route routes[GRAFT__SHM_ROUTES];
    graft__mx_slot slots[GRAFT__SHM_SLOTS];
};

/* Method label names, in key order; index GRAFT__MX_NMETHODS - 1 is "other". */
#define GRAFT__MX_NMETHODS 10
extern const char *const graft__mx_methods[GRAFT__MX_NMETHODS];
/* answered_by label names, indexed by GRAFT__BY_*. */
extern const char *const graft__mx_by[4];
/* The method index of the n bytes at m. */
int graft__mx_method_index(const char *m, size_t n);
/* metrics_proc.c: appends the process_* metrics summed over the live workers' /proc
 * entries (the start time is the earliest). Returns 0 or -ENOMEM. */
int graft__mx_render_process(graft__shared *s, graft__buf *out);

#endif
