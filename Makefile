# Parley: the two commands that matter are `make run` and `make test`.
.PHONY: all deps build build-asan run test test-unit test-asan bench bench-smoke bench-soak clean format web web-test

BUILD_DIR  ?= build
ASAN_DIR   ?= build-asan
DATA_DIR   ?= ./data
PARLEY     := $(BUILD_DIR)/src/app/parley
JOBS       ?= $(shell nproc)

# ccache hits across checkouts (a CI clone, a second work tree): paths relative to the tree.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset default >/dev/null
	@cmake --build --preset default -j $(JOBS)

build-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)

# Builds and starts Parley on http://127.0.0.1:8080 with its data in ./data (SQLite).
run: build
	$(PARLEY) serve --store.data_dir=$(DATA_DIR) --http.web_root=web/dist

# Every test suite: unit, store conformance, integration (real binary, real sockets).
test: build
	@ctest --preset default -j $(JOBS) --output-on-failure
	@$(MAKE) --no-print-directory bench-smoke

# The same suites built with AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: build-asan
	@ctest --preset asan -j $(JOBS) --output-on-failure

# Load-generator smoke run (under a minute, 200 connections, zero loss checked): bench/run_smoke.sh.
bench-smoke: build
	@bench/run_smoke.sh $(BUILD_DIR)

# Shortened CHAT-10K ladder (under 15 minutes): bench/results/<date>-<commit>.json and docs/benchmarks.md.
bench: build
	@bench/run_ladder.sh $(BUILD_DIR)

# 30-minute soak at 1x (SOAK_USERS, SOAK_RATE, SOAK_MIN, SOAK_CHURN): the server's RSS sampled
# every 10 s into bench/results/<date>-<commit>-soak.json and .svg (bench/run_soak.sh).
bench-soak: build
	@bench/run_soak.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)

format:
	@find src bench tests -name '*.h' -o -name '*.cc' | xargs clang-format -i

# ---- web client (web/): TypeScript SDK + Preact app, built with Vite into web/dist.
# `make build` builds it too when npm is available; `make run` serves it; `make test` runs its
# Vitest unit tests and the Playwright e2e suite (CTest labels web and e2e).
NPM := $(shell command -v npm 2>/dev/null)

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

web: web/node_modules/.package-lock.json
	cd web && npm run --silent build

web-test: web/node_modules/.package-lock.json
	cd web && npm test

ifneq ($(NPM),)
build: web
endif
