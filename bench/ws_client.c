/* WebSocket echo load client for bench/run.py (scenario ws-echo).
 *
 *   cc -O2 -o ws_client bench/ws_client.c
 *   ws_client HOST PORT PATH SIZE WINDOW SECONDS
 *
 * One TCP connection, one RFC 6455 handshake (no extensions offered, so no
 * permessage-deflate, no subprotocol), then binary messages of SIZE bytes,
 * masked as a client must, pipelined: WINDOW messages are kept outstanding, and
 * every echo read is answered with a new message, for SECONDS seconds. Every
 * echo is checked (opcode, length, content). Then a close handshake (1000).
 *
 * Prints one line on stdout:
 *   messages=N seconds=S msgs_per_s=R client_cpu_s=C
 * where N counts echoes received within the timed window (handshake excluded) and
 * C is this process's own user+system CPU time, so the runner can tell whether the
 * client was the bottleneck. Exits 1 with a message on stderr on any error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "ws_client: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int fd = -1;

static void write_all(const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            die("send");
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Read whatever is available (waiting at most timeout_ms); returns bytes read, 0 on timeout. */
static size_t read_some(unsigned char *p, size_t cap, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    for (;;) {
        int r = poll(&pfd, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die("poll");
        if (r == 0)
            return 0;
        ssize_t n = recv(fd, p, cap, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("recv");
        if (n == 0) {
            errno = 0;
            die("server closed the connection");
        }
        return (size_t)n;
    }
}

static void b64(const unsigned char *in, size_t n, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;
    for (i = 0; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = t[v >> 18];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = t[(v >> 6) & 63];
        out[o++] = t[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[o++] = t[v >> 18];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        out[o++] = t[v >> 18];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = t[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = 0;
}

/* A masked client frame: FIN + opcode, payload of n bytes, into out; returns its size. */
static size_t make_frame(unsigned char *out, int opcode, const unsigned char *payload, size_t n,
                         const unsigned char mask[4])
{
    size_t h = 0;
    out[h++] = (unsigned char)(0x80 | opcode);
    if (n < 126) {
        out[h++] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        out[h++] = 0x80 | 126;
        out[h++] = (unsigned char)(n >> 8);
        out[h++] = (unsigned char)n;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            out[h++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    memcpy(out + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < n; i++)
        out[h + i] = payload[i] ^ mask[i & 3];
    return h + n;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: ws_client HOST PORT PATH SIZE WINDOW SECONDS\n");
        return 2;
    }
    const char *host = argv[1], *port = argv[2], *path = argv[3];
    size_t size = strtoul(argv[4], 0, 10);
    int window = atoi(argv[5]);
    double seconds = atof(argv[6]);
    if (size == 0 || size > (1u << 24) || window < 1 || window > 4096 || seconds <= 0) {
        fprintf(stderr, "ws_client: bad arguments\n");
        return 2;
    }
    srand((unsigned)time(0) ^ (unsigned)getpid());

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai) {
        fprintf(stderr, "ws_client: %s:%s: %s\n", host, port, gai_strerror(gai));
        return 1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
        die("connect");
    freeaddrinfo(ai);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    /* ---- handshake */
    unsigned char keyraw[16];
    char key[32];
    for (int i = 0; i < 16; i++)
        keyraw[i] = (unsigned char)rand();
    b64(keyraw, 16, key);
    char req[1024];
    int rl = snprintf(req, sizeof req,
                      "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n",
                      path, host, port, key);
    write_all((unsigned char *)req, (size_t)rl);

    size_t cap = 1u << 20;
    if (cap < 4 * (size + 16))
        cap = 4 * (size + 16);
    unsigned char *rbuf = malloc(cap);
    if (!rbuf)
        die("malloc");
    size_t have = 0;
    char *eoh = 0;
    while (!eoh) {
        if (have >= 65536) {
            errno = 0;
            die("handshake response too large");
        }
        size_t n = read_some(rbuf + have, cap - have - 1, 5000);
        if (!n) {
            errno = 0;
            die("timeout waiting for the handshake response");
        }
        have += n;
        rbuf[have] = 0;
        eoh = strstr((char *)rbuf, "\r\n\r\n");
    }
    if (strncmp((char *)rbuf, "HTTP/1.1 101", 12) != 0) {
        char *eol = strstr((char *)rbuf, "\r\n");
        if (eol)
            *eol = 0;
        fprintf(stderr, "ws_client: handshake refused: %s\n", (char *)rbuf);
        return 1;
    }
    *eoh = 0;
    if (strcasestr((char *)rbuf, "sec-websocket-extensions")) {
        fprintf(stderr, "ws_client: server accepted an extension that was not offered\n");
        return 1;
    }
    size_t hlen = (size_t)(eoh + 4 - (char *)rbuf);
    memmove(rbuf, rbuf + hlen, have - hlen);
    have -= hlen;

    /* ---- the messages: one payload, WINDOW frames with different masks, back to back */
    unsigned char *payload = malloc(size);
    size_t fmax = size + 14;
    unsigned char *frames = malloc(fmax * (size_t)window);
    if (!payload || !frames)
        die("malloc");
    for (size_t i = 0; i < size; i++)
        payload[i] = (unsigned char)(i * 31 + 7);
    size_t fsize = 0;
    for (int w = 0; w < window; w++) {
        unsigned char mask[4] = {(unsigned char)rand(), (unsigned char)rand(), (unsigned char)rand(),
                                 (unsigned char)rand()};
        fsize = make_frame(frames + (size_t)w * fmax, 0x2, payload, size, mask);
    }
    /* make_frame's size is the same for every frame: pack them contiguously */
    for (int w = 1; w < window; w++)
        memmove(frames + (size_t)w * fsize, frames + (size_t)w * fmax, fsize);

    long long done = 0, counted = 0;
    int outstanding = window;
    size_t msg_len = 0; /* bytes of the message being assembled (fragmented echoes) */
    int msg_frag = 0;
    double t0 = now_s(), end = t0 + seconds, t_end = 0;
    int timing = 1;
    write_all(frames, fsize * (size_t)window);
    while (timing || outstanding > 0) {
        size_t n = read_some(rbuf + have, cap - have, 5000);
        if (!n) {
            errno = 0;
            die(timing ? "no echo for 5 s" : "no echo for 5 s while draining");
        }
        have += n;
        size_t off = 0;
        int got = 0;
        for (;;) {
            if (have - off < 2)
                break;
            unsigned char b0 = rbuf[off], b1 = rbuf[off + 1];
            size_t h = 2;
            uint64_t len = b1 & 0x7f;
            if (b1 & 0x80) {
                errno = 0;
                die("server frame is masked");
            }
            if (len == 126) {
                if (have - off < 4)
                    break;
                len = (uint64_t)rbuf[off + 2] << 8 | rbuf[off + 3];
                h = 4;
            } else if (len == 127) {
                if (have - off < 10)
                    break;
                len = 0;
                for (int i = 0; i < 8; i++)
                    len = len << 8 | rbuf[off + 2 + i];
                h = 10;
            }
            if (len > cap / 2) {
                errno = 0;
                die("echo frame too large");
            }
            if (have - off < h + len)
                break;
            int op = b0 & 0x0f, fin = b0 & 0x80;
            const unsigned char *p = rbuf + off + h;
            if (op == 0x8) {
                errno = 0;
                fprintf(stderr, "ws_client: server sent close (code %d)\n",
                        len >= 2 ? (p[0] << 8 | p[1]) : -1);
                return 1;
            } else if (op == 0x9) { /* ping -> pong */
                unsigned char pong[140], mask[4] = {1, 2, 3, 4};
                if (len <= 125)
                    write_all(pong, make_frame(pong, 0xA, p, (size_t)len, mask));
            } else if (op == 0xA) {
                /* unsolicited pong: ignore */
            } else if (op == 0x2 || (op == 0x0 && msg_frag)) {
                if (op == 0x2 && msg_frag) {
                    errno = 0;
                    die("new message inside a fragmented one");
                }
                if (fin && !msg_frag) {
                    if (len != size || memcmp(p, payload, size) != 0) {
                        errno = 0;
                        die("echo differs from the message sent");
                    }
                } else {
                    msg_len += (size_t)len;
                    msg_frag = 1;
                }
                if (fin) {
                    if (msg_frag && msg_len != size) {
                        errno = 0;
                        die("fragmented echo has the wrong length");
                    }
                    msg_frag = 0;
                    msg_len = 0;
                    got++;
                }
            } else {
                errno = 0;
                fprintf(stderr, "ws_client: unexpected opcode %d\n", op);
                return 1;
            }
            off += h + (size_t)len;
        }
        memmove(rbuf, rbuf + off, have - off);
        have -= off;
        if (!got)
            continue;
        outstanding -= got;
        done += got;
        if (timing) {
            double t = now_s();
            if (t >= end) {
                timing = 0;
                t_end = t;
                counted = done;
            } else {
                /* refill the window: `got` new frames (got <= window) */
                write_all(frames, fsize * (size_t)got);
                outstanding += got;
            }
        }
    }

    /* ---- close handshake */
    unsigned char cf[16], code[2] = {0x03, 0xe8}, mask[4] = {9, 8, 7, 6};
    write_all(cf, make_frame(cf, 0x8, code, 2, mask));
    double deadline = now_s() + 2.0;
    int closed = 0;
    while (!closed && now_s() < deadline) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        ssize_t r = recv(fd, rbuf + have, cap - have, 0);
        if (r <= 0)
            break;
        have += (size_t)r;
        if (have >= 2 && (rbuf[0] & 0x0f) == 0x8)
            closed = 1;
        have = 0; /* only the first frame after our close matters here */
    }
    shutdown(fd, SHUT_WR);
    close(fd);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
                 ru.ru_stime.tv_usec * 1e-6;
    double secs = t_end - t0;
    printf("messages=%lld seconds=%.3f msgs_per_s=%.1f client_cpu_s=%.3f close=%s\n", counted, secs,
           counted / secs, cpu, closed ? "ok" : "none");
    return 0;
}
