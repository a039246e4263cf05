/* crash.c — a handler that crashes the process, for test_native_crash.py (issue 11):
 * GET /crash/{how} dereferences NULL ("segv"), calls abort() ("abort") or recurses until
 * its stack overflows ("overflow");
 * GET /alive answers the worker's pid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <graft.h>

GRAFT_LIBRARY()

/* Not a tail call (the sum after it), and volatile frames: the stack really grows, far
 * past any stack before n runs out. */
static int deeper(volatile char *up, long n)
{
    volatile char frame[4096];
    frame[0] = (char)(up ? up[0] + 1 : 0);
    if (n == 0)
        return frame[0];
    return deeper(frame, n - 1) + frame[100];
}

static int crash(graft_request *req, void *st)
{
    (void)st;
    const char *how = graft_param(req, "how", NULL);
    if (how && strcmp(how, "abort") == 0)
        abort();
    if (how && strcmp(how, "overflow") == 0)
        return deeper(NULL, 1L << 40);
    volatile int *volatile nowhere = NULL;
    *nowhere = 1;
    return graft_respond(req, 200, "text/plain", "survived", 8);
}

static int alive(graft_request *req, void *st)
{
    (void)st;
    char b[32];
    int n = snprintf(b, sizeof b, "%d", (int)getpid());
    return graft_respond(req, 200, "text/plain", b, (size_t)n);
}

int graft_register(graft_router *r, const char *config)
{
    (void)config;
    int rc = graft_route(r, "GET", "/crash/{how}", crash, 0);
    if (!rc)
        rc = graft_route(r, "GET", "/alive", alive, 0);
    return rc;
}
