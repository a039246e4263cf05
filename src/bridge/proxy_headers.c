/* --proxy-headers: X-Forwarded-For / X-Forwarded-Proto into the scope (bridge.h), decided
 * exactly as uvicorn's ProxyHeadersMiddleware decides (tests/deploy/test_nginx.py compares). */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

/* ip inside "addr/prefix" (IPv4 or IPv6)? */
static int in_network(const char *net, const char *ip)
{
    const char *slash = strchr(net, '/');
    char addr[64];
    size_t n = (size_t)(slash - net);
    if (!slash || n >= sizeof addr)
        return 0;
    memcpy(addr, net, n);
    addr[n] = '\0';
    int bits = atoi(slash + 1);
    unsigned char a[16], b[16];
    int len;
    if (inet_pton(AF_INET, addr, a) == 1 && inet_pton(AF_INET, ip, b) == 1)
        len = 4;
    else if (inet_pton(AF_INET6, addr, a) == 1 && inet_pton(AF_INET6, ip, b) == 1)
        len = 16;
    else
        return 0;
    if (bits < 0 || bits > len * 8)
        return 0;
    for (int i = 0; i < len && bits > 0; i++, bits -= 8) {
        unsigned char mask = bits >= 8 ? 0xFF : (unsigned char)(0xFF << (8 - bits));
        if ((a[i] & mask) != (b[i] & mask))
            return 0;
    }
    return 1;
}

static int trusted(graftpy_server *srv, const char *ip)
{
    if (srv->proxy_all)
        return 1;
    Py_ssize_t n = PyTuple_GET_SIZE(srv->proxy_trusted);
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *t = PyUnicode_AsUTF8(PyTuple_GET_ITEM(srv->proxy_trusted, i));
        if (t && (strcmp(t, ip) == 0 || (strchr(t, '/') && in_network(t, ip))))
            return 1;
    }
    return 0;
}

/* The last header named `lower` (uvicorn keeps the last X-Forwarded-Proto), or NULL. */
static const graft__header *find_last_header(graft__req *r, const char *lower, size_t *count)
{
    size_t n = strlen(lower);
    const graft__header *last = NULL;
    *count = 0;
    for (size_t i = 0; i < r->num_headers; i++)
        if (r->headers[i].name_len == n && graft__tok_eq(r->headers[i].name, n, lower)) {
            last = &r->headers[i];
            ++*count;
        }
    return last;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

/* Digits only, at most 9 of them, into *port; 0 otherwise. */
static int parse_port(const char *a, const char *b, long *port)
{
    if (a == b || b - a > 9)
        return 0;
    long v = 0;
    for (const char *c = a; c < b; c++) {
        if (*c < '0' || *c > '9')
            return 0;
        v = v * 10 + (*c - '0');
    }
    *port = v;
    return 1;
}

/* One X-Forwarded-For entry [a, b) as uvicorn reads it: "host", "ipv4:port" or
 * "[ipv6]:port"; anything else malformed is the host, port 0. Writes host into out. */
static long entry_host_port(const char *a, const char *b, char *out, size_t cap)
{
    const char *ha = a, *hb = b;
    long port = 0;
    const char *colon = memchr(a, ':', (size_t)(b - a));
    if (a < b && *a == '[') {
        const char *close = memchr(a, ']', (size_t)(b - a));
        if (close && (close + 1 == b || (close[1] == ':'))) {
            ha = a + 1;
            hb = close;
            if (close + 1 < b && !parse_port(close + 2, b, &port))
                port = 0;
        }
    } else if (colon && !memchr(colon + 1, ':', (size_t)(b - colon - 1)) && parse_port(colon + 1, b, &port)) {
        hb = colon;
    }
    size_t n = (size_t)(hb - ha) < cap - 1 ? (size_t)(hb - ha) : cap - 1;
    memcpy(out, ha, n);
    out[n] = '\0';
    return port;
}

/* X-Forwarded-Proto / X-Forwarded-For from a trusted peer, as uvicorn's (0.55)
 * ProxyHeadersMiddleware: the proto only if exactly http/https/ws/wss (stripped), the client
 * the right-most untrusted entry of all X-Forwarded-For values (the left-most under "*"),
 * with the port an entry carries. A Unix-socket peer has no address (scope client None), so
 * as in uvicorn only "*" trusts it. */
int graftpy_apply_proxy(graftpy_server *srv, graft__req *r, PyObject *scope)
{
    if (!srv->proxy_trusted || (r->client_port < 0 ? !srv->proxy_all : !trusted(srv, r->client_ip)))
        return 0;
    size_t count;
    const graft__header *h = find_last_header(r, "x-forwarded-proto", &count);
    if (h) {
        const char *a = h->value, *b = h->value + h->value_len;
        while (a < b && is_space(*a))
            a++;
        while (b > a && is_space(b[-1]))
            b--;
        char v[8] = "";
        if (b - a < (ptrdiff_t)sizeof v)
            memcpy(v, a, (size_t)(b - a));
        if (!strcmp(v, "http") || !strcmp(v, "https") || !strcmp(v, "ws") || !strcmp(v, "wss")) {
            /* As uvicorn: kept as sent on an HTTP scope ("ws" included); the WebSocket scope
             * derives its own from it (ws_cycle.c: https/wss give wss, http/ws give ws). */
            PyObject *s = PyUnicode_FromString(v);
            if (!s || PyDict_SetItem(scope, srv->st->k_scheme, s) < 0) {
                Py_XDECREF(s);
                return -1;
            }
            Py_DECREF(s);
        }
    }
    h = find_last_header(r, "x-forwarded-for", &count);
    if (!h)
        return 0;
    /* Repeated X-Forwarded-For fields are one list (uvicorn joins them with ", "). */
    const char *v = h->value;
    size_t vlen = h->value_len;
    char *joined = NULL;
    if (count > 1) {
        size_t total = 0;
        for (size_t i = 0; i < r->num_headers; i++)
            if (r->headers[i].name_len == 15 && graft__tok_eq(r->headers[i].name, 15, "x-forwarded-for"))
                total += r->headers[i].value_len + 2;
        joined = PyMem_Malloc(total);
        if (!joined) {
            PyErr_NoMemory();
            return -1;
        }
        vlen = 0;
        for (size_t i = 0; i < r->num_headers; i++)
            if (r->headers[i].name_len == 15 && graft__tok_eq(r->headers[i].name, 15, "x-forwarded-for")) {
                if (vlen) {
                    memcpy(joined + vlen, ", ", 2);
                    vlen += 2;
                }
                memcpy(joined + vlen, r->headers[i].value, r->headers[i].value_len);
                vlen += r->headers[i].value_len;
            }
        v = joined;
    }
    char host[256] = "";
    long port = 0;
    const char *end = v + vlen;
    /* Walk right to left to the first entry that is not itself a trusted proxy; when all
     * are (or under "*"), the left-most one. */
    while (1) {
        const char *comma = end;
        while (comma > v && comma[-1] != ',')
            comma--;
        const char *a = comma, *b = end;
        while (a < b && is_space(*a))
            a++;
        while (b > a && is_space(b[-1]))
            b--;
        port = entry_host_port(a, b, host, sizeof host);
        if (comma == v || !trusted(srv, host))
            break;
        end = comma - 1;
    }
    PyMem_Free(joined);
    if (host[0]) {
        PyObject *c = Py_BuildValue("(sl)", host, port);
        if (!c || PyDict_SetItem(scope, srv->st->k_client, c) < 0) {
            Py_XDECREF(c);
            return -1;
        }
        Py_DECREF(c);
    }
    return 0;
}
