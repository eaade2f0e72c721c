# gonsters-worker: included by the top-level Makefile (after common/rules.mk),
# run from the top of the repository; uses BUILD, CC, GN_CFLAGS, SAN_FLAGS.
#
#   $(BUILD)/gonsters-worker   the sidecar (objects under $(BUILD)/worker/)
#   unit-worker                worker unit tests with SAN_FLAGS, then a replay
#                              of worker/tests/corpus/config through the
#                              config parser's fuzz target (gcc + SAN_FLAGS)
#   fuzz-worker                the same target under clang libFuzzer for
#                              FUZZ_SECONDS (not part of `make test`)
#   $(BUILD)/idle-subscriber   a paho subscriber that does nothing, for
#                              `make bench` (scripts/bench-worker.sh)

WORKER_SRCS := worker/main.c worker/config.c worker/log.c worker/mqtt.c \
               worker/spool.c worker/influx.c worker/writer.c worker/pg.c \
               worker/registry.c worker/alerts.c worker/metrics.c \
               worker/pgq.c
WORKER_OBJS := $(WORKER_SRCS:%.c=$(BUILD)/%.o)
WORKER_LIBS := $(BUILD)/libgonsters_common.a -lpaho-mqtt3a -lcurl -lpq \
               $(GN_COMMON_LIBS) -lpthread

# unit tests: $(BUILD)/worker/tests/<name> from worker/tests/<name>.c plus
# the worker sources listed in WORKER_TEST_SRCS_<name>; the check macros
# are common/tests/gn_test.h
WORKER_TESTS := $(BUILD)/worker/tests/test_config \
                $(BUILD)/worker/tests/test_spool
WORKER_TEST_SRCS_test_config := worker/tests/test_config.c worker/config.c
WORKER_TEST_SRCS_test_spool := worker/tests/test_spool.c worker/spool.c \
                               worker/log.c worker/pgq.c

WORKER_FUZZ_SRCS := worker/tests/fuzz_config.c worker/config.c
WORKER_FUZZ_DEPS := $(WORKER_FUZZ_SRCS) worker/config.h fuzz/gn_fuzz.h


$(BUILD)/gonsters-worker: $(WORKER_OBJS) $(BUILD)/libgonsters_common.a
	$(CC) $(GN_CFLAGS) -o $@ $(WORKER_OBJS) $(WORKER_LIBS) $(LDFLAGS)

$(BUILD)/idle-subscriber: worker/bench/idle_subscriber.c
	$(CC) $(GN_CFLAGS) -o $@ $< -lpaho-mqtt3a -lpthread

$(BUILD)/worker/%.o: worker/%.c
	@mkdir -p $(@D)
	$(CC) $(GN_CFLAGS) -I/usr/include/postgresql -MMD -MP -c -o $@ $<

-include $(WORKER_OBJS:.o=.d)


.SECONDEXPANSION:
$(BUILD)/worker/tests/test_%: $$(WORKER_TEST_SRCS_test_%) $(wildcard worker/*.h) \
                              common/tests/gn_test.h \
                              $(BUILD)/libgonsters_common_san.a
	@mkdir -p $(@D)
	$(CC) $(GN_CFLAGS) $(SAN_FLAGS) -Iworker -Icommon/tests -o $@ \
	    $(WORKER_TEST_SRCS_test_$*) $(BUILD)/libgonsters_common_san.a \
	    $(GN_COMMON_LIBS) -lpthread

$(BUILD)/worker/fuzz/replay_config: $(WORKER_FUZZ_DEPS) fuzz/replay.c
	@mkdir -p $(@D)
	$(CC) $(GN_CFLAGS) $(SAN_FLAGS) -Iworker -Ifuzz -o $@ \
	    $(WORKER_FUZZ_SRCS) fuzz/replay.c

$(BUILD)/worker/fuzz/libfuzzer_config: $(WORKER_FUZZ_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(GN_CFLAGS) $(FUZZ_FLAGS) -Iworker -Ifuzz -o $@ \
	    $(WORKER_FUZZ_SRCS)

WORKER_FUZZ_RECORDS_SRCS := worker/tests/fuzz_records.c worker/writer.c \
    worker/pgq.c worker/spool.c worker/log.c worker/influx.c worker/alerts.c \
    worker/registry.c worker/metrics.c worker/mqtt.c worker/config.c
WORKER_FUZZ_RECORDS_LIBS := -lpaho-mqtt3a -lcurl -lpq $(GN_COMMON_LIBS) -lpthread

$(BUILD)/worker/fuzz/replay_records: $(WORKER_FUZZ_RECORDS_SRCS) \
        $(wildcard worker/*.h) fuzz/replay.c fuzz/gn_fuzz.h \
        $(BUILD)/libgonsters_common_san.a
	@mkdir -p $(@D)
	$(CC) $(GN_CFLAGS) $(SAN_FLAGS) -Iworker -Ifuzz -I/usr/include/postgresql \
	    -o $@ $(WORKER_FUZZ_RECORDS_SRCS) fuzz/replay.c \
	    $(BUILD)/libgonsters_common_san.a $(WORKER_FUZZ_RECORDS_LIBS)

$(BUILD)/worker/fuzz/libfuzzer_records: $(WORKER_FUZZ_RECORDS_SRCS) \
        $(wildcard worker/*.h) fuzz/gn_fuzz.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(GN_CFLAGS) $(FUZZ_FLAGS) -Iworker -Ifuzz \
	    -I/usr/include/postgresql -o $@ $(WORKER_FUZZ_RECORDS_SRCS) \
	    $(GN_COMMON_SRCS) $(WORKER_FUZZ_RECORDS_LIBS)

unit-worker: $(WORKER_TESTS) $(BUILD)/worker/fuzz/replay_config \
             $(BUILD)/worker/fuzz/replay_records
	@set -e; for t in $(WORKER_TESTS); do \
	    echo "unit-worker: $$t"; \
	    UBSAN_OPTIONS=print_stacktrace=1 $$t; \
	done
	UBSAN_OPTIONS=print_stacktrace=1 \
	    $(BUILD)/worker/fuzz/replay_config worker/tests/corpus/config
	UBSAN_OPTIONS=print_stacktrace=1 \
	    $(BUILD)/worker/fuzz/replay_records worker/tests/corpus/records

fuzz-worker: $(BUILD)/worker/fuzz/libfuzzer_config \
             $(BUILD)/worker/fuzz/libfuzzer_records
	mkdir -p $(BUILD)/worker/fuzz/corpus
	cp -R worker/tests/corpus/config/. $(BUILD)/worker/fuzz/corpus/
	$(BUILD)/worker/fuzz/libfuzzer_config -max_total_time=$(FUZZ_SECONDS) \
	    -print_final_stats=1 -dict=worker/tests/config.dict \
	    -artifact_prefix=$(BUILD)/worker/fuzz/crash-config- \
	    $(BUILD)/worker/fuzz/corpus
	mkdir -p $(BUILD)/worker/fuzz/corpus-records
	cp -R worker/tests/corpus/records/. $(BUILD)/worker/fuzz/corpus-records/
	$(BUILD)/worker/fuzz/libfuzzer_records -max_total_time=$(FUZZ_SECONDS) \
	    -print_final_stats=1 \
	    -artifact_prefix=$(BUILD)/worker/fuzz/crash-records- \
	    $(BUILD)/worker/fuzz/corpus-records

.PHONY: unit-worker fuzz-worker
