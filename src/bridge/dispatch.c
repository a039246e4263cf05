/* How engine events reach the Python thread.
 *
 * While the loop is idle it polls the engine itself: Server.poll is the
 * reader callback on each I/O thread's epoll fd. Requests are read, parsed
 * and queued on this very thread (with the GIL released) and handled right
 * after, so a request reaches the app without waking another thread.
 *
 * Everything else comes from other threads: an I/O thread that took over
 * while the loop was blocked, native blocking handlers, shutdown. They queue
 * events and wake the loop through one eventfd only when the queue goes from
 * empty to non-empty, so a burst of requests costs one wake-up and one drain
 * (Server.drain), which also hands the connections back to the loop. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "bridge.h"

/* Any thread; no GIL, no Python. */
void graftpy_deliver(void *ud, graft__req *req, int ev)
{
    graftpy_server *srv = ud;
    pthread_mutex_lock(&srv->qmu);
    if (srv->qlen == srv->qcap) {
        size_t cap = srv->qcap ? srv->qcap * 2 : 256;
        graftpy_event *q = realloc(srv->q, cap * sizeof *q);
        if (!q) {
            pthread_mutex_unlock(&srv->qmu);
            graft__req_release(req); /* dropped: the connection's own timers end it */
            return;
        }
        srv->q = q;
        srv->qcap = cap;
    }
    int was_empty = srv->qlen == 0;
    srv->q[srv->qlen++] = (graftpy_event){req, ev};
    pthread_mutex_unlock(&srv->qmu);
    /* The loop's own poll handles the queue when it returns. */
    if (was_empty && !(pthread_equal(pthread_self(), srv->loop_thread) && srv->polling)) {
        uint64_t one = 1;
        ssize_t r = write(srv->efd, &one, sizeof one);
        (void)r;
    }
}

static void handle_queue(graftpy_server *srv)
{
    for (;;) {
        pthread_mutex_lock(&srv->qmu);
        graftpy_event *batch = srv->q;
        size_t n = srv->qlen;
        /* swap buffers so other threads fill the other one meanwhile */
        srv->q = srv->work;
        srv->qlen = 0;
        size_t cap = srv->qcap;
        srv->qcap = srv->workcap;
        srv->work = batch;
        srv->workcap = cap;
        pthread_mutex_unlock(&srv->qmu);
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            graftpy_event e = batch[i];
            if (e.ev == GRAFT__EV_REQUEST) {
                srv->requests++;
                graftpy_cycle_start(srv, e.req);
                if (srv->max_requests > 0 && srv->requests == srv->max_requests &&
                    srv->on_request_count != Py_None) {
                    PyObject *r = PyObject_CallNoArgs(srv->on_request_count);
                    if (!r)
                        PyErr_WriteUnraisable(srv->on_request_count);
                    Py_XDECREF(r);
                }
            } else if (e.ev == GRAFT__EV_LOG) {
                graftpy_access_log(srv, e.req, e.req->status, NULL);
                graft__req_release(e.req);
            } else
                graftpy_cycle_event(srv, e.req, e.ev);
        }
    }
}

/* Starts or stops watching I/O thread i's epoll fd with Server.poll. */
static int watch(graftpy_server *srv, int i, int on)
{
    PyObject *fd = PyLong_FromLong(graft__engine_poll_fd(srv->engine, i));
    PyObject *idx = PyLong_FromLong(i);
    PyObject *poll = PyObject_GetAttrString((PyObject *)srv, "poll");
    PyObject *r = NULL;
    if (fd && idx && poll)
        r = on ? PyObject_CallMethod(srv->loop, "add_reader", "OOO", fd, poll, idx)
               : PyObject_CallMethod(srv->loop, "remove_reader", "O", fd);
    Py_XDECREF(fd);
    Py_XDECREF(idx);
    Py_XDECREF(poll);
    if (!r)
        return -1;
    Py_DECREF(r);
    srv->watching[i] = (char)on;
    return 0;
}

/* Tells Python (a debug log) that I/O thread i served its connections while the loop was
 * blocked, and that the loop has them back now. */
static void report(graftpy_server *srv, int i)
{
    if (srv->on_handoff == Py_None)
        return;
    PyObject *r = PyObject_CallFunction(srv->on_handoff, "i", i);
    if (!r)
        PyErr_WriteUnraisable(srv->on_handoff);
    Py_XDECREF(r);
}

PyObject *graftpy_server_watch_all(graftpy_server *srv)
{
    for (int i = 0; srv->io_poll && i < srv->nthreads; i++)
        if (watch(srv, i, 1) < 0)
            return NULL;
    Py_RETURN_NONE;
}

PyObject *graftpy_server_unwatch_all(graftpy_server *srv)
{
    for (int i = 0; srv->engine && i < srv->nthreads; i++)
        if (srv->watching[i] && watch(srv, i, 0) < 0)
            return NULL;
    Py_RETURN_NONE;
}

PyObject *graftpy_server_poll(PyObject *self, PyObject *arg)
{
    graftpy_server *srv = (graftpy_server *)self;
    long i = PyLong_AsLong(arg);
    if (i == -1 && PyErr_Occurred())
        return NULL;
    if (!srv->engine || i < 0 || i >= srv->nthreads)
        Py_RETURN_NONE;
    int n;
    srv->polling = 1;
    Py_BEGIN_ALLOW_THREADS n = graft__engine_poll(srv->engine, (int)i);
    Py_END_ALLOW_THREADS srv->polling = 0;
    if (n == -EBUSY) {
        /* The I/O thread took over while we were busy: its events come by the eventfd now. */
        if (watch(srv, (int)i, 0) < 0)
            return NULL;
    }
    handle_queue(srv);
    Py_RETURN_NONE;
}

PyObject *graftpy_server_drain(PyObject *self, PyObject *unused)
{
    (void)unused;
    graftpy_server *srv = (graftpy_server *)self;
    uint64_t v;
    ssize_t rr = read(srv->efd, &v, sizeof v);
    (void)rr;
    handle_queue(srv);
    /* The loop is responsive again: take back connections an I/O thread took over. An app
     * that blocks its loop on every request trades them back and forth, at a few syscalls
     * per blocking stretch of at least the watchdog's period (handoff.c). */
    for (int i = 0; srv->engine && srv->io_poll && i < srv->nthreads; i++) {
        if (graft__engine_reclaim(srv->engine, i) > 0)
            report(srv, i);
        if (!srv->watching[i] && watch(srv, i, 1) < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}
