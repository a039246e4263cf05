/* The shared region from Python (shared.h): the supervisor creates it before forking (a
 * capsule that unmaps it when the last reference in a process goes), writes the workers
 * gauge and frees reaped workers' slots; the cycle labels each response for the metrics. */
#include "bridge.h"

static const char capsule_name[] = "graft._graft.shared";

static void capsule_free(PyObject *cap)
{
    graft__shared_free(PyCapsule_GetPointer(cap, capsule_name));
}

graft__shared *graftpy_shared_get(PyObject *o)
{
    if (!PyCapsule_IsValid(o, capsule_name)) {
        PyErr_SetString(PyExc_TypeError, "expected a region from graft._graft.shared_new()");
        return NULL;
    }
    return PyCapsule_GetPointer(o, capsule_name);
}

PyObject *graftpy_shared_new(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    graft__shared *s;
    int rc = graft__shared_new(&s);
    if (rc < 0) {
        errno = -rc;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    PyObject *cap = PyCapsule_New(s, capsule_name, capsule_free);
    if (!cap)
        graft__shared_free(s);
    return cap;
}

PyObject *graftpy_shared_set_workers(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *o;
    int n;
    if (!PyArg_ParseTuple(args, "Oi", &o, &n))
        return NULL;
    graft__shared *s = graftpy_shared_get(o);
    if (!s)
        return NULL;
    graft__shared_set_workers(s, n);
    Py_RETURN_NONE;
}

PyObject *graftpy_shared_slot_reset(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *o;
    int i;
    if (!PyArg_ParseTuple(args, "Oi", &o, &i))
        return NULL;
    graft__shared *s = graftpy_shared_get(o);
    if (!s)
        return NULL;
    graft__shared_slot_reset(s, i);
    Py_RETURN_NONE;
}

/* The template prefixed with the mounts the request went through: Starlette's Mount extends
 * scope["root_path"] (the same dict) beyond the server's --root-path, and the route's own
 * template is relative to it. Steals p; a new reference or NULL (no error set). */
static PyObject *with_mounts(graftpy_cycle *cy, PyObject *p)
{
    PyObject *root = PyDict_GetItemWithError(cy->scope, cy->srv->st->k_root_path);
    Py_ssize_t base = PyUnicode_GET_LENGTH(cy->srv->root_path);
    if (!root || !PyUnicode_Check(root) || PyUnicode_GET_LENGTH(root) <= base ||
        PyUnicode_Tailmatch(root, cy->srv->root_path, 0, base, -1) != 1) {
        PyErr_Clear();
        return p;
    }
    PyObject *mounts = PyUnicode_Substring(root, base, PyUnicode_GET_LENGTH(root));
    PyObject *full = mounts ? PyUnicode_Concat(mounts, p) : NULL;
    Py_XDECREF(mounts);
    if (!full) {
        PyErr_Clear();
        return p;
    }
    Py_DECREF(p);
    return full;
}

/* The app's route template from its scope: FastAPI's APIRoute.path_format, else a
 * Starlette route's .path; a new str reference, or NULL (no error set). */
static PyObject *app_route(graftpy_state *st, PyObject *scope)
{
    PyObject *route = PyDict_GetItemWithError(scope, st->k_route); /* borrowed */
    if (!route) {
        PyErr_Clear();
        return NULL;
    }
    PyObject *p = PyObject_GetAttrString(route, "path_format");
    if (!p) {
        PyErr_Clear();
        p = PyObject_GetAttrString(route, "path");
    }
    if (!p || !PyUnicode_Check(p)) {
        PyErr_Clear();
        Py_XDECREF(p);
        return NULL;
    }
    return p;
}

void graftpy_cycle_label(graftpy_cycle *cy)
{
    graft__req *r = cy->req;
    r->status = cy->status;
    if (!cy->scope || r->route_label || r->answered_by != GRAFT__BY_PYTHON || cy->route_str)
        return;
    cy->route_str = app_route(cy->srv->st, cy->scope);
    if (cy->route_str)
        cy->route_str = with_mounts(cy, cy->route_str);
    if (cy->route_str) {
        r->route_label = PyUnicode_AsUTF8(cy->route_str); /* lives as long as route_str */
        if (!r->route_label)
            PyErr_Clear();
    }
}
