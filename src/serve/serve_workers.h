/* graft-serve's supervisor for --workers N: N processes sharing the listening socket, a
 * rolling reload on SIGHUP, and the --limit-worker-rss ceiling. Its semantics and log lines
 * are graft's (graft/supervisor.py); docs/ARCHITECTURE.md "Processes" describes both. */
#ifndef GRAFT__SERVE_WORKERS_H
#define GRAFT__SERVE_WORKERS_H

#include <sys/types.h>

#include "shared.h"

/* A worker that exits with this never got to serve (its libraries failed to load): at first
 * start the supervisor stops instead of respawning it forever. */
#define GRAFT__SERVE_STARTUP_FAILURE 3

/* Runs one worker in the forked child and returns its exit status. `slot` is its metrics
 * slot in the shared region; `ready_fd` is the write end of its readiness pipe: the worker
 * writes one byte to it (graft__serve_notify_ready) once it accepts. `generation` is 0 for
 * the first start and its respawns, and counts the SIGHUP reloads after that. */
typedef int (*graft__serve_worker_fn)(void *ud, int slot, int ready_fd, int generation);

typedef struct graft__serve_sup_config {
    int workers;             /* N, at least 1 */
    double graceful;         /* --timeout-graceful-shutdown: a stopped worker gets this + 5 s */
    long limit_rss_kib;      /* --limit-worker-rss in KiB; 0: no ceiling */
    graft__shared *shared;   /* NULL without --metrics/--control: no slots to hand out */
    graft__serve_worker_fn run;
    void *ud;
} graft__serve_sup_config;

/* Supervises cfg->workers workers until SIGTERM/SIGINT (graceful) or SIGQUIT (SIGKILL);
 * SIGHUP starts a rolling reload, SIGTTIN/SIGTTOU add or remove a worker. Returns the exit
 * status for main: 0, 1 on a system error, or 3 if a worker failed to start at first start. */
int graft__serve_supervise(const graft__serve_sup_config *cfg);

/* Tells the supervisor (if any: fd >= 0) that this worker serves; closes fd. */
void graft__serve_notify_ready(int fd);

/* The resident set size of process pid in KiB (/proc/PID/statm), or a negative errno. */
long graft__serve_rss_kib(pid_t pid);

#endif
