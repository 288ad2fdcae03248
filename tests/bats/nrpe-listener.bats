#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The bridge's NRPE TCP listener against Debian's real check_nrpe: an agent
# as emulated guest 5 (web01) over socket:DIR, the bridge with nrpe_listen=1
# on a free loopback port, one set of processes per test.  Packet versions,
# timeouts, large output, version checks, refusals, TLS (certificates,
# client certificates, anonymous DH), allowed_hosts, and clients that
# misbehave (tests/tools/nrpeclient).

load 'bridge-helper'

CHECK_NRPE=${CHECK_NRPE:-/usr/lib/nagios/plugins/check_nrpe}
NRPECLIENT=${NRPECLIENT:-$XV_BUILD/tests/tools/nrpeclient}
MAKE_CERTS=$XV_TOP/tests/fixtures/tls/make-certs.sh

setup() {
	bridge_setup
	guest_add 5 web01
}
# A bridge still running is stopped the normal way, so that its exit status
# (and, under ASan, its leak report) counts.
teardown() {
	local rc=0
	if [ -n "${BRIDGE_PID:-}" ]; then
		bridge_stop || rc=$?
		[ "$rc" -eq 0 ] || echo "# the bridge exited with status $rc" >&3
	fi
	bridge_teardown
	return "$rc"
}

# the default agent: a few commands the tests use
nrpe_agent() {
	guest_agent 5 <<EOF
command[ok]=$PLUGINS/check_dummy 0 "all good"
command[crit]=$PLUGINS/check_dummy 2 "disk full"
command[multi]=$BT/probes/exit.sh 1 "WARN - first" "second|perf=1"
command[big]=$BT/probes/big.sh 61440
command[slow]=$BT/probes/sleep.sh 5
command[second]=$BT/probes/sleep.sh 1
EOF
}

cn() {
	"$CHECK_NRPE" -H "${NRPE_ADDRESS:-127.0.0.1}" -p "$PORT" "$@"
}

nc_raw() {
	"$NRPECLIENT" -a "${NRPE_ADDRESS:-127.0.0.1}" -p "$PORT" "$@"
}

# wait_log PATTERN [TENTHS]: until the bridge log has a line matching it
wait_log() {
	local i
	for ((i = 0; i < ${2:-50}; i++)); do
		grep -q -- "$1" "$BT/bridge.log" && return 0
		sleep 0.1
	done
	echo "not in the bridge log: $1" >&2
	return 1
}

bridge_fds() {
	ls "/proc/$BRIDGE_PID/fd" | wc -l
}

certs() {
	"$MAKE_CERTS" "$BT/tls"
}

# ---- plain NRPE (check_nrpe -n) ------------------------------------------------

@test "nrpe: check_nrpe -n (v4): output, state and long output pass unchanged" {
	nrpe_agent
	nrpe_start nrpe_tls=0
	run cn -n -c web01/ok
	assert_success
	assert_output "OK: all good"
	run cn -n -c web01/crit
	assert_equal "$status" 2
	assert_output "CRITICAL: disk full"
	run cn -n -c 5/multi
	assert_equal "$status" 1
	assert_output $'WARN - first\nsecond|perf=1'
	grep -q "v4 query 'web01/ok'" "$BT/bridge.log"
}

@test "nrpe: check_nrpe -2 gets a v2 answer; -3 falls back to v2 and works" {
	nrpe_agent
	nrpe_start nrpe_tls=0
	run cn -n -2 -c web01/crit
	assert_equal "$status" 2
	assert_output "CRITICAL: disk full"
	grep -q "v2 query 'web01/crit'" "$BT/bridge.log"
	# v3 is refused by closing, as nrpe 4 does; check_nrpe reports that on
	# its first line and retries in v2
	run cn -n -3 -c web01/ok
	assert_success
	assert_line --index 1 "OK: all good"
	grep -q "NRPE v3 query: closed so that the client retries with v2" "$BT/bridge.log"
}

@test "nrpe: _NRPE_CHECK answers the bridge's version, GUEST/_NRPE_CHECK the agent's" {
	nrpe_agent
	nrpe_start nrpe_tls=0
	run cn -n
	assert_success
	assert_output "xenvchan-bridge v0.1.0"
	run cn -n -c _NRPE_CHECK
	assert_output "xenvchan-bridge v0.1.0"
	run cn -n -c web01/_NRPE_CHECK
	assert_success
	assert_output "xenvchan-agent v0.1.0"
	run cn -n -2 -c web01/_NRPE_CHECK
	assert_output "xenvchan-agent v0.1.0"
}

@test "nrpe: unknown guest, undefined command, bad query: UNKNOWN with the reason" {
	nrpe_agent
	nrpe_start nrpe_tls=0
	run cn -n -c ghost/check_load
	assert_equal "$status" 3
	assert_output "XENVCHAN: guest 'ghost' not found"
	run cn -n -c web01/nope
	assert_equal "$status" 3
	assert_output "XENVCHAN: Command 'nope' not defined"
	run cn -n -c check_load
	assert_equal "$status" 3
	assert_output "XENVCHAN: bad query: expected GUEST/COMMAND[!arg...] (no '/' in the query)"
	run cn -n -2 -c 'we$b/x'
	assert_equal "$status" 3
	assert_output "XENVCHAN: bad query: guest name has a character outside [A-Za-z0-9_.-]"
}

@test "nrpe: 60 KiB of output passes intact in v4 and is cut at 1023 bytes in v2" {
	nrpe_agent
	nrpe_start nrpe_tls=0
	"$BT/probes/big.sh" 61440 >"$BT/expected"
	cn -n -c web01/big >"$BT/v4.out"
	cmp "$BT/expected" "$BT/v4.out"
	cn -n -2 -c web01/big >"$BT/v2.out"
	assert_equal "$(wc -c <"$BT/v2.out")" 1024 # 1023 bytes + check_nrpe's newline
	cmp <(head -c 1023 "$BT/expected") <(head -c 1023 "$BT/v2.out")
}

@test "nrpe: a probe slower than check_nrpe -t: check_nrpe's own timeout, the listener carries on" {
	nrpe_agent
	nrpe_start nrpe_tls=0
	run cn -n -t 1 -c web01/slow
	assert_equal "$status" 2
	assert_output "CHECK_NRPE STATE CRITICAL: Socket timeout after 1 seconds."
	run cn -n -u -t 1 -c web01/slow
	assert_equal "$status" 3
	assert_output "CHECK_NRPE STATE UNKNOWN: Socket timeout after 1 seconds."
	run cn -n -t 1:WARNING -c web01/slow
	assert_equal "$status" 1
	# the listener carries on
	run cn -n -c web01/ok
	assert_success
	assert_output "OK: all good"
}

@test "nrpe: a client that resets before its answer: the probe is cancelled" {
	nrpe_agent
	nrpe_start nrpe_tls=0
	run nc_raw -x 0.5 -r web01/slow
	assert_output "hung up"
	wait_log "went away before its answer: request cancelled"
	# and the bridge cancels it at the agent, which kills the probe
	local i
	for ((i = 0; i < 50; i++)); do
		grep -q "command 'slow' (pid [0-9]*) cancelled" "$BT/agent-5.log" && break
		sleep 0.1
	done
	grep -q "command 'slow' (pid [0-9]*) cancelled" "$BT/agent-5.log"
}

@test "nrpe: a client that half-closes after its query still gets the answer" {
	nrpe_agent
	nrpe_start nrpe_tls=0
	# shutdown(SHUT_WR) is a valid TCP half-close: the answer still goes
	# out; only a reset or a failed write means the client is gone
	run nc_raw -s -t 10 web01/second
	assert_success
	assert_output --regexp '^4 0 [0-9]+ '
	run nc_raw -s -m v2 -t 10 web01/second
	assert_success
	assert_output --regexp '^2 0 1036 '
	! grep -q "went away before its answer" "$BT/bridge.log"
	# an immediate answer, as before
	run nc_raw -s web01/ok
	assert_output --regexp "^4 0 [0-9]+ OK: all good$"
}

@test "nrpe: a check still waiting when the bridge stops hears why" {
	nrpe_agent
	nrpe_start nrpe_tls=0
	cn -n -c web01/slow >"$BT/slow.out" 2>&1 &
	local cpid=$!
	wait_log "v4 query 'web01/slow'"
	bridge_stop
	local rc=0
	wait "$cpid" || rc=$?
	assert_equal "$rc" 3
	assert_equal "$(cat "$BT/slow.out")" "XENVCHAN: bridge shutting down"
}

# ---- clients that misbehave ---------------------------------------------------

@test "nrpe: half a query, then nothing: answered UNKNOWN after nrpe_timeout" {
	nrpe_agent
	nrpe_start nrpe_tls=0 nrpe_timeout=1
	local t0=$(now_ms)
	run nc_raw -m v2 -n 500 web01/ok
	assert_success
	assert_output "2 3 1036 XENVCHAN: no complete query within 1 seconds (500 of 1036 bytes)"
	local took=$(($(now_ms) - t0))
	[ "$took" -ge 900 ] && [ "$took" -lt 3000 ]
	run nc_raw -n 10 web01/ok
	assert_output "4 3 78 XENVCHAN: no complete query within 1 seconds (10 of 16 bytes)"
	# nothing at all: nothing to frame an answer with
	run nc_raw -n 0 web01/ok
	assert_equal "$status" 5
	assert_output "closed after 0 bytes"
}

@test "nrpe: clients that hang up at any point leave nothing behind" {
	nrpe_agent
	nrpe_start nrpe_tls=0
	run cn -n -c web01/ok
	assert_success
	local before=$(bridge_fds) i
	for i in $(seq 1 10); do
		nc_raw -n 0 -x 0 web01/ok >/dev/null  # connect, disconnect
		nc_raw -n 600 -x 0 web01/ok >/dev/null  # half a query
	done
	for i in 1 2 3; do
		nc_raw -x 0.3 -r web01/slow >/dev/null  # reset while the probe runs
	done
	wait_log "went away before its answer: request cancelled"
	run cn -n -c web01/ok
	assert_success
	for i in $(seq 1 30); do
		[ "$(bridge_fds)" -le "$before" ] && break
		sleep 0.1
	done
	assert_equal "$(bridge_fds)" "$before"
	kill -0 "$BRIDGE_PID"
}

@test "nrpe: bad packets get a reason when an answer can be framed, else a log line" {
	nrpe_agent
	nrpe_start nrpe_tls=0
	run nc_raw -b web01/ok
	assert_output "4 3 54 XENVCHAN: bad packet: CRC-32 mismatch"
	run nc_raw -m v2 -b web01/ok
	assert_output "2 3 1036 XENVCHAN: bad packet: CRC-32 mismatch"
	# v4 RESPONSE instead of a query
	run nc_raw -X 0004000258f77e8300000000000000027800
	assert_output "4 3 69 XENVCHAN: bad packet: v4 RESPONSE instead of a query"
	# v4 header with a negative buffer_length
	run nc_raw -X 000400010000000000000000ffffffff
	assert_output "4 3 61 XENVCHAN: bad packet: buffer_length negative"
	# not NRPE at all: an HTTP request, an XV HELLO
	run nc_raw -X 474554202f20485454502f312e300d0a0d0a
	assert_equal "$status" 5
	assert_output "closed after 0 bytes"
	wait_log "not an NRPE query (unknown packet version): closed"
	run nc_raw -X 5856000100000000000000000000000d
	assert_equal "$status" 5
	wait_log "xenvchan extension packet on the NRPE port: closed"
	run cn -n -c web01/ok
	assert_success
}

@test "nrpe: beyond nrpe_max_clients a client is answered 'too many connections'" {
	nrpe_agent
	nrpe_start nrpe_tls=0 nrpe_max_clients=1 nrpe_timeout=3
	nc_raw -m v2 -n 100 web01/ok >"$BT/held.out" &
	local hpid=$!
	wait_log "nrpe: 127.0.0.1:[0-9]*: connected"
	run cn -n -c web01/ok
	assert_equal "$status" 3
	assert_output "XENVCHAN: too many connections (1 at once)"
	wait "$hpid"
	assert_equal "$(cat "$BT/held.out")" \
		"2 3 1036 XENVCHAN: no complete query within 3 seconds (100 of 1036 bytes)"
	run cn -n -c web01/ok
	assert_success
}

# ---- allowed_hosts --------------------------------------------------------------

@test "nrpe: allowed_hosts refuses other hosts with a reason, admits listed ones" {
	nrpe_agent
	nrpe_start nrpe_tls=0 nrpe_allowed_hosts=127.0.0.2/32,10.0.0.0/8
	run cn -n -c web01/ok
	assert_equal "$status" 3
	assert_output "XENVCHAN: host 127.0.0.1 is not allowed"
	grep -q "refused: host 127.0.0.1 is not allowed" "$BT/bridge.log"
	run cn -n -b 127.0.0.2 -c web01/ok
	assert_success
	assert_output "OK: all good"
}

@test "nrpe: allowed_hosts CIDR ranges, spaces after commas" {
	nrpe_agent
	nrpe_start nrpe_tls=0 "nrpe_allowed_hosts=192.0.2.1, 127.0.0.0/30"
	run cn -n -b 127.0.0.3 -c web01/ok
	assert_success
	run cn -n -b 127.0.0.4 -c web01/ok
	assert_equal "$status" 3
	assert_output "XENVCHAN: host 127.0.0.4 is not allowed"
}

@test "nrpe: a bad allowed_hosts entry stops the bridge at start with the reason" {
	PORT=$(nrpe_free_port)
	bridge_config <<EOF
nrpe_listen=1
nrpe_tls=0
nrpe_port=$PORT
nrpe_allowed_hosts=127.0.0.1,10.0.0.0/33
EOF
	run timeout 20 "$BRIDGE" -c "$BT/bridge.cfg" -f
	assert_equal "$status" 1
	assert_output --partial "allowed_hosts: prefix length in '10.0.0.0/33' is above 32"
	bridge_config <<EOF
nrpe_listen=1
nrpe_tls=0
nrpe_port=$PORT
nrpe_allowed_hosts=127.0.0.1,,::1
EOF
	run timeout 20 "$BRIDGE" -c "$BT/bridge.cfg" -f
	assert_equal "$status" 1
	assert_output --partial "allowed_hosts: empty entry"
}

@test "nrpe: IPv4-mapped allowed_hosts entries admit those IPv4 clients of an IPv6 socket" {
	# bound to ::ffff:127.0.0.1, the listener sees its IPv4 clients as
	# ::ffff:127.0.0.x; entries may be written either way
	python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::ffff:127.0.0.1", 0))' 2>/dev/null ||
		skip "no IPv4-mapped IPv6 sockets here"
	nrpe_agent
	NRPE_ADDRESS=::ffff:127.0.0.1
	nrpe_start nrpe_tls=0 "nrpe_allowed_hosts=::ffff:127.0.0.2, ::ffff:127.0.0.8/126"
	run "$CHECK_NRPE" -H 127.0.0.1 -p "$PORT" -n -b 127.0.0.2 -c web01/ok
	assert_success
	assert_output "OK: all good"
	run "$CHECK_NRPE" -H 127.0.0.1 -p "$PORT" -n -b 127.0.0.10 -c web01/ok
	assert_success
	run "$CHECK_NRPE" -H 127.0.0.1 -p "$PORT" -n -b 127.0.0.12 -c web01/ok
	assert_equal "$status" 3
	assert_output "XENVCHAN: host 127.0.0.12 is not allowed"
}

@test "nrpe: IPv6 loopback, with allowed_hosts in IPv6" {
	python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null ||
		skip "no IPv6 loopback here"
	nrpe_agent
	NRPE_ADDRESS=::1
	nrpe_start nrpe_tls=0 nrpe_allowed_hosts=::1/128
	run cn -n -c web01/ok
	assert_success
	assert_output "OK: all good"
}

# ---- TLS -----------------------------------------------------------------------

@test "nrpe: TLS with a server certificate: check_nrpe's default, -2, -A (server verified)" {
	certs
	nrpe_agent
	nrpe_start nrpe_cert_file="$BT/tls/server.pem" nrpe_key_file="$BT/tls/server.key"
	run cn -c web01/ok
	assert_success
	assert_output "OK: all good"
	run cn -2 -c web01/crit
	assert_equal "$status" 2
	run cn -A "$BT/tls/ca.pem" -c web01/_NRPE_CHECK
	assert_success
	assert_output "xenvchan-agent v0.1.0"
	"$BT/probes/big.sh" 61440 >"$BT/expected"
	cn -c web01/big >"$BT/tls.out"
	cmp "$BT/expected" "$BT/tls.out"
	grep -q "TLSv1.3" "$BT/bridge.log"
	# plain NRPE on the TLS port: told what to change
	run cn -n -c web01/ok
	assert_equal "$status" 3
	assert_output "XENVCHAN: this listener speaks TLS only: call check_nrpe without -n"
}

@test "nrpe: TLS client certificates: required and verified against the CA" {
	certs
	nrpe_agent
	nrpe_start nrpe_cert_file="$BT/tls/server.pem" nrpe_key_file="$BT/tls/server.key" \
		nrpe_ca_file="$BT/tls/ca.pem" nrpe_require_client_cert=1
	run cn -C "$BT/tls/client.pem" -K "$BT/tls/client.key" -A "$BT/tls/ca.pem" -c web01/ok
	assert_success
	assert_output "OK: all good"
	grep -q "CN=nagios" "$BT/bridge.log"
	run cn -c web01/ok
	assert_equal "$status" 3
	assert_output "XENVCHAN: a client certificate is required (check_nrpe -C and -K)"
	run cn -2 -C "$BT/tls/rogue.pem" -K "$BT/tls/rogue.key" -c web01/ok
	assert_equal "$status" 3
	assert_output --partial "XENVCHAN: client certificate not accepted: "
	# a refused client never reaches a guest
	run grep -c "v[24] query" "$BT/bridge.log"
	assert_output 1
}

@test "nrpe: anonymous DH only with nrpe_allow_anonymous_tls=1" {
	certs
	nrpe_agent
	# a certificate, no anonymous TLS: a client that insists on ADH fails
	nrpe_start nrpe_cert_file="$BT/tls/server.pem" nrpe_key_file="$BT/tls/server.key"
	run cn -d 2 -S TLSv1.2 -c web01/ok
	assert_equal "$status" 2
	assert_output --partial "Could not complete SSL handshake"
	wait_log "TLS handshake failed: no shared cipher"
	bridge_stop
	# allowed: that client gets ADH, the others keep the certificate
	nrpe_start nrpe_cert_file="$BT/tls/server.pem" nrpe_key_file="$BT/tls/server.key" \
		nrpe_allow_anonymous_tls=1
	run cn -d 2 -S TLSv1.2 -c web01/ok
	assert_success
	assert_output "OK: all good"
	grep -q "TLSv1.2 ADH-" "$BT/bridge.log"
	run cn -c web01/ok
	assert_success
	bridge_stop
	# no certificate at all: check_nrpe's default (ADH) works, -d 0 does not
	nrpe_start nrpe_allow_anonymous_tls=1
	run cn -c web01/ok
	assert_success
	assert_output "OK: all good"
	run cn -d 0 -c web01/ok
	assert_equal "$status" 2
	assert_output --partial "Could not complete SSL handshake"
}

@test "nrpe: TLS without a certificate and without anonymous TLS is a configuration error" {
	PORT=$(nrpe_free_port)
	bridge_config <<EOF
nrpe_listen=1
nrpe_port=$PORT
EOF
	run timeout 20 "$BRIDGE" -c "$BT/bridge.cfg" -f
	assert_equal "$status" 2
	assert_output --partial "nrpe_tls=1 needs nrpe_cert_file and nrpe_key_file"
}

@test "nrpe: a TLS client that stalls in the handshake is dropped after nrpe_timeout" {
	certs
	nrpe_agent
	nrpe_start nrpe_cert_file="$BT/tls/server.pem" nrpe_key_file="$BT/tls/server.key" \
		nrpe_timeout=1
	# the first bytes of a TLS record, then nothing
	run nc_raw -t 5 -X 160301
	assert_equal "$status" 5
	wait_log "no TLS handshake within 1 seconds: closed"
	run cn -c web01/ok
	assert_success
}
