/* Server.set_contracts(text): hands the app's OpenAPI document (JSON text, from app.openapi())
 * to the native layer before the engine starts, and returns the start-up report's lines
 * ("D ..." for debug, "W ..." for a warning) for graft/server.py to log. */
#include "bridge.h"

PyObject *graftpy_server_set_contracts(PyObject *self, PyObject *text)
{
    graftpy_server *srv = (graftpy_server *)self;
    Py_ssize_t len;
    const char *s = PyUnicode_Check(text) ? PyUnicode_AsUTF8AndSize(text, &len) : NULL;
    if (!s) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "set_contracts takes the document as a str");
        return NULL;
    }
    if (!srv->native) {
        PyErr_SetString(PyExc_RuntimeError, "set_contracts: no native library is loaded (--native)");
        return NULL;
    }
    if (srv->started) {
        PyErr_SetString(PyExc_RuntimeError, "set_contracts: the server has started");
        return NULL;
    }
    graft__buf report = {0};
    char err[512] = "";
    int rc = graft__native_set_contracts(srv->native, s, (size_t)len, 1, &report, err, sizeof err);
    if (rc < 0) {
        graft__buf_free(&report);
        PyErr_SetString(PyExc_ValueError, err[0] ? err : "cannot read the OpenAPI document");
        return NULL;
    }
    PyObject *out = PyUnicode_DecodeUTF8(graft__buf_avail(&report) ? graft__buf_head(&report) : "",
                                         (Py_ssize_t)graft__buf_avail(&report), "replace");
    graft__buf_free(&report);
    if (!out)
        return NULL;
    PyObject *lines = PyUnicode_Splitlines(out, 0);
    Py_DECREF(out);
    return lines;
}
