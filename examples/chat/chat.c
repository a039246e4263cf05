/* A native WebSocket chat: every message sent to /chat/{room} is broadcast to
 * everyone in that room. Runs under `graft app:app --native chat.so` (the page
 * and everything else stay in Python) and under `graft-serve --native chat.so`.
 *
 *   cc -O2 -shared -fPIC $(graft-config --cflags) chat.c -o chat.so $(graft-config --libs)
 *
 * Callbacks run on graft's I/O threads (several with --threads N), so the room
 * registry is locked; sends to other connections are safe from any thread. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <graft.h>

GRAFT_LIBRARY()

typedef struct member {
    struct member *next;
    graft_ws *ws;
    char room[64];
} member;

typedef struct chat {
    pthread_mutex_t mu;
    member *members;
} chat;

static void broadcast(chat *c, const char *room, const void *msg, size_t len)
{
    pthread_mutex_lock(&c->mu);
    for (member *m = c->members; m; m = m->next)
        if (strcmp(m->room, room) == 0)
            graft_ws_send(m->ws, 0, msg, len); /* a slow or gone member does not stop the rest */
    pthread_mutex_unlock(&c->mu);
}

static void on_open(graft_ws *ws, void *state)
{
    chat *c = state;
    member *m = calloc(1, sizeof *m);
    if (!m) {
        graft_ws_close(ws, 1011, "out of memory");
        return;
    }
    size_t n;
    const char *room = graft_ws_param(ws, "room", &n);
    snprintf(m->room, sizeof m->room, "%.*s", (int)n, room);
    m->ws = ws;
    graft_ws_retain(ws); /* the registry holds it until on_close */
    graft_ws_set_data(ws, m);
    pthread_mutex_lock(&c->mu);
    m->next = c->members;
    c->members = m;
    pthread_mutex_unlock(&c->mu);
    char hello[128];
    int k = snprintf(hello, sizeof hello, "* someone joined %s", m->room);
    broadcast(c, m->room, hello, (size_t)k);
}

static void on_message(graft_ws *ws, int binary, const void *data, size_t len, void *state)
{
    member *m = graft_ws_data(ws);
    if (binary || !m) {
        graft_ws_close(ws, 1003, "text only");
        return;
    }
    broadcast(state, m->room, data, len);
}

static void on_close(graft_ws *ws, int code, const char *reason, size_t len, void *state)
{
    (void)code;
    (void)reason;
    (void)len;
    chat *c = state;
    member *m = graft_ws_data(ws);
    if (!m)
        return;
    pthread_mutex_lock(&c->mu);
    for (member **p = &c->members; *p; p = &(*p)->next)
        if (*p == m) {
            *p = m->next;
            break;
        }
    pthread_mutex_unlock(&c->mu);
    char bye[128];
    int k = snprintf(bye, sizeof bye, "* someone left %s", m->room);
    broadcast(c, m->room, bye, (size_t)k);
    graft_ws_set_data(ws, NULL);
    graft_ws_release(ws);
    free(m);
}

static void destroy(void *state)
{
    chat *c = state;
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int graft_register(graft_router *router, const char *config)
{
    (void)config;
    chat *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    pthread_mutex_init(&c->mu, NULL);
    graft_router_set_state(router, c, destroy);
    static const graft_ws_handlers handlers = {on_open, on_message, on_close};
    return graft_ws_route(router, "/chat/{room}", &handlers);
}
