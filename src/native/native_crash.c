/* The crash report: a fatal signal on a thread running a native handler or callback names
 * the route before the process ends, and such threads get an alternate signal stack so a
 * stack overflow is reported too. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "native_req.h"

/* The route whose handler or callback this thread is running, for the crash report. Static
 * TLS (initial-exec) even in graft's dlopen()ed extension: reading it from a signal handler is
 * then a plain load, which may not allocate as the first access to dynamic TLS can. */
static __thread const graft__route *volatile tl_route __attribute__((tls_model("initial-exec")));

static size_t append_str(char *buf, size_t at, size_t cap, const char *s)
{
    while (s && *s && at < cap)
        buf[at++] = *s++;
    return at;
}

static size_t append_num(char *buf, size_t at, size_t cap, long v)
{
    char tmp[24];
    size_t n = 0;
    unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0 && at < cap)
        buf[at++] = '-';
    while (n && at < cap)
        buf[at++] = tmp[--n];
    return at;
}

/* A fatal signal. Only async-signal-safe calls: getpid, write, raise (the disposition is
 * already back to SIG_DFL by SA_RESETHAND, so re-raising ends the process as it would have
 * ended without us, core dump included; the pending signal is delivered on return). */
static void crash_handler(int sig)
{
    int saved = errno;
    const graft__route *rt = tl_route;
    if (rt) {
        char line[1024];
        size_t cap = sizeof line - 1, n = 0;
        n = append_str(line, n, cap, "graft: worker ");
        n = append_num(line, n, cap, (long)getpid());
        n = append_str(line, n, cap, " crashed (signal ");
        n = append_num(line, n, cap, sig);
        n = append_str(line, n, cap, ") in native handler ");
        n = append_str(line, n, cap, rt->method);
        n = append_str(line, n, cap, " ");
        n = append_str(line, n, cap, rt->template);
        line[n++] = '\n';
        for (size_t off = 0; off < n;) {
            ssize_t w = write(STDERR_FILENO, line + off, n - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
    }
    errno = saved;
    raise(sig);
}

/* A handler that overflows its stack faults on the guard page, where the crash handler
 * could not run either: each thread that runs handlers gets an alternate signal stack (when
 * it has none and the handler is ours, so faulthandler's or a sanitizer's stay as they
 * are). The key's destructor disables and unmaps it when the thread exits; a thread that
 * outlives the native layer (the event loop's) keeps its stack for the next server. */
#define ALTSTACK_SIZE (64 * 1024)
static __thread int tl_altstack_checked;

static void altstack_free(void *p)
{
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == p && !(cur.ss_flags & SS_ONSTACK)) {
        stack_t off = {.ss_flags = SS_DISABLE};
        sigaltstack(&off, NULL);
    }
    munmap(p, ALTSTACK_SIZE);
}

static void setup_altstack(graft__native *n)
{
    tl_altstack_checked = 1;
    struct sigaction sa;
    stack_t cur;
    if (!n->has_altstack_key || sigaction(SIGSEGV, NULL, &sa) != 0 ||
        sa.sa_handler != crash_handler || sigaltstack(NULL, &cur) != 0 ||
        !(cur.ss_flags & SS_DISABLE))
        return;
    void *p = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED)
        return;
    stack_t ss = {.ss_sp = p, .ss_size = ALTSTACK_SIZE, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        munmap(p, ALTSTACK_SIZE);
        return;
    }
    pthread_setspecific(n->altstack_key, p);
}

const graft__route *graft__native_route_enter(graft__native *n, const graft__route *rt)
{
    if (!tl_altstack_checked)
        setup_altstack(n);
    const graft__route *prev = tl_route;
    tl_route = rt;
    return prev;
}

void graft__native_route_leave(const graft__route *prev) { tl_route = prev; }

int graft__native_crash_init(graft__native *n)
{
    if (pthread_key_create(&n->altstack_key, altstack_free) != 0)
        return -1;
    n->has_altstack_key = 1;
    return 0;
}

void graft__native_crash_fini(graft__native *n)
{
    /* Threads that already exited freed theirs; the caller's stays (see above). */
    if (n->has_altstack_key)
        pthread_key_delete(n->altstack_key);
    n->has_altstack_key = 0;
}

void graft__native_crash_install(void)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = crash_handler;
    /* SA_RESETHAND: one shot, a fault inside the handler just ends the process. SA_ONSTACK:
     * on the thread's alternate stack when it has one (a stack overflow). */
    sa.sa_flags = SA_RESETHAND | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        /* Only over the default action: an existing handler (Python's faulthandler, a
         * sanitizer, the embedder's own) keeps the signal, and ours stays installed once. */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
            !(old.sa_flags & SA_SIGINFO))
            sigaction(sigs[i], &sa, NULL);
    }
}
