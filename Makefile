# SPDX-License-Identifier: GPL-2.0-or-later
# xenvchan-nrpe: GNU make, no autotools. All output goes to $(O) (default build/).
#
#   make            build everything (programs in $(O)/bin)
#   make check      unit tests + bats end-to-end; last line "N passed, N failed"
#   make asan       the whole check under ASan + UBSan (in build/asan)
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make fuzz-long  the same, 600 s each (FUZZ_LONG_SECONDS), for long runs
#   make check-xen  the whole system on real Xen 4.17 under QEMU
#   make check-xen-moves  the same, plus guests saved, restored and live-migrated
#                   with the fixed xen-evtchn/xen-gntalloc modules (kernel/)
#   make check-debs    the .debs built and linted in a root of each release (RELEASES)
#   make check-distro  our .debs on Debian + systemd + Xen (RELEASES="bookworm trixie")
#   make demo       the main job on the emulated set-up
#   make install    PREFIX, DESTDIR, SYSCONFDIR (SYSCONFDIR is compiled in: the
#                   programs' default configuration is SYSCONFDIR/xenvchan/)
#
# Missing Debian packages are installed by scripts/deps.sh, which the
# generated $(O)/config.mk runs before anything is compiled.

O ?= build
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR ?=
SANITIZE ?=
FUZZ_SECONDS ?= 60
FUZZ_LONG_SECONDS ?= 600
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
	-DXV_SYSCONFDIR='"$(SYSCONFDIR)"' -Iproto -Icommon $(PKG_CFLAGS) $(CFLAGS)
XV_LDFLAGS = $(HARDEN_LD) $(LDFLAGS)

# pkg-config results and the dependency check, made before anything else
NODEPS_GOALS := clean help
ifneq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
include $(O)/config.mk
# The programs' default configuration paths and the man pages follow
# SYSCONFDIR (-DXV_SYSCONFDIR); this file holds the value the build
# directory was made with, and changes (rebuilding everything) only when
# SYSCONFDIR does.
XV_SYSCONF_STAMP := $(O)/sysconfdir.stamp
$(shell mkdir -p '$(O)' && [ "$$(cat '$(XV_SYSCONF_STAMP)' 2>/dev/null)" = '$(SYSCONFDIR)' ] || \
	printf '%s\n' '$(SYSCONFDIR)' >'$(XV_SYSCONF_STAMP)')
endif

# LIBS_<package>: each library on its own, for the programs' own lists
# (below); PKG_LIBS: all of them, for unit tests, tools and fuzz targets.
# XENDL_CFLAGS: the sonames check_xenvchan loads for --direct
# (host-bridge/xendl.c), as the linker finds them here.
XV_PKGS := xenvchan xenstore zlib libmnl json-c openssl
$(O)/config.mk: scripts/deps.sh scripts/soname.sh Makefile
	@mkdir -p $(@D)
	@scripts/deps.sh build test
	@{ echo "PKG_CFLAGS := $$($(PKG_CONFIG) --cflags $(XV_PKGS))"; \
	   echo "PKG_LIBS := $$($(PKG_CONFIG) --libs $(XV_PKGS)) -lev"; \
	   for p in $(XV_PKGS); do echo "LIBS_$$p := $$($(PKG_CONFIG) --libs $$p)"; done; \
	   echo "LIBS_ev := -lev"; \
	   echo "XENDL_CFLAGS := -DXV_XENSTORE_SONAME='\"$$(CC='$(CC)' scripts/soname.sh xenstore $$($(PKG_CONFIG) --libs xenstore))\"'" \
		"-DXV_XENVCHAN_SONAME='\"$$(CC='$(CC)' scripts/soname.sh xenvchan $$($(PKG_CONFIG) --libs xenvchan))\"'"; \
	   echo "CMOCKA_LIBS := $$($(PKG_CONFIG) --libs cmocka)"; } > $@.tmp && mv $@.tmp $@

# ---------------------------------------------------------------- sources
# proto/ is libxvproto.  In guest-agent/ and host-bridge/, every *_main.c is
# a program entry point; everything else there goes into the component's
# static library, which unit tests and fuzz targets link as well.
PROTO_SRCS := $(wildcard proto/*.c)
COMMON_SRCS := $(wildcard common/*.c)
AGENT_SRCS := $(filter-out %_main.c,$(wildcard guest-agent/*.c))
# xendl.c stands in for the Xen libraries in check_xenvchan alone: in the
# archive, it would take their place in every program
BRIDGE_SRCS := $(filter-out %_main.c host-bridge/xendl.c,$(wildcard host-bridge/*.c))
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

.PHONY: all check asan fuzz fuzz-long check-xen check-xen-moves demo bench install uninstall clean help deps
.DEFAULT_GOAL := all
.SECONDARY:

all: $(COMPONENT_LIBS) $(PROGS) $(TOOL_PROGS) $(UNIT_PROGS)

$(O)/obj/%.o: %.c $(O)/config.mk $(XV_SYSCONF_STAMP)
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

# Each program links the libraries it uses, and no other: a library mapped
# is start-up time paid at every check.  check_xenvchan needs libxenstore
# and libxenvchan only for --direct: it loads them then (xendl.o).  A new
# program needs its line here.
PROG_LIBS_xenvchan-agent = $(LIBS_xenvchan) $(LIBS_xenstore) $(LIBS_zlib) $(LIBS_libmnl) $(LIBS_ev)
PROG_LIBS_xenvchan-bridge = $(LIBS_xenvchan) $(LIBS_xenstore) $(LIBS_zlib) $(LIBS_openssl) $(LIBS_ev)
PROG_LIBS_xenvchan-inventory = $(LIBS_xenstore) $(LIBS_json-c)
PROG_LIBS_check_xenvchan = $(LIBS_zlib) $(LIBS_ev)
PROG_OBJS_check_xenvchan = $(call obj,host-bridge/xendl.c)
$(call obj,host-bridge/xendl.c): XV_CFLAGS += $(XENDL_CFLAGS)

define prog_rule
$(O)/bin/$(call main2prog,$(1)): $(call obj,$(1)) $(PROG_OBJS_$(call main2prog,$(1))) $(COMPONENT_LIBS)
	@mkdir -p $$(@D)
	$$(call msg,LD,$$@)
	$$(Q)$$(CC) $$(XV_LDFLAGS) -o $$@ $$^ \
		$$(or $$(PROG_LIBS_$(call main2prog,$(1))),$$(error no PROG_LIBS_$(call main2prog,$(1)) in the Makefile))
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
# test_session and test_local make one calloc fail (a query without memory)
$(O)/tests/unit/test_session $(O)/tests/unit/test_local: XV_LDFLAGS += -Wl,--wrap=calloc

# ---------------------------------------------------------------- tests
check: all
	@scripts/deps.sh test nagios
	@O=$(O) tests/run-tests.sh

asan:
	@$(MAKE) --no-print-directory O=$(O)/asan SANITIZE=1 check

# libFuzzer targets are built with clang from the same sources, with their
# own objects; each runs FUZZ_SECONDS on a scratch copy of its committed
# corpus (tests/fuzz/corpus/<target>/).
FUZZ_CC ?= clang
FUZZ_FLAGS = -std=gnu11 -g -O1 -MMD -MP -fsanitize=fuzzer-no-link,address,undefined -Iproto -Icommon $(PKG_CFLAGS) \
	-DXV_VERSION='"$(VERSION)"' -DXV_SYSCONFDIR='"$(SYSCONFDIR)"' -DXV_FUZZING
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
$(O)/fuzz/obj/%.o: %.c $(O)/config.mk $(XV_SYSCONF_STAMP) | $(O)/fuzz/.deps
	@mkdir -p $(@D)
	$(call msg,CLANG,$<)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -c -o $@ $<
$(O)/fuzz/%: $(O)/fuzz/obj/tests/fuzz/%.o $(FUZZ_LIBS)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS)

fuzz: $(FUZZ_PROGS)
	@O=$(O) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run-fuzz.sh $(notdir $(FUZZ_PROGS))

# long runs, kept out of CI (which runs make fuzz with a short FUZZ_SECONDS)
fuzz-long: $(FUZZ_PROGS)
	@O=$(O) FUZZ_SECONDS=$(FUZZ_LONG_SECONDS) tests/fuzz/run-fuzz.sh $(notdir $(FUZZ_PROGS))

check-xen: all
	@scripts/deps.sh xen test
	@O=$(O) tests/xen/check-xen.sh

# check-xen with XEN_MOVES rounds of save/restore and of live migration (a
# PVH guest), the domUs running the kernel/ modules built for their kernel
XEN_MOVES ?= 3
# live migrations (PVH); CI sets 0: in 1 of 13 migrations under TCG the incoming
# guest died at once, before its kernel printed anything (not yet understood)
XEN_MIGRATES ?= $(XEN_MOVES)
check-xen-moves: all
	@scripts/deps.sh xen test
	@O=$(O) kernel/build.sh modules
	@kver=$$(ls $(O)/kernel/modules | sort -V | tail -n1); \
	 O=$(O) XEN_SAVE_RESTORE=$(XEN_MOVES) XEN_MIGRATE=$(XEN_MIGRATES) \
	 XEN_DOMU_MODULES="$(abspath $(O))/kernel/modules/$$kver/xen-evtchn.ko $(abspath $(O))/kernel/modules/$$kver/xen-gntalloc.ko" \
	 tests/xen/check-xen.sh

demo: all
	@O=$(O) scripts/demo.sh

# make soak: 100,000 checks with mixed outcomes through the bridge, memory
# and descriptors of agent and bridge measured at 0, 50,000 and 100,000,
# then 2,000 under valgrind memcheck (a few minutes; make check runs a
# 5,000-check version, tests/bats/soak.bats).  SOAK_ARGS: tests/soak/soak.sh
# options, e.g. SOAK_ARGS="-n 1000000 -k".
.PHONY: soak
soak: all
	@O=$(O) tests/soak/soak.sh $(SOAK_ARGS)

# make bench: this project against Debian's nrpe + check_nrpe and against the
# bare spawn of the same plugin, side by side in one run (a few minutes; not
# part of make check); make bench-xen: the same trivial check on real Xen in
# the QEMU lab.  Figures, table and plot in $(O)/bench (tests/bench/README.md).
.PHONY: bench-xen
BENCH_PROGS := $(O)/tests/bench/xvbench $(O)/tests/bench/spawn2
$(O)/tests/bench/xvbench: $(O)/obj/tests/bench/xvbench.o
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(XV_LDFLAGS) -o $@ $^ -lz -lpthread
# the floor's relay: nothing linked but libc
$(O)/tests/bench/spawn2: $(O)/obj/tests/bench/spawn2.o
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(XV_LDFLAGS) -o $@ $^

bench: $(PROGS) $(BENCH_PROGS)
	@scripts/deps.sh bench test
	@O=$(O) tests/bench/bench.sh

bench-xen: $(PROGS) $(TOOL_PROGS) $(BENCH_PROGS)
	@scripts/deps.sh bench xen test
	@O=$(O) tests/bench/xen/bench-xen.sh

# ---------------------------------------------------------------- install
# make install [DESTDIR=/staging] [PREFIX=/usr/local] [SYSCONFDIR=/etc]
#   [NAGIOS_PLUGINDIR=/usr/lib/nagios/plugins] [SYSTEMDUNITDIR=...] ...
# installs the programs, the man pages, the systemd units and the
# configuration examples (the Debian package runs it with PREFIX=/usr and
# splits the result, debian/*.install).  make uninstall removes them.
# Directories are made 755 when missing; existing ones are left as they are.
#
# Configuration files are never overwritten: when the file in place differs
# from the one this install ships, it stays as it is and the shipped one is
# written beside it as FILE.new.  make uninstall removes a configuration file
# (and a FILE.new) only when it is byte for byte the one this install would
# ship, with the same SYSCONFDIR and NAGIOS_PLUGINDIR; any other content was
# written by someone, and stays (uninstall names what it keeps).
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
NAGIOS_PLUGINDIR ?= /usr/lib/nagios/plugins
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
MODULESLOADDIR ?= $(PREFIX)/lib/modules-load.d
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
XV_CONFDIR = $(SYSCONFDIR)/xenvchan
XV_PROBE_USER := xenvchan-probe
XV_SOCKET_GROUP := xenvchan
SCDOC ?= scdoc

INST_SBIN := xenvchan-agent xenvchan-bridge
INST_BIN := xenvchan-inventory
INST_PLUGINS := check_xenvchan check_mem
INST_MAN := $(patsubst docs/man/%.scd,%,$(wildcard docs/man/*.scd))
INST_UNITS := xenvchan-agent.service xenvchan-bridge.service
# configuration files: installed name (under XV_CONFDIR) : source
INST_CONF := agent.cfg:contrib/examples/agent.cfg bridge.cfg:contrib/examples/bridge.cfg \
	probes.d/default.cfg:probes/default.cfg
INST_PROGS := $(addprefix $(O)/bin/,$(INST_SBIN) $(INST_BIN) $(INST_PLUGINS))
INST_STAGE := $(O)/install

# Paths in the shipped files follow the install variables: units are
# templates (@SBINDIR@ ...); configuration files are written for the
# defaults and rewritten when SYSCONFDIR or NAGIOS_PLUGINDIR differ.
INST_SUBST_UNIT = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
	-e 's|@CONFDIR@|$(XV_CONFDIR)|g' -e 's|@NAGIOS_PLUGINDIR@|$(NAGIOS_PLUGINDIR)|g'
INST_SUBST_CONF = sed -e 's|/etc/xenvchan|$(XV_CONFDIR)|g' -e 's|/usr/lib/nagios/plugins|$(NAGIOS_PLUGINDIR)|g'

.PHONY: programs man install-stage check-pkg check-debs check-distro

programs: $(INST_PROGS)

# the pages are written for SYSCONFDIR=/etc and show the real one
$(O)/man/%: docs/man/%.scd Makefile $(XV_SYSCONF_STAMP)
	@mkdir -p $(@D)
	$(call msg,SCDOC,$<)
	$(Q)sed -e 's|@VERSION@|$(VERSION)|g' -e 's|/etc/xenvchan|$(XV_CONFDIR)|g' $< | \
		$(SCDOC) >$@.tmp && \
	if grep -q '^\.TS' $@.tmp; then printf '%s\n' "'\\\" t" | cat - $@.tmp >$@.tbl && mv $@.tbl $@.tmp; fi && \
	mv $@.tmp $@

man: $(addprefix $(O)/man/,$(INST_MAN))

# the unit and configuration files as they will be installed, made afresh
# each time (they depend on the variables of this very make run)
install-stage:
	@rm -rf $(INST_STAGE) && mkdir -p $(INST_STAGE)/conf/probes.d $(INST_STAGE)/units
	@for c in $(INST_CONF); do \
		$(INST_SUBST_CONF) "$${c#*:}" >"$(INST_STAGE)/conf/$${c%%:*}" || exit 1; done
	@for u in $(INST_UNITS); do \
		$(INST_SUBST_UNIT) contrib/systemd/$$u.in >"$(INST_STAGE)/units/$$u" || exit 1; done

install: $(INST_PROGS) man install-stage
	$(call msg,INSTALL,'$(DESTDIR)$(PREFIX) $(DESTDIR)$(XV_CONFDIR)')
	$(Q)set -e; D='$(DESTDIR)'; \
	mkd() { for d; do [ -d "$$d" ] || install -d -m755 "$$d"; done; }; \
	mkd "$$D$(SBINDIR)" "$$D$(BINDIR)" "$$D$(NAGIOS_PLUGINDIR)" \
		"$$D$(SYSTEMDUNITDIR)" "$$D$(MODULESLOADDIR)" "$$D$(SYSUSERSDIR)" \
		"$$D$(XV_CONFDIR)" "$$D$(XV_CONFDIR)/probes.d"; \
	for p in $(INST_SBIN); do install -m755 $(O)/bin/$$p "$$D$(SBINDIR)/"; done; \
	for p in $(INST_BIN); do install -m755 $(O)/bin/$$p "$$D$(BINDIR)/"; done; \
	for p in $(INST_PLUGINS); do install -m755 $(O)/bin/$$p "$$D$(NAGIOS_PLUGINDIR)/"; done; \
	for m in $(INST_MAN); do \
		mkd "$$D$(MANDIR)/man$${m##*.}"; \
		install -m644 $(O)/man/$$m "$$D$(MANDIR)/man$${m##*.}/"; done; \
	for u in $(INST_UNITS); do install -m644 $(INST_STAGE)/units/$$u "$$D$(SYSTEMDUNITDIR)/"; done; \
	install -m644 contrib/systemd/xenvchan-agent.modules-load.conf \
		"$$D$(MODULESLOADDIR)/xenvchan-agent.conf"; \
	install -m644 contrib/systemd/xenvchan-agent.sysusers.conf "$$D$(SYSUSERSDIR)/xenvchan-agent.conf"; \
	install -m644 contrib/systemd/xenvchan-bridge.sysusers.conf "$$D$(SYSUSERSDIR)/xenvchan-bridge.conf"; \
	for c in $(INST_CONF); do \
		n=$${c%%:*}; s="$(INST_STAGE)/conf/$$n"; d="$$D$(XV_CONFDIR)/$$n"; \
		if [ ! -e "$$d" ] && [ ! -L "$$d" ]; then install -m644 "$$s" "$$d"; \
		elif cmp -s "$$s" "$$d"; then :; \
		else install -m644 "$$s" "$$d.new"; \
			echo "  KEPT   $$d: yours differs from the shipped one, which is $$d.new"; fi; \
	done
	@if [ -z '$(DESTDIR)' ] && ! getent passwd $(XV_PROBE_USER) >/dev/null; then \
		echo "  NOTE   the agent runs probes as '$(XV_PROBE_USER)' (nrpe_user= in agent.cfg): create it"; \
		echo "         with: systemd-sysusers $(SYSUSERSDIR)/xenvchan-agent.conf"; fi
	@if [ -z '$(DESTDIR)' ] && ! getent group $(XV_SOCKET_GROUP) >/dev/null; then \
		echo "  NOTE   the bridge gives its socket to the group '$(XV_SOCKET_GROUP)' (socket_group= in"; \
		echo "         bridge.cfg): create it with: systemd-sysusers $(SYSUSERSDIR)/xenvchan-bridge.conf"; fi

uninstall: install-stage
	$(call msg,REMOVE,'$(DESTDIR)$(PREFIX) $(DESTDIR)$(XV_CONFDIR)')
	$(Q)set -e; D='$(DESTDIR)'; \
	for p in $(INST_SBIN); do rm -f "$$D$(SBINDIR)/$$p"; done; \
	for p in $(INST_BIN); do rm -f "$$D$(BINDIR)/$$p"; done; \
	for p in $(INST_PLUGINS); do rm -f "$$D$(NAGIOS_PLUGINDIR)/$$p"; done; \
	for m in $(INST_MAN); do rm -f "$$D$(MANDIR)/man$${m##*.}/$$m"; done; \
	for u in $(INST_UNITS); do rm -f "$$D$(SYSTEMDUNITDIR)/$$u"; done; \
	rm -f "$$D$(MODULESLOADDIR)/xenvchan-agent.conf" "$$D$(SYSUSERSDIR)/xenvchan-agent.conf" \
		"$$D$(SYSUSERSDIR)/xenvchan-bridge.conf"; \
	for c in $(INST_CONF); do \
		n=$${c%%:*}; s="$(INST_STAGE)/conf/$$n"; d="$$D$(XV_CONFDIR)/$$n"; \
		for f in "$$d" "$$d.new"; do \
			if [ ! -e "$$f" ]; then :; \
			elif cmp -s "$$s" "$$f"; then rm -f "$$f"; \
			else echo "  KEPT   $$f: not the shipped file (edited?)"; fi; \
		done; \
	done; \
	rmdir "$$D$(XV_CONFDIR)/probes.d" "$$D$(XV_CONFDIR)" 2>/dev/null || true

# Debian packages: built from an export of the source tree (what git sees)
# under $(O)/deb, checked with lintian, installed into fresh debootstrapped
# roots under $(O)/deb and run there (tests/pkg/check-pkg.sh).  Needs root
# and the Debian archive; not part of make check.
check-pkg:
	@scripts/deps.sh build test pkg
	@O=$(O) tests/pkg/check-pkg.sh

# Our Debian packages, built per release in a root of that release and
# installed with apt into a systemd dom0 and a systemd PVH guest on that
# release's Xen, under QEMU (tests/distro/check-distro.sh).  Needs root and
# the Debian archive; the roots are cached under $(O)/distro.
RELEASES ?= bookworm trixie
# The first part of it alone (in CI): the packages built and linted
# (lintian of that release) inside a debootstrapped root of each release.
check-debs:
	@scripts/deps.sh pkg
	@pass=0 fail=0; for rel in $(RELEASES); do t0=$$(date +%s); \
	  if O=$(O) tests/distro/build-debs.sh $$rel; then pass=$$((pass + 1)); \
	    echo "step $$rel/build-debs PASS ($$(( $$(date +%s) - t0 )) s): built and lintian clean in a $$rel root"; \
	  else fail=$$((fail + 1)); echo "step $$rel/build-debs FAIL ($$(( $$(date +%s) - t0 )) s)"; fi; \
	done; echo "$$pass passed, $$fail failed"; [ $$fail -eq 0 ]

check-distro:
	@scripts/deps.sh pkg xen
	@O=$(O) RELEASES="$(RELEASES)" tests/distro/check-distro.sh

clean:
	rm -rf $(O)

help:
	@sed -n '1,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

deps:
	@scripts/deps.sh build test

-include $(shell find $(O)/obj $(O)/fuzz/obj -name '*.d' 2>/dev/null)
