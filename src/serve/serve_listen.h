/* graft-serve's listening socket: --uds, systemd's (socket activation) or --host/--port. */
#ifndef GRAFT__SERVE_LISTEN_H
#define GRAFT__SERVE_LISTEN_H

#include "serve_opts.h"

/* The socket to serve, listening and non-blocking: --uds PATH (bound here), else the one
 * systemd passed (LISTEN_FDS=1 with LISTEN_PID naming this process, at descriptor 3, as
 * sd_listen_fds(3); the variables are then removed), else --host/--port. Prints graft's
 * "running on" line. *is_unix tells whether it is a Unix socket. Returns the descriptor, or
 * -1 after a message (a bind error, or several sockets passed: graft-serve serves one). */
int graft__serve_listen(const opts *o, int *is_unix);

#endif
