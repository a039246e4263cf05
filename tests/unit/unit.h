/* The C unit tests' tally, shared by every tests/unit test: a check passes or prints one FAIL
 * line; a case groups several checks and counts (and prints) once; unit_report ends main. */
#ifndef GRAFT_TESTS_UNIT_H
#define GRAFT_TESTS_UNIT_H

#include <stdarg.h>
#include <stdio.h>

static int passed, failed, case_failed;

static inline void unit_vprint(const char *name, const char *fmt, va_list ap)
{
    printf("FAIL %s: ", name);
    vprintf(fmt, ap);
    printf("\n");
}

/* One check: counted as passed when ok, else as failed with the formatted message. */
__attribute__((format(printf, 3, 4))) static inline void check(int ok, const char *name,
                                                               const char *fmt, ...)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    va_list ap;
    va_start(ap, fmt);
    unit_vprint(name, fmt, ap);
    va_end(ap);
}

/* A failure inside the current case: only the case's first one is printed. */
__attribute__((format(printf, 2, 3))) static inline void fail(const char *name, const char *fmt, ...)
{
    if (case_failed++)
        return;
    va_list ap;
    va_start(ap, fmt);
    unit_vprint(name, fmt, ap);
    va_end(ap);
}

/* Ends the current case: one pass, or one failure however many checks failed in it. */
static inline void finish_case(void)
{
    if (case_failed)
        failed++;
    else
        passed++;
    case_failed = 0;
}

/* Prints the totals; main's exit status. */
static inline int unit_report(void)
{
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#endif
