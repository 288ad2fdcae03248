#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/bench/bench.sh - what `make bench` runs: this project against
# Debian's nrpe + check_nrpe and against the bare spawn of the same plugin,
# side by side, in one run, on this machine (tests/bench/README.md).
#
#   1. latency of one trivial check (check_dummy 0 OK), every path once per
#      round, in a new random order each round, after a warm-up:
#        spawn         the plugin spawned directly (floor 1)
#        spawn2        a relay process that spawns the plugin (floor 2: the
#                      least any plugin-through-a-relay path can cost)
#        nrpe          check_nrpe -n -> Debian's nrpe (no TLS)
#        nrpe-tls      check_nrpe    -> Debian's nrpe (its default ADH TLS)
#        cx-bridge     check_xenvchan -> xenvchan-bridge -> xenvchan-agent
#        cx-direct     check_xenvchan --direct -> xenvchan-agent
#        br-nrpe       check_nrpe -n -> the bridge's NRPE listener -> agent
#        br-nrpe-tls   check_nrpe    -> the same listener with TLS -> agent
#   2. throughput with 1, 4 and 16 clients (each spawning the client
#      program in a loop), the paths taking turns in blocks;
#   3. the idle agent and its probe helper: wake-ups (context switches)
#      over 30 s, RSS, PSS and private memory of the two together;
#   4. the bridge with 200 emulated guests (200 real agents) under 200
#      checks/s: RSS, per-guest memory, p50/p99 latency, CPU per check.
# Agents and bridges talk over the socket channel (socket:DIR), xenstore is
# the emulator (tests/xsemu), as in make demo; nrpe runs from a config in the
# temporary directory, on free loopback ports.  Prints one table
# (tests/bench/report.py), writes the raw figures (CSV), the table and the
# latency plot (PNG) to $O/bench/.
#
# Env: O (build dir, default build), BENCH_ROUNDS (300), BENCH_WARMUP (30),
#      BENCH_CLIENTS ("1 4 16"), BENCH_TPUT_SECONDS (1 per block),
#      BENCH_TPUT_CYCLES (5), BENCH_IDLE_SECONDS (30, whole seconds), BENCH_GUESTS (200),
#      BENCH_RATE (200 checks/s), BENCH_LOAD_SECONDS (20),
#      BENCH_PERF=1 (also record perf profiles of the bridge and the agent
#      during the latency rounds, into $O/bench/perf-*.data),
#      BENCH_ALT_O=DIR (also run the bridge path with the agent, bridge and
#      check_xenvchan of another build, e.g. of a patched tree: paths
#      "cx-bridge-alt" and "cx-direct-alt", side by side with the others),
#      BENCH_KEEP=1 (keep the temporary directory and its logs),
#      BENCH_STRICT=1 (exit status 1 when a target of issue 8 is missed;
#      otherwise only a failure of the bench itself is).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-build}
case $O in /*) ;; *) O=$top/$O ;; esac
BIN=$O/bin
TOOLS=$O/tests/bench
OUT=$O/bench
PLUGINS=/usr/lib/nagios/plugins
DUMMY="$PLUGINS/check_dummy"
CHECK_NRPE=$PLUGINS/check_nrpe
NRPE=${NRPE:-/usr/sbin/nrpe}
XSEMU=$top/tests/xsemu/xenstored-emu
ROUNDS=${BENCH_ROUNDS:-300}
WARMUP=${BENCH_WARMUP:-30}
CLIENTS=${BENCH_CLIENTS:-1 4 16}
TPUT_SECONDS=${BENCH_TPUT_SECONDS:-1}
TPUT_CYCLES=${BENCH_TPUT_CYCLES:-5}
IDLE_SECONDS=${BENCH_IDLE_SECONDS:-30}
GUESTS=${BENCH_GUESTS:-200}
RATE=${BENCH_RATE:-200}
LOAD_SECONDS=${BENCH_LOAD_SECONDS:-20}
T_START=$(date +%s)

say() { printf 'bench: %s\n' "$*"; }
fail() {
	printf 'bench: FAILED: %s\n' "$*" >&2
	exit 1
}

for f in "$BIN/xenvchan-agent" "$BIN/xenvchan-bridge" "$BIN/check_xenvchan" "$TOOLS/xvbench" \
	"$TOOLS/spawn2" "$DUMMY" "$CHECK_NRPE" "$NRPE" "$XSEMU"; do
	[ -x "$f" ] || fail "$f is missing (make bench builds the programs; nrpe, check_nrpe and check_dummy come from nagios-nrpe-server, nagios-nrpe-plugin, monitoring-plugins-basic)"
done
command -v python3 >/dev/null || fail "python3 is missing"

# ---- cleanup: every process started here, by PID -------------------------
D=
PIDS=()     # daemons started in the foreground (&): agents, bridges, nrpe
XS_PIDS=()  # emulators (started with --daemon)
stop_pid() { # PID: TERM, up to 5 s, then KILL
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}
stop_all() {
	local pid
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	PIDS=()
}
cleanup() {
	trap - EXIT INT TERM
	stop_all
	local pid
	for pid in "${XS_PIDS[@]}"; do
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q xenstored-emu && stop_pid "$pid"
	done
	if [ -n "$D" ] && [ -d "$D" ]; then
		if [ "${BENCH_KEEP:-0}" = 1 ]; then
			say "kept $D"
		else
			rm -rf "$D"
		fi
	fi
}
trap cleanup EXIT
trap 'echo; say interrupted; exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_for() { # TENTHS COMMAND...: until COMMAND succeeds
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
cpu_busy() { # "busy total" jiffies of the whole machine
	awk '/^cpu /{t=0; for(i=2;i<=NF;i++) t+=$i; print t-$5-$6, t}' /proc/stat
}
# context switches of all threads of PID (the wake-ups of a process that
# sleeps in epoll_wait: each one is a voluntary switch)
ctxsw() {
	local t n=0 v
	for t in /proc/"$1"/task/*/status; do
		v=$(awk '/^(non)?voluntary_ctxt_switches/{s+=$2} END{print s+0}' "$t" 2>/dev/null)
		n=$((n + ${v:-0}))
	done
	echo $n
}
mem_of() { # PID -> "VmRSS VmHWM Pss Private" in KiB
	local rss hwm pss priv
	rss=$(awk '/^VmRSS/{print $2}' /proc/"$1"/status)
	hwm=$(awk '/^VmHWM/{print $2}' /proc/"$1"/status)
	pss=$(awk '/^Pss:/{print $2}' /proc/"$1"/smaps_rollup)
	priv=$(awk '/^Private_(Clean|Dirty):/{s+=$2} END{print s}' /proc/"$1"/smaps_rollup)
	echo "$rss $hwm $pss $priv"
}
# the agent's probe helper (guest-agent/forksrv.h): its only child
helper_of() { pgrep -P "$1" | head -1; }
# agent PID -> "Pss Private" (KiB) of its helper, "0 0" without one
helper_mem() {
	local h
	h=$(helper_of "$1")
	[ -n "$h" ] || { echo "0 0"; return; }
	mem_of "$h" | awk '{ print $3, $4 }'
}
us_now() { echo "${EPOCHREALTIME/./}"; }
secs_since() { # MICROSECONDS-STAMP -> seconds since, "12.3"
	local d=$((($(us_now) - $1) / 100000))
	echo "$((d / 10)).$((d % 10))"
}
cpu_ticks() { # PID -> utime+stime in clock ticks
	awk '{sub(/^.*\) /, ""); print $12 + $13}' /proc/"$1"/stat
}

# ---- set-up -----------------------------------------------------------------
mkdir -p "$OUT" || fail "cannot create $OUT"
rm -f "$OUT"/*.csv "$OUT"/*.dat "$OUT"/latency.png "$OUT"/table.txt "$OUT"/errors.txt
D=$(mktemp -d /tmp/xvbench.XXXXXX) || fail "no temporary directory"
chmod 755 "$D" # the probes run as nobody, nrpe as nagios
if [ "$(id -u)" = 0 ]; then
	NRPE_USER=nagios NRPE_GROUP=nagios
	getent passwd nagios >/dev/null || NRPE_USER=nobody NRPE_GROUP=nogroup
else
	NRPE_USER=$(id -un) NRPE_GROUP=$(id -gn)
fi
cat >"$OUT/env.txt" <<EOF
alt_build: ${BENCH_ALT_O:-}
date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')
host: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(uname -r)
user: $(id -un)
loadavg_start: $(loadavg)
nrpe: $("$NRPE" -V 2>&1 | sed -n 's/^Version: //p')
EOF
say "$(sed -n 's/^host: //p' "$OUT/env.txt"); load average $(loadavg) (other jobs run on this machine: every figure is side by side)"
say "temporary directory $D"

start_emu() { # DIR ARGS...: an emulator; its PID is appended to XS_PIDS
	local dir=$1
	shift
	mkdir -p "$dir"
	"$XSEMU" --dir "$dir" --daemon --pid-file "$dir/pid" "$@" >"$dir.start" 2>&1 ||
		{ cat "$dir.start" "$dir/xenstored-emu.err" 2>/dev/null; fail "the xenstored emulator did not start"; }
	XS_PIDS+=("$(cat "$dir/pid")")
}
AGENT_PID=
AGENT_BIN=$BIN/xenvchan-agent
BRIDGE_BIN=$BIN/xenvchan-bridge
start_agent() { # EMUDIR DOMID CHANDIR NAME [WRAPPER...]: an agent as guest DOMID
	local emu=$1 domid=$2 ch=$3 name=$4
	shift 4
	cat >"$D/agent-$name.cfg" <<EOF
channel=socket:$ch
command[dummy]=$DUMMY 0 OK
EOF
	XENSTORED_PATH=$emu/domain/$domid "$@" "$AGENT_BIN" -c "$D/agent-$name.cfg" -f \
		>"$D/agent-$name.log" 2>&1 &
	AGENT_PID=$!
	PIDS+=("$AGENT_PID")
}
agent_started() { grep -qs "started: domid" "$D/agent-$1.log"; }
BRIDGE_PID=
start_bridge() { # NAME EMUDIR CHANDIR: config on stdin (channel= and socket_path= added)
	local name=$1 emu=$2 ch=$3
	{
		echo "channel=socket:$ch"
		echo "socket_path=$D/$name.sock"
		cat
	} >"$D/$name.cfg"
	XENSTORED_PATH=$emu/socket "$BRIDGE_BIN" -c "$D/$name.cfg" -f >"$D/$name.log" 2>&1 &
	BRIDGE_PID=$!
	PIDS+=("$BRIDGE_PID")
	bridge_up() { grep -qs "started:" "$D/$name.log" && [ -S "$D/$name.sock" ]; }
	wait_for 100 bridge_up || { tail "$D/$name.log"; fail "bridge $name did not start"; }
}
start_nrpe() { # NAME PORT [-n]
	local name=$1 port=$2
	shift 2
	cat >"$D/$name.cfg" <<EOF
server_address=127.0.0.1
server_port=$port
allowed_hosts=127.0.0.1
nrpe_user=$NRPE_USER
nrpe_group=$NRPE_GROUP
dont_blame_nrpe=0
debug=0
command_timeout=10
connection_timeout=10
listen_queue_size=128
command[dummy]=$DUMMY 0 OK
EOF
	"$NRPE" -c "$D/$name.cfg" -f "$@" >"$D/$name.log" 2>&1 &
	PIDS+=("$!")
	wait_for 100 port_open "$port" || { cat "$D/$name.log"; fail "nrpe ($name) did not start"; }
}

# ---- the idle agents: started first, measured while the rest runs -----------
# idle01 in a network namespace of its own (when we may make one): what a
# quiet guest sees; idle02 in this machine's namespace, where other jobs
# add and remove interfaces (each one a real rtnetlink event for the agent)
mkdir -p "$D/ch2"
start_emu "$D/xs2" --domain 7:idle01 --domain 8:idle02
NETNS=()
if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
	NETNS=(unshare -n)
fi
start_agent "$D/xs2" 7 "$D/ch2" idle01 "${NETNS[@]}"
IDLE1_PID=$AGENT_PID
start_agent "$D/xs2" 8 "$D/ch2" idle02
IDLE2_PID=$AGENT_PID

# ---- the paths under test -------------------------------------------------------
# emulator 1: web01 (the bridge's guest), direct01 (check_xenvchan --direct),
# tls01 (the second bridge's guest, behind its TLS listener)
mkdir -p "$D/ch"
ALT=${BENCH_ALT_O:-}
if [ -n "$ALT" ]; then
	case $ALT in /*) ;; *) ALT=$top/$ALT ;; esac
	for f in xenvchan-agent xenvchan-bridge check_xenvchan; do
		[ -x "$ALT/bin/$f" ] || fail "BENCH_ALT_O: $ALT/bin/$f is missing"
	done
fi
start_emu "$D/xs" --domain 5:web01 --domain 6:direct01 --domain 9:tls01 ${ALT:+--domain 10:alt01 --domain 11:altd01}
export XENSTORED_PATH=$D/xs/socket # dom0's view, for check_xenvchan --direct
start_agent "$D/xs" 5 "$D/ch" web01
WEB01_PID=$AGENT_PID
start_agent "$D/xs" 6 "$D/ch" direct01
start_agent "$D/xs" 9 "$D/ch" tls01
if [ -n "$ALT" ]; then
	AGENT_BIN=$ALT/bin/xenvchan-agent
	start_agent "$D/xs" 10 "$D/ch" alt01
	start_agent "$D/xs" 11 "$D/ch" altd01
	AGENT_BIN=$BIN/xenvchan-agent
fi
for a in web01 direct01 tls01 idle01 idle02 ${ALT:+alt01 altd01}; do
	wait_for 200 agent_started "$a" || { cat "$D/agent-$a.log"; fail "agent $a did not start"; }
done
P_BR=$(free_port)
start_bridge b1 "$D/xs" "$D/ch" <<EOF
socket_mode=0666
nrpe_listen=1
nrpe_address=127.0.0.1
nrpe_port=$P_BR
nrpe_tls=0
EOF
B1_PID=$BRIDGE_PID
read -r B1_RSS0 _ <<<"$(mem_of "$B1_PID")"
P_BRTLS=$(free_port)
start_bridge b2 "$D/xs" "$D/ch" <<EOF
socket_mode=0666
nrpe_listen=1
nrpe_address=127.0.0.1
nrpe_port=$P_BRTLS
nrpe_tls=1
nrpe_allow_anonymous_tls=1
EOF
B2_PID=$BRIDGE_PID
if [ -n "$ALT" ]; then
	BRIDGE_BIN=$ALT/bin/xenvchan-bridge
	start_bridge b4 "$D/xs" "$D/ch" <<<"socket_mode=0666"
	BRIDGE_BIN=$BIN/xenvchan-bridge
fi
P_NRPE=$(free_port)
start_nrpe nrpe-plain "$P_NRPE" -n
P_NRPETLS=$(free_port)
start_nrpe nrpe-tls "$P_NRPETLS"

# the idle agents: served a few checks (as after a while in production),
# then left alone
for a in idle01 idle02; do
	for i in $(seq 20); do
		for try in 1 2 3; do # (a check right after the last may find the agent not
			# listening again yet: check_xenvchan --direct does not wait for it)
			out=$(XENSTORED_PATH=$D/xs2/socket "$BIN/check_xenvchan" --direct --channel "socket:$D/ch2" -H $a -c dummy 2>&1)
			[ "$out" = "OK: OK" ] && break
			sleep 0.1
		done
		[ "$out" = "OK: OK" ] || fail "idle agent $a: check $i: $out"
	done
done
sleep 1
# sampled in the background, exactly IDLE_SECONDS apart, while the rest runs
(
	# the helper too: agent and helper are counted together
	h1=$(helper_of "$IDLE1_PID") h2=$(helper_of "$IDLE2_PID")
	c1=$(ctxsw "$IDLE1_PID") c2=$(ctxsw "$IDLE2_PID") t0=$(us_now)
	hc1=$([ -n "$h1" ] && ctxsw "$h1" || echo 0) hc2=$([ -n "$h2" ] && ctxsw "$h2" || echo 0)
	sleep "$IDLE_SECONDS"
	c1b=$(ctxsw "$IDLE1_PID") c2b=$(ctxsw "$IDLE2_PID") s=$(secs_since "$t0")
	hc1b=$([ -n "$h1" ] && ctxsw "$h1" || echo 0) hc2b=$([ -n "$h2" ] && ctxsw "$h2" || echo 0)
	echo "agent,netns,seconds,wakeups,threads,vmrss_kb,vmhwm_kb,pss_kb,private_kb,helper_wakeups,helper_pss_kb,helper_private_kb"
	echo "idle01,$([ ${#NETNS[@]} -gt 0 ] && echo own || echo host),$s,$((c1b - c1)),$(ls /proc/$IDLE1_PID/task | wc -l),$(mem_of "$IDLE1_PID" | tr ' ' ,),$((hc1b - hc1)),$(helper_mem "$IDLE1_PID" | tr ' ' ,)"
	echo "idle02,host,$s,$((c2b - c2)),$(ls /proc/$IDLE2_PID/task | wc -l),$(mem_of "$IDLE2_PID" | tr ' ' ,),$((hc2b - hc2)),$(helper_mem "$IDLE2_PID" | tr ' ' ,)"
) >"$D/idle.csv" 2>"$D/idle.err" &
IDLE_SAMPLER=$!
say "idle agents served 20 checks each; now counting their wake-ups for $IDLE_SECONDS s"

# ---- 1. latency ----------------------------------------------------------------
SPEC=$D/spec.tsv
T=$'\t'
{
	echo "spawn${T}0${T}OK: OK${T}$DUMMY${T}0${T}OK"
	echo "spawn2${T}0${T}OK: OK${T}$TOOLS/spawn2${T}$DUMMY${T}0${T}OK"
	echo "nrpe${T}0${T}OK: OK${T}$CHECK_NRPE${T}-n${T}-H${T}127.0.0.1${T}-p${T}$P_NRPE${T}-c${T}dummy"
	echo "nrpe-tls${T}0${T}OK: OK${T}$CHECK_NRPE${T}-H${T}127.0.0.1${T}-p${T}$P_NRPETLS${T}-c${T}dummy"
	echo "cx-bridge${T}0${T}OK: OK${T}$BIN/check_xenvchan${T}-s${T}$D/b1.sock${T}-H${T}web01${T}-c${T}dummy"
	echo "cx-direct${T}0${T}OK: OK${T}$BIN/check_xenvchan${T}--direct${T}--channel${T}socket:$D/ch${T}-H${T}direct01${T}-c${T}dummy"
	echo "br-nrpe${T}0${T}OK: OK${T}$CHECK_NRPE${T}-n${T}-H${T}127.0.0.1${T}-p${T}$P_BR${T}-c${T}web01/dummy"
	echo "br-nrpe-tls${T}0${T}OK: OK${T}$CHECK_NRPE${T}-H${T}127.0.0.1${T}-p${T}$P_BRTLS${T}-c${T}tls01/dummy"
	[ -z "$ALT" ] ||
		echo "cx-bridge-alt${T}0${T}OK: OK${T}$ALT/bin/check_xenvchan${T}-s${T}$D/b4.sock${T}-H${T}alt01${T}-c${T}dummy"
	[ -z "$ALT" ] ||
		echo "cx-direct-alt${T}0${T}OK: OK${T}$ALT/bin/check_xenvchan${T}--direct${T}--channel${T}socket:$D/ch${T}-H${T}altd01${T}-c${T}dummy"
} >"$SPEC"
# one try of each first: a path that does not work stops the bench here
while IFS=$'\t' read -r name rc want cmd; do
	IFS=$'\t' read -r -a argv <<<"$cmd"
	got=$("${argv[@]}" 2>&1)
	r=$?
	[ "$r" = "$rc" ] && [ "$got" = "$want" ] || fail "$name: '${got:0:200}' (exit $r), wanted '$want' (exit $rc)"
done <"$SPEC"
PERF_PIDS=()
if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
	perf record -q -g -o "$OUT/perf-bridge.data" -p "$B1_PID" >/dev/null 2>&1 &
	PERF_PIDS+=($!)
	perf record -q -g -o "$OUT/perf-agent.data" -p "$WEB01_PID" >/dev/null 2>&1 &
	PERF_PIDS+=($!)
fi
say "1/4 latency: $ROUNDS rounds of the $(grep -c . "$SPEC") paths, interleaved, after $WARMUP warm-up rounds"
CS_BUSY0=$(cpu_busy)
LA0=$(loadavg)
t=$(us_now)
BAD=() # wrong answers: reported, the run goes on, the exit status says it
"$TOOLS/xvbench" lat -s "$SPEC" -w "$WARMUP" -r "$ROUNDS" -o "$OUT/latency.csv" 2>>"$OUT/errors.txt" ||
	BAD+=("latency rounds")
say "    done in $(secs_since "$t") s"
for p in "${PERF_PIDS[@]}"; do kill -INT "$p" 2>/dev/null; wait "$p" 2>/dev/null; done

# ---- 3. the idle agents (their 30 s are over by now, or nearly) --------------------
wait "$IDLE_SAMPLER"
# for scale: the memory of a process that does nothing (coreutils sleep,
# dynamically linked against libc only)
sleep 60 &
REF_PID=$!
PIDS+=("$REF_PID")
sleep 0.2
{
	cat "$D/idle.csv"
	echo "reference: sleep,host,,,1,$(mem_of "$REF_PID" | tr ' ' ,),,,"
} >"$OUT/idle.csv"
say "3/4 idle agents: $(grep '^idle' "$OUT/idle.csv" | awk -F, '{printf "%s (%s netns) %d wake-ups in %.0f s, VmRSS %d KiB; ", $1, $2, $4, $3, $6}')"

# ---- 2. throughput ------------------------------------------------------------------
say "2/4 throughput: clients $CLIENTS, $TPUT_CYCLES blocks of $TPUT_SECONDS s per path, paths in turn"
for c in $CLIENTS; do
	spec=$SPEC
	if [ "$c" -gt 1 ]; then
		# one client at a time only: the agent serves one channel client
		grep -v '^cx-direct' "$SPEC" >"$D/spec-multi.tsv"
		spec=$D/spec-multi.tsv
	fi
	"$TOOLS/xvbench" tput -s "$spec" -c "$c" -t "$TPUT_SECONDS" -k "$TPUT_CYCLES" -o "$OUT/throughput.csv" \
		2>>"$OUT/errors.txt" || BAD+=("throughput with $c clients")
done
CS_BUSY1=$(cpu_busy)
LA1=$(loadavg)
read -r B1_RSS1 B1_HWM1 _ <<<"$(mem_of "$B1_PID")"
stop_all

# ---- 4. the bridge with many guests -------------------------------------------------
say "4/4 the bridge with $GUESTS guests (real agents) under $RATE checks/s for $LOAD_SECONDS s"
doms=()
for ((i = 0; i < GUESTS; i++)); do doms+=(--domain "$((100 + i)):g$i"); done
mkdir -p "$D/ch3"
start_emu "$D/xs3" "${doms[@]}"
t=$(us_now)
LOAD_AGENTS=()
for ((i = 0; i < GUESTS; i++)); do
	start_agent "$D/xs3" "$((100 + i))" "$D/ch3" "g$i"
	LOAD_AGENTS+=("$AGENT_PID")
	# a few at a time: each publishes its data tree to the emulator
	[ $((i % 20)) = 19 ] && wait_for 300 agent_started "g$i"
done
for ((i = 0; i < GUESTS; i++)); do
	wait_for 300 agent_started "g$i" || { cat "$D/agent-g$i.log"; fail "agent g$i did not start"; }
done
say "    $GUESTS agents started in $(secs_since "$t") s"
start_bridge b3 "$D/xs3" "$D/ch3" <<EOF
socket_mode=0666
EOF
B3_PID=$BRIDGE_PID
b3_found() { [ "$(grep -c 'agent advertised' "$D/b3.log")" -ge "$GUESTS" ]; }
wait_for 300 b3_found || say "    (only $(grep -c 'agent advertised' "$D/b3.log") of $GUESTS advertisements seen)"
read -r B3_RSS0 _ <<<"$(mem_of "$B3_PID")"
# first round: every guest once (the bridge connects on a guest's first check)
"$TOOLS/xvbench" load -S "$D/b3.sock" -g "g%d/dummy" -n "$GUESTS" -r "$RATE" -t "$((GUESTS / RATE + 1))" \
	-o "$OUT/load-warmup.csv" >"$D/load-warmup.txt" || { cat "$D/load-warmup.txt"; fail "errors in the first round of checks"; }
read -r B3_RSS1 _ <<<"$(mem_of "$B3_PID")"
CPU0=$(cpu_ticks "$B3_PID")
"$TOOLS/xvbench" load -S "$D/b3.sock" -g "g%d/dummy" -n "$GUESTS" -r "$RATE" -t "$LOAD_SECONDS" \
	-o "$OUT/load.csv" >"$D/load.txt" 2>>"$OUT/errors.txt" || BAD+=("the bridge with $GUESTS guests")
CPU1=$(cpu_ticks "$B3_PID")
read -r B3_RSS2 B3_HWM2 B3_PSS2 B3_PRIV2 <<<"$(mem_of "$B3_PID")"
say "    $(cat "$D/load.txt")"
{
	echo "what,value"
	echo "guests,$GUESTS"
	echo "rate,$RATE"
	echo "seconds,$LOAD_SECONDS"
	echo "bridge_rss_kb_3_domains_idle,$B1_RSS0"
	echo "bridge_rss_kb_3_domains_after_bench,$B1_RSS1"
	echo "bridge_hwm_kb_3_domains_after_bench,$B1_HWM1"
	echo "bridge_rss_kb_${GUESTS}_domains_unconnected,$B3_RSS0"
	echo "bridge_rss_kb_${GUESTS}_guests_connected,$B3_RSS1"
	echo "bridge_rss_kb_after_load,$B3_RSS2"
	echo "bridge_hwm_kb_after_load,$B3_HWM2"
	echo "bridge_pss_kb_after_load,$B3_PSS2"
	echo "bridge_private_kb_after_load,$B3_PRIV2"
	echo "bridge_cpu_ticks_load,$((CPU1 - CPU0))"
	echo "clk_tck,$(getconf CLK_TCK)"
	echo "load_result,$(cat "$D/load.txt")"
	echo "agents_started,${#LOAD_AGENTS[@]}"
} >"$OUT/bridge-load.csv"
LA2=$(loadavg)
CS_BUSY2=$(cpu_busy)
stop_all

# ---- the report -------------------------------------------------------------------
{
	echo "loadavg_before_latency: $LA0"
	echo "loadavg_after_throughput: $LA1"
	echo "loadavg_after_load: $LA2"
	echo "machine_busy_latency_throughput: $(echo "$CS_BUSY0 $CS_BUSY1" | awk '{printf "%.0f%%", 100*($3-$1)/($4-$2)}')"
	echo "machine_busy_load: $(echo "$CS_BUSY1 $CS_BUSY2" | awk '{printf "%.0f%%", 100*($3-$1)/($4-$2)}')"
	echo "duration_s: $(($(date +%s) - T_START))"
	echo "rounds: $ROUNDS"
	echo "warmup: $WARMUP"
	echo "tput_block_s: $TPUT_SECONDS"
	echo "tput_cycles: $TPUT_CYCLES"
} >>"$OUT/env.txt"
python3 "$top/tests/bench/report.py" "$OUT" | tee "$OUT/table.txt"
rc=${PIPESTATUS[0]}
[ "${BENCH_STRICT:-0}" = 1 ] || rc=0
if [ ${#BAD[@]} -gt 0 ]; then
	say "WRONG ANSWERS during: ${BAD[*]} (first ones below; all in $OUT/errors.txt)"
	head -20 "$OUT/errors.txt"
	rc=1
fi
say "raw figures: $OUT/{latency,throughput,idle,bridge-load,load}.csv; table: $OUT/table.txt; plot: $OUT/latency.png"
say "took $(($(date +%s) - T_START)) s"
exit "$rc"
