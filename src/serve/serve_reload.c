/* graft-serve's rolling reload (SIGHUP) and --limit-worker-rss replacements: in both, the new
 * worker starts first and the old one drains only once the new one reported ready, so the
 * capacity never drops. Same rules and log lines as graft/supervisor.py. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "serve_sup.h"

void graft__sup_begin_reload(sup *s)
{
    if (s->reloading) {
        fprintf(stderr, "INFO:     Received SIGHUP during a reload; ignored (the reload under way "
                "continues).\n");
        return;
    }
    int free = graft__sup_free_slots(s);
    if (free < s->num_workers) {
        fprintf(stderr, "ERROR:    Received SIGHUP, but a reload needs %d free metrics slots and %d are "
                "free (a reload with --metrics/--control allows at most %d workers); the workers "
                "keep serving.\n", s->num_workers, free, GRAFT__SHM_SLOTS / 2);
        return;
    }
    s->reloading = 1;
    s->reload_gen++; /* past every number handed out: commits set generation to it */
    s->reload_deadline = graft__sup_now() + SUP_READY_TIMEOUT;
    fprintf(stderr, "INFO:     Received SIGHUP, reloading: starting %d new workers.\n", s->num_workers);
    for (int i = 0; i < s->num_workers; i++) {
        int rc = graft__sup_spawn(s, s->reload_gen, NULL);
        if (rc < 0) {
            char why[128];
            snprintf(why, sizeof why, "cannot start a worker process: %s", strerror(-rc));
            graft__sup_fail_reload(s, why);
            return;
        }
    }
}

static void commit_reload(sup *s)
{
    int gen = s->reload_gen;
    s->generation = gen;
    s->reloading = 0;
    s->nrespawn = 0; /* respawns of the old generation are not needed now */
    fprintf(stderr, "INFO:     Reload complete: %d new workers ready; the old ones drain.\n", s->num_workers);
    /* Draining is bounded as a stop is: an old worker must not hold its slot forever. */
    double kill_at = graft__sup_now() + graft__sup_stop_timeout(s);
    for (int i = 0; i < s->nw; i++) {
        sup_worker *w = &s->w[i];
        if (w->generation == gen)
            continue;
        if (!w->terminating)
            graft__sup_terminate(s, w);
        w->kill_at = kill_at;
    }
}

void graft__sup_check_reload(sup *s)
{
    if (!s->reloading || s->stopping)
        return;
    int n = 0, ready = 0;
    for (int i = 0; i < s->nw; i++)
        if (s->w[i].generation == s->reload_gen) {
            n++;
            ready += s->w[i].ready;
        }
    if (n >= s->num_workers && ready == n) {
        commit_reload(s);
    } else if (graft__sup_now() >= s->reload_deadline) {
        char why[256] = "workers";
        size_t len = strlen(why);
        const char *sep = " ";
        for (int i = 0; i < s->nw && len < sizeof why - 16; i++)
            if (s->w[i].generation == s->reload_gen && !s->w[i].ready) {
                len += (size_t)snprintf(why + len, sizeof why - len, "%s%d", sep, (int)s->w[i].pid);
                sep = ", ";
            }
        snprintf(why + len, sizeof why - len, " not ready after %.0f s", SUP_READY_TIMEOUT);
        graft__sup_fail_reload(s, why);
    }
}

void graft__sup_fail_reload(sup *s, const char *why)
{
    fprintf(stderr, "ERROR:    Reload failed: %s; the old workers keep serving.\n", why);
    int gen = s->reload_gen;
    s->reloading = 0;
    for (int i = 0; i < s->nw; i++)
        if (s->w[i].generation == gen && !s->w[i].terminating)
            graft__sup_terminate(s, &s->w[i]);
}

void graft__sup_kill_overdue(sup *s)
{
    double now = graft__sup_now();
    for (int i = 0; i < s->nw; i++) {
        sup_worker *w = &s->w[i];
        if (w->kill_at > 0 && now >= w->kill_at) {
            fprintf(stderr, "WARNING:  Old worker [%d] did not finish draining in time; killing it.\n",
                    (int)w->pid);
            w->kill_at = 0;
            kill(w->pid, SIGKILL);
        }
    }
}

void graft__sup_on_ready(sup *s, sup_worker *w)
{
    if (!w->replacing || w->terminating)
        return;
    pid_t old_pid = w->replacing;
    w->replacing = 0;
    w->ready_by = 0;
    sup_worker *old = graft__sup_find(s, old_pid);
    if (!old || old->terminating)
        return;
    fprintf(stderr, "INFO:     Worker [%d] is ready to replace worker [%d]; that one drains.\n",
            (int)w->pid, (int)old_pid);
    graft__sup_terminate(s, old);
    old->kill_at = graft__sup_now() + graft__sup_stop_timeout(s);
}

static void replace(sup *s, sup_worker *w, long rss_kib)
{
    pid_t pid = w->pid;
    fprintf(stderr, "WARNING:  Worker [%d] uses %ld MiB of memory (RSS), above --limit-worker-rss "
            "%ld MiB; replacing it after a graceful drain.\n", (int)pid, rss_kib / 1024,
            s->cfg.limit_rss_kib / 1024);
    sup_worker *fresh;
    int rc = graft__sup_spawn(s, s->generation, &fresh); /* may move the array: w is stale now */
    if (rc < 0) {
        fprintf(stderr, "ERROR:    Cannot start a worker process to replace worker [%d]: %s; it keeps "
                "serving.\n", (int)pid, strerror(-rc));
        return;
    }
    fresh->replacing = pid;
    fresh->ready_by = graft__sup_now() + SUP_READY_TIMEOUT;
    graft__sup_find(s, pid)->replaced = 1;
}

void graft__sup_check_rss(sup *s)
{
    double now = graft__sup_now();
    for (int i = 0; i < s->nw; i++) {
        sup_worker *w = &s->w[i];
        if (w->ready_by > 0 && now >= w->ready_by && !w->ready && !w->terminating) {
            fprintf(stderr, "ERROR:    Replacing worker [%d] failed: worker %d not ready after %.0f s; "
                    "the worker keeps serving.\n", (int)w->replacing, (int)w->pid, SUP_READY_TIMEOUT);
            sup_worker *old = graft__sup_find(s, w->replacing);
            if (old)
                old->replaced = 0;
            w->replacing = 0;
            w->ready_by = 0;
            graft__sup_terminate(s, w);
            s->next_rss_check = now + SUP_STARTUP_RETRY;
        }
    }
    if (s->cfg.limit_rss_kib <= 0 || s->reloading || now < s->next_rss_check)
        return;
    s->next_rss_check = now + SUP_RSS_INTERVAL;
    /* Workers in the array before any replacement started this round: a spawn appends. */
    int n = s->nw;
    for (int i = 0; i < n; i++) {
        sup_worker *w = &s->w[i];
        if (!w->ready || w->terminating || w->replaced || w->replacing || w->generation != s->generation)
            continue;
        long rss = graft__serve_rss_kib(w->pid);
        if (rss > s->cfg.limit_rss_kib)
            replace(s, w, rss);
    }
}
