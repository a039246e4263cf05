/* The shared region: creation before fork, the supervisor's writes, and the live route-mode
 * table (shared.h). The table is append-only: entries are found by (method, template) and
 * created under a process-shared robust mutex, published by incrementing the count. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "shared_layout.h"

size_t graft__shared_size(void) { return sizeof(struct graft__shared); }

int graft__shared_new(graft__shared **out)
{
    void *p = mmap(NULL, sizeof(struct graft__shared), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    graft__shared *s = p; /* fresh anonymous pages are zero: every count starts at 0 */
    s->magic = GRAFT__SHM_MAGIC;
    s->size = sizeof *s;
    pthread_mutexattr_t a;
    int rc = pthread_mutexattr_init(&a);
    if (rc == 0) {
        pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
        rc = pthread_mutex_init(&s->route_mu, &a);
        pthread_mutexattr_destroy(&a);
    }
    if (rc != 0) {
        munmap(p, sizeof *s);
        return -rc;
    }
    *out = s;
    return 0;
}

void graft__shared_free(graft__shared *s)
{
    if (s)
        munmap(s, sizeof *s);
}

void graft__shared_set_workers(graft__shared *s, int n)
{
    atomic_store_explicit(&s->workers, n, memory_order_relaxed);
}

void graft__shared_slot_reset(graft__shared *s, int i)
{
    if (i < 0 || i >= GRAFT__SHM_SLOTS)
        return;
    atomic_store(&s->slots[i].connections, 0);
    atomic_store(&s->slots[i].pid, 0);
}

size_t graft__shared_route_count(const graft__shared *s)
{
    return atomic_load_explicit(&((graft__shared *)s)->nroutes, memory_order_acquire);
}

graft__shared_route *graft__shared_route_at(graft__shared *s, size_t i)
{
    return i < graft__shared_route_count(s) ? &s->routes[i] : NULL;
}

graft__shared_route *graft__shared_route_find(graft__shared *s, const char *m, size_t ml,
                                              const char *t, size_t tl)
{
    size_t n = graft__shared_route_count(s);
    for (size_t i = 0; i < n; i++) {
        graft__shared_route *e = &s->routes[i];
        if (strlen(e->method) == ml && memcmp(e->method, m, ml) == 0 &&
            strlen(e->template) == tl && memcmp(e->template, t, tl) == 0)
            return e;
    }
    return NULL;
}

/* Locks the table; a holder that died leaves the mutex inconsistent, but every write under
 * it ends with the count's increment, so the table itself is whole: mark it consistent. */
static int route_lock(graft__shared *s)
{
    int rc = pthread_mutex_lock(&s->route_mu);
    if (rc == EOWNERDEAD)
        rc = pthread_mutex_consistent(&s->route_mu);
    return -rc;
}

int graft__shared_route_attach(graft__shared *s, const char *method, const char *template,
                               unsigned flags, int is_ws, const char *lib, int mode,
                               graft__shared_route **out)
{
    size_t ml = strlen(method), tl = strlen(template);
    if (ml >= GRAFT__SHM_METHOD || tl >= GRAFT__SHM_TEMPLATE)
        return -ENAMETOOLONG;
    int rc = route_lock(s);
    if (rc < 0)
        return rc;
    graft__shared_route *e = graft__shared_route_find(s, method, ml, template, tl);
    if (!e) {
        unsigned n = atomic_load_explicit(&s->nroutes, memory_order_relaxed);
        if (n >= GRAFT__SHM_ROUTES) {
            pthread_mutex_unlock(&s->route_mu);
            return -ENOSPC;
        }
        e = &s->routes[n];
        memset(e, 0, sizeof *e); /* a holder that died mid-write may have left bytes */
        memcpy(e->method, method, ml);
        memcpy(e->template, template, tl);
        if (lib) {
            size_t ll = strlen(lib);
            memcpy(e->lib, lib, ll < GRAFT__SHM_LIB ? ll : GRAFT__SHM_LIB - 1);
        }
        e->flags = flags;
        e->is_ws = is_ws;
        atomic_store_explicit(&e->mode, mode, memory_order_relaxed);
        atomic_store_explicit(&s->nroutes, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&s->route_mu);
    *out = e;
    return 0;
}
