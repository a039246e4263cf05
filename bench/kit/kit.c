/* GET /items/{item_id}?limit=&q= through the kit: the contract comes from the app's OpenAPI
 * document (graft-serve --openapi), so validation, coercion and FastAPI's 422 are the kit's. */
#include <stdio.h>

#include <graft.h>

GRAFT_LIBRARY()

static int item(graft_request *req, void *st)
{
    (void)st;
    GRAFT_VALIDATE(req);
    size_t n;
    const char *q = graft_arg_str(req, "q", &n);
    long long id = (long long)graft_arg_int(req, "item_id"), limit = (long long)graft_arg_int(req, "limit");
    char body[256];
    int len = q ? snprintf(body, sizeof body, "{\"id\":%lld,\"limit\":%lld,\"q\":\"%.*s\"}", id, limit, (int)n, q)
                : snprintf(body, sizeof body, "{\"id\":%lld,\"limit\":%lld,\"q\":null}", id, limit);
    return graft_respond(req, 200, "application/json", body, (size_t)len);
}

GRAFT_API int graft_register(graft_router *r, const char *config)
{
    (void)config;
    return graft_route(r, "GET", "/items/{item_id}", item, 0);
}
