/* An already-completed awaitable: what send()/receive() return when they
 * finish at once, so the common path allocates no asyncio Future and never
 * goes back to the event loop. `await` drives it through am_send, which
 * returns the value without raising StopIteration. */
#include "bridge.h"

typedef struct {
    PyObject_HEAD
    PyObject *value;
} graft_ready;

PyObject *graft_ready_new(graft_state *st, PyObject *value)
{
    graft_ready *r = PyObject_New(graft_ready, st->ready_type);
    if (!r)
        return NULL;
    r->value = Py_NewRef(value);
    return (PyObject *)r;
}

static void ready_dealloc(graft_ready *r)
{
    PyTypeObject *tp = Py_TYPE(r);
    Py_CLEAR(r->value);
    PyObject_Free(r);
    Py_DECREF(tp);
}

static PyObject *ready_await(PyObject *self) { return Py_NewRef(self); }

static PySendResult ready_am_send(PyObject *self, PyObject *arg, PyObject **result)
{
    (void)arg;
    graft_ready *r = (graft_ready *)self;
    *result = r->value ? Py_NewRef(r->value) : Py_NewRef(Py_None);
    return PYGEN_RETURN;
}

static PyObject *ready_next(PyObject *self)
{
    graft_ready *r = (graft_ready *)self;
    PyObject *v = r->value ? r->value : Py_None;
    if (v == Py_None)
        return NULL; /* StopIteration(None) without allocating it */
    /* A tuple or exception value must be wrapped so it is not unpacked. */
    PyObject *exc = PyObject_CallOneArg(PyExc_StopIteration, v);
    if (exc) {
        PyErr_SetObject(PyExc_StopIteration, exc);
        Py_DECREF(exc);
    }
    return NULL;
}

static PyObject *ready_send(PyObject *self, PyObject *arg)
{
    (void)arg;
    return ready_next(self);
}

static PyObject *ready_throw(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *typ, *val = NULL, *tb = NULL;
    if (!PyArg_UnpackTuple(args, "throw", 1, 3, &typ, &val, &tb))
        return NULL;
    if (PyExceptionInstance_Check(typ))
        PyErr_SetObject((PyObject *)Py_TYPE(typ), typ);
    else
        PyErr_SetObject(typ, val);
    return NULL;
}

static PyObject *ready_close(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    Py_RETURN_NONE;
}

static PyMethodDef ready_methods[] = {
    {"send", ready_send, METH_O, NULL},
    {"throw", ready_throw, METH_VARARGS, NULL},
    {"close", ready_close, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot ready_slots[] = {
    {Py_tp_dealloc, ready_dealloc},
    {Py_am_await, ready_await},
    {Py_am_send, ready_am_send},
    {Py_tp_iter, ready_await},
    {Py_tp_iternext, ready_next},
    {Py_tp_methods, ready_methods},
    {Py_tp_doc, "A completed awaitable returned by send()/receive() when no wait is needed."},
    {0, NULL},
};

static PyType_Spec ready_spec = {
    .name = "graft._graft.Ready",
    .basicsize = sizeof(graft_ready),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = ready_slots,
};

int graft_ready_type_init(PyObject *m, graft_state *st)
{
    st->ready_type = (PyTypeObject *)PyType_FromModuleAndSpec(m, &ready_spec, NULL);
    if (!st->ready_type)
        return -1;
    return PyModule_AddObjectRef(m, "Ready", (PyObject *)st->ready_type);
}
