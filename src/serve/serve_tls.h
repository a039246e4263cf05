/* graft-serve's TLS: the context from the --ssl-* options (tls.h). */
#ifndef GRAFT__SERVE_TLS_H
#define GRAFT__SERVE_TLS_H

#include "serve_opts.h"
#include "tls.h"

/* Whether the options turn TLS on (uvicorn's rule: a key or a certificate). */
int graft__serve_tls_on(const opts *o);
/* Before binding and forking: checks the files once (one clear error, not one per worker)
 * and makes the session-ticket keys every worker (and every reload's) shares. Returns 0, or -1
 * after printing the error. */
int graft__serve_tls_prepare(opts *o);
/* Builds the context for one server process (each worker builds its own, so a restarted
 * worker reads the files on disk). NULL without TLS or on failure; *failed says which, and
 * the error, naming the file, is on stderr. */
graft__tls *graft__serve_tls_new(const opts *o, int *failed);

#endif
