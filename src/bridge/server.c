/* graft._graft.Server: owns an engine and its configuration; how its events
 * reach the Python thread is in dispatch.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bridge.h"

/* The engine's default header lines: "server: graft" first when server_header is set, then
 * headers ((name, value) bytes pairs) as given. The engine keeps its own copy. */
static int build_headers(PyObject *headers, int server_header, graft__buf *b)
{
    PyObject *seq = PySequence_Fast(headers, "headers must be a sequence of (name, value)");
    if (!seq)
        return -1;
    int rc = server_header ? graft__buf_append(b, GRAFT__STRLIT("server: graft\r\n")) : 0;
    for (Py_ssize_t i = 0; rc == 0 && i < PySequence_Fast_GET_SIZE(seq); i++) {
        const char *name, *value;
        Py_ssize_t nl, vl;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "y#y#", &name, &nl, &value, &vl)) {
            Py_DECREF(seq);
            graft__buf_free(b);
            return -1;
        }
        if (memchr(name, '\r', (size_t)nl) || memchr(name, '\n', (size_t)nl) ||
            memchr(value, '\r', (size_t)vl) || memchr(value, '\n', (size_t)vl) ||
            memchr(name, ':', (size_t)nl) || nl == 0) {
            Py_DECREF(seq);
            graft__buf_free(b);
            PyErr_SetString(PyExc_ValueError, "invalid default header");
            return -1;
        }
        if ((rc = graft__buf_append(b, name, (size_t)nl)) == 0 &&
            (rc = graft__buf_append(b, GRAFT__STRLIT(": "))) == 0 &&
            (rc = graft__buf_append(b, value, (size_t)vl)) == 0)
            rc = graft__buf_append(b, GRAFT__STRLIT("\r\n"));
    }
    Py_DECREF(seq);
    if (rc < 0) {
        graft__buf_free(b);
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static int load_native(graftpy_server *srv, PyObject *specs, int blocking_threads)
{
    PyObject *seq = PySequence_Fast(specs, "native must be a sequence of str");
    if (!seq)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    const char **paths = PyMem_Calloc((size_t)n + 1, sizeof *paths);
    if (!paths) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = PySequence_Fast_GET_ITEM(seq, i);
        paths[i] = PyUnicode_Check(o) ? PyUnicode_AsUTF8(o) : NULL;
        if (!paths[i]) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "native must hold str paths");
            PyMem_Free(paths);
            Py_DECREF(seq);
            return -1;
        }
    }
    char err[1024] = "";
    int rc;
    Py_BEGIN_ALLOW_THREADS rc = graft__native_new(&srv->native, paths, (size_t)n, blocking_threads, err, sizeof err);
    Py_END_ALLOW_THREADS
    PyMem_Free(paths);
    Py_DECREF(seq);
    if (rc < 0) {
        srv->native = NULL;
        PyErr_SetString(PyExc_RuntimeError, err[0] ? err : "cannot load native libraries");
        return -1;
    }
    return 0;
}

static int server_init(PyObject *self, PyObject *args, PyObject *kw)
{
    graftpy_server *srv = (graftpy_server *)self;
    static char *kwlist[] = {"app", "loop", "fds", "state", "log_error", "access_log",
                             "root_path", "headers", "server_header", "date_header",
                             "proxy_trusted", "threads", "limit_request_line",
                             "limit_request_head", "limit_request_fields", "limit_request_body",
                             "timeout_keep_alive", "timeout_request_header", "timeout_body_read",
                             "limit_concurrency", "limit_max_requests", "on_max_requests",
                             "unix_path", "native", "blocking_threads", "ws", "ws_max_size",
                             "ws_max_queue", "ws_ping_interval", "ws_ping_timeout",
                             "ws_per_message_deflate", "io_poll", "on_handoff", "ws_log", "timeout_send", "pathsend", "timeout_linger",
                             "timeout_linger_idle", "limit_linger", "shared", "slot",
                             "listen_kinds", "health_path", "access_format", "tls", NULL};
    PyObject *app, *loop, *fds, *state, *log_error, *access, *root_path, *headers, *proxy;
    PyObject *on_max = Py_None, *unix_path = Py_None, *native = Py_None, *on_handoff = Py_None,
             *ws_log = Py_None;
    int blocking_threads = GRAFT__NATIVE_DEFAULT_BLOCKING_THREADS;
    int ws_on = 1, ws_queue = GRAFT__DEFAULT_WS_MAX_QUEUE,
        ws_deflate = GRAFT__DEFAULT_WS_PER_MESSAGE_DEFLATE, io_poll = 1, pathsend = 0;
    unsigned long long ws_max = GRAFT__DEFAULT_WS_MAX_SIZE;
    double ws_ping = GRAFT__DEFAULT_WS_PING_INTERVAL, ws_ping_to = GRAFT__DEFAULT_WS_PING_TIMEOUT;
    int server_header = 1, date_header = 1, threads = GRAFT__DEFAULT_THREADS;
    Py_ssize_t lim_line = GRAFT__DEFAULT_LIMIT_REQUEST_LINE, lim_head = GRAFT__DEFAULT_LIMIT_REQUEST_HEAD,
               lim_fields = GRAFT__DEFAULT_LIMIT_REQUEST_FIELDS;
    unsigned long long max_body = 0;
    double t_ka = GRAFT__DEFAULT_TIMEOUT_KEEP_ALIVE, t_hdr = GRAFT__DEFAULT_TIMEOUT_REQUEST_HEADER,
           t_body = GRAFT__DEFAULT_TIMEOUT_BODY_READ, t_send = GRAFT__DEFAULT_TIMEOUT_SEND,
           t_linger = GRAFT__DEFAULT_TIMEOUT_LINGER, t_linger_idle = GRAFT__DEFAULT_TIMEOUT_LINGER_IDLE;
    unsigned long long max_linger = GRAFT__DEFAULT_LIMIT_LINGER;
    PyObject *shared = Py_None, *kinds = Py_None, *access_fmt = Py_None, *tls = Py_None;
    int slot = 0;
    const char *health_path = NULL;
    int lim_conc = 0;
    long max_req = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOOOUOppOi|nnnKdddilOOOipKiddppOOdpddKOiOzOO", kwlist, &app, &loop,
                                     &fds, &state, &log_error, &access, &root_path, &headers,
                                     &server_header, &date_header, &proxy, &threads, &lim_line,
                                     &lim_head, &lim_fields, &max_body, &t_ka, &t_hdr, &t_body,
                                     &lim_conc, &max_req, &on_max, &unix_path, &native,
                                     &blocking_threads, &ws_on, &ws_max, &ws_queue, &ws_ping,
                                     &ws_ping_to, &ws_deflate, &io_poll, &on_handoff, &ws_log, &t_send, &pathsend,
                                     &t_linger, &t_linger_idle, &max_linger, &shared, &slot,
                                     &kinds, &health_path, &access_fmt, &tls))
        return -1;
    if (srv->engine) {
        PyErr_SetString(PyExc_RuntimeError, "Server already initialised");
        return -1;
    }
    srv->st = PyType_GetModuleState(Py_TYPE(self));
    graftpy_state *st = srv->st;
    srv->app = Py_NewRef(app);
    srv->loop = Py_NewRef(loop);
    srv->state = Py_NewRef(state);
    srv->log_error = Py_NewRef(log_error);
    srv->access_log = Py_NewRef(access);
    /* (request header names, response header names, needs the duration): see bridge.h */
    if (access_fmt != Py_None) {
        if (!PyTuple_Check(access_fmt) || PyTuple_GET_SIZE(access_fmt) != 3 ||
            !PyTuple_Check(PyTuple_GET_ITEM(access_fmt, 0)) ||
            !PyTuple_Check(PyTuple_GET_ITEM(access_fmt, 1))) {
            PyErr_SetString(PyExc_TypeError, "access_format: expected (tuple, tuple, bool)");
            return -1;
        }
        for (int k = 0; k < 2; k++) {
            PyObject *names = PyTuple_GET_ITEM(access_fmt, k);
            for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++)
                if (!PyBytes_Check(PyTuple_GET_ITEM(names, i))) {
                    PyErr_SetString(PyExc_TypeError, "access_format: header names must be bytes");
                    return -1;
                }
        }
        srv->access_fmt = Py_NewRef(access_fmt);
    }
    srv->root_path = Py_NewRef(root_path);
    srv->on_request_count = Py_NewRef(on_max);
    srv->on_handoff = Py_NewRef(on_handoff);
    srv->ws_log = Py_NewRef(ws_log);
    srv->max_requests = max_req;
    if (proxy != Py_None) {
        srv->proxy_trusted = PySequence_Tuple(proxy);
        if (!srv->proxy_trusted)
            return -1;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(srv->proxy_trusted); i++) {
            PyObject *s = PyTuple_GET_ITEM(srv->proxy_trusted, i);
            if (!PyUnicode_Check(s)) {
                PyErr_SetString(PyExc_TypeError, "proxy_trusted must hold str");
                return -1;
            }
            if (PyUnicode_CompareWithASCIIString(s, "*") == 0)
                srv->proxy_all = 1;
        }
    }
    if (!PyDict_Check(state)) {
        PyErr_SetString(PyExc_TypeError, "state must be a dict");
        return -1;
    }
    srv->create_task = PyObject_GetAttrString(loop, "create_task");
    srv->create_future = srv->create_task ? PyObject_GetAttrString(loop, "create_future") : NULL;
    srv->call_soon = srv->create_future ? PyObject_GetAttrString(loop, "call_soon") : NULL;
    if (!srv->call_soon)
        return -1;
    /* Constant scope keys, copied per request. */
    PyObject *t = PyDict_New();
    srv->scope_template = t;
    PyObject *asgi = Py_BuildValue("{s:s,s:s}", "version", "3.0", "spec_version", "2.5");
    if (!t || !asgi || PyDict_SetItem(t, st->k_type, st->v_http) < 0 ||
        PyDict_SetItem(t, st->k_asgi, asgi) < 0 ||
        PyDict_SetItemString(t, "scheme", tls != Py_None ? st->v_https : st->v_http) < 0 ||
        PyDict_SetItem(t, st->k_root_path, root_path) < 0 ||
        PyDict_SetItem(t, st->k_client, Py_None) < 0) {
        Py_XDECREF(asgi);
        return -1;
    }
    Py_DECREF(asgi);
    if (unix_path != Py_None) {
        PyObject *srvaddr = PyTuple_Pack(2, unix_path, Py_None);
        if (!srvaddr || PyDict_SetItem(t, st->k_server, srvaddr) < 0) {
            Py_XDECREF(srvaddr);
            return -1;
        }
        Py_DECREF(srvaddr);
    } else if (PyDict_SetItem(t, st->k_server, Py_None) < 0)
        return -1;
    if (pathsend) {
        srv->extensions = Py_BuildValue("{s:{}}", "http.response.pathsend");
        if (!srv->extensions)
            return -1;
    }
    srv->ws_extensions = Py_BuildValue("{s:{}}", "websocket.http.response");
    if (!srv->ws_extensions)
        return -1;

    PyObject *fdseq = PySequence_Fast(fds, "fds must be a sequence of int");
    if (!fdseq)
        return -1;
    Py_ssize_t nfd = PySequence_Fast_GET_SIZE(fdseq);
    int lfds[GRAFT__MAX_LISTENERS];
    if (nfd < 1 || nfd > GRAFT__MAX_LISTENERS) {
        Py_DECREF(fdseq);
        PyErr_Format(PyExc_ValueError, "need 1..%d listening fds, got %zd", GRAFT__MAX_LISTENERS, nfd);
        return -1;
    }
    for (Py_ssize_t i = 0; i < nfd; i++) {
        int fd = (int)PyLong_AsLong(PySequence_Fast_GET_ITEM(fdseq, i));
        if (fd < 0 && PyErr_Occurred()) {
            Py_DECREF(fdseq);
            return -1;
        }
        lfds[i] = fd; /* ownership passes to the engine */
    }
    Py_DECREF(fdseq);
    int lkinds[GRAFT__MAX_LISTENERS] = {0};
    if (kinds != Py_None) {
        PyObject *kseq = PySequence_Fast(kinds, "listen_kinds must be a sequence of int");
        if (!kseq)
            return -1;
        if (PySequence_Fast_GET_SIZE(kseq) != nfd) {
            Py_DECREF(kseq);
            PyErr_SetString(PyExc_ValueError, "listen_kinds must have one kind per fd");
            return -1;
        }
        for (Py_ssize_t i = 0; i < nfd; i++)
            lkinds[i] = (int)PyLong_AsLong(PySequence_Fast_GET_ITEM(kseq, i));
        Py_DECREF(kseq);
        if (PyErr_Occurred())
            return -1;
    }
    if (shared != Py_None) {
        graft__shared *s = graftpy_shared_get(shared);
        if (!s)
            return -1;
        int mrc = graft__metrics_new(&srv->metrics, s, slot);
        if (mrc < 0) {
            errno = -mrc;
            PyErr_SetFromErrno(PyExc_OSError);
            return -1;
        }
        srv->shared_obj = Py_NewRef(shared);
        srv->admin = (graft__admin){.shared = s, .has_app = 1};
    }
    srv->nthreads = threads > 0 ? threads : 1;
    srv->io_poll = io_poll;
    srv->watching = calloc((size_t)srv->nthreads, 1);
    if (!srv->watching) {
        PyErr_NoMemory();
        return -1;
    }
    srv->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (srv->efd < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    pthread_mutex_init(&srv->qmu, NULL);
    if (graftpy_server_tls_setup(srv, tls) < 0)
        return -1;
    graft__buf dh = {0};
    if (build_headers(headers, server_header, &dh) < 0)
        return -1;
    graft__engine_config cfg = {
        .limits = {.max_request_line = (size_t)lim_line,
                   .max_head = (size_t)lim_head,
                   .max_headers = (size_t)lim_fields},
        .max_body = max_body,
        .timeout_keep_alive = t_ka,
        .timeout_header = t_hdr,
        .timeout_body = t_body,
        .timeout_send = t_send,
        .timeout_linger = t_linger,
        .timeout_linger_idle = t_linger_idle,
        .max_linger = max_linger,
        .threads = threads,
        .limit_concurrency = lim_conc,
        .listen_fds = lfds,
        .n_listen = (int)nfd,
        .listen_unix = unix_path != Py_None,
        .default_headers = dh.data,
        .default_headers_len = dh.len,
        .date_header = date_header,
        .ws = {.enabled = ws_on,
               .max_size = ws_max,
               .max_queue = ws_queue > 0 ? ws_queue : 1,
               .ping_interval = ws_ping,
               .ping_timeout = ws_ping_to,
               .per_message_deflate = ws_deflate},
        .external_poll = io_poll,
        .listen_kinds = lkinds,
        .admin = srv->metrics ? graft__admin_handle : NULL,
        .admin_ud = &srv->admin,
        .metrics = srv->metrics,
        .health_path = health_path,
        .tls = srv->tls,
        .stamp_start = srv->access_fmt && PyObject_IsTrue(PyTuple_GET_ITEM(srv->access_fmt, 2)) == 1,
    };
    graft__deliver_fn fn = graftpy_deliver;
    void *ud = srv;
    if (native != Py_None && PyObject_IsTrue(native)) {
        if (load_native(srv, native, blocking_threads) < 0) {
            graft__buf_free(&dh);
            return -1;
        }
        graft__native_set_next(srv->native, graftpy_deliver, srv);
        srv->native->metrics = srv->metrics;
        srv->native->log_to_next = access != Py_None;
        fn = graft__native_deliver;
        ud = srv->native;
        cfg.after_batch = graft__native_run_pending;
    }
    int rc = graft__engine_new(&cfg, fn, ud, &srv->engine);
    graft__buf_free(&dh);
    if (rc < 0) {
        errno = -rc;
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    return 0;
}

static PyObject *server_start(PyObject *self, PyObject *unused)
{
    (void)unused;
    graftpy_server *srv = (graftpy_server *)self;
    if (!srv->engine || srv->started) {
        PyErr_SetString(PyExc_RuntimeError, "Server not initialised or already started");
        return NULL;
    }
    /* Before the I/O threads exist: graftpy_deliver reads it from them, unlocked,
     * and thread creation is what orders this store before their reads. */
    srv->loop_thread = pthread_self();
    /* After --route-mode (set_route_mode) and before any request: routes new to the live
     * table enter it with those modes, routes already there adopt the live ones. */
    if (srv->metrics && srv->native) {
        int arc = graft__native_attach_shared(srv->native, srv->admin.shared);
        if (arc < 0) {
            errno = -arc;
            return PyErr_SetFromErrno(PyExc_OSError);
        }
    }
    int rc = graft__engine_start(srv->engine);
    if (rc < 0) {
        errno = -rc;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    srv->started = 1;
    return graftpy_server_watch_all(srv);
}

static PyObject *server_unwatch(PyObject *self, PyObject *unused)
{
    (void)unused;
    graftpy_server *srv = (graftpy_server *)self;
    srv->io_poll = 0; /* and no reclaim after this */
    return graftpy_server_unwatch_all(srv);
}

static PyObject *server_fileno(PyObject *self, PyObject *unused)
{
    (void)unused;
    return PyLong_FromLong(((graftpy_server *)self)->efd);
}

static PyObject *server_set_route_mode(PyObject *self, PyObject *spec)
{
    graftpy_server *srv = (graftpy_server *)self;
    const char *s = PyUnicode_Check(spec) ? PyUnicode_AsUTF8(spec) : NULL;
    if (!s) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "route mode must be a str");
        return NULL;
    }
    if (!srv->native) {
        PyErr_Format(PyExc_RuntimeError, "route mode \"%s\": no native library is loaded (--native)", s);
        return NULL;
    }
    char err[512] = "";
    if (graft__native_set_route_mode(srv->native, s, err, sizeof err) < 0) {
        PyErr_SetString(PyExc_RuntimeError, err);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *server_stop_accepting(PyObject *self, PyObject *unused)
{
    (void)unused;
    graftpy_server *srv = (graftpy_server *)self;
    if (srv->engine)
        graft__engine_stop_accepting(srv->engine);
    Py_RETURN_NONE;
}

static PyObject *server_shutdown(PyObject *self, PyObject *unused)
{
    (void)unused;
    graftpy_server *srv = (graftpy_server *)self;
    if (srv->engine)
        graft__engine_shutdown(srv->engine);
    Py_RETURN_NONE;
}

static PyObject *server_abort(PyObject *self, PyObject *unused)
{
    (void)unused;
    graftpy_server *srv = (graftpy_server *)self;
    if (srv->engine)
        graft__engine_abort(srv->engine);
    Py_RETURN_NONE;
}

static PyObject *server_close(PyObject *self, PyObject *unused)
{
    (void)unused;
    graftpy_server *srv = (graftpy_server *)self;
    PyObject *r = server_unwatch(self, NULL);
    if (!r)
        return NULL;
    Py_DECREF(r);
    if (srv->engine) {
        graft__engine *e = srv->engine;
        srv->engine = NULL;
        Py_BEGIN_ALLOW_THREADS graft__engine_free(e);
        Py_END_ALLOW_THREADS
    }
    if (srv->native) {
        graft__native *nat = srv->native;
        srv->native = NULL;
        Py_BEGIN_ALLOW_THREADS graft__native_free(nat);
        Py_END_ALLOW_THREADS
    }
    /* The shadow sink stays until dealloc: shadow_lines() hands over the last lines. */
    /* Events queued for requests that no longer matter. */
    pthread_mutex_lock(&srv->qmu);
    for (size_t i = 0; i < srv->qlen; i++)
        if (srv->q[i].ev == GRAFT__EV_REQUEST || !srv->q[i].req->app_data)
            graft__req_release(srv->q[i].req);
        else
            graftpy_cycle_event(srv, srv->q[i].req, srv->q[i].ev);
    srv->qlen = 0;
    pthread_mutex_unlock(&srv->qmu);
    Py_RETURN_NONE;
}

static PyObject *server_get_connections(PyObject *self, void *c)
{
    (void)c;
    graftpy_server *srv = (graftpy_server *)self;
    return PyLong_FromLong(srv->engine ? graft__engine_connections(srv->engine) : 0);
}

static PyObject *server_get_inflight(PyObject *self, void *c)
{
    (void)c;
    return PyLong_FromLong(((graftpy_server *)self)->live);
}

static PyObject *server_get_requests(PyObject *self, void *c)
{
    (void)c;
    return PyLong_FromLong(((graftpy_server *)self)->requests);
}

static int server_traverse(graftpy_server *srv, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(srv));
    Py_VISIT(srv->app);
    Py_VISIT(srv->loop);
    Py_VISIT(srv->create_task);
    Py_VISIT(srv->create_future);
    Py_VISIT(srv->call_soon);
    Py_VISIT(srv->state);
    Py_VISIT(srv->log_error);
    Py_VISIT(srv->access_log);
    Py_VISIT(srv->access_fmt);
    Py_VISIT(srv->on_request_count);
    Py_VISIT(srv->on_handoff);
    Py_VISIT(srv->ws_log);
    return 0;
}

static int server_clear(graftpy_server *srv)
{
    Py_CLEAR(srv->app);
    Py_CLEAR(srv->loop);
    Py_CLEAR(srv->create_task);
    Py_CLEAR(srv->create_future);
    Py_CLEAR(srv->call_soon);
    Py_CLEAR(srv->state);
    Py_CLEAR(srv->log_error);
    Py_CLEAR(srv->access_log);
    Py_CLEAR(srv->access_fmt);
    Py_CLEAR(srv->on_request_count);
    Py_CLEAR(srv->on_handoff);
    Py_CLEAR(srv->ws_log);
    Py_CLEAR(srv->scope_template);
    Py_CLEAR(srv->extensions);
    Py_CLEAR(srv->ws_extensions);
    Py_CLEAR(srv->root_path);
    Py_CLEAR(srv->proxy_trusted);
    return 0;
}

static void server_dealloc(graftpy_server *srv)
{
    PyTypeObject *tp = Py_TYPE(srv);
    PyObject_GC_UnTrack(srv);
    if (srv->engine) {
        graft__engine *e = srv->engine;
        srv->engine = NULL;
        graft__engine_free(e);
    }
    if (srv->native) {
        graft__native_free(srv->native);
        srv->native = NULL;
    }
    graftpy_server_shadow_close(srv);
    graft__tls_free(srv->tls); /* open connections held their own context references */
    srv->tls = NULL;
    Py_CLEAR(srv->tls_pem);
    for (size_t i = 0; i < srv->qlen; i++)
        graft__req_release(srv->q[i].req);
    free(srv->q);
    free(srv->work);
    free(srv->watching);
    if (srv->efd > 0)
        close(srv->efd);
    /* After the engine, which counted into it; the region itself stays while the capsule
     * (the config's reference too) lives. */
    graft__metrics_free(srv->metrics);
    srv->metrics = NULL;
    Py_CLEAR(srv->shared_obj);
    server_clear(srv);
    tp->tp_free((PyObject *)srv);
    Py_DECREF(tp);
}

static PyMethodDef server_methods[] = {
    {"start", server_start, METH_NOARGS,
     "Start the I/O threads and, with io_poll, watch the connections from the loop."},
    {"drain", graftpy_server_drain, METH_NOARGS, "Handle queued events (the eventfd's reader)."},
    {"poll", graftpy_server_poll, METH_O,
     "Handle I/O thread i's ready connections on this thread (the epoll fd's reader)."},
    {"unwatch", server_unwatch, METH_NOARGS, "Stop watching the connections from the loop."},
    {"fileno", server_fileno, METH_NOARGS, "The eventfd to watch with loop.add_reader."},
    {"stop_accepting", server_stop_accepting, METH_NOARGS, "Close the listening sockets."},
    {"set_route_mode", server_set_route_mode, METH_O,
     "Set a native route's mode: 'METHOD TEMPLATE=MODE' or '*=MODE' (native, python, split:P, shadow[:P])."},
    {"set_contracts", graftpy_server_set_contracts, METH_O,
     "Route contracts from the app's OpenAPI document (JSON text), before start(); returns the report lines."},
    {"set_shadow", graftpy_server_set_shadow, METH_VARARGS,
     "Set up shadow mode: set_shadow(log_path or None, timeout_s); returns the fd to watch "
     "for queued lines (log_path None) or None."},
    {"shadow_lines", graftpy_server_shadow_lines, METH_NOARGS,
     "Queued shadow mismatch lines (str, without newline), oldest first."},
    {"shutdown", server_shutdown, METH_NOARGS,
     "Graceful shutdown: close idle connections, no more keep-alive."},
    {"abort", server_abort, METH_NOARGS, "Disconnect every in-flight request."},
    {"close", server_close, METH_NOARGS, "Stop the threads and free the engine."},
    {"reload_tls", graftpy_server_reload_tls, METH_NOARGS,
     "Re-read the TLS certificate and key for new handshakes (ValueError keeps the old ones)."},
    {"tls_files", graftpy_server_tls_files, METH_NOARGS,
     "File responses sent over TLS: (with kernel TLS, read and encrypted without it)."},
    {"tls_serial", graftpy_server_tls_serial, METH_NOARGS,
     "The current TLS certificate's serial number (hex), None without TLS."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef server_getset[] = {
    {"connections", server_get_connections, NULL, "Open connections.", NULL},
    {"inflight", server_get_inflight, NULL, "Requests the app has not finished.", NULL},
    {"requests", server_get_requests, NULL, "Requests received so far.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot server_slots[] = {
    {Py_tp_init, server_init},
    {Py_tp_dealloc, server_dealloc},
    {Py_tp_traverse, server_traverse},
    {Py_tp_clear, server_clear},
    {Py_tp_methods, server_methods},
    {Py_tp_getset, server_getset},
    {Py_tp_doc, "The C HTTP engine serving one ASGI app on an asyncio loop."},
    {0, NULL},
};

static PyType_Spec server_spec = {
    .name = "graft._graft.Server",
    .basicsize = sizeof(graftpy_server),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = server_slots,
};

int graftpy_server_type_init(PyObject *m, graftpy_state *st)
{
    st->server_type = (PyTypeObject *)PyType_FromModuleAndSpec(m, &server_spec, NULL);
    if (!st->server_type)
        return -1;
    return PyModule_AddObjectRef(m, "Server", (PyObject *)st->server_type);
}
