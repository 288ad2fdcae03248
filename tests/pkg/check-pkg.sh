#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-pkg: the Debian packages, as a Debian 12 machine gets them.
#
#   1. build them out of the tree and lint them (tests/pkg/build-debs.sh);
#   2. debootstrap a minimal Debian 12 once (kept in $O/deb/base; needs the
#      Debian archive) and make two fresh roots from it for each run: "guest"
#      and "dom0" (overlayfs over the base, or a copy);
#   3. apt-get install ./xenvchan-agent_*.deb in the guest root and
#      ./xenvchan-bridge_*.deb in the dom0 root: dependencies come from the
#      archive, the maintainer scripts run (no service starts: no systemd
#      runs in a chroot);
#   4. check what the packages put there: the files, the conffiles, the
#      probe user, the units enabled for boot;
#   5. run the installed programs from the installed configuration files:
#      a xenstored emulator (tests/xsemu, on this machine, its sockets in a
#      directory both roots see) stands in for xenstore and the socket
#      channel for the vchan; the agent runs in the guest root, the bridge
#      in the dom0 root, and the installed check_xenvchan runs every command
#      of the default catalogue through the bridge, and one with --direct;
#   6. remove and purge the agent: its conffiles stay on remove, go on purge.
#
# What this does not prove: that systemd starts the units (no systemd runs
# here: the units are checked offline, tests/bats/install.bats), and the
# vchan itself (make check-xen does).  Needs root, mount (overlay, proc,
# bind) and the Debian archive.  Prints "N passed, N failed" last.
# Env: O (build dir, default build), XV_PKG_SKIP_BUILD=1 (reuse the .debs in
# $O/deb), XV_PKG_REBOOTSTRAP=1 (make the base again),
# XV_PKG_MIRROR (default: the host's Debian mirror, else deb.debian.org).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
O=${O:-build}
mkdir -p "$O"
out=$(cd "$O" && pwd)/deb
base=$out/base
run=$out/run
export LC_ALL=C
pass=0 fail=0
pids=()
mounts=()
t_start=$SECONDS

say() { printf '%s\n' "$*"; }
ok() {
	pass=$((pass + 1))
	say "ok - $*"
}
not_ok() {
	fail=$((fail + 1))
	say "not ok - $*"
}
# check DESCRIPTION CMD...: runs CMD, counts, shows its output on failure
check() {
	local d=$1 o
	shift
	if o=$("$@" 2>&1); then ok "$d"; else
		not_ok "$d"
		printf '%s\n' "$o" | sed 's/^/#   /' | tail -30
	fi
}
finish() {
	say "check-pkg: $((SECONDS - t_start)) s"
	say "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}
fatal() {
	not_ok "$*"
	finish
}

# pids of the processes whose root directory is one of our roots: started
# by this script (a daemon that escaped its pid, a probe left behind)
pids_in_roots() {
	local d r
	for d in /proc/[0-9]*; do
		r=$(readlink "$d/root" 2>/dev/null) || continue
		case $r in "$run"/*) echo "${d#/proc/}" ;; esac
	done
}
cleanup() {
	local p i
	pids+=($(pids_in_roots))
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'exit 1' INT TERM

xmount() {	# mount ARGS... TARGET (the last argument is remembered for cleanup)
	mount "$@" || return 1
	mounts+=("${!#}")
}

[ "$(id -u)" -eq 0 ] || { say "check-pkg: needs root (chroot, mount)"; not_ok "run as root"; finish; }

# ------------------------------------------------------------ 1. build
if [ "${XV_PKG_SKIP_BUILD:-0}" != 1 ]; then
	t=$SECONDS
	if O=$O tests/pkg/build-debs.sh >"$out.build-debs.log" 2>&1; then
		ok "packages built out of the tree, lintian clean ($((SECONDS - t)) s)"
	else
		not_ok "build-debs.sh (log: $out.build-debs.log)"
		tail -40 "$out.build-debs.log" | sed 's/^/#   /'
		finish
	fi
	sed -n '/^build-debs: lintian/,$p' "$out.build-debs.log" | sed 's/^/#   /'
fi
agent_deb=$(ls "$out"/xenvchan-agent_*.deb 2>/dev/null | head -1)
bridge_deb=$(ls "$out"/xenvchan-bridge_*.deb 2>/dev/null | head -1)
[ -n "$agent_deb" ] && [ -n "$bridge_deb" ] || fatal "no .deb files in $out"

# the package build happened in the export, never in the source tree
check "the package build left nothing in the source tree" \
	bash -c '! ls -d debian/build debian/tmp debian/.debhelper debian/files debian/*.substvars \
		debian/xenvchan-agent debian/xenvchan-bridge debian/debhelper-build-stamp 2>/dev/null | grep .'

# ------------------------------------------------------------ 2. roots
mirror=${XV_PKG_MIRROR:-$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' \
	/etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)}
mirror=${mirror:-http://deb.debian.org/debian}
if [ "${XV_PKG_REBOOTSTRAP:-0}" = 1 ] || [ ! -e "$base/.xv-complete" ]; then
	t=$SECONDS
	rm -rf "$base"
	say "# debootstrap --variant=minbase bookworm from $mirror (once; kept in $base)"
	if ! debootstrap --variant=minbase bookworm "$base" "$mirror" >"$out/debootstrap.log" 2>&1; then
		tail -20 "$out/debootstrap.log" | sed 's/^/#   /'
		fatal "debootstrap (log: $out/debootstrap.log)"
	fi
	# the host's archive configuration (stable, updates, security), so that
	# the libraries the packages were built against can be installed
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		rm -f "$base/etc/apt/sources.list"
		cp /etc/apt/sources.list.d/debian.sources "$base/etc/apt/sources.list.d/"
	fi
	printf '#!/bin/sh\nexit 101\n' >"$base/usr/sbin/policy-rc.d"
	chmod 755 "$base/usr/sbin/policy-rc.d"
	touch "$base/.xv-complete"
	ok "debootstrapped a minimal Debian 12 ($((SECONDS - t)) s)"
fi

# a fresh root: overlayfs over the base when it works, else a copy
make_root() {	# NAME
	local r=$run/$1
	mkdir -p "$run/$1.upper" "$run/$1.work" "$r"
	if ! xmount -t overlay overlay \
		-o "lowerdir=$base,upperdir=$run/$1.upper,workdir=$run/$1.work" "$r" 2>/dev/null; then
		cp -a "$base/." "$r/"
	fi
	xmount -t proc proc "$r/proc" &&
		xmount --bind /dev "$r/dev" &&
		xmount -t sysfs -o ro sysfs "$r/sys" &&
		mkdir -p "$r/run/xv" &&
		xmount --bind "$run/shared" "$r/run/xv" &&
		cp /etc/resolv.conf "$r/etc/resolv.conf" &&
		# what a booted Debian has (and check_disk reads); debootstrap
		# makes none
		{ [ -e "$r/etc/mtab" ] || ln -s ../proc/self/mounts "$r/etc/mtab"; }
}

rm -rf "$run"
mkdir -p "$run/shared/ch"
chmod 755 "$run/shared" "$run/shared/ch"
G=$run/guest
D=$run/dom0
make_root guest || fatal "making the guest root"
make_root dom0 || fatal "making the dom0 root"
cp "$agent_deb" "$G/tmp/"
cp "$bridge_deb" "$D/tmp/"

in_root() {	# ROOT CMD...: run CMD in ROOT with a clean environment
	local r=$1
	shift
	chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C \
		DEBIAN_FRONTEND=noninteractive "$@"
}
# the same for a daemon started with &: exec, so that $! is the daemon's
# own pid (chroot and env exec in turn)
root_exec() {
	local r=$1
	shift
	exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C "$@"
}

# ------------------------------------------------------------ 3. install
install_deb() {	# ROOT DEB
	in_root "$1" apt-get update -q &&
		in_root "$1" apt-get install -y -q --no-install-recommends "/tmp/$(basename "$2")"
}
check "apt-get install ./xenvchan-agent_*.deb into a fresh Debian 12 root" \
	install_deb "$G" "$agent_deb"
check "apt-get install ./xenvchan-bridge_*.deb into a fresh Debian 12 root" \
	install_deb "$D" "$bridge_deb"

# ------------------------------------------------------------ 4. what is there
# the package's files, without directories and /usr/share/doc
pkg_files() {	# ROOT PACKAGE
	in_root "$1" dpkg -L "$2" | while read -r f; do
		[ -d "$1$f" ] && continue
		case $f in /usr/share/doc/*) continue ;; esac
		echo "$f"
	done | sort
}
expect_files() {	# ROOT PACKAGE: stdin is the expected list
	local want got
	want=$(sort)
	got=$(pkg_files "$1" "$2")
	[ "$want" = "$got" ] || { diff <(echo "$want") <(echo "$got"); return 1; }
}
check "xenvchan-agent installed exactly its files" expect_files "$G" xenvchan-agent <<'EOF'
/etc/xenvchan/agent.cfg
/etc/xenvchan/probes.d/default.cfg
/lib/systemd/system/xenvchan-agent.service
/usr/lib/modules-load.d/xenvchan-agent.conf
/usr/lib/nagios/plugins/check_mem
/usr/lib/sysusers.d/xenvchan-agent.conf
/usr/sbin/xenvchan-agent
/usr/share/man/man5/xenvchan-agent.cfg.5.gz
/usr/share/man/man8/check_mem.8.gz
/usr/share/lintian/overrides/xenvchan-agent
/usr/share/man/man8/xenvchan-agent.8.gz
EOF
check "xenvchan-bridge installed exactly its files" expect_files "$D" xenvchan-bridge <<'EOF'
/etc/xenvchan/bridge.cfg
/lib/systemd/system/xenvchan-bridge.service
/usr/bin/xenvchan-inventory
/usr/lib/nagios/plugins/check_xenvchan
/usr/lib/sysusers.d/xenvchan-bridge.conf
/usr/sbin/xenvchan-bridge
/usr/share/lintian/overrides/xenvchan-bridge
/usr/share/man/man1/xenvchan-inventory.1.gz
/usr/share/man/man5/xenvchan-bridge.cfg.5.gz
/usr/share/man/man8/check_xenvchan.8.gz
/usr/share/man/man8/xenvchan-bridge.8.gz
EOF
check "the configuration files are conffiles" bash -c "
	in_root() { chroot \"\$1\" /usr/bin/dpkg-query -W -f='\${Conffiles}\n' \"\$2\"; }
	in_root '$G' xenvchan-agent | grep -q '^ /etc/xenvchan/agent.cfg ' &&
	in_root '$G' xenvchan-agent | grep -q '^ /etc/xenvchan/probes.d/default.cfg ' &&
	in_root '$D' xenvchan-bridge | grep -q '^ /etc/xenvchan/bridge.cfg '"
probe_user_ok() {
	local pw
	pw=$(in_root "$G" getent passwd xenvchan-probe) || { echo "no user xenvchan-probe"; return 1; }
	echo "$pw"
	IFS=: read -r name _ uid gid _ home shell <<<"$pw"
	[ "$uid" -lt 1000 ] && [ "$home" = /nonexistent ] && [ "$shell" = /usr/sbin/nologin ] &&
		[ ! -e "$G/nonexistent" ] &&
		[ "$(in_root "$G" getent group xenvchan-probe | cut -d: -f3)" = "$gid" ]
}
check "postinst created the system user xenvchan-probe (own group, no home, nologin)" probe_user_ok
check "the agent's unit is enabled for boot" \
	test -L "$G/etc/systemd/system/multi-user.target.wants/xenvchan-agent.service"
check "the bridge's unit is enabled for boot" \
	test -L "$D/etc/systemd/system/multi-user.target.wants/xenvchan-bridge.service"
check "the installed agent accepts the installed configuration" \
	in_root "$G" /usr/sbin/xenvchan-agent --check-config
check "the installed bridge accepts the installed configuration" \
	in_root "$D" /usr/sbin/xenvchan-bridge --check-config
check "the installed man pages open" bash -c "
	for p in xenvchan-agent.8 xenvchan-agent.cfg.5 check_mem.8; do
		zcat '$G'/usr/share/man/man\${p##*.}/\$p.gz | grep -q '^\.TH' || exit 1; done
	for p in xenvchan-bridge.8 xenvchan-bridge.cfg.5 check_xenvchan.8 xenvchan-inventory.1; do
		zcat '$D'/usr/share/man/man\${p##*.}/\$p.gz | grep -q '^\.TH' || exit 1; done"

# ------------------------------------------------------------ 5. run them
# xenstore: the emulator on this machine, domain 5 "web01"; its sockets are
# /run/xv/xs/socket (dom0) and /run/xv/xs/domain/5 (the guest) in the roots
xs=$run/shared/xs
mkdir -p "$xs"
if ! tests/xsemu/xenstored-emu --dir "$xs" --daemon --pid-file "$xs/pid" \
	--domain 5:web01 >"$run/xsemu.out" 2>&1 3>&-; then
	cat "$run/xsemu.out" | sed 's/^/#   /'
	fatal "the xenstored emulator did not start"
fi
pids+=("$(cat "$xs/pid")")
chmod 755 "$xs"

wait_for() {	# PATH PID: wait until PATH exists (10 s), while PID lives
	local i
	for i in $(seq 200); do
		[ -e "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# the agent, from the installed files and configuration; only the channel
# is given on the command line (there is no vchan here)
root_exec "$G" XENSTORED_PATH=/run/xv/xs/domain/5 /usr/sbin/xenvchan-agent \
	--config /etc/xenvchan/agent.cfg --channel socket:/run/xv/ch \
	>"$run/agent.log" 2>&1 &
agent_pid=$!
pids+=("$agent_pid")
if wait_for "$run/shared/ch/5-data.guest.probes.vchan" "$agent_pid"; then
	ok "the installed agent runs in the guest root and listens"
else
	sed 's/^/#   /' "$run/agent.log"
	fatal "the installed agent did not start"
fi

# check_xenvchan --direct, from the dom0 root, to the agent (no bridge yet)
direct() {
	local o rc=0
	o=$(in_root "$D" XENSTORED_PATH=/run/xv/xs/socket /usr/lib/nagios/plugins/check_xenvchan \
		--direct --channel socket:/run/xv/ch -H web01 -c check_mem -t 20) || rc=$?
	echo "$o (exit $rc)"
	[ $rc -eq 0 ] && [[ $o == "MEM OK - "* ]]
}
check "check_xenvchan --direct -H web01 -c check_mem: MEM OK" direct

# the bridge, from the installed files; /run/xenvchan is what systemd's
# RuntimeDirectory= would make
mkdir -p -m 755 "$D/run/xenvchan"
root_exec "$D" XENSTORED_PATH=/run/xv/xs/socket /usr/sbin/xenvchan-bridge \
	--config /etc/xenvchan/bridge.cfg --channel socket:/run/xv/ch \
	>"$run/bridge.log" 2>&1 &
bridge_pid=$!
pids+=("$bridge_pid")
if wait_for "$D/run/xenvchan/bridge.sock" "$bridge_pid"; then
	ok "the installed bridge runs in the dom0 root and listens on /run/xenvchan/bridge.sock"
else
	sed 's/^/#   /' "$run/bridge.log"
	fatal "the installed bridge did not start"
fi

# every command of the installed catalogue, through the bridge, with the
# installed plugin: the answer must come from the plugin (its own status
# word) with its state, never the bridge's or the agent's UNKNOWN
declare -A WORD=([check_load]=LOAD [check_disk_root]=DISK [check_disks]=DISK
	[check_swap]=SWAP [check_mem]=MEM [check_total_procs]=PROCS
	[check_zombie_procs]=PROCS [check_users]=USERS [check_apt]=APT)
via_bridge() {	# COMMAND
	local o rc=0
	o=$(in_root "$D" /usr/lib/nagios/plugins/check_xenvchan -H web01 -c "$1" -t 60) || rc=$?
	echo "$o (exit $rc)"
	[ $rc -le 2 ] && [[ $o == "${WORD[$1]} "* ]]
}
cmds=$(sed -n 's/^command\[\([a-z_]*\)\]=.*/\1/p' "$G/etc/xenvchan/probes.d/default.cfg")
[ "$(wc -w <<<"$cmds")" -eq ${#WORD[@]} ] || not_ok "the catalogue has other commands than this test knows: $cmds"
for c in $cmds; do
	o=$(via_bridge "$c")
	if [ $? -eq 0 ]; then ok "check_xenvchan -H web01 -c $c: ${o:0:90}"; else
		not_ok "check_xenvchan -H web01 -c $c"
		say "#   $o"
	fi
done

# Nagios runs the plugin as its own user, not as root: the socket is the
# package's group's (socket_group=xenvchan in the shipped bridge.cfg), and
# the administrator adds that user to it, as bridge.cfg says
as_nagios() {
	in_root "$D" runuser -u nagios -- /usr/lib/nagios/plugins/check_xenvchan -H web01 -c check_mem
}
nagios_refused() {
	local o rc=0
	in_root "$D" adduser --system --group --quiet --no-create-home --home /nonexistent nagios ||
		return 1
	o=$(as_nagios) || rc=$?
	echo "$o (exit $rc)"
	[ $rc -eq 3 ] && [[ $o != "MEM "* ]]
}
nagios_allowed() {
	local o rc=0
	in_root "$D" adduser --quiet nagios xenvchan || return 1
	o=$(as_nagios) || rc=$?
	echo "$o (exit $rc)"
	[ $rc -eq 0 ] && [[ $o == "MEM OK - "* ]]
}
check "a user outside the group xenvchan is refused by the socket (UNKNOWN)" nagios_refused
check "after 'adduser nagios xenvchan', check_xenvchan as nagios works" nagios_allowed

# the probes run as the package's probe user: a local command, added the
# way an administrator would, and a reload (SIGHUP)
echo 'command[whoami]=/usr/bin/id -un' >"$G/etc/xenvchan/probes.d/local.cfg"
kill -HUP "$agent_pid"
whoami_ok() {
	local o i
	for i in $(seq 50); do
		o=$(in_root "$D" /usr/lib/nagios/plugins/check_xenvchan -H web01 -c whoami) &&
			[ "$o" = xenvchan-probe ] && return 0
		sleep 0.1
	done
	echo "$o"
	return 1
}
check "after a reload, a local command runs as xenvchan-probe" whoami_ok
check "xenvchan-inventory (installed, dom0 root) lists web01" bash -c "
	chroot '$D' /usr/bin/env -i XENSTORED_PATH=/run/xv/xs/socket /usr/bin/xenvchan-inventory web01 |
		grep -q 'web01'"

kill -TERM "$bridge_pid" "$agent_pid" 2>/dev/null
wait "$bridge_pid" 2>/dev/null
check "the bridge stopped on SIGTERM" test $? -eq 0
wait "$agent_pid" 2>/dev/null
check "the agent stopped on SIGTERM" test $? -eq 0

# ------------------------------------------------------------ 6. remove, purge
remove_keeps_conffiles() {
	in_root "$G" dpkg --remove xenvchan-agent &&
		[ -f "$G/etc/xenvchan/agent.cfg" ] && [ ! -e "$G/usr/sbin/xenvchan-agent" ]
}
check "dpkg --remove xenvchan-agent keeps /etc/xenvchan/agent.cfg" remove_keeps_conffiles
purge_removes_all() {
	in_root "$G" dpkg --purge xenvchan-agent &&
		[ ! -e "$G/etc/xenvchan/agent.cfg" ] &&
		[ ! -e "$G/etc/xenvchan/probes.d/default.cfg" ] &&
		[ ! -e "$G/etc/systemd/system/multi-user.target.wants/xenvchan-agent.service" ] &&
		[ -f "$G/etc/xenvchan/probes.d/local.cfg" ]
}
check "dpkg --purge removes the conffiles and the unit's link, keeps the admin's local.cfg" \
	purge_removes_all

finish
