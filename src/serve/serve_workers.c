/* graft-serve's supervisor (serve_workers.h): forking, signals, reaping and respawning, the
 * main loop. The reload and the RSS replacements are in serve_reload.c. As graft's
 * (graft/supervisor.py): signals only write their number into a pipe the loop polls, each
 * worker has a readiness pipe of its own, and children get PR_SET_PDEATHSIG. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "serve_sup.h"

const int graft__sup_handled[GRAFT__SUP_NHANDLED] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP,
                                                     SIGTTIN, SIGTTOU, SIGCHLD};
#define handled graft__sup_handled
#define NHANDLED GRAFT__SUP_NHANDLED

/* A signal handler has no argument to carry a context: the pipe's write end is the one
 * thing it needs, set once before the handlers are installed. */
static int wake_fd = -1;

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(wake_fd, &b, 1) < 0) {
        /* the pipe is full: signals already wait there, and the loop wakes anyway */
    }
    errno = saved;
}

double graft__sup_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

const char *graft__sup_signame(int sig)
{
    switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    case SIGTTIN: return "SIGTTIN";
    case SIGTTOU: return "SIGTTOU";
    default: return "a signal";
    }
}

void graft__sup_describe(int status, char *out, size_t n)
{
    if (WIFSIGNALED(status)) {
        const char *name = sigabbrev_np(WTERMSIG(status));
        if (name)
            snprintf(out, n, "killed by signal SIG%s", name);
        else
            snprintf(out, n, "killed by signal %d", WTERMSIG(status));
    } else if (WIFEXITED(status))
        snprintf(out, n, "exit code %d", WEXITSTATUS(status));
    else
        snprintf(out, n, "status %d", status);
}

double graft__sup_stop_timeout(const sup *s) { return s->cfg.graceful + 5.0; }

sup_worker *graft__sup_find(sup *s, pid_t pid)
{
    for (int i = 0; i < s->nw; i++)
        if (s->w[i].pid == pid)
            return &s->w[i];
    return NULL;
}

int graft__sup_free_slots(const sup *s)
{
    return s->cfg.shared ? GRAFT__SHM_SLOTS - s->nw : s->num_workers;
}

static int free_slot(const sup *s)
{
    if (!s->cfg.shared)
        return 0;
    for (int slot = 0; slot < GRAFT__SHM_SLOTS; slot++) {
        int used = 0;
        for (int i = 0; i < s->nw && !used; i++)
            used = s->w[i].slot == slot;
        if (!used)
            return slot;
    }
    return -1;
}

void graft__sup_update_shared(sup *s)
{
    if (s->cfg.shared)
        graft__shared_set_workers(s->cfg.shared, s->nw);
}

void graft__sup_close_ready(sup_worker *w)
{
    if (w->ready_fd >= 0) {
        close(w->ready_fd);
        w->ready_fd = -1;
    }
}

/* Runs in the forked child; never returns. */
static void child_main(sup *s, int slot, int ready_w, int generation, pid_t parent, const sigset_t *mask)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(1); /* the parent died before prctl took effect */
    for (int i = 0; i < s->nw; i++) /* the siblings' readiness pipes are not ours */
        graft__sup_close_ready(&s->w[i]);
    close(s->sig_r);
    close(s->sig_w);
    for (int i = 0; i < NHANDLED; i++)
        signal(handled[i], SIG_DFL);
    sigprocmask(SIG_SETMASK, mask, NULL);
    fflush(stdout);
    _exit(s->cfg.run(s->cfg.ud, slot, ready_w, generation));
}

int graft__sup_spawn(sup *s, int generation, sup_worker **out)
{
    int slot = free_slot(s);
    if (slot < 0)
        return -EAGAIN;
    if (s->nw == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        sup_worker *w = realloc(s->w, (size_t)cap * sizeof *w);
        if (!w)
            return -ENOMEM;
        s->w = w;
        s->cap = cap;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    /* Blocked across fork: until the child has undone our handlers, a signal meant for it
     * would write into the parent's pipe. Flushed: buffered output is not written twice. */
    sigset_t all, old;
    sigemptyset(&all);
    for (int i = 0; i < NHANDLED; i++)
        sigaddset(&all, handled[i]);
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    sigprocmask(SIG_BLOCK, &all, &old);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        child_main(s, slot, p[1], generation, parent, &old);
    }
    int err = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(p[1]); /* the child holds the only write end: EOF tells us it is gone */
    if (pid < 0) {
        close(p[0]);
        return -err;
    }
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    sup_worker *w = &s->w[s->nw++];
    *w = (sup_worker){.pid = pid, .slot = slot, .generation = generation, .ready_fd = p[0],
                      .started = graft__sup_now()};
    graft__sup_update_shared(s);
    if (out)
        *out = w;
    return 0;
}

void graft__sup_add_respawn(sup *s, double at)
{
    if (s->nrespawn == s->respawn_cap) {
        int cap = s->respawn_cap ? 2 * s->respawn_cap : 8;
        double *r = realloc(s->respawn, (size_t)cap * sizeof *r);
        if (!r)
            return; /* a missing respawn: the next worker exit retries */
        s->respawn = r;
        s->respawn_cap = cap;
    }
    s->respawn[s->nrespawn++] = at;
}

void graft__sup_try_spawn(sup *s)
{
    int rc = graft__sup_spawn(s, s->generation, NULL);
    if (rc < 0) {
        fprintf(stderr, "ERROR:    Cannot start a worker process: %s; retrying in %.0f s.\n",
                strerror(-rc), SUP_RESPAWN_BACKOFF);
        graft__sup_add_respawn(s, graft__sup_now() + SUP_RESPAWN_BACKOFF);
    }
}

void graft__sup_terminate(sup *s, sup_worker *w)
{
    (void)s;
    w->terminating = 1;
    if (kill(w->pid, SIGTERM) == 0)
        fprintf(stderr, "INFO:     Terminated child process [%d]\n", (int)w->pid);
}

void graft__sup_kill_all(sup *s, int sig)
{
    for (int i = 0; i < s->nw; i++) {
        s->w[i].terminating = 1;
        kill(s->w[i].pid, sig);
    }
}

void graft__sup_begin_stop(sup *s)
{
    s->stopping = 1;
    s->reloading = 0;
    s->nrespawn = 0;
    s->stop_deadline = graft__sup_now() + graft__sup_stop_timeout(s);
    for (int i = 0; i < s->nw; i++)
        graft__sup_terminate(s, &s->w[i]);
}

void graft__sup_force_stop(sup *s)
{
    s->force = 1;
    graft__sup_kill_all(s, SIGKILL);
    s->stop_deadline = graft__sup_now() + SUP_KILL_GRACE;
}

int graft__sup_serving_count(const sup *s)
{
    int n = 0;
    for (int i = 0; i < s->nw; i++)
        n += s->w[i].generation == s->generation && !s->w[i].terminating;
    return n;
}

int graft__sup_install_signals(sup *s, struct sigaction *old)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
        return -errno;
    s->sig_r = p[0];
    s->sig_w = wake_fd = p[1];
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < NHANDLED; i++)
        sigaction(handled[i], &sa, &old[i]);
    return 0;
}

void graft__sup_restore_signals(sup *s, const struct sigaction *old)
{
    for (int i = 0; i < NHANDLED; i++)
        sigaction(handled[i], &old[i], NULL);
    close(s->sig_r);
    close(s->sig_w);
    s->sig_r = s->sig_w = wake_fd = -1;
}
