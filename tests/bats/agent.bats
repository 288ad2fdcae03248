#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# xenvchan-agent over the socket channel, as emulated guest 5, with the real
# monitoring-plugins: what a client sees for every kind of request.

load 'agent-helper'

setup() { agent_setup; }
teardown() { agent_teardown; }

PLUGINS=/usr/lib/nagios/plugins

@test "agent: _NRPE_CHECK and an empty query answer the agent's version" {
	agent_config <<<""
	agent_start
	run q -m v4 _NRPE_CHECK
	assert_success
	assert_output "xenvchan-agent v$("$AGENT" -V | cut -d' ' -f2)"
	run q -m v2 ""
	assert_success
	assert_output --partial "xenvchan-agent v"
}

@test "agent: a plugin's output and exit code pass through over v2, v4 and the extension" {
	agent_config <<EOF
command[warn]=$PLUGINS/check_dummy 1 "disk nearly full"
command[crit]=$PLUGINS/check_dummy 2 crit
command[multi]=$AT/probes/exit.sh 0 "OK - first line" "second line|perf=1"
EOF
	agent_start
	for m in v2 v4 xv; do
		run q -m $m warn
		assert_equal "$status" 1
		assert_output "WARNING: disk nearly full"
		run q -m $m crit
		assert_equal "$status" 2
		assert_output "CRITICAL: crit"
		run q -m $m multi
		assert_success
		assert_output $'OK - first line\nsecond line|perf=1'
	done
}

@test "agent: every command of the default catalogue answers with the plugin's own output and state" {
	sed "s|$PLUGINS/check_mem|$XV_BIN/check_mem|" "$XV_TOP/probes/default.cfg" >"$AT/catalogue.cfg"
	agent_config <<<"include=$AT/catalogue.cfg"
	agent_start
	local names
	names=$(sed -n 's/^command\[\([^]]*\)\]=.*/\1/p' "$AT/catalogue.cfg")
	[ "$(echo "$names" | wc -w)" -ge 9 ]
	for name in $names; do
		line=$(sed -n "s/^command\[$name\]=//p" "$AT/catalogue.cfg")
		# the same command line run directly, as the same user as the probe
		drc=0
		if [ "$(id -u)" = 0 ]; then
			direct=$(cd / && eval "setpriv --reuid=nobody --regid=nogroup --clear-groups $line") || drc=$?
		else
			direct=$(cd / && eval "$line") || drc=$?
		fi
		run q -t 60 "$name"
		echo "$name: direct rc=$drc '${direct:0:60}'; agent rc=$status '${output:0:60}'"
		assert_equal "$status" "$drc"
		# outputs carry live figures: compare the status part before the first figure
		assert_equal "${output%%[0-9]*}" "${direct%%[0-9]*}"
	done
}

@test "agent: undefined command, bad query and refused arguments say why" {
	agent_config <<EOF
command[dummy]=$PLUGINS/check_dummy \$ARG1\$ \$ARG2\$
EOF
	agent_start
	run q nope
	assert_equal "$status" 3
	assert_output "XENVCHAN: Command 'nope' not defined"
	run q 'bad;name'
	assert_equal "$status" 3
	assert_output --regexp "^XENVCHAN: Bad request: .*"
	run q 'dummy!0!hello'
	assert_equal "$status" 3
	assert_output "XENVCHAN: Command 'dummy': command arguments are disabled (dont_blame_nrpe=0): request refused"
	# without arguments the placeholders are empty, as in nrpe: it runs
	run q dummy
	refute_output --partial "refused"
	refute_output --partial "XENVCHAN"
}

@test "agent: with dont_blame_nrpe=1 each argument is one argv element, checked against the allowlist and length" {
	agent_config <<EOF
dont_blame_nrpe=1
arg_max_length=20
command[dummy]=$PLUGINS/check_dummy \$ARG1\$ "\$ARG2\$"
command[echo]=$AT/probes/exit.sh 0 "OK - [\$ARG1\$]"
EOF
	agent_start
	run q 'dummy!1!two words here'
	assert_equal "$status" 1
	assert_output "WARNING: two words here"
	run q 'echo!a b;c'
	assert_equal "$status" 3
	assert_output "XENVCHAN: Command 'echo': argument 1 refused: does not match the allowlist (arg_allowlist)"
	run q 'echo!$(id)'
	assert_equal "$status" 3
	assert_output --partial "argument 1 refused: does not match the allowlist"
	run q "echo!$(printf 'x%.0s' $(seq 21))"
	assert_equal "$status" 3
	assert_output "XENVCHAN: Command 'echo': argument 1 refused: longer than 20 bytes (arg_max_length)"
	run q $'echo!a\nb'
	assert_equal "$status" 3
	assert_output "XENVCHAN: Command 'echo': argument 1 refused: contains a line break"
	run q 'echo!spaces are fine'
	assert_success
	assert_output "OK - [spaces are fine]"
}

@test "agent: missing program, unexecutable file, bad exit code, signal, no output" {
	agent_config <<EOF
command[missing]=/nonexistent/check_x
command[noexec]=$AT/probes/not-executable.sh
command[seven]=$AT/probes/exit.sh 7 "weird"
command[sig]=$AT/probes/signal.sh
command[silent]=$AT/probes/exit.sh 0
EOF
	agent_start
	run q missing
	assert_equal "$status" 3
	assert_output "XENVCHAN: Command 'missing': /nonexistent/check_x: No such file or directory"
	run q noexec
	assert_equal "$status" 3
	assert_output "XENVCHAN: Command 'noexec': $AT/probes/not-executable.sh: Permission denied"
	run q seven
	assert_equal "$status" 3
	assert_output $'weird\nXENVCHAN: Command \'seven\' exited with status 7 (not a plugin state 0-3)'
	run q sig
	assert_equal "$status" 3
	assert_output "XENVCHAN: Command 'sig' killed by signal 10 (SIGUSR1)"
	run q silent
	assert_equal "$status" 3
	assert_output "XENVCHAN: Command 'silent' produced no output (exit status 0)"
}

@test "agent: a probe past command_timeout is killed with its whole group" {
	printf '#!/bin/sh\nsleep 31.7 &\necho "OK - started"\nwait\n' >"$AT/probes/hang.sh"
	chmod 755 "$AT/probes/hang.sh"
	agent_config <<EOF
command_timeout=1
command[hang]=$AT/probes/hang.sh
EOF
	agent_start
	local t0=$SECONDS
	run q hang
	assert_equal "$status" 3
	assert_output "XENVCHAN: Command 'hang' timed out after 1 second"
	[ $((SECONDS - t0)) -le 3 ]
	sleep 0.2
	run pgrep -f "sleep 31.7"
	assert_failure
}

@test "agent: 10 probes of 1 s run at once in about 1 s; past the queue the answer is 'agent busy'" {
	agent_config <<EOF
max_concurrent=10
command[s1]=$AT/probes/sleep.sh 1
EOF
	agent_start
	local t0 t1
	t0=$(date +%s.%N)
	run q s1 s1 s1 s1 s1 s1 s1 s1 s1 s1
	t1=$(date +%s.%N)
	assert_success
	[ "$(grep -c '^[0-9]* 0 OK - slept 1$' <<<"$output")" -eq 10 ]
	echo "# 10 probes of 1 s took $(echo "$t1 - $t0" | bc) s" >&3
	[ "$(echo "$t1 - $t0 < 1.8" | bc)" = 1 ]

	agent_stop
	agent_config <<EOF
max_concurrent=2
max_queue=1
command[s1]=$AT/probes/sleep.sh 1
EOF
	agent_start
	run q s1 s1 s1 s1
	assert_success
	assert_line "4 3 XENVCHAN: agent busy (2 probes running, 1 queued)"
	[ "$(grep -c ' 0 OK - slept 1$' <<<"$output")" -eq 3 ]
}

@test "agent: plain NRPE queries on one connection are answered in arrival order" {
	agent_config <<EOF
max_concurrent=4
command[slow]=$AT/probes/sleep.sh 0.5 slow
command[fast]=$PLUGINS/check_dummy 0 fast
EOF
	agent_start
	run q -m v4 slow fast fast
	assert_success
	assert_equal "${lines[0]}" "1 0 OK - slow"
	assert_equal "${lines[1]}" "2 0 OK: fast"
	# the extension answers as probes finish
	run q -m xv slow fast
	assert_success
	assert_equal "${lines[0]}" "2 0 OK: fast"
	assert_equal "${lines[1]}" "1 0 OK - slow"
}

@test "agent: 70 KB of output is truncated at the cap and marked" {
	agent_config <<EOF
command[big]=$AT/probes/big.sh 70000 1
EOF
	agent_start
	q big >"$AT/out" || rc=$?
	assert_equal "${rc:-0}" 1
	# xvquery adds the final newline; the packet carries the cap
	local n
	n=$(($(wc -c <"$AT/out") - 1))
	echo "# extension answer: $n bytes" >&3
	[ "$n" -le 65531 ] && [ "$n" -ge 65000 ]
	tail -1 "$AT/out" | grep -qx "\[output truncated at $n bytes by xenvchan-agent\]"
	# a client that announced a smaller max_response in its HELLO
	q -R 4096 big >"$AT/out3" || true
	n=$(($(wc -c <"$AT/out3") - 1))
	assert_equal "$n" 4091
	tail -1 "$AT/out3" | grep -qx "\[output truncated at 4091 bytes by xenvchan-agent\]"
	q -m v2 big >"$AT/out2" || true
	n=$(($(wc -c <"$AT/out2") - 1))
	assert_equal "$n" 1023
	tail -1 "$AT/out2" | grep -qx "\[output truncated at 1023 bytes by xenvchan-agent\]"
}

@test "agent: a client vanishing mid-check cancels its probe and the next client is served" {
	printf '#!/bin/sh\nexec sleep 32.3\n' >"$AT/probes/long.sh"
	chmod 755 "$AT/probes/long.sh"
	agent_config <<EOF
command[long]=$AT/probes/long.sh
command[dummy]=$PLUGINS/check_dummy 0 next
EOF
	agent_start
	run q -x 0.3 long
	assert_success
	sleep 0.3
	run pgrep -f "sleep 32.3"
	assert_failure
	run q dummy
	assert_success
	assert_output "OK: next"
	grep -q "client disconnected" "$AT/agent.log"
}

@test "agent: garbage on the channel ends that session only" {
	agent_config <<EOF
command[dummy]=$PLUGINS/check_dummy 0 fine
EOF
	agent_start
	python3 - "$AT/ch/$AGENT_SOCKET_NAME" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"\x00\x09garbage that is not an NRPE packet" * 10)
s.settimeout(5)
assert s.recv(100) == b""          # the agent closed, answering nothing
PY
	grep -q "bad packet (unsupported packet version: unknown packet version)" "$AT/agent.log"
	run q dummy
	assert_success
	assert_output "OK: fine"
}

@test "agent: a half-sent request is dropped after connection_timeout" {
	agent_config <<EOF
connection_timeout=1
command[dummy]=$PLUGINS/check_dummy 0 fine
EOF
	agent_start
	python3 - "$AT/ch/$AGENT_SOCKET_NAME" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"\x00\x04\x00\x01")     # 4 bytes of a v4 header, then silence
s.settimeout(4)
t = time.time()
assert s.recv(100) == b""
assert 0.8 < time.time() - t < 3, time.time() - t
PY
	grep -q "connection_timeout" "$AT/agent.log"
	run q dummy
	assert_success
}

@test "agent: a bad configuration is refused with FILE:LINE and exit 2" {
	printf 'command[x]=/bin/true\nbogus_key=1\n' >"$AT/bad.cfg"
	run "$AGENT" -c "$AT/bad.cfg" -n
	assert_equal "$status" 2
	assert_output --partial "$AT/bad.cfg:2:"
	printf 'command[x]=/bin/true "unterminated\n' >"$AT/bad2.cfg"
	run "$AGENT" -c "$AT/bad2.cfg" -f
	assert_equal "$status" 2
	assert_output --partial "$AT/bad2.cfg:1:"
	run "$AGENT" -c "$AT/missing.cfg" -n
	assert_equal "$status" 2
	run "$AGENT" --bogus
	assert_equal "$status" 2
	printf 'command[x]=/bin/true\n' >"$AT/good.cfg"
	run "$AGENT" -c "$AT/good.cfg" -n
	assert_success
	assert_output "$AT/good.cfg: OK, 1 commands"
}

@test "agent: SIGHUP reloads the configuration; a bad new file keeps the old one" {
	agent_config <<EOF
command[one]=$PLUGINS/check_dummy 0 one
EOF
	agent_start
	run q one
	assert_success
	echo "command[two]=$PLUGINS/check_dummy 1 two" >>"$AT/agent.cfg"
	kill -HUP "$AGENT_PID"
	sleep 0.3
	run q two
	assert_equal "$status" 1
	assert_output "WARNING: two"
	echo "this is not a key" >>"$AT/agent.cfg"
	kill -HUP "$AGENT_PID"
	sleep 0.3
	grep -q "reload failed, keeping the running configuration: $AT/agent.cfg:4:" "$AT/agent.log"
	run q two
	assert_equal "$status" 1
	kill -0 "$AGENT_PID"
}

@test "agent: advertises its rendezvous in xenstore and removes it when it stops" {
	agent_config <<<""
	agent_start
	assert_equal "$(xenstore-read /local/domain/5/data/guest/probes/protocol)" xenvchan-nrpe
	assert_equal "$(xenstore-read /local/domain/5/data/guest/probes/transport)" socket
	assert_equal "$(xenstore-read /local/domain/5/data/guest/probes/versions)" 1
	agent_stop
	run xenstore-read /local/domain/5/data/guest/probes/protocol
	assert_failure
	[ ! -e "$AT/ch/$AGENT_SOCKET_NAME" ]
}

@test "agent: daemon mode writes the pid file and a second agent refuses to share it" {
	agent_config <<<""
	env $(xsemu_guest_env 5) "$AGENT" -c "$AT/agent.cfg" -d -p "$AT/agent.pid"
	local pid i
	for i in $(seq 50); do [ -s "$AT/agent.pid" ] && break; sleep 0.1; done
	pid=$(cat "$AT/agent.pid")
	kill -0 "$pid"
	run env $(xsemu_guest_env 5) "$AGENT" -c "$AT/agent.cfg" -f -p "$AT/agent.pid"
	assert_equal "$status" 1
	assert_output --partial "already running (pid $pid)"
	kill "$pid"
	for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	run kill -0 "$pid"
	assert_failure
	[ ! -e "$AT/agent.pid" ]
}

@test "agent: 50 clients in a row, each served, fd count flat" {
	agent_config <<EOF
command[dummy]=$PLUGINS/check_dummy 0 ok
EOF
	agent_start
	q dummy >/dev/null
	local before after
	before=$(agent_fds)
	for i in $(seq 50); do
		q -m v4 dummy >/dev/null || { echo "client $i failed"; return 1; }
	done
	after=$(agent_fds)
	echo "# agent fds: $before before, $after after 50 clients" >&3
	[ "$after" = "$before" ] || { cat "$AT"/fds.*; false; }
}

@test "agent: 2,000 checks under valgrind (ASan in make asan): no leak, no error, fd count flat" {
	agent_config <<EOF
max_concurrent=8
max_queue=200
command[dummy]=$PLUGINS/check_dummy 0 ok
EOF
	if nm "$AGENT" 2>/dev/null | grep -q __asan_init; then
		AGENT_WRAPPER=	# ASan's leak checker runs at exit and fails the exit status
	else
		AGENT_WRAPPER="valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file=$AT/valgrind.log"
	fi
	agent_start
	q dummy >/dev/null
	local before after batch
	before=$(agent_fds)
	batch=$(printf 'dummy %.0s' $(seq 100))
	for i in $(seq 20); do
		run q -t 120 $batch
		assert_success
		[ "$(grep -c ' 0 OK: ok$' <<<"$output")" -eq 100 ]
	done
	after=$(agent_fds)
	echo "# agent fds: $before before, $after after 2,000 checks" >&3
	[ "$after" = "$before" ] || { cat "$AT"/fds.*; false; }
	local rc=0
	agent_stop || rc=$?
	cat "$AT/valgrind.log" 2>/dev/null || true
	AGENT_WRAPPER=
	assert_equal "$rc" 0
}

@test "agent: SIGHUP applies new max_concurrent and max_queue" {
	agent_config <<EOF2
max_concurrent=1
max_queue=0
command[s1]=$AT/probes/sleep.sh 0.5
EOF2
	agent_start
	run q s1 s1
	assert_line "2 3 XENVCHAN: agent busy (1 probes running, 0 queued)"
	sed -i 's/^max_concurrent=1$/max_concurrent=2/' "$AT/agent.cfg"
	kill -HUP "$AGENT_PID"
	sleep 0.3
	run q s1 s1
	assert_success
	[ "$(grep -c ' 0 OK - slept 0.5$' <<<"$output")" -eq 2 ]
}

@test "agent: log_file receives the log, and SIGHUP reopens it after a logrotate move" {
	agent_config <<EOF2
log_file=$AT/agent-file.log
command[dummy]=$PLUGINS/check_dummy 0 ok
EOF2
	agent_start
	q dummy >/dev/null
	grep -q "xenvchan-agent\[$AGENT_PID\]: info: started: domid 5" "$AT/agent-file.log"
	mv "$AT/agent-file.log" "$AT/agent-file.log.1"
	kill -HUP "$AGENT_PID"
	sleep 0.3
	grep -q "configuration reloaded" "$AT/agent-file.log"
	! grep -q "configuration reloaded" "$AT/agent-file.log.1"
}

@test "agent: a probe's stderr reaches the log escaped, never raw" {
	agent_config <<<"command[noisy]=$AT/probes/stderr.sh"
	agent_start
	run q noisy
	assert_success
	assert_output "OK - stdout"
	for i in $(seq 50); do grep -q 'red' "$AT/agent.log" && break; sleep 0.05; done
	grep -F "stderr: esc\\x1B[31m red" "$AT/agent.log" || { cat "$AT/agent.log" >&3; false; }
	! LC_ALL=C grep -q $'\033' "$AT/agent.log"
}
