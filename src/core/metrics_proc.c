/* The usual process metrics for a scrape, summed over the live workers of a shared region:
 * each slot names its worker's pid, and /proc says the rest. A worker that died between the
 * slot's pid and the read is skipped. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shared_layout.h"

typedef struct proc_totals {
    double cpu_s, start_s;
    unsigned long long rss, vsize, fds;
} proc_totals;

/* Boot time in seconds since the epoch (/proc/stat btime), 0 when unknown. */
static double boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    char line[256];
    double bt = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %lf", &bt) == 1)
            break;
    fclose(f);
    return bt;
}

static int add_pid(int pid, double btime, proc_totals *t)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    unsigned long utime, stime;
    unsigned long long start, vsize;
    long rss;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d "
                            "%*d %*d %llu %llu %ld", &utime, &stime, &start, &vsize, &rss) != 5)
        return -1;
    double hz = (double)sysconf(_SC_CLK_TCK);
    t->cpu_s += (double)(utime + stime) / hz;
    t->rss += (unsigned long long)(rss > 0 ? rss : 0) * (unsigned long long)sysconf(_SC_PAGESIZE);
    t->vsize += vsize;
    double st = btime + (double)start / hz;
    if (t->start_s == 0 || st < t->start_s)
        t->start_s = st;
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.')
                t->fds++;
        closedir(d);
    }
    return 0;
}

int graft__mx_render_process(graft__shared *s, graft__buf *out)
{
    proc_totals t = {0};
    double bt = boot_time();
    for (int i = 0; i < GRAFT__SHM_SLOTS; i++) {
        int pid = atomic_load(&s->slots[i].pid);
        if (pid > 0)
            add_pid(pid, bt, &t);
    }
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "# HELP process_cpu_seconds_total User and system CPU time of the workers.\n"
                     "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.2f\n"
                     "# HELP process_resident_memory_bytes Resident memory of the workers.\n"
                     "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %llu\n"
                     "# HELP process_virtual_memory_bytes Virtual memory of the workers.\n"
                     "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes %llu\n"
                     "# HELP process_open_fds Open file descriptors of the workers.\n"
                     "# TYPE process_open_fds gauge\nprocess_open_fds %llu\n"
                     "# HELP process_start_time_seconds Start of the oldest worker, since the epoch.\n"
                     "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.2f\n",
                     t.cpu_s, t.rss, t.vsize, t.fds, t.start_s);
    if (n < 0 || (size_t)n >= sizeof text)
        return -1;
    return graft__buf_append(out, text, (size_t)n);
}
