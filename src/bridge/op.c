/* The coroutine that receive() and send() return.
 *
 * Apps and adapters treat these calls as coroutines: a2wsgi hands receive()
 * to asyncio.run_coroutine_threadsafe from a WSGI thread, others pass them
 * to create_task or wait_for. So the call itself only records what to do;
 * the work happens when the coroutine is first stepped, by the awaiting task
 * on the loop's thread. In the common case that step completes at once
 * (am_send returns the value: no Future, no trip through the loop). When the
 * app must wait, the step yields an asyncio Future exactly as `await fut`
 * would, through the Future's own iterator, so any Task can drive it. */
#include "bridge.h"

enum { OP_FRESH, OP_WAIT, OP_DONE };

typedef struct {
    PyObject_HEAD
    graftpy_cycle *cy;
    PyObject *msg; /* send(): the message; NULL for receive() */
    PyObject *fut; /* while waiting: the Future, and its iterator that yields it */
    PyObject *it;
    unsigned char kind, state;
} graftpy_op;

static PyObject *op_new(PyObject *cy, int kind, PyObject *msg)
{
    graftpy_cycle *c = (graftpy_cycle *)cy;
    graftpy_op *op = PyObject_GC_New(graftpy_op, c->srv->st->op_type);
    if (!op)
        return NULL;
    op->cy = (graftpy_cycle *)Py_NewRef(cy);
    op->msg = Py_XNewRef(msg);
    op->fut = op->it = NULL;
    op->kind = (unsigned char)kind;
    op->state = OP_FRESH;
    /* Not tracked by the GC until it waits: only then can it sit in a reference cycle
     * (task -> frame -> op -> Future -> task's wake-up callback). */
    return (PyObject *)op;
}

PyObject *graftpy_op_receive(PyObject *cy, PyObject *unused)
{
    (void)unused;
    return op_new(cy, GRAFT_OP_RECEIVE, NULL);
}

PyObject *graftpy_op_send(PyObject *cy, PyObject *msg) { return op_new(cy, GRAFT_OP_SEND, msg); }

PyObject *graftpy_op_ws_receive(PyObject *cy, PyObject *unused)
{
    (void)unused;
    return op_new(cy, GRAFT_OP_WS_RECEIVE, NULL);
}

PyObject *graftpy_op_ws_send(PyObject *cy, PyObject *msg) { return op_new(cy, GRAFT_OP_WS_SEND, msg); }

/* Does the operation: its value (None or a message dict), or a Future to wait on. */
static PyObject *run(graftpy_op *op)
{
    PyObject *cy = (PyObject *)op->cy;
    switch (op->kind) {
    case GRAFT_OP_RECEIVE:
        return graftpy_cycle_receive(cy, NULL);
    case GRAFT_OP_SEND:
        return graftpy_cycle_send(cy, op->msg);
    case GRAFT_OP_WS_RECEIVE:
        return graftpy_asgi_ws_receive(cy, NULL);
    default:
        return graftpy_asgi_ws_send(cy, op->msg);
    }
}

static int is_receive(graftpy_op *op) { return op->kind == GRAFT_OP_RECEIVE || op->kind == GRAFT_OP_WS_RECEIVE; }

/* Stops waiting (the task is cancelled or gone): a cancelled receive() consumes nothing. A
 * pending Future is cancelled, so no message is handed to it; a message already handed to
 * it goes to the next receive(). */
static void abandon(graftpy_op *op)
{
    PyObject *fut = op->fut;
    op->fut = NULL;
    Py_CLEAR(op->it);
    op->state = OP_DONE;
    if (!fut)
        return;
    PyObject *r = PyObject_CallMethod(fut, "cancel", NULL);
    int was_done = r ? r == Py_False : -1;
    Py_XDECREF(r);
    if (was_done == 1 && is_receive(op)) {
        PyObject *cancelled = PyObject_CallMethod(fut, "cancelled", NULL);
        int c = cancelled ? PyObject_IsTrue(cancelled) : -1;
        Py_XDECREF(cancelled);
        PyObject *msg = c == 0 ? PyObject_CallMethod(fut, "result", NULL) : NULL;
        if (msg)
            graftpy_cycle_receive_back(op->cy, msg);
        Py_XDECREF(msg);
    }
    if (PyErr_Occurred())
        PyErr_WriteUnraisable(fut);
    Py_DECREF(fut);
}

static PySendResult op_am_send(PyObject *self, PyObject *arg, PyObject **result)
{
    graftpy_op *op = (graftpy_op *)self;
    if (op->state == OP_FRESH) {
        PyObject *r = run(op);
        if (!r) {
            op->state = OP_DONE;
            *result = NULL;
            return PYGEN_ERROR;
        }
        if (r == Py_None || PyDict_CheckExact(r)) {
            op->state = OP_DONE;
            *result = r;
            return PYGEN_RETURN;
        }
        /* A Future: wait on it as `await fut` does. */
        unaryfunc await = Py_TYPE(r)->tp_as_async ? Py_TYPE(r)->tp_as_async->am_await : NULL;
        PyObject *it = await ? await(r) : NULL;
        if (!it) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "graft: expected an awaitable Future");
            Py_DECREF(r);
            op->state = OP_DONE;
            *result = NULL;
            return PYGEN_ERROR;
        }
        op->fut = r;
        op->it = it;
        op->state = OP_WAIT;
        arg = Py_None;
        if (!PyObject_GC_IsTracked(self))
            PyObject_GC_Track(self);
    }
    if (op->state == OP_WAIT) {
        PySendResult st = PyIter_Send(op->it, arg, result);
        if (st != PYGEN_NEXT) {
            Py_CLEAR(op->it);
            Py_CLEAR(op->fut);
            op->state = OP_DONE;
            /* This receive() has its message: the next waiting one may be served now. */
            if (st == PYGEN_RETURN && is_receive(op))
                graftpy_cycle_receive_resolve(op->cy);
        }
        return st;
    }
    PyErr_SetString(PyExc_RuntimeError, "cannot reuse already awaited coroutine");
    *result = NULL;
    return PYGEN_ERROR;
}

/* The result of a step as the generator protocol reports it (StopIteration on return). */
static PyObject *as_gen_result(PySendResult st, PyObject *result)
{
    if (st == PYGEN_NEXT)
        return result;
    if (st == PYGEN_ERROR)
        return NULL;
    if (result == Py_None) {
        Py_DECREF(result);
        PyErr_SetNone(PyExc_StopIteration);
        return NULL;
    }
    /* Wrapped so that a tuple or exception value is not unpacked by StopIteration. */
    PyObject *exc = PyObject_CallOneArg(PyExc_StopIteration, result);
    Py_DECREF(result);
    if (exc) {
        PyErr_SetObject(PyExc_StopIteration, exc);
        Py_DECREF(exc);
    }
    return NULL;
}

static PyObject *op_send_m(PyObject *self, PyObject *arg)
{
    PyObject *result = NULL;
    PySendResult st = op_am_send(self, arg, &result);
    return as_gen_result(st, result);
}

static PyObject *op_next(PyObject *self) { return op_send_m(self, Py_None); }

static PyObject *op_throw(PyObject *self, PyObject *args)
{
    graftpy_op *op = (graftpy_op *)self;
    PyObject *typ, *val = NULL, *tb = NULL;
    if (!PyArg_UnpackTuple(args, "throw", 1, 3, &typ, &val, &tb))
        return NULL;
    /* The awaiting task is cancelled or unwinding: it no longer waits. */
    if (op->state == OP_WAIT)
        abandon(op);
    op->state = OP_DONE;
    if (PyExceptionInstance_Check(typ))
        PyErr_SetObject((PyObject *)Py_TYPE(typ), typ);
    else if (PyExceptionClass_Check(typ))
        PyErr_SetObject(typ, val);
    else
        PyErr_SetString(PyExc_TypeError, "exceptions must be classes or instances deriving from BaseException");
    return NULL;
}

static PyObject *op_close(PyObject *self, PyObject *unused)
{
    (void)unused;
    graftpy_op *op = (graftpy_op *)self;
    if (op->state == OP_WAIT)
        abandon(op);
    op->state = OP_DONE;
    Py_RETURN_NONE;
}

static PyObject *op_await(PyObject *self) { return Py_NewRef(self); }

static PyObject *op_name(PyObject *self, void *unused)
{
    (void)unused;
    int k = ((graftpy_op *)self)->kind;
    return PyUnicode_FromString(k == GRAFT_OP_RECEIVE || k == GRAFT_OP_WS_RECEIVE ? "receive" : "send");
}

static int op_traverse(graftpy_op *op, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(op->cy);
    Py_VISIT(op->msg);
    Py_VISIT(op->fut);
    Py_VISIT(op->it);
    return 0;
}

static int op_clear(graftpy_op *op)
{
    Py_CLEAR(op->it);
    Py_CLEAR(op->fut);
    Py_CLEAR(op->msg);
    Py_CLEAR(op->cy);
    return 0;
}

static void op_dealloc(graftpy_op *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    if (op->state == OP_WAIT) {
        /* Dropped while waiting (its task was destroyed): stop waiting, as close() would. */
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        abandon(op);
        PyErr_Restore(t, v, tb);
    }
    op_clear(op);
    PyObject_GC_Del(op);
    Py_DECREF(tp);
}

static PyMethodDef op_methods[] = {
    {"send", op_send_m, METH_O, NULL},
    {"throw", op_throw, METH_VARARGS, NULL},
    {"close", op_close, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef op_getset[] = {
    {"__name__", op_name, NULL, NULL, NULL},
    {"__qualname__", op_name, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot op_slots[] = {
    {Py_tp_dealloc, op_dealloc},
    {Py_tp_traverse, op_traverse},
    {Py_tp_clear, op_clear},
    {Py_am_await, op_await},
    {Py_am_send, op_am_send},
    {Py_tp_iter, op_await},
    {Py_tp_iternext, op_next},
    {Py_tp_methods, op_methods},
    {Py_tp_getset, op_getset},
    {Py_tp_doc, "The coroutine returned by the ASGI receive() and send() callables."},
    {0, NULL},
};

static PyType_Spec op_spec = {
    .name = "graft._graft.Op",
    .basicsize = sizeof(graftpy_op),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = op_slots,
};

/* Registered as a collections.abc.Coroutine, which is what asyncio.iscoroutine checks
 * (create_task, ensure_future and run_coroutine_threadsafe accept it). The ABC would also
 * recognise the methods; registering says so explicitly. */
int graftpy_op_type_init(PyObject *m, graftpy_state *st)
{
    st->op_type = (PyTypeObject *)PyType_FromModuleAndSpec(m, &op_spec, NULL);
    if (!st->op_type || PyModule_AddObjectRef(m, "Op", (PyObject *)st->op_type) < 0)
        return -1;
    PyObject *abc = PyImport_ImportModule("collections.abc");
    PyObject *coro = abc ? PyObject_GetAttrString(abc, "Coroutine") : NULL;
    PyObject *r = coro ? PyObject_CallMethod(coro, "register", "O", st->op_type) : NULL;
    Py_XDECREF(abc);
    Py_XDECREF(coro);
    if (!r)
        return -1;
    Py_DECREF(r);
    return 0;
}
