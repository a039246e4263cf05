/* GET /native/tls: the TLS facts a native handler sees (graft.h, ABI revision 5), as JSON. */
#include <stdio.h>
#include <unistd.h>

#include <graft.h>

GRAFT_LIBRARY()

static int facts(graft_request *req, void *state)
{
    (void)state;
    size_t n;
    const char *name = graft_tls_client_name(req, &n);
    char body[1024];
    int len = snprintf(body, sizeof body,
                       "{\"scheme\":\"%s\",\"tls_version\":%d,\"cipher_suite\":%d,\"client_cert_name\":%s%.*s%s,\"pid\":%d}",
                       graft_scheme(req), graft_tls_version(req), graft_tls_cipher(req), name ? "\"" : "",
                       name ? (int)n : 4, name ? name : "null", name ? "\"" : "", (int)getpid());
    return graft_respond(req, 200, "application/json", body, (size_t)len);
}

int graft_register(graft_router *router, const char *config)
{
    (void)config;
    return graft_route(router, "GET", "/native/tls", facts, 0);
}
