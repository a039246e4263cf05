/* graft-serve's admin listeners (serve_admin.c). */
#ifndef GRAFT__SERVE_ADMIN_H
#define GRAFT__SERVE_ADMIN_H

/* Binds and listens on --metrics HOST:PORT ("[::1]:9100" for IPv6). Returns the non-blocking
 * fd, or -1 after writing why to stderr. */
int graft__serve_bind_metrics(const char *spec, int backlog);
/* Binds and listens on --control PATH, a Unix socket created with mode 0600 (a stale socket
 * there is replaced; any other file is refused). Returns the fd, or -1 after writing why. */
int graft__serve_bind_control(const char *path, int backlog);

#endif
