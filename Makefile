# luaconn: `make demo` runs the end-to-end demo, `make test` runs every test.
# Both first run scripts/bootstrap.sh, which installs what is missing.

PREFIX  ?= /usr/local
DESTDIR ?=
PYTHON  ?= python3
BUILD   ?= build

CC      ?= cc
include runtime/build.mk
# The version lives in VERSION; the header, the library's file name, luaconn.pc and the
# Python package take it from there.
VERSION := $(shell cat VERSION)
SOVERSION = $(firstword $(subst ., ,$(VERSION)))
VERSION_H = $(BUILD)/include/luaconn_version.h
WARN     = -Wall -Wextra -Wshadow -Wno-unused-parameter
CFLAGS  ?= -O2 -g
# -MMD -MP: each object depends on exactly the headers it includes.
VENDORED_DIRS = $(LC_VENDORED:%=runtime/third_party/%)
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) -MMD -MP -Iruntime/include -I$(BUILD)/include -Iruntime/src \
             $(VENDORED_DIRS:%=-I%) $(shell pkg-config --cflags $(LC_PKG_CONFIG) 2>/dev/null)
LIBS     = $(shell pkg-config --libs $(LC_PKG_CONFIG) 2>/dev/null) $(LC_LIBS)
SAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

LAYER_SRC = $(foreach layer,$(LC_LAYERS),$(wildcard runtime/src/$(layer)/lc_*.c))
VENDORED_SRC = $(foreach name,$(LC_VENDORED),runtime/third_party/$(name)/$(name).c)
LIB_SRC  = $(LAYER_SRC) $(VENDORED_SRC)
CLI_SRC  = $(wildcard runtime/cli/*.c)
# Objects under DIR of the runtime's sources: $(call lib_objects,DIR)
lib_objects = $(LAYER_SRC:runtime/src/%.c=$(1)/%.o) $(VENDORED_SRC:runtime/%.c=$(1)/%.o)
LIB_OBJ  = $(call lib_objects,$(BUILD)/obj)
SAN_OBJ  = $(call lib_objects,$(BUILD)/san)
CLI_OBJ  = $(CLI_SRC:runtime/cli/%.c=$(BUILD)/obj/cli/%.o)
CLI_SAN_OBJ = $(CLI_SRC:runtime/cli/%.c=$(BUILD)/san/cli/%.o)
C_TEST_SRC = $(wildcard tests/c/*/test_*.c)
C_TESTS  = $(patsubst tests/c/%.c,$(BUILD)/tests/%,$(C_TEST_SRC))
HEADERS  = $(wildcard runtime/include/*.h runtime/src/*/*.h runtime/cli/*.h runtime/third_party/*/*.h)

.PHONY: all bootstrap python test test-c test-python fuzz check-layers format format-check demo bench \
        install uninstall clean

all: $(BUILD)/libluaconn.so $(BUILD)/libluaconn.a $(BUILD)/luaconn $(BUILD)/luaconn-san

bootstrap:
	@bash scripts/bootstrap.sh

$(BUILD)/obj/cli/%.o: runtime/cli/%.c | $(VERSION_H)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/san/cli/%.o: runtime/cli/%.c | $(VERSION_H)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(BUILD)/obj/%.o: runtime/src/%.c | $(VERSION_H)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LC_CFLAGS) -fPIC -c $< -o $@

$(BUILD)/san/%.o: runtime/src/%.c | $(VERSION_H)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LC_CFLAGS) $(SAN_FLAGS) -c $< -o $@

# Vendored libraries: their own code, so their own warnings stay theirs.
$(BUILD)/obj/third_party/%.o: runtime/third_party/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LC_CFLAGS) -w -fPIC -c $< -o $@

$(BUILD)/san/third_party/%.o: runtime/third_party/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LC_CFLAGS) $(SAN_FLAGS) -w -c $< -o $@

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

$(VERSION_H): VERSION
	@mkdir -p $(@D)
	printf '/* Generated from VERSION by make. */\n#define LUACONN_VERSION "%s"\n' $(VERSION) > $@

# libluaconn.so.VERSION with the soname libluaconn.so.SOVERSION, and the usual links.
$(BUILD)/libluaconn.so.$(VERSION): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libluaconn.so.$(SOVERSION) -o $@ $^ $(LIBS)

$(BUILD)/libluaconn.so: $(BUILD)/libluaconn.so.$(VERSION)
	ln -sf libluaconn.so.$(VERSION) $(BUILD)/libluaconn.so.$(SOVERSION)
	ln -sf libluaconn.so.$(SOVERSION) $@

$(BUILD)/libluaconn.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libluaconn-san.a: $(SAN_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/luaconn: $(CLI_OBJ) $(BUILD)/libluaconn.a
	$(CC) -o $@ $(CLI_OBJ) $(BUILD)/libluaconn.a $(LIBS)

# The CLI built with sanitizers: the integration tests run it, so every CLI test
# also checks the runtime for leaks and invalid accesses.
$(BUILD)/luaconn-san: $(CLI_SAN_OBJ) $(BUILD)/libluaconn-san.a
	$(CC) $(SAN_FLAGS) -o $@ $(CLI_SAN_OBJ) $(BUILD)/libluaconn-san.a $(LIBS)

$(BUILD)/tests/%: tests/c/%.c $(BUILD)/libluaconn-san.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -Itests/c -o $@ $< $(BUILD)/libluaconn-san.a \
	    $(LIBS) $(shell pkg-config --libs check)

test: bootstrap check-layers format-check all $(C_TESTS)
	@$(MAKE) --no-print-directory test-c
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5
	@$(MAKE) --no-print-directory test-python

# libFuzzer targets (tests/fuzz/fuzz_*.c) against the runtime built by clang with
# coverage, ASan and UBSan; each starts from its seed corpus in tests/fuzz/corpus/NAME
# and runs FUZZ_SECONDS (make test: 5). New inputs go to build/fuzz/corpus-NAME,
# crashes to build/fuzz/ (the harness aborts on a finding; fuzz_page on any difference
# between the C and Lua row paths, fuzz_json when json.encode of a decoded value does
# not decode back to an equal value).
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_FLAGS    = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJ      = $(call lib_objects,$(BUILD)/fuzzobj)
FUZZ_TARGETS  = $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

.SECONDARY: $(FUZZ_OBJ)
$(BUILD)/fuzzobj/%.o: runtime/src/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(ALL_CFLAGS) $(LC_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzzobj/third_party/%.o: runtime/third_party/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(ALL_CFLAGS) $(LC_CFLAGS) $(FUZZ_FLAGS) -w -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FUZZ_OBJ)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(ALL_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -Itests/fuzz -o $@ $< $(FUZZ_OBJ) $(LIBS)

fuzz: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  name=$${t#fuzz_}; mkdir -p $(BUILD)/fuzz/corpus-$$name; echo "== $$t ($(FUZZ_SECONDS) s)"; \
	  $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=$(BUILD)/fuzz/$$t- $(BUILD)/fuzz/corpus-$$name tests/fuzz/corpus/$$name \
	    > $(BUILD)/fuzz/$$t.log 2>&1 || { tail -n 40 $(BUILD)/fuzz/$$t.log; exit 1; }; \
	  grep -E '^#[0-9]+ *DONE' $(BUILD)/fuzz/$$t.log || tail -n 1 $(BUILD)/fuzz/$$t.log; done

# The runtime's folders are its layers: no include may point to a higher one.
check-layers:
	$(PYTHON) scripts/check_layers.py runtime/src

# C style (.clang-format): `make format` rewrites, `make format-check` (in make test)
# fails on any file it would change.
FORMAT_FILES = $(wildcard runtime/include/*.h runtime/src/*/*.[ch] runtime/cli/*.[ch] \
                          tests/c/*.h tests/c/*/*.c tests/fuzz/*.c examples/c/*.c bench/*.c)
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

test-c: $(C_TESTS)
	@set -e; for t in $(C_TESTS); do \
	  echo "== $$t"; LUACONN_SOURCE_DIR=$(CURDIR) CK_FORK=yes $$t; done

# The Python package (bindings/python) installed into $(PYTHON)'s environment; pip
# builds the runtime into it. Reinstalled only when a source it carries changed.
PY_INPUTS = $(LIB_SRC) $(HEADERS) runtime/build.mk VERSION $(wildcard lua/connectors/*.lua lua/luaconn/*.lua \
            bindings/python/*.py bindings/python/*.toml bindings/python/*.md \
            bindings/python/luaconn/*.py)

python: $(BUILD)/python-installed.stamp

$(BUILD)/python-installed.stamp: $(PY_INPUTS)
	$(PYTHON) -m pip install -q --disable-pip-version-check --root-user-action=ignore ./bindings/python
	@mkdir -p $(@D) && touch $@

test-python: all python
	LUACONN_SOURCE_DIR=$(CURDIR) LUACONN_CLI=$(CURDIR)/$(BUILD)/luaconn-san \
	  $(PYTHON) -m pytest -q tests

demo: bootstrap all python
	$(PYTHON) examples/demo.py --cli $(BUILD)/luaconn

# Benchmarks against the seed's Python connectors (bench/README.md); BENCH_SCALE
# scales every workload (0.1 = a tenth of the rows); BENCH_ONLY runs some of them
# (a comma-separated list of bench/run.py --only names, e.g. latency,pushdown).
BENCH_SCALE ?= 1
BENCH_ONLY ?=

$(BUILD)/bench-ceiling: bench/ceiling.c
	$(CC) -std=gnu11 $(WARN) -O2 $(shell pkg-config --cflags luajit) -o $@ $< \
	    $(shell pkg-config --libs luajit) -llua5.1-cjson $(LC_LIBS)

$(BUILD)/bench-mq-consumer: bench/mq_consumer.c
	$(CC) -std=gnu11 $(WARN) -O2 $(shell pkg-config --cflags librabbitmq) -o $@ $< \
	    $(shell pkg-config --libs librabbitmq)

bench: bootstrap all python $(BUILD)/bench-ceiling $(BUILD)/bench-mq-consumer
	LUACONN_CLI=$(CURDIR)/$(BUILD)/luaconn BENCH_CEILING=$(CURDIR)/$(BUILD)/bench-ceiling \
	  BENCH_MQ_CONSUMER=$(CURDIR)/$(BUILD)/bench-mq-consumer \
	  $(PYTHON) bench/run.py --scale $(BENCH_SCALE) $(if $(BENCH_ONLY),--only $(BENCH_ONLY)) \
	  --command "make bench BENCH_SCALE=$(BENCH_SCALE)$(if $(BENCH_ONLY), BENCH_ONLY=$(BENCH_ONLY))"

install: $(BUILD)/libluaconn.so $(BUILD)/libluaconn.a $(BUILD)/luaconn
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include \
	           $(DESTDIR)$(PREFIX)/share/luaconn/lua/connectors $(DESTDIR)$(PREFIX)/share/luaconn/lua/luaconn
	install -m 755 $(BUILD)/luaconn $(DESTDIR)$(PREFIX)/bin/luaconn
	install -m 755 $(BUILD)/libluaconn.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libluaconn.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libluaconn.so.$(SOVERSION)
	ln -sf libluaconn.so.$(SOVERSION) $(DESTDIR)$(PREFIX)/lib/libluaconn.so
	install -m 644 $(BUILD)/libluaconn.a $(DESTDIR)$(PREFIX)/lib/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@REQUIRES@|$(LC_PKG_CONFIG)|' -e 's|@LIBS@|$(LC_LIBS)|' \
	    runtime/luaconn.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/luaconn.pc
	install -m 644 runtime/include/luaconn.h $(VERSION_H) $(DESTDIR)$(PREFIX)/include/
	install -m 644 lua/connectors/*.lua $(DESTDIR)$(PREFIX)/share/luaconn/lua/connectors/
	install -m 644 lua/luaconn/*.lua $(DESTDIR)$(PREFIX)/share/luaconn/lua/luaconn/

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/bin/luaconn $(DESTDIR)$(PREFIX)/lib/libluaconn.* \
	       $(DESTDIR)$(PREFIX)/lib/pkgconfig/luaconn.pc $(DESTDIR)$(PREFIX)/include/luaconn.h \
	       $(DESTDIR)$(PREFIX)/include/luaconn_version.h $(DESTDIR)$(PREFIX)/share/luaconn

clean:
	rm -rf $(BUILD)

# make wheel: dist/luaconn-<version>-cp39-abi3-manylinux_2_N_x86_64.whl, self-contained
# (README "Installing on a cluster"). LuaJIT and rabbitmq-c are rebuilt as PIC
# archives from Debian's source packages once (build/deps); the wheel is rebuilt only
# when something it carries changed.
DEPS_DIR  = $(BUILD)/deps
DEPS_LIBS = $(addprefix $(DEPS_DIR)/prefix/lib/,$(LC_STATIC_ARCHIVES))

.PHONY: wheel deps
wheel: $(BUILD)/wheel/path

deps:
	@bash scripts/build-deps.sh $(DEPS_DIR)

$(DEPS_DIR)/stamp: | deps

# The CLI inside the wheel: the same archives as the extension, libcurl shared.
$(BUILD)/wheel/luaconn: $(CLI_OBJ) $(BUILD)/libluaconn.a $(DEPS_DIR)/stamp
	@mkdir -p $(@D)
	$(CC) -o $@ $(CLI_OBJ) $(BUILD)/libluaconn.a $(DEPS_LIBS) \
	    $(shell pkg-config --libs $(LC_STATIC_PKG_CONFIG)) $(LC_STATIC_LIBS)

$(BUILD)/wheel/path: $(BUILD)/wheel/luaconn $(PY_INPUTS) VERSION LICENSE scripts/build-wheel.sh \
                     scripts/build-deps.sh
	bash scripts/build-wheel.sh $(BUILD) $(BUILD)/wheel/luaconn dist
