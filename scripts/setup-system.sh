#!/usr/bin/env bash
# Installs the Debian packages graft needs to build and test, only when missing.
# Idempotent; quiet when everything is present. Usage: setup-system.sh [bench]
set -euo pipefail
want=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
need_pkg() { dpkg -s "$1" >/dev/null 2>&1 || want+=("$1"); }

have_cmd cc || want+=(build-essential)
have_cmd make || want+=(make)
py=${PYTHON:-python3}
if ! "$py" -c 'import sysconfig,os,sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"],"Python.h")) else 1)' 2>/dev/null; then
  want+=(python3-dev)
fi
"$py" -c 'import ensurepip, venv' 2>/dev/null || want+=(python3-venv)
have_cmd clang || want+=(clang)
# libraries: OpenSSL (TLS; libcrypto for the WebSocket accept hash), zlib (permessage-deflate),
# SQLite and Jansson (the products example's native routes)
for p in libssl-dev zlib1g-dev libsqlite3-dev libjansson-dev; do need_pkg "$p"; done
# the TLS tests make their certificates with the openssl CLI and compare curl's answers
have_cmd openssl || want+=(openssl)
have_cmd curl || want+=(curl)
# a real browser for the WebSocket interop test
have_cmd chromium || want+=(chromium)
# nginx in front of graft: tests/deploy/test_nginx.py runs deploy/nginx/graft.conf as shipped
have_cmd nginx || [ -x /usr/sbin/nginx ] || want+=(nginx-light)
# systemd-socket-activate: deploy/systemd's command line is run as systemd starts it
have_cmd systemd-socket-activate || want+=(systemd)
# libFuzzer and the sanitizer runtimes for clang
if have_cmd clang; then
  rt=$(clang -print-resource-dir 2>/dev/null)/lib/linux/libclang_rt.fuzzer-x86_64.a
  [ -e "$rt" ] || need_pkg "libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"
else
  want+=(libclang-rt-14-dev)
fi
if [ "${1:-}" = bench ]; then
  have_cmd wrk || want+=(wrk)
  have_cmd taskset || want+=(util-linux)
fi
if [ ${#want[@]} -gt 0 ]; then
  echo "setup-system: installing ${want[*]}"
  if [ "$(id -u)" != 0 ]; then echo "setup-system: need root to apt-get install ${want[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${want[@]}"
fi
