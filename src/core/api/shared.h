/* The shared region (issue 8): one anonymous MAP_SHARED mapping created before any worker is
 * forked and inherited by all of them, respawned ones included. It holds the live route-mode
 * table (so `graft ctl set` is one atomic store every worker sees) and one metrics slot per
 * worker (so a scrape answered by any worker sums them all, and a respawned worker's counts
 * stay in its slot). Layout and invariants: shared_layout.h and docs/ARCHITECTURE.md.
 *
 * Writers: the supervisor (workers gauge, freeing a slot at reap); a worker (its own slot
 * only; route entries under the region's robust mutex); the control listener (route modes).
 * Readers: any process. */
#ifndef GRAFT__SHARED_H
#define GRAFT__SHARED_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct graft__shared graft__shared;
typedef struct graft__metrics graft__metrics;
struct graft__req;

/* Worker slots a region holds; the supervisor refuses more workers than this with metrics on. */
#define GRAFT__SHM_SLOTS 64
/* Native routes the mode table holds; routes beyond it keep a per-worker mode. */
#define GRAFT__SHM_ROUTES 512
/* Longest method, template (bytes, NUL included) a route entry holds. */
#define GRAFT__SHM_METHOD 16
#define GRAFT__SHM_TEMPLATE 256
#define GRAFT__SHM_LIB 256

/* Creates and initialises a region (mmap, MAP_SHARED|MAP_ANONYMOUS); *out on success.
 * Returns 0 or a negative errno. */
int graft__shared_new(graft__shared **out);
/* Unmaps the region in this process (other processes keep their mapping). */
void graft__shared_free(graft__shared *s);
/* Size of the mapping in bytes (virtual; pages are touched only as they are used). */
size_t graft__shared_size(void);
/* Supervisor: the number of live workers, exposed as graft_workers. */
void graft__shared_set_workers(graft__shared *s, int n);
/* Supervisor, after reaping the worker of slot i: the slot's pid and connections gauge go to 0
 * (its counters stay, for the next worker taking the slot). */
void graft__shared_slot_reset(graft__shared *s, int i);

/* A route entry of the live mode table, as admin.c and route_mode.c read it. */
typedef struct graft__shared_route {
    char method[GRAFT__SHM_METHOD];
    char template[GRAFT__SHM_TEMPLATE];
    char lib[GRAFT__SHM_LIB];
    unsigned flags; /* the route's GRAFT_ROUTE_* flags as registered */
    int is_ws;
    atomic_int mode; /* packed mode (route_mode.c): kind in the low byte, percentage << 8 */
} graft__shared_route;

/* Finds the entry (method, template) or creates it with mode (flags, is_ws and lib as given);
 * an existing entry keeps its mode, which is how a respawned worker adopts the live one.
 * *out points at the entry's atomic mode. Returns 0, -ENOSPC (table full) or -ENAMETOOLONG. */
int graft__shared_route_attach(graft__shared *s, const char *method, const char *template,
                               unsigned flags, int is_ws, const char *lib, int mode,
                               graft__shared_route **out);
/* Entries published so far (each stays for the region's life). */
size_t graft__shared_route_count(const graft__shared *s);
/* Entry i < graft__shared_route_count; NULL beyond. */
graft__shared_route *graft__shared_route_at(graft__shared *s, size_t i);
/* The entry for method and template given as spans; NULL when none. */
graft__shared_route *graft__shared_route_find(graft__shared *s, const char *m, size_t ml,
                                              const char *t, size_t tl);

/* Who answered a request: the graft_requests_total label answered_by. */
enum { GRAFT__BY_PYTHON = 0, GRAFT__BY_NATIVE = 1, GRAFT__BY_DECLINED = 2, GRAFT__BY_GRAFT = 3 };
/* What a shadow counter counts (graft__metrics_shadow). */
enum { GRAFT__SHADOW_COMPARED = 1, GRAFT__SHADOW_MISMATCH = 2, GRAFT__SHADOW_FAILED = 3,
       GRAFT__SHADOW_SKIPPED = 4 };

/* Takes worker slot `slot` (0..GRAFT__SHM_SLOTS-1) of s for this process: writes its pid,
 * zeroes its connections gauge and indexes the series a previous owner left, so counting
 * continues in them. Returns 0 or a negative errno; *out is the handle every call takes. */
int graft__metrics_new(graft__metrics **out, graft__shared *s, int slot);
/* Frees the process-local handle (the slot stays in the region). NULL is a no-op. */
void graft__metrics_free(graft__metrics *m);
/* The region of a handle. */
graft__shared *graft__metrics_shared(graft__metrics *m);
/* Counts one more (+1) or one less (-1) open connection in this worker's gauge. */
void graft__metrics_conn(graft__metrics *m, int delta);
/* Monotonic nanoseconds (the request start time producers compare against). */
uint64_t graft__metrics_now(void);
/* Counts a completed response of r: method, r->route_label (NULL: "other"), r->answered_by,
 * r->status (100..599, else nothing is counted) and the time since r->t_start_ns. Any thread. */
void graft__metrics_request(graft__metrics *m, const struct graft__req *r);
/* Counts one shadow event of route (method, template): what is GRAFT__SHADOW_*; reason only
 * for _FAILED ("declined", "error", "timeout"...; [a-z0-9_] kept, up to 15 bytes). */
void graft__metrics_shadow(graft__metrics *m, int what, const char *method, const char *route,
                           const char *reason);
/* Appends the Prometheus text format (0.0.4) of every slot, merged, to out. Any process.
 * Returns 0 or -ENOMEM. */
int graft__metrics_render(graft__shared *s, graft__buf *out);

/* Per-route totals over every slot, for the control listener's GET /routes. */
typedef struct graft__route_counts {
    uint64_t native, python, declined, shadow_compared, shadow_mismatches, shadow_failed,
        shadow_skipped;
} graft__route_counts;
/* Sums the counters labelled with route (method, template) across all slots into *out. */
void graft__metrics_route_counts(graft__shared *s, const char *method, const char *template,
                                 graft__route_counts *out);

#endif
