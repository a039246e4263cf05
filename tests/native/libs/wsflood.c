/* wsflood.c — a native WebSocket route that sends to a client that may never read
 * (tests/native/test_native_ws_unread.py). On open, /flood sends up to 1000 binary
 * messages of 64 KiB (the first 4 bytes number them) and stops at the first answer other
 * than 0, as graft_ws_send asks (1: the client is slow, wait). A text message is answered
 * with "sent N". GET /flood-stats answers {"sent": N, "last_rc": rc} for the last flood. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <graft.h>

GRAFT_LIBRARY()

#define MSG_SIZE 65536
#define MSG_MAX 1000

typedef struct flood {
    atomic_int sent, last_rc;
} flood;

static void on_open(graft_ws *ws, void *state)
{
    flood *f = state;
    unsigned char *msg = malloc(MSG_SIZE);
    if (!msg) {
        graft_ws_close(ws, 1011, "out of memory");
        return;
    }
    int i = 0, rc = 0;
    for (; i < MSG_MAX; i++) {
        for (int k = 0; k < MSG_SIZE; k += 4) {
            msg[k] = (unsigned char)(i >> 24);
            msg[k + 1] = (unsigned char)(i >> 16);
            msg[k + 2] = (unsigned char)(i >> 8);
            msg[k + 3] = (unsigned char)i;
        }
        rc = graft_ws_send(ws, 1, msg, MSG_SIZE);
        if (rc != 0) {
            if (rc == 1)
                i++; /* queued, but the client is slow: stop here */
            break;
        }
    }
    free(msg);
    atomic_store(&f->sent, i);
    atomic_store(&f->last_rc, rc);
}

static void on_message(graft_ws *ws, int binary, const void *data, size_t len, void *state)
{
    (void)binary;
    (void)data;
    (void)len;
    char text[32];
    int n = snprintf(text, sizeof text, "sent %d", atomic_load(&((flood *)state)->sent));
    graft_ws_send(ws, 0, text, (size_t)n);
}

static void on_close(graft_ws *ws, int code, const char *reason, size_t len, void *state)
{
    (void)ws;
    (void)code;
    (void)reason;
    (void)len;
    (void)state;
}

static int stats(graft_request *req, void *state)
{
    flood *f = state;
    char body[64];
    int n = snprintf(body, sizeof body, "{\"sent\": %d, \"last_rc\": %d}", atomic_load(&f->sent),
                     atomic_load(&f->last_rc));
    return graft_respond(req, 200, "application/json", body, (size_t)n);
}

int graft_register(graft_router *r, const char *config)
{
    (void)config;
    flood *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    atomic_init(&f->sent, -1);
    atomic_init(&f->last_rc, 0);
    graft_router_set_state(r, f, free);
    static const graft_ws_handlers handlers = {on_open, on_message, on_close};
    if (graft_ws_route(r, "/flood", &handlers) != 0)
        return -1;
    return graft_route(r, "GET", "/flood-stats", stats, 0);
}
