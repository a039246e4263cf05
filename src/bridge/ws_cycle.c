/* ASGI WebSocket (www spec 2.5): the websocket scope, receive() and send()
 * over the engine's WebSocket session, and the denial-response extension. */
#include <errno.h>
#include <string.h>

#include "ws.h"
#include "bridge.h"

static PyObject *subprotocols(graft__req *r)
{
    PyObject *l = PyList_New(0);
    if (!l)
        return NULL;
    for (size_t i = 0; i < r->num_headers; i++) {
        const graft__header *h = &r->headers[i];
        if (!GRAFT__TOK_IS(h->name, h->name_len, "sec-websocket-protocol"))
            continue;
        const char *v = h->value, *end = v + h->value_len, *item;
        size_t n;
        while (graft__list_next(&v, end, &item, &n)) {
            if (!n)
                continue;
            /* header bytes may be any octets: decode leniently, never crash */
            PyObject *s = PyUnicode_DecodeLatin1(item, (Py_ssize_t)n, NULL);
            if (!s || PyList_Append(l, s) < 0) {
                Py_XDECREF(s);
                Py_DECREF(l);
                return NULL;
            }
            Py_DECREF(s);
        }
    }
    return l;
}

PyObject *graftpy_asgi_ws_scope_new(graftpy_server *srv, graft__req *r)
{
    graftpy_state *st = srv->st;
    PyObject *scope = graftpy_scope_new(srv, r);
    if (!scope)
        return NULL;
    PyObject *scheme = PyDict_GetItemString(scope, "scheme");
    int secure = scheme && (PyUnicode_CompareWithASCIIString(scheme, "https") == 0 ||
                            PyUnicode_CompareWithASCIIString(scheme, "wss") == 0);
    PyObject *sp = subprotocols(r);
    PyObject *asgi = Py_BuildValue("{s:s,s:s}", "version", "3.0", "spec_version", "2.5");
    PyObject *ext = PyDict_Copy(srv->ws_extensions);
    if (ext && graftpy_scope_add_tls(srv, r, ext) < 0)
        Py_CLEAR(ext);
    if (!sp || !asgi || !ext || PyDict_SetItem(scope, st->k_type, st->v_websocket) < 0 ||
        PyDict_SetItem(scope, st->k_scheme, secure ? st->v_wss : st->v_ws) < 0 ||
        PyDict_SetItem(scope, st->k_subprotocols, sp) < 0 ||
        PyDict_SetItem(scope, st->k_asgi, asgi) < 0 ||
        PyDict_SetItem(scope, st->k_extensions, ext) < 0 || PyDict_DelItem(scope, st->k_method) < 0) {
        Py_XDECREF(sp);
        Py_XDECREF(asgi);
        Py_XDECREF(ext);
        Py_DECREF(scope);
        return NULL;
    }
    Py_DECREF(sp);
    Py_DECREF(asgi);
    Py_DECREF(ext);
    return scope;
}

static PyObject *disconnect(graftpy_state *st, int code, const char *reason, size_t rlen)
{
    return Py_BuildValue("{s:O,s:i,s:s#}", "type", st->v_ws_disconnect, "code", code, "reason",
                         reason, (Py_ssize_t)rlen);
}

/* The next message if one is ready; NULL without exception when the app must wait. */
static PyObject *next_message(graftpy_cycle *cy, int *err)
{
    graftpy_state *st = cy->srv->st;
    *err = 0;
    if (!cy->ws_connect_sent) {
        cy->ws_connect_sent = 1;
        return Py_BuildValue("{s:O}", "type", st->v_ws_connect);
    }
    if (!cy->ws_accepted) {
        /* before accept only a disconnect can come */
        if (cy->state == CYC_DONE || cy->ws_closed || graft__req_wait_disconnect(cy->req))
            return disconnect(st, cy->ws_closed ? 1000 : 1006, "", 0);
        return NULL;
    }
    int op = 0, code = 0;
    graft__buf data = {0}, reason = {0};
    int rc = graft__ws_take(cy->req, &op, &data, &code, &reason);
    PyObject *msg = NULL;
    if (rc == 1) {
        const char *p = graft__buf_avail(&data) ? graft__buf_head(&data) : "";
        Py_ssize_t n = (Py_ssize_t)graft__buf_avail(&data);
        if (op == GRAFT__WS_TEXT) {
            PyObject *t = PyUnicode_DecodeUTF8(p, n, "strict"); /* validated by the engine */
            msg = t ? Py_BuildValue("{s:O,s:N}", "type", st->v_ws_receive, "text", t) : NULL;
        } else {
            msg = Py_BuildValue("{s:O,s:y#}", "type", st->v_ws_receive, "bytes", p, n);
        }
        if (!msg)
            *err = 1;
    } else if (rc == 2) {
        cy->ws_closed = 1;
        msg = disconnect(st, code, graft__buf_avail(&reason) ? graft__buf_head(&reason) : "",
                         graft__buf_avail(&reason));
        if (!msg)
            *err = 1;
    }
    graft__buf_free(&data);
    graft__buf_free(&reason);
    return msg;
}

PyObject *graftpy_asgi_ws_receive(PyObject *self, PyObject *unused)
{
    (void)unused;
    return graftpy_cycle_receive_with((graftpy_cycle *)self, next_message);
}

void graftpy_asgi_ws_resolve_receive(graftpy_cycle *cy) { graftpy_cycle_resolve_with(cy, next_message); }

static int accept_headers(PyObject *msg, graft__buf *out)
{
    PyObject *headers = PyDict_GetItemString(msg, "headers");
    if (!headers || headers == Py_None)
        return 0;
    PyObject *seq = PySequence_Fast(headers, "'headers' must be an iterable");
    if (!seq)
        return -1;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        const char *n, *v;
        Py_ssize_t nl, vl;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "y#y#", &n, &nl, &v, &vl)) {
            Py_DECREF(seq);
            return -1;
        }
        int bad = nl == 0;
        for (Py_ssize_t k = 0; k < nl; k++)
            bad |= !((unsigned char)n[k] > 0x20 && (unsigned char)n[k] < 0x7f && !strchr("()<>@,;:\\\"/[]?={}", n[k]));
        for (Py_ssize_t k = 0; k < vl; k++)
            bad |= ((unsigned char)v[k] < 0x20 && v[k] != '\t') || (unsigned char)v[k] == 0x7f;
        if (bad) {
            Py_DECREF(seq);
            PyErr_SetString(PyExc_RuntimeError, "Invalid HTTP header in websocket.accept.");
            return -1;
        }
        if (graft__buf_append(out, n, (size_t)nl) < 0 || graft__buf_append(out, GRAFT__STRLIT(": ")) < 0 ||
            graft__buf_append(out, v, (size_t)vl) < 0 || graft__buf_append(out, GRAFT__STRLIT("\r\n")) < 0) {
            Py_DECREF(seq);
            PyErr_NoMemory();
            return -1;
        }
    }
    Py_DECREF(seq);
    return 0;
}

static PyObject *type_error(PyObject *type, const char *expected)
{
    PyErr_Format(PyExc_RuntimeError, "Expected ASGI message %s, but got '%U'.", expected, type);
    return NULL;
}

PyObject *graftpy_asgi_ws_send(PyObject *self, PyObject *msg)
{
    graftpy_cycle *cy = (graftpy_cycle *)self;
    graftpy_state *st = cy->srv->st;
    PyObject *type = graftpy_msg_type(st, msg);
    if (!type)
        return NULL;
    if (!cy->req || cy->ws_closed || cy->state == CYC_DONE)
        return graftpy_cycle_disconnected(cy);
    if (cy->ws_denial) {
        if (PyUnicode_Compare(type, st->v_ws_resp_body) != 0)
            return type_error(type, "'websocket.http.response.body'");
        return graftpy_cycle_send_body(cy, msg);
    }
    if (!cy->ws_accepted) {
        if (PyUnicode_Compare(type, st->v_ws_accept) == 0) {
            PyObject *sp = PyDict_GetItemString(msg, "subprotocol");
            const char *sps = "";
            Py_ssize_t spl = 0;
            if (sp && sp != Py_None) {
                if (!PyUnicode_Check(sp) || !(sps = PyUnicode_AsUTF8AndSize(sp, &spl)))
                    return PyErr_Occurred() ? NULL : type_error(type, "subprotocol str");
                for (Py_ssize_t k = 0; k < spl; k++)
                    if ((unsigned char)sps[k] <= 0x20 || (unsigned char)sps[k] >= 0x7f || sps[k] == ',') {
                        PyErr_SetString(PyExc_RuntimeError, "Invalid subprotocol.");
                        return NULL;
                    }
            }
            graft__buf h = {0};
            if (accept_headers(msg, &h) < 0) {
                graft__buf_free(&h);
                return NULL;
            }
            int rc = graft__ws_accept(cy->req, sps, (size_t)spl, h.data ? h.data : "", h.len);
            graft__buf_free(&h);
            if (rc < 0)
                return graftpy_cycle_disconnected(cy);
            cy->ws_accepted = 1;
            cy->status = 101;
            graftpy_ws_log(cy, 0);
            return Py_NewRef(Py_None);
        }
        if (PyUnicode_Compare(type, st->v_ws_close) == 0) {
            /* close before accept: refuse the handshake with 403 */
            cy->ws_closed = 1;
            graftpy_ws_log(cy, 403);
            graftpy_cycle_write_simple(cy, 403, "");
            return Py_NewRef(Py_None);
        }
        if (PyUnicode_Compare(type, st->v_ws_resp_start) == 0) {
            cy->ws_denial = 1;
            PyObject *r = graftpy_cycle_send_start(cy, msg);
            if (r)
                graftpy_ws_log(cy, cy->status);
            return r;
        }
        return type_error(type, "'websocket.accept', 'websocket.close' or 'websocket.http.response.start'");
    }
    if (PyUnicode_Compare(type, st->v_ws_send) == 0) {
        PyObject *b = PyDict_GetItemString(msg, "bytes");
        PyObject *t = PyDict_GetItemString(msg, "text");
        if (b == Py_None)
            b = NULL;
        if (t == Py_None)
            t = NULL;
        if ((b && t) || (!b && !t) || (b && !PyBytes_Check(b)) || (t && !PyUnicode_Check(t))) {
            PyErr_SetString(PyExc_TypeError, "websocket.send needs exactly one of 'bytes' (bytes) or 'text' (str)");
            return NULL;
        }
        const char *p;
        Py_ssize_t n;
        if (t) {
            if (!(p = PyUnicode_AsUTF8AndSize(t, &n)))
                return NULL;
        } else {
            p = PyBytes_AS_STRING(b);
            n = PyBytes_GET_SIZE(b);
        }
        int rc = graft__ws_send(cy->req, t ? GRAFT__WS_TEXT : GRAFT__WS_BINARY, p, (size_t)n);
        if (rc < 0)
            return graftpy_cycle_disconnected(cy);
        if (rc == 1) {
            return graftpy_cycle_send_wait(cy);
        }
        return Py_NewRef(Py_None);
    }
    if (PyUnicode_Compare(type, st->v_ws_close) == 0) {
        PyObject *code = PyDict_GetItemString(msg, "code");
        PyObject *reason = PyDict_GetItemString(msg, "reason");
        long c = code && code != Py_None ? PyLong_AsLong(code) : 1000;
        if (c == -1 && PyErr_Occurred())
            return NULL;
        const char *rs = "";
        Py_ssize_t rl = 0;
        if (reason && reason != Py_None && !(rs = PyUnicode_AsUTF8AndSize(reason, &rl)))
            return NULL;
        graft__ws_close(cy->req, (int)c, rs, (size_t)rl);
        cy->ws_closed = 1;
        cy->state = CYC_DONE;
        return Py_NewRef(Py_None);
    }
    return type_error(type, "'websocket.send' or 'websocket.close'");
}

void graftpy_asgi_ws_finish(graftpy_cycle *cy, int raised)
{
    if (!cy->req)
        return;
    if (cy->ws_accepted) {
        if (!cy->ws_closed) {
            graft__ws_close(cy->req, raised ? 1011 : 1000, "", 0);
            cy->ws_closed = 1;
        }
        cy->state = CYC_DONE;
        return;
    }
    if (cy->ws_denial && cy->state != CYC_DONE) {
        /* Unlocked: only this thread sets response_started (req.h). */
        if (!atomic_load_explicit(&cy->req->response_started, memory_order_relaxed)) {
            graftpy_cycle_write_simple(cy, 500, "Internal Server Error");
        } else
            graft__req_write(cy->req, NULL, 0, GRAFT__W_FINAL | GRAFT__W_CLOSE);
        cy->state = CYC_DONE;
        return;
    }
    if (!cy->ws_closed && cy->state != CYC_DONE) {
        graftpy_cycle_write_simple(cy, 500, "Internal Server Error");
    }
}
