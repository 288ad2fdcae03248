# xenvchan-nrpe: GNU make, no autotools. All output goes to $(O) (default build/).
#
#   make            build everything (programs in $(O)/bin)
#   make check      unit tests + bats end-to-end; last line "N passed, N failed"
#   make asan       the whole check under ASan + UBSan (in build/asan)
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make check-xen  the whole system on real Xen 4.17 under QEMU
#   make demo       the main job on the emulated set-up
#   make install    PREFIX, DESTDIR, SYSCONFDIR
#
# Missing Debian packages are installed by scripts/deps.sh, which the
# generated $(O)/config.mk runs before anything is compiled.

O ?= build
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR ?=
SANITIZE ?=
FUZZ_SECONDS ?= 60
PKG_CONFIG ?= pkg-config

VERSION := 0.1.0

# quiet by default; make V=1 shows the full commands
ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2)
endif

# ---------------------------------------------------------------- toolchain
WARN := -Wall -Wextra -Werror -Wformat=2 -Wvla -Wstrict-prototypes -Wmissing-prototypes \
	-Wshadow -Wpointer-arith -Wcast-qual -Wwrite-strings -Wno-unused-parameter
HARDEN := -fstack-protector-strong -fPIE
HARDEN_LD := -pie -Wl,-z,relro,-z,now
ifeq ($(SANITIZE),)
OPT := -O2 -g -D_FORTIFY_SOURCE=2
else
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
HARDEN_LD += -fsanitize=address,undefined
endif
CFLAGS ?=
LDFLAGS ?=
XV_CFLAGS = -std=gnu11 $(OPT) $(WARN) $(HARDEN) -MMD -MP -DXV_VERSION='"$(VERSION)"' \
	-Iproto -Icommon $(PKG_CFLAGS) $(CFLAGS)
XV_LDFLAGS = $(HARDEN_LD) $(LDFLAGS)

# pkg-config results and the dependency check, made before anything else
NODEPS_GOALS := clean help
ifneq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
include $(O)/config.mk
endif

$(O)/config.mk: scripts/deps.sh Makefile
	@mkdir -p $(@D)
	@scripts/deps.sh build test
	@{ echo "PKG_CFLAGS := $$($(PKG_CONFIG) --cflags xenvchan xenstore zlib libmnl json-c openssl)"; \
	   echo "PKG_LIBS := $$($(PKG_CONFIG) --libs xenvchan xenstore zlib libmnl json-c openssl) -lev"; \
	   echo "CMOCKA_LIBS := $$($(PKG_CONFIG) --libs cmocka)"; } > $@.tmp && mv $@.tmp $@

# ---------------------------------------------------------------- sources
# proto/ is libxvproto.  In guest-agent/ and host-bridge/, every *_main.c is
# a program entry point; everything else there goes into the component's
# static library, which unit tests and fuzz targets link as well.
PROTO_SRCS := $(wildcard proto/*.c)
COMMON_SRCS := $(wildcard common/*.c)
AGENT_SRCS := $(filter-out %_main.c,$(wildcard guest-agent/*.c))
BRIDGE_SRCS := $(filter-out %_main.c,$(wildcard host-bridge/*.c))
PROBE_SRCS := $(wildcard probes/*.c)
TOOL_SRCS := $(wildcard tests/tools/*.c)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

# program name <- entry point (the name of the *_main.c with '_' -> '-',
# except the Nagios plugins, which keep their conventional check_ names)
AGENT_MAINS := $(wildcard guest-agent/*_main.c)
BRIDGE_MAINS := $(wildcard host-bridge/*_main.c)
main2prog = $(if $(filter check_%,$(notdir $(1))),$(patsubst %_main.c,%,$(notdir $(1))),$(subst _,-,$(patsubst %_main.c,%,$(notdir $(1)))))

LIBXVPROTO := $(O)/lib/libxvproto.a
LIBAGENT := $(O)/lib/libagent.a
LIBBRIDGE := $(O)/lib/libbridge.a
LIBCOMMON := $(O)/lib/libxvcommon.a
COMPONENT_LIBS := $(if $(AGENT_SRCS),$(LIBAGENT)) $(if $(BRIDGE_SRCS),$(LIBBRIDGE)) $(LIBCOMMON) $(LIBXVPROTO)

AGENT_PROGS := $(foreach m,$(AGENT_MAINS),$(O)/bin/$(call main2prog,$(m)))
BRIDGE_PROGS := $(foreach m,$(BRIDGE_MAINS),$(O)/bin/$(call main2prog,$(m)))
PROBE_PROGS := $(patsubst probes/%.c,$(O)/bin/%,$(PROBE_SRCS))
TOOL_PROGS := $(patsubst tests/tools/%.c,$(O)/tests/tools/%,$(TOOL_SRCS))
UNIT_PROGS := $(patsubst tests/unit/%.c,$(O)/tests/unit/%,$(UNIT_SRCS))
PROGS := $(AGENT_PROGS) $(BRIDGE_PROGS) $(PROBE_PROGS)

obj = $(patsubst %.c,$(O)/obj/%.o,$(1))

.PHONY: all check asan fuzz check-xen demo bench install uninstall clean help deps
.DEFAULT_GOAL := all
.SECONDARY:

all: $(COMPONENT_LIBS) $(PROGS) $(TOOL_PROGS) $(UNIT_PROGS)

$(O)/obj/%.o: %.c $(O)/config.mk
	@mkdir -p $(@D)
	$(call msg,CC,$<)
	$(Q)$(CC) $(XV_CFLAGS) -c -o $@ $<

$(LIBXVPROTO): $(call obj,$(PROTO_SRCS))
$(LIBAGENT): $(call obj,$(AGENT_SRCS))
$(LIBBRIDGE): $(call obj,$(BRIDGE_SRCS))
$(LIBCOMMON): $(call obj,$(COMMON_SRCS))
$(O)/lib/%.a:
	@mkdir -p $(@D)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

define prog_rule
$(O)/bin/$(call main2prog,$(1)): $(call obj,$(1)) $(COMPONENT_LIBS)
	@mkdir -p $$(@D)
	$$(call msg,LD,$$@)
	$$(Q)$$(CC) $$(XV_LDFLAGS) -o $$@ $$^ $$(PKG_LIBS)
endef
$(foreach m,$(AGENT_MAINS) $(BRIDGE_MAINS),$(eval $(call prog_rule,$(m))))

$(O)/bin/%: $(O)/obj/probes/%.o
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(XV_LDFLAGS) -o $@ $^

$(O)/tests/tools/%: $(O)/obj/tests/tools/%.o $(COMPONENT_LIBS)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(XV_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(O)/tests/unit/%: $(O)/obj/tests/unit/%.o $(COMPONENT_LIBS)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(XV_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)

# ---------------------------------------------------------------- tests
check: all
	@O=$(O) tests/run-tests.sh

asan:
	@$(MAKE) --no-print-directory O=$(O)/asan SANITIZE=1 check

# libFuzzer targets are built with clang from the same sources, with their
# own objects; each runs FUZZ_SECONDS on a scratch copy of its committed
# corpus (tests/fuzz/corpus/<target>/).
FUZZ_CC ?= clang
FUZZ_FLAGS = -std=gnu11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -Iproto -Icommon $(PKG_CFLAGS) \
	-DXV_VERSION='"$(VERSION)"' -DXV_FUZZING
# Each component is an archive, so a target links only the objects it uses
# (not, say, the agent's session code, which needs the agent's main).
fuzzobj = $(patsubst %.c,$(O)/fuzz/obj/%.o,$(1))
FUZZ_LIBS := $(if $(AGENT_SRCS),$(O)/fuzz/lib/libagent.a) $(if $(BRIDGE_SRCS),$(O)/fuzz/lib/libbridge.a) \
	$(O)/fuzz/lib/libxvcommon.a $(O)/fuzz/lib/libxvproto.a
FUZZ_PROGS := $(patsubst tests/fuzz/%.c,$(O)/fuzz/%,$(FUZZ_SRCS))
$(O)/fuzz/lib/libagent.a: $(call fuzzobj,$(AGENT_SRCS))
$(O)/fuzz/lib/libbridge.a: $(call fuzzobj,$(BRIDGE_SRCS))
$(O)/fuzz/lib/libxvcommon.a: $(call fuzzobj,$(COMMON_SRCS))
$(O)/fuzz/lib/libxvproto.a: $(call fuzzobj,$(PROTO_SRCS))
$(O)/fuzz/lib/%.a:
	@mkdir -p $(@D)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
$(O)/fuzz/.deps: scripts/deps.sh
	@mkdir -p $(@D)
	@scripts/deps.sh fuzz && touch $@
$(O)/fuzz/obj/%.o: %.c $(O)/config.mk | $(O)/fuzz/.deps
	@mkdir -p $(@D)
	$(call msg,CLANG,$<)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -c -o $@ $<
$(O)/fuzz/%: $(O)/fuzz/obj/tests/fuzz/%.o $(FUZZ_LIBS)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS)

fuzz: $(FUZZ_PROGS)
	@O=$(O) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run-fuzz.sh $(notdir $(FUZZ_PROGS))

check-xen: all
	@scripts/deps.sh xen
	@O=$(O) tests/xen/check-xen.sh

demo: all
	@echo "make demo: runs the xenstored emulator, an agent as an emulated guest and"
	@echo "the bridge with its NRPE listener, then queries them. The agent and bridge"
	@echo "are not built yet (see README, Status); nothing to run."

# ---------------------------------------------------------------- install
BINDIR := $(PREFIX)/bin
SBINDIR := $(PREFIX)/sbin
install: all
	@if [ -n "$(PROGS)" ]; then install -d $(DESTDIR)$(BINDIR) && \
		for p in $(PROGS); do install -m755 $$p $(DESTDIR)$(BINDIR)/; done; fi

uninstall:
	@for p in $(notdir $(PROGS)); do rm -f $(DESTDIR)$(BINDIR)/$$p; done

clean:
	rm -rf $(O)

help:
	@sed -n '1,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

deps:
	@scripts/deps.sh build test

-include $(shell find $(O)/obj $(O)/fuzz/obj -name '*.d' 2>/dev/null)
