#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# xenvchan-bridge reloads its configuration on SIGHUP: new values apply, a
# bad file keeps the running configuration and the log says why, checks
# under way get their answers, the NRPE listener moves (or, when the new
# address cannot be had, stays where it is), and keys that need a restart
# are named.

load 'bridge-helper'

setup() { bridge_setup; }
teardown() { bridge_teardown; }

# reloads the bridge and waits for the outcome in the log: "reloaded" or
# "failed"
bridge_reload() {
	local want=$1 pat before i
	case $want in
	reloaded) pat='configuration reloaded from' ;;
	failed) pat='reload failed, keeping the running configuration' ;;
	esac
	before=$(grep -c "$pat" "$BT/bridge.log" || true)
	kill -HUP "$BRIDGE_PID"
	for i in $(seq 1 100); do
		[ "$(grep -c "$pat" "$BT/bridge.log" || true)" -gt "$before" ] && return 0
		sleep 0.05
	done
	echo "no '$pat' in the log after SIGHUP" >&2
	return 1
}

@test "bridge reload: a new request_timeout applies to the next check" {
	guest_add 5 web01
	guest_agent 5 <<<"command[slow]=$BT/probes/sleep.sh 2 slow"
	bridge_config <<<"request_timeout=30"
	bridge_start
	run cx -H web01 -c slow
	assert_success
	assert_output "OK - slow"
	bridge_config <<<"request_timeout=1"
	bridge_reload reloaded
	run xvc plain web01/slow
	assert_output "1 3 XENVCHAN: guest 'web01': no answer within 1 second"
}

@test "bridge reload: a bad file keeps the running configuration, the log names FILE:LINE" {
	guest_add 5 web01
	guest_agent 5 <<<"command[slow]=$BT/probes/sleep.sh 2 slow"
	bridge_config <<<"request_timeout=1"
	bridge_start
	bridge_config <<<$'request_timeout=30\nmax_queue_per_guest=lots'
	bridge_reload failed
	grep -q "reload failed, keeping the running configuration: $BT/bridge.cfg:4: " "$BT/bridge.log"
	# still the old request_timeout, and still serving
	run xvc plain web01/slow
	assert_output "1 3 XENVCHAN: guest 'web01': no answer within 1 second"
	# a file that went away: the same
	rm "$BT/bridge.cfg"
	bridge_reload failed
	grep -q "reload failed, keeping the running configuration: $BT/bridge.cfg: " "$BT/bridge.log"
	kill -0 "$BRIDGE_PID"
}

@test "bridge reload: checks under way during SIGHUP get their answers" {
	guest_add 5 web01
	guest_agent 5 <<<"command[slow]=$BT/probes/sleep.sh 1.5 slow"
	nrpe_start "nrpe_tls=0" "request_timeout=30"
	local old=$PORT new
	new=$(nrpe_free_port)
	cx -H web01 -c slow >"$BT/cx.out" 2>&1 &
	local cx_pid=$!
	/usr/lib/nagios/plugins/check_nrpe -n -H 127.0.0.1 -p "$old" -c web01/slow >"$BT/nrpe.out" 2>&1 &
	local nrpe_pid=$!
	xvc xv web01/slow web01/slow >"$BT/xvc.out" 2>&1 &
	local xvc_pid=$!
	sleep 0.5
	# new limits, a new timeout and a new port while all of them wait
	printf 'nrpe_listen=1\nnrpe_tls=0\nnrpe_address=127.0.0.1\nnrpe_port=%s\nrequest_timeout=20\nmax_queue_per_guest=8\n' \
		"$new" | bridge_config
	bridge_reload reloaded
	wait "$xvc_pid"
	run cat "$BT/xvc.out"
	assert_line "1 0 OK - slow"
	assert_line "2 0 OK - slow"
	wait "$cx_pid"
	assert_equal "$(cat "$BT/cx.out")" "OK - slow"
	local rc=0
	wait "$nrpe_pid" || rc=$?
	assert_equal "$rc" 0
	assert_equal "$(cat "$BT/nrpe.out")" "OK - slow"
	grep -q "nrpe: now listening on 127.0.0.1:$new" "$BT/bridge.log"
}

@test "bridge reload: the NRPE listener moves to a new port; an address it cannot bind keeps the old socket" {
	guest_add 5 web01
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	nrpe_start "nrpe_tls=0"
	local old=$PORT new
	new=$(nrpe_free_port)
	printf 'nrpe_listen=1\nnrpe_tls=0\nnrpe_address=127.0.0.1\nnrpe_port=%s\n' "$new" | bridge_config
	bridge_reload reloaded
	run /usr/lib/nagios/plugins/check_nrpe -n -H 127.0.0.1 -p "$new" -c web01/ok
	assert_success
	assert_output "OK: fine"
	run /usr/lib/nagios/plugins/check_nrpe -n -t 2 -H 127.0.0.1 -p "$old" -c web01/ok
	assert_failure
	# 192.0.2.1 (TEST-NET-1) is no address of this machine
	printf 'nrpe_listen=1\nnrpe_tls=0\nnrpe_address=192.0.2.1\nnrpe_port=%s\n' "$new" | bridge_config
	bridge_reload reloaded
	grep -q "reload: NRPE listener: cannot listen on 192.0.2.1:$new: .*; it keeps its running settings" "$BT/bridge.log"
	run /usr/lib/nagios/plugins/check_nrpe -n -H 127.0.0.1 -p "$new" -c web01/ok
	assert_success
	assert_output "OK: fine"
	# nrpe_listen=0 closes it; =1 opens it again
	bridge_config </dev/null
	bridge_reload reloaded
	run /usr/lib/nagios/plugins/check_nrpe -n -t 2 -H 127.0.0.1 -p "$new" -c web01/ok
	assert_failure
	printf 'nrpe_listen=1\nnrpe_tls=0\nnrpe_address=127.0.0.1\nnrpe_port=%s\n' "$new" | bridge_config
	bridge_reload reloaded
	run /usr/lib/nagios/plugins/check_nrpe -n -H 127.0.0.1 -p "$new" -c web01/ok
	assert_success
}

@test "bridge reload: allowed_uids and the socket's mode apply to new clients" {
	[ "$(id -u)" = 0 ] || skip "needs root to run a client as another user"
	guest_add 5 web01
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	bridge_config <<<"socket_mode=0666"
	bridge_start
	run setpriv --reuid=nobody --regid=nogroup --clear-groups "$CHECK" -s "$BT/bridge.sock" -H web01 -c ok
	assert_success
	bridge_config <<<$'socket_mode=0660\nallowed_uids=root'
	bridge_reload reloaded
	assert_equal "$(stat -c '%a' "$BT/bridge.sock")" "660"
	bridge_config <<<$'socket_mode=0666\nallowed_uids=root'
	bridge_reload reloaded
	run setpriv --reuid=nobody --regid=nogroup --clear-groups "$CHECK" -s "$BT/bridge.sock" -H web01 -c ok
	assert_equal "$status" 3
	assert_output --partial "XENVCHAN: access denied: uid 65534"
	run cx -H web01 -c ok
	assert_success
}

@test "bridge reload: log_level applies; channel= and socket_path= are named and kept" {
	guest_add 5 web01
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	bridge_config <<<"log_level=info"
	# without -v, so that log_level decides
	"$BRIDGE" -c "$BT/bridge.cfg" -f >>"$BT/bridge.log" 2>&1 3>&- &
	BRIDGE_PID=$!
	local i
	for i in $(seq 1 100); do [ -S "$BT/bridge.sock" ] && break; sleep 0.05; done
	run cx -H web01 -c ok
	assert_success
	run grep -c "connecting to the agent" "$BT/bridge.log"
	assert_output 0
	bridge_config <<<"log_level=debug"
	bridge_reload reloaded
	guest_agent_stop 5
	guest_agent_start 5
	run cx -H web01 -c ok
	assert_success
	grep -q "connecting to the agent" "$BT/bridge.log"
	mkdir "$BT/ch2"
	{
		echo "channel=socket:$BT/ch2"
		echo "socket_path=$BT/other.sock"
	} >"$BT/bridge.cfg"
	bridge_reload reloaded
	grep -q "reload: channel= changed: takes effect at the next restart; still socket:$BT/ch" "$BT/bridge.log"
	grep -q "reload: socket_path= changed: takes effect at the next restart; still $BT/bridge.sock" "$BT/bridge.log"
	[ ! -e "$BT/other.sock" ]
	run cx -H web01 -c ok
	assert_success
}

@test "bridge reload: TLS files are read again (a renewed certificate); a TLS check under way finishes" {
	"$XV_TOP/tests/fixtures/tls/make-certs.sh" "$BT/tls" >/dev/null 2>&1
	guest_add 5 web01
	guest_agent 5 <<EOF2
command[ok]=$PLUGINS/check_dummy 0 fine
command[slow]=$BT/probes/sleep.sh 1.5 slow
EOF2
	nrpe_start nrpe_cert_file="$BT/tls/server.pem" nrpe_key_file="$BT/tls/server.key"
	local cn=/usr/lib/nagios/plugins/check_nrpe
	cp "$BT/tls/ca.pem" "$BT/old-ca.pem"
	"$cn" -A "$BT/old-ca.pem" -H 127.0.0.1 -p "$PORT" -c web01/slow >"$BT/slow.out" 2>&1 &
	local slow_pid=$!
	sleep 0.5
	# a new CA and server certificate in the same files
	"$XV_TOP/tests/fixtures/tls/make-certs.sh" "$BT/tls" >/dev/null 2>&1
	bridge_reload reloaded
	grep -q "nrpe: still listening on 127.0.0.1:$PORT (TLS)" "$BT/bridge.log"
	run "$cn" -A "$BT/tls/ca.pem" -H 127.0.0.1 -p "$PORT" -c web01/ok
	assert_success
	assert_output "OK: fine"
	run "$cn" -A "$BT/old-ca.pem" -H 127.0.0.1 -p "$PORT" -c web01/ok
	assert_failure
	local rc=0
	wait "$slow_pid" || rc=$?
	assert_equal "$rc" 0
	assert_equal "$(cat "$BT/slow.out")" "OK - slow"
	# again, once the check under way is gone: the old set-up is freed
	bridge_reload reloaded
	run "$cn" -A "$BT/tls/ca.pem" -H 127.0.0.1 -p "$PORT" -c web01/ok
	assert_success
}
