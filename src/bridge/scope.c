/* The HTTP connection scope (ASGI www spec 2.5), built in C from the parsed
 * request: one dict copy of the constant keys plus the per-request ones. */
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* root_path + percent-decoded path as str; invalid UTF-8 is replaced like
 * urllib.parse.unquote, which is what uvicorn gives apps. */
static PyObject *decode_path(graftpy_server *srv, const char *p, size_t n)
{
    char stackbuf[512];
    char *buf = n <= sizeof stackbuf ? stackbuf : PyMem_Malloc(n);
    if (!buf)
        return PyErr_NoMemory();
    size_t o = 0;
    int ascii = 1;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 &&
            hexval(p[i + 2]) >= 0) {
            ch = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
            i += 2;
        }
        if ((unsigned char)ch >= 0x80)
            ascii = 0;
        buf[o++] = ch;
    }
    PyObject *s = ascii ? PyUnicode_DecodeASCII(buf, (Py_ssize_t)o, NULL)
                        : PyUnicode_DecodeUTF8(buf, (Py_ssize_t)o, "replace");
    if (buf != stackbuf)
        PyMem_Free(buf);
    if (s && PyUnicode_GET_LENGTH(srv->root_path) > 0) {
        PyObject *joined = PyUnicode_Concat(srv->root_path, s);
        Py_DECREF(s);
        s = joined;
    }
    return s;
}

static PyObject *header_name(graftpy_state *st, const char *name, size_t n)
{
    char low[64];
    if (n < sizeof low) {
        for (size_t i = 0; i < n; i++) {
            char c = name[i];
            low[i] = (c >= 'A' && c <= 'Z') ? (char)(c | 0x20) : c;
        }
        for (int i = 0; i < 32; i++) {
            const char *h = graftpy_common_headers[i];
            if (h[0] == low[0] && strlen(h) == n && memcmp(h, low, n) == 0)
                return Py_NewRef(st->hdr_names[i]);
        }
        return PyBytes_FromStringAndSize(low, (Py_ssize_t)n);
    }
    PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n);
    if (!b)
        return NULL;
    char *d = PyBytes_AS_STRING(b);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        d[i] = (c >= 'A' && c <= 'Z') ? (char)(c | 0x20) : c;
    }
    return b;
}

static PyObject *method_str(graftpy_state *st, const char *m, size_t n)
{
    for (int i = 0; i < 9; i++) {
        PyObject *s = st->methods[i];
        if ((size_t)PyUnicode_GET_LENGTH(s) == n && memcmp(PyUnicode_DATA(s), m, n) == 0)
            return Py_NewRef(s);
    }
    return PyUnicode_DecodeASCII(m, (Py_ssize_t)n, NULL);
}

#define SET(key, expr)                                                                             \
    do {                                                                                           \
        PyObject *v_ = (expr);                                                                     \
        if (!v_ || PyDict_SetItem(scope, st->key, v_) < 0) {                                       \
            Py_XDECREF(v_);                                                                        \
            goto fail;                                                                             \
        }                                                                                          \
        Py_DECREF(v_);                                                                             \
    } while (0)

PyObject *graftpy_scope_new(graftpy_server *srv, graft__req *r)
{
    graftpy_state *st = srv->st;
    PyObject *scope = PyDict_Copy(srv->scope_template);
    if (!scope)
        return NULL;
    SET(k_http_version, Py_NewRef(r->minor_version ? st->v_1_1 : st->v_1_0));
    SET(k_method, method_str(st, r->method, r->method_len));
    SET(k_path, decode_path(srv, r->path, r->path_len));
    SET(k_raw_path, PyBytes_FromStringAndSize(r->path, (Py_ssize_t)r->path_len));
    SET(k_query_string, r->query_len ? PyBytes_FromStringAndSize(r->query, (Py_ssize_t)r->query_len)
                                     : Py_NewRef(st->v_empty_bytes));
    PyObject *hl = PyList_New((Py_ssize_t)r->num_headers);
    if (!hl)
        goto fail;
    for (size_t i = 0; i < r->num_headers; i++) {
        const graft__header *h = &r->headers[i];
        PyObject *name = header_name(st, h->name, h->name_len);
        PyObject *val = name ? PyBytes_FromStringAndSize(h->value, (Py_ssize_t)h->value_len) : NULL;
        PyObject *t = val ? PyTuple_New(2) : NULL;
        if (!t) {
            Py_XDECREF(name);
            Py_XDECREF(val);
            Py_DECREF(hl);
            goto fail;
        }
        PyTuple_SET_ITEM(t, 0, name);
        PyTuple_SET_ITEM(t, 1, val);
        PyList_SET_ITEM(hl, (Py_ssize_t)i, t);
    }
    SET(k_headers, hl);
    if (r->client_port >= 0) {
        SET(k_client, Py_BuildValue("(si)", r->client_ip, r->client_port));
        SET(k_server, Py_BuildValue("(si)", r->server_ip, r->server_port));
    }
    SET(k_state, PyDict_Copy(srv->state));
    /* No extensions key at all without pathsend, as uvicorn: an offered pathsend changes what
     * some frameworks send (Starlette's GZipMiddleware skips pathsend responses). */
    if (srv->extensions || srv->tls) {
        PyObject *ext = srv->extensions ? PyDict_Copy(srv->extensions) : PyDict_New();
        if (ext && graftpy_scope_add_tls(srv, r, ext) < 0)
            Py_CLEAR(ext);
        SET(k_extensions, ext);
    }
    if (graftpy_apply_proxy(srv, r, scope) < 0)
        goto fail;
    return scope;
fail:
    Py_DECREF(scope);
    return NULL;
}
