#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/bench/xen/bench-xen.sh - what `make bench-xen` runs: the trivial-check
# comparison of make bench on real Xen 4.17 inside the QEMU lab of
# tests/xen (its images, its boot, its step protocol), in one boot:
# our vchan path from dom0 (check_xenvchan through the bridge, and
# --direct) against Debian's nrpe in a domU, reached by check_nrpe in dom0
# over the domU's vif (no bridge: 192.0.2.1 on dom0's vifN.0, 192.0.2.10
# on the domU's eth0).  The scenario is tests/bench/xen/{dom0,domu}.sh.
# Under TCG every figure is slow and noisy: compare the ratios, which come
# from the same boot, rounds interleaved.
#
# It needs the harness's scenario hook (XEN_STEPS, XEN_DOM0_EXTRA,
# XEN_DOMU_EXTRA, XEN_OUT, XEN_HOST_STEPS: tests/bench/xen/harness-hook.patch,
# apply_hook below).  While tests/xen lacks it, a copy of tests/xen with the
# hook applied runs, under $O/bench-xen/harness.
#
# Output in $O/bench-xen: latency.csv (raw), table.txt (tests/bench/report.py),
# latency.png, xen/serial.log (the whole console).
# Env: O, BENCH_XEN_ROUNDS (40), BENCH_XEN_WARMUP (3), BENCH_ALT_O=DIR (as
# in make bench: also check_xenvchan of DIR -> the bridge -> the agent of
# DIR in a third domU, path cx-bridge-alt), and the harness's ACCEL,
# TIMEOUT, MEM, DOM0MEM, CPU.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
O=${O:-build}
case $O in /*) ;; *) O=$top/$O ;; esac
OUT=$O/bench-xen
PLUGINS=/usr/lib/nagios/plugins
ROUNDS=${BENCH_XEN_ROUNDS:-40}
WARMUP=${BENCH_XEN_WARMUP:-3}
T0=$(date +%s)

say() { echo "bench-xen: $*"; }
fail() {
	echo "bench-xen: FAILED: $*" >&2
	exit 1
}

for f in "$O/tests/bench/xvbench" "$O/tests/bench/spawn2" "$PLUGINS/check_nrpe" \
	"$PLUGINS/check_dummy" /usr/sbin/nrpe; do
	[ -x "$f" ] || fail "$f is missing (make bench-xen builds and installs what it needs)"
done
mkdir -p "$OUT" || fail "cannot create $OUT"
rm -f "$OUT"/*.csv "$OUT"/*.dat "$OUT"/latency.png "$OUT"/table.txt

# the scenario, with this run's settings in front of dom0.sh
rm -rf "$OUT/steps" && mkdir -p "$OUT/steps" || fail "cannot create $OUT/steps"
{
	echo "# made by tests/bench/xen/bench-xen.sh from tests/bench/xen/dom0.sh"
	echo "BENCH_ROUNDS_SET=$ROUNDS"
	echo "BENCH_WARMUP_SET=$WARMUP"
	cat "$here/dom0.sh"
} >"$OUT/steps/dom0.sh"
cp "$here/domu.sh" "$OUT/steps/domu.sh"

# The hook, as exact edits (harness-hook.patch is the same change as a
# patch, made from the tests/xen of the time): HARNESS-DIR -> 0 if applied
apply_hook() {
	python3 - "$1" <<'PY'
import sys
d = sys.argv[1]
def edit(name, pairs):
    p = d + '/' + name
    s = open(p).read()
    for old, new in pairs:
        if s.count(old) != 1:
            sys.exit('%s: cannot find (once): %s' % (name, old.strip()))
        s = s.replace(old, new)
    open(p, 'w').write(s)
edit('check-xen.sh', [
    ('\nXOUT=$O/xen\n',
     '\n# Hooks for another scenario on this harness (make bench-xen): XEN_STEPS, a\n'
     '# directory with the dom0.sh and domu.sh to run instead of steps/ (lib.sh\n'
     '# stays this one); XEN_DOM0_EXTRA, XEN_DOMU_EXTRA: more "src:/dest"\n'
     '# executables for the images (src absolute, with their libraries);\n'
     '# XEN_OUT: images and logs (default $O/xen); XEN_HOST_STEPS=0: no host-side\n'
     '# steps (the scenario has no NRPE listener for the host)\n'
     'XOUT=${XEN_OUT:-$O/xen}\n'),
    ('step_names "$here/steps/dom0.sh")', 'step_names "${XEN_STEPS:-$here/steps}/dom0.sh")'),
    ('\nEXPECTED+=("${HOST_STEPS[@]}")\n',
     '\n[ "${XEN_HOST_STEPS:-1}" = 0 ] && HOST_STEPS=()\nEXPECTED+=("${HOST_STEPS[@]}")\n'),
    ('DOM0_BINS=$(prefix_bins "$DOM0_BINS") DOMU_BINS=$(prefix_bins "$DOMU_BINS")',
     'DOM0_BINS="$(prefix_bins "$DOM0_BINS") ${XEN_DOM0_EXTRA:-}" \\\n'
     '\tDOMU_BINS="$(prefix_bins "$DOMU_BINS") ${XEN_DOMU_EXTRA:-}"'),
    ('\nhost_side\n', '\n[ ${#HOST_STEPS[@]} -eq 0 ] || host_side\n'),
])
edit('build-images.sh', [
    ('"$here/steps/domu.sh"', '"${XEN_STEPS:-$here/steps}/domu.sh"'),
    ('"$here/steps/dom0.sh"', '"${XEN_STEPS:-$here/steps}/dom0.sh"'),
])
PY
}

HARNESS=$top/tests/xen
if ! grep -q 'XEN_STEPS' "$HARNESS/check-xen.sh" || ! grep -q 'XEN_STEPS' "$HARNESS/build-images.sh"; then
	say "tests/xen has no scenario hook (XEN_STEPS) yet: running a copy of it with"
	say "the hook (tests/bench/xen/harness-hook.patch) applied, in $OUT/harness"
	rm -rf "$OUT/harness"
	mkdir -p "$OUT/harness/tests"
	# the copy stands where the tree is: everything else is a link to it
	for e in "$top"/*; do [ "$e" = "$top/tests" ] || ln -s "$e" "$OUT/harness/"; done
	for e in "$top"/tests/*; do [ "$e" = "$top/tests/xen" ] || ln -s "$e" "$OUT/harness/tests/"; done
	cp -a "$top/tests/xen" "$OUT/harness/tests/xen" || fail "cannot copy tests/xen"
	apply_hook "$OUT/harness/tests/xen" || fail "the hook no longer fits tests/xen (above)"
	HARNESS=$OUT/harness/tests/xen
fi

ALT0= ALTU=
if [ -n "${BENCH_ALT_O:-}" ]; then
	ALT=$BENCH_ALT_O
	case $ALT in /*) ;; *) ALT=$top/$ALT ;; esac
	[ -x "$ALT/bin/check_xenvchan" ] && [ -x "$ALT/bin/xenvchan-agent" ] ||
		fail "BENCH_ALT_O: no check_xenvchan or xenvchan-agent in $ALT/bin"
	ALT0=" $ALT/bin/check_xenvchan:$PLUGINS/check_xenvchan-alt"
	ALTU=" $ALT/bin/xenvchan-agent:/usr/sbin/xenvchan-agent-alt"
fi
say "Xen lab: $ROUNDS rounds after $WARMUP warm-up rounds, in one boot"
XEN_STEPS=$OUT/steps XEN_OUT=$OUT/xen XEN_HOST_STEPS=0 \
	XEN_DOM0_EXTRA="$O/tests/bench/xvbench:/usr/bin/xvbench $O/tests/bench/spawn2:/usr/bin/spawn2 $PLUGINS/check_nrpe:$PLUGINS/check_nrpe $PLUGINS/check_dummy:$PLUGINS/check_dummy$ALT0" \
	XEN_DOMU_EXTRA="/usr/sbin/nrpe:/usr/sbin/nrpe$ALTU" \
	O=$O "$HARNESS/check-xen.sh" 2>&1 | tee "$OUT/check-xen.log"
rc=${PIPESTATUS[0]}

# the raw figures dom0 printed ("| CSV:..." lines of the bench-latency step)
grep -a '| CSV:' "$OUT/xen/serial.log" 2>/dev/null | sed 's/^.*| CSV://' | tr -d '\r' |
	grep -E '^(method,round,us,ok|[a-z0-9-]+,-?[0-9]+,[0-9.]*,[01])$' >"$OUT/latency.csv"
if [ "$(wc -l <"$OUT/latency.csv")" -le 1 ]; then
	say "no figures from dom0 (serial log: $OUT/xen/serial.log)"
	exit 1
fi
load=$(grep -a '@@RUN bench-latency' -A3 "$OUT/xen/serial.log" | sed -n 's/.*| rounds .*load \(.*\)$/\1/p' | head -1)
cat >"$OUT/env.txt" <<EOF
date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')
host: Xen 4.17 under QEMU ($(grep -ao 'accel [a-z]*' "$OUT/check-xen.log" | tail -1)) on $(nproc) host CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1); timings from dom0 (2 vCPUs); the domUs have 1 vCPU
loadavg_before_latency: dom0 ${load:-?}
loadavg_after_throughput: host $(cut -d' ' -f1-3 /proc/loadavg)
machine_busy_latency_throughput: ?
rounds: $ROUNDS
warmup: $WARMUP
alt_build: ${BENCH_ALT_O:-}
duration_s: $(($(date +%s) - T0))
EOF
python3 "$top/tests/bench/report.py" "$OUT" | tee "$OUT/table.txt"
say "raw figures $OUT/latency.csv, table $OUT/table.txt, plot $OUT/latency.png, console $OUT/xen/serial.log"
say "took $(($(date +%s) - T0)) s"
exit "$rc"
