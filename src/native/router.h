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

/* A match: the route and its captures as spans of the path it was matched on (the decoded
 * path, graft__path_decode: valid as long as that buffer is; whoever keeps a match copies them). */
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

/* Finds the best route for method and path; 1 when found, else 0. path is the DECODED path
 * (graft__path_decode), as Starlette matches scope["path"]: segments split on its '/', so a
 * capture never spans an encoded "%2F" (but {rest:path} takes it as '/'), and literal segments
 * compare byte for byte with the decoded text. With head_as_get, HEAD also matches GET routes
 * (graft-serve without FastAPI routing: no app to answer it). Allocates nothing. */
int graft__router_match(const graft_router *r, const char *method, size_t mlen, const char *path,
                        size_t plen, int websocket, int head_as_get, graft__match *m);
/* The first registered HTTP route (any method) whose template matches the decoded path, or
 * NULL: the route whose methods Starlette's 405 lists (its first partial match), and the test
 * behind its trailing-slash redirect. */
const graft__route *graft__router_path_route(const graft_router *r, const char *path, size_t plen);
/* Frees every route. */
void graft__router_free(graft_router *r);

#endif
