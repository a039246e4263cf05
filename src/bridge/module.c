/* graft._graft: module initialisation and the per-module state. */
#include "bridge.h"

static graftpy_state *module_state(PyObject *m) { return (graftpy_state *)PyModule_GetState(m); }

static int intern(PyObject **slot, const char *s)
{
    *slot = PyUnicode_InternFromString(s);
    return *slot ? 0 : -1;
}

static const char *const method_names[9] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                            "PATCH",   "OPTIONS", "CONNECT", "TRACE"};
/* Header names common enough that sharing one bytes object per name pays. */
const char *const graftpy_common_headers[32] = {
    "host", "user-agent", "accept", "accept-encoding", "accept-language", "connection",
    "content-type", "content-length", "cookie", "origin", "referer", "authorization",
    "cache-control", "pragma", "upgrade", "x-forwarded-for", "x-forwarded-proto",
    "x-real-ip", "if-none-match", "if-modified-since", "range", "te", "transfer-encoding",
    "expect", "sec-fetch-mode", "sec-fetch-site", "sec-fetch-dest", "sec-ch-ua",
    "sec-ch-ua-mobile", "sec-ch-ua-platform", "upgrade-insecure-requests", "dnt"};

/* ENGINE_DEFAULTS: the C side's defaults (engine.h, and native.h's pool size) under Config's keyword names, so a test
 * can hold them against graft/config.py's; nothing reads them at run time. */
static int add_engine_defaults(PyObject *m)
{
    PyObject *d = Py_BuildValue(
        "{s:i,s:i,s:i,s:i,s:i,s:d,s:d,s:d,s:d,s:d,s:d,s:K,s:K,s:i,s:d,s:d,s:O}",
        "threads", GRAFT__DEFAULT_THREADS,
        "blocking_threads", GRAFT__NATIVE_DEFAULT_BLOCKING_THREADS,
        "limit_request_line", GRAFT__DEFAULT_LIMIT_REQUEST_LINE,
        "limit_request_head", GRAFT__DEFAULT_LIMIT_REQUEST_HEAD,
        "limit_request_fields", GRAFT__DEFAULT_LIMIT_REQUEST_FIELDS,
        "timeout_keep_alive", GRAFT__DEFAULT_TIMEOUT_KEEP_ALIVE,
        "timeout_request_header", GRAFT__DEFAULT_TIMEOUT_REQUEST_HEADER,
        "timeout_body_read", GRAFT__DEFAULT_TIMEOUT_BODY_READ,
        "timeout_send", GRAFT__DEFAULT_TIMEOUT_SEND,
        "timeout_linger", GRAFT__DEFAULT_TIMEOUT_LINGER,
        "timeout_linger_idle", GRAFT__DEFAULT_TIMEOUT_LINGER_IDLE,
        "limit_linger", (unsigned long long)GRAFT__DEFAULT_LIMIT_LINGER,
        "ws_max_size", (unsigned long long)GRAFT__DEFAULT_WS_MAX_SIZE,
        "ws_max_queue", GRAFT__DEFAULT_WS_MAX_QUEUE,
        "ws_ping_interval", GRAFT__DEFAULT_WS_PING_INTERVAL,
        "ws_ping_timeout", GRAFT__DEFAULT_WS_PING_TIMEOUT,
        "ws_per_message_deflate", GRAFT__DEFAULT_WS_PER_MESSAGE_DEFLATE ? Py_True : Py_False);
    if (!d)
        return -1;
    int rc = PyModule_AddObjectRef(m, "ENGINE_DEFAULTS", d);
    Py_DECREF(d);
    return rc;
}

static int module_exec(PyObject *m)
{
    graftpy_state *st = module_state(m);
    memset(st, 0, sizeof *st);
#define I(slot, s)                                                                                 \
    if (intern(&st->slot, s) < 0)                                                              \
        return -1;
    I(k_type, "type") I(k_asgi, "asgi") I(k_http_version, "http_version") I(k_server, "server")
    I(k_client, "client") I(k_scheme, "scheme") I(k_method, "method") I(k_root_path, "root_path")
    I(k_path, "path") I(k_raw_path, "raw_path") I(k_query_string, "query_string")
    I(k_headers, "headers") I(k_state, "state") I(k_extensions, "extensions") I(k_body, "body")
    I(k_more_body, "more_body") I(k_status, "status") I(k_trailers, "trailers") I(k_route, "route")
    I(v_http, "http") I(v_https, "https") I(v_1_0, "1.0") I(v_1_1, "1.1") I(v_http_request, "http.request")
    I(v_http_disconnect, "http.disconnect") I(v_resp_start, "http.response.start")
    I(v_resp_body, "http.response.body") I(v_resp_pathsend, "http.response.pathsend")
    I(v_websocket, "websocket") I(v_ws, "ws") I(v_wss, "wss") I(k_subprotocols, "subprotocols")
    I(k_code, "code") I(k_reason, "reason") I(k_text, "text") I(k_bytes, "bytes")
    I(k_subprotocol, "subprotocol") I(v_ws_connect, "websocket.connect")
    I(v_ws_receive, "websocket.receive") I(v_ws_disconnect, "websocket.disconnect")
    I(v_ws_accept, "websocket.accept") I(v_ws_send, "websocket.send")
    I(v_ws_close, "websocket.close") I(v_ws_resp_start, "websocket.http.response.start")
    I(v_ws_resp_body, "websocket.http.response.body")
    I(k_path_key, "path") I(s_done, "done") I(s_set_result, "set_result")
    I(k_tls, "tls") I(k_server_cert, "server_cert") I(k_client_cert_chain, "client_cert_chain")
    I(k_client_cert_name, "client_cert_name") I(k_client_cert_error, "client_cert_error")
    I(k_tls_version, "tls_version") I(k_cipher_suite, "cipher_suite")
    I(s_set_exception, "set_exception") I(s_cancelled, "cancelled")
#undef I
    st->v_empty_bytes = PyBytes_FromStringAndSize("", 0);
    if (!st->v_empty_bytes)
        return -1;
    for (int i = 0; i < 9; i++)
        if (intern(&st->methods[i], method_names[i]) < 0)
            return -1;
    for (int i = 0; i < 32; i++)
        if (!(st->hdr_names[i] = PyBytes_FromString(graftpy_common_headers[i])))
            return -1;
    st->client_disconnected = PyErr_NewExceptionWithDoc(
        "graft.ClientDisconnected",
        "Raised by send() when the client has gone away (ASGI HTTP spec 2.4).",
        PyExc_OSError, NULL);
    if (!st->client_disconnected ||
        PyModule_AddObjectRef(m, "ClientDisconnected", st->client_disconnected) < 0)
        return -1;
    if (graftpy_op_type_init(m, st) < 0 || graftpy_cycle_type_init(m, st) < 0 ||
        graftpy_server_type_init(m, st) < 0 || add_engine_defaults(m) < 0)
        return -1;
    return 0;
}

static int module_traverse(PyObject *m, visitproc visit, void *arg)
{
    graftpy_state *st = module_state(m);
    Py_VISIT(st->server_type);
    Py_VISIT(st->cycle_type);
    Py_VISIT(st->op_type);
    Py_VISIT(st->client_disconnected);
    return 0;
}

static PyModuleDef_Slot slots[] = {{Py_mod_exec, module_exec}, {0, NULL}};

static PyMethodDef module_methods[] = {
    {"shared_new", graftpy_shared_new, METH_NOARGS,
     "A new shared region (metrics, live route modes) for the processes forked after it."},
    {"shared_set_workers", graftpy_shared_set_workers, METH_VARARGS,
     "shared_set_workers(region, n): the graft_workers gauge."},
    {"shared_slot_reset", graftpy_shared_slot_reset, METH_VARARGS,
     "shared_slot_reset(region, slot): a reaped worker's slot is free (pid, connections 0)."},
    {"native_routes", graftpy_native_routes, METH_O,
     "Load handler libraries (as --native does) and list their routes: (method, template, library)."},
    {"compare_responses", (PyCFunction)(void (*)(void))graftpy_compare_responses, METH_FASTCALL,
     "compare_responses(a, b): the comparison rule on two {status, headers, body} dicts; the "
     "differing parts, e.g. ['headers', 'body'], or []."},
    {"shadow_line", (PyCFunction)(void (*)(void))graftpy_shadow_line, METH_VARARGS | METH_KEYWORDS,
     "shadow_line(route, method, path, query, python, native, diff=None, body_log_cap=0): the "
     "JSON line shadow mode logs for a mismatch."},
    {"tls_check", graftpy_tls_check, METH_O,
     "tls_check((certfile, keyfile, password, version, cert_reqs, ca_certs, ciphers)): build a "
     "TLS context and drop it; ValueError names what is wrong."},
    {"tls_kernel_ktls", graftpy_tls_kernel_ktls, METH_NOARGS,
     "Whether this kernel offers kernel TLS (the tls ULP): file responses then use SSL_sendfile."},
    {NULL, NULL, 0, NULL},
};

PyModuleDef graftpy_module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "graft._graft",
    .m_doc = "graft's C HTTP engine and ASGI bridge.",
    .m_size = sizeof(graftpy_state),
    .m_methods = module_methods,
    .m_slots = slots,
    .m_traverse = module_traverse,
};

PyMODINIT_FUNC PyInit__graft(void) { return PyModuleDef_Init(&graftpy_module_def); }
