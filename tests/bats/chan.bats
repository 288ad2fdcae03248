#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The channel layer end to end over "socket:DIR", driven by the chantest tool
# (tests/tools/chantest.c): PING/PONG, a 1 MiB echo, re-listen for a second
# session, and clean errors.  Each test has its own directory and server.

setup() {
	: "${XV_BUILD:=$BATS_TEST_DIRNAME/../../build}"
	CHANTEST=$XV_BUILD/tests/tools/chantest
	[ -x "$CHANTEST" ] || { echo "not built: $CHANTEST" >&2; return 1; }
	DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/xv-chan.XXXXXX")
	XSPATH=data/guest/probes/vchan
	SRV_PID=
	export CHANTEST_TIMEOUT=10
}

teardown() {
	if [ -n "$SRV_PID" ]; then
		kill "$SRV_PID" 2>/dev/null
		wait "$SRV_PID" 2>/dev/null
	fi
	rm -rf "$DIR"
}

# start_server SESSIONS: chantest server in the background, domid 5, peer 0
start_server() {
	"$CHANTEST" server "socket:$DIR" 5 0 "$XSPATH" "$1" >"$DIR/server.log" 2>&1 3>&- &
	SRV_PID=$!
}

# wait_line PATTERN: until the server log has a matching line (5 s at most)
wait_line() {
	local i
	for i in $(seq 50); do
		grep -q -- "$1" "$DIR/server.log" && return 0
		sleep 0.1
	done
	echo "server never printed '$1'; its log:" >&2
	cat "$DIR/server.log" >&2
	return 1
}

@test "chan: PING/PONG and a 1 MiB echo, a second session after re-listen, then no peer" {
	start_server 2
	wait_line "^chantest: server: READY 1 $DIR/5-data.guest.probes.vchan\$"
	run "$CHANTEST" client "socket:$DIR" 5 "$XSPATH"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"PONG ok"* ]]
	[[ $output == *"ECHO ok: 1048576 bytes"* ]]

	# the second session, with the absolute form of the path
	wait_line '^chantest: server: READY 2 '
	run "$CHANTEST" client "socket:$DIR" 5 "/local/domain/5/$XSPATH"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"ECHO ok: 1048576 bytes"* ]]

	wait "$SRV_PID"
	SRV_PID=
	cat "$DIR/server.log"
	grep -q 'session 1: echoed 1048576 bytes' "$DIR/server.log"
	grep -q 'session 2: echoed 1048576 bytes' "$DIR/server.log"
	grep -q '^chantest: server: DONE 2 session(s)$' "$DIR/server.log"
	# the server removed its socket file when it closed
	[ -z "$(ls -A "$DIR" | grep -v '^server.log$')" ]

	run "$CHANTEST" client "socket:$DIR" 5 "$XSPATH"
	echo "$output"
	[ "$status" -eq 3 ]
	[[ $output == *"NOPEER: no server to connect to at $XSPATH of domain 5"* ]]
}

@test "chan: a second client while one is connected is refused, not queued" {
	start_server 1
	wait_line '^chantest: server: READY 1 '
	# the first client stays connected for 3 s after its echo
	CHANTEST_HOLD=3 "$CHANTEST" client "socket:$DIR" 5 "$XSPATH" >"$DIR/first.log" 2>&1 3>&- &
	local first=$!
	local i
	for i in $(seq 50); do grep -q HOLD "$DIR/first.log" && break; sleep 0.1; done
	run "$CHANTEST" client "socket:$DIR" 5 "$XSPATH"
	echo "$output"
	[ "$status" -eq 3 ]
	[[ $output == *NOPEER* ]]
	kill -0 "$first" # still connected: the refusal was because of it
	wait "$first"
	cat "$DIR/first.log"
	grep -q '^chantest: client: HOLD 3 s$' "$DIR/first.log"
}

@test "chan: nobody listening is a clean error (exit 3), not a hang" {
	run "$CHANTEST" client "socket:$DIR" 7 "$XSPATH"
	echo "$output"
	[ "$status" -eq 3 ]
	[[ $output == *"NOPEER: no server to connect to at $XSPATH of domain 7 (none, gone, or busy"* ]]
}

@test "chan: bad specs and paths are rejected with a message" {
	run "$CHANTEST" client "socket:$DIR/missing" 5 "$XSPATH"
	[ "$status" -eq 2 ]
	[[ $output == *"bad SPEC"*"malformed channel specification"* ]]
	run "$CHANTEST" client "tcp:1.2.3.4" 5 "$XSPATH"
	[ "$status" -eq 2 ]
	run "$CHANTEST" server "socket:$DIR" 5 0 "data/guest/probes/vchan/much/too/long/a/path" 1
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"FAIL: chan_server: value too long"* ]]
	run "$CHANTEST" client "socket:$DIR" 5 "data//x"
	[ "$status" -eq 1 ]
	[[ $output == *"invalid argument"* ]]
	run "$CHANTEST" client "socket:$DIR" 5 "/local/domain/6/$XSPATH"
	[ "$status" -eq 1 ]
	run "$CHANTEST" bogus
	[ "$status" -eq 2 ]
	[[ $output == *usage:* ]]
}
