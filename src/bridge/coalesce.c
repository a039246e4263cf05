/* Coalescing of streamed response chunks.
 *
 * A streaming app sends many small chunks, often several in one step of its
 * task: send() completes at once, so nothing yields in between. Written one
 * by one, each chunk costs a writev and a trip through the TCP stack. So a
 * chunk that is not the last one is gathered (up to 64 KiB) and written with
 * the others by a callback the loop runs once the current task step has
 * yielded (call_soon), whichever task sent it, or earlier by the next write
 * that cannot wait: the final chunk, a full buffer, back-pressure, receive(),
 * or the end of the app. A chunk is thus never held past the step that sent
 * it, so server-sent events still leave as soon as the app awaits. */
#include "bridge.h"

#define COALESCE_MAX (64 * 1024)

static PyObject *flush_cb(PyObject *self, PyObject *unused)
{
    (void)unused;
    graftpy_cycle *cy = (graftpy_cycle *)self;
    cy->flush_scheduled = 0;
    if (cy->req)
        graftpy_cycle_flush(cy);
    Py_RETURN_NONE;
}

static PyMethodDef flush_def = {"_flush", flush_cb, METH_NOARGS, NULL};

int graftpy_cycle_gather(graftpy_cycle *cy, const struct iovec *iov, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    /* Under back-pressure every send writes, so the app gets a Future to wait on. */
    if (cy->pressure || graft__buf_avail(&cy->pend) + total > COALESCE_MAX)
        return 0;
    if (graft__buf_reserve(&cy->pend, total) < 0)
        return 0;
    if (!cy->flush_scheduled) {
        PyObject *cb = PyCFunction_New(&flush_def, (PyObject *)cy);
        PyObject *h = cb ? PyObject_CallOneArg(cy->srv->call_soon, cb) : NULL;
        Py_XDECREF(cb);
        if (!h) {
            PyErr_Clear();
            return 0;
        }
        Py_DECREF(h);
        cy->flush_scheduled = 1;
    }
    for (int i = 0; i < n; i++)
        graft__buf_append(&cy->pend, iov[i].iov_base, iov[i].iov_len); /* room reserved */
    return 1;
}

int graftpy_cycle_write(graftpy_cycle *cy, const struct iovec *iov, int n, int flags)
{
    struct iovec all[8];
    int k = 0;
    if (graft__buf_avail(&cy->pend))
        all[k++] = (struct iovec){graft__buf_head(&cy->pend), graft__buf_avail(&cy->pend)};
    for (int i = 0; i < n && k < 8; i++)
        all[k++] = iov[i];
    if (flags & GRAFT__W_FINAL)
        graftpy_cycle_label(cy);
    int rc = graft__req_write(cy->req, all, k, flags);
    cy->pend.off = cy->pend.len = 0; /* written or queued by the engine; keep the memory */
    /* Back-pressure, or a broken connection: the next send writes itself, so the app gets
     * its Future or its ClientDisconnected. */
    cy->pressure = rc != 0;
    return rc;
}

int graftpy_cycle_flush(graftpy_cycle *cy)
{
    if (!graft__buf_avail(&cy->pend))
        return 0;
    return graftpy_cycle_write(cy, NULL, 0, GRAFT__W_LIVE);
}
