# Gonsters: build, local stack, tests and benchmarks.
#
#   make run    build and start the whole system with demo data
#   make test   build, then unit tests and integration tests on real services
#   make stop   stop what `make run` (or an interrupted `make test`) started
#
# Everything is built under $(BUILD); the stacks live under .run/.

SHELL      := /bin/bash
BUILD      ?= build
NGX_SRC    ?= /usr/share/nginx/src

GN_CFLAGS  = -std=gnu11 -O2 -g -Wall -Wextra -Werror -fPIC -D_GNU_SOURCE -Icommon
SAN_FLAGS  = -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=all

FUZZ_SECONDS ?= 30
FUZZ_CC    ?= clang
FUZZ_FLAGS  = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer

WORKER     := $(BUILD)/gonsters-worker

.PHONY: all build module worker deps unit test test-valgrind run stop bench \
        clean fuzz

all: build

build: module worker

include common/rules.mk
include worker/rules.mk

deps:
	@scripts/deps.sh

# nginx's configure takes ~20 s: it runs only when `config` changes (or the
# build directory is new, or a file is added to ngx_gonsters_module/,
# common/ or t/modules/); recompiling after an edit is instant.
$(BUILD)/nginx/Makefile: config t/modules/config scripts/configure-module.sh \
                        ngx_gonsters_module common t/modules
	scripts/configure-module.sh $(NGX_SRC) $(abspath $(BUILD)/nginx)

module: $(BUILD)/nginx/Makefile
	$(MAKE) -f $(abspath $(BUILD)/nginx/Makefile) -C $(NGX_SRC) modules

worker: $(WORKER)

unit: unit-common unit-worker fuzz-smoke

fuzz: fuzz-worker

test: deps build unit
	scripts/test.sh

# the integration suite with every test nginx under valgrind (slow)
test-valgrind: deps build unit
	GONSTERS_VALGRIND=1 GONSTERS_VALGRIND_SUPP=$(CURDIR)/t/valgrind.supp \
	    scripts/test.sh

run: deps build
	scripts/run.sh

stop:
	scripts/stack.sh stop .run/dev
	scripts/stack.sh stop .run/test

bench: deps build $(BUILD)/idle-subscriber
	scripts/bench.sh

clean:
	rm -rf $(BUILD)
