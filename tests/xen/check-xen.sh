#!/bin/bash
# check-xen.sh - "make check-xen": the project on real Xen 4.17.  Boots Xen,
# a busybox dom0 and a PV domU under QEMU (TCG, or KVM where the host has
# usable VT-x/AMD-V), each image carrying the project's binaries, and runs
# the checks listed in steps/dom0.sh.  Prints one line per step with its
# time since QEMU started; on failure, the output of the failing steps, the
# domU console and dom0's Xen state; as its LAST line "N passed, N failed".
# Exit status 0 only if every expected step passed.  A step that never
# reported (QEMU died or timed out) counts as failed, and so does a timeout.
#
#   add a program to an image:  one "path-under-O:/path/in/image" word below
#   add a check:                one "step NAME COMMAND..." line in steps/dom0.sh
#   change what the domU runs:  steps/domu.sh
#
# Env: O (build dir, default build; images and logs go to $O/xen),
#      ACCEL=auto|tcg|kvm, TIMEOUT (QEMU wall-clock limit in s, default 150),
#      MEM (QEMU MiB, 1536), DOM0MEM (768M), CPU (TCG model, qemu64,+rdrand),
#      XEN_SHELL=1: boot interactively to a root shell in dom0 (Ctrl-a x quits)
set -uo pipefail

# project programs in the images: "path under $O:path in the image"
DOM0_BINS="tests/tools/chantest:/usr/bin/chantest"
DOMU_BINS="tests/tools/chantest:/usr/bin/chantest"

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top" || exit 1
O=${O:-build}
O=$(mkdir -p "$O" && cd "$O" && pwd) || exit 1
XOUT=$O/xen
SERIAL=$XOUT/serial.log
TIMEOUT=${TIMEOUT:-150}
T0=${EPOCHREALTIME/./}

say() { echo "check-xen: $*"; }
since() { # microsecond stamp -> "12.3"
	local d=$(((${EPOCHREALTIME/./} - $1) / 100000))
	echo "$((d / 10)).$((d % 10))"
}

# the expected steps, in order: the names of the step/gate lines of dom0.sh
mapfile -t EXPECTED < <(sed -nE 's/^[[:space:]]*(step|gate)[[:space:]]+([A-Za-z0-9_-]+).*/\2/p' \
	"$here/steps/dom0.sh")

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
t=${EPOCHREALTIME/./}
if ! DOM0_BINS=$(prefix_bins "$DOM0_BINS") DOMU_BINS=$(prefix_bins "$DOMU_BINS") \
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
tcg) ACC=(-accel tcg,thread=multi -cpu "${CPU:-qemu64,+rdrand}") ;;
*) give_up "ACCEL must be auto, tcg or kvm, not '$ACCEL'" ;;
esac
DOM0MEM=${DOM0MEM:-768M}
# commas inside -append and module command lines must be doubled
XEN_CMDLINE="console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all dom0_mem=$DOM0MEM,,max:$DOM0MEM dom0_max_vcpus=2"
DOM0_CMDLINE="console=hvc0 panic=-1 rdinit=/init"
QEMU=(qemu-system-x86_64 "${ACC[@]}" -m "${MEM:-1536}" -smp 2 -nographic -display none
	-no-reboot -net none -serial mon:stdio -kernel xen -append "$XEN_CMDLINE")
cd "$XOUT" || exit 1 # relative module paths: no space or comma to escape

if [ "${XEN_SHELL:-0}" = 1 ]; then
	exec "${QEMU[@]}" -initrd "vmlinux.gz $DOM0_CMDLINE xentest.shell,dom0.cpio.gz"
fi

# timestamp every serial line with the seconds since QEMU started
stamp() {
	local line d t0=${EPOCHREALTIME/./}
	while IFS= read -r line || [ -n "$line" ]; do
		d=$(((${EPOCHREALTIME/./} - t0) / 10000))
		printf '[%4d.%02d] %s\n' $((d / 100)) $((d % 100)) "${line%$'\r'}"
	done
}
say "booting Xen 4.17 + dom0 + domU under QEMU ($ACCEL), limit $TIMEOUT s"
t=${EPOCHREALTIME/./}
LC_ALL=C timeout "$TIMEOUT" "${QEMU[@]}" -initrd "vmlinux.gz $DOM0_CMDLINE,dom0.cpio.gz" \
	</dev/null 2>&1 | LC_ALL=C stamp >"$SERIAL"
qrc=${PIPESTATUS[0]}
qtime=$(since "$t")

# ---- results
pass=0 fail=0
failed=()
# markers can follow other console output on the same line: match anywhere
grep -a '@@MARK ' "$SERIAL" | sed -E 's/^\[ *([0-9.]+)\].*@@MARK (.*) uptime=.*/\1 \2/' |
	while read -r ts what; do printf '  [%6ss] .... %s\n' "$ts" "$what"; done
for name in "${EXPECTED[@]}"; do
	line=$(grep -a -m1 -E "@@STEP $name (PASS|FAIL)( |$)" "$SERIAL")
	if [ -z "$line" ]; then
		printf '  [   -   ] MISSING %s: never reported\n' "$name"
		fail=$((fail + 1))
		failed+=("$name")
		continue
	fi
	ts=$(sed -E 's/^\[ *([0-9.]+)\].*/\1/' <<<"$line")
	rest=${line#*@@STEP $name }
	result=${rest%% *}
	detail=${rest#"$result"}
	printf '  [%6ss] %s %s%s\n' "$ts" "$result" "$name" "${detail:+ -$detail}"
	if [ "$result" = PASS ]; then
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
say "QEMU ran $qtime s (accel $ACCEL); serial log: $SERIAL"

if [ "$fail" -gt 0 ]; then
	echo
	echo "==== failure details"
	grep -a -E '@@FATAL' "$SERIAL"
	for name in "${failed[@]}"; do
		case $name in "(timeout)") continue ;; esac
		if grep -aq "@@RUN $name:" "$SERIAL"; then
			echo "---- step $name: its output"
			sed -n "/@@RUN $name:/,/@@STEP $name /p" "$SERIAL" | head -80
		fi
	done
	if grep -aq '@@DOMU-CONSOLE-BEGIN' "$SERIAL"; then
		echo "---- domU console"
		sed -n '/@@DOMU-CONSOLE-BEGIN/,/@@DOMU-CONSOLE-END/p' "$SERIAL" | sed '1d;$d' | tail -60
	fi
	if grep -aq '@@DOM0-STATE-BEGIN' "$SERIAL"; then
		echo "---- dom0 Xen state"
		sed -n '/@@DOM0-STATE-BEGIN/,/@@DOM0-STATE-END/p' "$SERIAL" | sed '1d;$d' | head -150
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
