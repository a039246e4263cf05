/* Response heads: validating the app's status and headers, and writing the
 * status line, default headers and framing. Nothing the app gives reaches
 * the wire unchecked (no CR/LF/NUL injection). */
#include <stdio.h>
#include <string.h>

#include "status.h"
#include "bridge.h"

/* RFC 9110 tchar */
static int tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int name_is(const char *s, Py_ssize_t n, const char *lower)
{
    return (size_t)n == strlen(lower) && graft__tok_eq(s, (size_t)n, lower);
}

int graft_head_check(graft_cycle *cy, PyObject *headers)
{
    PyObject *seq = PySequence_Fast(headers, "response headers must be a sequence of [name, value]");
    if (!seq)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = items[i];
        PyObject *name, *value;
        if (PyTuple_Check(pair) && PyTuple_GET_SIZE(pair) == 2) {
            name = PyTuple_GET_ITEM(pair, 0);
            value = PyTuple_GET_ITEM(pair, 1);
        } else if (PyList_Check(pair) && PyList_GET_SIZE(pair) == 2) {
            name = PyList_GET_ITEM(pair, 0);
            value = PyList_GET_ITEM(pair, 1);
        } else {
            PyErr_SetString(PyExc_TypeError, "each response header must be a [name, value] pair");
            goto fail;
        }
        if (!PyBytes_Check(name) || !PyBytes_Check(value)) {
            PyErr_SetString(PyExc_TypeError, "response header names and values must be bytes");
            goto fail;
        }
        const char *ns = PyBytes_AS_STRING(name), *vs = PyBytes_AS_STRING(value);
        Py_ssize_t nl = PyBytes_GET_SIZE(name), vl = PyBytes_GET_SIZE(value);
        if (nl == 0) {
            PyErr_SetString(PyExc_RuntimeError, "Invalid HTTP header name.");
            goto fail;
        }
        for (Py_ssize_t k = 0; k < nl; k++)
            if (!tchar((unsigned char)ns[k])) {
                PyErr_SetString(PyExc_RuntimeError, "Invalid HTTP header name.");
                goto fail;
            }
        for (Py_ssize_t k = 0; k < vl; k++) {
            unsigned char c = (unsigned char)vs[k];
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                PyErr_SetString(PyExc_RuntimeError, "Invalid HTTP header value.");
                goto fail;
            }
        }
        if (name_is(ns, nl, "content-length")) {
            int64_t v = 0;
            int ok = vl > 0 && vl <= 18;
            for (Py_ssize_t k = 0; ok && k < vl; k++) {
                if (vs[k] < '0' || vs[k] > '9')
                    ok = 0;
                else
                    v = v * 10 + (vs[k] - '0');
            }
            if (!ok || (cy->content_length >= 0 && cy->content_length != v)) {
                PyErr_SetString(PyExc_RuntimeError, "Invalid Content-Length response header.");
                goto fail;
            }
            cy->content_length = v;
        } else if (name_is(ns, nl, "connection")) {
            if (vl == 5 && graft__tok_eq(vs, 5, "close"))
                cy->close = cy->app_close = 1;
        } else if (name_is(ns, nl, "date"))
            cy->has_date = 1;
        else if (name_is(ns, nl, "server"))
            cy->has_server = 1;
    }
    Py_DECREF(seq);
    return 0;
fail:
    Py_DECREF(seq);
    return -1;
}

static int put(graft__buf *o, const void *p, size_t n) { return graft__buf_append(o, p, n); }

static int put_lower(graft__buf *o, const char *s, size_t n)
{
    if (graft__buf_reserve(o, n) < 0)
        return -1;
    char *d = o->data + o->len;
    for (size_t i = 0; i < n; i++)
        d[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] | 0x20) : s[i];
    o->len += n;
    return 0;
}

int graft_head_build(graft_cycle *cy, graft__buf *o, uint64_t final_len, int is_final)
{
    graft_server *srv = cy->srv;
    graft__req *r = cy->req;
    int st = cy->status;
    cy->no_body = (st >= 100 && st < 200) || st == 204 || st == 304;
    cy->head_only = r->is_head;
    char line[64];
    size_t n = graft__status_line(line, st, 1);
    int rc = put(o, line, n);
    if (srv->date_header && !cy->has_date) {
        rc |= put(o, "date: ", 6);
        rc |= put(o, graft__date_now(&srv->date), 29);
        rc |= put(o, "\r\n", 2);
    }
    if (srv->server_header && !cy->has_server)
        rc |= put(o, "server: graft\r\n", 15);
    rc |= put(o, srv->default_headers, srv->default_headers_len);
    PyObject *seq = PySequence_Fast(cy->headers ? cy->headers : Py_None, "");
    if (!seq) {
        PyErr_Clear();
    } else {
        Py_ssize_t hn = PySequence_Fast_GET_SIZE(seq);
        PyObject **items = PySequence_Fast_ITEMS(seq);
        for (Py_ssize_t i = 0; i < hn; i++) {
            PyObject *pair = items[i];
            PyObject *name = PySequence_Fast_GET_ITEM(pair, 0);
            PyObject *value = PySequence_Fast_GET_ITEM(pair, 1);
            const char *ns = PyBytes_AS_STRING(name);
            Py_ssize_t nl = PyBytes_GET_SIZE(name);
            /* Framing is ours: the app's Transfer-Encoding is dropped (ASGI spec). */
            if (name_is(ns, nl, "transfer-encoding"))
                continue;
            rc |= put_lower(o, ns, (size_t)nl);
            rc |= put(o, ": ", 2);
            rc |= put(o, PyBytes_AS_STRING(value), (size_t)PyBytes_GET_SIZE(value));
            rc |= put(o, "\r\n", 2);
        }
        Py_DECREF(seq);
    }
    int keep = graft__req_keep_alive(r) && !cy->close;
    if (!cy->no_body && cy->content_length < 0) {
        if (is_final) {
            /* HEAD with nothing to measure: GET may well send a body (a stream, SSE), and
             * RFC 9110 §8.6 allows a length on HEAD only if it equals GET's, so none. */
            if (!(cy->head_only && final_len == 0)) {
                char cl[48];
                int k = snprintf(cl, sizeof cl, "content-length: %llu\r\n", (unsigned long long)final_len);
                rc |= put(o, cl, (size_t)k);
            }
            cy->content_length = (int64_t)final_len;
        } else if (r->minor_version >= 1) {
            if (!cy->head_only)
                rc |= put(o, "transfer-encoding: chunked\r\n", 28);
            cy->chunked = !cy->head_only;
        } else {
            keep = 0; /* HTTP/1.0: the body ends when the connection does */
        }
    }
    if (!keep) {
        if (!cy->app_close)
            rc |= put(o, "connection: close\r\n", 19);
        cy->close = 1;
    } else if (r->minor_version == 0) {
        rc |= put(o, "connection: keep-alive\r\n", 24);
    }
    rc |= put(o, "\r\n", 2);
    if (rc) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}
