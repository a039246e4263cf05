/* The smallest native route: GET /hello/{name} -> "Hello, {name}!" in C.
 *
 *   cc -O2 -shared -fPIC $(graft-config --cflags) hello.c -o hello.so $(graft-config --libs)
 *   graft app:app --native ./hello.so
 *
 * POST /hello/{name}, and every other path, still go to the Python app. */
#include <stdio.h>
#include <string.h>

#include <graft.h>

GRAFT_LIBRARY()

static int hello(graft_request *req, void *state)
{
    (void)state;
    size_t n;
    const char *name = graft_param(req, "name", &n); /* percent-decoded */
    char body[512];
    if (n > sizeof body - 16)
        return graft_respond(req, 414, "text/plain; charset=utf-8", "Name too long", 13);
    int len = snprintf(body, sizeof body, "Hello, %.*s!", (int)n, name);
    return graft_respond(req, 200, "text/plain; charset=utf-8", body, (size_t)len);
}

int graft_register(graft_router *router, const char *config)
{
    (void)config;
    return graft_route(router, "GET", "/hello/{name}", hello, 0);
}
