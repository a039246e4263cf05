# graft — every target sets up what it needs (Debian packages, .venv) itself.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
CC     ?= cc
CFLAGS_C := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wmissing-prototypes -Werror -Iinclude -Isrc/core/api -Isrc/core -Isrc/native
PARSER := src/core/http1_request.c src/core/http1_fields.c src/core/http1_chunked.c
CSRC   := $(wildcard src/*/*.c src/*/*.h src/native/kit/*.c src/native/kit/*.h src/core/api/*.h include/*.h)
# The extension and graft-serve built here treat warnings as errors (setup.py); a plain
# `pip install` does not, so a user's newer compiler cannot break it.
WERROR := GRAFT_WERROR=1

.PHONY: all build run test test-c check-native test-py fuzz test-asan test-tsan test-sanitize-ci bench clean sysdeps soak slowloris kit-diff

all: build

build/.sysdeps: scripts/setup-system.sh
	@mkdir -p build
	PYTHON=$(PYTHON) scripts/setup-system.sh
	@touch $@

$(VENV)/.deps: requirements-dev.txt build/.sysdeps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@

$(VENV)/.built: $(VENV)/.deps $(CSRC) setup.py pyproject.toml
	$(WERROR) $(PY) -m pip install -q --no-build-isolation -e .
	@touch $@

# Set-up only: leaves .venv/bin/graft (and graft-serve, graft-config).
build: $(VENV)/.built

build/products_routes.so: examples/products/routes.c include/graft.h $(VENV)/.built
	$(CC) -O2 -Wall -Wextra -shared -fPIC $$($(VENV)/bin/graft-config --cflags) $< -o $@ $$($(VENV)/bin/graft-config --libs) -lsqlite3 -ljansson

build/hello.so: examples/hello/hello.c include/graft.h $(VENV)/.built
	$(CC) -O2 -Wall -Wextra -shared -fPIC $$($(VENV)/bin/graft-config --cflags) $< -o $@ $$($(VENV)/bin/graft-config --libs)

# The products service with list, get-by-id and create answered in C, the rest in Python.
run: build build/products_routes.so
	$(VENV)/bin/graft app:app --app-dir examples/products --native build/products_routes.so --host 127.0.0.1 --port 8000

# C unit tests, laid out like src/ (tests/unit/core/test_utf8.c tests src/core/utf8.c). Each
# links only the sources it tests, listed in UNIT_DEPS_<test>; build/unit/<test> is built with
# the warnings as errors, build/unit-asan/<test> with ASan and UBSan as well (make test-asan).
UNIT_TESTS := core/test_http1 core/test_http1_response core/test_utf8 core/test_ws_frame core/test_metrics core/test_compare core/test_shadow native/test_json native/test_router native/test_kit native/test_contract native/test_contract_body
UNIT_DEPS_core/test_http1    := $(PARSER)
UNIT_DEPS_core/test_http1_response := src/core/http1_response.c src/core/status.c src/core/buf.c
UNIT_DEPS_core/test_utf8     := src/core/utf8.c
UNIT_DEPS_core/test_ws_frame := src/core/ws_frame.c
UNIT_DEPS_core/test_shadow   := src/core/shadow_line.c src/core/shadow_log.c src/core/json_str.c src/core/utf8.c src/core/capture.c src/core/http1_response.c src/core/status.c src/core/buf.c
UNIT_DEPS_core/test_compare  := src/core/capture.c src/core/compare.c src/core/http1_response.c src/core/status.c src/core/buf.c
UNIT_DEPS_core/test_metrics  := src/core/shared.c src/core/metrics.c src/core/metrics_render.c src/core/metrics_proc.c src/core/buf.c
UNIT_DEPS_native/test_json   := src/native/json.c src/native/kit/float_text.c src/core/json_str.c src/core/buf.c src/core/utf8.c
UNIT_DEPS_native/test_router := src/native/router.c src/native/path_decode.c
UNIT_DEPS_native/test_kit    := $(wildcard src/native/kit/*.c) src/core/json_str.c src/core/buf.c src/core/utf8.c
UNIT_DEPS_native/test_contract := src/native/contract.c src/native/contract_body.c src/native/contract_schema.c src/native/contract_rules.c $(wildcard src/native/kit/*.c) src/core/json_str.c src/core/buf.c src/core/utf8.c
# Libraries a unit test links besides libm.
UNIT_LIBS_native/test_contract := -ljansson
UNIT_DEPS_native/test_contract_body := $(UNIT_DEPS_native/test_contract)
UNIT_LIBS_native/test_contract_body := -ljansson
UNIT_HDRS  := $(wildcard include/*.h src/core/api/*.h src/core/*.h src/native/*.h src/native/kit/*.h) tests/unit/unit.h
UNIT_CFLAGS := $(CFLAGS_C)
UNIT_ASAN_CFLAGS := $(filter-out -O2,$(UNIT_CFLAGS)) -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
define UNIT_RULES
build/unit/$(1): tests/unit/$(1).c $$(UNIT_DEPS_$(1)) $$(UNIT_HDRS) build/.sysdeps
	@mkdir -p $$(@D)
	$$(CC) $$(UNIT_CFLAGS) $$(UNIT_DEPS_$(1)) $$< -o $$@ -lm $$(UNIT_LIBS_$(1))
build/unit-asan/$(1): tests/unit/$(1).c $$(UNIT_DEPS_$(1)) $$(UNIT_HDRS) build/.sysdeps
	@mkdir -p $$(@D)
	$$(CC) $$(UNIT_ASAN_CFLAGS) $$(UNIT_DEPS_$(1)) $$< -o $$@ -lm $$(UNIT_LIBS_$(1))
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call UNIT_RULES,$(t))))

# The fuzz targets linked with fuzz/replay.c instead of libFuzzer: the seed corpora as
# regression inputs, with the ordinary compiler and warnings as errors.
build/replay_http1: $(PARSER) fuzz/fuzz_check.h fuzz/fuzz_http1.c fuzz/replay.c build/.sysdeps
	$(CC) $(CFLAGS_C) $(PARSER) fuzz/fuzz_http1.c fuzz/replay.c -o $@
build/replay_chunked: $(PARSER) fuzz/fuzz_check.h fuzz/fuzz_chunked.c fuzz/replay.c build/.sysdeps
	$(CC) $(CFLAGS_C) $(PARSER) fuzz/fuzz_chunked.c fuzz/replay.c -o $@
build/replay_router: src/native/router.c src/native/router.h src/native/path_decode.c src/native/path_decode.h include/graft.h fuzz/fuzz_check.h fuzz/fuzz_router.c fuzz/replay.c build/.sysdeps
	$(CC) $(CFLAGS_C) src/native/router.c src/native/path_decode.c fuzz/fuzz_router.c fuzz/replay.c -o $@
build/replay_ws: src/core/ws_frame.c src/core/ws_frame.h src/core/api/ws.h fuzz/fuzz_check.h fuzz/fuzz_ws.c fuzz/replay.c build/.sysdeps
	$(CC) $(CFLAGS_C) src/core/ws_frame.c fuzz/fuzz_ws.c fuzz/replay.c -o $@

# The native layer is built on the engine's public headers only (issue 12): every src/native
# file compiles with include/ and src/core/api/ as the only include path, and none names a
# header by a relative path ("../core/conn.h" would resolve next to the file, -I or not).
check-native:
	@if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]\.\./' src/native/*.c src/native/*.h src/native/kit/*.c src/native/kit/*.h; then \
	  echo "check-native: src/native may include only include/ and src/core/api/ headers" >&2; exit 1; fi
	@for f in src/native/*.c src/native/kit/*.c; do \
	  $(CC) -std=c11 -D_GNU_SOURCE -fsyntax-only -Wall -Wextra -Werror -Wmissing-prototypes \
	    -Iinclude -Isrc/core/api $$f || exit 1; \
	done

test-c: check-native $(addprefix build/unit/,$(UNIT_TESTS)) build/replay_http1 build/replay_chunked build/replay_router build/replay_ws
	@for t in $(UNIT_TESTS); do echo "./build/unit/$$t"; ./build/unit/$$t || exit 1; done
	./build/replay_http1 fuzz/corpus/http1/*
	./build/replay_chunked fuzz/corpus/chunked/*
	./build/replay_router fuzz/corpus/router/*
	./build/replay_ws fuzz/corpus/ws/*

FUZZ_CC := clang -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wmissing-prototypes -Werror -fsanitize=fuzzer,address,undefined -Iinclude -Isrc/core/api -Isrc/core -Isrc/native

build/fuzz_http1: $(PARSER) fuzz/fuzz_http1.c build/.sysdeps
	$(FUZZ_CC) $(PARSER) fuzz/fuzz_http1.c -o $@

build/fuzz_chunked: $(PARSER) fuzz/fuzz_chunked.c build/.sysdeps
	$(FUZZ_CC) $(PARSER) fuzz/fuzz_chunked.c -o $@

# The route table links alone with the path decoding it matches on.
build/fuzz_router: src/native/router.c src/native/router.h src/native/path_decode.c src/native/path_decode.h include/graft.h fuzz/fuzz_router.c build/.sysdeps
	$(FUZZ_CC) src/native/router.c src/native/path_decode.c fuzz/fuzz_router.c -o $@

# Frame-header decoding links alone too: ws_frame.c needs no connection.
build/fuzz_ws: src/core/ws_frame.c src/core/ws_frame.h src/core/api/ws.h fuzz/fuzz_check.h fuzz/fuzz_ws.c build/.sysdeps
	$(FUZZ_CC) src/core/ws_frame.c fuzz/fuzz_ws.c -o $@

# Short libFuzzer runs over the request parser, the chunked decoder, the route table and
# WebSocket frame headers: FUZZ_SECONDS is the total, a quarter for each, at least 1 s each (0
# would mean "forever" to libFuzzer). Longer: make fuzz FUZZ_SECONDS=600. The first corpus dir
# is where libFuzzer writes new inputs: build/, never the seeds under fuzz/corpus/.
FUZZ_SECONDS ?= 30
FUZZ_EACH = $$(( $(FUZZ_SECONDS) / 4 > 0 ? $(FUZZ_SECONDS) / 4 : 1 ))
fuzz: build/fuzz_http1 build/fuzz_chunked build/fuzz_router build/fuzz_ws
	@mkdir -p build/fuzz-corpus build/fuzz-corpus-chunked build/fuzz-corpus-router build/fuzz-corpus-ws
	./build/fuzz_http1 -max_total_time=$(FUZZ_EACH) -dict=fuzz/http1.dict -print_final_stats=1 build/fuzz-corpus fuzz/corpus/http1
	./build/fuzz_chunked -max_total_time=$(FUZZ_EACH) -dict=fuzz/chunked.dict -print_final_stats=1 build/fuzz-corpus-chunked fuzz/corpus/chunked
	./build/fuzz_router -max_total_time=$(FUZZ_EACH) -dict=fuzz/router.dict -print_final_stats=1 build/fuzz-corpus-router fuzz/corpus/router
	./build/fuzz_ws -max_total_time=$(FUZZ_EACH) -dict=fuzz/ws.dict -print_final_stats=1 build/fuzz-corpus-ws fuzz/corpus/ws

test-py: build
	$(PY) -m pytest tests -q

# The porting kit's scalar layer against the installed Pydantic at the issue's full size:
# 100,000 seeded inputs per type (make test runs 3,000 through tests/kit/test_coerce_diff.py).
KIT_DIFF_COUNT ?= 100000
KIT_DIFF_SEED ?= 1
kit-diff: $(VENV)/.deps
	$(PY) tests/kit/diff_coerce.py --count $(KIT_DIFF_COUNT) --seed $(KIT_DIFF_SEED)

test: test-c fuzz test-py

# The load tests at the issue's full size (make test runs them smaller).
soak: build
	GRAFT_SOAK_REQUESTS=1000000 $(PY) -m pytest tests/load/test_soak.py -q -s

slowloris: build
	GRAFT_SLOWLORIS_CONNS=5000 GRAFT_SLOWLORIS_REQUESTS=200000 $(PY) -m pytest tests/load/test_slowloris.py -q -s

# The whole suite against an ASan+UBSan build of the extension, but tests/load: its bounds are
# on server memory (RSS), which ASan's redzones and quarantine make meaningless.
test-asan: build build/.sysdeps $(addprefix build/unit-asan/,$(UNIT_TESTS))
	@for t in $(UNIT_TESTS); do echo "./build/unit-asan/$$t"; ./build/unit-asan/$$t || exit 1; done
	$(WERROR) GRAFT_SANITIZE=1 $(PY) setup.py -q build_ext --inplace --force
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	  $(PY) -m pytest tests -q -x --ignore=tests/load; rc=$$?; \
	  $(WERROR) $(PY) setup.py -q build_ext --inplace --force >/dev/null; exit $$rc

# ThreadSanitizer over the tests that run graft's threads (I/O threads, the loop's polls,
# native handler threads, workers) against a -fsanitize=thread build of the extension and
# graft-serve; fails on any report (scripts/sanitize-pytest.sh, tests/tsan.supp). ~5 min.
# Left out: the browser test (Chromium, not graft's threads) and the 16 MiB WebSocket echo,
# whose byte loops run ~10x slower under TSan and can miss the test client's 5 s timeout.
TSAN_SKIP := --deselect tests/websocket/test_ws_asgi.py::test_default_max_size_16mib
TSAN_TESTS ?= tests/server tests/native tests/websocket tests/tls --ignore=tests/websocket/test_ws_browser.py
test-tsan: build build/.sysdeps
	$(WERROR) GRAFT_SANITIZE=thread $(PY) setup.py -q build_ext --inplace --force
	PY=$(PY) scripts/sanitize-pytest.sh thread $(TSAN_TESTS) $(TSAN_SKIP) -q -p no:cacheprovider; rc=$$?; \
	  $(WERROR) $(PY) setup.py -q build_ext --inplace --force >/dev/null; exit $$rc

# The bounded sanitizer pass for CI: a subset that drives every thread hand-off (both
# --io-poll modes, native routes answered from other threads, WebSockets), under ASan+UBSan
# and then under TSan. A few minutes.
SANITIZE_CI_TESTS ?= tests/server/test_http_behaviour.py tests/server/test_io_poll.py \
  tests/server/test_flag_races.py tests/native/test_native_features.py \
  tests/native/test_native_body_read.py tests/native/test_shadow.py tests/native/test_metrics_control.py \
  tests/websocket/test_ws_asgi.py tests/tls/test_tls_http.py
test-sanitize-ci: build build/.sysdeps
	$(WERROR) GRAFT_SANITIZE=1 $(PY) setup.py -q build_ext --inplace --force
	PY=$(PY) scripts/sanitize-pytest.sh address $(SANITIZE_CI_TESTS) -q -x -p no:cacheprovider; rc=$$?; \
	  if [ $$rc -eq 0 ]; then \
	    $(WERROR) GRAFT_SANITIZE=thread $(PY) setup.py -q build_ext --inplace --force && \
	    PY=$(PY) scripts/sanitize-pytest.sh thread $(SANITIZE_CI_TESTS) $(TSAN_SKIP) -q -p no:cacheprovider; rc=$$?; \
	  fi; \
	  $(WERROR) $(PY) setup.py -q build_ext --inplace --force >/dev/null; exit $$rc

bench: build
	PYTHON=$(PYTHON) scripts/setup-system.sh bench
	$(PY) bench/run.py

clean:
	rm -rf build graft/*.so *.egg-info
