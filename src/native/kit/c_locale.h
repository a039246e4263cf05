/* The "C" numeric conventions for a stretch of code: snprintf and strtod read and write '.'
 * as the decimal point only under them, and an app may have called setlocale. uselocale is
 * per thread, so other threads are not disturbed. */
#ifndef GRAFT__KIT_C_LOCALE_H
#define GRAFT__KIT_C_LOCALE_H

#include <locale.h>

/* Switches this thread to the C locale; returns what to hand to graft__kit_c_locale_end, or
 * (locale_t)0 when the switch failed (then the process's locale stays). */
static inline locale_t graft__kit_c_locale_begin(void)
{
    /* glibc answers "C" for all categories with its static object: nothing is allocated */
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (c == (locale_t)0)
        return (locale_t)0;
    locale_t old = uselocale(c);
    if (old == (locale_t)0)
        freelocale(c);
    return old;
}

/* Restores the thread's previous locale after graft__kit_c_locale_begin. */
static inline void graft__kit_c_locale_end(locale_t old)
{
    if (old == (locale_t)0)
        return;
    locale_t c = uselocale(old);
    freelocale(c);
}

#endif
