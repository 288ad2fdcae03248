#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Hostile guests (tests/tools/rogue-agent on the guest's channel, with a
# valid advertisement): each misbehaviour costs the rogue its connection and
# is reported, the bridge lives on, and a good guest's checks keep their
# latency meanwhile.

load 'bridge-helper'

setup() { bridge_setup; }
teardown() { bridge_teardown; }

MODES="garbage hugelen biglen trickle silent badid pong flood"

# guest 5 (web01) with a real agent; rogues as guests 20.. named r-MODE
start_all() {
	guest_add 5 web01
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	local n=20 m
	for m in $MODES; do
		guest_add "$n" "r-$m"
		rogue_start "$n" "$m"
		n=$((n + 1))
	done
	# biglen needs a max_response below 65536 to be a violation
	bridge_config <<<"max_response=4096"
	bridge_start
}

@test "rogue: every misbehaviour ends the rogue's connection with a reason; the bridge lives on" {
	start_all
	declare -A want=(
		[garbage]="bad packet: unsupported packet version .*"
		[hugelen]="bad packet: buffer length out of bounds .*"
		[biglen]="frame of 65552 bytes announced, more than the 4112 accepted"
		[trickle]="(no HELLO_ACK within 5 seconds|a frame was not completed within 5 seconds .*)"
		[silent]="no HELLO_ACK within 5 seconds"
		[badid]="XV RESPONSE for request id [0-9]+, which is not outstanding"
		[pong]="PONG without a PING"
		[flood]="the agent sends PINGs but does not read the PONGs \([0-9]+ bytes waiting\)"
	)
	local m pids=() t0=$(now_ms)
	for m in $MODES; do
		cx -H "r-$m" -c x -t 20 >"$BT/out-$m" 2>&1 &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do wait "$pid" || true; done
	echo "all rogues answered within $(($(now_ms) - t0)) ms" >&3
	for m in $MODES; do
		echo "$m: $(cat "$BT/out-$m")"
		grep -Eqx "XENVCHAN: guest 'r-$m': protocol error \(${want[$m]}\): disconnected" "$BT/out-$m"
	done
	kill -0 "$BRIDGE_PID"
	run cx -H web01 -c ok
	assert_success
	assert_output "OK: fine"
	kill -USR1 "$BRIDGE_PID"
	sleep 0.3
	grep -Eq "stats: .* 8 protocol errors" "$BT/bridge.log"
	[ "$(grep -c 'protocol error: .*: disconnected' "$BT/bridge.log")" -eq 8 ]
}

@test "rogue: after a protocol error the rogue is refused at once during the back-off, not reconnected in a loop" {
	guest_add 7 evil
	rogue_start 7 garbage
	bridge_config <<<$'reconnect_min=1\nreconnect_max=4'
	bridge_start
	run cx -H evil -c x
	assert_output --partial "protocol error (bad packet"
	local t0=$(now_ms)
	for i in 1 2 3 4 5; do
		run cx -H evil -c x
		assert_equal "$status" 3
		assert_output --partial "protocol error (bad packet"
	done
	echo "5 refusals during the back-off in $(($(now_ms) - t0)) ms" >&3
	assert_equal "$(grep -c 'client connected' "$BT/rogue-7.log")" 1
	# the guest gets a real agent: once the back-off is over, it is served
	kill -KILL "${ROGUE_PIDS[0]}"
	guest_agent 7 <<<"command[ok]=$PLUGINS/check_dummy 0 fixed"
	sleep 1.2
	run cx -H evil -c ok
	assert_success
	assert_output "OK: fixed"
}

@test "rogue: a good guest keeps its latency while every rogue misbehaves (p50/p99)" {
	start_all
	# reconnect the rogues often, so that they attack again and again
	bridge_stop
	bridge_config <<<$'max_response=4096\nreconnect_min=0.05\nreconnect_max=0.2'
	bridge_start
	cx -H web01 -c ok >/dev/null
	run xvc latency 400 web01/ok
	assert_success
	local base=$output m qs=()
	for m in $MODES; do qs+=("r-$m/x"); done
	# keep every rogue busy: a check on each, again as soon as all are answered
	xvc hammer 30 "${qs[@]}" >"$BT/hammer.out" 2>&1 3>&- &
	local hammer=$!
	sleep 1
	run xvc latency 400 web01/ok
	local st=$status attacked=$output
	kill "$hammer" 2>/dev/null || true
	wait "$hammer" 2>/dev/null || true
	local sessions
	sessions=$(cat "$BT"/rogue-*.log | grep -c "client connected")
	echo "good guest, no rogue:        $base (ms)" >&3
	echo "good guest, 8 rogues active: $attacked (ms), $sessions rogue sessions so far" >&3
	assert_equal "$st" 0
	[ "$sessions" -gt 16 ]
	local p50 p99
	p50=$(awk '{print $2}' <<<"$attacked")
	p99=$(awk '{print $4}' <<<"$attacked")
	# generous bounds for a loaded 2-core test machine (and sanitizer
	# builds): what must not happen is a rogue stalling the loop, which
	# costs seconds
	[ "$(echo "$p50 < 25" | bc)" = 1 ]
	[ "$(echo "$p99 < 250" | bc)" = 1 ]
	kill -0 "$BRIDGE_PID"
}
