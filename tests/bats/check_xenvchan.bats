#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# check_xenvchan, the Nagios plugin: every message and exit code, the
# check_nrpe options, output identical to check_nrpe's for the same probe
# output, and --direct.

load 'bridge-helper'

CHECK_NRPE=/usr/lib/nagios/plugins/check_nrpe
NRPE=/usr/sbin/nrpe

setup() {
	bridge_setup
	NRPE_PID=
}

teardown() {
	[ -n "$NRPE_PID" ] && { kill "$NRPE_PID" 2>/dev/null; wait "$NRPE_PID" 2>/dev/null; }
	bridge_teardown
}

# Probes with awkward output: no newline, one, two, long output, perfdata,
# leading blanks, each state.
make_probes() {
	local p=$BT/probes
	printf '#!/bin/sh\nprintf "OK - no newline"\n' >"$p/nonl.sh"
	printf '#!/bin/sh\nprintf "WARNING - one newline\\n"\nexit 1\n' >"$p/onenl.sh"
	printf '#!/bin/sh\nprintf "CRITICAL - two newlines\\n\\n"\nexit 2\n' >"$p/twonl.sh"
	printf '#!/bin/sh\nprintf "UNKNOWN - long\\nline 2\\nline 3 | a=1;2;3 b=4\\n"\nexit 3\n' >"$p/long.sh"
	printf '#!/bin/sh\nprintf "  leading blanks\\tand a tab|x=1\\n"\n' >"$p/blank.sh"
	printf '#!/bin/sh\nhead -c 3000 /dev/zero | tr "\\\\0" y\necho\n' >"$p/big.sh"
	printf '#!/bin/sh\necho "args: [$1] [$2]"\n' >"$p/args.sh"
	chmod 755 "$p"/*.sh
}

COMMANDS='nonl onenl twonl long blank big'

commands_cfg() {
	local c
	for c in $COMMANDS; do echo "command[$c]=$BT/probes/$c.sh"; done
	echo "command[args]=$BT/probes/args.sh \$ARG1\$ \$ARG2\$"
	echo "command[dummy]=$PLUGINS/check_dummy \$ARG1\$ \"\$ARG2\$\""
}

start_web01() {
	make_probes
	guest_add 5 web01
	guest_agent 5 < <(
		commands_cfg
		cat
	)
	bridge_start
}

@test "check_xenvchan: output and exit code are those of check_nrpe for the same probes" {
	start_web01 <<<"dont_blame_nrpe=1"
	local port
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	{
		echo "server_address=127.0.0.1"
		echo "server_port=$port"
		echo "allowed_hosts=127.0.0.1"
		echo "nrpe_user=nagios"
		echo "nrpe_group=nagios"
		echo "pid_file=$BT/nrpe.pid"
		echo "dont_blame_nrpe=1"
		commands_cfg
	} >"$BT/nrpe.cfg"
	"$NRPE" -c "$BT/nrpe.cfg" -n -f >"$BT/nrpe.log" 2>&1 3>&- &
	NRPE_PID=$!
	for _ in $(seq 50); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2).close()" 2>/dev/null && break
		sleep 0.1
	done
	local c a b ra rb
	# (Debian's nrpe is built without command arguments: -a is tested apart)
	for c in $COMMANDS; do
		ra=0 rb=0
		eval "a=\$(\"$CHECK_NRPE\" -n -H 127.0.0.1 -p $port -c $c)" || ra=$?
		eval "b=\$(cx -H web01 -c $c)" || rb=$?
		# $(...) drops trailing newlines: compare the raw bytes too
		eval "\"$CHECK_NRPE\" -n -H 127.0.0.1 -p $port -c $c" >"$BT/a.out" || true
		eval "cx -H web01 -c $c" >"$BT/b.out" || true
		echo "$c: check_nrpe rc $ra '${a:0:40}', check_xenvchan rc $rb '${b:0:40}'"
		assert_equal "$rb" "$ra"
		assert_equal "$b" "$a"
		cmp "$BT/a.out" "$BT/b.out"
	done
}

@test "check_xenvchan: without -c it asks the agent's version, as check_nrpe asks nrpe's" {
	start_web01 </dev/null
	run cx -H web01
	assert_success
	assert_output "xenvchan-agent v0.1.0"
	run cx -H 5
	assert_success
}

@test "check_xenvchan: -a passes the rest of the command line as arguments" {
	start_web01 <<<"dont_blame_nrpe=1"
	run cx -H web01 -c args -a -w "x y"
	assert_success
	assert_output "args: [-w] [x y]"
	run cx -H web01 -c args --args=1 2
	assert_output "args: [1] [2]"
	run cx -H web01 -c args -a
	assert_equal "$status" 3
	assert_output --partial "check_xenvchan: option '-a' needs a value"
}

@test "check_xenvchan: guest not found, no agent, undefined command" {
	start_web01 </dev/null
	guest_add 6 noagent
	run cx -H ghost -c x
	assert_equal "$status" 3
	assert_output "XENVCHAN: guest 'ghost' not found"
	run cx -H noagent -c x
	assert_equal "$status" 3
	assert_output "XENVCHAN: no agent is listening in guest 'noagent'"
	run cx -H web01 -c nope
	assert_equal "$status" 3
	assert_output "XENVCHAN: Command 'nope' not defined"
}

@test "check_xenvchan: the agent's limit is respected (checks wait), the bridge's queue full is 'busy'" {
	printf '#!/bin/sh\nsleep 2\necho "OK - slept"\n' >"$BT/probes/s2.sh"
	chmod 755 "$BT/probes/s2.sh"
	start_web01 <<EOF
max_concurrent=1
max_queue=0
command[s2]=$BT/probes/s2.sh
EOF
	# the agent takes one request at a time (HELLO_ACK max_inflight 1): the
	# second check waits in the bridge instead of being refused by the agent
	cx -H web01 -c s2 >/dev/null &
	local pid=$! t0
	sleep 0.5
	t0=$(now_ms)
	run cx -H web01 -c s2
	assert_success
	assert_output "OK - slept"
	[ $(($(now_ms) - t0)) -ge 3000 ]
	wait "$pid"
	bridge_stop
	bridge_config <<<$'max_inflight_per_guest=1\nmax_queue_per_guest=0'
	bridge_start
	cx -H web01 -c s2 >/dev/null &
	pid=$!
	sleep 0.5
	run cx -H web01 -c s2
	assert_equal "$status" 3
	assert_output "XENVCHAN: guest 'web01': too many requests waiting"
	wait "$pid"
}

@test "check_xenvchan: a time-out is CRITICAL, -u makes it UNKNOWN, -t SECS:STATE any state" {
	printf '#!/bin/sh\nsleep 5\necho "OK - late"\n' >"$BT/probes/s5.sh"
	chmod 755 "$BT/probes/s5.sh"
	start_web01 <<<"command[s5]=$BT/probes/s5.sh"
	local t0=$(now_ms)
	run cx -H web01 -c s5 -t 1
	echo "answered after $(($(now_ms) - t0)) ms"
	assert_equal "$status" 2
	assert_output "XENVCHAN: guest 'web01': no answer within 1 second"
	[ $(($(now_ms) - t0)) -lt 4000 ] # the probe ends after 5 s
	run cx -H web01 -c s5 -t 1 -u
	assert_equal "$status" 3
	assert_output "XENVCHAN: guest 'web01': no answer within 1 second"
	run cx -H web01 -c s5 -t 1:WARNING
	assert_equal "$status" 1
	run cx -H web01 -c s5 -t 1:ok
	assert_equal "$status" 0
	run cx -H web01 -c s5 -t 1:3
	assert_equal "$status" 3
	run cx -H web01 -c s5 --timeout=1:critical
	assert_equal "$status" 2
	# the bridge's own limit, shorter than the plugin's: the same states
	bridge_stop
	bridge_config <<<"request_timeout=1"
	bridge_start
	run cx -H web01 -c s5 -t 10
	assert_equal "$status" 2
	assert_output "XENVCHAN: guest 'web01': no answer within 1 second"
	run cx -H web01 -c s5 -t 10 -u
	assert_equal "$status" 3
	run cx -H web01 -c s5 -t 10:WARNING
	assert_equal "$status" 1
}

@test "check_xenvchan: a guest breaking the protocol is a protocol error, UNKNOWN" {
	start_web01 </dev/null
	guest_add 7 evil
	rogue_start 7 garbage
	run cx -H evil -c x
	assert_equal "$status" 3
	assert_output --regexp "^XENVCHAN: guest 'evil': protocol error \(bad packet: .*\): disconnected$"
	run cx -H web01
	assert_success
}

@test "check_xenvchan: bridge not running, or not reachable" {
	run cx -H web01 -c x
	assert_equal "$status" 3
	assert_output "XENVCHAN: the bridge is not running ($BT/bridge.sock: No such file or directory)"
	python3 -c "import socket,sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$BT/bridge.sock"
	run cx -H web01 -c x
	assert_equal "$status" 3
	assert_output "XENVCHAN: the bridge is not running ($BT/bridge.sock: Connection refused)"
	run "$CHECK" -s "$BT/probes" -H web01 -c x
	assert_equal "$status" 3
	assert_output --partial "XENVCHAN: the bridge is not running ($BT/probes: Connection refused)"
}

@test "check_xenvchan: command-line errors print the problem and the usage, UNKNOWN" {
	run "$CHECK" -c x
	assert_equal "$status" 3
	assert_line --index 0 "check_xenvchan: no guest: -H GUEST is required"
	assert_line --index 1 "Usage:"
	run "$CHECK" -H web01 -t abc
	assert_equal "$status" 3
	assert_line --index 0 "check_xenvchan: timeout 'abc': expected SECS[:STATE], SECS a positive integer"
	run "$CHECK" -H web01 -t 0
	assert_equal "$status" 3
	run "$CHECK" -H web01 -t 5:SOMETIMES
	assert_equal "$status" 3
	assert_line --index 0 "check_xenvchan: timeout state 'SOMETIMES': expected OK, WARNING, CRITICAL, UNKNOWN or 0-3"
	run "$CHECK" -H web01 -x
	assert_equal "$status" 3
	assert_line --index 0 "check_xenvchan: unknown option '-x'"
	run "$CHECK" -H web01 -c x extra
	assert_equal "$status" 3
	assert_line --index 0 "check_xenvchan: unexpected argument 'extra' (arguments for the command go after -a)"
	run "$CHECK" -H
	assert_equal "$status" 3
	assert_line --index 0 "check_xenvchan: option '-H' needs a value"
	run "$CHECK" -H 'web 01' -c x -s "$BT/none"
	assert_equal "$status" 3
	assert_output "XENVCHAN: bad guest 'web 01': guest name has a character outside [A-Za-z0-9_.-]"
	run "$CHECK" -H web01 -c x --channel vchan
	assert_equal "$status" 3
	assert_line --index 0 "check_xenvchan: --channel goes with --direct (the bridge has its own channel= setting)"
	run "$CHECK" -H web01 -c x -a "$(head -c 70000 /dev/zero | tr '\0' a)"
	assert_equal "$status" 3
	assert_output "XENVCHAN: the query is longer than 65535 bytes"
}

@test "check_xenvchan: -h and -V follow the plugin guidelines" {
	run "$CHECK" -h
	assert_equal "$status" 3
	assert_line --index 0 "check_xenvchan v0.1.0 (xenvchan-nrpe 0.1.0)"
	assert_line "Usage:"
	assert_output --partial " -t, --timeout=SECS[:STATE]"
	assert_output --partial " -u, --unknown-timeout"
	assert_output --partial " -a, --args=ARG..."
	assert_output --partial "     --direct"
	run "$CHECK" --help
	assert_equal "$status" 3
	run "$CHECK" -V
	assert_equal "$status" 3
	assert_output "check_xenvchan v0.1.0 (xenvchan-nrpe 0.1.0)"
	run "$CHECK" --version
	assert_equal "$status" 3
}

@test "check_xenvchan: --direct talks to the agent without a bridge" {
	make_probes
	guest_add 5 web01
	guest_agent 5 < <(commands_cfg)
	guest_add 6 noagent
	guest_add 7 oddad
	guest_advert 7 xenvchan-nrpe 7 socket
	local D=(--direct --channel "socket:$BT/ch")
	run "$CHECK" "${D[@]}" -H web01 -c onenl
	assert_equal "$status" 1
	assert_output "WARNING - one newline"
	run "$CHECK" "${D[@]}" -H 5
	assert_success
	assert_output "xenvchan-agent v0.1.0"
	run "$CHECK" "${D[@]}" -H ghost -c x
	assert_equal "$status" 3
	assert_output "XENVCHAN: guest 'ghost' not found"
	run "$CHECK" "${D[@]}" -H 77 -c x
	assert_output "XENVCHAN: guest '77' not found"
	run "$CHECK" "${D[@]}" -H noagent -c x
	assert_equal "$status" 3
	assert_output "XENVCHAN: no agent is listening in guest 'noagent'"
	run "$CHECK" "${D[@]}" -H oddad -c x
	assert_equal "$status" 3
	assert_output "XENVCHAN: guest 'oddad': unusable agent advertisement (versions: no common protocol version (the agent speaks '7'))"
	# the agent serves one client at a time: checks that come while it is
	# busy or about to listen again wait their turn (within -t) instead of
	# answering 'no agent'
	local pids=() i rc
	for i in 1 2 3 4 5 6; do
		"$CHECK" "${D[@]}" -H web01 -c onenl >"$BT/par.$i" 2>&1 &
		pids+=($!)
	done
	for i in 1 2 3 4 5 6; do
		rc=0
		wait "${pids[$((i - 1))]}" || rc=$?
		[ "$rc" -eq 1 ] || { echo "check $i: exit $rc: $(cat "$BT/par.$i")"; return 1; }
	done
	run "$CHECK" --direct --channel socket:relative -H web01 -c x
	assert_equal "$status" 3
	assert_line --index 0 --partial "check_xenvchan: bad channel 'socket:relative'"
	# the agent serves one client: while the bridge holds it, --direct says so
	bridge_start
	cx -H web01 -c nonl
	run "$CHECK" "${D[@]}" -H web01 -c nonl
	assert_equal "$status" 3
	assert_output "XENVCHAN: no agent is listening in guest 'web01' (or it is serving another client, such as the bridge)"
}

# the shared objects process $1 has mapped, one basename a line (polled
# until the process maps libz, i.e. has started, for at most 2 s)
mapped_libs() {
	local i
	for i in $(seq 1 40); do
		grep -q 'libz\.so' "/proc/$1/maps" 2>/dev/null && break
		sleep 0.05
	done
	awk '$6 ~ /\.so/ { n = split($6, p, "/"); print p[n] }' "/proc/$1/maps" | sort -u
}

@test "check_xenvchan: through the bridge it maps no Xen library; --direct loads what it uses" {
	guest_add 5 web01
	guest_agent 5 <<<"command[slow]=$BT/probes/sleep.sh 1 slow"
	# not linked ...
	run sh -c "readelf -d '$CHECK' | grep NEEDED"
	assert_success
	refute_output --partial libxen
	# ... nor mapped on the bridge path, while a check waits
	bridge_start
	"$CHECK" -s "$BT/bridge.sock" -H web01 -c slow >"$BT/bridge.out" 2>&1 &
	local pid=$!
	mapped_libs "$pid" >"$BT/bridge.maps"
	wait "$pid"
	assert_equal "$(cat "$BT/bridge.out")" "OK - slow"
	run cat "$BT/bridge.maps"
	assert_line --regexp '^libz\.so'
	refute_output --partial libxen
	bridge_stop
	# --direct loads libxenstore (the soname of this build) to find the
	# guest; libxenvchan only for a vchan, not for this socket channel
	"$CHECK" --direct --channel "socket:$BT/ch" -H web01 -c slow >"$BT/direct.out" 2>&1 &
	pid=$!
	sleep 0.5
	mapped_libs "$pid" >"$BT/direct.maps"
	wait "$pid"
	assert_equal "$(cat "$BT/direct.out")" "OK - slow"
	run cat "$BT/direct.maps"
	assert_line --regexp '^libxenstore\.so'
	refute_line --regexp '^libxenvchan\.so'
}
