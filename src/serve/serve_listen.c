/* graft-serve's listening socket (serve_listen.h): bound here, or passed by systemd. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "serve_listen.h"

#define SD_LISTEN_FDS_START 3 /* sd_listen_fds(3): passed sockets start at this descriptor */

static int bind_socket(const opts *o)
{
    int fd;
    if (o->uds) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(o->uds) >= sizeof sa.sun_path)
            return -1;
        strcpy(sa.sun_path, o->uds);
        unlink(o->uds);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, o->backlog) < 0) {
            perror("graft-serve: bind");
            return -1;
        }
        return fd;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", o->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai;
    int rc = getaddrinfo(o->host, port, &hints, &ai);
    if (rc) {
        fprintf(stderr, "graft-serve: %s: %s\n", o->host, gai_strerror(rc));
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, o->backlog) < 0) {
        fprintf(stderr, "graft-serve: cannot bind %s:%d: %s\n", o->host, o->port, strerror(errno));
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* The socket systemd passed, 0 if none is meant for us, -1 on an error (reported). As
 * sd_listen_fds(3) with unset_environment: the variables are removed once read, so nothing
 * this process starts takes the socket for its own. */
static int systemd_fd(void)
{
    const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
    if (!fds)
        return 0;
    char *end;
    long n = strtol(fds, &end, 10);
    int ours = !pid || strtol(pid, NULL, 10) == (long)getpid();
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDNAMES");
    if (!ours)
        return 0; /* meant for another process (an ancestor that exec'd us through a shell) */
    if (end == fds || *end) {
        fprintf(stderr, "graft-serve: LISTEN_FDS=%s is not a number\n", fds);
        return -1;
    }
    if (n < 1)
        return 0;
    if (n > 1) {
        fprintf(stderr, "graft-serve: systemd passed %ld sockets (LISTEN_FDS); graft-serve serves one. "
                "Give the socket unit a single ListenStream=.\n", n);
        return -1;
    }
    int fd = SD_LISTEN_FDS_START;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        fprintf(stderr, "graft-serve: the socket systemd passed (fd 3): %s\n", strerror(errno));
        return -1;
    }
    return fd;
}

/* graft's start-up line for the socket being served. */
static void running_on(int fd, const char *how, const char *scheme)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "";
    int port = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_UNIX) {
        fprintf(stderr, "INFO:     graft-serve running on unix socket %s%s (Press CTRL+C to quit)\n",
                ((struct sockaddr_un *)&ss)->sun_path, how);
        return;
    }
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof ip);
        port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    } else {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof ip);
        port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    fprintf(stderr, "INFO:     graft-serve running on %s://%s:%d%s (Press CTRL+C to quit)\n", scheme, ip, port,
            how);
}

int graft__serve_listen(const opts *o, int *is_unix)
{
    int fd = -1;
    const char *how = "";
    if (!o->uds) {
        fd = systemd_fd();
        if (fd < 0)
            return -1;
        how = fd ? " from systemd" : "";
    }
    if (fd <= 0)
        fd = bind_socket(o);
    if (fd < 0)
        return -1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    *is_unix = getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family == AF_UNIX;
    running_on(fd, how, o->ssl_certfile || o->ssl_keyfile ? "https" : "http"); /* TLS: serve_tls.c */
    return fd;
}
