/* receive() and send(): validated ASGI messages in, bytes out. Both give
 * their result at once when no wait is needed (the common case) and an
 * asyncio Future only when the app must wait for the client (op.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bridge.h"
#include "tap.h"

static PyObject *disconnect_msg(graftpy_state *st)
{
    PyObject *d = PyDict_New();
    if (d && PyDict_SetItem(d, st->k_type, st->v_http_disconnect) < 0)
        Py_CLEAR(d);
    return d;
}

/* The next receive() message if one is ready now; NULL without exception when the app must wait. */
static PyObject *next_message(graftpy_cycle *cy, int *err)
{
    graftpy_state *st = cy->srv->st;
    *err = 0;
    if (cy->state == CYC_DONE || !cy->req)
        return disconnect_msg(st);
    if (cy->body_ended) {
        if (graft__req_wait_disconnect(cy->req))
            return disconnect_msg(st);
        return NULL;
    }
    graft__buf b = {0};
    int more, gone;
    if (graft__req_take_body(cy->req, &b, &more, &gone) < 0) {
        graft__buf_free(&b);
        *err = 1;
        PyErr_NoMemory();
        return NULL;
    }
    if (gone) {
        graft__buf_free(&b);
        return disconnect_msg(st);
    }
    if (!graft__buf_avail(&b) && more)
        return NULL;
    graft__tap_request_body(cy->req->tap, graft__buf_head(&b), graft__buf_avail(&b), !more);
    PyObject *body = graft__buf_avail(&b)
                         ? PyBytes_FromStringAndSize(graft__buf_head(&b), (Py_ssize_t)graft__buf_avail(&b))
                         : Py_NewRef(st->v_empty_bytes);
    graft__buf_free(&b);
    PyObject *d = body ? PyDict_New() : NULL;
    if (!d || PyDict_SetItem(d, st->k_type, st->v_http_request) < 0 ||
        PyDict_SetItem(d, st->k_body, body) < 0 ||
        PyDict_SetItem(d, st->k_more_body, more ? Py_True : Py_False) < 0) {
        Py_XDECREF(body);
        Py_XDECREF(d);
        *err = 1;
        return NULL;
    }
    Py_DECREF(body);
    if (!more)
        cy->body_ended = 1;
    return d;
}

/* Drops the finished Futures at the front of a waiter queue: receive()s already served and
 * cancelled ones, which consume nothing. 1 when one is still waiting, 0 if none, -1 on error. */
static int first_waiting(graftpy_cycle *cy, PyObject *q)
{
    while (q && PyList_GET_SIZE(q)) {
        PyObject *done = PyObject_CallMethodNoArgs(PyList_GET_ITEM(q, 0), cy->srv->st->s_done);
        int d = done ? PyObject_IsTrue(done) : -1;
        Py_XDECREF(done);
        if (d <= 0)
            return d < 0 ? -1 : 1;
        if (PySequence_DelItem(q, 0) < 0)
            return -1;
    }
    return 0;
}

/* A new Future at the end of the queue *qp (created on first use). */
static PyObject *enqueue(graftpy_cycle *cy, PyObject **qp)
{
    if (!*qp && !(*qp = PyList_New(0)))
        return NULL;
    PyObject *fut = PyObject_CallNoArgs(cy->srv->create_future);
    if (fut && PyList_Append(*qp, fut) < 0)
        Py_CLEAR(fut);
    return fut;
}

/* The next message: one a cancelled receive() gave back first, else next's (NULL: wait). */
static PyObject *take(graftpy_cycle *cy, graftpy_next_fn next, int *err)
{
    *err = 0;
    if (cy->receive_back) {
        PyObject *m = cy->receive_back;
        cy->receive_back = NULL;
        return m;
    }
    return next(cy, err);
}

/* receive() for both protocols: the next message now, or a Future that an engine event
 * settles. As with uvicorn's queues, each message goes to exactly one receive(), the
 * oldest still waiting: a new call queues behind those that wait. */
PyObject *graftpy_cycle_receive_with(graftpy_cycle *cy, graftpy_next_fn next)
{
    int waiting = first_waiting(cy, cy->receive_waiters);
    if (waiting < 0)
        return NULL;
    if (!waiting) {
        int err;
        PyObject *msg = take(cy, next, &err);
        if (msg || err)
            return msg;
    }
    return enqueue(cy, &cy->receive_waiters);
}

void graftpy_cycle_receive_back(graftpy_cycle *cy, PyObject *msg)
{
    /* Only one waiter at a time is handed a message before its task resumes, so there is
     * never a second one to give back. */
    if (!cy->receive_back)
        cy->receive_back = Py_NewRef(msg);
    graftpy_cycle_receive_resolve(cy);
}

void graftpy_cycle_receive_resolve(graftpy_cycle *cy)
{
    if (cy->ws)
        graftpy_asgi_ws_resolve_receive(cy);
    else
        graftpy_cycle_resolve_receive(cy);
}

PyObject *graftpy_cycle_send_wait(graftpy_cycle *cy) { return enqueue(cy, &cy->send_waiters); }

PyObject *graftpy_cycle_receive(PyObject *self, PyObject *unused)
{
    (void)unused;
    graftpy_cycle *cy = (graftpy_cycle *)self;
    if (cy->req)
        graftpy_cycle_flush(cy); /* the head goes out before any 100 Continue would */
    return graftpy_cycle_receive_with(cy, next_message);
}

/* An event arrived, or a served receive() resumed: hand the next message, if there is one
 * now, to the oldest receive() still waiting. One at a time: the next waiter is served when
 * this one's task resumes (op.c), so a message given back by a cancelled one keeps its
 * place. */
void graftpy_cycle_resolve_with(graftpy_cycle *cy, graftpy_next_fn next)
{
    int waiting = first_waiting(cy, cy->receive_waiters);
    if (waiting <= 0) {
        if (waiting < 0)
            PyErr_WriteUnraisable((PyObject *)cy);
        return;
    }
    int err;
    PyObject *msg = take(cy, next, &err);
    if (!msg) {
        if (err)
            PyErr_WriteUnraisable((PyObject *)cy);
        return; /* spurious: next re-armed the wait */
    }
    PyObject *fut = Py_NewRef(PyList_GET_ITEM(cy->receive_waiters, 0));
    if (PySequence_DelItem(cy->receive_waiters, 0) < 0)
        PyErr_WriteUnraisable((PyObject *)cy);
    graftpy_cycle_settle_receive(cy, fut, msg);
    Py_DECREF(fut);
    Py_DECREF(msg);
}

void graftpy_cycle_resolve_receive(graftpy_cycle *cy) { graftpy_cycle_resolve_with(cy, next_message); }

static void client_text(const graft__req *r, char client[80])
{
    if (r->client_port >= 0)
        snprintf(client, 80, "%s:%d", r->client_ip, r->client_port);
    else
        client[0] = '\0';
}

/* The request target as logged: visible ASCII only (the parser refused anything else), so a
 * log line cannot be forged. */
static Py_ssize_t target_len(const graft__req *r)
{
    return (Py_ssize_t)(r->target[0] == '/' ? r->target_len : r->path_len);
}

void graftpy_ws_log(graftpy_cycle *cy, int status)
{
    graftpy_server *srv = cy->srv;
    if (srv->ws_log == Py_None || !cy->req)
        return;
    char client[80];
    client_text(cy->req, client);
    PyObject *res = PyObject_CallFunction(srv->ws_log, "sOs#i", client, srv->root_path,
                                          cy->req->target, target_len(cy->req), status);
    if (!res)
        PyErr_WriteUnraisable(srv->ws_log);
    Py_XDECREF(res);
}

/* A request header's value as str (latin-1: any byte maps), None when absent. */
static PyObject *req_header(const graft__req *r, PyObject *name)
{
    const char *n = PyBytes_AS_STRING(name);
    size_t nl = (size_t)PyBytes_GET_SIZE(name);
    for (size_t i = 0; i < r->num_headers; i++) {
        const graft__header *h = &r->headers[i];
        if (h->name_len == nl && strncasecmp(h->name, n, nl) == 0)
            return PyUnicode_DecodeLatin1(h->value, (Py_ssize_t)h->value_len, NULL);
    }
    return Py_NewRef(Py_None);
}

/* A response header the app sent (cy->headers, validated pairs of bytes), None when absent. */
static PyObject *resp_header(PyObject *headers, PyObject *name)
{
    PyObject *seq = headers ? PySequence_Fast(headers, "") : NULL;
    if (!seq) {
        PyErr_Clear();
        return Py_NewRef(Py_None);
    }
    const char *n = PyBytes_AS_STRING(name);
    Py_ssize_t nl = PyBytes_GET_SIZE(name);
    PyObject *found = NULL;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq) && !found; i++) {
        PyObject *pair = PySequence_Fast(PySequence_Fast_GET_ITEM(seq, i), "");
        if (!pair) {
            PyErr_Clear();
            continue;
        }
        if (PySequence_Fast_GET_SIZE(pair) == 2) {
            PyObject *k = PySequence_Fast_GET_ITEM(pair, 0), *v = PySequence_Fast_GET_ITEM(pair, 1);
            if (PyBytes_Check(k) && PyBytes_Check(v) && PyBytes_GET_SIZE(k) == nl &&
                strncasecmp(PyBytes_AS_STRING(k), n, (size_t)nl) == 0)
                found = PyUnicode_DecodeLatin1(PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v), NULL);
        }
        Py_DECREF(pair);
    }
    Py_DECREF(seq);
    return found ? found : (PyErr_Clear(), Py_NewRef(Py_None));
}

/* What --access-log-format needs beyond the default arguments: (request header values,
 * response header values, body bytes, duration in µs, answered_by). Only the headers the
 * format names are looked up; the duration is 0 unless the engine stamps arrivals. */
static PyObject *access_extra(graftpy_server *srv, graft__req *r, graftpy_cycle *cy)
{
    PyObject *req_names = PyTuple_GET_ITEM(srv->access_fmt, 0);
    PyObject *resp_names = PyTuple_GET_ITEM(srv->access_fmt, 1);
    Py_ssize_t nq = PyTuple_GET_SIZE(req_names), ns = PyTuple_GET_SIZE(resp_names);
    PyObject *rq = PyTuple_New(nq), *rs = PyTuple_New(ns);
    if (!rq || !rs)
        goto fail;
    for (Py_ssize_t i = 0; i < nq; i++) {
        PyObject *v = req_header(r, PyTuple_GET_ITEM(req_names, i));
        if (!v)
            goto fail;
        PyTuple_SET_ITEM(rq, i, v);
    }
    for (Py_ssize_t i = 0; i < ns; i++) {
        /* A native answer's headers are not kept: '-' (documented). */
        PyObject *v = cy ? resp_header(cy->headers, PyTuple_GET_ITEM(resp_names, i)) : Py_NewRef(Py_None);
        if (!v)
            goto fail;
        PyTuple_SET_ITEM(rs, i, v);
    }
    uint64_t now = r->t_start_ns ? graft__metrics_now() : 0;
    unsigned long long us = now > r->t_start_ns ? (now - r->t_start_ns) / 1000 : 0;
    unsigned long long bytes = cy ? cy->sent : r->body_sent;
    return Py_BuildValue("(NNKKi)", rq, rs, bytes, us, (int)r->answered_by);
fail:
    Py_XDECREF(rq);
    Py_XDECREF(rs);
    return NULL;
}

void graftpy_access_log(graftpy_server *srv, graft__req *r, int status, graftpy_cycle *cy)
{
    if (srv->access_log == Py_None || !r)
        return;
    char client[80];
    client_text(r, client);
    PyObject *res;
    /* root_path is prefixed as uvicorn does. */
    if (!srv->access_fmt) {
        res = PyObject_CallFunction(srv->access_log, "ss#Os#s#i", client, r->method,
                                    (Py_ssize_t)r->method_len, srv->root_path, r->target,
                                    target_len(r), r->minor_version ? "1.1" : "1.0",
                                    (Py_ssize_t)3, status);
    } else {
        PyObject *extra = access_extra(srv, r, cy);
        res = extra ? PyObject_CallFunction(srv->access_log, "ss#Os#s#iN", client, r->method,
                                            (Py_ssize_t)r->method_len, srv->root_path, r->target,
                                            target_len(r), r->minor_version ? "1.1" : "1.0",
                                            (Py_ssize_t)3, status, extra)
                    : NULL;
    }
    if (!res)
        PyErr_WriteUnraisable(srv->access_log);
    Py_XDECREF(res);
}

void graftpy_cycle_response_done(graftpy_cycle *cy)
{
    if (!cy->ws) /* a WebSocket handshake's answer is logged by graftpy_ws_log, as uvicorn does */
        graftpy_access_log(cy->srv, cy->req, cy->status, cy);
    graft__tap_response_end(cy->req->tap);
    graftpy_cycle_receive_resolve(cy); /* a waiting receive() gets the disconnect */
}

int graftpy_cycle_write_simple(graftpy_cycle *cy, int status, const char *body)
{
    graft__buf o = {0};
    Py_CLEAR(cy->headers);
    cy->status = status;
    cy->content_length = -1;
    cy->close = 1;
    cy->app_close = cy->has_date = 0;
    PyObject *h = Py_BuildValue("((y y))", "content-type", "text/plain; charset=utf-8");
    cy->headers = h;
    size_t blen = strlen(body);
    if (!h || graftpy_head_build(cy, &o, blen, 1) < 0) {
        PyErr_Clear();
        graft__buf_free(&o);
        graft__req_write(cy->req, NULL, 0, GRAFT__W_FINAL | GRAFT__W_CLOSE);
    } else {
        struct iovec iov[2] = {{o.data, o.len}, {(void *)body, cy->no_body ? 0 : blen}};
        graft__tap_response_body(cy->req->tap, body, iov[1].iov_len);
        cy->sent = iov[1].iov_len; /* graft's own body replaces anything before: %(b)s counts it */
        graftpy_cycle_label(cy);
        graft__req_write(cy->req, iov, 2, GRAFT__W_FINAL | GRAFT__W_CLOSE);
        graft__buf_free(&o);
    }
    cy->state = CYC_DONE;
    graftpy_cycle_response_done(cy);
    return 0;
}

static PyObject *msg_get(PyObject *msg, const char *key)
{
    PyObject *v = PyDict_GetItemString(msg, key); /* borrowed */
    return v;
}

static PyObject *raise_disconnected(graftpy_cycle *cy)
{
    PyErr_SetString(cy->srv->st->client_disconnected, "client disconnected");
    return NULL;
}

PyObject *graftpy_cycle_disconnected(graftpy_cycle *cy) { return raise_disconnected(cy); }

static PyObject *wait_or_ready(graftpy_cycle *cy, int rc)
{
    if (rc == -EPIPE) {
        /* The client left mid-response: the exchange ends here, and its access-log line
         * (uvicorn writes it when the response starts) with it. */
        if (cy->state == CYC_STARTED)
            graftpy_access_log(cy->srv, cy->req, cy->status, cy);
        cy->state = CYC_DONE;
        /* End the exchange in the engine too, so that the connection closes now: a client
         * that only half-closed would never reset it. */
        cy->pend.off = cy->pend.len = 0;
        graft__req_write(cy->req, NULL, 0, GRAFT__W_FINAL | GRAFT__W_CLOSE);
        return raise_disconnected(cy);
    }
    if (rc < 0)
        return PyErr_NoMemory();
    if (rc == 1 && cy->state != CYC_DONE)
        return graftpy_cycle_send_wait(cy);
    return Py_NewRef(Py_None);
}

PyObject *graftpy_cycle_send_body(graftpy_cycle *cy, PyObject *msg)
{
    PyObject *body = msg_get(msg, "body");
    PyObject *more_o = msg_get(msg, "more_body");
    if (body == NULL)
        body = cy->srv->st->v_empty_bytes;
    if (!PyBytes_Check(body)) {
        PyErr_SetString(PyExc_TypeError, "'body' must be bytes");
        return NULL;
    }
    int more = more_o ? PyObject_IsTrue(more_o) : 0;
    if (more < 0)
        return NULL;
    const char *data = PyBytes_AS_STRING(body);
    size_t len = (size_t)PyBytes_GET_SIZE(body);
    graft__buf head = {0};
    /* Unlocked: only this thread sets response_started (req.h), so the load is exact. */
    if (!cy->head_built && !atomic_load_explicit(&cy->req->response_started, memory_order_relaxed)) {
        if (graftpy_head_build(cy, &head, len, !more) < 0)
            return NULL;
        cy->head_built = 1;
    }
    int skip_body = cy->no_body;
    if (!skip_body && cy->content_length >= 0) {
        if (cy->sent + len > (uint64_t)cy->content_length) {
            graft__buf_free(&head);
            PyErr_SetString(PyExc_RuntimeError, "Response content longer than Content-Length");
            return NULL;
        }
        if (!more && cy->sent + len < (uint64_t)cy->content_length) {
            /* Send what we have, then close: the client sees a short body. */
            cy->close = 1;
            struct iovec iov[2] = {{head.data, head.len}, {(void *)data, len}};
            graftpy_cycle_write(cy, iov, 2, GRAFT__W_FINAL | GRAFT__W_CLOSE);
            graft__buf_free(&head);
            cy->state = CYC_DONE;
            graftpy_cycle_response_done(cy);
            PyErr_SetString(PyExc_RuntimeError, "Response content shorter than Content-Length");
            return NULL;
        }
    }
    struct iovec iov[4];
    int n = 0;
    char pre[GRAFT__CHUNK_PREFIX_MAX];
    if (head.len)
        iov[n++] = (struct iovec){head.data, head.len};
    if (!skip_body && cy->chunked && len) {
        iov[n++] = (struct iovec){pre, graft__chunk_prefix(pre, len)};
        iov[n++] = (struct iovec){(void *)data, len};
        iov[n++] = graft__chunk_end(!more);
    } else {
        if (!skip_body && len)
            iov[n++] = (struct iovec){(void *)data, len};
        if (!skip_body && cy->chunked && !more)
            iov[n++] = graft__chunk_last();
    }
    if (!skip_body) {
        cy->sent += len;
        graft__tap_response_body(cy->req->tap, data, len);
    }
    /* A chunk that would only be gathered still tells the app at once that the client left
     * (Starlette's StreamingResponse relies on send() raising, ASGI 2.4). */
    if (more && graft__req_gone(cy->req)) {
        graft__buf_free(&head);
        return wait_or_ready(cy, -EPIPE);
    }
    if (more && graftpy_cycle_gather(cy, iov, n)) {
        graft__buf_free(&head);
        return Py_NewRef(Py_None);
    }
    int flags = GRAFT__W_LIVE | (more ? 0 : (GRAFT__W_FINAL | (cy->close ? GRAFT__W_CLOSE : 0)));
    int rc = graftpy_cycle_write(cy, iov, n, flags);
    graft__buf_free(&head);
    if (!more && rc >= 0) {
        cy->state = CYC_DONE;
        graftpy_cycle_response_done(cy);
    }
    return wait_or_ready(cy, rc);
}

static PyObject *send_path(graftpy_cycle *cy, PyObject *msg)
{
    PyObject *path = msg_get(msg, "path");
    if (!path || !PyUnicode_Check(path)) {
        PyErr_SetString(PyExc_TypeError, "'path' must be a str");
        return NULL;
    }
    const char *p = PyUnicode_AsUTF8(path);
    if (!p)
        return NULL;
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        return PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
    }
    if (cy->content_length >= 0 && cy->content_length != (int64_t)sb.st_size) {
        close(fd);
        PyErr_SetString(PyExc_RuntimeError, "Content-Length does not match the file's size");
        return NULL;
    }
    graft__buf head = {0};
    if (graftpy_head_build(cy, &head, (uint64_t)sb.st_size, 1) < 0) {
        close(fd);
        return NULL;
    }
    struct iovec iov = {head.data, head.len};
    int flags = GRAFT__W_LIVE | GRAFT__W_FINAL | (cy->close ? GRAFT__W_CLOSE : 0);
    int rc;
    graftpy_cycle_label(cy);
    if (cy->no_body) {
        close(fd);
        rc = graft__req_write(cy->req, &iov, 1, flags);
    } else {
        graft__tap_response_file(cy->req->tap, fd, (uint64_t)sb.st_size);
        rc = graft__req_sendfile(cy->req, &iov, 1, fd, 0, (uint64_t)sb.st_size, flags);
    }
    graft__buf_free(&head);
    if (rc >= 0) {
        cy->sent = (uint64_t)sb.st_size;
        cy->state = CYC_DONE;
        graftpy_cycle_response_done(cy);
    }
    return wait_or_ready(cy, rc);
}

PyObject *graftpy_cycle_send_start(graftpy_cycle *cy, PyObject *msg)
{
    graftpy_state *st = cy->srv->st;
    PyObject *status = PyDict_GetItemWithError(msg, st->k_status);
    if (!status || !PyLong_Check(status)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "'status' must be an int");
        return NULL;
    }
    long s = PyLong_AsLong(status);
    /* 1xx is an interim response: sent as final it would leave the client waiting for the
     * real one on a kept-alive connection. h11 refuses it with this message (uvicorn then
     * answers 500, as the bridge does for any error before the response starts). */
    if (s < 200 || s > 999) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "Response status_code should be in range [200, 1000), not %ld", s);
        return NULL;
    }
    PyObject *headers = PyDict_GetItemWithError(msg, st->k_headers);
    if (!headers && PyErr_Occurred())
        return NULL;
    PyObject *seq = headers ? PySequence_Fast(headers, "'headers' must be an iterable") : PyTuple_New(0);
    if (!seq)
        return NULL;
    cy->content_length = -1;
    cy->close = cy->app_close = cy->has_date = 0;
    if (graftpy_head_check(cy, seq) < 0) {
        Py_DECREF(seq);
        return NULL;
    }
    if (atomic_load_explicit(&cy->req->client_gone, memory_order_relaxed)) {
        /* Unlocked hint (req.h). Refused before the response counts as started: no access-log line for it, as
         * uvicorn logs none for a start sent after the client left. */
        Py_DECREF(seq);
        return raise_disconnected(cy);
    }
    cy->status = (int)s;
    Py_XSETREF(cy->headers, seq);
    cy->state = CYC_STARTED;
    return Py_NewRef(Py_None);
}

PyObject *graftpy_msg_type(graftpy_state *st, PyObject *msg)
{
    if (!PyDict_Check(msg)) {
        PyErr_SetString(PyExc_TypeError, "ASGI message must be a dict");
        return NULL;
    }
    PyObject *type = PyDict_GetItemWithError(msg, st->k_type);
    if (!type) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_KeyError, "'type'");
        return NULL;
    }
    if (!PyUnicode_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "ASGI message 'type' must be a str");
        return NULL;
    }
    return type;
}

PyObject *graftpy_cycle_send(PyObject *self, PyObject *msg)
{
    graftpy_cycle *cy = (graftpy_cycle *)self;
    graftpy_state *st = cy->srv->st;
    PyObject *type = graftpy_msg_type(st, msg);
    if (!type)
        return NULL;
    if (!cy->req)
        return raise_disconnected(cy);
    if (cy->state == CYC_INIT) {
        if (PyUnicode_Compare(type, st->v_resp_start) != 0) {
            if (PyErr_Occurred())
                return NULL;
            PyErr_Format(PyExc_RuntimeError,
                         "Expected ASGI message 'http.response.start', but got '%U'.", type);
            return NULL;
        }
        return graftpy_cycle_send_start(cy, msg);
    }
    if (cy->state == CYC_STARTED) {
        if (PyUnicode_Compare(type, st->v_resp_body) == 0)
            return graftpy_cycle_send_body(cy, msg);
        /* Only when offered: without --pathsend the app gets uvicorn's error for it. */
        if (cy->srv->extensions && PyUnicode_Compare(type, st->v_resp_pathsend) == 0)
            return send_path(cy, msg);
        if (PyErr_Occurred())
            return NULL;
        PyErr_Format(PyExc_RuntimeError,
                     "Expected ASGI message 'http.response.body', but got '%U'.", type);
        return NULL;
    }
    if (atomic_load_explicit(&cy->req->client_gone, memory_order_relaxed)) /* hint, see above */
        return raise_disconnected(cy);
    PyErr_Format(PyExc_RuntimeError,
                 "Unexpected ASGI message '%U' sent, after response already completed.", type);
    return NULL;
}
