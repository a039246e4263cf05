/* graft-serve's TLS context (serve_tls.h). */
#include <stdio.h>

#include "serve_tls.h"

_Static_assert(sizeof((opts *)0)->ssl_ticket_keys == GRAFT__TLS_TICKET_KEYS, "ticket key size");

int graft__serve_tls_on(const opts *o) { return o->ssl_certfile || o->ssl_keyfile; }

graft__tls *graft__serve_tls_new(const opts *o, int *failed)
{
    *failed = 0;
    if (!graft__serve_tls_on(o))
        return NULL;
    graft__tls_config cfg = {.certfile = o->ssl_certfile, .keyfile = o->ssl_keyfile,
                             .password = o->ssl_password, .ca_certs = o->ssl_ca_certs,
                             .ciphers = o->ssl_ciphers, .version = o->ssl_version,
                             .cert_reqs = o->ssl_cert_reqs,
                             .ticket_keys = o->has_ticket_keys ? o->ssl_ticket_keys : NULL,
                             .no_ktls = o->ssl_no_ktls};
    graft__tls *t = NULL;
    char err[1024] = "";
    if (graft__tls_new(&cfg, &t, err, sizeof err) < 0) {
        fprintf(stderr, "ERROR:    graft-serve: %s\n", err[0] ? err : "cannot build the TLS context");
        *failed = 1;
        return NULL;
    }
    return t;
}

int graft__serve_tls_prepare(opts *o)
{
    if (!graft__serve_tls_on(o))
        return 0;
    /* Made here, before any fork: every worker, and every worker a reload starts, shares them. */
    if (graft__tls_ticket_keys(o->ssl_ticket_keys) < 0) {
        fprintf(stderr, "ERROR:    graft-serve: cannot make TLS session-ticket keys\n");
        return -1;
    }
    o->has_ticket_keys = 1;
    int failed;
    graft__tls_free(graft__serve_tls_new(o, &failed));
    return failed ? -1 : 0;
}
