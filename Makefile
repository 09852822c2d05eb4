# Strata: build, test and run the suite. `make help` lists the targets.
#
# Everything builds out of tree into build/ (or build/asan/ with SAN=1); service binaries land
# in bin/ (build/asan/bin/ with SAN=1). The lists of sources are wildcards, so a new file in
# libcommon/src/, services/<name>/, tools/<name>/ or tests/ needs no edit here.

SHELL := /bin/bash
CC ?= cc
SERVICES := gateway auth ingest statistics alerting scheduler storage
TOOLS := migrate kafka-topics keys

ifeq ($(SAN),1)
BUILD := build/asan
BIN := build/asan/bin
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT := -O1 -g
else
BUILD := build/release
BIN := bin
SANFLAGS :=
OPT := -O2 -g
endif

VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

PKGS := libpq hiredis rdkafka libcjson libcurl libcrypto libsodium
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 \
	-Wvla -Wno-format-nonliteral
CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(OPT) $(WARN) $(SANFLAGS) \
	-pthread -Ilibcommon/include $(PKG_CFLAGS) -MMD -MP \
	-DSTRATA_VERSION='"$(VERSION)"' 
LDFLAGS := $(SANFLAGS) -pthread
LDLIBS := $(PKG_LIBS) -lcivetweb -lm

LIB_SRC := $(wildcard libcommon/src/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB_TEST_OBJ := $(LIB_SRC:%.c=$(BUILD)/testing/%.o)
LIBCOMMON := $(BUILD)/libcommon.a
LIBCOMMON_TESTING := $(BUILD)/libcommon-testing.a

SERVICE_BINS := $(SERVICES:%=$(BIN)/strata-%)
TOOL_BINS := $(TOOLS:%=$(BIN)/strata-%)

UNIT_SRC := $(wildcard tests/unit/*.c tests/unit/*/*.c)
# Every service's sources but main.c, compiled under ST_TESTING into the unit runner so that
# unit tests reach a service's ST_STATIC functions. One runner links all services: a service's
# global names carry its prefix (gw_, auth_, ...), and a clash would fail the link loudly.
UNIT_SERVICE_SRC := $(filter-out %/main.c,$(wildcard services/*/*.c))
UNIT_SUITES := $(wildcard tests/unit/*/test_*.c)
INTEG_SRC := $(wildcard tests/integration/*.c)
UNIT_RUNNER := $(BUILD)/tests/unit-tests
INTEG_RUNNER := $(BUILD)/tests/integration-tests

.PHONY: all help build unit-build integration-build test test-asan test-unit test-integration \
	up down status infra-up infra-down deps fmt fmt-check lint bench clean

all: build

help:
	@echo "make up          install what is missing, start the whole suite, print the URL"
	@echo "make down        stop what make up started"
	@echo "make test        build, start what the tests need, run every test, stop it again"
	@echo "make test-asan   the same with AddressSanitizer and UndefinedBehaviorSanitizer"
	@echo "make build       compile libcommon, the services and tools"
	@echo "make fmt / lint  format with .clang-format / refuse unsafe C functions"
	@echo "make bench       run the benchmarks in tests/bench/ against a running suite"

build: $(SERVICE_BINS) $(TOOL_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/testing/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DST_TESTING -Itests/unit -I$(BUILD)/tests -c $< -o $@

$(LIBCOMMON): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBCOMMON_TESTING): $(LIB_TEST_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# One binary per service from every .c in its folder; likewise for tools. (objs_of keeps its
# `%` out of the pattern rule, where make would replace it with the stem.)
objs_of = $(patsubst %.c,$(BUILD)/%.o,$(wildcard services/$(1)/*.c tools/$(1)/*.c))
.SECONDEXPANSION:
$(BIN)/strata-%: $$(call objs_of,$$*) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The unit runner's table of suites is generated from the file names: test_<name>.c exports
# `Suite *<name>_suite(void)`, so adding a suite is adding a file.
$(BUILD)/tests/suites.gen.h: $(UNIT_SUITES) Makefile
	@mkdir -p $(dir $@)
	@for f in $(UNIT_SUITES); do n=$$(basename $$f .c); echo "ST_SUITE($${n#test_})"; done > $@.tmp
	@mv $@.tmp $@

# Integration suites are tests/integration/NN_<topic>.c, each exporting `<topic>_suite`; the
# other files there (main.c, harness.c, fixtures) are linked in as helpers.
$(BUILD)/tests/integration.gen.h: $(INTEG_SRC) Makefile
	@mkdir -p $(dir $@)
	@for f in $(wildcard tests/integration/[0-9][0-9]_*.c); do n=$$(basename $$f .c); \
		echo "ST_SUITE($$(echo $${n#[0-9][0-9]_} | tr - _))"; done > $@.tmp
	@mv $@.tmp $@

# A test file exports its one suite without a header: the generated table declares it.
$(BUILD)/testing/tests/%.o: CFLAGS += -Wno-missing-prototypes
# Unit tests include a service's header as "<service>/<name>.h", libcommon's suites its
# private ones ("slot_pool.h").
$(BUILD)/testing/tests/unit/%.o: CFLAGS += -Iservices
$(BUILD)/testing/tests/unit/libcommon/%.o: CFLAGS += -Ilibcommon/src

$(UNIT_SRC:%.c=$(BUILD)/testing/%.o): $(BUILD)/tests/suites.gen.h
$(INTEG_SRC:%.c=$(BUILD)/testing/%.o): $(BUILD)/tests/integration.gen.h

$(UNIT_RUNNER): $(UNIT_SRC:%.c=$(BUILD)/testing/%.o) \
		$(UNIT_SERVICE_SRC:%.c=$(BUILD)/testing/%.o) $(LIBCOMMON_TESTING)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

$(INTEG_RUNNER): $(INTEG_SRC:%.c=$(BUILD)/testing/%.o) $(LIBCOMMON_TESTING)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

unit-build: $(UNIT_RUNNER)
integration-build: $(INTEG_RUNNER)

# `make test`: install what is missing, build, start what the tests need, run unit and
# integration tests, stop what was started. SUITE=name runs one suite.
test:
	@compose/local/deps.sh
	@$(MAKE) --no-print-directory build unit-build integration-build
	@BIN=$(BIN) BUILD=$(BUILD) compose/local/test.sh

test-asan:
	@$(MAKE) --no-print-directory SAN=1 test

test-unit: unit-build
	$(UNIT_RUNNER) $(SUITE)

up:
	@compose/local/deps.sh
	@$(MAKE) --no-print-directory build
	@BIN=$(BIN) compose/local/up.sh

down:
	@compose/local/down.sh

status:
	@compose/local/status.sh

deps:
	@compose/local/deps.sh

bench:
	@tests/bench/run.sh

# ---- fuzzing (tests/fuzz/, docs/operations.md "Fuzzing") ----
# One libFuzzer binary per tests/fuzz/fuzz_<name>.c, built with Debian's clang under ASan and
# UBSan into build/fuzz/, against libcommon and the services' sources (all but main.c) compiled
# with -DST_TESTING like the unit runner's; as archives, so that a target links only what it
# calls. `make fuzz` runs each target for FUZZ_SECONDS (FUZZ=name runs one) on its seeds in
# tests/fuzz/corpus/<name>/, keeping what it finds in build/fuzz/corpus/<name>/ and crashes in
# build/fuzz/crashes/<name>/; `make fuzz-check` (part of `make test`) runs each FUZZ_RUNS times.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?= 50000
FUZZ_MAX_RUNS ?=
FUZZ_DIR := build/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O1 -g $(WARN) $(FUZZ_SAN) \
	-fsanitize=fuzzer-no-link -pthread -Ilibcommon/include -Ilibcommon/src -Iservices \
	$(PKG_CFLAGS) -MMD -MP -DST_TESTING -DSTRATA_VERSION='"$(VERSION)"'
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_LIBCOMMON := $(FUZZ_DIR)/libcommon.a
FUZZ_SERVICES := $(FUZZ_DIR)/libservices.a

.PHONY: fuzz fuzz-build fuzz-check
# The targets' objects are kept (make would delete them as intermediates of the pattern rule).
.SECONDARY: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_LIBCOMMON): $(LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_SERVICES): $(UNIT_SERVICE_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_SERVICES) $(FUZZ_LIBCOMMON)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -pthread -o $@ $< \
		-Wl,--start-group $(FUZZ_SERVICES) $(FUZZ_LIBCOMMON) -Wl,--end-group $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@FUZZ_MAX_RUNS=$(FUZZ_MAX_RUNS) tests/fuzz/run.sh time $(FUZZ_SECONDS) $(or $(FUZZ),$(FUZZ_TARGETS))

fuzz-check: fuzz-build
	@tests/fuzz/run.sh runs $(FUZZ_RUNS) $(or $(FUZZ),$(FUZZ_TARGETS))
# ---- end of fuzzing ----

fmt:
	clang-format -i $$(git ls-files '*.c' '*.h')

fmt-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

lint:
	@! grep -nE '\b(sprintf|vsprintf|strcpy|strcat|atoi|gets)\s*\(' \
		$$(git ls-files '*.c' '*.h') || { echo "lint: unsafe function above"; exit 1; }
	@echo "lint: ok"

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
