#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# make install / make uninstall (the install section of the Makefile): the
# exact list of installed files with their modes, paths that follow the
# install variables, configuration files that are never overwritten, an
# uninstall that keeps what someone edited, and the installed units checked
# by systemd-analyze (syntax, and the exposure score as a ceiling).

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup() {
	T=$(mktemp -d /tmp/xvinstall.XXXXXX)
	R=$T/root
	# an install root whose path does not change from run to run (see
	# xmake_sysconf); tests run one at a time
	F=$XV_BUILD/install-root
	rm -rf "$F"
}

teardown() {
	rm -rf "$T" "$F"
}

# make in the source tree, on this test run's build directory
xmake() {
	make --no-print-directory -C "$XV_TOP" O="$XV_BUILD" "$@"
}

# SYSCONFDIR [ARG...]: make with that SYSCONFDIR, which is compiled into the
# programs, in a build directory of its own, kept between runs (so that the
# test run's programs keep /etc, and a second run only relinks nothing)
xmake_sysconf() {
	local s=$1
	shift
	make --no-print-directory -C "$XV_TOP" O="$XV_BUILD/other-sysconfdir/$(printf %s "$s" | tr / _)" \
		SYSCONFDIR="$s" "$@"
}

# "MODE PATH" of every file and symbolic link under $1, sorted; directories
# on their own lines as "MODE PATH/"
tree_of() {
	(cd "$1" && find . -mindepth 1 \( -type d -printf '%m %P/\n' \) -o -printf '%m %P\n' | sort)
}

# the files of a default install (PREFIX=/usr/local, SYSCONFDIR=/etc)
expected_files() {
	cat <<-'EOF'
	644 etc/xenvchan/agent.cfg
	644 etc/xenvchan/bridge.cfg
	644 etc/xenvchan/probes.d/default.cfg
	755 usr/lib/nagios/plugins/check_mem
	755 usr/lib/nagios/plugins/check_xenvchan
	755 usr/local/bin/xenvchan-inventory
	644 usr/local/lib/modules-load.d/xenvchan-agent.conf
	644 usr/local/lib/systemd/system/xenvchan-agent.service
	644 usr/local/lib/systemd/system/xenvchan-bridge.service
	644 usr/local/lib/sysusers.d/xenvchan-agent.conf
	644 usr/local/lib/sysusers.d/xenvchan-bridge.conf
	755 usr/local/sbin/xenvchan-agent
	755 usr/local/sbin/xenvchan-bridge
	644 usr/local/share/man/man1/xenvchan-inventory.1
	644 usr/local/share/man/man5/xenvchan-agent.cfg.5
	644 usr/local/share/man/man5/xenvchan-bridge.cfg.5
	644 usr/local/share/man/man8/check_mem.8
	644 usr/local/share/man/man8/check_xenvchan.8
	644 usr/local/share/man/man8/xenvchan-agent.8
	644 usr/local/share/man/man8/xenvchan-bridge.8
	EOF
}

@test "make install DESTDIR=: exactly the expected files, with their modes" {
	run xmake install DESTDIR="$R"
	assert_success
	run tree_of "$R"
	# every directory is 755, and there is nothing but these files
	assert_output "$( (expected_files | sed 's|^\([0-9]*\) \(.*\)$|\2|' |
		while read -r f; do d=$f; while d=$(dirname "$d") && [ "$d" != . ]; do echo "755 $d/"; done; done
		expected_files) | sort -u)"
}

@test "installed programs are the built ones, man pages are roff, units are unit files" {
	xmake install DESTDIR="$R" >/dev/null
	cmp "$R/usr/local/sbin/xenvchan-agent" "$XV_BIN/xenvchan-agent"
	cmp "$R/usr/lib/nagios/plugins/check_xenvchan" "$XV_BIN/check_xenvchan"
	cmp "$R/usr/lib/nagios/plugins/check_mem" "$XV_BIN/check_mem"
	run grep -c '^\.TH "xenvchan-agent" "8"' "$R/usr/local/share/man/man8/xenvchan-agent.8"
	assert_output 1
	run grep -h '^ExecStart=' "$R"/usr/local/lib/systemd/system/*.service
	assert_line 'ExecStart=/usr/local/sbin/xenvchan-agent --foreground --config /etc/xenvchan/agent.cfg'
	assert_line --regexp '^ExecStart=/usr/local/sbin/xenvchan-bridge .*--config /etc/xenvchan/bridge.cfg'
	# every template placeholder was filled in
	run grep -rl '@[A-Z_]*@' "$R/etc" "$R/usr/local/lib/systemd"
	assert_output ''
}

@test "paths follow PREFIX, SYSCONFDIR, NAGIOS_PLUGINDIR and SYSTEMDUNITDIR" {
	run xmake_sysconf /usr/local/etc install DESTDIR="$R" PREFIX=/usr \
		NAGIOS_PLUGINDIR=/usr/lib/monitoring-plugins SYSTEMDUNITDIR=/lib/systemd/system
	assert_success
	[ -x "$R/usr/sbin/xenvchan-agent" ]
	[ -x "$R/usr/bin/xenvchan-inventory" ]
	[ -x "$R/usr/lib/monitoring-plugins/check_mem" ]
	[ -x "$R/usr/lib/monitoring-plugins/check_xenvchan" ]
	[ -f "$R/usr/share/man/man5/xenvchan-agent.cfg.5" ]
	run grep -h '^Exec' "$R/lib/systemd/system/xenvchan-agent.service"
	assert_line 'ExecStart=/usr/sbin/xenvchan-agent --foreground --config /usr/local/etc/xenvchan/agent.cfg'
	run grep -c '^ExecStartPre=' "$R/lib/systemd/system/xenvchan-agent.service"
	assert_output 0
	run grep '^include_dir=' "$R/usr/local/etc/xenvchan/agent.cfg"
	assert_output 'include_dir=/usr/local/etc/xenvchan/probes.d/'
	run grep -c '^command\[[a-z_]*\]=/usr/lib/monitoring-plugins/check_' "$R/usr/local/etc/xenvchan/probes.d/default.cfg"
	assert_output "$(grep -c '^command\[' "$XV_TOP/probes/default.cfg")"
	# (man pages are built with SYSCONFDIR too: the test above)
	run grep -rE -e /usr/lib/nagios -e '(^|[^a-z])/etc/xenvchan' "$R/usr/local/etc" "$R/lib/systemd"
	assert_output ''
}

@test "a build with SYSCONFDIR=/usr/local/etc defaults to that, in programs and man pages" {
	# only these files, in the build directory xmake_sysconf uses
	local o=$XV_BUILD/other-sysconfdir/_usr_local_etc
	run xmake_sysconf /usr/local/etc "$o/bin/xenvchan-agent" "$o/bin/xenvchan-bridge" "$o/man/xenvchan-agent.8" \
		"$o/man/xenvchan-bridge.8" "$o/man/xenvchan-bridge.cfg.5"
	assert_success
	run "$o/bin/xenvchan-bridge" --help
	assert_output --partial 'configuration (default /usr/local/etc/xenvchan/bridge.cfg;'
	run "$o/bin/xenvchan-agent" --help
	assert_output --partial 'default /usr/local/etc/xenvchan/agent.cfg)'
	# the agent, given no --config, reads that file (absent here, or not)
	run "$o/bin/xenvchan-agent" --check-config
	assert_output --partial '/usr/local/etc/xenvchan/agent.cfg'
	refute_output --partial ' /etc/xenvchan'
	run grep -l '/usr/local/etc/xenvchan/' "$o/man/xenvchan-agent.8" "$o/man/xenvchan-bridge.8" \
		"$o/man/xenvchan-bridge.cfg.5"
	assert_equal "${#lines[@]}" 3
	run grep -E '(^|[^a-z/])/etc/xenvchan' "$o"/man/*
	assert_output ''
	# and the default build keeps /etc
	run "$XV_BIN/xenvchan-bridge" --help
	assert_output --partial 'configuration (default /etc/xenvchan/bridge.cfg;'
}

@test "the installed agent loads the installed configuration and catalogue" {
	# everything under $F (no DESTDIR), so that the paths inside the files
	# are real
	run xmake_sysconf "$F/etc" install PREFIX="$F/usr" NAGIOS_PLUGINDIR="$F/plugins"
	assert_success
	# the probe user and the socket group are replaced: this machine need
	# not have them
	sed -i 's/^nrpe_user=xenvchan-probe$/nrpe_user=nobody/' "$F/etc/xenvchan/agent.cfg"
	sed -i 's/^socket_group=xenvchan$/socket_group=root/' "$F/etc/xenvchan/bridge.cfg"
	run "$F/usr/sbin/xenvchan-agent" --check-config --config "$F/etc/xenvchan/agent.cfg"
	assert_success
	assert_output "$F/etc/xenvchan/agent.cfg: OK, $(grep -c '^command\[' "$XV_TOP/probes/default.cfg") commands"
	run "$F/usr/sbin/xenvchan-bridge" --check-config --config "$F/etc/xenvchan/bridge.cfg"
	assert_success
}

@test "a second install keeps an edited configuration file and puts the new one beside it" {
	xmake install DESTDIR="$R" >/dev/null
	local c=$R/etc/xenvchan
	echo 'command_timeout=30' >>"$c/agent.cfg"
	chmod 600 "$c/agent.cfg"
	cp "$c/bridge.cfg" "$T/bridge.before"
	touch -d '2001-01-01' "$c/bridge.cfg"
	run xmake install DESTDIR="$R"
	assert_success
	assert_output --partial "KEPT   $c/agent.cfg"
	refute_output --partial "bridge.cfg"
	run tail -1 "$c/agent.cfg"
	assert_output 'command_timeout=30'
	run stat -c %a "$c/agent.cfg"
	assert_output 600
	# the new version beside it, identical to a fresh install's
	cmp "$c/agent.cfg.new" "$XV_TOP/contrib/examples/agent.cfg"
	run stat -c %a "$c/agent.cfg.new"
	assert_output 644
	# an unedited file is left alone (not even rewritten)
	cmp "$c/bridge.cfg" "$T/bridge.before"
	[ "$(stat -c %Y "$c/bridge.cfg")" = "$(date -d 2001-01-01 +%s)" ]
	[ ! -e "$c/bridge.cfg.new" ]
	[ ! -e "$c/probes.d/default.cfg.new" ]
}

@test "a configuration file removed by the user is installed again" {
	xmake install DESTDIR="$R" >/dev/null
	rm "$R/etc/xenvchan/probes.d/default.cfg"
	xmake install DESTDIR="$R" >/dev/null
	cmp "$R/etc/xenvchan/probes.d/default.cfg" "$XV_TOP/probes/default.cfg"
}

@test "make uninstall after a plain install leaves no file behind" {
	xmake install DESTDIR="$R" >/dev/null
	run xmake uninstall DESTDIR="$R"
	assert_success
	refute_output --partial KEPT
	run find "$R" -not -type d
	assert_output ''
	# our own configuration directory goes too; shared ones (sbin, man8...) stay
	[ ! -e "$R/etc/xenvchan" ]
	[ -d "$R/usr/local/sbin" ]
}

@test "make uninstall keeps edited configuration files, and only those" {
	xmake install DESTDIR="$R" >/dev/null
	local c=$R/etc/xenvchan
	echo 'command_timeout=30' >>"$c/agent.cfg"
	echo 'command[x]=/bin/true' >"$c/probes.d/local.cfg"
	xmake install DESTDIR="$R" >/dev/null # makes agent.cfg.new
	run xmake uninstall DESTDIR="$R"
	assert_success
	assert_output --partial "KEPT   $c/agent.cfg: not the shipped file"
	run find "$R" -not -type d
	assert_output "$(printf '%s\n' "$c/agent.cfg" "$c/probes.d/local.cfg" | sort)"
	run tail -1 "$c/agent.cfg"
	assert_output 'command_timeout=30'
}

@test "make uninstall with other paths than the install removes no configuration" {
	xmake install DESTDIR="$R" >/dev/null
	# with another NAGIOS_PLUGINDIR, the catalogue would ship differently:
	# the installed one is not "ours" for that uninstall, so it stays
	run xmake uninstall DESTDIR="$R" NAGIOS_PLUGINDIR=/elsewhere
	assert_success
	assert_output --partial "KEPT   $R/etc/xenvchan/probes.d/default.cfg"
	[ -f "$R/etc/xenvchan/probes.d/default.cfg" ]
}

@test "the installed units pass systemd-analyze verify (programs, man pages, syntax)" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
	# installed under $F without DESTDIR, so that every path in the units
	# is real: verify checks that the programs exist, and (with MANPATH)
	# that the man pages of Documentation= do
	run xmake_sysconf "$F/etc" install PREFIX="$F/usr" NAGIOS_PLUGINDIR="$F/plugins" \
		SYSTEMDUNITDIR="$F/units"
	assert_success
	run env MANPATH="$F/usr/share/man" systemd-analyze verify \
		"$F/units/xenvchan-agent.service" "$F/units/xenvchan-bridge.service"
	assert_success
	assert_output ''
}

@test "the installed units stay hardened (systemd-analyze security ceilings)" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
	xmake install DESTDIR="$R" PREFIX=/usr SYSTEMDUNITDIR=/lib/systemd/system >/dev/null
	# ceilings: the scores noted in contrib/systemd/README.md, rounded up
	run systemd-analyze security --offline=yes --threshold=30 --root="$R" \
		"$R/lib/systemd/system/xenvchan-agent.service"
	assert_success
	run systemd-analyze security --offline=yes --threshold=30 --root="$R" \
		"$R/lib/systemd/system/xenvchan-bridge.service"
	assert_success
}

@test "install leaves the mode of existing directories alone" {
	mkdir -p "$R/etc/xenvchan"
	chmod 750 "$R/etc/xenvchan"
	xmake install DESTDIR="$R" >/dev/null
	run stat -c %a "$R/etc/xenvchan"
	assert_output 750
	run stat -c %a "$R/etc/xenvchan/probes.d"
	assert_output 755
}
