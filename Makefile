# lanswarm: LAN peer-to-peer file sharing.
#   make            build bin/lanswarm-*
#   make test       unit + integration tests (SAN=1: under ASan+UBSan)
#   make demo       three peers on loopback find each other and download
#   make bench      benchmarks against curl/nginx, aria2c, sha256sum
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
PKGS := libuv libcjson libcrypto
SAN ?=

ifeq ($(SAN),1)
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
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers $(OPT) $(SANFLAGS) -Icommon $(CFLAGS_PKG) -MMD -MP
LDFLAGS += $(SANFLAGS)
LDLIBS += $(LIBS_PKG) -lm -lpthread

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
LIBCOMMON := $(BUILD)/libcommon.a

PROGRAMS := announcer listener server downloader tracker client
BINARIES := $(PROGRAMS:%=$(BIN)/lanswarm-%)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps test-deps unit integration test demo bench install clean format
all: deps $(BINARIES)

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(LIBCOMMON): $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	@$(AR) rcs $@ $^

# Each program: its folder's .c files plus libcommon.
define program_rule
$(1)_OBJ := $$(patsubst %.c,$(BUILD)/%.o,$$(wildcard $(1)/*.c))
$(BIN)/lanswarm-$(1): $$($(1)_OBJ) $(LIBCOMMON)
	@mkdir -p $$(dir $$@)
	@echo "  LD $$@"
	@$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call program_rule,$(p))))

# Unit tests link libcommon and the programs' modules (all but their main.o).
PROG_LIB_OBJ = $(filter-out %/main.o,$(foreach p,$(PROGRAMS),$($(p)_OBJ)))
$(BUILD)/tests/%: tests/unit/%.c tests/unit/helpers.h $(LIBCOMMON) $(PROG_LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) $(PROGRAMS:%=-I%) $(shell pkg-config --cflags cmocka) -o $@ $< $(PROG_LIB_OBJ) $(LIBCOMMON) $(LDFLAGS) $(LDLIBS) $(shell pkg-config --libs cmocka)

unit: test-deps $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done; echo "unit: $(words $(UNIT_BIN)) test programs passed" 

integration: test-deps $(BINARIES)
	LANSWARM_BIN=$(CURDIR)/$(BIN) /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration

test: test-deps all unit integration

demo: all
	@scripts/demo.sh

bench: all
	@scripts/deps.sh bench
	@bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINARIES) $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
