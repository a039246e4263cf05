/* graft-serve's supervisor loop (serve_workers.h): signals, readiness, reaping, respawns.
 * The reasons behind each rule are graft's (graft/supervisor.py, and docs/ARCHITECTURE.md
 * "Processes"); the log lines are graft's too, so one runbook reads both. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "serve_sup.h"

void graft__serve_notify_ready(int fd)
{
    if (fd < 0)
        return;
    if (write(fd, "1", 1) < 0) {
        /* the supervisor is gone; PR_SET_PDEATHSIG ends us soon */
    }
    close(fd);
}

long graft__serve_rss_kib(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    long size = 0, resident = 0;
    int n = fscanf(f, "%ld %ld", &size, &resident);
    fclose(f);
    if (n != 2)
        return -EIO;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void handle_signal(sup *s, int sig)
{
    if (sig == SIGCHLD)
        return; /* reaping happens after every wake-up anyway */
    if (sig == SIGINT || sig == SIGTERM) {
        if (s->stopping) {
            if (sig == SIGINT) {
                fprintf(stderr, "INFO:     Received second SIGINT, killing workers.\n");
                graft__sup_force_stop(s);
            }
            return;
        }
        fprintf(stderr, "INFO:     Received %s, exiting.\n", graft__sup_signame(sig));
        graft__sup_begin_stop(s);
    } else if (sig == SIGQUIT) {
        fprintf(stderr, "INFO:     Received SIGQUIT, killing workers.\n");
        graft__sup_begin_stop(s);
        graft__sup_force_stop(s);
    } else if (s->stopping) {
        return;
    } else if (sig == SIGHUP) {
        graft__sup_begin_reload(s);
    } else if (s->reloading) {
        fprintf(stderr, "INFO:     Received %s during a reload; ignored.\n", graft__sup_signame(sig));
    } else if (sig == SIGTTIN) {
        s->num_workers++;
        fprintf(stderr, "INFO:     Received SIGTTIN, increasing the number of workers to %d.\n", s->num_workers);
        graft__sup_try_spawn(s);
    } else if (sig == SIGTTOU) {
        if (s->num_workers <= 1) {
            fprintf(stderr, "INFO:     Received SIGTTOU, but already at one worker.\n");
            return;
        }
        s->num_workers--;
        fprintf(stderr, "INFO:     Received SIGTTOU, decreasing the number of workers to %d.\n", s->num_workers);
        if (s->nrespawn) {
            s->nrespawn--;
            return;
        }
        sup_worker *youngest = NULL;
        for (int i = 0; i < s->nw; i++)
            if (!s->w[i].terminating && (!youngest || s->w[i].started > youngest->started))
                youngest = &s->w[i];
        if (youngest)
            graft__sup_terminate(s, youngest);
    }
}

/* Blocks until a signal, a readiness byte or the next timer; handles the signals. */
static void wait_for_events(sup *s)
{
    double now = graft__sup_now(), timeout = 1.0;
#define SOONER(t) do { if ((t) > 0 && (t) - now < timeout) timeout = (t) - now; } while (0)
    if (!s->stopping)
        for (int i = 0; i < s->nrespawn; i++)
            SOONER(s->respawn[i]);
    SOONER(s->stop_deadline);
    if (s->reloading)
        SOONER(s->reload_deadline);
    for (int i = 0; i < s->nw; i++)
        SOONER(s->w[i].kill_at);
#undef SOONER
    if (timeout < 0)
        timeout = 0;
    struct pollfd one, *fds = malloc((size_t)(s->nw + 1) * sizeof *fds);
    int n = 0;
    if (!fds) { /* out of memory: watch the signals only, and look again soon */
        fds = &one;
        if (timeout > 0.05)
            timeout = 0.05;
    }
    fds[n++] = (struct pollfd){.fd = s->sig_r, .events = POLLIN};
    for (int i = 0; i < s->nw && fds != &one; i++)
        if (s->w[i].ready_fd >= 0)
            fds[n++] = (struct pollfd){.fd = s->w[i].ready_fd, .events = POLLIN};
    poll(fds, (nfds_t)n, (int)(timeout * 1000) + 1);
    if (fds != &one)
        free(fds);
    unsigned char buf[64];
    ssize_t got;
    while ((got = read(s->sig_r, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < got; i++)
            handle_signal(s, buf[i]);
}

/* Notes workers that reported ready (one byte) or closed their pipe (EOF: exited). */
static void read_readiness(sup *s)
{
    for (int i = 0; i < s->nw; i++) {
        sup_worker *w = &s->w[i];
        if (w->ready_fd < 0)
            continue;
        char b[16];
        ssize_t n = read(w->ready_fd, b, sizeof b);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        graft__sup_close_ready(w); /* one byte or EOF: either way nothing more will come */
        if (n > 0) {
            w->ready = 1;
            graft__sup_on_ready(s, w);
        }
    }
    /* The first start is over once N workers were ready at once: until then any of them
     * failing to start stops the server. */
    int ready = 0;
    for (int i = 0; i < s->nw; i++)
        ready += s->w[i].ready;
    if (!s->served && ready >= s->num_workers)
        s->served = 1;
}

static void on_exit_status(sup *s, pid_t pid, int status)
{
    sup_worker *found = graft__sup_find(s, pid);
    if (!found)
        return; /* not ours */
    sup_worker w = *found;
    graft__sup_close_ready(found);
    *found = s->w[--s->nw];
    if (s->cfg.shared) {
        graft__shared_slot_reset(s->cfg.shared, w.slot);
        graft__sup_update_shared(s);
    }
    char desc[64];
    graft__sup_describe(status, desc, sizeof desc);
    if (s->stopping || s->force) {
        fprintf(stderr, "INFO:     Child process [%d] exited (%s).\n", (int)pid, desc);
        return;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (s->reloading && w.generation == s->reload_gen) {
        /* A new worker gone before the commit (a bad library, a crash): the reload fails as
         * a whole rather than commit a generation short of one. */
        char why[160];
        snprintf(why, sizeof why, "worker %d exited with %s %s", (int)pid, desc,
                 w.ready ? "after it was ready" : "before it was ready");
        graft__sup_fail_reload(s, why);
        return;
    }
    if (w.generation != s->generation) {
        fprintf(stderr, "INFO:     Child process [%d] exited (%s).\n", (int)pid, desc);
        return; /* a stopped new worker of a failed reload, or a drained old one */
    }
    if (w.replacing && !w.ready) {
        sup_worker *old = graft__sup_find(s, w.replacing);
        if (old)
            old->replaced = 0; /* it keeps serving; what is on disk may be broken: wait */
        s->next_rss_check = graft__sup_now() + SUP_STARTUP_RETRY;
        fprintf(stderr, "ERROR:    Replacing worker [%d] failed: worker %d exited with %s before it was "
                "ready; the worker keeps serving.\n", (int)w.replacing, (int)pid, desc);
        return;
    }
    int failed_start = code == GRAFT__SERVE_STARTUP_FAILURE && !w.terminating && !w.ready;
    if (failed_start && !s->served) {
        fprintf(stderr, "ERROR:    Child process [%d] failed to start (%s); stopping all workers.\n",
                (int)pid, desc);
        s->exit_code = GRAFT__SERVE_STARTUP_FAILURE;
        graft__sup_begin_stop(s);
        return;
    }
    if (failed_start)
        fprintf(stderr, "ERROR:    Child process [%d] failed to start (%s); the other workers keep "
                "serving; retrying in %.0f s.\n", (int)pid, desc, SUP_STARTUP_RETRY);
    else if (w.terminating)
        fprintf(stderr, "INFO:     Child process [%d] exited (%s).\n", (int)pid, desc);
    else if (code == 0)
        fprintf(stderr, "INFO:     Child process [%d] exited (%s); starting a new one.\n", (int)pid, desc);
    else
        fprintf(stderr, "WARNING:  Child process [%d] died (%s); starting a new one.\n", (int)pid, desc);
    if (graft__sup_serving_count(s) + s->nrespawn >= s->num_workers)
        return; /* scaled down with SIGTTOU, or replaced already */
    double now = graft__sup_now(), delay = 0;
    if (now - w.started < SUP_RESPAWN_BACKOFF && !w.terminating)
        delay = SUP_RESPAWN_BACKOFF;
    if (failed_start)
        delay = SUP_STARTUP_RETRY;
    graft__sup_add_respawn(s, now + delay);
}

static void reap(sup *s)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        on_exit_status(s, pid, status);
}

static void respawn_due(sup *s)
{
    double now = graft__sup_now();
    int due = 0, keep = 0;
    for (int i = 0; i < s->nrespawn; i++) {
        if (s->respawn[i] <= now)
            due++;
        else
            s->respawn[keep++] = s->respawn[i];
    }
    s->nrespawn = keep;
    while (due--)
        graft__sup_try_spawn(s);
}

static void enforce_stop_deadline(sup *s)
{
    if (s->stop_deadline <= 0 || graft__sup_now() < s->stop_deadline)
        return;
    if (!s->force) {
        fprintf(stderr, "WARNING:  Workers did not stop in time, killing them:");
        for (int i = 0; i < s->nw; i++)
            fprintf(stderr, "%s %d", i ? "," : "", (int)s->w[i].pid);
        fprintf(stderr, "\n");
        graft__sup_force_stop(s);
    } else {
        /* SIGKILLed and still not reaped (stuck in uninterruptible sleep): give up. */
        fprintf(stderr, "ERROR:    Workers still present after SIGKILL.\n");
        s->nw = 0;
    }
}

int graft__serve_supervise(const graft__serve_sup_config *cfg)
{
    sup s = {.cfg = *cfg, .num_workers = cfg->workers, .sig_r = -1, .sig_w = -1};
    struct sigaction old[GRAFT__SUP_NHANDLED];
    fprintf(stderr, "INFO:     Started parent process [%d]\n", (int)getpid());
    if (graft__sup_install_signals(&s, old) < 0) {
        perror("graft-serve: signals");
        return 1;
    }
    for (int i = 0; i < s.num_workers; i++)
        graft__sup_try_spawn(&s);
    s.next_rss_check = graft__sup_now() + SUP_RSS_INTERVAL;
    for (;;) {
        wait_for_events(&s);
        read_readiness(&s);
        reap(&s);
        graft__sup_check_reload(&s);
        if (s.stopping) {
            if (s.nw == 0)
                break;
            enforce_stop_deadline(&s);
        } else {
            respawn_due(&s);
            graft__sup_kill_overdue(&s);
            graft__sup_check_rss(&s);
        }
    }
    graft__sup_restore_signals(&s, old);
    free(s.w);
    free(s.respawn);
    fprintf(stderr, "INFO:     Stopping parent process [%d]\n", (int)getpid());
    return s.exit_code;
}
