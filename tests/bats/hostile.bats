#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Hostile guests against the bridge: a rogue agent on the guest's channel
# (tests/tools/rogue-agent and tests/tools/hostile-agent) or hostile values
# in the guest's xenstore tree, next to a well-behaved guest (web01, a real
# agent).  For each misbehaviour:
#   - the rogue's check is answered with a clear error (or the rogue is
#     disconnected, with the reason logged);
#   - the bridge stays up, and its peak resident memory (VmHWM, reset at the
#     start) stays within a stated bound over its RSS before the attack;
#   - its descriptors come back to their count before the attack;
#   - web01's checks go on being answered, each one right and none stalled
#     behind the rogue: every check of web01 made while the rogue attacks
#     is answered as expected, and none takes HOSTILE_STALL_MS or more (a
#     bridge that waited on the rogue would hold web01 for the rogue's
#     time-outs: 5 s and up).  web01's latency with and without the rogue is
#     measured in the same test, in interleaved blocks (HOSTILE_ROUNDS
#     blocks of HOSTILE_BLOCK seconds each way) and printed as a figure;
#     it is not asserted: a ratio of latencies on a shared 2-core machine
#     can fail on a correct bridge.  make bench holds the latency figures.
# "With the rogue" means: the rogue runs, advertised, and gets checks at 20 a
# second (loadgen -r 20); the bridge reconnects to it after 0.05-0.2 s
# (reconnect_min/max), so it attacks again and again.  "Without" means the
# rogue is not running and nobody asks for it.  Hostile xenstore writers are
# one xstool process each (no process spawned per write), paced: about 100
# writes a second, or one burst of about 1000 nodes a second (a deep path,
# a wide subtree).  Unpaced, the xenstored emulator (Python) would take the
# 2 cores of the test machine, and the test would measure the machine, not
# the bridge.  The bridge's own CPU time is printed for both arms.
# The figures are printed (fd 3): "FIGURE hostile NAME ..." lines.

load 'bridge-helper'
load '../soak/lib'

RID=20			 # the rogue's domid ...
RNAME=r-x		 # ... and name
RSOCK=20-data.guest.probes.vchan
HOSTILE_ROUNDS=${HOSTILE_ROUNDS:-6}
HOSTILE_BLOCK=${HOSTILE_BLOCK:-0.4}
HOSTILE_STALL_MS=${HOSTILE_STALL_MS:-4000}
ROGUE_RATE=20 # checks a second for the rogue while it attacks
# peak memory over the RSS before the attack, kB: buffers of one guest
# connection (a 64 KiB frame in, up to 8 MiB of our bytes the agent does
# not take) and some slack for the allocator
RSS_SMALL=4096
RSS_FLOOD=20480

setup() {
	bridge_setup
	guest_add 5 web01
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	guest_add "$RID" "$RNAME"
	guest_advert "$RID" xenvchan-nrpe 1 socket
	bridge_config <<<$'reconnect_min=0.05\nreconnect_max=0.2\nrequest_timeout=7'
	RSS_SCALE=1 RSS_EXTRA=0
	if xv_is_asan "$BRIDGE"; then
		# ASan keeps freed blocks in a quarantine (256 MB by default):
		# capped here, and counted in the bound with its shadow memory
		export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16
		RSS_SCALE=4 RSS_EXTRA=32768
	fi
	bridge_start
	# web01's connection is made and warm
	"$LOADGEN" -s "$BT/bridge.sock" -n 200 -q web01/ok=0 >/dev/null
	ROGUE_TOOL=$HOSTILE ROGUE_MODE= ROGUE_PID= ATTACKER_PID= WRITER_PID=
	FDS0=$(xv_settle_fds "$BRIDGE_PID")
	RSS0=$(xv_rss_kb "$BRIDGE_PID")
	xv_hwm_reset "$BRIDGE_PID"
}

teardown() {
	attack_off
	bridge_teardown
}

# ---- the rogue and its attacker ------------------------------------------

rogue_on() {
	local i n
	n=$(grep -c listening "$BT/rogue.log" 2>/dev/null || true)
	"$ROGUE_TOOL" -C "socket:$BT/ch" -d "$RID" -m "$ROGUE_MODE" >>"$BT/rogue.log" 2>&1 3>&- &
	ROGUE_PID=$!
	for i in $(seq 300); do
		[ "$(grep -c listening "$BT/rogue.log")" -gt "${n:-0}" ] && [ -S "$BT/ch/$RSOCK" ] &&
			return 0
		sleep 0.01
	done
	echo "the rogue did not start" >&2
	return 1
}

rogue_off() {
	[ -n "$ROGUE_PID" ] || return 0
	kill -KILL "$ROGUE_PID" 2>/dev/null
	wait "$ROGUE_PID" 2>/dev/null || true
	ROGUE_PID=
	rm -f "$BT/ch/$RSOCK"
}

attacker_on() {
	"$LOADGEN" -s "$BT/bridge.sock" -d 3600 -r "$ROGUE_RATE" -t 15 -H -q "$RNAME/x" \
		>>"$BT/attacker.out" 2>&1 3>&- &
	ATTACKER_PID=$!
}

attacker_off() {
	[ -n "$ATTACKER_PID" ] || return 0
	kill -TERM "$ATTACKER_PID" 2>/dev/null
	wait "$ATTACKER_PID" 2>/dev/null || true
	ATTACKER_PID=
}

writer_off() {
	[ -n "$WRITER_PID" ] || return 0
	kill -TERM "$WRITER_PID" 2>/dev/null
	wait "$WRITER_PID" 2>/dev/null || true
	WRITER_PID=
}

# xs_loop N DOMID OP...: one xstool process (one xenstore connection, no
# process spawned per write) doing OP... N times, as guest DOMID (0: dom0),
# in the background (WRITER_PID)
xs_loop() {
	local n=$1 dom=$2 i args=()
	shift 2
	for i in $(seq "$n"); do args+=("$@"); done
	if [ "$dom" = 0 ]; then
		"$XSTOOL" "${args[@]}" >/dev/null 2>&1 3>&- &
	else
		XENSTORED_PATH=$XSEMU_DIR/domain/$dom "$XSTOOL" "${args[@]}" >/dev/null 2>&1 3>&- &
	fi
	WRITER_PID=$!
}

# The attack of a channel rogue: the rogue runs and is asked.  Tests with
# other attacks define attack_on/attack_off themselves.
attack_on() {
	rogue_on && attacker_on
}

attack_off() {
	attacker_off
	writer_off
	rogue_off
}

# ---- measuring -------------------------------------------------------------

# measure NAME: web01's checks with and without the attack (see the top);
# the figures go to fd 3.  Fails if a check of web01 is answered wrongly,
# not at all, or only after HOSTILE_STALL_MS.
measure() {
	local name=$1 r base att nb na c0 c1 cb=0 ca=0 tb=0 ta=0 t0 worst
	rm -f "$BT/base.lat" "$BT/att.lat"
	for r in $(seq "$HOSTILE_ROUNDS"); do
		c0=$(xv_cpu_ticks "$BRIDGE_PID") t0=$(now_ms)
		"$LOADGEN" -s "$BT/bridge.sock" -d "$HOSTILE_BLOCK" -q -L "$BT/base.lat" \
			web01/ok=0 >"$BT/lg.out" || { cat "$BT/lg.out"; return 1; }
		c1=$(xv_cpu_ticks "$BRIDGE_PID")
		cb=$((cb + c1 - c0)) tb=$((tb + $(now_ms) - t0))
		attack_on
		sleep 0.1 # the attack under way
		c0=$(xv_cpu_ticks "$BRIDGE_PID") t0=$(now_ms)
		"$LOADGEN" -s "$BT/bridge.sock" -d "$HOSTILE_BLOCK" -q -L "$BT/att.lat" \
			web01/ok=0 >"$BT/lg.out" || { cat "$BT/lg.out"; attack_off; return 1; }
		c1=$(xv_cpu_ticks "$BRIDGE_PID")
		ca=$((ca + c1 - c0)) ta=$((ta + $(now_ms) - t0))
		attack_off
	done
	base=$(xv_pct 99 "$BT/base.lat") att=$(xv_pct 99 "$BT/att.lat")
	nb=$(xv_count "$BT/base.lat") na=$(xv_count "$BT/att.lat")
	worst=$(xv_pct 100 "$BT/att.lat")
	echo "FIGURE hostile $name: web01 p99 ${base} ms without the rogue ($nb checks, p50 $(xv_pct 50 "$BT/base.lat")), ${att} ms with it ($na checks, p50 $(xv_pct 50 "$BT/att.lat"), max $worst); bridge CPU $((cb * 10000 / tb))/$((ca * 10000 / ta)) ms per s" >&3
	[ "$na" -gt 0 ] || { echo "no check of web01 was answered during the attack" >&2; return 1; }
	xv_within_pct "$worst" "$HOSTILE_STALL_MS" 0 ||
		{ echo "a check of web01 took $worst ms during the attack (stall bound $HOSTILE_STALL_MS ms)" >&2; return 1; }
}

# verdict EXPECT [GOOD]: with the attack on, up to 3 checks of the rogue,
# one after another: one must be answered UNKNOWN "XENVCHAN: guest 'r-x':
# EXPECT" (a regex), every other one too or GOOD (a regex: what this rogue
# answers correctly before it misbehaves).  Every answer is printable text.
verdict() {
	local expect="XENVCHAN: guest '$RNAME': $1" good=${2:-}
	[[ $1 == XENVCHAN:* ]] && expect=$1
	local i out rc seen=0
	sleep 0.3 # the back-off after an earlier rogue is over
	rogue_on
	for i in 1 2 3; do
		rc=0
		out=$(cx -H "$RNAME" -c x -t 30) || rc=$?
		echo "check $i of the rogue: $rc $out"
		! LC_ALL=C grep -q '[^ -~]' <<<"$out"
		if [ "$rc" = 3 ] && grep -Eqx -- "$expect" <<<"$out"; then
			seen=1
			break
		fi
		[ -n "$good" ] && grep -Eqx -- "$good" <<<"$out"
	done
	rogue_off
	[ "$seen" = 1 ]
}

# after NAME BOUND_KB: the bridge lives, its peak memory stayed within the
# bound, its descriptors are back, and web01 answers.
after() {
	local name=$1 bound=$(($2 * RSS_SCALE + RSS_EXTRA)) hwm fds
	kill -0 "$BRIDGE_PID"
	hwm=$(xv_hwm_kb "$BRIDGE_PID")
	fds=$(xv_settle_fds "$BRIDGE_PID")
	echo "FIGURE hostile $name memory: bridge RSS $RSS0 kB before, peak $hwm kB (+$((hwm - RSS0)) kB, bound +$bound kB); fds $FDS0 before, $fds after" >&3
	[ $((hwm - RSS0)) -le "$bound" ]
	[ "$fds" -le "$FDS0" ] || { xv_fd_list "$BRIDGE_PID"; false; }
	run cx -H web01 -c ok
	assert_success
	assert_output "OK: fine"
	# the bridge never crashed a check of the good guest meanwhile
	! grep -q "domain 5 (web01): protocol error" "$BT/bridge.log"
}

# A channel rogue, measured and judged: channel_case NAME TOOL MODE EXPECT [GOOD] [BOUND]
channel_case() {
	local name=$1
	ROGUE_TOOL=$2 ROGUE_MODE=$3
	measure "$name"
	verdict "$4" "${5:-}"
	after "$name" "${6:-$RSS_SMALL}"
}

# ---- the agent's protocol, broken on the channel ---------------------------

@test "hostile: bad CRC" {
	channel_case badcrc "$HOSTILE" badcrc \
		'protocol error \(bad packet: CRC-32 mismatch \(CRC-32 mismatch\)\): disconnected'
	grep -q "domain $RID ($RNAME): protocol error: bad packet: CRC-32 mismatch" "$BT/bridge.log"
}

@test "hostile: bad version (7, and NRPE v3)" {
	channel_case badversion "$HOSTILE" badversion \
		'protocol error \(bad packet: unsupported packet version \(unknown packet version\)\): disconnected'
	ROGUE_MODE=v3
	verdict 'protocol error \(bad packet: NRPE v3 packets are not supported \(NRPE v3 packet\)\): disconnected'
}

@test "hostile: bad packet type" {
	channel_case badtype "$HOSTILE" badtype \
		'protocol error \(bad packet: invalid packet type for its version \(unknown packet type for the version\)\): disconnected'
}

@test "hostile: huge length (2^31 - 1, rogue-agent hugelen)" {
	channel_case hugelen "$ROGUE" hugelen \
		'protocol error \(bad packet: buffer length out of bounds \(buffer_length above 65536\)\): disconnected'
}

@test "hostile: negative length" {
	channel_case neglen "$HOSTILE" neglen \
		'protocol error \(bad packet: buffer length out of bounds \(buffer_length negative\)\): disconnected'
}

@test "hostile: a header, then silence" {
	channel_case hdrsilence "$HOSTILE" hdrsilence \
		'protocol error \(a frame was not completed within 5 seconds \(16 of [0-9]+ bytes\)\): disconnected'
}

@test "hostile: one byte a second (the HELLO_ACK: rogue-agent trickle; an answer: hostile-agent slowbyte)" {
	channel_case trickle "$ROGUE" trickle \
		'protocol error \((no HELLO_ACK within 5 seconds|a frame was not completed within 5 seconds \([0-9]+ of [0-9]+ bytes\))\): disconnected'
	ROGUE_TOOL=$HOSTILE ROGUE_MODE=slowbyte
	verdict 'protocol error \(a frame was not completed within 5 seconds \([0-9]+ of [0-9]+ bytes\)\): disconnected'
	after slowbyte "$RSS_SMALL"
}

@test "hostile: a flood of unsolicited responses" {
	channel_case unsolicited "$HOSTILE" unsolicited \
		'protocol error \(XV RESPONSE for request id [0-9]+, which is not outstanding\): disconnected' \
		'' "$RSS_FLOOD"
}

@test "hostile: wrong request ids (rogue-agent badid, hostile-agent wrongid)" {
	channel_case badid "$ROGUE" badid \
		'protocol error \(XV RESPONSE for request id [0-9]+, which is not outstanding\): disconnected'
	ROGUE_TOOL=$HOSTILE ROGUE_MODE=wrongid
	verdict 'protocol error \(XV RESPONSE for request id [0-9]+, which is not outstanding\): disconnected'
}

@test "hostile: every request answered twice" {
	# the first answer is a good one; the second breaks the session, and
	# the next check hears why while the bridge backs off
	channel_case dupanswer "$HOSTILE" dupanswer \
		'protocol error \(XV RESPONSE for request id [0-9]+, which is not outstanding\): disconnected' \
		'OK - hostile-agent good'
}

@test "hostile: the channel closed in the middle of a packet" {
	channel_case midclose "$HOSTILE" midclose 'connection to the agent lost'
	grep -q "domain $RID ($RNAME): the agent closed the channel" "$BT/bridge.log"
}

@test "hostile: a flood of PINGs, PONGs never read (rogue-agent flood)" {
	# a PING while AGENTCONN_PONG_MAX PONGs wait unwritten is a session
	# violation (PROTOCOL.md 5.4 rule 7): the rogue is dropped once the
	# channel is full, long before 8 MiB of PONGs (AGENTCONN_TX_MAX) pile up
	# and slow the other guests
	channel_case pingflood "$ROGUE" flood \
		'protocol error \(the agent sends PINGs but does not read the PONGs \([0-9]+ bytes waiting\)\): disconnected'
	grep -q "domain $RID ($RNAME): protocol error: the agent sends PINGs but does not read the PONGs" "$BT/bridge.log"
}

@test "hostile: ERROR id 0 with 60000 bytes of escapes and control characters" {
	channel_case errorzero "$HOSTILE" errorzero \
		'protocol error \(the agent ended the session: (\\x1B|\[|\\x[0-9A-F]{2})+\.\.\.\): disconnected'
	# nothing raw from the guest in the log either
	run grep -c $'\e' "$BT/bridge.log"
	assert_output 0
}

@test "hostile: every other violation is a protocol error with the reason" {
	ROGUE_TOOL=$HOSTILE
	ROGUE_MODE=badproto
	verdict 'protocol error \(the agent chose protocol version 9, outside 1-1\): disconnected'
	ROGUE_MODE=hellotwice
	verdict 'protocol error \(second HELLO_ACK\): disconnected'
	ROGUE_MODE=plainresp
	verdict 'protocol error \(plain NRPE packet \(v4 RESPONSE\) in an extension session\): disconnected'
	ROGUE_TOOL=$ROGUE
	for ROGUE_MODE in garbage biglen silent pong; do
		verdict 'protocol error \(.*\): disconnected'
	done
	after others "$RSS_SMALL"
}

# ---- reconnect storms --------------------------------------------------------

@test "hostile: reconnect storm: every connection closed at once" {
	# nothing breaks the protocol: the check waits for an agent that never
	# says hello, and ends with the request time limit
	# (or, when a connection attempt falls between two of the rogue's
	# listening sockets, "no agent is listening" after the connect grace)
	channel_case storm "$HOSTILE" storm \
		"XENVCHAN: (guest '$RNAME': no answer within 7 seconds|no agent is listening in guest '$RNAME')"
	local n
	n=$(grep -c '^session' "$BT/rogue.log")
	echo "FIGURE hostile storm: $n connections accepted and closed by the rogue" >&3
}

@test "hostile: reconnect storm: HELLO_ACK then close, with the advertisement flapping" {
	# every session ends at once; the advertisement going away and coming
	# back lets the bridge reconnect without waiting out its back-off
	# (guests.h: at most 5 reads a second), so the guest sets the pace
	flap() {
		xs_loop 500 "$RID" rm data/guest/probes/protocol \
			write data/guest/probes/protocol xenvchan-nrpe sleep 10
	}
	attack_on() { rogue_on && attacker_on && flap; }
	attack_off() { attacker_off; writer_off; rogue_off; guest_advert "$RID" xenvchan-nrpe 1 socket; }
	channel_case ackclose "$HOSTILE" ackclose 'connection to the agent lost'
	local n
	n=$(grep -c '^session' "$BT/rogue.log")
	echo "FIGURE hostile ackclose: $n sessions opened and closed" >&3
}

# ---- hostile xenstore values -------------------------------------------------

# xenstore_case NAME EXPECT: attack_on/attack_off set by the test.
xenstore_case() {
	measure "$1"
	attack_on
	sleep 0.5
	run cx -H "$RNAME" -c x
	echo "$output"
	assert_equal "$status" 3
	if [[ $2 == XENVCHAN:* ]]; then
		grep -Eqx -- "$2" <<<"$output"
	else
		grep -Eqx -- "XENVCHAN: guest '$RNAME': $2" <<<"$output"
	fi
	! LC_ALL=C grep -q '[^ -~]' <<<"$output"
	attack_off
	after "$1" "$RSS_SMALL"
}

@test "hostile: oversized advertisement values (2000 bytes, rewritten in a loop by dom0)" {
	# 2000 bytes: what the guest's own node-size quota (2048) would allow
	big() {
		local d=/local/domain/$RID/data/guest/probes
		xs_loop 500 0 write-size $d/protocol 2000 write-size $d/versions 2000 \
			write-size $d/transport 2000 sleep 10
	}
	attack_on() { big && attacker_on; }
	attack_off() { attacker_off; writer_off; }
	xenstore_case oversized 'unusable agent advertisement \(protocol: value of 2000 bytes \(at most 64\)\)'
	run grep -c $'x\{100\}' "$BT/bridge.log"
	assert_output 0
}

@test "hostile: non-printable advertisement values, rewritten in a loop by the guest" {
	ctrl() {
		xs_loop 500 "$RID" write data/guest/probes/protocol $'\e]0;owned\a\e[2J\x01\x7f\xff\xfe' \
			write data/guest/probes/versions $'1\e[31m' sleep 10
	}
	attack_on() { ctrl && attacker_on; }
	attack_off() { attacker_off; writer_off; }
	xenstore_case nonprintable \
		'unusable agent advertisement \(protocol: .\\x1B\]0;owned\\x07\\x1B\[2J.* is not xenvchan-nrpe\)'
	run grep -c $'\e\\|\x01\\|\x7f' "$BT/bridge.log"
	assert_output 0
}

@test "hostile: a deep subtree under the advertisement (dom0 writes a path of 2000 characters, removes it, again)" {
	deep() {
		local p=/local/domain/$RID/data/guest/probes/d
		while [ ${#p} -lt 2000 ]; do p=$p/d; done
		xs_loop 20 0 write "$p" 1 rm /local/domain/$RID/data/guest/probes/d sleep 1000
	}
	attack_on() { deep && attacker_on; }
	attack_off() { attacker_off; writer_off; xenstore-rm /local/domain/$RID/data/guest/probes/d 2>/dev/null || true; }
	# the advertisement itself is fine, and nobody listens
	xenstore_case deep "XENVCHAN: no agent is listening in guest '$RNAME'"
}

@test "hostile: a wide subtree under the advertisement (dom0 writes 990 nodes, removes them, again)" {
	wide() {
		xs_loop 20 0 fill /local/domain/$RID/data/guest/probes/w 990 \
			rm /local/domain/$RID/data/guest/probes/w sleep 1000
	}
	attack_on() { wide && attacker_on; }
	attack_off() { attacker_off; writer_off; xenstore-rm /local/domain/$RID/data/guest/probes/w 2>/dev/null || true; }
	xenstore_case wide "XENVCHAN: no agent is listening in guest '$RNAME'"
}

@test "hostile: the guest fills its own tree until the emulator's per-domain quota stops it" {
	# 1000 nodes per domain: the fill stops (E2BIG/ENOSPC) well before 2000
	fill() {
		xs_loop 20 "$RID" fail fill data/guest/probes/q 2000 rm data/guest/probes/q sleep 1000
	}
	run xsemu_as "$RID" "$XSTOOL" fill data/guest/probes/q 2000
	echo "$output"
	assert_failure
	grep -Eq "^created [0-9]+" <<<"$output"
	local created
	created=$(sed -n 's/^created //p' <<<"$output")
	echo "FIGURE hostile quota: the guest created $created nodes before its quota stopped it" >&3
	[ "$created" -lt 1000 ]
	xsemu_as "$RID" xenstore-rm data/guest/probes/q
	attack_on() { fill && attacker_on; }
	attack_off() { attacker_off; writer_off; xsemu_as "$RID" xenstore-rm data/guest/probes/q 2>/dev/null || true; }
	xenstore_case quota "XENVCHAN: no agent is listening in guest '$RNAME'"
}

# ---- the other way: a hostile client against the agent ----------------------

@test "hostile: an agent refuses a reused request id and extension packets before HELLO with ERROR id 0 (fuzz_session regressions)" {
	# found by tests/fuzz/fuzz_session: the agent answered a reused id with
	# ERROR carrying that id (a client takes it for the answer to the first
	# query), and answered a PING before the hello exchange.  A QUERY,
	# CANCEL or PING before HELLO gets ERROR id 0 with the reason
	# (PROTOCOL.md 5.4 rule 1), then the close.
	cat >"$BT/raw.py" <<'PY'
import socket, struct, sys, zlib
def frame(t, payload, v=0x5856):
    h = struct.pack('>hhIhhi', v, t, 0, 0, 0, len(payload))
    return struct.pack('>hhIhhi', v, t, zlib.crc32(h + payload) & 0xffffffff, 0, 0, len(payload)) + payload
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
if sys.argv[2] == 'dup':
    out = frame(1, struct.pack('>HHII', 1, 1, 16, 65536) + b'raw\0')
    out += frame(3, struct.pack('>I', 7) + b'slow\0') + frame(3, struct.pack('>I', 7) + b'slow\0')
elif sys.argv[2] == 'query':
    out = frame(3, struct.pack('>I', 7) + b'x\0')
elif sys.argv[2] == 'cancel':
    out = frame(5, struct.pack('>I', 7))
else:
    out = frame(6, struct.pack('>I', 42))
s.sendall(out)
buf = b''
while True:
    d = s.recv(65536)
    if not d:
        break
    buf += d
while len(buf) >= 16:
    v, t, crc, rc, al, n = struct.unpack('>hhIhhi', buf[:16])
    body, buf = buf[16:16 + n], buf[16 + n:]
    if t == 2:
        print(t, 'HELLO_ACK')
    else:
        rid = struct.unpack('>I', body[:4])[0]
        print(t, rid, body[4:].rstrip(b'\0').decode(errors='replace'))
print('closed')
PY
	guest_add 6 agentonly
	guest_agent 6 <<<"command[slow]=$BT/probes/sleep.sh 5"
	run python3 "$BT/raw.py" "$BT/ch/6-data.guest.probes.vchan" dup
	echo "$output"
	assert_line --index 0 "2 HELLO_ACK"
	assert_line --index 1 "8 0 request id already in use"
	assert_line --index 2 closed
	for pk in query:'tagged QUERY' cancel:CANCEL ping:PING; do
		for i in $(seq 50); do [ -S "$BT/ch/6-data.guest.probes.vchan" ] && break; sleep 0.05; done
		run python3 "$BT/raw.py" "$BT/ch/6-data.guest.probes.vchan" "${pk%%:*}"
		echo "$output"
		assert_line --index 0 "8 0 ${pk#*:} before HELLO"
		assert_line --index 1 closed
		grep -q "client: ${pk#*:} before HELLO: closing the connection" "$BT/agent-6.log"
	done
	# the agent lives on and serves the bridge
	for i in $(seq 50); do [ -S "$BT/ch/6-data.guest.probes.vchan" ] && break; sleep 0.05; done
	run cx -H agentonly -c x
	assert_output "XENVCHAN: Command 'x' not defined"
}
