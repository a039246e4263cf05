/* _graft.native_routes(specs): the routes handler libraries register, for `graft routes`
 * (the coverage report), without a server: the libraries are loaded and registered as graft
 * would, listed, and released. */
#include "bridge.h"

PyObject *graftpy_native_routes(PyObject *mod, PyObject *specs)
{
    (void)mod;
    PyObject *seq = PySequence_Fast(specs, "native_routes takes a sequence of str");
    if (!seq)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    const char **paths = PyMem_Calloc((size_t)n + 1, sizeof *paths);
    if (!paths) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = PySequence_Fast_GET_ITEM(seq, i);
        paths[i] = PyUnicode_Check(o) ? PyUnicode_AsUTF8(o) : NULL;
        if (!paths[i]) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "native_routes takes str paths");
            PyMem_Free(paths);
            Py_DECREF(seq);
            return NULL;
        }
    }
    graft__native *nat = NULL;
    char err[1024] = "";
    int rc;
    Py_BEGIN_ALLOW_THREADS rc = graft__native_new(&nat, paths, (size_t)n, 0, err, sizeof err);
    Py_END_ALLOW_THREADS
    PyMem_Free(paths);
    Py_DECREF(seq);
    if (rc < 0) {
        PyErr_SetString(PyExc_RuntimeError, err[0] ? err : "cannot load native libraries");
        return NULL;
    }
    /* (method, template, library path): WebSocket routes have the method "WEBSOCKET". */
    PyObject *out = PyList_New(0);
    for (size_t i = 0; out && i < nat->router.n; i++) {
        const graft__route *rt = &nat->router.routes[i];
        PyObject *t = Py_BuildValue("(sss)", rt->method, rt->template, rt->lib ? rt->lib->path : "");
        if (!t || PyList_Append(out, t) < 0)
            Py_CLEAR(out);
        Py_XDECREF(t);
    }
    Py_BEGIN_ALLOW_THREADS graft__native_free(nat);
    Py_END_ALLOW_THREADS
    return out;
}
