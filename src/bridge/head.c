/* Response heads: validating the app's status and headers, and handing them to the
 * engine's response writer (response.h), which adds Date, the default headers and the
 * framing. Nothing the app gives reaches the wire unchecked (no CR/LF/NUL injection). */
#include <string.h>

#include "bridge.h"
#include "tap.h"

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

int graftpy_head_check(graftpy_cycle *cy, PyObject *headers)
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
            if (name_is(vs, vl, "close"))
                cy->close = cy->app_close = 1;
        } else if (name_is(ns, nl, "date"))
            cy->has_date = 1;
    }
    Py_DECREF(seq);
    return 0;
fail:
    Py_DECREF(seq);
    return -1;
}

/* Fields on the stack for this many app headers; more take one allocation. */
#define STACK_FIELDS 32
/* Room on the stack for lowercased copies of names that are not lowercase already. */
#define STACK_NAMES 512

static int has_upper(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            return 1;
    return 0;
}

/* Fills fs (room for maxf) with the app's headers but Transfer-Encoding (framing is ours:
 * the ASGI spec has it dropped). Names the app did not send lowercase are copied lowercased
 * into names (room for maxn). Returns how many fields there are and sets *need to the bytes
 * of names they take; when either is above its room, nothing is usable and a call with
 * that much room fills them all. */
static size_t app_fields(PyObject **items, Py_ssize_t hn, graft__field *fs, size_t maxf,
                         char *names, size_t maxn, size_t *need)
{
    size_t n = 0, used = 0;
    for (Py_ssize_t i = 0; i < hn; i++) {
        PyObject *name = PySequence_Fast_GET_ITEM(items[i], 0);
        PyObject *value = PySequence_Fast_GET_ITEM(items[i], 1);
        const char *ns = PyBytes_AS_STRING(name);
        size_t nl = (size_t)PyBytes_GET_SIZE(name);
        if (name_is(ns, (Py_ssize_t)nl, "transfer-encoding"))
            continue;
        if (has_upper(ns, nl)) {
            if (used + nl <= maxn) {
                for (size_t k = 0; k < nl; k++)
                    names[used + k] = (ns[k] >= 'A' && ns[k] <= 'Z') ? (char)(ns[k] | 0x20) : ns[k];
                ns = names + used;
            }
            used += nl;
        }
        if (n < maxf)
            fs[n] = (graft__field){ns, nl, PyBytes_AS_STRING(value), (size_t)PyBytes_GET_SIZE(value)};
        n++;
    }
    *need = used;
    return n;
}

int graftpy_head_build(graftpy_cycle *cy, graft__buf *o, uint64_t final_len, int is_final)
{
    graft__field stack_fields[STACK_FIELDS], *fs = stack_fields;
    char stack_names[STACK_NAMES], *names = stack_names;
    size_t nf = 0, need = 0;
    PyObject *seq = PySequence_Fast(cy->headers ? cy->headers : Py_None, "");
    if (!seq) {
        PyErr_Clear();
    } else {
        PyObject **items = PySequence_Fast_ITEMS(seq);
        Py_ssize_t hn = PySequence_Fast_GET_SIZE(seq);
        nf = app_fields(items, hn, fs, STACK_FIELDS, names, STACK_NAMES, &need);
        if (nf > STACK_FIELDS || need > STACK_NAMES) {
            /* More than the stack holds: one allocation each, then a second pass. */
            if (nf > STACK_FIELDS)
                fs = PyMem_Malloc(nf * sizeof *fs);
            if (need > STACK_NAMES)
                names = PyMem_Malloc(need);
            if (!fs || !names) {
                if (fs && fs != stack_fields)
                    PyMem_Free(fs);
                if (names && names != stack_names)
                    PyMem_Free(names);
                Py_DECREF(seq);
                PyErr_NoMemory();
                return -1;
            }
            app_fields(items, hn, fs, nf, names, need, &need);
        }
    }
    graft__response resp = {.status = cy->status,
                            .keep_alive = !cy->close,
                            .fields = fs,
                            .nfields = nf};
    if (cy->has_date)
        resp.flags |= GRAFT__RESP_NO_DATE;
    if (cy->app_close)
        resp.flags |= GRAFT__RESP_OWN_CONNECTION; /* its connection: close is the only one */
    if (cy->content_length >= 0) {
        resp.flags |= GRAFT__RESP_OWN_LENGTH;
        resp.body_len = (uint64_t)cy->content_length;
    } else if (is_final) {
        resp.body_len = final_len;
    } else {
        resp.plan = GRAFT__PLAN_STREAM;
    }
    graft__response_decision d;
    int rc = graft__req_response_head(cy->req, &resp, o, &d);
    if (rc == 0)
        graft__tap_response_head(cy->req->tap, cy->status, fs, nf);
    if (fs != stack_fields)
        PyMem_Free(fs);
    if (names != stack_names)
        PyMem_Free(names);
    Py_XDECREF(seq);
    if (rc < 0) {
        PyErr_NoMemory();
        return -1;
    }
    if (is_final && cy->content_length < 0 && d.framing != GRAFT__FRAMING_NONE)
        cy->content_length = (int64_t)final_len; /* what send_body checks the body against */
    cy->chunked = d.framing == GRAFT__FRAMING_CHUNKED;
    cy->no_body = d.framing == GRAFT__FRAMING_NONE;
    cy->close = d.close;
    return 0;
}
