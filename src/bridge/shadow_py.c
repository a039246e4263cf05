/* Shadow mode from Python: the sink for mismatch lines (a file, or a queue the loop drains
 * into the graft.shadow logger when an eventfd says lines wait). Its counters are metrics
 * (shared.h), read with --metrics or `graft ctl routes`. */
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bridge.h"
#include "shadow.h"

static void wake(void *arg)
{
    uint64_t one = 1;
    ssize_t w = write(*(int *)arg, &one, sizeof one);
    (void)w; /* a full eventfd is awake already */
}

PyObject *graftpy_server_set_shadow(PyObject *self, PyObject *args)
{
    graftpy_server *srv = (graftpy_server *)self;
    PyObject *path_o;
    double timeout;
    if (!PyArg_ParseTuple(args, "Od", &path_o, &timeout))
        return NULL;
    if (!srv->native || srv->shadow_log) {
        PyErr_SetString(PyExc_RuntimeError, srv->native ? "shadow mode is set up already"
                                                        : "shadow mode needs native routes");
        return NULL;
    }
    const char *path = path_o == Py_None ? NULL : PyUnicode_AsUTF8(path_o);
    if (path_o != Py_None && !path)
        return NULL;
    char err[512] = "";
    graft__shadow_log *log;
    if (graft__shadow_log_open(&log, path, 0, err, sizeof err) < 0) {
        PyErr_SetString(PyExc_OSError, err[0] ? err : "cannot open the shadow log");
        return NULL;
    }
    if (!path) {
        srv->shadow_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (srv->shadow_efd < 0) {
            graft__shadow_log_close(log);
            srv->shadow_efd = 0;
            return PyErr_SetFromErrno(PyExc_OSError);
        }
        graft__shadow_log_set_notify(log, wake, &srv->shadow_efd);
    }
    if (graft__native_shadow_config(srv->native, log, timeout) < 0) {
        graft__shadow_log_close(log);
        if (srv->shadow_efd > 0)
            close(srv->shadow_efd);
        srv->shadow_efd = 0;
        return PyErr_NoMemory();
    }
    srv->shadow_log = log;
    if (srv->shadow_efd > 0)
        return PyLong_FromLong(srv->shadow_efd);
    Py_RETURN_NONE;
}

PyObject *graftpy_server_shadow_lines(PyObject *self, PyObject *unused)
{
    (void)unused;
    graftpy_server *srv = (graftpy_server *)self;
    PyObject *out = PyList_New(0);
    if (!out || !srv->shadow_log)
        return out;
    uint64_t v;
    if (srv->shadow_efd > 0 && read(srv->shadow_efd, &v, sizeof v) < 0) {
        /* EAGAIN: woken for lines an earlier call took already */
    }
    graft__buf b = {0};
    if (graft__shadow_log_take(srv->shadow_log, &b) < 0) {
        Py_DECREF(out);
        return PyErr_NoMemory();
    }
    const char *p = graft__buf_head(&b), *end = p + graft__buf_avail(&b);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        PyObject *line = PyUnicode_DecodeUTF8(p, nl - p, "replace");
        if (!line || PyList_Append(out, line) < 0) {
            Py_XDECREF(line);
            Py_DECREF(out);
            graft__buf_free(&b);
            return NULL;
        }
        Py_DECREF(line);
        p = nl + 1;
    }
    graft__buf_free(&b);
    return out;
}

void graftpy_server_shadow_close(graftpy_server *srv)
{
    /* After graft__native_free: its runner, the sink's last writer, is gone. */
    if (srv->native)
        return;
    graft__shadow_log_close(srv->shadow_log);
    srv->shadow_log = NULL;
    if (srv->shadow_efd > 0)
        close(srv->shadow_efd);
    srv->shadow_efd = 0;
}
