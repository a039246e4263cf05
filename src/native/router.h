/* Method + path-template routing for native handlers (no Python). */
#ifndef GRAFT__ROUTER_H
#define GRAFT__ROUTER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "graft.h"

#define GRAFT__MAX_PARAMS 8

struct graft__lib;

typedef struct graft__route {
    char *method;
    char *template;
    char **segs;       /* literal text, or the capture name */
    unsigned char *kinds; /* per segment: 0 literal, 1 {param}, 2 {rest:path} */
    size_t nsegs;
    graft_handler handler;
    graft_ws_handlers ws;  /* WebSocket route when is_ws */
    int is_ws;
    unsigned flags;
    struct graft__lib *lib;
    /* Who answers a matched request (route_mode.c): the kind in the low byte, the split
     * percentage above it, so a live switch is one store. The mode read is *mode: the entry
     * of the shared region's live table once the route is attached to it (every worker
     * then reads the same int), else NULL and mode_own. mode_seq counts split decisions,
     * per worker. */
    atomic_int mode_own;
    atomic_int *mode;
    atomic_uint_fast64_t mode_seq;
} graft__route;

/* A match: the route and its captures as raw (still encoded) spans of the path. */
typedef struct graft__match {
    const graft__route *route;
    size_t nparams;
    const char *names[GRAFT__MAX_PARAMS];
    const char *vals[GRAFT__MAX_PARAMS];
    size_t lens[GRAFT__MAX_PARAMS];
} graft__match;

struct graft_router {
    graft__route *routes;
    size_t n, cap;
    struct graft__lib *current; /* library being registered */
    char err[512];              /* why the last graft_route failed */
};

/* Finds the best route for method and raw path; 1 when found, else 0. With head_as_get,
 * HEAD also matches GET routes (graft-serve: no app to answer it). */
int graft__router_match(const graft_router *r, const char *method, size_t mlen, const char *path,
                        size_t plen, int websocket, int head_as_get, graft__match *m);
/* Frees every route. */
void graft__router_free(graft_router *r);

#endif
