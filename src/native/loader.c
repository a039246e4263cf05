/* Loading handler libraries: dlopen, ABI check, registration, clear errors
 * naming the file and route; teardown in reverse. */
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "native_req.h"

GRAFT_API void graft_router_set_state(graft_router *r, void *state, void (*destroy)(void *))
{
    if (r && r->current) {
        r->current->state = state;
        r->current->destroy = destroy;
    }
}

GRAFT_API void graft_router_set_thread_state(graft_router *r, void *(*create)(void *),
                                             void (*destroy)(void *))
{
    if (!r || !r->current)
        return;
    graft__lib *lib = r->current;
    lib->tcreate = create;
    lib->tdestroy = destroy;
    if (!lib->has_key && pthread_key_create(&lib->key, destroy) == 0)
        lib->has_key = 1;
}

GRAFT_API void graft_router_set_body_limit(graft_router *r, size_t max_bytes)
{
    if (r && r->current)
        r->current->body_limit = max_bytes;
}

/* Handler libraries resolve graft_* against this process; an extension module is loaded
 * RTLD_LOCAL by Python, so re-open ourselves RTLD_GLOBAL first. */
static void export_self(void)
{
    Dl_info info;
    if (dladdr((void *)graft_route, &info) && info.dli_fname)
        dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
}

static int load_one(graft__native *n, const char *spec, char *err, size_t errlen)
{
    const char *q = strchr(spec, '?');
    char *path = q ? strndup(spec, (size_t)(q - spec)) : strdup(spec);
    const char *config = q ? q + 1 : NULL;
    graft__lib *lib = calloc(1, sizeof *lib);
    if (!path || !lib) {
        free(path);
        free(lib);
        snprintf(err, errlen, "out of memory loading %s", spec);
        return -ENOMEM;
    }
    lib->path = path;
    lib->body_limit = 1u << 20;
    n->libs[n->nlibs++] = lib;
    lib->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib->dl) {
        snprintf(err, errlen, "cannot load native library %s: %s", path, dlerror());
        return -ENOENT;
    }
    graft_abi_version_fn abi = (graft_abi_version_fn)(uintptr_t)dlsym(lib->dl, "graft_abi_version");
    if (!abi) {
        snprintf(err, errlen,
                 "%s: missing entry point graft_abi_version (add GRAFT_LIBRARY() to the library)",
                 path);
        return -EINVAL;
    }
    /* Every version up to ours loads: a version only ever adds to graft.h, so a library built
     * for an older one finds everything it was built against. A newer one may call what this
     * graft lacks. */
    int v = abi();
    if (v < 1 || v > GRAFT_ABI_VERSION) {
        snprintf(err, errlen, "%s: built for graft ABI version %d, this graft loads versions 1 to %d",
                 path, v, GRAFT_ABI_VERSION);
        return -EINVAL;
    }
    graft_register_fn reg = (graft_register_fn)(uintptr_t)dlsym(lib->dl, "graft_register");
    if (!reg) {
        snprintf(err, errlen, "%s: missing entry point graft_register", path);
        return -EINVAL;
    }
    n->router.current = lib;
    n->router.err[0] = '\0';
    size_t before = n->router.n;
    int rc = reg(&n->router, config);
    n->router.current = NULL;
    if (n->router.err[0]) {
        snprintf(err, errlen, "%s: %s", path, n->router.err);
        return -EINVAL;
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s: graft_register failed with %d", path, rc);
        return -EINVAL;
    }
    if (n->router.n == before) {
        snprintf(err, errlen, "%s: graft_register added no routes", path);
        return -EINVAL;
    }
    return 0;
}

int graft__native_new(graft__native **out, const char *const *specs, size_t count, int pool_threads,
                      char *err, size_t errlen)
{
    graft__native *n = calloc(1, sizeof *n);
    if (!n)
        return -ENOMEM;
    n->libs = calloc(count ? count : 1, sizeof *n->libs);
    pthread_mutex_init(&n->pmu, NULL);
    pthread_cond_init(&n->pcv, NULL);
    atomic_init(&n->refs, 1); /* the host's, dropped by graft__native_free */
    atomic_init(&n->stopped, 0);
    atomic_init(&n->active, 0);
    if (!n->libs) {
        graft__native_free(n);
        return -ENOMEM;
    }
    export_self();
    for (size_t i = 0; i < count; i++) {
        int rc = load_one(n, specs[i], err, errlen);
        if (rc) {
            graft__native_free(n);
            return rc;
        }
    }
    if (pool_threads > 0)
        graft__native_start_pool(n, pool_threads);
    graft__native_crash_install(); /* a crash then names its route (docs: Processes) */
    graft__native_crash_init(n);   /* without it handlers just run without an altstack */
    *out = n;
    return 0;
}

void graft__native_free(graft__native *n)
{
    if (!n)
        return;
    graft__native_stop_pool(n);
    graft__native_shadow_stop(n); /* a replay in progress ends first: at most the timeout */
    /* From here on answers fail with GRAFT_EGONE; wait out the ones already inside (a
     * writev and a log line each: short), so none reaches the embedder once we return. */
    atomic_store(&n->stopped, 1);
    while (atomic_load(&n->active) > 0)
        sched_yield();
    for (size_t i = n->nlibs; i-- > 0;) {
        graft__lib *lib = n->libs[i];
        /* This thread may have polled connections itself (the event loop's thread under
         * graft) and outlives the server: its thread state goes now, before the library's. */
        void *mine = lib->has_key ? pthread_getspecific(lib->key) : NULL;
        if (mine && lib->tdestroy) {
            pthread_setspecific(lib->key, NULL);
            lib->tdestroy(mine);
        }
        if (lib->destroy)
            lib->destroy(lib->state);
        if (lib->has_key)
            pthread_key_delete(lib->key);
        lib->has_key = 0;
    }
    graft__native_crash_fini(n);
    graft__native_unref(n);
}

void graft__native_unref(graft__native *n)
{
    if (atomic_fetch_sub(&n->refs, 1) != 1)
        return;
    /* No request is left: nothing can reach a route or a library record any more. */
    graft__native_shadow_free(n);
    graft__router_free(&n->router);
    graft__contracts_free(n->contracts);
    free(n->route_contract);
    for (size_t i = 0; i < n->nlibs; i++) {
        /* Unloading could pull code from under a late thread-state destructor or a
         * library's own thread; libraries stay mapped. */
        free(n->libs[i]->path);
        free(n->libs[i]);
    }
    free(n->libs);
    pthread_mutex_destroy(&n->pmu);
    pthread_cond_destroy(&n->pcv);
    free(n);
}
