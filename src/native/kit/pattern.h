/* String patterns (constr pattern=) for the kit: a safe subset of Rust's `regex` syntax,
 * matched with Rust's semantics (Pydantic's default engine, `is_match`: a match anywhere
 * unless anchored), in time linear in the subject and without allocation. Anything outside
 * the subset is GRAFT__KIT_UNSUPPORTED and graft declines. The subset (docs/KIT.md): a
 * sequence of atoms, each with an optional greedy quantifier (* + ? {n} {n,} {n,m}); atoms
 * are literal characters (any code point; punctuation escaped with '\'), '.', classes
 * [...] / [^...] of characters and ranges, and \d \w \s \D \W \S; '^' only first, '$' only
 * last. No groups, alternation, flags, lazy quantifiers, \b or nested classes. */
#ifndef GRAFT__KIT_PATTERN_H
#define GRAFT__KIT_PATTERN_H

#include <stddef.h>
#include <stdint.h>

#define GRAFT__KIT_PATTERN_ATOMS 32
#define GRAFT__KIT_PATTERN_RANGES 64
/* Count states of the matcher, at most: a {n,m} costs m + 1, others min + 1. */
#define GRAFT__KIT_PATTERN_STATES 256

/* One atom and its repetition. */
typedef struct graft__kit_atom {
    uint8_t kind;      /* literal, any, class (kinds in pattern.c) */
    uint8_t neg;       /* a negated class */
    uint8_t perl;      /* \d \w \s inside a class: bits 1, 2, 4 */
    uint16_t first, n; /* its ranges in graft__kit_pattern.ranges */
    uint32_t cp;       /* the literal's code point */
    uint16_t min, max; /* max 0xffff: unbounded */
    uint16_t state;    /* its first count state */
} graft__kit_atom;

/* A compiled pattern: fills about 1 KiB, lives on the caller's stack. */
typedef struct graft__kit_pattern {
    int anchor_start, anchor_end;
    int needs_ascii; /* uses \d \w \s: exact only on ASCII subjects (Rust's are Unicode) */
    size_t natoms, nranges, nstates;
    graft__kit_atom atoms[GRAFT__KIT_PATTERN_ATOMS];
    uint32_t ranges[GRAFT__KIT_PATTERN_RANGES][2];
} graft__kit_pattern;

/* Compiles the NUL-terminated pattern src into p: GRAFT__KIT_OK, or UNSUPPORTED when it is
 * outside the subset or over the bounds above. */
int graft__kit_pattern_compile(graft__kit_pattern *p, const char *src);

/* Whether the valid UTF-8 subject s (n bytes) matches p, as Rust's Regex::is_match: 1, 0, or
 * UNSUPPORTED when p uses \d \w \s and s is not ASCII. */
int graft__kit_pattern_match(const graft__kit_pattern *p, const char *s, size_t n);

#endif
