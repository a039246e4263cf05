/* graft-serve's TLS context (serve_tls.h). */
#include <stdio.h>

#include "serve_tls.h"

int graft__serve_tls_on(const opts *o) { return o->ssl_certfile || o->ssl_keyfile; }

graft__tls *graft__serve_tls_new(const opts *o, int *failed)
{
    *failed = 0;
    if (!graft__serve_tls_on(o))
        return NULL;
    graft__tls_config cfg = {.certfile = o->ssl_certfile, .keyfile = o->ssl_keyfile,
                             .password = o->ssl_password, .ca_certs = o->ssl_ca_certs,
                             .ciphers = o->ssl_ciphers, .version = o->ssl_version,
                             .cert_reqs = o->ssl_cert_reqs};
    graft__tls *t = NULL;
    char err[1024] = "";
    if (graft__tls_new(&cfg, &t, err, sizeof err) < 0) {
        fprintf(stderr, "ERROR:    graft-serve: %s\n", err[0] ? err : "cannot build the TLS context");
        *failed = 1;
        return NULL;
    }
    return t;
}
