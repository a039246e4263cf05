/* The ASGI bridge: CPython objects over the engine. Everything in the bridge
 * runs on the Python thread with the GIL held, except deliver(), which the
 * I/O threads call and which only queues.
 *
 * Prefixes say who may call what: graft_ is the public handler API (include/graft.h),
 * graft__ the engine and native layer (src/core/api, src/native), graftpy_ this bridge's
 * internals, which nothing outside src/bridge calls (only PyInit__graft is exported). */
#ifndef GRAFTPY_BRIDGE_H
#define GRAFTPY_BRIDGE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>

#include "buf.h"
#include "engine.h"
#include "../native/native.h"
#include "req.h"
#include "tls.h"

typedef struct {
    graft__req *req;
    int ev;
} graftpy_event;

/* Module state: types and cached objects, so no process-wide C globals. */
typedef struct {
    PyTypeObject *server_type;
    PyTypeObject *cycle_type;
    PyTypeObject *op_type;
    PyObject *client_disconnected; /* graft.ClientDisconnected(OSError) */
    /* interned keys and constant values for scopes and messages */
    PyObject *k_type, *k_asgi, *k_http_version, *k_server, *k_client, *k_scheme, *k_method,
        *k_root_path, *k_path, *k_raw_path, *k_query_string, *k_headers, *k_state,
        *k_extensions, *k_body, *k_more_body, *k_status, *k_trailers, *k_route;
    PyObject *v_websocket, *v_ws, *v_wss, *k_subprotocols, *k_code, *k_reason, *k_text,
        *k_bytes, *k_subprotocol, *v_ws_connect, *v_ws_receive, *v_ws_disconnect, *v_ws_accept,
        *v_ws_send, *v_ws_close, *v_ws_resp_start, *v_ws_resp_body;
    PyObject *v_http, *v_https, *v_1_0, *v_1_1, *v_http_request, *v_http_disconnect, *v_empty_bytes,
        *v_resp_start, *v_resp_body, *v_resp_pathsend, *k_path_key;
    PyObject *methods[9];       /* GET HEAD POST PUT DELETE PATCH OPTIONS CONNECT TRACE */
    PyObject *hdr_names[32];    /* common lowercase header names as bytes */
    PyObject *s_done, *s_set_result, *s_set_exception, *s_cancelled;
    /* the ASGI TLS extension's keys: "tls", then its six fields (tls_py.c) */
    PyObject *k_tls, *k_server_cert, *k_client_cert_chain, *k_client_cert_name, *k_client_cert_error,
        *k_tls_version, *k_cipher_suite;
} graftpy_state;

typedef struct {
    PyObject_HEAD
    graftpy_state *st;
    graft__engine *engine;
    graft__native *native;  /* NULL without --native */
    /* Shadow mode's mismatch sink (shadow_py.c), closed after the native layer is freed; in
     * queue mode shadow_efd wakes the loop to hand the lines to the graft.shadow logger. */
    struct graft__shadow_log *shadow_log;
    int shadow_efd;
    PyObject *app, *loop, *create_task, *create_future, *call_soon;
    PyObject *state;        /* lifespan state dict, shallow-copied per request */
    PyObject *scope_template; /* constant scope keys */
    PyObject *extensions;   /* template for scope["extensions"]; NULL: no such key (pathsend off) */
    PyObject *ws_extensions; /* the same for WebSocket scopes */
    PyObject *root_path;    /* str */
    PyObject *access_log;   /* callable or None */
    /* --access-log-format's needs, parsed once by graft/access_format.py: a tuple (request
     * header names, response header names) of lowercase bytes, or NULL for the default line
     * (which then gets exactly the arguments it always had, at no extra cost). */
    PyObject *access_fmt;
    PyObject *ws_log;       /* callable(client, root_path, target, status) or None */
    PyObject *log_error;    /* callable(msg, exc_or_None) */
    PyObject *on_request_count; /* callable() when limit_max_requests is reached, or None */
    PyObject *on_handoff;   /* callable(thread) when the loop takes connections back, or None */
    PyObject *proxy_trusted; /* tuple of str, or NULL when proxy headers are off */
    int proxy_all;
    long max_requests;
    long requests;
    long live;              /* cycles alive (in-flight requests seen by Python) */
    int efd;                /* eventfd the loop watches */
    int nthreads;           /* the engine's I/O threads */
    int io_poll;            /* the loop polls the connections while it is idle (dispatch.c) */
    char *watching;         /* per I/O thread: the loop watches its epoll fd now */
    int polling;            /* inside graft__engine_poll (loop thread only) */
    pthread_t loop_thread;
    pthread_mutex_t qmu;
    graftpy_event *q;
    size_t qlen, qcap;
    graftpy_event *work;
    size_t workcap;
    int started;
    PyObject *weakreflist;
    /* Metrics and the admin listeners (shared.h): the region's owner object (a capsule from
     * graft._graft.shared_new, kept alive here), this worker's slot handle (NULL: metrics
     * off), and the admin listeners' context. */
    PyObject *shared_obj;
    graft__metrics *metrics;
    graft__admin admin;
    /* TLS (tls_py.c): the context (NULL: plain), freed after the engine; the server
     * certificate's PEM as str, cached with the text it was made from. */
    graft__tls *tls;
    PyObject *tls_pem;
    const char *tls_pem_text;
    size_t tls_pem_len;
} graftpy_server;

enum { CYC_INIT, CYC_STARTED, CYC_DONE };

typedef struct {
    PyObject_HEAD
    graftpy_server *srv;
    graft__req *req;
    PyObject *coro;
    PyObject *receive_waiters; /* Futures of receive()s waiting, oldest first (a list, or NULL) */
    PyObject *receive_back;    /* a message a cancelled receive() gave back: the next one's */
    PyObject *send_waiters;    /* Futures of send()s waiting for the output to drain */
    PyObject *receive, *send; /* bound callables given to the app */
    int state;
    int status;
    PyObject *headers;       /* the app's headers, validated, until the head is written */
    int64_t content_length;  /* from the app, -1 if none */
    uint64_t sent;
    /* no_body: the engine's framing lets no body bytes follow the head (HEAD, 204, 304) */
    unsigned chunked : 1, close : 1, no_body : 1, body_ended : 1,
        has_date : 1, failed : 1, app_close : 1,
        ws : 1, ws_connect_sent : 1, ws_accepted : 1, ws_closed : 1, ws_denial : 1,
        head_built : 1, pressure : 1, flush_scheduled : 1;
    graft__buf pend;         /* response bytes gathered for one write (coalesce.c) */
    const char *log_status_note;
    /* With metrics on: the scope (the app's router leaves its matched route there) and the
     * route template read from it at completion, which req->route_label points into. */
    PyObject *scope;
    PyObject *route_str;
} graftpy_cycle;

/* The module's definition (module.c): types reach their module state through it. */
extern PyModuleDef graftpy_module_def;
/* The extension module's entry point, which CPython looks up by name (module.c). */
PyMODINIT_FUNC PyInit__graft(void);
/* native_routes.c: _graft.native_routes(specs), the routes of handler libraries loaded
 * without a server, as a list of (method, template, library path). */
PyObject *graftpy_native_routes(PyObject *mod, PyObject *specs);
/* compare_py.c: _graft.compare_responses(a, b), the comparison rule on two response dicts
 * ({"status", "headers", "body"}) as the list of differing parts. */
PyObject *graftpy_compare_responses(PyObject *mod, PyObject *const *args, Py_ssize_t nargs);
/* compare_py.c: _graft.shadow_line(route, method, path, query, python, native, diff=None,
 * body_log_cap=0), the mismatch line shadow mode logs, as str. */
PyObject *graftpy_shadow_line(PyObject *mod, PyObject *args, PyObject *kw);
/* shared.c: graft._graft.shared_new() (a capsule owning a new shared region),
 * shared_set_workers(capsule, n) and shared_slot_reset(capsule, i), for the supervisor. */
PyObject *graftpy_shared_new(PyObject *mod, PyObject *unused);
PyObject *graftpy_shared_set_workers(PyObject *mod, PyObject *args);
PyObject *graftpy_shared_slot_reset(PyObject *mod, PyObject *args);
/* The region held by capsule o; NULL with TypeError when o is not one. */
graft__shared *graftpy_shared_get(PyObject *o);
/* Before a response's final write: its status, and (metrics on) the app's route template for
 * a request no native route labelled (FastAPI's scope["route"].path_format, Starlette's .path). */
void graftpy_cycle_label(graftpy_cycle *cy);
/* Common lowercase request header names, whose bytes objects the module state caches
 * (hdr_names) so scopes share them (module.c). */
extern const char *const graftpy_common_headers[32];

/* Create the Server, Cycle and op types (server.c, cycle.c, op.c) and add them to module m;
 * 0, or -1 with an exception set. */
int graftpy_server_type_init(PyObject *m, graftpy_state *st);
int graftpy_cycle_type_init(PyObject *m, graftpy_state *st);
int graftpy_op_type_init(PyObject *m, graftpy_state *st);

/* receive() and send() as the app calls them: each returns a coroutine (op.c) that does
 * the work below when the awaiting task first steps it. */
enum { GRAFT_OP_RECEIVE, GRAFT_OP_SEND, GRAFT_OP_WS_RECEIVE, GRAFT_OP_WS_SEND };
PyObject *graftpy_op_receive(PyObject *cy, PyObject *unused);
PyObject *graftpy_op_send(PyObject *cy, PyObject *msg);
PyObject *graftpy_op_ws_receive(PyObject *cy, PyObject *unused);
PyObject *graftpy_op_ws_send(PyObject *cy, PyObject *msg);
/* The work itself, on the loop's thread: the result now (None, or a message dict for a
 * receive), or an asyncio Future to wait on; NULL with an exception set. */
PyObject *graftpy_cycle_receive(PyObject *cy, PyObject *unused);
PyObject *graftpy_cycle_send(PyObject *cy, PyObject *msg);

/* The 'type' of an ASGI message (borrowed), or NULL with TypeError/KeyError set. */
PyObject *graftpy_msg_type(graftpy_state *st, PyObject *msg);
/* The next receive() message if ready (new reference); NULL when the app must wait (*err 0)
 * or on error (*err 1, exception set). */
typedef PyObject *(*graftpy_next_fn)(graftpy_cycle *cy, int *err);
PyObject *graftpy_cycle_receive_with(graftpy_cycle *cy, graftpy_next_fn next);
void graftpy_cycle_resolve_with(graftpy_cycle *cy, graftpy_next_fn next);
/* Serves the oldest waiting receive() if a message is ready now (HTTP or WebSocket). */
void graftpy_cycle_receive_resolve(graftpy_cycle *cy);
/* A receive() that was handed msg was cancelled before its task resumed: msg goes to the
 * next receive() instead. */
void graftpy_cycle_receive_back(graftpy_cycle *cy, PyObject *msg);
/* A Future for a send() to wait on until the output drains (cycle.c settles it). */
PyObject *graftpy_cycle_send_wait(graftpy_cycle *cy);

/* WebSocket receive/send (ws_cycle.c). */
PyObject *graftpy_asgi_ws_receive(PyObject *self, PyObject *unused);
PyObject *graftpy_asgi_ws_send(PyObject *self, PyObject *msg);
void graftpy_asgi_ws_resolve_receive(graftpy_cycle *cy);
void graftpy_asgi_ws_finish(graftpy_cycle *cy, int raised);
PyObject *graftpy_asgi_ws_scope_new(graftpy_server *srv, graft__req *req);
/* coalesce.c: gathers a non-final chunk (1) or declines (0: write it now); writes gathered
 * bytes followed by iov (graft__req_write's result, and notes back-pressure); writes
 * gathered bytes alone (0 when there are none). */
int graftpy_cycle_gather(graftpy_cycle *cy, const struct iovec *iov, int n);
int graftpy_cycle_write(graftpy_cycle *cy, const struct iovec *iov, int n, int flags);
int graftpy_cycle_flush(graftpy_cycle *cy);

/* Shared by HTTP and WebSocket denial responses (cycle_io.c). */
PyObject *graftpy_cycle_send_start(graftpy_cycle *cy, PyObject *msg);
PyObject *graftpy_cycle_send_body(graftpy_cycle *cy, PyObject *msg);
PyObject *graftpy_cycle_disconnected(graftpy_cycle *cy);
/* Answers status with a text/plain body and closes, in place of a response the app could
 * not give (it raised, or a WebSocket was refused); the cycle is done afterwards. Returns 0. */
int graftpy_cycle_write_simple(graftpy_cycle *cy, int status, const char *body);
/* The response is complete: writes its access-log line and tells a waiting receive(). */
void graftpy_cycle_response_done(graftpy_cycle *cy);
/* Serves the oldest waiting HTTP receive() if its message is ready (body or disconnect). */
void graftpy_cycle_resolve_receive(graftpy_cycle *cy);
/* cycle.c: completes a waiting receive()'s Future fut with msg (borrowed). */
void graftpy_cycle_settle_receive(graftpy_cycle *cy, PyObject *fut, PyObject *msg);

/* proxy_headers.c: applies X-Forwarded-Proto/-For to scope when the peer is trusted
 * (--forwarded-allow-ips; a Unix-socket peer only under "*"), as uvicorn does. Returns 0, or
 * -1 with an exception set. */
int graftpy_apply_proxy(graftpy_server *srv, graft__req *r, PyObject *scope);
/* Builds the scope dict for req; NULL with an exception set on failure. */
PyObject *graftpy_scope_new(graftpy_server *srv, graft__req *req);

/* tls_py.c */
/* Builds srv's TLS context from Server(tls=spec) (None: plain). Returns 0, or -1 with
 * ValueError naming the file. */
int graftpy_server_tls_setup(graftpy_server *srv, PyObject *spec);
/* _graft.tls_check(spec): builds and frees a context, raising ValueError as Server would (the
 * supervisor's start-up check, before it forks). */
PyObject *graftpy_tls_check(PyObject *mod, PyObject *spec);
/* _graft.tls_kernel_ktls(): whether the kernel offers kernel TLS (the `tls` ULP). */
PyObject *graftpy_tls_kernel_ktls(PyObject *mod, PyObject *noargs);
/* Server.reload_tls(): re-reads certificate and key for new handshakes (ValueError keeps the
 * old context). */
PyObject *graftpy_server_reload_tls(PyObject *self, PyObject *noargs);
/* Server.tls_files(): (file responses sent with kernel TLS, read and encrypted by graft). */
PyObject *graftpy_server_tls_files(PyObject *self, PyObject *noargs);
/* Server.tls_serial(): the current certificate's serial (hex), None without TLS. */
PyObject *graftpy_server_tls_serial(PyObject *self, PyObject *noargs);
/* Adds the ASGI TLS extension ("tls") for r's connection to the extensions dict ext;
 * nothing for a plain connection. Returns 0 or -1 with an exception. */
int graftpy_scope_add_tls(graftpy_server *srv, graft__req *r, PyObject *ext);

/* dispatch.c: the engine's deliver callback (any thread), the loop's reader callbacks,
 * and starting/stopping the loop's watch on the I/O threads' epoll fds. */
void graftpy_deliver(void *ud, graft__req *req, int ev);
PyObject *graftpy_server_poll(PyObject *self, PyObject *arg);
PyObject *graftpy_server_drain(PyObject *self, PyObject *unused);
/* shadow_py.c: Server.set_shadow(log_path, timeout), Server.shadow_lines(), and the sink's
 * release once the native layer is gone. */
PyObject *graftpy_server_set_shadow(PyObject *self, PyObject *args);
PyObject *graftpy_server_shadow_lines(PyObject *self, PyObject *unused);
void graftpy_server_shadow_close(graftpy_server *srv);
PyObject *graftpy_server_watch_all(graftpy_server *srv);
/* Server.set_contracts(text) (native_contracts.c): the route contracts from the app's OpenAPI
 * document; returns the start-up report's lines. */
PyObject *graftpy_server_set_contracts(PyObject *self, PyObject *text);
PyObject *graftpy_server_unwatch_all(graftpy_server *srv);

/* Starts handling a freshly delivered request (consumes the event's reference). */
void graftpy_cycle_start(graftpy_server *srv, graft__req *req);
/* Routes a BODY / DISCONNECT / WRITABLE event to the request's cycle. */
void graftpy_cycle_event(graftpy_server *srv, graft__req *req, int ev);
/* Logs a WebSocket handshake's outcome as uvicorn does (0: accepted, else the status). */
void graftpy_ws_log(graftpy_cycle *cy, int status);
/* Writes the access-log line for a finished response (no-op when the log is off). */
/* One access-log line for r. cy: the app's cycle when the app answered (its response headers
 * and body bytes), NULL for an answer logged through GRAFT__EV_LOG (native). */
void graftpy_access_log(graftpy_server *srv, graft__req *r, int status, graftpy_cycle *cy);

/* Has the engine write the response head into out (the app's headers, Date, the default
 * headers, framing) and records its framing decision in cy; 0 or -1 with an exception set. */
int graftpy_head_build(graftpy_cycle *cy, graft__buf *out, uint64_t body_len_if_final, int is_final);
/* Validates an ASGI header list; stores flags in cy. 0 or -1 with an exception. */
int graftpy_head_check(graftpy_cycle *cy, PyObject *headers);

/* The pending exception as one object, with its traceback attached (3.11-safe). */
static inline PyObject *graftpy_fetch_exc(void)
{
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    if (!t)
        return NULL;
    PyErr_NormalizeException(&t, &v, &tb);
    if (tb && v)
        PyException_SetTraceback(v, tb);
    Py_XDECREF(t);
    Py_XDECREF(tb);
    return v;
}

/* Raises exc again (steals the reference). */
static inline void graftpy_restore_exc(PyObject *exc)
{
    PyObject *tb = PyException_GetTraceback(exc);
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(exc)), exc, tb);
}

#endif
