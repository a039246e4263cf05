/* One request/response cycle as Python sees it. The cycle is itself the
 * coroutine handed to loop.create_task: it drives the app's coroutine through
 * am_send, so the app runs in a real asyncio Task (anyio, contextvars and
 * asyncio.timeout work) while completion and errors are handled in C with no
 * Python wrapper frame. */
#include <errno.h>

#include "bridge.h"

static PyMethodDef receive_def = {"receive", graftpy_op_receive, METH_NOARGS, NULL};
static PyMethodDef send_def = {"send", graftpy_op_send, METH_O, NULL};
static PyMethodDef ws_receive_def = {"receive", graftpy_op_ws_receive, METH_NOARGS, NULL};
static PyMethodDef ws_send_def = {"send", graftpy_op_ws_send, METH_O, NULL};

static void log_app_error(graftpy_server *srv, const char *msg, PyObject *exc)
{
    PyObject *m = PyUnicode_FromString(msg);
    if (m) {
        PyObject *r = PyObject_CallFunctionObjArgs(srv->log_error, m, exc ? exc : Py_None, NULL);
        Py_XDECREF(r);
        Py_DECREF(m);
    }
    if (PyErr_Occurred())
        PyErr_WriteUnraisable(srv->log_error);
}

/* Whether the HTTP exchange can no longer reach its client (left, or given up on by the
 * server). uvicorn then stays silent about an unfinished response: nobody waits for it, and
 * an ERROR per departed client would page whoever watches the logs. */
static int http_gone(graftpy_cycle *cy)
{
    return !cy->ws && cy->req && graft__req_gone(cy->req);
}

/* Exceptions on the path being examined: chains can loop (anyio re-raises a group's only
 * member, whose context is then the group itself). */
typedef struct {
    PyObject *seen[16];
    int n;
} exc_path;

static int from_disconnect(graftpy_state *st, PyObject *exc, exc_path *p);

static int on_path(exc_path *p, PyObject *exc)
{
    for (int i = 0; i < p->n; i++)
        if (p->seen[i] == exc)
            return 1;
    return 0;
}

/* Nothing went wrong before our send() raised ClientDisconnected: no other error in what it
 * was raised while handling (an error page for a real failure that could not be sent must
 * still be logged, as uvicorn logs the failure itself). */
static int clean_disconnect(graftpy_state *st, PyObject *exc, exc_path *p)
{
    PyObject *links[2] = {PyException_GetCause(exc), PyException_GetContext(exc)};
    int ok = 1;
    for (int i = 0; i < 2; i++) {
        PyObject *l = links[i];
        if (ok && l && l != Py_None && !on_path(p, l) &&
            PyObject_TypeCheck(l, (PyTypeObject *)PyExc_Exception))
            ok = from_disconnect(st, l, p);
        Py_XDECREF(l);
    }
    return ok;
}

/* Whether exc is only the departure of the client: the ClientDisconnected our own send()
 * raised, or what the app made of it (Starlette's ClientDisconnect raised from it, an
 * exception group whose members all are). */
static int from_disconnect(graftpy_state *st, PyObject *exc, exc_path *p)
{
    if (!exc || exc == Py_None || p->n == (int)(sizeof p->seen / sizeof p->seen[0]))
        return 0;
    p->seen[p->n++] = exc;
    int r = 0;
    if (PyObject_TypeCheck(exc, (PyTypeObject *)st->client_disconnected)) {
        r = clean_disconnect(st, exc, p);
    } else if (PyObject_TypeCheck(exc, (PyTypeObject *)PyExc_BaseExceptionGroup)) {
        PyObject *members = PyObject_GetAttrString(exc, "exceptions");
        if (!members)
            PyErr_Clear();
        r = members && PyTuple_Check(members) && PyTuple_GET_SIZE(members) > 0;
        for (Py_ssize_t i = 0; r && i < PyTuple_GET_SIZE(members); i++) {
            PyObject *m = PyTuple_GET_ITEM(members, i);
            r = on_path(p, m) || from_disconnect(st, m, p);
        }
        Py_XDECREF(members);
    } else {
        PyObject *links[2] = {PyException_GetCause(exc), PyException_GetContext(exc)};
        for (int i = 0; i < 2; i++) {
            if (!r && links[i] && !on_path(p, links[i]))
                r = from_disconnect(st, links[i], p);
            Py_XDECREF(links[i]);
        }
    }
    p->n--;
    return r;
}

/* The app finished (raised == 0) or raised: make sure the client gets an
 * answer or a close, then let the request go. */
static void cycle_finish(graftpy_cycle *cy, int raised)
{
    if (cy->req)
        graftpy_cycle_flush(cy); /* what the app sent goes before any verdict on it */
    if (cy->ws) {
        if (!raised && !cy->ws_accepted && !cy->ws_closed && !cy->ws_denial && cy->req)
            log_app_error(cy->srv, "ASGI callable returned without sending handshake.", NULL);
        graftpy_asgi_ws_finish(cy, raised);
    } else if (cy->state != CYC_DONE && cy->req && http_gone(cy)) {
        /* No 500 for a client that is not there, nor an error (uvicorn writes neither): just
         * end the exchange. A response the app had started is logged with its status, as
         * uvicorn logs it when it starts. */
        graft__req_write(cy->req, NULL, 0, GRAFT__W_FINAL | GRAFT__W_CLOSE);
        if (cy->state == CYC_STARTED)
            graftpy_access_log(cy->srv, cy->req, cy->status, cy);
        cy->state = CYC_DONE;
        /* A receive() still waiting (another task of the app's) gets http.disconnect, the
         * message every receive() gets once the exchange is over. */
        graftpy_cycle_resolve_receive(cy);
    } else if (cy->state != CYC_DONE && cy->req) {
        /* Unlocked: only this thread sets response_started (req.h), so the load is exact. */
        if (cy->state == CYC_INIT ||
            !atomic_load_explicit(&cy->req->response_started, memory_order_relaxed)) {
            if (!raised && cy->state == CYC_INIT)
                log_app_error(cy->srv, "ASGI callable returned without starting response.", NULL);
            else if (!raised)
                log_app_error(cy->srv, "ASGI callable returned without completing response.", NULL);
            graftpy_cycle_write_simple(cy, 500, "Internal Server Error");
        } else {
            if (!raised)
                log_app_error(cy->srv, "ASGI callable returned without completing response.", NULL);
            /* Head already on the wire: only a close tells the client the body is cut short. */
            graft__req_write(cy->req, NULL, 0, GRAFT__W_FINAL | GRAFT__W_CLOSE);
            cy->state = CYC_DONE;
            graftpy_cycle_response_done(cy);
        }
    }
    if (cy->req && cy->req->app_data) {
        cy->req->app_data = NULL;
        cy->srv->live--;
        Py_DECREF(cy); /* the request's reference; the caller still holds one */
    }
}

static PySendResult drive(graftpy_cycle *cy, PySendResult st, PyObject **result)
{
    if (st == PYGEN_NEXT)
        return st;
    Py_CLEAR(cy->coro); /* breaks cycle -> coroutine frame -> send -> cycle */
    if (st == PYGEN_RETURN) {
        if (*result != Py_None) {
            PyObject *msg = PyUnicode_FromFormat(
                "ASGI callable should return None, but returned '%R'.", *result);
            if (msg) {
                log_app_error(cy->srv, PyUnicode_AsUTF8(msg), NULL);
                Py_DECREF(msg);
            }
            Py_DECREF(*result);
            *result = Py_NewRef(Py_None);
            if (cy->state != CYC_DONE) {
                cycle_finish(cy, 0);
            } else {
                Py_INCREF(cy);
                cycle_finish(cy, 0);
                Py_DECREF(cy);
            }
            return PYGEN_RETURN;
        }
        Py_INCREF(cy);
        cycle_finish(cy, 0);
        Py_DECREF(cy);
        return PYGEN_RETURN;
    }
    /* The app raised. Cancellation (a BaseException) is the loop's business:
     * answer the client, then let it through so the Task ends cancelled. */
    PyObject *exc = graftpy_fetch_exc();
    Py_INCREF(cy);
    int base_only = exc && !PyObject_TypeCheck(exc, (PyTypeObject *)PyExc_Exception);
    /* The app only passed on what our send() told it: the client left (uvicorn's send() is
     * silent then, so its apps never raise this). Any other error is logged. */
    exc_path path = {.n = 0};
    int departed = !base_only && http_gone(cy) && from_disconnect(cy->srv->st, exc, &path);
    if (!base_only && !departed)
        log_app_error(cy->srv, "Exception in ASGI application\n", exc);
    cycle_finish(cy, 1);
    Py_DECREF(cy);
    if (base_only) {
        graftpy_restore_exc(exc);
        return PYGEN_ERROR;
    }
    Py_XDECREF(exc);
    *result = Py_NewRef(Py_None);
    return PYGEN_RETURN;
}

/* Runs the app until it next waits. The engine is told the loop is inside app code
 * meanwhile, so its watchdog keeps looking for a blocked loop (handoff.c). */
static PySendResult app_step(graftpy_cycle *cy, PyObject *arg, PyObject **result)
{
    graft__engine *e = cy->srv->engine;
    if (e)
        graft__engine_busy(e, 1);
    PySendResult st = PyIter_Send(cy->coro, arg, result);
    if (e && cy->srv->engine == e)
        graft__engine_busy(e, -1);
    return st;
}

static PySendResult cycle_am_send(PyObject *self, PyObject *arg, PyObject **result)
{
    graftpy_cycle *cy = (graftpy_cycle *)self;
    if (!cy->coro) {
        PyErr_SetString(PyExc_RuntimeError, "cannot reuse already awaited coroutine");
        return PYGEN_ERROR;
    }
    PySendResult st = app_step(cy, arg, result);
    return drive(cy, st, result);
}

static PyObject *gen_result(graftpy_cycle *cy, PySendResult st, PyObject *result)
{
    st = drive(cy, st, &result);
    if (st == PYGEN_NEXT)
        return result;
    if (st == PYGEN_RETURN) {
        Py_DECREF(result);
        PyErr_SetNone(PyExc_StopIteration);
    }
    return NULL;
}

static PyObject *cycle_send_m(PyObject *self, PyObject *arg)
{
    graftpy_cycle *cy = (graftpy_cycle *)self;
    if (!cy->coro) {
        PyErr_SetNone(PyExc_StopIteration);
        return NULL;
    }
    PyObject *result = NULL;
    PySendResult st = app_step(cy, arg, &result);
    return gen_result(cy, st, result);
}

static PyObject *cycle_throw_m(PyObject *self, PyObject *args)
{
    graftpy_cycle *cy = (graftpy_cycle *)self;
    if (!cy->coro) {
        PyObject *typ = PyTuple_GET_ITEM(args, 0);
        if (PyExceptionInstance_Check(typ))
            PyErr_SetObject((PyObject *)Py_TYPE(typ), typ);
        else
            PyErr_SetObject(typ, PyTuple_GET_SIZE(args) > 1 ? PyTuple_GET_ITEM(args, 1) : NULL);
        return NULL;
    }
    PyObject *meth = PyObject_GetAttrString(cy->coro, "throw");
    if (!meth)
        return NULL;
    graft__engine *e = cy->srv->engine;
    if (e)
        graft__engine_busy(e, 1); /* the app's handler of the exception runs now */
    PyObject *r = PyObject_Call(meth, args, NULL);
    if (e && cy->srv->engine == e)
        graft__engine_busy(e, -1);
    Py_DECREF(meth);
    if (r)
        return r; /* the app caught it and yielded again */
    if (PyErr_ExceptionMatches(PyExc_StopIteration)) {
        PyObject *exc = graftpy_fetch_exc();
        PyObject *val = exc ? PyObject_GetAttrString(exc, "value") : NULL;
        Py_XDECREF(exc);
        PyErr_Clear();
        return gen_result(cy, PYGEN_RETURN, val ? val : Py_NewRef(Py_None));
    }
    return gen_result(cy, PYGEN_ERROR, NULL);
}

static PyObject *cycle_close_m(PyObject *self, PyObject *unused)
{
    (void)unused;
    graftpy_cycle *cy = (graftpy_cycle *)self;
    if (cy->coro) {
        PyObject *r = PyObject_CallMethod(cy->coro, "close", NULL);
        Py_CLEAR(cy->coro);
        if (!r)
            return NULL;
        Py_DECREF(r);
    }
    Py_RETURN_NONE;
}

static PyObject *cycle_await(PyObject *self) { return Py_NewRef(self); }

static PyObject *cycle_next(PyObject *self) { return cycle_send_m(self, Py_None); }

static int cycle_traverse(graftpy_cycle *cy, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(cy));
    Py_VISIT(cy->srv);
    Py_VISIT(cy->coro);
    Py_VISIT(cy->receive_waiters);
    Py_VISIT(cy->receive_back);
    Py_VISIT(cy->send_waiters);
    Py_VISIT(cy->headers);
    Py_VISIT(cy->scope);
    return 0;
}

static int cycle_clear(graftpy_cycle *cy)
{
    Py_CLEAR(cy->coro);
    Py_CLEAR(cy->receive_waiters);
    Py_CLEAR(cy->receive_back);
    Py_CLEAR(cy->send_waiters);
    Py_CLEAR(cy->headers);
    Py_CLEAR(cy->scope);
    Py_CLEAR(cy->route_str);
    return 0;
}

static void cycle_dealloc(graftpy_cycle *cy)
{
    PyTypeObject *tp = Py_TYPE(cy);
    PyObject_GC_UnTrack(cy);
    cycle_clear(cy);
    graft__buf_free(&cy->pend);
    if (cy->req) {
        cy->req->app_data = NULL;
        graft__req_release(cy->req);
        cy->req = NULL;
    }
    Py_CLEAR(cy->srv);
    tp->tp_free((PyObject *)cy);
    Py_DECREF(tp);
}

static PyObject *cycle_get_departed(PyObject *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(http_gone((graftpy_cycle *)self));
}

static PyGetSetDef cycle_getset[] = {
    {"departed", cycle_get_departed, NULL,
     "The HTTP client left (or the server gave up on it) before the response completed: "
     "nothing the app still does can reach anyone.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef cycle_methods[] = {
    {"send", cycle_send_m, METH_O, NULL},
    {"throw", cycle_throw_m, METH_VARARGS, NULL},
    {"close", cycle_close_m, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot cycle_slots[] = {
    {Py_tp_dealloc, cycle_dealloc},
    {Py_tp_traverse, cycle_traverse},
    {Py_tp_clear, cycle_clear},
    {Py_am_await, cycle_await},
    {Py_am_send, cycle_am_send},
    {Py_tp_iter, cycle_await},
    {Py_tp_iternext, cycle_next},
    {Py_tp_methods, cycle_methods},
    {Py_tp_getset, cycle_getset},
    {Py_tp_doc, "One HTTP request/response exchange with the ASGI app (a coroutine)."},
    {0, NULL},
};

static PyType_Spec cycle_spec = {
    .name = "graft._graft.Cycle",
    .basicsize = sizeof(graftpy_cycle),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = cycle_slots,
};

int graftpy_cycle_type_init(PyObject *m, graftpy_state *st)
{
    st->cycle_type = (PyTypeObject *)PyType_FromModuleAndSpec(m, &cycle_spec, NULL);
    if (!st->cycle_type)
        return -1;
    return PyModule_AddObjectRef(m, "Cycle", (PyObject *)st->cycle_type);
}

void graftpy_cycle_start(graftpy_server *srv, graft__req *req)
{
    graftpy_state *st = srv->st;
    graftpy_cycle *cy = PyObject_GC_New(graftpy_cycle, st->cycle_type);
    if (!cy) {
        PyErr_Clear();
        graft__req_release(req);
        return;
    }
    cy->srv = (graftpy_server *)Py_NewRef(srv);
    cy->req = req; /* the event's reference becomes ours */
    cy->coro = cy->receive_waiters = cy->receive_back = cy->send_waiters = NULL;
    cy->receive = cy->send = cy->headers = NULL;
    cy->state = CYC_INIT;
    cy->status = 0;
    cy->content_length = -1;
    cy->sent = 0;
    cy->chunked = cy->close = cy->no_body = cy->body_ended = 0;
    cy->has_date = cy->failed = cy->app_close = 0;
    cy->ws = req->websocket;
    cy->ws_connect_sent = cy->ws_accepted = cy->ws_closed = cy->ws_denial = 0;
    cy->head_built = cy->pressure = cy->flush_scheduled = 0;
    cy->pend = (graft__buf){0};
    cy->scope = cy->route_str = NULL;
    PyObject_GC_Track(cy);
    req->app_data = Py_NewRef(cy);
    srv->live++;

    PyObject *scope = cy->ws ? graftpy_asgi_ws_scope_new(srv, req) : graftpy_scope_new(srv, req);
    PyObject *recv = scope ? PyCFunction_New(cy->ws ? &ws_receive_def : &receive_def, (PyObject *)cy) : NULL;
    PyObject *send = recv ? PyCFunction_New(cy->ws ? &ws_send_def : &send_def, (PyObject *)cy) : NULL;
    PyObject *coro = NULL;
    if (send) {
        PyObject *args[3] = {scope, recv, send};
        coro = PyObject_Vectorcall(srv->app, args, 3, NULL);
    }
    if (scope && srv->metrics && !cy->ws)
        cy->scope = Py_NewRef(scope);
    Py_XDECREF(scope);
    Py_XDECREF(recv);
    Py_XDECREF(send);
    if (!coro) {
        PyObject *exc = graftpy_fetch_exc();
        log_app_error(srv, "Exception in ASGI application\n", exc);
        Py_XDECREF(exc);
        cycle_finish(cy, 1);
        Py_DECREF(cy);
        return;
    }
    cy->coro = coro;
    PyObject *task = PyObject_CallOneArg(srv->create_task, (PyObject *)cy);
    if (!task) {
        PyObject *exc = graftpy_fetch_exc();
        log_app_error(srv, "Could not schedule the ASGI application\n", exc);
        Py_XDECREF(exc);
        Py_CLEAR(cy->coro);
        cycle_finish(cy, 1);
    }
    Py_XDECREF(task);
    Py_DECREF(cy);
}

static void settle(graftpy_server *srv, PyObject *fut, PyObject *value, int is_exc)
{
    PyObject *done = PyObject_CallMethodNoArgs(fut, srv->st->s_done);
    int d = done ? PyObject_IsTrue(done) : 1;
    Py_XDECREF(done);
    if (d == 0) {
        PyObject *r = PyObject_CallMethodOneArg(
            fut, is_exc ? srv->st->s_set_exception : srv->st->s_set_result, value);
        Py_XDECREF(r);
    }
    if (PyErr_Occurred())
        PyErr_WriteUnraisable(fut);
}

/* The output drained (gone == 0) or the client left: every waiting send() goes on. */
static void settle_send(graftpy_cycle *cy, int gone)
{
    if (!gone)
        cy->pressure = 0;
    PyObject *q = cy->send_waiters;
    if (!q || !PyList_GET_SIZE(q))
        return;
    cy->send_waiters = NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(q); i++) {
        PyObject *fut = PyList_GET_ITEM(q, i);
        if (!gone) {
            settle(cy->srv, fut, Py_None, 0);
            continue;
        }
        PyObject *exc = PyObject_CallFunction(cy->srv->st->client_disconnected, "s", "client disconnected");
        if (exc) {
            settle(cy->srv, fut, exc, 1);
            Py_DECREF(exc);
        } else
            PyErr_WriteUnraisable((PyObject *)cy);
    }
    Py_DECREF(q);
}

void graftpy_cycle_event(graftpy_server *srv, graft__req *req, int ev)
{
    (void)srv;
    graftpy_cycle *cy = req->app_data;
    if (!cy) {
        graft__req_release(req);
        return;
    }
    Py_INCREF(cy);
    if (ev == GRAFT__EV_BODY || ev == GRAFT__EV_DISCONNECT) {
        if (cy->ws)
            graftpy_asgi_ws_resolve_receive(cy);
        else
            graftpy_cycle_resolve_receive(cy);
    }
    if (ev == GRAFT__EV_WRITABLE || ev == GRAFT__EV_DISCONNECT)
        settle_send(cy, ev == GRAFT__EV_DISCONNECT);
    Py_DECREF(cy);
    graft__req_release(req);
}

/* Hands msg to a waiting receive(). */
void graftpy_cycle_settle_receive(graftpy_cycle *cy, PyObject *fut, PyObject *msg)
{
    settle(cy->srv, fut, msg, 0);
}
