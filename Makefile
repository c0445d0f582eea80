# Wukong migration pipeline: one non-recursive build.
#
#   make                 build libwkcore.a and every binary into $(B)/bin
#   make test            install missing packages, build, run unit + integration tests
#   make unit-test       unit tests only (what CI also runs under ASan+UBSan)
#   make test-long       make test with WUKONG_TEST_LONG=1 (suites run their long variants:
#                        tests/lib.sh long_run), then every integration suite again against the
#                        simulator as KubeVirt 1.5 and 1.6 (SIM_KUBEVIRT_VERSION; 1.9 is the default)
#   make run             install missing packages, build, start the embedded stack
#   make bench           benchmarks (ratios against a baseline measured in the same run)
#   make format          clang-format every C file
#   make fuzz            libFuzzer harnesses (tests/fuzz/), each FUZZ_SECONDS (default 60)
#   make chaos           the 30-minute chaos run (tests/chaos/chaos.sh, CHAOS_SECONDS): kills,
#                        a broker outage and API faults under load, then the invariant table
#
# Knobs: DEVELOPER=1 (warnings are errors), SANITIZE=address,undefined (use with B=build-asan),
#        B=<dir> (build directory, default build).
#
# Every directory producers/*/, consumers/*/, tools/*/ holding a main.c is one binary named
# wukong-<dir> (a directory already named wukong* keeps its name). Its other .c files, those in
# its sub-folders too (the migrator's decide/, ctx/, flows/), also form an archive that unit tests
# may link, so service logic is testable without its main().

B ?= build
CC ?= cc
SANITIZE ?=
DEVELOPER ?=

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	-Wvla -Wpointer-arith -Wwrite-strings -Wnull-dereference -Wundef \
	-Wimplicit-fallthrough -fno-common
ifeq ($(shell $(CC) --version 2>/dev/null | grep -c gcc),1)
WARN += -Wformat-truncation
endif
ifeq ($(DEVELOPER),1)
WARN += -Werror
endif

CPPFLAGS += -D_GNU_SOURCE -Icore -MMD -MP
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 $(WARN)
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer -O1
LDFLAGS += -fsanitize=$(SANITIZE)
# GCC's "undefined" leaves out float→int overflow (issue 22: the clone parallelism check).
ifneq ($(findstring undefined,$(SANITIZE)),)
CFLAGS += -fsanitize=float-cast-overflow
LDFLAGS += -fsanitize=float-cast-overflow
endif
else
CPPFLAGS += -D_FORTIFY_SOURCE=2
endif
LDLIBS := -lrdkafka -lcurl -lcjson -lyaml -lmicrohttpd -lssl -lcrypto -lpthread -lm

CORE_SRC := $(sort $(wildcard core/*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(B)/obj/%.o)
CORE_LIB := $(B)/libwkcore.a

SVC_DIRS := $(patsubst %/main.c,%,$(sort $(wildcard producers/*/main.c consumers/*/main.c tools/*/main.c)))
binname = $(if $(filter wukong%,$(notdir $(1))),$(notdir $(1)),wukong-$(notdir $(1)))
BINS := $(foreach d,$(SVC_DIRS),$(B)/bin/$(call binname,$(d)))
SVC_LIBS := $(foreach d,$(SVC_DIRS),$(B)/obj/$(d)/lib.a)

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
HELPER_SRC := $(sort $(wildcard tests/helpers/*.c))
HELPER_BINS := $(HELPER_SRC:tests/helpers/%.c=$(B)/tests/%)

.SECONDARY:
.PHONY: FORCE all deps test test-long unit-test integration-test run bench format clean fuzz chaos
all: $(CORE_LIB) $(BINS) $(UNIT_BINS) $(HELPER_BINS)

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# The build's version: `git describe` when this is a git checkout, else the VERSION file. The
# header is rewritten only when the string changes, so a rebuild recompiles one file.
WK_BUILD_VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || cat VERSION 2>/dev/null || echo unknown)
$(B)/gen/wk_build_version.h: FORCE
	@mkdir -p $(@D)
	@echo '#define WK_BUILD_VERSION "$(WK_BUILD_VERSION)"' >$@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(B)/obj/core/wk_version.o: $(B)/gen/wk_build_version.h
$(B)/obj/core/wk_version.o: CPPFLAGS += -I$(B)/gen
FORCE:

$(CORE_LIB): $(CORE_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

define SERVICE_RULE
$(1)_OBJ := $$(patsubst %.c,$(B)/obj/%.o,$$(sort $$(shell find $(1) -name '*.c' ! -path '$(1)/main.c')))
$(B)/obj/$(1)/lib.a: $$($(1)_OBJ)
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
$(B)/bin/$(call binname,$(1)): $(B)/obj/$(1)/main.o $(B)/obj/$(1)/lib.a $(CORE_LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) $$^ $$(LDLIBS) -o $$@
endef
$(foreach d,$(SVC_DIRS),$(eval $(call SERVICE_RULE,$(d))))

# The console's page is assembled into its object (.incbin), so the object depends on the files.
$(B)/obj/consumers/console/con_assets.o: $(wildcard consumers/console/assets/*)

# The migrator's files include by layer ("decide/mig_plan.h", "ctx/mig_ctx.h", "flows/mig_cold.h"),
# from every layer and from the tests that use them.
$(B)/obj/consumers/migrator/%.o $(B)/obj/tests/%.o: CPPFLAGS += -Iconsumers/migrator

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(SVC_LIBS) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $< -Wl,--start-group $(SVC_LIBS) $(CORE_LIB) -Wl,--end-group $(LDLIBS) -lcmocka -o $@

$(B)/tests/%: $(B)/obj/tests/helpers/%.o $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The evacuation benchmark runs the migrator's planner against the simulator's transfer model.
$(B)/tests/evac_bench: $(B)/obj/tests/helpers/evac_bench.o $(B)/obj/consumers/migrator/lib.a \
		$(B)/obj/tools/sim/lib.a $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $< -Wl,--start-group $(filter %.a,$^) -Wl,--end-group $(LDLIBS) -o $@

deps:
	@tools/deps.sh

test: deps
	$(MAKE) all
	B=$(B) tests/run.sh
	FUZZ_SECONDS=3 tests/fuzz/run.sh

fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

chaos: all
	B=$(B) nice -n 10 tests/chaos/chaos.sh

test-long: deps
	$(MAKE) all
	WUKONG_TEST_LONG=1 B=$(B) tests/run.sh; rc=$$?; \
	for v in 1.5 1.6; do SIM_KUBEVIRT_VERSION=$$v B=$(B) tests/run.sh --integration || rc=1; done; \
	exit $$rc

unit-test: all
	B=$(B) tests/run.sh --unit

integration-test: all
	B=$(B) tests/run.sh --integration

run: deps
	$(MAKE) all
	B=$(B) tools/run.sh

bench: deps
	$(MAKE) all
	B=$(B) tests/bench/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(B)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
