/* bodyread.c — POST /read-slowly (GRAFT_ROUTE_BLOCKING, streamed body): reads the body
 * with graft_body_read a few bytes at a time, and pauses after its first bytes. The rest
 * of the body arrives meanwhile, and the I/O thread marks it complete, while bytes of the
 * first part still wait in the request: the next read answers from them and reads the
 * "complete" flag without the connection lock. tests/native/test_native_body_read.py;
 * `make test-tsan` reports a race there. Answers "<bytes> <done>". */
#include <stdio.h>
#include <time.h>

#include <graft.h>

GRAFT_LIBRARY()

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int read_slowly(graft_request *req, void *st)
{
    (void)st;
    char buf[4];
    size_t total = 0;
    int done = 0, paused = 0;
    for (int i = 0; !done && i < 5000; i++) { /* bounded: about 5 s of 1 ms waits */
        size_t n = graft_body_read(req, buf, sizeof buf, &done);
        total += n;
        if (n && !paused) {
            paused = 1;
            pause_ms(300);
        } else if (!n && !done) {
            pause_ms(1);
        }
    }
    char out[48];
    int len = snprintf(out, sizeof out, "%zu %d", total, done);
    return graft_respond(req, 200, "text/plain", out, (size_t)len);
}

int graft_register(graft_router *r, const char *config)
{
    (void)config;
    return graft_route(r, "POST", "/read-slowly", read_slowly, GRAFT_ROUTE_BLOCKING);
}
