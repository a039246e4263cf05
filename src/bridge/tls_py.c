/* TLS in the bridge: the context from Server(tls=...), its reload (SIGHUP), and the ASGI TLS
 * extension in the scope. The context is built and reloaded with the GIL released; the
 * handshake and all TLS I/O happen on the engine's threads. */
#include "bridge.h"

/* spec: (certfile, keyfile, password, version, cert_reqs, ca_certs, ciphers), strings or
 * None. Returns a new context or NULL with ValueError naming the file. */
static graft__tls *tls_build(PyObject *spec)
{
    graft__tls_config cfg = {0};
    const char *keys = NULL;
    Py_ssize_t nkeys = 0;
    int ktls = 1;
    if (!PyArg_ParseTuple(spec, "zzziizz|z#p;tls: (certfile, keyfile, password, version, cert_reqs, ca_certs, "
                          "ciphers[, ticket_keys[, ktls]])", &cfg.certfile, &cfg.keyfile, &cfg.password,
                          &cfg.version, &cfg.cert_reqs, &cfg.ca_certs, &cfg.ciphers, &keys, &nkeys, &ktls))
        return NULL;
    cfg.no_ktls = !ktls;
    if (keys && nkeys != GRAFT__TLS_TICKET_KEYS) {
        PyErr_Format(PyExc_ValueError, "tls: ticket_keys must be %d bytes", GRAFT__TLS_TICKET_KEYS);
        return NULL;
    }
    cfg.ticket_keys = (const unsigned char *)keys;
    graft__tls *t = NULL;
    char err[1024] = "";
    int rc;
    Py_BEGIN_ALLOW_THREADS rc = graft__tls_new(&cfg, &t, err, sizeof err);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        PyErr_SetString(PyExc_ValueError, err[0] ? err : "cannot build the TLS context");
        return NULL;
    }
    return t;
}

int graftpy_server_tls_setup(graftpy_server *srv, PyObject *spec)
{
    if (spec == Py_None)
        return 0;
    if (!(srv->tls = tls_build(spec)))
        return -1;
    srv->tls_pem = NULL;
    return 0;
}

PyObject *graftpy_tls_check(PyObject *mod, PyObject *spec)
{
    (void)mod;
    graft__tls *t = tls_build(spec);
    if (!t)
        return NULL;
    graft__tls_free(t);
    Py_RETURN_NONE;
}

PyObject *graftpy_tls_kernel_ktls(PyObject *mod, PyObject *noargs)
{
    (void)mod;
    (void)noargs;
    return PyBool_FromLong(graft__tls_kernel_ktls());
}

PyObject *graftpy_server_reload_tls(PyObject *self, PyObject *noargs)
{
    (void)noargs;
    graftpy_server *srv = (graftpy_server *)self;
    if (!srv->tls) {
        PyErr_SetString(PyExc_RuntimeError, "this server does not serve TLS");
        return NULL;
    }
    char err[1024] = "";
    int rc;
    Py_BEGIN_ALLOW_THREADS rc = graft__tls_reload(srv->tls, err, sizeof err);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        PyErr_SetString(PyExc_ValueError, err);
        return NULL;
    }
    Py_RETURN_NONE;
}

PyObject *graftpy_server_tls_files(PyObject *self, PyObject *noargs)
{
    (void)noargs;
    graftpy_server *srv = (graftpy_server *)self;
    long k = 0, c = 0;
    if (srv->engine)
        graft__engine_tls_files(srv->engine, &k, &c);
    return Py_BuildValue("(ll)", k, c);
}

PyObject *graftpy_server_tls_serial(PyObject *self, PyObject *noargs)
{
    (void)noargs;
    graftpy_server *srv = (graftpy_server *)self;
    if (!srv->tls)
        Py_RETURN_NONE;
    char buf[128];
    graft__tls_serial(srv->tls, buf, sizeof buf);
    return PyUnicode_FromString(buf);
}

/* The server certificate's PEM as str, cached for as long as the same text is current (a
 * reload changes it; the pointer alone could be reused by a later allocation). */
static PyObject *server_pem(graftpy_server *srv, const char *pem)
{
    size_t n = strlen(pem);
    if (srv->tls_pem && srv->tls_pem_len == n && memcmp(srv->tls_pem_text, pem, n) == 0)
        return Py_NewRef(srv->tls_pem);
    PyObject *s = PyUnicode_DecodeASCII(pem, (Py_ssize_t)n, "replace");
    if (!s)
        return NULL;
    Py_XSETREF(srv->tls_pem, Py_NewRef(s));
    srv->tls_pem_text = PyUnicode_AsUTF8AndSize(s, NULL);
    srv->tls_pem_len = n;
    return s;
}

static PyObject *str_or_none(const char *s)
{
    return s ? PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace") : Py_NewRef(Py_None);
}

int graftpy_scope_add_tls(graftpy_server *srv, graft__req *r, PyObject *ext)
{
    const graft__tls_info *i = graft__req_tls(r);
    if (!i)
        return 0;
    PyObject *chain = PyList_New((Py_ssize_t)i->n_client_chain);
    if (!chain)
        return -1;
    for (size_t k = 0; k < i->n_client_chain; k++) {
        PyObject *p = PyUnicode_DecodeASCII(i->client_chain[k], (Py_ssize_t)strlen(i->client_chain[k]), "replace");
        if (!p) {
            Py_DECREF(chain);
            return -1;
        }
        PyList_SET_ITEM(chain, (Py_ssize_t)k, p);
    }
    graftpy_state *st = srv->st;
    PyObject *d = PyDict_New();
    PyObject *vals[6] = {server_pem(srv, i->server_cert), chain, str_or_none(i->client_name),
                         str_or_none(i->client_error), PyLong_FromLong(i->version), PyLong_FromLong(i->cipher)};
    PyObject *keys[6] = {st->k_server_cert, st->k_client_cert_chain, st->k_client_cert_name,
                         st->k_client_cert_error, st->k_tls_version, st->k_cipher_suite};
    int rc = d ? 0 : -1;
    for (int k = 0; k < 6; k++) {
        if (rc == 0 && (!vals[k] || PyDict_SetItem(d, keys[k], vals[k]) < 0))
            rc = -1;
        Py_XDECREF(vals[k]);
    }
    if (rc == 0)
        rc = PyDict_SetItem(ext, st->k_tls, d);
    Py_XDECREF(d);
    return rc;
}
