/* Route contracts attached to the native routes at start-up: each HTTP route takes the
 * document's operation with its method and template (names ignored), and the report says
 * which did, which found none, and which use what the kit does not reproduce. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "contract_body.h"
#include "native_req.h"

static int line(graft__buf *report, char level, const graft__route *rt, const char *what)
{
    char l[768];
    int n = snprintf(l, sizeof l, "%c %s %s: %s\n", level, rt->method, rt->template, what);
    if (n < 0)
        return 0;
    return graft__buf_append(report, l, (size_t)n < sizeof l ? (size_t)n : sizeof l - 1);
}

int graft__native_set_contracts(graft__native *n, const char *json, size_t len, int has_app,
                                graft__buf *report, char *err, size_t errlen)
{
    if (n->contracts) {
        snprintf(err, errlen, "route contracts are already set");
        return GRAFT_EINVAL;
    }
    graft__contracts *cs;
    int rc = graft__contracts_parse(json, len, &cs, err, errlen);
    if (rc < 0)
        return rc;
    const graft__contract **rc_ = calloc(n->router.n ? n->router.n : 1, sizeof *rc_);
    if (!rc_) {
        graft__contracts_free(cs);
        snprintf(err, errlen, "out of memory");
        return GRAFT_ENOMEM;
    }
    int unsupported = 0;
    /* A document `graft openapi` wrote under other releases: the kit follows the pinned ones */
    const char *fv = cs->fastapi, *pv = cs->pydantic;
    if ((fv && strncmp(fv, GRAFT__KIT_FASTAPI, strlen(GRAFT__KIT_FASTAPI)) != 0) ||
        (pv && strncmp(pv, GRAFT__KIT_PYDANTIC, strlen(GRAFT__KIT_PYDANTIC)) != 0)) {
        char l[300];
        int k = snprintf(l, sizeof l, "V the document was written with FastAPI %s and Pydantic %s; "
                         "the kit reproduces FastAPI %sx and Pydantic %sx\n", fv ? fv : "?",
                         pv ? pv : "?", GRAFT__KIT_FASTAPI, GRAFT__KIT_PYDANTIC);
        if (k > 0)
            rc = graft__buf_append(report, l, (size_t)k < sizeof l ? (size_t)k : sizeof l - 1);
    }
    for (size_t i = 0; i < n->router.n && rc >= 0; i++) {
        const graft__route *rt = &n->router.routes[i];
        if (rt->is_ws)
            continue;
        const graft__contract *c = graft__contracts_find(cs, rt->method, rt->template);
        char what[640];
        if (!c) {
            rc = line(report, 'D', rt, "no operation in the OpenAPI document (no contract)");
        } else if (c->unsupported) {
            unsupported++;
            snprintf(what, sizeof what, "contract not supported by the kit: %s%s", c->unsupported,
                     has_app ? " (graft_validate declines to the app)" : "");
            rc = line(report, 'W', rt, what);
        } else if (c->body && !(rt->flags & GRAFT_ROUTE_BODY)) {
            unsupported++;
            snprintf(what, sizeof what, "the operation takes a JSON body but the route is not registered "
                     "with GRAFT_ROUTE_BODY%s", has_app ? " (graft_validate declines to the app)" : "");
            rc = line(report, 'W', rt, what);
        } else {
            snprintf(what, sizeof what, "contract of %s %s, %zu parameter%s", c->method, c->template,
                     c->nparams, c->nparams == 1 ? "" : "s");
            if (c->body)
                strncat(what, " and a JSON body", sizeof what - strlen(what) - 1);
            rc = line(report, 'D', rt, what);
        }
        rc_[i] = c;
    }
    if (rc < 0) {
        free(rc_);
        graft__contracts_free(cs);
        snprintf(err, errlen, "out of memory");
        return GRAFT_ENOMEM;
    }
    n->contracts = cs;
    n->route_contract = rc_;
    return unsupported;
}
