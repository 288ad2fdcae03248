#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# xenvchan-bridge with agents as emulated guests over socket:DIR: discovery,
# multiplexing, limits, reconnects, domains going away, hostile xenstore
# values, the local socket's protocol and permissions, configuration.

load 'bridge-helper'

setup() { bridge_setup; }
teardown() { bridge_teardown; }

@test "bridge: a check reaches the agent by name and by domid, output and state unchanged" {
	guest_add 5 web01
	guest_agent 5 <<EOF
command[ok]=$PLUGINS/check_dummy 0 "all good"
command[crit]=$PLUGINS/check_dummy 2 "disk full"
command[multi]=$BT/probes/exit.sh 1 "WARN - first" "second|perf=1"
EOF
	bridge_start
	run cx -H web01 -c ok
	assert_success
	assert_output "OK: all good"
	run cx -H 5 -c crit
	assert_equal "$status" 2
	assert_output "CRITICAL: disk full"
	run cx -H web01 -c multi
	assert_equal "$status" 1
	assert_output $'WARN - first\nsecond|perf=1'
	grep -q "domain 5 (web01): agent connected" "$BT/bridge.log"
}

@test "bridge: the connection is made on the first check and kept for the next ones" {
	guest_add 5 web01
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	bridge_start
	! grep -q "agent connected" "$BT/bridge.log"
	for i in 1 2 3 4 5; do cx -H web01 -c ok >/dev/null; done
	assert_equal "$(grep -c 'agent connected' "$BT/bridge.log")" 1
	assert_equal "$(grep -c 'client connected' "$BT/agent-5.log")" 1
}

@test "bridge: _NRPE_CHECK without a guest answers the bridge's version, GUEST/ the agent's" {
	guest_add 5 web01
	guest_agent 5 <<<""
	bridge_start
	run xvc plain _NRPE_CHECK "" "web01/" "web01/_NRPE_CHECK"
	assert_success
	assert_line "1 0 xenvchan-bridge v0.1.0"
	assert_line "2 0 xenvchan-bridge v0.1.0"
	assert_line "3 0 xenvchan-agent v0.1.0"
	assert_line "4 0 xenvchan-agent v0.1.0"
}

@test "bridge: bad queries are refused with the reason" {
	bridge_start
	run xvc plain "check_load" "/x" 'we$b/x' "web01/!a"
	assert_success
	assert_line "1 3 XENVCHAN: bad query: expected GUEST/COMMAND[!arg...] (no '/' in the query)"
	assert_line "2 3 XENVCHAN: bad query: empty guest name before '/'"
	assert_line "3 3 XENVCHAN: bad query: guest name has a character outside [A-Za-z0-9_.-]"
	assert_line "4 3 XENVCHAN: bad query: empty command name before '!'"
}

@test "bridge: unknown guest, guest without agent" {
	guest_add 6 noagent
	bridge_start
	run cx -H ghost -c x
	assert_equal "$status" 3
	assert_output "XENVCHAN: guest 'ghost' not found"
	run cx -H 99 -c x
	assert_output "XENVCHAN: guest '99' not found"
	local t0=$(now_ms)
	run cx -H noagent -c x
	assert_equal "$status" 3
	assert_output "XENVCHAN: no agent is listening in guest 'noagent'"
	[ $(($(now_ms) - t0)) -lt 3000 ]
}

@test "bridge: an advertisement without a listening agent is answered within the connect grace" {
	guest_add 6 stale
	guest_advert 6 xenvchan-nrpe 1 socket
	bridge_start
	local t0=$(now_ms)
	run cx -H stale -c x
	local ms=$(($(now_ms) - t0))
	echo "answered after $ms ms" >&3
	assert_equal "$status" 3
	assert_output "XENVCHAN: no agent is listening in guest 'stale'"
	[ "$ms" -lt 6000 ]
}

@test "bridge: a domain created after the bridge started is found, a renamed one follows its name" {
	bridge_start
	guest_add 7 late
	guest_agent 7 <<<"command[ok]=$PLUGINS/check_dummy 0 \"late one\""
	run cx -H late -c ok
	assert_success
	assert_output "OK: late one"
	xenstore-write /local/domain/7/name renamed
	sleep 0.3
	run cx -H renamed -c ok
	assert_success
	run cx -H late -c ok
	assert_output "XENVCHAN: guest 'late' not found"
}

@test "bridge: many checks on one XV connection are multiplexed and answered as they finish" {
	guest_add 5 web01
	guest_agent 5 <<EOF
max_concurrent=16
command[slow]=$BT/probes/span.sh $BT/spans 1 slow
command[fast]=$PLUGINS/check_dummy 0 fast
EOF
	spans_dir
	bridge_start
	local t0=$(now_ms)
	run xvc xv web01/slow web01/slow web01/slow web01/slow web01/fast web01/fast
	local ms=$(($(now_ms) - t0))
	assert_success
	echo "6 checks (4 of 1 s) in $ms ms" >&3
	assert_equal "${lines[0]#* }" "0 OK: fast"
	assert_equal "${lines[1]#* }" "0 OK: fast"
	[ "$(grep -c ' 0 OK - slow$' <<<"$output")" -eq 4 ]
	# the four slow probes ran at once: each started before any ended
	[ "$(spans_max_at_once)" -eq 4 ]
}

@test "bridge: plain v4 queries pipelined on one connection are answered in order" {
	guest_add 5 web01
	guest_agent 5 <<EOF
command[slow]=$BT/probes/sleep.sh 0.5 slow
command[fast]=$PLUGINS/check_dummy 0 fast
EOF
	bridge_start
	run xvc plain web01/slow web01/fast nosuch/x
	assert_success
	assert_equal "${lines[0]}" "1 0 OK - slow"
	assert_equal "${lines[1]}" "2 0 OK: fast"
	assert_equal "${lines[2]}" "3 3 XENVCHAN: guest 'nosuch' not found"
}

@test "bridge: XV CANCEL stops the probe in the guest and answers 'cancelled'" {
	printf '#!/bin/sh\nexec sleep 33.1\n' >"$BT/probes/long.sh"
	chmod 755 "$BT/probes/long.sh"
	guest_add 5 web01
	guest_agent 5 <<<"command[long]=$BT/probes/long.sh"
	bridge_start
	run xvc xvcancel 0.5 web01/long
	assert_success
	assert_output "1 3 cancelled"
	sleep 0.5
	run pgrep -f "sleep 33.1"
	assert_failure
}

@test "bridge: a client that hangs up cancels its checks in the guest" {
	printf '#!/bin/sh\nexec sleep 34.2\n' >"$BT/probes/long.sh"
	chmod 755 "$BT/probes/long.sh"
	guest_add 5 web01
	guest_agent 5 <<<"command[long]=$BT/probes/long.sh"
	bridge_start
	run timeout 1 "$CHECK" -s "$BT/bridge.sock" -H web01 -c long -t 30
	pgrep -f "sleep 34.2" >/dev/null || sleep 0.2
	sleep 0.5
	run pgrep -f "sleep 34.2"
	assert_failure
}

# lxv MODE ARGS: a client of the local socket for what xvc.py does not do
#   half Q            v4 query, shutdown(SHUT_WR), then "rc text" of the answer
#   maxresp N Q       HELLO with max_response N, tagged query: "buflen rc text"
#   error             HELLO, then ERROR id 0 with control characters in its text
lxv() {
	python3 - "$BT/bridge.sock" "$@" <<'PY'
import socket, struct, sys, zlib
def frame(version, ptype, payload):
    h = struct.pack('>hhIhhi', version, ptype, 0, 0, 0, len(payload))
    crc = zlib.crc32(h + payload) & 0xffffffff
    return struct.pack('>hhIhhi', version, ptype, crc, 0, 0, len(payload)) + payload
def read_frame(s, buf):
    while len(buf) < 16 or len(buf) < 16 + struct.unpack('>i', buf[12:16])[0]:
        d = s.recv(65536)
        if not d:
            print('closed after %d bytes' % len(buf)); sys.exit(5)
        buf += d
    n = 16 + struct.unpack('>i', buf[12:16])[0]
    return buf[:n], buf[n:]
def text(f, off):
    return f[off:].split(b'\0')[0].decode('utf-8', 'replace').rstrip('\n')
path, mode, args = sys.argv[1], sys.argv[2], sys.argv[3:]
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(path)
if mode == 'half':
    s.sendall(frame(4, 1, (args[0].encode() + b'\0').ljust(1020, b'\0')))
    s.shutdown(socket.SHUT_WR)
    f, _ = read_frame(s, b'')
    print(struct.unpack('>h', f[8:10])[0], text(f, 16))
elif mode == 'maxresp':
    s.sendall(frame(0x5856, 1, struct.pack('>HHII', 1, 1, 16, int(args[0])) + b'lxv\0'))
    s.sendall(frame(0x5856, 3, struct.pack('>I', 1) + args[1].encode() + b'\0'))
    f, buf = read_frame(s, b'')
    f, buf = read_frame(s, buf)
    print(struct.unpack('>i', f[12:16])[0], struct.unpack('>h', f[8:10])[0], text(f, 20))
elif mode == 'error':
    s.sendall(frame(0x5856, 1, struct.pack('>HHII', 1, 1, 16, 65536) + b'lxv\0'))
    s.sendall(frame(0x5856, 8, struct.pack('>I', 0) + b'evil\x1b[2J\x07\nfake line\\\0'))
    while s.recv(65536):
        pass
PY
}

@test "bridge: a local client's ERROR text reaches the log escaped, never raw" {
	bridge_start
	run lxv error
	assert_success
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		grep -q 'client reported an error' "$BT/bridge.log" && break
		sleep 0.1
	done
	# proto/xvsafe.h's rule: \xNN for a control byte, "\\" for a backslash
	grep -F 'client reported an error: evil\x1B[2J\x07\x0Afake line\\' "$BT/bridge.log"
	run grep -E $'\x1b|\x07|^fake line' "$BT/bridge.log"
	assert_failure
}

@test "bridge: a local client that half-closes after its query still gets the answer" {
	guest_add 5 web01
	guest_agent 5 <<<"command[s1]=$BT/probes/sleep.sh 1 done"
	bridge_start
	run lxv half web01/s1
	assert_success
	assert_output "0 OK - done"
}

@test "bridge: the local socket keeps a tagged answer within the client's HELLO max_response" {
	guest_add 5 web01
	guest_agent 5 <<<"command[big]=$BT/probes/big.sh 4000"
	bridge_start
	run lxv maxresp 64 web01/big
	assert_success
	# 64 bytes of buffer: the id, 59 bytes of text, the NUL (PROTOCOL.md 5.4 rule 6)
	assert_output --regexp '^64 0 .{59}$'
	run lxv maxresp 65536 web01/big
	assert_output --regexp '^4005 0 '
}

@test "bridge: per-guest limits: in flight, then queued, then 'too many requests waiting'" {
	guest_add 5 web01
	guest_agent 5 <<EOF
max_concurrent=8
command[s1]=$BT/probes/span.sh $BT/spans 1 done
EOF
	spans_dir
	bridge_config <<<$'max_inflight_per_guest=2\nmax_queue_per_guest=1'
	bridge_start
	local t0=$(now_ms)
	run xvc xv web01/s1 web01/s1 web01/s1 web01/s1
	local ms=$(($(now_ms) - t0))
	assert_success
	assert_line "4 3 XENVCHAN: guest 'web01': too many requests waiting"
	[ "$(grep -c ' 0 OK - done$' <<<"$output")" -eq 3 ]
	# two at once, the third after one of them: never three at once
	echo "3 checks of 1 s through 2 slots: $ms ms" >&3
	[ "$(spans_max_at_once)" -eq 2 ]
}

@test "bridge: request_timeout answers 'no answer within' and cancels the probe" {
	printf '#!/bin/sh\nexec sleep 35.3\n' >"$BT/probes/long.sh"
	chmod 755 "$BT/probes/long.sh"
	guest_add 5 web01
	guest_agent 5 <<<"command[long]=$BT/probes/long.sh"
	bridge_config <<<"request_timeout=1"
	bridge_start
	run xvc plain web01/long
	assert_output "1 3 XENVCHAN: guest 'web01': no answer within 1 second"
	sleep 0.5
	run pgrep -f "sleep 35.3"
	assert_failure
	# the agent answered "cancelled" for it: the connection is still good
	echo "command[ok]=$PLUGINS/check_dummy 0 fine" >>"$BT/agent-5.cfg"
	kill -HUP "${AGENT_PIDS[5]}"
	sleep 0.3
	run cx -H web01 -c ok
	assert_success
	assert_equal "$(grep -c 'agent connected' "$BT/bridge.log")" 1
}

@test "bridge: an agent restarting mid-check: that check is told, the next one reconnects" {
	guest_add 5 web01
	guest_agent 5 <<EOF
command[slow]=$BT/probes/sleep.sh 3 slow
command[ok]=$PLUGINS/check_dummy 0 fine
EOF
	bridge_start
	cx -H web01 -c ok
	cx -H web01 -c slow >"$BT/slow.out" &
	local pid=$! t0 rc=0
	sleep 0.5
	t0=$(now_ms)
	guest_agent_stop 5
	wait "$pid" || rc=$?
	echo "pending check answered $(($(now_ms) - t0)) ms after the agent stopped" >&3
	assert_equal "$rc" 3
	assert_equal "$(cat "$BT/slow.out")" "XENVCHAN: guest 'web01': connection to the agent lost"
	guest_agent_start 5
	run cx -H web01 -c ok
	assert_success
	assert_output "OK: fine"
	assert_equal "$(grep -c 'agent connected' "$BT/bridge.log")" 2
}

@test "bridge: checks sent while the agent restarts wait for it and are served" {
	guest_add 5 web01
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	bridge_start
	cx -H web01 -c ok
	guest_agent_stop 5
	# started in a subshell: its pid comes back through a file, for teardown
	(sleep 0.4; guest_agent_start 5 && echo "${AGENT_PIDS[5]}" >"$BT/agent5.pid") &
	local starter=$!
	sleep 0.1
	run cx -H web01 -c ok
	wait "$starter"
	AGENT_PIDS[5]=$(cat "$BT/agent5.pid")
	# the advertisement is gone while the agent is down: refused at once,
	# or served once it is back, but never a time-out
	if [ "$status" -ne 0 ]; then
		assert_output "XENVCHAN: no agent is listening in guest 'web01'"
	fi
	run cx -H web01 -c ok
	assert_success
}

@test "bridge: a bridge restart mid-check: 'shutting down', and the new bridge serves" {
	guest_add 5 web01
	guest_agent 5 <<EOF
command[slow]=$BT/probes/sleep.sh 3 slow
command[ok]=$PLUGINS/check_dummy 0 fine
EOF
	bridge_start
	cx -H web01 -c slow >"$BT/slow.out" &
	local pid=$! rc=0
	sleep 0.5
	bridge_stop
	wait "$pid" || rc=$?
	assert_equal "$rc" 3
	assert_equal "$(cat "$BT/slow.out")" "XENVCHAN: bridge shutting down"
	[ ! -e "$BT/bridge.sock" ]
	bridge_start
	run cx -H web01 -c ok
	assert_success
	# killed outright: its socket file stays behind and is replaced
	cx -H web01 -c slow >"$BT/slow2.out" &
	pid=$!
	sleep 0.5
	bridge_stop KILL || true
	rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 3
	assert_equal "$(cat "$BT/slow2.out")" "XENVCHAN: the bridge closed the connection without answering"
	[ -S "$BT/bridge.sock" ]
	run cx -H web01 -c ok
	assert_equal "$status" 3
	assert_output --partial "XENVCHAN: the bridge is not running"
	bridge_start
	run cx -H web01 -c ok
	assert_success
}

@test "bridge: a second bridge on the same socket refuses to start" {
	bridge_start
	run "$BRIDGE" -c "$BT/bridge.cfg" -f
	assert_equal "$status" 1
	assert_output --partial "another bridge is listening on $BT/bridge.sock"
}

@test "bridge: a domain going away answers its pending checks at once and closes the channel" {
	guest_add 5 web01
	guest_agent 5 <<<"command[slow]=$BT/probes/sleep.sh 5 slow"
	bridge_start
	cx -H web01 -c slow >"$BT/slow.out" &
	local pid=$! rc=0 t0
	sleep 0.5
	t0=$(now_ms)
	xsemu_domain_destroy 5
	wait "$pid" || rc=$?
	local ms=$(($(now_ms) - t0))
	echo "pending check answered $ms ms after @releaseDomain" >&3
	assert_equal "$rc" 3
	assert_equal "$(cat "$BT/slow.out")" "XENVCHAN: guest 'web01' went away"
	[ "$ms" -lt 3000 ] # the probe itself would end 4.5 s after t0
	grep -q "domain 5 (web01) went away" "$BT/bridge.log"
	run cx -H web01 -c slow
	assert_output "XENVCHAN: guest 'web01' not found"
	kill -0 "$BRIDGE_PID"
}

@test "bridge: hostile advertisement values are refused, escaped in the log, and harm nobody" {
	guest_add 5 web01
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	guest_add 6 big
	guest_add 7 ctrl
	guest_add 8 vers
	guest_add 9 trans
	guest_add 10 sock
	guest_advert 6 "$(head -c 1500 /dev/zero | tr '\0' x)" 1 socket
	guest_advert 7 $'xenvchan-nrpe\e[31m\x01' 1 socket
	guest_advert 8 xenvchan-nrpe 2-9 socket
	guest_advert 9 xenvchan-nrpe 1 $'pigeon\x7f'
	guest_advert 10 xenvchan-nrpe 1 vchan
	bridge_start
	run cx -H big -c x
	assert_equal "$status" 3
	assert_output "XENVCHAN: guest 'big': unusable agent advertisement (protocol: value of 1500 bytes (at most 64))"
	run cx -H ctrl -c x
	assert_output "XENVCHAN: guest 'ctrl': unusable agent advertisement (protocol: 'xenvchan-nrpe\\x1B[31m\\x01' is not xenvchan-nrpe)"
	run cx -H vers -c x
	assert_output "XENVCHAN: guest 'vers': unusable agent advertisement (versions: no common protocol version (the agent speaks '2-9'))"
	run cx -H trans -c x
	assert_output "XENVCHAN: guest 'trans': unusable agent advertisement (transport: 'pigeon\\x7F' is not vchan or socket)"
	run cx -H sock -c x
	assert_output "XENVCHAN: guest 'sock': unusable agent advertisement (transport: the agent listens on vchan, the bridge uses socket)"
	# nothing raw from a guest reaches the log
	run grep -c $'\e\\|\x01\\|\x7f' "$BT/bridge.log"
	assert_output 0
	# rewriting the keys in a loop costs a few reads a second, not one per write
	for i in $(seq 200); do echo "data/guest/probes/versions $i"; done |
		xargs -n 2 env $(xsemu_guest_env 8) xenstore-write
	run cx -H web01 -c ok
	assert_success
	kill -0 "$BRIDGE_PID"
}

@test "bridge: 50 guests, 200 concurrent checks, every answer from the right guest" {
	local n
	for n in $(seq 10 59); do
		guest_add "$n" "g$n"
	done
	for n in $(seq 10 59); do
		guest_agent "$n" <<<"command[who]=$PLUGINS/check_dummy 0 \"guest g$n\""
	done
	bridge_start
	local t0=$(now_ms) pids=()
	for n in $(seq 10 59); do
		for k in 1 2 3 4; do
			cx -H "g$n" -c who -t 30 >"$BT/out-$n-$k" 2>&1 &
			pids+=($!)
		done
	done
	local failed=0
	for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
	local ms=$(($(now_ms) - t0))
	echo "50 guests: 200 concurrent check_xenvchan runs in $ms ms ($failed failed)" >&3
	assert_equal "$failed" 0
	for n in $(seq 10 59); do
		for k in 1 2 3 4; do
			assert_equal "$(cat "$BT/out-$n-$k")" "OK: guest g$n"
		done
	done
	# and all 200 again on one XV connection, all in flight at once
	local qs=()
	for n in $(seq 10 59); do for k in 1 2 3 4; do qs+=("g$n/who"); done; done
	t0=$(now_ms)
	run xvc xv "${qs[@]}"
	ms=$(($(now_ms) - t0))
	assert_success
	echo "50 guests: 200 checks on one XV connection in $ms ms" >&3
	assert_equal "${#lines[@]}" 200
	local i=0
	for n in $(seq 10 59); do
		for k in 1 2 3 4; do
			i=$((i + 1))
			assert_line "$i 0 OK: guest g$n"
		done
	done
	assert_equal "$(grep -c 'agent connected' "$BT/bridge.log")" 50
}

@test "bridge: an idle bridge with connected agents does not wake up" {
	guest_add 5 web01
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	guest_add 6 web02
	guest_agent 6 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	bridge_start
	cx -H web01 -c ok && cx -H web02 -c ok
	sleep 1 # let the advertisement debounce timers run out
	local before after
	before=$(awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$BRIDGE_PID/task/$BRIDGE_PID/status")
	sleep 3
	after=$(awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$BRIDGE_PID/task/$BRIDGE_PID/status")
	echo "bridge main thread: $((after - before)) wake-ups in 3 s idle" >&3
	[ $((after - before)) -le 1 ]
}

@test "bridge: the socket's mode and group, and peer credentials, decide who is served" {
	guest_add 5 web01
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	[ "$(id -u)" = 0 ] || skip "needs root to run a client as another user"
	bridge_config <<EOF
socket_mode=0666
socket_group=nogroup
allowed_uids=root,12345
EOF
	bridge_start
	assert_equal "$(stat -c '%a %G' "$BT/bridge.sock")" "666 nogroup"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups "$CHECK" -s "$BT/bridge.sock" -H web01 -c ok
	assert_equal "$status" 3
	assert_output "XENVCHAN: access denied: uid 65534 (gid 65534) is not allowed to use the bridge (allowed_uids/allowed_gids)"
	grep -q "uid 65534 refused" "$BT/bridge.log"
	bridge_stop
	bridge_config <<EOF
socket_mode=0666
allowed_gids=nogroup
EOF
	bridge_start
	run setpriv --reuid=nobody --regid=nogroup --clear-groups "$CHECK" -s "$BT/bridge.sock" -H web01 -c ok
	assert_success
	assert_output "OK: fine"
	bridge_stop
	bridge_config <<<"socket_mode=0600"
	bridge_start
	run setpriv --reuid=nobody --regid=nogroup --clear-groups "$CHECK" -s "$BT/bridge.sock" -H web01 -c ok
	assert_equal "$status" 3
	assert_output "XENVCHAN: cannot connect to the bridge at $BT/bridge.sock: Permission denied"
}

@test "bridge: a local client sending garbage or nothing is dropped; others are served" {
	guest_add 5 web01
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	bridge_config <<<"socket_timeout=1"
	bridge_start
	run xvc raw 0009676172626167650000000000000000
	assert_output ""
	python3 - "$BT/bridge.sock" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"\x00\x04\x00\x01")
t = time.time()
s.settimeout(5)
assert s.recv(100) == b""
assert 0.7 < time.time() - t < 3, time.time() - t
PY
	run cx -H web01 -c ok
	assert_success
}

# A raw client of the local socket: sends MODE's packets (PROTOCOL.md 5.1),
# prints every frame that comes back as "TYPE ID TEXT" (PONGs counted, as
# "pongs N"), then "closed".
raw_client() {
	cat >"$BT/raw.py" <<'PY'
import socket, struct, sys, time, zlib
def frame(t, payload, v=0x5856):
    h = struct.pack('>hhIhhi', v, t, 0, 0, 0, len(payload))
    return struct.pack('>hhIhhi', v, t, zlib.crc32(h + payload) & 0xffffffff, 0, 0, len(payload)) + payload
hello = frame(1, struct.pack('>HHII', 1, 1, 16, 65536) + b'raw\0')
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
mode = sys.argv[2]
if mode == 'flood':
    # HELLO, then PINGs without reading until the bridge stops taking them
    s.sendall(hello)
    s.setblocking(False)
    pings = b''.join(frame(6, struct.pack('>I', i)) for i in range(1, 65))
    stuck = time.monotonic()
    while time.monotonic() - stuck < 1:
        try:
            if s.send(pings) > 0:
                stuck = time.monotonic()
        except BlockingIOError:
            time.sleep(0.01)
    s.setblocking(True)
else:
    s.sendall({'query': frame(3, struct.pack('>I', 1) + b'web01/ok\0'),
               'cancel': frame(5, struct.pack('>I', 1)),
               'ping': frame(6, struct.pack('>I', 42)),
               'pong': frame(7, struct.pack('>I', 42)),
               'hello9': frame(1, struct.pack('>HHII', 9, 9, 16, 65536) + b'raw\0')}[mode])
s.settimeout(10)
buf = b''
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
except ConnectionResetError:
    pass
pongs = 0
while len(buf) >= 16:
    v, t, crc, rc, al, n = struct.unpack('>hhIhhi', buf[:16])
    body, buf = buf[16:16 + n], buf[16 + n:]
    if t == 7:
        pongs += 1
        continue
    if pongs:
        print('pongs', pongs)
        pongs = 0
    if t == 2:
        print(t, 'HELLO_ACK')
    else:
        print(t, struct.unpack('>I', body[:4])[0], body[4:].rstrip(b'\0').decode(errors='replace'))
print('closed')
PY
	python3 "$BT/raw.py" "$BT/bridge.sock" "$@"
}

@test "bridge: an extension packet before HELLO on the local socket gets ERROR id 0 with the reason, then the close" {
	# PROTOCOL.md 5.4 rule 1; the bridge stays up and serves the next client
	guest_add 5 web01
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	bridge_start
	local pk
	for pk in "query:tagged QUERY before HELLO" "cancel:CANCEL before HELLO" \
		"ping:PING before HELLO" "pong:packet a client never sends" \
		"hello9:no common protocol version"; do
		run raw_client "${pk%%:*}"
		echo "$output"
		assert_line --index 0 "8 0 ${pk#*:}"
		assert_line --index 1 closed
		grep -q "local client pid [0-9]*: ${pk#*:}: closing" "$BT/bridge.log"
	done
	run cx -H web01 -c ok
	assert_success
	assert_output "OK: fine"
}

@test "bridge: a local client flooding PINGs without reading the PONGs gets ERROR id 0, then the close" {
	# PROTOCOL.md 5.4 rule 7: a PING while 16 PONGs wait unwritten
	bridge_start
	run raw_client flood
	echo "$output"
	assert_line --index 0 "2 HELLO_ACK"
	assert_line --index 1 --regexp '^pongs [0-9]+$'
	assert_line --index 2 --regexp '^8 0 the client sends PINGs but does not read the PONGs \([0-9]+ bytes waiting\)$'
	assert_line --index 3 closed
	kill -0 "$BRIDGE_PID"
}

@test "bridge: configuration errors name FILE:LINE and exit 2; -n checks" {
	printf 'socket_mode=0660\nbogus=1\n' >"$BT/bad.cfg"
	run "$BRIDGE" -c "$BT/bad.cfg" -n
	assert_equal "$status" 2
	assert_output --partial "$BT/bad.cfg:2: unknown key 'bogus'"
	printf 'max_inflight_per_guest=0\n' >"$BT/bad2.cfg"
	run "$BRIDGE" -c "$BT/bad2.cfg" -n
	assert_equal "$status" 2
	assert_output --partial "$BT/bad2.cfg:1: max_inflight_per_guest: 0 is out of range 1..1024"
	printf 'reconnect_min=5\nreconnect_max=1\n' >"$BT/bad3.cfg"
	run "$BRIDGE" -c "$BT/bad3.cfg" -n
	assert_equal "$status" 2
	assert_output --partial "reconnect_min (5) is larger than reconnect_max (1)"
	printf 'allowed_uids=root,no-such-user-here\n' >"$BT/bad4.cfg"
	run "$BRIDGE" -c "$BT/bad4.cfg" -n
	assert_equal "$status" 2
	assert_output --partial "$BT/bad4.cfg:1: allowed_uids: no user 'no-such-user-here'"
	run "$BRIDGE" -c "$BT/missing.cfg" -n
	assert_equal "$status" 2
	run "$BRIDGE" --bogus
	assert_equal "$status" 2
	run "$BRIDGE" -c "$BT/bridge.cfg" -n
	assert_success
	assert_output "$BT/bridge.cfg: OK"
	run "$BRIDGE" -c "$BT/bridge.cfg" --channel socket:relative -n
	assert_equal "$status" 2
	run "$BRIDGE" -V
	assert_success
	assert_output "xenvchan-bridge 0.1.0"
}

@test "bridge: daemon mode, pid file, SIGUSR1 statistics" {
	guest_add 5 web01
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	echo "log_level=debug" >>"$BT/bridge.cfg"
	"$BRIDGE" -c "$BT/bridge.cfg" -d -p "$BT/bridge.pid"
	local pid i
	for i in $(seq 50); do [ -s "$BT/bridge.pid" ] && [ -S "$BT/bridge.sock" ] && break; sleep 0.1; done
	pid=$(cat "$BT/bridge.pid")
	run cx -H web01 -c ok
	assert_success
	run "$BRIDGE" -c "$BT/bridge.cfg" -f -p "$BT/bridge.pid"
	assert_equal "$status" 1
	assert_output --partial "already running (pid $pid)"
	kill -TERM "$pid"
	for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	run kill -0 "$pid"
	assert_failure
	[ ! -e "$BT/bridge.pid" ]
	[ ! -e "$BT/bridge.sock" ]

	bridge_start
	cx -H web01 -c ok
	kill -USR1 "$BRIDGE_PID"
	sleep 0.3
	grep -q "stats: 1 domains, 1 agents connected; 1 requests, 1 answered by agents" "$BT/bridge.log"
}

@test "bridge: nrpe_listen=1 starts the NRPE listener with the nrpe_* keys (check_nrpe)" {
	guest_add 5 web01
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 1 \"from web01\""
	local port
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	bridge_config <<EOF2
nrpe_listen=1
nrpe_port=$port
nrpe_tls=0
nrpe_allowed_hosts=127.0.0.1
EOF2
	bridge_start
	grep -q "nrpe: listening on 127.0.0.1" "$BT/bridge.log"
	run /usr/lib/nagios/plugins/check_nrpe -n -H 127.0.0.1 -p "$port" -c web01/ok
	assert_equal "$status" 1
	assert_output "WARNING: from web01"
	run /usr/lib/nagios/plugins/check_nrpe -n -H 127.0.0.1 -p "$port"
	assert_success
	assert_output "xenvchan-bridge v0.1.0"
	# a listener that cannot start stops the bridge, with the reason
	bridge_stop
	bridge_config <<<$'nrpe_listen=1\nnrpe_tls=0\nnrpe_allowed_hosts=999.1.2.3'
	run "$BRIDGE" -c "$BT/bridge.cfg" -f
	assert_equal "$status" 1
	assert_output --partial "NRPE listener:"
	printf 'nrpe_listen=1\n' >"$BT/tls.cfg"
	run "$BRIDGE" -c "$BT/tls.cfg" -n
	assert_equal "$status" 2
	assert_output --partial "nrpe_tls=1 needs nrpe_cert_file and nrpe_key_file"
}
