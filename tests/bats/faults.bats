#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Faults: processes killed, probes misbehaving, xenstore going away, a full
# log disk, signal storms.  Each case ends with a clear answer to the client
# that was waiting, no zombie left behind by the agent or the bridge, their
# descriptor counts back where they were, and the service working again.

load 'bridge-helper'
load '../soak/lib'

setup() {
	bridge_setup
	MNT= EXTRA_PIDS=()
}

teardown() {
	local p
	for p in "${EXTRA_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null || true
	done
	if [ -n "${MNT:-}" ]; then
		# the processes writing there first, then the mount, then the rest
		for p in "$BRIDGE_PID" "${AGENT_PIDS[5]:-}"; do
			[ -n "$p" ] && { kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; }
		done
		BRIDGE_PID= AGENT_PIDS[5]=
		umount -l "$MNT" 2>/dev/null || true
	fi
	bridge_teardown
}

# The processes of process group $1 that still run (not zombies: an
# orphan killed with its group waits for init to reap it).
live_in_group() {
	local p
	for p in $(pgrep -g "$1"); do
		xsemu_alive "$p" && echo "$p"
	done
	return 0
}

# wait_stats TEXT: the bridge's SIGUSR1 statistics line (just asked for)
# ends with TEXT
wait_stats() {
	local i
	for i in $(seq 40); do
		grep -q "stats: .*; $1\$" "$BT/bridge.log" && return 0
		sleep 0.05
	done
	grep "stats:" "$BT/bridge.log"
	return 1
}

# the usual pair: web01 (domid 5) with a real agent, and the bridge
start_pair() {
	guest_add 5 web01
	guest_agent 5 <<EOF
command[ok]=$PLUGINS/check_dummy 0 fine
command[warn]=$PLUGINS/check_dummy 1 careful
command[slow]=$BT/probes/sleep.sh 3 slow
command[sleepy]=$BT/probes/sleep.sh 0.3 sleepy
command[closeout]=$BT/probes/close-stdout.sh
command[grandchild]=$BT/probes/grandchild.sh
command[escape]=$BT/probes/escape.sh
command_timeout=2
EOF
	bridge_start
	run cx -H web01 -c ok
	assert_output "OK: fine"
}

# clean WHO...: no zombie children, descriptors back to the count in
# FDS_<who>, and a check answered.  WHO: agent, bridge.
baseline() {
	AGENT_FDS0=$(xv_settle_fds "${AGENT_PIDS[5]}")
	BRIDGE_FDS0=$(xv_settle_fds "$BRIDGE_PID")
}

clean() {
	local fa fb
	run cx -H web01 -c ok
	assert_output "OK: fine"
	fa=$(xv_settle_fds "${AGENT_PIDS[5]}")
	fb=$(xv_settle_fds "$BRIDGE_PID")
	echo "FIGURE faults $1: agent fds $AGENT_FDS0 -> $fa, bridge fds $BRIDGE_FDS0 -> $fb, zombies $(xv_zombies "${AGENT_PIDS[5]}")/$(xv_zombies "$BRIDGE_PID")" >&3
	assert_equal "$(xv_zombies "${AGENT_PIDS[5]}")" 0
	assert_equal "$(xv_zombies "$BRIDGE_PID")" 0
	[ "$fa" -le "$AGENT_FDS0" ] || { xv_fd_list "${AGENT_PIDS[5]}"; false; }
	[ "$fb" -le "$BRIDGE_FDS0" ] || { xv_fd_list "$BRIDGE_PID"; false; }
}

# The agent's probe helper (forksrv.h): its only child.
helper_pid() {
	pgrep -P "$1" || true
}

# The probes of agent $1 (the children of its helper), one per line.
probe_pids() {
	local h
	for h in $(pgrep -P "$1"); do
		pgrep -P "$h"
	done
	return 0
}

# ---- killed processes --------------------------------------------------------

@test "faults: kill -9 of the agent mid-check: the check hears 'connection lost', a new agent serves" {
	start_pair
	cx -H web01 -c slow >"$BT/slow.out" &
	local pid=$! rc=0 t0 probe
	for i in $(seq 100); do probe=$(probe_pids "${AGENT_PIDS[5]}"); [ -n "$probe" ] && break; sleep 0.02; done
	[ -n "$probe" ]
	t0=$(now_ms)
	kill -KILL "${AGENT_PIDS[5]}"
	wait "${AGENT_PIDS[5]}" || true
	wait "$pid" || rc=$?
	echo "FIGURE faults agent-kill9: the waiting check answered $(($(now_ms) - t0)) ms after the kill" >&3
	assert_equal "$rc" 3
	assert_equal "$(cat "$BT/slow.out")" "XENVCHAN: guest 'web01': connection to the agent lost"
	# the probe the dead agent started is an orphan now (under systemd,
	# KillMode=control-group stops it with the agent); it ends on its own
	kill -0 "$probe" 2>/dev/null && echo "orphaned probe $probe still runs (ends by itself)"
	guest_agent_start 5
	run cx -H web01 -c warn
	assert_equal "$status" 1
	assert_output "WARNING: careful"
	# (a connection is 2 descriptors in the bridge: the socket and its epoll)
	baseline
	clean agent-kill9
	assert_equal "$(xv_zombies "$BRIDGE_PID")" 0
}

@test "faults: kill -9 of the bridge mid-check: the plugin says so, the agent cancels the probe, a new bridge serves" {
	start_pair
	baseline
	cx -H web01 -c slow >"$BT/slow.out" &
	local pid=$! rc=0 probe
	for i in $(seq 100); do probe=$(probe_pids "${AGENT_PIDS[5]}"); [ -n "$probe" ] && break; sleep 0.02; done
	[ -n "$probe" ]
	kill -KILL "$BRIDGE_PID"
	wait "$BRIDGE_PID" || true
	BRIDGE_PID=
	wait "$pid" || rc=$?
	assert_equal "$rc" 3
	assert_equal "$(cat "$BT/slow.out")" "XENVCHAN: the bridge closed the connection without answering"
	# the agent saw its client go: the probe is killed with its group
	for i in $(seq 50); do kill -0 "$probe" 2>/dev/null || break; sleep 0.05; done
	run kill -0 "$probe"
	assert_failure
	grep -q "client disconnected" "$BT/agent-5.log"
	# a new bridge replaces the stale socket and serves
	bridge_start
	run cx -H web01 -c ok
	assert_output "OK: fine"
	BRIDGE_FDS0=$(xv_settle_fds "$BRIDGE_PID")
	clean bridge-kill9
}

@test "faults: kill -9 of a probe mid-check: UNKNOWN 'killed by signal 9', no zombie" {
	start_pair
	baseline
	cx -H web01 -c slow >"$BT/slow.out" &
	local pid=$! rc=0 probe t0
	for i in $(seq 100); do probe=$(probe_pids "${AGENT_PIDS[5]}"); [ -n "$probe" ] && break; sleep 0.02; done
	[ -n "$probe" ]
	t0=$(now_ms)
	kill -KILL "$probe"
	wait "$pid" || rc=$?
	echo "FIGURE faults probe-kill9: answered $(($(now_ms) - t0)) ms after the kill" >&3
	assert_equal "$rc" 3
	assert_equal "$(cat "$BT/slow.out")" "XENVCHAN: Command 'slow' killed by signal 9 (SIGKILL)"
	[ $(($(now_ms) - t0)) -lt 2500 ]
	# its sleep went with its group
	sleep 0.2
	assert_equal "$(live_in_group "$probe")" ""
	clean probe-kill9
}

@test "faults: kill -9 of the probe helper mid-check: UNKNOWN with the reason, a new helper serves" {
	start_pair
	baseline
	local helper new probe pid rc=0
	helper=$(helper_pid "${AGENT_PIDS[5]}")
	[ -n "$helper" ]
	cx -H web01 -c slow >"$BT/slow.out" &
	pid=$!
	for i in $(seq 100); do probe=$(probe_pids "${AGENT_PIDS[5]}"); [ -n "$probe" ] && break; sleep 0.02; done
	[ -n "$probe" ]
	kill -KILL "$helper"
	wait "$pid" || rc=$?
	assert_equal "$rc" 3
	assert_equal "$(cat "$BT/slow.out")" "XENVCHAN: Command 'slow': the probe helper died: pid $helper killed by signal 9 (SIGKILL)"
	# a new helper at once, which also kills the orphaned probe's group
	for i in $(seq 50); do
		new=$(helper_pid "${AGENT_PIDS[5]}")
		[ -n "$new" ] && [ "$new" != "$helper" ] && break
		sleep 0.05
	done
	[ -n "$new" ] && [ "$new" != "$helper" ]
	grep -q "probe helper started: pid $new" "$BT/agent-5.log"
	for i in $(seq 20); do [ -z "$(live_in_group "$probe")" ] && break; sleep 0.05; done
	assert_equal "$(live_in_group "$probe")" ""
	clean helper-kill9
}

# ---- probes that misbehave ---------------------------------------------------

@test "faults: a probe that closes stdout and keeps running is timed out with its group" {
	start_pair
	baseline
	local t0=$(now_ms) pid rc=0 probe
	cx -H web01 -c closeout >"$BT/closeout.out" &
	pid=$!
	for i in $(seq 100); do probe=$(probe_pids "${AGENT_PIDS[5]}"); [ -n "$probe" ] && break; sleep 0.02; done
	[ -n "$probe" ]
	wait "$pid" || rc=$?
	echo "FIGURE faults closeout: answered in $(($(now_ms) - t0)) ms (command_timeout=2)" >&3
	assert_equal "$rc" 3
	assert_equal "$(cat "$BT/closeout.out")" "XENVCHAN: Command 'closeout' timed out after 2 seconds"
	# nothing of it is left: its sleep was in its group
	sleep 0.2
	assert_equal "$(live_in_group "$probe")" ""
	clean closeout
}

@test "faults: a probe whose children outlive it: answered after the EOF grace, the children killed" {
	start_pair
	baseline
	local t0=$(now_ms) child
	run cx -H web01 -c grandchild
	echo "FIGURE faults grandchild: answered in $(($(now_ms) - t0)) ms" >&3
	assert_success
	[[ $output =~ ^"OK - started "([0-9]+)$ ]]
	child=${BASH_REMATCH[1]}
	[ $(($(now_ms) - t0)) -lt 5000 ] # the grandchild holds stdout 30 s
	for i in $(seq 20); do xsemu_alive "$child" || break; sleep 0.05; done
	run xsemu_alive "$child"
	assert_failure
	clean grandchild
}

@test "faults: a probe child that leaves the process group and holds stdout: the answer still comes" {
	# probe.h: a process that leaves the group (setsid) escapes the final
	# SIGKILL; the agent must not wait for it beyond PROBE_EOF_GRACE
	cat >"$BT/probes/escape.sh" <<'EOF'
#!/bin/sh
setsid sleep 4 &
echo "OK - escaped $!"
EOF
	chmod 755 "$BT/probes/escape.sh"
	start_pair
	baseline
	local t0=$(now_ms) child
	run cx -H web01 -c escape
	echo "FIGURE faults escape: answered in $(($(now_ms) - t0)) ms" >&3
	assert_success
	[[ $output =~ ^"OK - escaped "([0-9]+)$ ]]
	child=${BASH_REMATCH[1]}
	EXTRA_PIDS+=("$child")
	[ $(($(now_ms) - t0)) -lt 5000 ]
	clean escape
}

# ---- xenstore lost ----------------------------------------------------------

# Expected behaviour when the connection to xenstored is lost (the emulator
# killed), and when xenstored comes back on the same socket:
#  1. while it is gone, neither the agent nor the bridge dies or spins (at
#     most 0.2 s of CPU each in 3 s); checks over an agent connection that
#     exists keep being answered; a check for a guest the bridge does not
#     know is answered at once with a clear error;
#  2. once it is back, within 15 s, the bridge finds a guest created after
#     the restart (it notices the loss when it next needs xenstore: here,
#     the check for that guest) and serves it; and the agent, told with
#     SIGHUP (systemctl reload; on a real guest its xenbus connection does
#     not drop when xenstored restarts), has put its advertisement back, so
#     that any bridge finds it.

xs_restart() {
	"$XSEMU" --dir "$XSEMU_DIR" --daemon --pid-file "$XSEMU_DIR/pid" \
		--log "$XSEMU_DIR/requests2.log" >"$XSEMU_DIR/start2.out" 2>&1 3>&-
	XSEMU_PID=$(cat "$XSEMU_DIR/pid")
	# xsemu_stop stops the emulator this variable names (teardown)
	_xsemu_pid=$XSEMU_PID
}

@test "faults: xenstore lost: agent and bridge stay up without spinning and keep serving" {
	start_pair
	baseline
	local ca cb
	kill -KILL "$XSEMU_PID"
	sleep 0.2
	ca=$(xv_cpu_ticks "${AGENT_PIDS[5]}") cb=$(xv_cpu_ticks "$BRIDGE_PID")
	sleep 3
	ca=$(($(xv_cpu_ticks "${AGENT_PIDS[5]}") - ca)) cb=$(($(xv_cpu_ticks "$BRIDGE_PID") - cb))
	echo "FIGURE faults xenstore-lost: CPU in 3 s without xenstore: agent $((ca * 10)) ms, bridge $((cb * 10)) ms" >&3
	[ "$ca" -le 20 ]
	[ "$cb" -le 20 ]
	kill -0 "${AGENT_PIDS[5]}"
	kill -0 "$BRIDGE_PID"
	# the agent connection needs no xenstore
	run cx -H web01 -c warn
	assert_equal "$status" 1
	assert_output "WARNING: careful"
	local t0=$(now_ms)
	run cx -H web02 -c ok
	echo "unknown guest: $output"
	assert_equal "$status" 3
	[[ $output == "XENVCHAN: "* ]]
	[ $(($(now_ms) - t0)) -lt 5000 ]
	# SIGUSR1's statistics say so
	kill -USR1 "$BRIDGE_PID"
	wait_stats "xenstore reconnecting, lost 1 times"
	clean xenstore-lost
	xs_restart
}

@test "faults: xenstore back on the same socket: the bridge finds new guests, the agent writes its keys again" {
	start_pair
	baseline
	kill -KILL "$XSEMU_PID"
	sleep 1
	xs_restart
	# the toolstack re-creates the domains it knows; a new one appears.
	# Nobody tells the daemons: they notice the loss and reconnect alone.
	guest_add 5 web01
	guest_add 6 web02
	guest_agent 6 <<<"command[ok]=$PLUGINS/check_dummy 0 six"
	local i found= advert= tree=
	for i in $(seq 40); do
		[ -z "$found" ] && [ "$(cx -H web02 -c ok)" = "OK: six" ] && found=$i
		[ -z "$advert" ] && [ "$(xenstore-read /local/domain/5/data/guest/probes/protocol 2>/dev/null)" = xenvchan-nrpe ] && advert=$i
		[ -z "$tree" ] && [ "$(xenstore-read /local/domain/5/data/guest/agent/state 2>/dev/null)" = running ] && tree=$i
		[ -n "$found" ] && [ -n "$advert" ] && [ -n "$tree" ] && break
		sleep 0.25
	done
	echo "FIGURE faults xenstore-back: web02 served after ${found:-never}, agent 5 advertised after ${advert:-never}, its data tree back after ${tree:-never} tries (0.25 s apart)" >&3
	[ -n "$found" ] || {
		echo "BUG: the bridge does not reconnect to xenstored: a guest created after the restart is never found"
		tail -25 "$BT/bridge.log"
		false
	}
	[ -n "$advert" ] || {
		echo "BUG: the agent does not reconnect to xenstored: its advertisement never comes back"
		false
	}
	[ -n "$tree" ] || {
		echo "BUG: the agent does not publish its data tree again after reconnecting"
		false
	}
	# the agent of web01 answered over its old connection all along
	run cx -H web01 -c ok
	assert_output "OK: fine"
	grep -q "xenstore connection lost" "$BT/bridge.log"
	grep -q "xenstore connection restored" "$BT/bridge.log"
	kill -USR1 "$BRIDGE_PID"
	wait_stats "xenstore connected, lost 1 times"
	# domain 6 goes (seen on the new connection's @releaseDomain); then no
	# descriptor is left behind by the lost connection
	guest_agent_stop 6
	xsemu_domain_destroy 6
	for i in $(seq 40); do
		grep -q "domain 6 (web02) went away" "$BT/bridge.log" && break
		sleep 0.1
	done
	grep -q "domain 6 (web02) went away" "$BT/bridge.log"
	clean xenstore-back
}

@test "faults: xenstore away for long: reconnect attempts back off, SIGHUP retries at once" {
	start_pair
	kill -KILL "$XSEMU_PID"
	sleep 0.5
	# attempts double from 0.25 s to at most 15 s: 0.25, 0.75, 1.75, 3.75,
	# 7.75, then 15.75 s after the loss; a few, not hundreds
	local ca cb
	ca=$(xv_cpu_ticks "${AGENT_PIDS[5]}") cb=$(xv_cpu_ticks "$BRIDGE_PID")
	sleep 8
	ca=$(($(xv_cpu_ticks "${AGENT_PIDS[5]}") - ca)) cb=$(($(xv_cpu_ticks "$BRIDGE_PID") - cb))
	[ "$ca" -le 20 ]
	[ "$cb" -le 20 ]
	# the next attempt is due in about 7 s: SIGHUP makes it now
	xs_restart
	guest_add 5 web01
	guest_add 6 web02
	guest_agent 6 <<<"command[ok]=$PLUGINS/check_dummy 0 six"
	kill -HUP "$BRIDGE_PID" "${AGENT_PIDS[5]}"
	local t0=$(now_ms) i found= advert=
	for i in $(seq 40); do
		[ -z "$found" ] && [ "$(cx -H web02 -c ok)" = "OK: six" ] && found=$(($(now_ms) - t0))
		[ -z "$advert" ] && [ "$(xenstore-read /local/domain/5/data/guest/probes/protocol 2>/dev/null)" = xenvchan-nrpe ] && advert=$(($(now_ms) - t0))
		[ -n "$found" ] && [ -n "$advert" ] && break
		sleep 0.1
	done
	echo "FIGURE faults xenstore-sighup: after SIGHUP, web02 served in ${found:-never} ms, agent 5 advertised in ${advert:-never} ms; CPU in 8 s of retrying: agent $((ca * 10)) ms, bridge $((cb * 10)) ms" >&3
	[ -n "$found" ]
	[ "$found" -lt 5000 ] # the back-off was 7 s away
	[ -n "$advert" ]
	[ "$advert" -lt 5000 ]
}

@test "faults: an agent back after an outage is used at once, not after the bridge's back-off" {
	guest_add 5 web01
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	bridge_config <<<$'reconnect_min=10\nreconnect_max=60'
	bridge_start
	run cx -H web01 -c ok
	assert_output "OK: fine"
	# the agent goes: the bridge backs off 10 s before connecting again
	guest_agent_stop 5
	run cx -H web01 -c ok -t 3
	[ "$status" -ne 0 ]
	# it comes back: its advertisement ends the back-off
	guest_agent_start 5
	sleep 0.5
	local t0=$(now_ms) dt
	run cx -H web01 -c ok -t 15
	dt=$(($(now_ms) - t0))
	echo "FIGURE faults agent-back: the first check after the agent came back took $dt ms (back-off 10 s)" >&3
	assert_output "OK: fine"
	[ "$dt" -lt 5000 ] # the back-off: 10 s
}

# ---- a full log disk ---------------------------------------------------------

@test "faults: a full log disk: agent and bridge keep serving, logging resumes once there is room" {
	[ "$(id -u)" = 0 ] || skip "mounting a tmpfs needs root (CI runs the tests as root)"
	MNT=$BT/full
	mkdir -p "$MNT"
	mount -t tmpfs -o size=256k,mode=0755 tmpfs "$MNT"
	guest_add 5 web01
	cat >"$BT/agent-5.cfg" <<EOF
channel=socket:$BT/ch
log_file=$MNT/agent.log
command[ok]=$PLUGINS/check_dummy 0 fine
command[warn]=$PLUGINS/check_dummy 1 careful
command[noisy]=$BT/probes/stderr.sh
EOF
	# the agent logs to its log_file only; the bridge's stderr is on the
	# same small disk
	env $(xsemu_guest_env 5) "$AGENT" -c "$BT/agent-5.cfg" -f -v >"$BT/agent-5.out" 2>&1 3>&- &
	AGENT_PIDS[5]=$!
	for i in $(seq 100); do [ -S "$BT/ch/5-data.guest.probes.vchan" ] && break; sleep 0.05; done
	"$BRIDGE" -c "$BT/bridge.cfg" -f -v >>"$MNT/bridge.log" 2>&1 3>&- &
	BRIDGE_PID=$!
	for i in $(seq 100); do [ -S "$BT/bridge.sock" ] && break; sleep 0.05; done
	run cx -H web01 -c ok
	assert_output "OK: fine"
	baseline
	# fill the disk
	dd if=/dev/zero of="$MNT/fill" bs=4k 2>/dev/null || true
	run df -k "$MNT"
	echo "$output"
	local before_a before_b k ca cb
	ca=$(xv_cpu_ticks "${AGENT_PIDS[5]}") cb=$(xv_cpu_ticks "$BRIDGE_PID")
	for k in 1 2; do
		# (the first round fills what is left of the logs' last pages)
		before_a=$(wc -c <"$MNT/agent.log") before_b=$(wc -c <"$MNT/bridge.log")
		run "$LOADGEN" -s "$BT/bridge.sock" -n 300 -c 4 -q web01/ok=0:OK \
			web01/warn=1:WARNING web01/noisy=0
		echo "$output"
		assert_success
		kill -0 "${AGENT_PIDS[5]}"
		kill -0 "$BRIDGE_PID"
	done
	echo "FIGURE faults full-disk: 600 checks answered on a full disk; CPU agent $((($(xv_cpu_ticks "${AGENT_PIDS[5]}") - ca) * 10)) ms, bridge $((($(xv_cpu_ticks "$BRIDGE_PID") - cb) * 10)) ms" >&3
	# nothing could be written in the second round
	assert_equal "$(wc -c <"$MNT/agent.log")" "$before_a"
	assert_equal "$(wc -c <"$MNT/bridge.log")" "$before_b"
	# room again: the agent reopens its log on SIGHUP, the bridge writes on
	rm -f "$MNT/fill"
	kill -HUP "${AGENT_PIDS[5]}"
	sleep 0.3
	run cx -H web01 -c ok
	assert_output "OK: fine"
	sleep 0.2
	grep -q "configuration reloaded" "$MNT/agent.log"
	kill -USR1 "$BRIDGE_PID"
	sleep 0.2
	grep -q "stats: " "$MNT/bridge.log"
	[ "$(wc -c <"$MNT/bridge.log")" -gt "$before_b" ]
	clean full-disk
}

# ---- signal storms -----------------------------------------------------------

@test "faults: 100 SIGHUPs in a second to the agent and the bridge while checks run" {
	start_pair
	baseline
	local rss_a rss_b lg
	rss_a=$(xv_rss_kb "${AGENT_PIDS[5]}") rss_b=$(xv_rss_kb "$BRIDGE_PID")
	"$LOADGEN" -s "$BT/bridge.sock" -d 3 -c 4 -q web01/ok=0:OK web01/warn=1:WARNING \
		web01/sleepy=0:OK >"$BT/lg.out" 2>&1 &
	lg=$!
	sleep 0.5
	local t0=$(now_ms)
	# ten bursts of ten, 0.09 s apart: 100 of each within a second
	for i in $(seq 10); do
		for j in 1 2 3 4 5 6 7 8 9 10; do
			kill -HUP "${AGENT_PIDS[5]}" "$BRIDGE_PID"
		done
		[ "$i" = 10 ] || sleep 0.09
	done
	echo "FIGURE faults sighup: 100 SIGHUPs to each in $(($(now_ms) - t0)) ms" >&3
	wait "$lg" || { cat "$BT/lg.out"; false; }
	cat "$BT/lg.out"
	grep -q "mismatched 0 errors 0" "$BT/lg.out"
	kill -0 "${AGENT_PIDS[5]}"
	kill -0 "$BRIDGE_PID"
	local reloads breloads
	reloads=$(grep -c "configuration reloaded" "$BT/agent-5.log")
	breloads=$(grep -c "configuration reloaded" "$BT/bridge.log")
	echo "FIGURE faults sighup: the agent reloaded $reloads times, the bridge $breloads times; RSS agent $rss_a -> $(xv_rss_kb "${AGENT_PIDS[5]}") kB, bridge $rss_b -> $(xv_rss_kb "$BRIDGE_PID") kB" >&3
	[ "$reloads" -ge 1 ]
	[ "$breloads" -ge 1 ]
	clean sighup
}
