# renkei build: one GNU Makefile, read top to bottom as the map of what links
# what.
#
#   make                 build build/renkei
#   make check           build and run every test (unit, STIX corpus, fuzz
#                        corpus replay, protocol tests against a live hub)
#   make check SAN=1     the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make tsan-check      the threaded tests (sensor engine and matcher swap,
#                        sensor CLI, patterns, store) under ThreadSanitizer,
#                        built in build/tsan
#   make fuzz            run each libFuzzer harness for FUZZ_SECONDS (clang)
#   make bench           build and run the benchmarks under bench/
#   make WERROR=1        turn warnings into errors (CI does)
#
# Layout: one folder per module under src/, each built into a static library
# build/lib<mod>.a. Modules depend one way, in the order of MODULES; a module's
# tests link only that module and the ones before it (DEPS_<mod>).

MODULES := common stix store directory assets policy audit decode pattern match logs sensor client uplink feeds export anonymise notify federation taxii cli

DEPS_common    := common
DEPS_stix      := stix common
DEPS_store     := store stix common
DEPS_directory := directory store stix common
DEPS_assets    := assets directory store stix common
DEPS_policy    := policy directory store stix common
DEPS_audit     := audit common
DEPS_decode    := decode common
DEPS_pattern   := pattern common
DEPS_match     := match pattern common
DEPS_logs      := logs common
DEPS_sensor    := sensor match pattern decode logs common
DEPS_client    := client common
DEPS_uplink    := uplink client stix common
DEPS_feeds     := feeds client stix common
DEPS_export    := export pattern policy directory store stix common
DEPS_anonymise := anonymise policy directory store stix common
DEPS_notify    := notify assets audit pattern policy directory store stix common
DEPS_federation := federation client policy directory store stix common
DEPS_taxii     := taxii notify anonymise federation client export pattern audit policy assets directory store stix common
DEPS_cli       := cli feeds sensor match decode logs uplink taxii notify anonymise federation client export pattern audit policy assets directory store stix common

PKGS := libmicrohttpd jansson sqlite3 libsodium gnutls inih libcurl libpcap libpcre2-8 nettle zlib

CC      ?= cc
OPT     ?= -O2
SAN     ?=
WERROR  ?=

ifeq ($(TSAN),1)
BUILD   ?= build/tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
OPT     := -O1
else ifeq ($(SAN),1)
BUILD   ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT     := -O1
else
BUILD   ?= build
SANFLAGS :=
endif

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wpointer-arith -Wvla -Wundef -Wcast-align \
        -Wno-missing-field-initializers
ifeq ($(WERROR),1)
WARN += -Werror
endif

INCLUDES := $(foreach m,$(MODULES),-Isrc/$(m))
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS)) -lpthread -lm
# Hyperscan where installed (./setup adds it on amd64): the matcher's
# prefilter for regular expressions. Without it those patterns are tried
# one by one; results are the same.
ifeq ($(shell pkg-config --exists libhs && echo yes),yes)
PKG_CFLAGS += $(shell pkg-config --cflags libhs) -DRK_HAVE_HYPERSCAN
PKG_LIBS   += $(shell pkg-config --libs libhs)
endif

CFLAGS  := -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L $(OPT) -g \
           $(WARN) $(SANFLAGS) $(INCLUDES) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := $(SANFLAGS) $(EXTRA_LDFLAGS)
DEPFLAGS = -MMD -MP

# ---------------------------------------------------------------- modules

define module_rules
SRC_$(1) := $$(wildcard src/$(1)/*.c)
OBJ_$(1) := $$(patsubst src/%.c,$(BUILD)/obj/%.o,$$(SRC_$(1)))
$(BUILD)/lib$(1).a: $$(OBJ_$(1))
	@mkdir -p $$(@D)
	rm -f $$@
	ar rcs $$@ $$^
LIBS_$(1) := $$(foreach d,$$(DEPS_$(1)),$(BUILD)/lib$$(d).a)
endef
$(foreach m,$(MODULES),$(eval $(call module_rules,$(m))))

# Every library in link order: cli depends on every module, so its chain
# is all of them.
ALL_LIBS := $(LIBS_cli)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# ---------------------------------------------------------------- programs

all: $(BUILD)/renkei

$(BUILD)/renkei: $(BUILD)/obj/renkei/renkei.o $(ALL_LIBS)
	$(CC) $(LDFLAGS) -o $@ $< $(ALL_LIBS) $(PKG_LIBS)

# ---------------------------------------------------------------- tests
# tests/unit/<mod>/test_*.c: one cmocka program each, linked with DEPS_<mod>.
# tests/protocol/test_*.c: cmocka programs that drive a live build/renkei.

define unit_rules
UNIT_SRC_$(1) := $$(wildcard tests/unit/$(1)/test_*.c)
UNIT_BIN_$(1) := $$(patsubst tests/unit/$(1)/%.c,$(BUILD)/tests/unit_$(1)_%,$$(UNIT_SRC_$(1)))
$(BUILD)/tests/unit_$(1)_%: $(BUILD)/obj/tests/unit/$(1)/%.o $$(LIBS_$(1))
	@mkdir -p $$(@D)
	$(CC) $(LDFLAGS) -o $$@ $$< $$(LIBS_$(1)) $(PKG_LIBS) -lcmocka
endef
$(foreach m,$(MODULES),$(eval $(call unit_rules,$(m))))
UNIT_BINS := $(foreach m,$(MODULES),$(UNIT_BIN_$(m)))

# The sensor's tests sweep inputs made by the benchmark's generator, run
# from next to the test binaries.
$(BUILD)/tests/gen_sensor: bench/gen_sensor.c bench/sensor_values.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) $(PKG_LIBS)
$(UNIT_BIN_sensor): $(BUILD)/tests/gen_sensor

PROTO_SRC  := $(wildcard tests/protocol/test_*.c)
PROTO_BINS := $(patsubst tests/protocol/%.c,$(BUILD)/tests/protocol_%,$(PROTO_SRC))
PROTO_HELP := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/protocol/proto_*.c))
$(BUILD)/tests/protocol_%: $(BUILD)/obj/tests/protocol/%.o $(PROTO_HELP) $(ALL_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(PROTO_HELP) $(ALL_LIBS) $(PKG_LIBS) -lcmocka

# ---------------------------------------------------------------- fuzzing
# fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput. `make check` links each
# with fuzz/replay.c and replays fuzz/corpus/<name>/; `make fuzz` builds the
# same harness with clang's libFuzzer and explores for FUZZ_SECONDS.

FUZZ_SRC     := $(wildcard fuzz/fuzz_*.c)
FUZZ_NAMES   := $(patsubst fuzz/fuzz_%.c,%,$(FUZZ_SRC))
REPLAY_BINS  := $(patsubst %,$(BUILD)/tests/replay_%,$(FUZZ_NAMES))
$(BUILD)/tests/replay_%: $(BUILD)/obj/fuzz/fuzz_%.o $(BUILD)/obj/fuzz/replay.o $(ALL_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(ALL_LIBS) $(PKG_LIBS)

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_BUILD   := build/fuzz
FUZZ_LIBS    := $(DEPS_cli)
fuzz:
	@for n in $(FUZZ_NAMES); do \
	  $(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) \
	    EXTRA_CFLAGS=-fsanitize=fuzzer-no-link,address,undefined \
	    EXTRA_LDFLAGS=-fsanitize=address,undefined $(foreach d,$(FUZZ_LIBS),$(FUZZ_BUILD)/lib$(d).a) >/dev/null || exit 1; \
	  $(FUZZ_CC) -std=c11 -D_DEFAULT_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined $(INCLUDES) $(PKG_CFLAGS) \
	    fuzz/fuzz_$$n.c $(foreach d,$(FUZZ_LIBS),$(FUZZ_BUILD)/lib$(d).a) $(PKG_LIBS) -o $(FUZZ_BUILD)/fuzz_$$n || exit 1; \
	  mkdir -p $(FUZZ_BUILD)/corpus_$$n; \
	  $(FUZZ_BUILD)/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) $(FUZZ_BUILD)/corpus_$$n fuzz/corpus/$$n || exit 1; \
	done

# ---------------------------------------------------------------- check

TEST_BINS := $(UNIT_BINS) $(REPLAY_BINS) $(PROTO_BINS)

tests: $(BUILD)/renkei $(TEST_BINS)

check: tests
	RENKEI_BIN=$(BUILD)/renkei scripts/run-tests $(TEST_BINS)

# ThreadSanitizer over the programs that run threads; a report fails the
# test (halt_on_error), the CLI test's child processes included.
TSAN_TESTS := unit_sensor_test_sensor_engine protocol_test_sensor_cli \
              unit_pattern_test_pattern unit_store_test_store_concurrency \
              unit_uplink_test_uplink_sight protocol_test_sensor_e2e \
              unit_logs_test_logs_edge protocol_test_sensor_compound \
              protocol_test_notify protocol_test_federation \
              unit_sensor_test_sensor_x509 unit_sensor_test_sensor_intel
tsan-check:
	$(MAKE) TSAN=1 build/tsan/renkei $(patsubst %,build/tsan/tests/%,$(TSAN_TESTS))
	RENKEI_BIN=build/tsan/renkei TSAN_OPTIONS="halt_on_error=1 exitcode=66 $(TSAN_OPTIONS)" \
	  scripts/run-tests $(patsubst %,build/tsan/tests/%,$(TSAN_TESTS))

# ---------------------------------------------------------------- bench

# bench_*.c link every library (the sensor's benches need match and
# pattern, the hub's cli and what it uses); gen_sensor.c makes the sensor
# bench's inputs and links only libpcap.
BENCH_SRC  := $(wildcard bench/bench_*.c)
BENCH_BINS := $(patsubst bench/%.c,build/bench/%,$(BENCH_SRC)) build/bench/gen_sensor
build/bench/gen_sensor: bench/gen_sensor.c bench/sensor_values.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(PKG_LIBS)
build/bench/%: bench/%.c bench/sensor_values.h build/renkei $(ALL_LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(ALL_LIBS) $(PKG_LIBS)
bench:
	$(MAKE) BUILD=build build/renkei $(BENCH_BINS)
	bench/run

# ---------------------------------------------------------------- misc

clean:
	rm -rf build

.PHONY: all tests check tsan-check fuzz bench clean
.DEFAULT_GOAL := all
.SECONDARY:

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
