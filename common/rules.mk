# common/rules.mk -- included by the top-level Makefile, run from the top of
# the repository.  Uses BUILD, CC, GN_CFLAGS, SAN_FLAGS from that Makefile.
#
#   $(BUILD)/libgonsters_common.a      the library (objects in $(BUILD)/common/)
#   $(BUILD)/libgonsters_common_san.a  the same built with SAN_FLAGS, for
#                                      sanitized unit tests of other parts
#   unit-common   build and run common/tests/test_*.c with SAN_FLAGS
#   fuzz-smoke    gcc + SAN_FLAGS replay of fuzz/corpus/<t>/ through each
#                 fuzz target (no libFuzzer needed)
#   fuzz          clang libFuzzer, FUZZ_SECONDS per target, on a copy of the
#                 corpus in $(BUILD)/fuzz/corpus/<t>/; crashes are written
#                 to $(BUILD)/fuzz/crash-<t>-*

GN_COMMON_SRCS := $(wildcard common/gn_*.c)
GN_COMMON_HDRS := $(wildcard common/gn_*.h)

GN_COMMON_OBJS     := $(GN_COMMON_SRCS:common/%.c=$(BUILD)/common/%.o)
GN_COMMON_SAN_OBJS := $(GN_COMMON_SRCS:common/%.c=$(BUILD)/common/san/%.o)

GN_COMMON_TESTS := $(patsubst common/tests/%.c,$(BUILD)/common/tests/%,\
                     $(wildcard common/tests/test_*.c))

GN_FUZZ_TARGETS := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))

# what a program linking the library needs too (gn_telemetry parses JSON
# with cJSON)
GN_COMMON_LIBS := -lcjson -lm

AR ?= ar


# the library

$(BUILD)/common/%.o: common/%.c $(GN_COMMON_HDRS)
	@mkdir -p $(@D)
	$(CC) $(GN_CFLAGS) -c -o $@ $<

$(BUILD)/common/san/%.o: common/%.c $(GN_COMMON_HDRS)
	@mkdir -p $(@D)
	$(CC) $(GN_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(BUILD)/libgonsters_common.a: $(GN_COMMON_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libgonsters_common_san.a: $(GN_COMMON_SAN_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^


# unit tests

$(BUILD)/common/tests/%: common/tests/%.c common/tests/gn_test.h \
                         common/tests/gn_ref_telemetry.h \
                         common/tests/gn_ref.h \
                         $(BUILD)/libgonsters_common_san.a
	@mkdir -p $(@D)
	$(CC) $(GN_CFLAGS) $(SAN_FLAGS) -o $@ $< \
	    $(BUILD)/libgonsters_common_san.a $(GN_COMMON_LIBS)

unit-common: $(GN_COMMON_TESTS)
	@set -e; for t in $(GN_COMMON_TESTS); do \
	    echo "unit-common: $$t"; \
	    UBSAN_OPTIONS=print_stacktrace=1 $$t; \
	done


# fuzzing: the same target source is linked either with fuzz/replay.c
# (gcc, sanitizers, corpus replay) or with libFuzzer (clang); the reference
# models in common/tests/gn_ref.h are shared with the unit tests

GN_FUZZ_HDRS := fuzz/gn_fuzz.h common/tests/gn_ref.h \
                common/tests/gn_ref_telemetry.h

$(BUILD)/fuzz/replay_%: fuzz/fuzz_%.c fuzz/replay.c $(GN_FUZZ_HDRS) \
                        $(BUILD)/libgonsters_common_san.a
	@mkdir -p $(@D)
	$(CC) $(GN_CFLAGS) $(SAN_FLAGS) -Icommon/tests -o $@ \
	    fuzz/fuzz_$*.c fuzz/replay.c $(BUILD)/libgonsters_common_san.a \
	    $(GN_COMMON_LIBS)

# the library is compiled in, not linked from the .a, so that libFuzzer's
# coverage instrumentation reaches it
$(BUILD)/fuzz/libfuzzer_%: fuzz/fuzz_%.c $(GN_FUZZ_HDRS) $(GN_COMMON_SRCS) \
                           $(GN_COMMON_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(GN_CFLAGS) $(FUZZ_FLAGS) -Icommon/tests -o $@ \
	    fuzz/fuzz_$*.c $(GN_COMMON_SRCS) $(GN_COMMON_LIBS)

fuzz-smoke: $(GN_FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)
	@set -e; for t in $(GN_FUZZ_TARGETS); do \
	    UBSAN_OPTIONS=print_stacktrace=1 \
	        $(BUILD)/fuzz/replay_$$t fuzz/corpus/$$t; \
	done

fuzz: $(GN_FUZZ_TARGETS:%=$(BUILD)/fuzz/libfuzzer_%)
	@set -e; for t in $(GN_FUZZ_TARGETS); do \
	    mkdir -p $(BUILD)/fuzz/corpus/$$t; \
	    cp -R fuzz/corpus/$$t/. $(BUILD)/fuzz/corpus/$$t/; \
	    dict=; test -f fuzz/$$t.dict && dict=-dict=fuzz/$$t.dict; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	    $(BUILD)/fuzz/libfuzzer_$$t -max_total_time=$(FUZZ_SECONDS) \
	        -print_final_stats=1 $$dict \
	        -artifact_prefix=$(BUILD)/fuzz/crash-$$t- \
	        $(BUILD)/fuzz/corpus/$$t; \
	done

.PHONY: unit-common fuzz-smoke fuzz
