/* The supervisor's state, shared by serve_workers.c (processes, signals, reaping) and
 * serve_reload.c (SIGHUP's rolling reload and --limit-worker-rss replacements). Internal to
 * graft-serve's supervisor; serve_workers.h is its interface. */
#ifndef GRAFT__SERVE_SUP_H
#define GRAFT__SERVE_SUP_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "serve_workers.h"

#define SUP_RESPAWN_BACKOFF 1.0  /* a worker dying sooner than this after start is respawned this late */
#define SUP_KILL_GRACE 5.0       /* after SIGKILL, how long to wait for the kernel to reap */
#define SUP_STARTUP_RETRY 5.0    /* a respawn that failed to start (after the first start) retries */
#define SUP_READY_TIMEOUT 60.0   /* a reload's (or a replacement's) workers must be ready by then */
#define SUP_RSS_INTERVAL 1.0     /* how often the workers' RSS is read */

/* One worker process. */
typedef struct sup_worker {
    pid_t pid;
    int slot;        /* its metrics slot in the shared region */
    int generation;  /* bumped by each SIGHUP reload */
    int ready_fd;    /* read end of its readiness pipe; -1 once closed */
    int ready, terminating;
    double started;  /* monotonic seconds */
    double kill_at;  /* > 0: a draining worker still here then gets SIGKILL */
    double ready_by; /* > 0: a replacement not ready by then is stopped */
    pid_t replacing; /* this worker replaces that one (over --limit-worker-rss); 0: none */
    int replaced;    /* a replacement for this one is starting */
} sup_worker;

typedef struct sup {
    graft__serve_sup_config cfg;
    int num_workers;
    sup_worker *w;
    int nw, cap;
    int generation;        /* the serving generation; respawns join it */
    int reloading;         /* a reload to reload_gen is under way */
    int reload_gen;        /* the generation being started: never a number used before, so
                            * workers of a failed reload still draining are never taken for
                            * those of the next one */
    double reload_deadline;
    int served;            /* the first start completed: start failures no longer stop us */
    int stopping, force, exit_code;
    double stop_deadline;  /* > 0 while stopping */
    double *respawn;       /* monotonic times at which to start a worker */
    int nrespawn, respawn_cap;
    double next_rss_check;
    int sig_r, sig_w;      /* the self-pipe the signal handler writes signal numbers to */
} sup;

#define GRAFT__SUP_NHANDLED 7
/* The signals the supervisor handles (their handlers only write to the self-pipe). */
extern const int graft__sup_handled[GRAFT__SUP_NHANDLED];

/* Monotonic seconds. */
double graft__sup_now(void);
/* Forks a worker of `generation`; *out (if not NULL) points at its entry, valid until the
 * next spawn or reap. Returns 0 or a negative errno (no process, no free slot). */
int graft__sup_spawn(sup *s, int generation, sup_worker **out);
/* Asks a worker to drain and exit (SIGTERM), and says so in the log. */
void graft__sup_terminate(sup *s, sup_worker *w);
/* The entry of pid, or NULL. */
sup_worker *graft__sup_find(sup *s, pid_t pid);
/* How many metrics slots are free (num_workers when there is no shared region). */
int graft__sup_free_slots(const sup *s);
/* How long a worker told to stop may take before SIGKILL. */
double graft__sup_stop_timeout(const sup *s);

/* Forks a worker of the serving generation; if the system refuses, retries a bit later. */
void graft__sup_try_spawn(sup *s);
/* Schedules a worker start at monotonic time `at`. */
void graft__sup_add_respawn(sup *s, double at);
/* Sends sig to every worker and marks them terminating. */
void graft__sup_kill_all(sup *s, int sig);
/* SIGINT/SIGTERM: every worker drains; the loop ends once all are reaped. */
void graft__sup_begin_stop(sup *s);
/* SIGQUIT or a second SIGINT: SIGKILL for all. */
void graft__sup_force_stop(sup *s);
/* Workers of the serving generation not told to stop. */
int graft__sup_serving_count(const sup *s);
/* Sets the graft_workers gauge (no-op without a shared region). */
void graft__sup_update_shared(sup *s);
/* Closes a worker's readiness pipe (idempotent). */
void graft__sup_close_ready(sup_worker *w);
/* "SIGTERM" and so on, for the log lines. */
const char *graft__sup_signame(int sig);
/* A wait status in graft's words: "exit code 3", "killed by signal SIGKILL". */
void graft__sup_describe(int status, char *out, size_t n);
/* Creates the self-pipe and installs the handlers, saving the old ones in old[]. Returns
 * 0 or a negative errno. */
int graft__sup_install_signals(sup *s, struct sigaction *old);
/* Puts back the old handlers and closes the self-pipe. */
void graft__sup_restore_signals(sup *s, const struct sigaction *old);

/* SIGHUP: starts the next generation, unless a reload is under way or slots are short. */
void graft__sup_begin_reload(sup *s);
/* Commits the reload once all of the new generation is ready; fails it on its deadline. */
void graft__sup_check_reload(sup *s);
/* Stops what was started of the new generation; the old workers keep serving. */
void graft__sup_fail_reload(sup *s, const char *why);
/* SIGKILLs draining workers past their kill_at. */
void graft__sup_kill_overdue(sup *s);
/* A worker became ready: if it replaces one over the RSS ceiling, that one now drains. */
void graft__sup_on_ready(sup *s, sup_worker *w);
/* Replacements not ready in time are stopped; workers over the ceiling get one. */
void graft__sup_check_rss(sup *s);

#endif
