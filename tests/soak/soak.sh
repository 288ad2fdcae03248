#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# soak.sh: many checks with mixed outcomes through xenvchan-bridge to one
# agent (emulated guest web01, over the socket channel), with the resident
# memory and descriptor counts of both measured along the way; then a
# shorter run with both under valgrind memcheck (or, in an ASan build, under
# ASan's leak checker at exit).
#
#   tests/soak/soak.sh [-n CHECKS] [-c CONC] [-V VALGRIND_CHECKS] [-k]
#
#   -n  checks in the main run (default 100000: make soak)
#   -c  checks in flight at once (default 16)
#   -V  checks in the valgrind run (default 2000; 0 skips it)
#   -k  keep the run directory (logs) and say where it is
# Env: O (the build directory, default build).
#
# The mix, per 400 checks (loadgen's weights): OK 160, WARNING 60, CRITICAL
# 60, UNKNOWN 40, an undefined command 30, refused arguments 10, a 60000-byte
# output 20, an unknown guest 10, a 0.2 s probe 9, a probe past
# command_timeout (1 s; 5 s in an ASan build) 1.  Every answer is checked
# (state and text).
#
# Memory and descriptors are taken at 0, a quarter, half-way, three
# quarters and the end, each time with nothing in flight: they must stay flat from half-way to the end
# (descriptors equal; resident memory within 10% or 512 kB, whichever is
# larger; the first half warms up the allocator).  No zombie may be left.
# Output: "FIGURE soak ..." lines, and "soak: PASSED" or "soak: FAILED: why"
# last (exit status 0 or 1).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-build}
export XV_TOP=$top
case $O in /*) XV_BUILD=$O ;; *) XV_BUILD=$top/$O ;; esac
XV_BUILD=$(cd "$XV_BUILD" && pwd) || exit 1
export XV_BUILD
export XV_BIN=$XV_BUILD/bin
N=100000 CONC=16 VG=2000 KEEP=
while getopts n:c:V:k o; do
	case $o in
	n) N=$OPTARG ;;
	c) CONC=$OPTARG ;;
	V) VG=$OPTARG ;;
	k) KEEP=1 ;;
	*) sed -n '2,30p' "$0"; exit 2 ;;
	esac
done

# shellcheck source=tests/bats/xsemu-helper.bash
source "$top/tests/bats/xsemu-helper.bash"
# shellcheck source=tests/soak/lib.bash
source "$top/tests/soak/lib.bash"
AGENT=$XV_BIN/xenvchan-agent BRIDGE=$XV_BIN/xenvchan-bridge
PLUGINS=/usr/lib/nagios/plugins
for f in "$AGENT" "$BRIDGE" "$LOADGEN"; do
	[ -x "$f" ] || { echo "soak: $f is not built (make O=$O all)"; exit 1; }
done

# An ASan build forks slowly (the agent forks for every probe, as root) and
# keeps freed memory in its quarantine: a longer command_timeout, and the
# resident memory is shown but not judged (ASan's leak check at exit is).
ASAN= CT=1
if xv_is_asan "$AGENT"; then
	ASAN=1 CT=5
fi
CT_TEXT="$CT second"
[ "$CT" = 1 ] || CT_TEXT="$CT seconds"

D=$(mktemp -d /tmp/xvsoak.XXXXXX)
chmod 755 "$D"
AGENT_PID= BRIDGE_PID= FAIL=
cleanup() {
	local p
	for p in $BRIDGE_PID $AGENT_PID; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	xsemu_stop >/dev/null 2>&1
	if [ -n "$KEEP" ]; then echo "soak: logs kept in $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "soak: FAILED: $*"
	FAIL=1
}

mkdir -p "$D/ch" "$D/probes"
cp "$top"/tests/fixtures/probes/*.sh "$D/probes/"
chmod -R a+rX "$D/probes"
chmod 755 "$D"/probes/*.sh
cat >"$D/agent.cfg" <<EOF
channel=socket:$D/ch
command_timeout=$CT
max_concurrent=24
max_queue=64
command[ok]=$PLUGINS/check_dummy 0 'all fine'
command[warn]=$PLUGINS/check_dummy 1 'look here'
command[crit]=$PLUGINS/check_dummy 2 'on fire'
command[unknown]=$PLUGINS/check_dummy 3 'no idea'
command[big]=$D/probes/big.sh 60000
command[slow]=$D/probes/sleep.sh 0.2 slow
command[timeout]=$D/probes/sleep.sh $((CT + 5)) never
EOF
cat >"$D/bridge.cfg" <<EOF
channel=socket:$D/ch
socket_path=$D/bridge.sock
max_inflight_per_guest=32
EOF
QUERIES=(
	"160*web01/ok=0:OK: all fine"
	"60*web01/warn=1:WARNING: look here"
	"60*web01/crit=2:CRITICAL: on fire"
	"40*web01/unknown=3:UNKNOWN: no idea"
	"30*web01/nosuch=3:XENVCHAN: Command 'nosuch' not defined"
	"10*web01/ok!x=3:XENVCHAN: Command 'ok': command arguments are disabled"
	"20*web01/big=0:0123456789abcde"
	"10*nosuchguest/ok=3:XENVCHAN: guest 'nosuchguest' not found"
	"9*web01/slow=0:OK - slow"
	"1*web01/timeout=3:XENVCHAN: Command 'timeout' timed out after $CT_TEXT"
)

xsemu_start >"$D/xsemu.out" 2>&1 || { cat "$D/xsemu.out"; exit 1; }
xsemu_domain_create 5 web01 >/dev/null

# start_pair [WRAPPER]: agent and bridge, each waited for
start_pair() {
	local w=${1:-} i
	env $(xsemu_guest_env 5) $w "$AGENT" -c "$D/agent.cfg" -f >>"$D/agent.log" 2>&1 3>&- &
	AGENT_PID=$!
	for i in $(seq 600); do
		[ -S "$D/ch/5-data.guest.probes.vchan" ] && break
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	[ -S "$D/ch/5-data.guest.probes.vchan" ] || { cat "$D/agent.log"; return 1; }
	$w "$BRIDGE" -c "$D/bridge.cfg" -f >>"$D/bridge.log" 2>&1 3>&- &
	BRIDGE_PID=$!
	for i in $(seq 600); do
		[ -S "$D/bridge.sock" ] && break
		kill -0 "$BRIDGE_PID" 2>/dev/null || break
		sleep 0.05
	done
	[ -S "$D/bridge.sock" ] || { cat "$D/bridge.log"; return 1; }
}

# stop_pair: SIGTERM both, their exit statuses in AGENT_RC and BRIDGE_RC
stop_pair() {
	AGENT_RC=0 BRIDGE_RC=0
	kill -TERM "$BRIDGE_PID"
	wait "$BRIDGE_PID" || BRIDGE_RC=$?
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID" || AGENT_RC=$?
	BRIDGE_PID= AGENT_PID=
}

# field NAME KEY LINE: the value after "NAME ... KEY" in a checkpoint line
field() {
	awk -v n="$1" -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == n) { for (j = i + 1; j < NF; j++) if ($j == k) { print $(j + 1); exit } } }' <<<"$3"
}

# ---- the main run
start_pair || { fail "agent or bridge did not start"; exit 1; }
# the connection made, the agent warm
"$LOADGEN" -s "$D/bridge.sock" -n 50 -q web01/ok=0 >/dev/null
half=$((N / 2))
echo "soak: $N checks, $CONC at once, through the bridge to one agent"
t0=$(date +%s)
"$LOADGEN" -s "$D/bridge.sock" -n "$N" -c "$CONC" -t 60 -k "0,$((N / 4)),$half,$((3 * N / 4)),$N" \
	-p "agent=$AGENT_PID" -p "bridge=$BRIDGE_PID" "${QUERIES[@]}" >"$D/run.out" 2>&1
rc=$?
cat "$D/run.out"
echo "FIGURE soak run: $N checks in $(($(date +%s) - t0)) s"
[ "$rc" = 0 ] || fail "some checks were not answered as expected (loadgen exit $rc)"
cp0=$(grep "^checkpoint 0:" "$D/run.out") cp1=$(grep "^checkpoint $half:" "$D/run.out")
cp2=$(grep "^checkpoint $N:" "$D/run.out")
for who in agent bridge; do
	r0=$(field "$who" rss_kb "$cp0") r1=$(field "$who" rss_kb "$cp1") r2=$(field "$who" rss_kb "$cp2")
	f0=$(field "$who" fds "$cp0") f1=$(field "$who" fds "$cp1") f2=$(field "$who" fds "$cp2")
	echo "FIGURE soak $who: RSS $r0 / $r1 / $r2 kB, fds $f0 / $f1 / $f2 at 0 / $half / $N checks (every quarter: $(grep '^checkpoint' "$D/run.out" | while read -r l; do field "$who" rss_kb "$l"; done | paste -sd/) kB)"
	[ -n "$r2" ] && [ -n "$r1" ] || { fail "no checkpoint for $who"; continue; }
	slack=$((r1 / 10 > 512 ? r1 / 10 : 512))
	if [ -n "$ASAN" ]; then
		echo "soak: (ASan build: resident memory not judged, freed blocks stay in ASan's quarantine)"
	else
		[ "$r2" -le $((r1 + slack)) ] || fail "$who RSS grew from $r1 kB to $r2 kB in the second half"
	fi
	[ "$f2" = "$f1" ] && [ "$f1" = "$f0" ] || fail "$who descriptors changed: $f0 / $f1 / $f2"
done
za=$(xv_zombies "$AGENT_PID") zb=$(xv_zombies "$BRIDGE_PID")
echo "FIGURE soak zombies: agent $za, bridge $zb; agent children still running $(xv_children "$AGENT_PID")"
[ "$za" = 0 ] && [ "$zb" = 0 ] || fail "zombies left: agent $za, bridge $zb"
stop_pair
[ "$AGENT_RC" = 0 ] && [ "$BRIDGE_RC" = 0 ] || fail "exit status: agent $AGENT_RC, bridge $BRIDGE_RC"
grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$D/agent.log" "$D/bridge.log" &&
	fail "sanitizer report"

# ---- the memcheck run
if [ "$VG" -gt 0 ]; then
	if xv_is_asan "$AGENT"; then
		# valgrind cannot run ASan binaries; ASan's leak checker runs at
		# exit and makes the exit status non-zero
		how="ASan (leak check at exit)" wrapper=
	else
		how="valgrind memcheck" wrapper="valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file=$D/vg/vg.%p.log"
		# the probe helper and the probes it starts (forks of the agent,
		# so valgrind opens a log for each) run as the probe user
		mkdir -p "$D/vg" && chmod 711 "$D" && chmod 1777 "$D/vg"
	fi
	: >"$D/agent.log"
	: >"$D/bridge.log"
	start_pair "$wrapper" || { fail "agent or bridge did not start under $how"; exit 1; }
	"$LOADGEN" -s "$D/bridge.sock" -n 20 -q -t 60 web01/ok=0 >/dev/null
	t0=$(date +%s)
	"$LOADGEN" -s "$D/bridge.sock" -n "$VG" -c 8 -t 60 -q "${QUERIES[@]}" >"$D/vg.out" 2>&1
	rc=$?
	cat "$D/vg.out"
	[ "$rc" = 0 ] || fail "some checks under $how were not answered as expected"
	stop_pair
	echo "FIGURE soak $how: $VG checks in $(($(date +%s) - t0)) s; exit status agent $AGENT_RC, bridge $BRIDGE_RC"
	for f in "$D"/vg/vg.*.log; do
		[ -s "$f" ] || continue
		echo "---- $f"
		cat "$f"
	done
	grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$D/agent.log" "$D/bridge.log" &&
		fail "sanitizer report"
	[ "$AGENT_RC" = 0 ] && [ "$BRIDGE_RC" = 0 ] ||
		fail "errors or leaks under $how (exit status agent $AGENT_RC, bridge $BRIDGE_RC)"
fi

if [ -n "$FAIL" ]; then
	echo "soak: FAILED"
	exit 1
fi
echo "soak: PASSED"
