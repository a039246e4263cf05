/* late.c — a handler library that answers after the server has shut down, for
 * test_native_lifetime.py (issue 11 #4).
 *
 * GET /late and GET /late-stream keep their request (graft_request_retain) and
 * hand it to the library's own thread, which answers only when the process
 * exits (an atexit handler wakes it and waits for it): by then graft or
 * graft-serve has freed its engine and its native layer. /late-stream starts
 * its response first and writes the rest late. GET /late-held says how many
 * requests are held. The thread records what the late calls returned in
 * DIR/late (DIR is the config string):
 *     respond=R stream_write=W stream_end=E gone=G lib_state=S
 * The statics below are this test library's own; atexit needs them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <graft.h>

GRAFT_LIBRARY()

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static graft_request *held_plain, *held_stream;
static int held, answer_now, thread_started;
static pthread_t thread;
static char dir[1024];

static void *late_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    while (!answer_now)
        pthread_cond_wait(&cv, &mu);
    graft_request *plain = held_plain, *stream = held_stream;
    held_plain = held_stream = NULL;
    pthread_mutex_unlock(&mu);
    int respond = 1, wr = 1, end = 1, gone = -1;
    void *state = (void *)1;
    if (plain) {
        /* the answer first: it is what used to read the freed native layer */
        respond = graft_respond(plain, 200, "text/plain", "late", 4);
        gone = graft_request_gone(plain); /* still ours: retained */
        state = graft_lib_state(plain);
        graft_request_release(plain);
    }
    if (stream) {
        wr = graft_stream_write(stream, "late", 4);
        end = graft_stream_end(stream);
        graft_request_release(stream);
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/late", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "respond=%d stream_write=%d stream_end=%d gone=%d lib_state=%s\n", respond,
                wr, end, gone, state ? "set" : "null");
        fclose(f);
    }
    return NULL;
}

/* Runs at exit, after graft/graft-serve returned from serving. */
static void at_exit(void)
{
    pthread_mutex_lock(&mu);
    answer_now = 1;
    int started = thread_started;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    if (started)
        pthread_join(thread, NULL);
}

static int hold(graft_request *req, graft_request **slot)
{
    pthread_mutex_lock(&mu);
    if (*slot) {
        pthread_mutex_unlock(&mu);
        return graft_respond(req, 409, "text/plain", "held", 4);
    }
    if (!thread_started) {
        if (pthread_create(&thread, NULL, late_thread, NULL) != 0) {
            pthread_mutex_unlock(&mu);
            return GRAFT_ENOMEM;
        }
        thread_started = 1;
    }
    graft_request_retain(req);
    *slot = req;
    held++;
    pthread_mutex_unlock(&mu);
    return GRAFT_OK;
}

static int late(graft_request *req, void *st)
{
    (void)st;
    return hold(req, &held_plain);
}

static int late_stream(graft_request *req, void *st)
{
    (void)st;
    int rc = graft_stream_start(req, 200, "text/plain");
    if (rc < 0)
        return rc;
    rc = graft_stream_write(req, "early ", 6);
    if (rc < 0)
        return rc;
    return hold(req, &held_stream);
}

static int late_held(graft_request *req, void *st)
{
    (void)st;
    pthread_mutex_lock(&mu);
    char b[16];
    snprintf(b, sizeof b, "%d", held);
    pthread_mutex_unlock(&mu);
    return graft_respond(req, 200, "text/plain", b, strlen(b));
}

static void destroy(void *st) { free(st); }

int graft_register(graft_router *r, const char *config)
{
    snprintf(dir, sizeof dir, "%s", config ? config : ".");
    /* A state to be destroyed at shutdown, so graft_lib_state's answer afterwards matters. */
    void *st = malloc(16);
    if (!st)
        return GRAFT_ENOMEM;
    graft_router_set_state(r, st, destroy);
    if (atexit(at_exit) != 0)
        return GRAFT_ENOMEM;
    int rc = graft_route(r, "GET", "/late", late, 0);
    if (!rc)
        rc = graft_route(r, "GET", "/late-stream", late_stream, 0);
    if (!rc)
        rc = graft_route(r, "GET", "/late-held", late_held, 0);
    return rc;
}
