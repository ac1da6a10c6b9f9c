# lanswarm: LAN peer-to-peer file sharing.
#   make            build bin/lanswarm-*
#   make test       unit + integration tests (SAN=1: under ASan+UBSan)
#   make mutate     the mutation check: tests/mutations.txt's bugs must all be caught
#   make demo       three peers on loopback find each other and download
#   make bench      benchmarks against curl/nginx, aria2c, sha256sum
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
PKGS := libuv libcjson libcrypto libssl libmicrohttpd
SAN ?=

ifeq ($(PKG),1)
  # debian/rules: a separate tree, built with dpkg's hardening flags.
  BUILD := build/pkg
  BIN := build/pkg/bin
  SANFLAGS :=
  OPT :=
else ifeq ($(SAN),1)
  BUILD := build/san
  BIN := build/san/bin
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  OPT := -O1 -g
else
  BUILD := build/release
  BIN := bin
  SANFLAGS :=
  OPT := -O2 -g
endif

CFLAGS_PKG = $(shell pkg-config --cflags $(PKGS))
LIBS_PKG = $(shell pkg-config --libs $(PKGS))
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers $(OPT) $(SANFLAGS) $(COMMON_INC) $(CFLAGS_PKG) -MMD -MP
# --as-needed: only lanswarm-web really needs libmicrohttpd.
LDFLAGS += $(SANFLAGS) -Wl,--as-needed
LDLIBS += $(LIBS_PKG) -lm -lpthread

# Every program's --version: debian/changelog's, the one place it is written.
VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)

# common/ in layers, lowest first; a layer includes only its own and lower
# ones (scripts/check-layers.sh, run by `make test` and `make check`).
LAYERS := base wire store loop app
COMMON_INC := $(LAYERS:%=-Icommon/%)
COMMON_SRC := $(foreach l,$(LAYERS),$(wildcard common/$(l)/*.c))
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
LIBCOMMON := $(BUILD)/libcommon.a

PROGRAMS := announcer listener server downloader tracker tracker-client cli web
# Every program is bin/lanswarm-FOLDER, but cli/, which is bin/lanswarm itself,
# and tracker-client/, the tracker's client shell, bin/lanswarm-client.
out_name = $(if $(filter cli,$(1)),lanswarm,$(if $(filter tracker-client,$(1)),lanswarm-client,lanswarm-$(1)))
BINARIES := $(foreach p,$(PROGRAMS),$(BIN)/$(call out_name,$(p)))

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: structure layers all deps test-deps unit unit-valgrind integration integration-valgrind test demo bench install clean format fuzz fuzz-smoke deb check mutate
CONFIG_KEYS := $(BUILD)/tests/config_keys
all: deps $(BINARIES) $(CONFIG_KEYS)

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/common/app/ls_config.o: CPPFLAGS += -DLS_VERSION='"$(VERSION)"'
$(BUILD)/common/app/ls_config.o: debian/changelog

$(LIBCOMMON): $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	@$(AR) rcs $@ $^

# Each program: its folder's .c files plus libcommon.
define program_rule
$(1)_OBJ := $$(patsubst %.c,$(BUILD)/%.o,$$(wildcard $(1)/*.c))
$(BIN)/$(call out_name,$(1)): $$($(1)_OBJ) $$($(1)_EXTRA) $(LIBCOMMON)
	@mkdir -p $$(dir $$@)
	@echo "  LD $$@"
	@$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
# The dashboard's page, embedded in lanswarm-web (web/assets.h).
WEB_ASSETS := $(sort $(wildcard web/assets/*))
$(BUILD)/gen/assets.c: $(WEB_ASSETS) scripts/embed-assets.sh
	@mkdir -p $(dir $@)
	@echo "  EMBED $@"
	@scripts/embed-assets.sh $@ $(WEB_ASSETS)
$(BUILD)/gen/assets.o: $(BUILD)/gen/assets.c
	@$(CC) $(CPPFLAGS) $(CFLAGS) -Iweb -c $< -o $@
web_EXTRA := $(BUILD)/gen/assets.o

$(foreach p,$(PROGRAMS),$(eval $(call program_rule,$(p))))

# Unit tests link libcommon and the programs' modules (all but their main.o).
PROG_LIB_OBJ = $(filter-out %/main.o,$(foreach p,$(PROGRAMS),$($(p)_OBJ))) $(web_EXTRA)
$(BUILD)/tests/%: tests/unit/%.c tests/unit/helpers.h $(LIBCOMMON) $(PROG_LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) $(PROGRAMS:%=-I%) $(shell pkg-config --cflags cmocka) -o $@ $< $(PROG_LIB_OBJ) $(LIBCOMMON) $(LDFLAGS) $(LDLIBS) $(shell pkg-config --libs cmocka)

# The configuration table as text, for the docs check (test_config_docs.py).
$(CONFIG_KEYS): tests/tools/config_keys.c $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -o $@ $< $(LIBCOMMON) $(LDFLAGS) $(LDLIBS)

unit: test-deps $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done; echo "unit: $(words $(UNIT_BIN)) test programs passed" 

integration: test-deps $(BINARIES)
	LANSWARM_BIN=$(CURDIR)/$(BIN) /usr/bin/python3 -m pytest -q -rs -p no:cacheprovider --durations=12 tests/integration

# The unit tests under valgrind's memcheck: no error, no definite or indirect leak.
unit-valgrind: test-deps $(UNIT_BIN)
	@scripts/deps.sh valgrind
	@set -e; for t in $(UNIT_BIN); do echo "== valgrind $$t"; \
	  valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect $$t >/dev/null; done
	@echo "unit-valgrind: $(words $(UNIT_BIN)) test programs clean"

# The integration suite with every program under valgrind's memcheck: each run
# logs to build/valgrind/logs/, and any error or leak there fails the target.
# Programs run 20-50 times slower there: a test that misses one of its time
# bounds is run again (twice at most; python3-pytest-rerunfailures), while a
# memory error in any run, first or repeated, still fails the target.
VALGRIND_BIN := build/valgrind/bin
integration-valgrind: test-deps all
	@scripts/deps.sh valgrind
	@rm -rf build/valgrind && mkdir -p $(VALGRIND_BIN) build/valgrind/logs
	@for b in $(BINARIES); do n=$$(basename $$b); \
	  printf '#!/bin/sh\nexec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect --suppressions=%s --log-file=%s/%s.%%p.log %s "$$@"\n' \
	    "$(CURDIR)/tests/valgrind.supp" "$(CURDIR)/build/valgrind/logs" "$$n" "$(CURDIR)/$$b" > $(VALGRIND_BIN)/$$n; \
	  chmod +x $(VALGRIND_BIN)/$$n; done
	LANSWARM_BIN=$(CURDIR)/$(VALGRIND_BIN) LANSWARM_VALGRIND=1 /usr/bin/python3 -m pytest -q -rs -p no:cacheprovider --reruns 2 --durations=25 tests/integration
	@bad=$$(find build/valgrind/logs -type f -size +0); if [ -n "$$bad" ]; then \
	  for f in $$bad; do echo "== $$f"; head -40 $$f; done; echo "integration-valgrind: memcheck reported errors"; exit 1; fi; \
	  echo "integration-valgrind: $$(ls build/valgrind/logs | wc -l) program runs, memcheck clean"

test: test-deps all structure unit integration

# The standing mutation check: tests/mutations.txt's one-line bugs, each built
# in a scratch copy (build/mutate/tree) and run against the tests that must
# catch it; fails if one survives. MUTATE_ARGS="--only ID[,ID]" or "--list".
mutate: test-deps
	@/usr/bin/python3 scripts/mutate.py $(MUTATE_ARGS)

# The structure the tree keeps (docs/ARCHITECTURE.md): common/'s layers (each
# module includes only its own layer and those below), and no function of the
# product over 80 lines unless its comment says why ("long: ...").
structure: layers
	@python3 scripts/check-fnlen.py 80
layers:
	@scripts/check-layers.sh $(LAYERS)

demo: all
	@scripts/demo.sh

# The tracker's registry alone, for sizes beyond the open-file limit (bench/tracker.py).
REGISTRY_LOAD := $(BUILD)/bench/registry_load
$(REGISTRY_LOAD): bench/registry_load.c $(BUILD)/tracker/registry.o $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -Itracker -o $@ $< $(BUILD)/tracker/registry.o $(LIBCOMMON) $(LDFLAGS) $(LDLIBS)

bench: all $(REGISTRY_LOAD)
	@scripts/deps.sh bench
	@REGISTRY_LOAD=$(CURDIR)/$(REGISTRY_LOAD) bench/run.sh

# Static checks: the whole tree with clang -Wall -Wextra -Werror as well as
# gcc, and cppcheck with no finding.
check: structure
	@scripts/deps.sh check
	@$(MAKE) --no-print-directory CC=clang BUILD=build/clang BIN=build/clang/bin all
	cppcheck -q --enable=warning,performance,portability --std=c11 -D_GNU_SOURCE --inline-suppr \
	  --error-exitcode=1 --suppress=missingIncludeSystem \
	  --library=tests/cppcheck/cjson.cfg \
	  $(COMMON_INC) $(PROGRAMS:%=-I%) common $(PROGRAMS)
	@echo "check: clang -Werror and cppcheck clean"

# libFuzzer harnesses (clang, ASan + UBSan) for every parser of network input.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 30
FUZZ_HARNESSES := announce proto manifest tmsg tags config clientlog serverlog srvstatus lstatus events tagsq peers
FUZZ_BIN := $(FUZZ_HARNESSES:%=build/fuzz/fuzz_%)
FUZZ_SRC := $(COMMON_SRC) listener/peer_table.c
# The code under test is compiled once (libFuzzer's coverage, ASan, UBSan),
# each harness then links it: not once per harness (13 times the build).
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fno-sanitize-recover=undefined -Wall -Wextra -Werror \
  $(COMMON_INC) -Ilistener $(CFLAGS_PKG)
FUZZ_OBJ := $(FUZZ_SRC:%.c=build/fuzz/obj/%.o)
build/fuzz/obj/%.o: %.c $(wildcard common/*/*.h) listener/peer_table.h
	@mkdir -p $(dir $@)
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_OBJ) $(LIBS_PKG) -lm

fuzz:
	@scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory $(FUZZ_BIN)

# Each harness for FUZZ_SECONDS from the seed corpus (kept in git; new inputs
# go to build/fuzz/corpus-*). A crash fails the target and leaves its input
# in build/fuzz/artifacts/: add it to tests/fuzz/corpus/ as a regression seed.
fuzz-smoke: fuzz
	@set -e; mkdir -p build/fuzz/artifacts; for h in $(FUZZ_HARNESSES); do \
	  mkdir -p build/fuzz/corpus-$$h; \
	  echo "== fuzz_$$h for $(FUZZ_SECONDS) s"; \
	  build/fuzz/fuzz_$$h -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=build/fuzz/artifacts/$$h- -print_final_stats=1 \
	    build/fuzz/corpus-$$h tests/fuzz/corpus/$$h 2>build/fuzz/$$h.log \
	    || { tail -40 build/fuzz/$$h.log; exit 1; }; \
	  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' build/fuzz/$$h.log | tr '\n' ' '; echo; \
	done

BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
SYSTEMDUNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d

# Programs, man pages, systemd units (paths filled in), the system user,
# and a sample /etc/lanswarm/lanswarm.conf (an existing one is kept).
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(SYSCONFDIR)/lanswarm
	install -m 0755 $(BINARIES) $(DESTDIR)$(BINDIR)/
	install -m 0644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	for u in dist/systemd/*; do \
	  sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $$u > $(DESTDIR)$(SYSTEMDUNITDIR)/$$(basename $$u); \
	  chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$(basename $$u); done
	install -m 0644 dist/sysusers.d/lanswarm.conf $(DESTDIR)$(SYSUSERSDIR)/lanswarm.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/lanswarm/lanswarm.conf ] || \
	  install -m 0644 dist/lanswarm.conf $(DESTDIR)$(SYSCONFDIR)/lanswarm/lanswarm.conf

# A Debian package built with Debian's tools (debhelper); lands in build/deb/.
deb:
	@scripts/deps.sh deb
	dpkg-buildpackage -us -uc -b --no-sign
	rm -rf build/deb && mkdir -p build/deb
	mv ../lanswarm_*_*.deb ../lanswarm-dbgsym_*.deb ../lanswarm_*.buildinfo ../lanswarm_*.changes build/deb/
	@ls -l build/deb/*.deb

clean:
	rm -rf build bin

# Not build/mutate/: make mutate's scratch copy of the tree has its own.
-include $(shell find build -path build/mutate -prune -o -name '*.d' -type f -print 2>/dev/null)
