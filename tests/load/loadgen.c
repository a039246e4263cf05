/* Keep-alive HTTP/1.1 load client for the load tests (soak, slowloris).
 *
 *   cc -O2 -o loadgen tests/load/loadgen.c
 *   loadgen HOST PORT CONNS REQUESTS PATH [PATH ...]
 *
 * CONNS connections each send one GET at a time and wait for the whole answer before the
 * next; the paths are taken in turn across all requests, REQUESTS in all. Every answer
 * must be 200 with a content-length; a close, a reset, another status or a malformed
 * head is an error. Prints one line:
 *   requests=N errors=E seconds=S rps=R p50_ms=A p99_ms=B max_ms=C
 * and exits 1 if any request failed or not all were answered within 10 minutes. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int fd;
    char buf[65536];
    size_t len;
    double started;
    int busy;
} client;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int connect_to(const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof *sa) < 0) {
        perror("loadgen: connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Length of a complete response at the start of buf (0: not yet, -1: malformed/not 200). */
static long complete_response(const char *buf, size_t len)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end)
        return len > 16384 ? -1 : 0;
    if (len < 12 || memcmp(buf, "HTTP/1.1 200", 12) != 0)
        return -1;
    long cl = -1;
    for (const char *p = buf; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end + 2 - p)); /* the last line's LF too */
        if (!nl)
            break;
        if ((size_t)(nl - p) > 15 && strncasecmp(p, "content-length:", 15) == 0)
            cl = strtol(p + 15, NULL, 10);
        p = nl + 1;
    }
    if (cl < 0)
        return -1;
    size_t total = (size_t)(end + 4 - buf) + (size_t)cl;
    return total <= len ? (long)total : 0;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: loadgen HOST PORT CONNS REQUESTS PATH [PATH ...]\n");
        return 2;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "loadgen: bad host\n");
        return 2;
    }
    int nconns = atoi(argv[3]);
    long total = atol(argv[4]);
    char **paths = argv + 5;
    int npaths = argc - 5;
    if (nconns < 1 || total < 1)
        return 2;
    float *lat = malloc(sizeof *lat * (size_t)total);
    client *cs = calloc((size_t)nconns, sizeof *cs);
    int ep = epoll_create1(0);
    if (!lat || !cs || ep < 0)
        return 1;
    long issued = 0, done = 0, errors = 0;
    double t0 = now_s();
    for (int i = 0; i < nconns; i++) {
        cs[i].fd = connect_to(&sa);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    for (int i = 0; i < nconns && issued < total; i++) {
        char req[512];
        int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", paths[issued % npaths]);
        if (write(cs[i].fd, req, (size_t)n) != n) {
            perror("loadgen: write");
            return 1;
        }
        cs[i].busy = 1;
        cs[i].started = now_s();
        issued++;
    }
    struct epoll_event evs[256];
    while (done < total && now_s() - t0 < 600) {
        int n = epoll_wait(ep, evs, 256, 1000);
        for (int k = 0; k < n; k++) {
            client *c = &cs[evs[k].data.u32];
            ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
            if (r <= 0) {
                if (r < 0 && errno == EINTR)
                    continue;
                fprintf(stderr, "loadgen: connection %s after %ld answers\n",
                        r == 0 ? "closed" : strerror(errno), done);
                errors++;
                goto out;
            }
            c->len += (size_t)r;
            long used = complete_response(c->buf, c->len);
            if (used < 0) {
                fprintf(stderr, "loadgen: bad answer: %.200s\n", c->buf);
                errors++;
                goto out;
            }
            if (used == 0)
                continue;
            if ((size_t)used != c->len) {
                fprintf(stderr, "loadgen: bytes after an answer nobody asked for\n");
                errors++;
                goto out;
            }
            c->len = 0;
            lat[done++] = (float)((now_s() - c->started) * 1000.0);
            c->busy = 0;
            if (issued < total) {
                char req[512];
                int m = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n",
                                 paths[issued % npaths]);
                if (write(c->fd, req, (size_t)m) != m) {
                    perror("loadgen: write");
                    errors++;
                    goto out;
                }
                c->busy = 1;
                c->started = now_s();
                issued++;
            }
        }
    }
out:;
    double secs = now_s() - t0;
    qsort(lat, (size_t)done, sizeof *lat, cmp_float);
    float p50 = done ? lat[done / 2] : 0, p99 = done ? lat[(size_t)((double)done * 0.99)] : 0,
          mx = done ? lat[done - 1] : 0;
    printf("requests=%ld errors=%ld seconds=%.3f rps=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
           done, errors + (total - done), secs, (double)done / secs, p50, p99, mx);
    return errors || done < total;
}
