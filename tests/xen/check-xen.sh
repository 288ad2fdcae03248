#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# check-xen.sh - "make check-xen": the whole system on real Xen 4.17.  Boots
# Xen, a busybox dom0 and PV domUs under QEMU (TCG, or KVM where the host has
# usable VT-x/AMD-V), each image carrying the project's binaries (the agent
# and the probe catalogue in the domUs, with the rogue agents of
# tests/tools for the hostile steps; the bridge, check_xenvchan and
# xenvchan-inventory in dom0), and runs the checks listed in steps/dom0.sh.
# While QEMU runs, the host itself queries the bridge's NRPE listener in
# dom0 with the real check_nrpe, through QEMU's forwarded loopback port
# (the host-* steps below).  Prints one line per step with its time since
# QEMU started and its duration; on failure, the output of the failing
# steps, the domU consoles and dom0's Xen state and bridge log; as its LAST
# line "N passed, N failed".  Exit status 0 only if every expected step
# passed.  A step that never reported (QEMU died or timed out) counts as
# failed, and so does a timeout.
#
#   add a program to an image:  one "path-under-O:/path/in/image" word below
#   add a check:                one "step NAME COMMAND..." line in steps/dom0.sh
#   change what the domUs run:  steps/domu.sh
#   add a host-side check:      HOST_STEPS and a host_step line in host_side()
#
# Env: O (build dir, default build; images and logs go to $O/xen),
#      ACCEL=auto|tcg|kvm, TIMEOUT (QEMU wall-clock limit in s, default 600: a hang
#      stops there; a normal run on an idle 2-core machine takes a few minutes),
#      MEM (QEMU MiB, 1536), DOM0MEM (768M), CPU (TCG model, qemu64,+rdrand),
#      NRPE_PORT (host port forwarded to dom0:5666; default: a free one),
#      XEN_SAVE_RESTORE=N: also xl save + xl restore the guest N times in a
#      row and check each time that it answers under its new domid and that
#      its console shows no BUG/WARNING/Oops (steps/dom0-save-restore.sh: off
#      by default, it fails on a guest kernel bug, see there),
#      XEN_MIGRATE=N: also boot a PVH guest and live-migrate it to this host
#      N times, with the same checks (steps/dom0-migrate.sh; off by default
#      for the same reason; under TCG the CPU then gets +svm,+npt),
#      XEN_DOMU_MODULES="a.ko b.ko": kernel modules that replace the domU's
#      own of the same name (e.g. the fixed xen-evtchn.ko of kernel/),
#      XEN_SHELL=1: boot interactively to a root shell in dom0 (Ctrl-a x quits)
set -uo pipefail

# project programs in the images: "path under $O:path in the image"
DOM0_BINS="bin/xenvchan-bridge:/usr/sbin/xenvchan-bridge
	bin/check_xenvchan:/usr/lib/nagios/plugins/check_xenvchan
	bin/xenvchan-inventory:/usr/bin/xenvchan-inventory
	tests/tools/xvquery:/usr/bin/xvquery"
DOMU_BINS="bin/xenvchan-agent:/usr/sbin/xenvchan-agent
	bin/check_mem:/usr/lib/nagios/plugins/check_mem
	tests/tools/hostile-agent:/usr/bin/hostile-agent
	tests/tools/rogue-agent:/usr/bin/rogue-agent"
# the steps the host runs (host_side below), with the real check_nrpe
HOST_STEPS=(host-nrpe-version host-nrpe-check_load host-nrpe-v2 host-nrpe-output-60k
	host-nrpe-unknown-guest host-nrpe-plain-refused)
CHECK_NRPE=/usr/lib/nagios/plugins/check_nrpe

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top" || exit 1
O=${O:-build}
O=$(mkdir -p "$O" && cd "$O" && pwd) || exit 1
XOUT=$O/xen
SERIAL=$XOUT/serial.log
HOSTLOG=$XOUT/host.log
TIMEOUT=${TIMEOUT:-600}
T0=${EPOCHREALTIME/./}

say() { echo "check-xen: $*"; }
since() { # microsecond stamp -> "12.3"
	local d=$(((${EPOCHREALTIME/./} - $1) / 100000))
	echo "$((d / 10)).$((d % 10))"
}
stamp_of() { # microsecond stamp -> "[  12.34]", the serial log's format
	local d=$(((${EPOCHREALTIME/./} - $1) / 10000))
	printf '[%4d.%02d]' $((d / 100)) $((d % 100))
}

# the expected steps: the names of the step/gate lines of dom0.sh, then the
# host's
step_names() { # FILE: the names of its step/gate lines
	sed -nE 's/^[[:space:]]*(step|gate)[[:space:]]+([A-Za-z0-9_-]+).*/\2/p' "$1"
}
mapfile -t EXPECTED < <(step_names "$here/steps/dom0.sh")
EXPECTED+=("${HOST_STEPS[@]}")
DOM0_FLAGS=
rounds_steps() { # FILE ROUNDS: its step names; those ending in "-r" once per round
	local n r names
	mapfile -t names < <(step_names "$1")
	for n in "${names[@]}"; do [[ $n == *-r ]] || EXPECTED+=("$n"); done
	for ((r = 1; r <= $2; r++)); do
		for n in "${names[@]}"; do [[ $n == *-r ]] && EXPECTED+=("$n$r"); done
	done
}
SR_ROUNDS=${XEN_SAVE_RESTORE:-0}
[[ $SR_ROUNDS =~ ^[0-9]+$ ]] || SR_ROUNDS=0
if [ "$SR_ROUNDS" -gt 0 ]; then
	rounds_steps "$here/steps/dom0-save-restore.sh" "$SR_ROUNDS"
	DOM0_FLAGS+=" xentest.saverestore=$SR_ROUNDS"
fi
MG_ROUNDS=${XEN_MIGRATE:-0}
[[ $MG_ROUNDS =~ ^[0-9]+$ ]] || MG_ROUNDS=0
if [ "$MG_ROUNDS" -gt 0 ]; then
	rounds_steps "$here/steps/dom0-migrate.sh" "$MG_ROUNDS"
	DOM0_FLAGS+=" xentest.migrate=$MG_ROUNDS"
fi

# the result line when nothing could be booted: every step is a failure
give_up() {
	say "FAIL: $*"
	echo "0 passed, $((${#EXPECTED[@]} + 1)) failed"
	exit 1
}

# ---- images
prefix_bins() { # "src:dest ..." -> the same with src under $O
	local pair out=
	for pair in $1; do out+="$O/${pair%%:*}:${pair#*:} "; done
	echo "$out"
}
mkdir -p "$XOUT"
# one run per build directory: a second one would rebuild the images and
# truncate the serial log under the first
exec 9>"$XOUT/.lock"
flock -n 9 || give_up "another check-xen is running in $XOUT"
t=${EPOCHREALTIME/./}
if ! DOM0_BINS=$(prefix_bins "$DOM0_BINS") DOMU_BINS=$(prefix_bins "$DOMU_BINS") \
	DOMU_MODULES=${XEN_DOMU_MODULES:-} \
	"$here/build-images.sh" "$XOUT" >"$XOUT/build.log" 2>&1; then
	tail -20 "$XOUT/build.log"
	give_up "building the images failed (log: $XOUT/build.log)"
fi
say "images built in $(since "$t") s: $(tail -1 "$XOUT/build.log")"

# ---- boot
ACCEL=${ACCEL:-auto}
if [ "$ACCEL" = auto ]; then
	# /dev/kvm alone is not enough: a KVM that is not VT-x/AMD-V based (e.g.
	# kvm_pvm) cannot run Xen ("KVM internal error ... emulation failure")
	if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		ACCEL=kvm
	else
		ACCEL=tcg
	fi
fi
case $ACCEL in
kvm) ACC=(-enable-kvm -cpu host) ;;
# -cpu max crashes dom0 (SMAP/SMEP emulation); without rdrand the dom0
# kernel's entropy pool takes minutes to fill
# (+svm,+npt for XEN_MIGRATE: Xen then has HAP, which PVH guests need)
tcg)
	cpu=qemu64,+rdrand
	[ "$MG_ROUNDS" -gt 0 ] && cpu+=,+svm,+npt
	ACC=(-accel tcg,thread=multi -cpu "${CPU:-$cpu}")
	;;
*) give_up "ACCEL must be auto, tcg or kvm, not '$ACCEL'" ;;
esac

# dom0's NIC (for the NRPE listener): QEMU user networking with restrict=on,
# so nothing inside QEMU can reach out; only the forwarded port comes in,
# from the host's loopback.  dom0 gets no default route either.
free_port() {
	local p
	for p in $(shuf -i 20000-59999 -n 50); do
		(exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}
NRPE_PORT=${NRPE_PORT:-$(free_port)} || give_up "no free local port for the NRPE forward"
NET=(-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$NRPE_PORT-10.0.2.15:5666"
	-device e1000,netdev=n0,romfile=)

DOM0MEM=${DOM0MEM:-768M}
# commas inside -append and module command lines must be doubled
XEN_CMDLINE="console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all dom0_mem=$DOM0MEM,,max:$DOM0MEM dom0_max_vcpus=2"
DOM0_CMDLINE="console=hvc0 panic=-1 rdinit=/init$DOM0_FLAGS"
QEMU=(qemu-system-x86_64 "${ACC[@]}" -m "${MEM:-1536}" -smp 2 -nographic -display none
	-no-reboot "${NET[@]}" -serial mon:stdio -kernel xen -append "$XEN_CMDLINE")
cd "$XOUT" || exit 1 # relative module paths: no space or comma to escape

if [ "${XEN_SHELL:-0}" = 1 ]; then
	say "dom0's port 5666 is 127.0.0.1:$NRPE_PORT here"
	exec "${QEMU[@]}" -initrd "vmlinux.gz $DOM0_CMDLINE xentest.shell,dom0.cpio.gz"
fi

# timestamp every serial line with the seconds since QEMU started
stamp() {
	local line d t0=$1
	while IFS= read -r line || [ -n "$line" ]; do
		d=$(((${EPOCHREALTIME/./} - t0) / 10000))
		printf '[%4d.%02d] %s\n' $((d / 100)) $((d % 100)) "${line%$'\r'}"
	done
}

# ---- the host's own steps, while QEMU runs: the same markers as dom0's
# (@@RUN, "| " output, @@STEP NAME PASS|FAIL (SECS s) detail) in $HOSTLOG
host_step() { # NAME FUNCTION ARGS...
	local name=$1 t rc out last
	shift
	t=${EPOCHREALTIME/./}
	echo "$(stamp_of "$QT0") @@RUN $name: $*" >>"$HOSTLOG"
	out=$("$@" 2>&1)
	rc=$?
	sed "s/^/$(stamp_of "$QT0") | /" <<<"$out" >>"$HOSTLOG"
	last=$(grep -v '^[[:space:]]*$' <<<"$out" | tail -n 1 | cut -c1-160)
	if [ $rc -eq 0 ]; then
		echo "$(stamp_of "$QT0") @@STEP $name PASS ($(since "$t") s) $last" >>"$HOSTLOG"
	else
		echo "$(stamp_of "$QT0") @@STEP $name FAIL ($(since "$t") s) rc=$rc: $last" >>"$HOSTLOG"
	fi
}
nrpe() { # check_nrpe ARGS..., with its default TLS (anonymous DH)
	timeout 60 "$CHECK_NRPE" -H 127.0.0.1 -p "$NRPE_PORT" -t 40 "$@"
}
expect_nrpe() { # RC TEXT-REGEX ARGS...: check_nrpe's exit status and output
	local want_rc=$1 re=$2 out rc
	shift 2
	out=$(nrpe "$@")
	rc=$?
	echo "$out"
	if [ "$rc" = "$want_rc" ] && grep -qE -- "$re" <<<"$out"; then
		echo "exit status $rc as expected"
		return 0
	fi
	echo "exit status $rc, wanted $want_rc; wanted output matching: $re"
	return 1
}
expect_nrpe_big() { # the 60 KiB probe output, byte for byte, over NRPE v4
	local want got n rc
	nrpe -c probe/xt_big >"$XOUT/host-big.out"
	rc=$?
	n=$(wc -c <"$XOUT/host-big.out")
	want=$(sh "$here/files/probes/big.sh" 61440 | md5sum | cut -d' ' -f1)
	got=$(md5sum <"$XOUT/host-big.out" | cut -d' ' -f1)
	head -c 200 "$XOUT/host-big.out"
	echo
	echo "... $n bytes, md5 $got (big.sh 61440: $want), exit status $rc"
	[ "$rc" = 0 ] && [ "$n" = 61440 ] && [ "$got" = "$want" ]
}
host_side() {
	# dom0 prints this marker once the bridge listens on dom0:5666, and
	# keeps the bridge up until it has answered these requests (or a
	# deadline): HOST_QUERIES in dom0.sh is their number
	while ! grep -aq '@@MARK nrpe-listening' "$SERIAL" 2>/dev/null; do
		kill -0 "$QPID" 2>/dev/null || return 0
		sleep 0.2
	done
	host_step host-nrpe-version expect_nrpe 0 '^xenvchan-bridge v'
	host_step host-nrpe-check_load expect_nrpe 0 '^LOAD OK - ' -c probe/check_load
	host_step host-nrpe-v2 expect_nrpe 1 '^WARNING: dummy warning$' -2 -c probe/xt_dummy
	host_step host-nrpe-output-60k expect_nrpe_big
	host_step host-nrpe-unknown-guest expect_nrpe 3 "^XENVCHAN: guest 'nosuch' not found$" \
		-c nosuch/check_load
	# plain NRPE (-n) to a TLS listener: refused with a reason, not a hang
	host_step host-nrpe-plain-refused expect_nrpe 3 \
		'^XENVCHAN: this listener speaks TLS only: call check_nrpe without -n$' -n -c probe/check_load
}

say "booting Xen 4.17 + dom0 + domUs under QEMU ($ACCEL), limit $TIMEOUT s;" \
	"dom0:5666 is 127.0.0.1:$NRPE_PORT"
# emptied here, not only by the pipeline below: host_side must not find the
# previous run's "@@MARK nrpe-listening" before that pipeline opens the file
: >"$HOSTLOG"
: >"$SERIAL"
rm -f "$XOUT/qemu.rc"
QT0=${EPOCHREALTIME/./}
{
	LC_ALL=C timeout "$TIMEOUT" "${QEMU[@]}" -initrd "vmlinux.gz $DOM0_CMDLINE,dom0.cpio.gz" \
		</dev/null 2>&1
	echo $? >"$XOUT/qemu.rc"
} | LC_ALL=C stamp "$QT0" >"$SERIAL" &
QPID=$!
host_side
wait "$QPID"
qrc=$(cat "$XOUT/qemu.rc" 2>/dev/null || echo 1)
qtime=$(since "$QT0")

# ---- results, in the order they happened
pass=0 fail=0
failed=()
ALL=$XOUT/all.log
cat "$SERIAL" "$HOSTLOG" >"$ALL"
{
	# markers can follow other console output on the same line: match anywhere
	grep -a '@@MARK ' "$SERIAL" | sed -E 's/^\[ *([0-9.]+)\].*@@MARK (.*) uptime=.*/\1 .... \2/'
	for name in "${EXPECTED[@]}"; do
		line=$(grep -a -m1 -E "@@STEP $name (PASS|FAIL)( |$)" "$ALL") || continue
		ts=$(sed -E 's/^\[ *([0-9.]+)\].*/\1/' <<<"$line")
		rest=${line#*@@STEP $name }
		result=${rest%% *}
		detail=${rest#"$result"}
		echo "$ts $result $name${detail:+ -$detail}"
	done
} | sort -s -n -k1,1 | while read -r ts rest; do printf '  [%6ss] %s\n' "$ts" "$rest"; done
for name in "${EXPECTED[@]}"; do
	line=$(grep -a -m1 -E "@@STEP $name (PASS|FAIL)( |$)" "$ALL")
	if [ -z "$line" ]; then
		printf '  [   -   ] MISSING %s: never reported\n' "$name"
		fail=$((fail + 1))
		failed+=("$name")
	elif [[ $line == *"@@STEP $name PASS"* ]]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		failed+=("$name")
	fi
done
if [ "$qrc" -eq 124 ]; then
	say "FAIL: QEMU timed out after $TIMEOUT s"
	fail=$((fail + 1))
	failed+=("(timeout)")
elif ! grep -aq '@@MARK all-done' "$SERIAL"; then
	say "QEMU exited (status $qrc) before dom0 finished"
fi
say "QEMU ran $qtime s (accel $ACCEL); serial log: $SERIAL, host steps: $HOSTLOG"

if [ "$fail" -gt 0 ]; then
	echo
	echo "==== failure details"
	grep -a -E '@@FATAL' "$SERIAL"
	for name in "${failed[@]}"; do
		case $name in "(timeout)") continue ;; esac
		if grep -aq "@@RUN $name:" "$ALL"; then
			echo "---- step $name: its output"
			sed -n "/@@RUN $name:/,/@@STEP $name /p" "$ALL" | head -80
		fi
	done
	if grep -aq '@@DOMU-CONSOLE-BEGIN' "$SERIAL"; then
		echo "---- domU consoles"
		sed -n '/@@DOMU-CONSOLE-BEGIN/,/@@DOMU-CONSOLE-END/p' "$SERIAL" | sed '1d;$d' | tail -150
	fi
	if grep -aq '@@BRIDGE-LOG-BEGIN' "$SERIAL"; then
		echo "---- bridge log (last 120 lines; all of it in the serial log)"
		sed -n '/@@BRIDGE-LOG-BEGIN/,/@@BRIDGE-LOG-END/p' "$SERIAL" | sed '1d;$d' | tail -120
	fi
	if grep -aq '@@DOM0-STATE-BEGIN' "$SERIAL"; then
		echo "---- dom0 Xen state"
		sed -n '/@@DOM0-STATE-BEGIN/,/@@DOM0-STATE-END/p' "$SERIAL" | sed '1d;$d' | head -250
	fi
	if ! grep -aq '@@MARK all-done' "$SERIAL"; then
		echo "---- last 50 lines of the serial log"
		tail -50 "$SERIAL"
	fi
	echo
fi
say "total $(since "$T0") s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
