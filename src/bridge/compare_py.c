/* _graft.compare_responses and _graft.shadow_line: the comparison rule (src/core/compare.c)
 * and the mismatch line (src/core/shadow_line.c) for Python, so the differential tests and
 * `graft diff` judge two answers by the very code shadow mode runs. */
#include "bridge.h"
#include "capture.h"
#include "shadow.h"

static const char *const part_names[3] = {"status", "headers", "body"};

/* name/value as bytes: bytes as they are, str as latin-1 (what HTTP/1.1 header bytes decode
 * to in http.client and ASGI), else UTF-8. A new reference, or NULL with an exception set. */
static PyObject *as_bytes(PyObject *o, const char *what)
{
    if (PyBytes_Check(o))
        return Py_NewRef(o);
    if (PyByteArray_Check(o))
        return PyBytes_FromStringAndSize(PyByteArray_AS_STRING(o), PyByteArray_GET_SIZE(o));
    if (PyUnicode_Check(o)) {
        PyObject *b = PyUnicode_AsLatin1String(o);
        if (b || !PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
            return b;
        PyErr_Clear();
        return PyUnicode_AsEncodedString(o, "utf-8", "surrogateescape");
    }
    PyErr_Format(PyExc_TypeError, "%s must be bytes or str, not %.100s", what, Py_TYPE(o)->tp_name);
    return NULL;
}

/* Fills c (initialised by the caller) from {"status": int, "headers": [(name, value), ...],
 * "body": bytes}; every key may be left out. 0, or -1 with an exception set. */
static int capture_from(PyObject *d, graft__capture *c)
{
    if (!PyDict_Check(d)) {
        PyErr_SetString(PyExc_TypeError, "a response is a dict with status, headers and body");
        return -1;
    }
    PyObject *status = PyDict_GetItemString(d, "status"); /* borrowed */
    long st = 0;
    if (status && status != Py_None && (st = PyLong_AsLong(status)) == -1 && PyErr_Occurred())
        return -1;
    if (st < 0 || st > 999) {
        PyErr_SetString(PyExc_ValueError, "status must be 0..999");
        return -1;
    }
    if (graft__capture_head(c, (int)st, NULL, 0) < 0)
        return PyErr_NoMemory(), -1;
    PyObject *headers = PyDict_GetItemString(d, "headers");
    if (headers && headers != Py_None) {
        PyObject *seq = PySequence_Fast(headers, "headers must be a sequence of (name, value)");
        if (!seq)
            return -1;
        for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
            PyObject *pair = PySequence_Fast_GET_ITEM(seq, i);
            if (!PyTuple_Check(pair) && !PyList_Check(pair)) {
                PyErr_SetString(PyExc_TypeError, "each header is a (name, value) pair");
                Py_DECREF(seq);
                return -1;
            }
            if (PySequence_Size(pair) != 2) {
                PyErr_SetString(PyExc_ValueError, "each header is a (name, value) pair");
                Py_DECREF(seq);
                return -1;
            }
            PyObject *n = PySequence_GetItem(pair, 0), *v = PySequence_GetItem(pair, 1);
            PyObject *nb = n ? as_bytes(n, "a header name") : NULL;
            PyObject *vb = v && nb ? as_bytes(v, "a header value") : NULL;
            Py_XDECREF(n);
            Py_XDECREF(v);
            int rc = -1;
            if (nb && vb) {
                graft__field f = {PyBytes_AS_STRING(nb), (size_t)PyBytes_GET_SIZE(nb), PyBytes_AS_STRING(vb),
                                  (size_t)PyBytes_GET_SIZE(vb)};
                rc = graft__capture_head(c, (int)st, &f, 1);
                if (rc < 0)
                    PyErr_NoMemory();
            }
            Py_XDECREF(nb);
            Py_XDECREF(vb);
            if (rc < 0) {
                Py_DECREF(seq);
                return -1;
            }
        }
        Py_DECREF(seq);
    }
    PyObject *body = PyDict_GetItemString(d, "body");
    if (body && body != Py_None) {
        Py_buffer view;
        if (PyObject_GetBuffer(body, &view, PyBUF_SIMPLE) < 0)
            return -1;
        graft__capture_body(c, view.buf, (size_t)view.len);
        PyBuffer_Release(&view);
    }
    return 0;
}

/* The body length of a response dict, to size the capture so whole bodies are compared. */
static size_t body_len(PyObject *d)
{
    PyObject *body = PyDict_Check(d) ? PyDict_GetItemString(d, "body") : NULL;
    Py_ssize_t n = body && body != Py_None ? PyObject_Length(body) : 0;
    if (n < 0) {
        PyErr_Clear(); /* capture_from reports it */
        n = 0;
    }
    return (size_t)n;
}

static PyObject *diff_list(unsigned diff)
{
    PyObject *l = PyList_New(0);
    for (int i = 0; l && i < 3; i++)
        if (diff & (1u << i)) {
            PyObject *s = PyUnicode_FromString(part_names[i]);
            if (!s || PyList_Append(l, s) < 0)
                Py_CLEAR(l);
            Py_XDECREF(s);
        }
    return l;
}

/* Both captures from the two dicts, capped at the longer body so bodies compare whole.
 * 0, or -1 with an exception set and both freed. */
static int two_captures(PyObject *a, PyObject *b, graft__capture *ca, graft__capture *cb)
{
    size_t la = body_len(a), lb = body_len(b);
    size_t cap = la > lb ? la : lb;
    graft__capture_init(ca, cap ? cap : 1);
    graft__capture_init(cb, cap ? cap : 1);
    if (capture_from(a, ca) < 0 || capture_from(b, cb) < 0) {
        graft__capture_free(ca);
        graft__capture_free(cb);
        return -1;
    }
    return 0;
}

PyObject *graftpy_compare_responses(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    (void)mod;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "compare_responses(a, b) takes two response dicts");
        return NULL;
    }
    graft__capture a, b;
    if (two_captures(args[0], args[1], &a, &b) < 0)
        return NULL;
    unsigned diff = graft__compare(&a, &b);
    graft__capture_free(&a);
    graft__capture_free(&b);
    return diff_list(diff);
}

/* diff as given: None (computed), an int mask, or part names. ~0u with an exception set. */
static unsigned diff_from(PyObject *o, const graft__capture *a, const graft__capture *b)
{
    if (o == Py_None)
        return graft__compare(a, b);
    if (PyLong_Check(o)) {
        long v = PyLong_AsLong(o);
        if (v == -1 && PyErr_Occurred())
            return ~0u;
        return (unsigned)v & (GRAFT__DIFF_STATUS | GRAFT__DIFF_HEADERS | GRAFT__DIFF_BODY);
    }
    PyObject *seq = PySequence_Fast(o, "diff is None, an int mask or a list of part names");
    if (!seq)
        return ~0u;
    unsigned d = 0;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *s = PySequence_Fast_GET_ITEM(seq, i);
        int k = 0;
        for (; k < 3; k++)
            if (PyUnicode_Check(s) && PyUnicode_CompareWithASCIIString(s, part_names[k]) == 0)
                break;
        if (k == 3) {
            PyErr_SetString(PyExc_ValueError, "diff parts are status, headers and body");
            Py_DECREF(seq);
            return ~0u;
        }
        d |= 1u << k;
    }
    Py_DECREF(seq);
    return d;
}

PyObject *graftpy_shadow_line(PyObject *mod, PyObject *args, PyObject *kw)
{
    (void)mod;
    static char *kwlist[] = {"route", "method", "path", "query", "python", "native", "diff",
                             "body_log_cap", NULL};
    const char *route, *method;
    PyObject *path, *query, *py, *nat, *diffo = Py_None;
    Py_ssize_t cap = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "ssOOOO|On:shadow_line", kwlist, &route, &method, &path,
                                     &query, &py, &nat, &diffo, &cap))
        return NULL;
    if (cap < 0) {
        PyErr_SetString(PyExc_ValueError, "body_log_cap must be >= 0");
        return NULL;
    }
    PyObject *pb = as_bytes(path, "path");
    PyObject *qb = pb ? as_bytes(query, "query") : NULL;
    if (!qb) {
        Py_XDECREF(pb);
        return NULL;
    }
    graft__capture a, b;
    PyObject *res = NULL;
    if (two_captures(py, nat, &a, &b) == 0) {
        unsigned diff = diff_from(diffo, &a, &b);
        graft__buf out = {0};
        if (diff == ~0u)
            ;
        else if (graft__shadow_line(&out, route, method, PyBytes_AS_STRING(pb), (size_t)PyBytes_GET_SIZE(pb),
                                    PyBytes_AS_STRING(qb), (size_t)PyBytes_GET_SIZE(qb), &a, &b, diff,
                                    (size_t)cap) < 0)
            PyErr_NoMemory();
        else
            res = PyUnicode_DecodeUTF8(graft__buf_head(&out), (Py_ssize_t)graft__buf_avail(&out), "strict");
        graft__buf_free(&out);
        graft__capture_free(&a);
        graft__capture_free(&b);
    }
    Py_DECREF(pb);
    Py_DECREF(qb);
    return res;
}
