#!/usr/bin/env bash
# Runs pytest with a sanitizer runtime preloaded into Python, against an extension (and
# graft-serve) already built with GRAFT_SANITIZE=1 (address) or GRAFT_SANITIZE=thread.
# Python itself is not instrumented: it only needs the runtime loaded first. The servers the
# tests start inherit LD_PRELOAD and the *SAN_OPTIONS from the environment.
#
# Usage: scripts/sanitize-pytest.sh address|thread PYTEST_ARGS...
#
# thread: every report of every process (pytest, servers, forked workers) is written to
# build/tsan/report.PID rather than to a server's log, where a test might not look; the run
# fails when any report exists, whatever pytest said. tests/tsan.supp holds the only
# suppressions: CPython and uvloop internals, never graft's own code.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
CC=${CC:-cc}
mode=${1:?usage: sanitize-pytest.sh address|thread PYTEST_ARGS...}
shift

runtime() { # absolute path of a sanitizer runtime, or fail
    local p
    p=$("$CC" -print-file-name="$1")
    [ -e "$p" ] || { echo "sanitize-pytest: $1 not found by $CC" >&2; exit 2; }
    echo "$p"
}

case "$mode" in
address)
    export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    LD_PRELOAD="$(runtime libasan.so) $(runtime libubsan.so)" exec "$PY" -m pytest "$@"
    ;;
thread) ;;
*) echo "sanitize-pytest: unknown mode $mode" >&2; exit 2 ;;
esac

rt=$(runtime libtsan.so)
logdir=$PWD/build/tsan
rm -rf "$logdir"
mkdir -p "$logdir"
# halt_on_error=0: a racy server keeps serving, so one run lists every race (the verdict is
# the report files, below). die_after_fork=0: the --workers supervisor forks, and TSan would
# otherwise refuse to let a child of a threaded parent start threads. history_size: longer
# access histories, so both stacks of a race are shown more often.
export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp:log_path=$logdir/report:halt_on_error=0:die_after_fork=0:second_deadlock_stack=1:history_size=4${TSAN_EXTRA_OPTIONS:+:$TSAN_EXTRA_OPTIONS}"

# Older TSan runtimes cannot map their shadow memory when the kernel randomises mmap with
# many bits ("FATAL: ThreadSanitizer: unexpected memory mapping"): run without ASLR then.
# setarch -R sets a personality flag that the servers and workers inherit.
wrap=()
if ! probe=$(LD_PRELOAD="$rt" "$PY" -c pass 2>&1); then
    if grep -q "unexpected memory mapping" <<<"$probe" && setarch "$(uname -m)" -R true 2>/dev/null; then
        echo "sanitize-pytest: TSan cannot map its shadow under ASLR here; running with setarch -R"
        wrap=(setarch "$(uname -m)" -R)
    else
        echo "sanitize-pytest: TSan does not start:" >&2
        echo "$probe" >&2
        exit 2
    fi
fi

LD_PRELOAD="$rt" "${wrap[@]}" "$PY" -m pytest "$@"
rc=$?
shopt -s nullglob
reports=("$logdir"/report.*)
if [ ${#reports[@]} -gt 0 ]; then
    echo
    echo "sanitize-pytest: ThreadSanitizer reports from ${#reports[@]} process(es) in $logdir:"
    grep -h '^SUMMARY:' "${reports[@]}" | sort | uniq -c | sort -rn
    echo "--- first report (${reports[0]}) ---"
    sed -n '1,/^SUMMARY:/p' "${reports[0]}"
    [ $rc -ne 0 ] || rc=1
fi
exit $rc
