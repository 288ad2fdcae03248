# SPDX-License-Identifier: GPL-2.0-or-later
# bridge-helper.bash: xenvchan-bridge with emulated guests, from bats.
#
#   load 'bridge-helper'
#   setup()    { bridge_setup; }          # emulator (no guests yet) + $BT
#   teardown() { bridge_teardown; }
#   @test "..." {
#       guest_add 5 web01                  # a domain, as libxl makes it
#       guest_agent 5 <<<'command[x]=...'  # its agent (config lines on stdin)
#       bridge_start                       # bridge_config first for extra keys
#       cx -H web01 -c x                   # check_xenvchan against this bridge
#   }
#
# bridge_setup            emulator + $BT: a short, world-readable directory with
#                         the channel dir $BT/ch and the fixture probes in
#                         $BT/probes (probes run as nobody when tests run as root)
# guest_add N NAME        create domain N called NAME
# guest_agent N [ARGS]    write $BT/agent-N.cfg (channel= + stdin), start the
#                         agent as guest N, wait until it listens
# guest_agent_start N [ARGS]  start it again with the same configuration
# guest_agent_stop N      SIGTERM the agent of guest N and wait for it
# guest_advert N P V T    write an advertisement as guest N (protocol, versions,
#                         transport), for guests without a real agent
# rogue_start N MODE      tests/tools/rogue-agent as guest N, advertised
# bridge_config           write $BT/bridge.cfg: channel=, socket_path= + stdin
# bridge_start [ARGS]     start the bridge (debug log $BT/bridge.log), wait for
#                         its socket; $BRIDGE_PID
# bridge_stop [SIG]       signal (TERM) and wait; returns its exit status
# nrpe_start [KEY=VALUE...]  the bridge with its NRPE listener on
#                         ${NRPE_ADDRESS:-127.0.0.1}:$PORT (a free port)
# cx ARGS...              check_xenvchan -s $BT/bridge.sock ARGS
# xvc ARGS...             tests/tools-less Python client of the local socket
#                         (see $BT/xvc.py: plain, XV, latency)
# bridge_teardown         stop everything this test started (by PID), print
#                         logs if the test failed, remove $BT

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load 'xsemu-helper'

BRIDGE=${BRIDGE:-$XV_BIN/xenvchan-bridge}
AGENT=${AGENT:-$XV_BIN/xenvchan-agent}
CHECK=${CHECK:-$XV_BIN/check_xenvchan}
ROGUE=${ROGUE:-$XV_BUILD/tests/tools/rogue-agent}
PLUGINS=/usr/lib/nagios/plugins

bridge_setup() {
	BT=$(mktemp -d /tmp/xvbr.XXXXXX)
	chmod 755 "$BT"
	mkdir -p "$BT/ch" "$BT/probes"
	cp "$XV_TOP"/tests/fixtures/probes/*.sh "$BT/probes/"
	chmod 755 "$BT"/probes/*.sh
	chmod -R a+rX "$BT/probes"
	declare -gA AGENT_PIDS=()
	ROGUE_PIDS=()
	BRIDGE_PID=
	xsemu_start
	bridge_config </dev/null
	bridge_write_client
}

guest_add() {
	xsemu_domain_create "$1" "$2"
}

guest_agent() {
	local n=$1
	shift
	{
		echo "channel=socket:$BT/ch"
		cat
	} >"$BT/agent-$n.cfg"
	guest_agent_start "$n" "$@"
}

# how many times agent $1 logged its start (0 without a log yet)
agent_starts() {
	local c
	c=$(grep -c "started: domid" "$BT/agent-$1.log" 2>/dev/null) || true
	echo "${c:-0}"
}

guest_agent_start() {
	local n=$1 i started
	shift
	started=$(agent_starts "$n")
	env $(xsemu_guest_env "$n") ${AGENT_WRAPPER:-} "$AGENT" -c "$BT/agent-$n.cfg" -f -v "$@" \
		>>"$BT/agent-$n.log" 2>&1 3>&- &
	AGENT_PIDS[$n]=$!
	# the agent logs "started" once it advertises and listens (a client may
	# take the socket file away at once)
	for i in $(seq 1 200); do
		[ "$(agent_starts "$n")" -gt "$started" ] &&
			return 0
		kill -0 "${AGENT_PIDS[$n]}" 2>/dev/null || break
		sleep 0.05
	done
	echo "agent $n did not start:" >&2
	cat "$BT/agent-$n.log" >&2
	return 1
}

guest_agent_stop() {
	local pid=${AGENT_PIDS[$1]:-} rc=0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" || rc=$?
	AGENT_PIDS[$1]=
	return $rc
}

guest_advert() {
	xsemu_as "$1" xenstore-write data/guest/probes/protocol "$2" \
		data/guest/probes/versions "$3" data/guest/probes/transport "$4"
}

rogue_start() {
	local n=$1 mode=$2 i
	"$ROGUE" -C "socket:$BT/ch" -d "$n" -m "$mode" >>"$BT/rogue-$n.log" 2>&1 3>&- &
	ROGUE_PIDS+=($!)
	for i in $(seq 1 100); do
		[ -S "$BT/ch/$n-data.guest.probes.vchan" ] && break
		sleep 0.05
	done
	guest_advert "$n" xenvchan-nrpe 1 socket
}

bridge_config() {
	{
		echo "channel=socket:$BT/ch"
		echo "socket_path=$BT/bridge.sock"
		cat
	} >"$BT/bridge.cfg"
}

bridge_start() {
	local i started
	# the log is appended to: wait for one more "started" line than now
	started=$(grep -c "started:" "$BT/bridge.log" 2>/dev/null || true)
	${BRIDGE_WRAPPER:-} "$BRIDGE" -c "$BT/bridge.cfg" -f -v "$@" >>"$BT/bridge.log" 2>&1 3>&- &
	BRIDGE_PID=$!
	for i in $(seq 1 200); do
		[ "$(grep -c "started:" "$BT/bridge.log" 2>/dev/null || true)" -gt "${started:-0}" ] &&
			[ -S "$BT/bridge.sock" ] && return 0
		kill -0 "$BRIDGE_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "bridge did not start:" >&2
	cat "$BT/bridge.log" >&2
	return 1
}

bridge_stop() {
	local rc=0 sig=${1:-TERM}
	[ -n "${BRIDGE_PID:-}" ] || return 0
	kill -"$sig" "$BRIDGE_PID" 2>/dev/null
	wait "$BRIDGE_PID" || rc=$?
	BRIDGE_PID=
	return $rc
}

# A port nobody listens on now (the kernel's choice).
nrpe_free_port() {
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "${NRPE_ADDRESS:-127.0.0.1}"
}

# nrpe_start [KEY=VALUE...]: the bridge with its listener on
# ${NRPE_ADDRESS:-127.0.0.1}:$PORT and the given extra configuration lines.
# Another process may take the port between the choice and the bind: then
# try another one.
nrpe_start() {
	local try
	# a fresh log: bridge_start waits for its "started:" line
	[ -s "$BT/bridge.log" ] && mv "$BT/bridge.log" "$BT/bridge.log.$(date +%s%N)"
	for try in 1 2 3; do
		PORT=$(nrpe_free_port)
		{
			echo "nrpe_listen=1"
			echo "nrpe_address=${NRPE_ADDRESS:-127.0.0.1}"
			echo "nrpe_port=$PORT"
			printf '%s\n' "$@"
		} | bridge_config
		bridge_start 2>"$BT/start.err" && return 0
		grep -q "Address already in use" "$BT/bridge.log" || break
		: >"$BT/bridge.log"
	done
	cat "$BT/start.err" >&2
	return 1
}

cx() {
	"$CHECK" -s "$BT/bridge.sock" "$@"
}

xvc() {
	python3 "$BT/xvc.py" "$BT/bridge.sock" "$@"
}

# Milliseconds since the epoch, for coarse timing.
# spans_dir: $BT/spans, where probes/span.sh (run as the probe user) writes
# when each run started and ended
spans_dir() {
	mkdir -p "$BT/spans"
	chmod 1777 "$BT/spans"
}

# spans_max_at_once: the most span.sh runs under way at one time
spans_max_at_once() {
	cat "$BT"/spans/span.* | awk '{ print $1, 1; print $2, -1 }' | sort -k1,1n -k2,2n |
		awk '{ n += $2; if (n > m) m = n } END { print m + 0 }'
}

now_ms() {
	date +%s%3N
}

bridge_teardown() {
	local pid n i rc=0
	if [ -n "${BRIDGE_PID:-}" ]; then
		# a clean stop, so that a sanitizer build reports leaks at exit
		kill -TERM "$BRIDGE_PID" 2>/dev/null
		for i in $(seq 50); do kill -0 "$BRIDGE_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$BRIDGE_PID" 2>/dev/null
		wait "$BRIDGE_PID" 2>/dev/null
	fi
	if [ -n "${BT:-}" ] && grep -Eq "ERROR: (Address|Leak)Sanitizer|runtime error:" "$BT/bridge.log" 2>/dev/null; then
		echo "# ---- the bridge hit a sanitizer error:" >&3
		grep -E -A30 "ERROR: (Address|Leak)Sanitizer|runtime error:" "$BT/bridge.log" | sed "s/^/# /" >&3
		rc=1
	fi
	for pid in "${ROGUE_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for n in "${!AGENT_PIDS[@]}"; do
		pid=${AGENT_PIDS[$n]}
		[ -n "$pid" ] && { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
	done
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${BT:-}" ]; then
		echo "# ---- bridge log" >&3
		tail -40 "$BT/bridge.log" 2>/dev/null | sed "s/^/# /" >&3
		for f in "$BT"/agent-*.log "$BT"/rogue-*.log; do
			[ -e "$f" ] || continue
			echo "# ---- $(basename "$f")" >&3
			tail -10 "$f" | sed "s/^/# /" >&3
		done
	fi
	xsemu_stop || rc=1
	[ -n "${BT:-}" ] && rm -rf "$BT"
	return $rc
}

# The Python client of the local socket (NRPE v4 and the XV extension).
bridge_write_client() {
	cat >"$BT/xvc.py" <<'PY'
"""xvc.py SOCKET MODE ...: a client of the bridge's local socket.
  plain Q...        pipelined v4 queries on one connection; "i rc text" in order
  xv Q...           HELLO + tagged queries; "id rc text" as answers come
  xvcancel S Q...   like xv, then CANCEL every id after S seconds
  latency N Q       N queries one after another, each on its own connection;
                    prints "p50 P p99 P max M" in milliseconds
  raw HEX           sends bytes, prints what comes back (hex) until close
  hammer S Q...     for S seconds: each Q as a tagged query on one connection,
                    asked again as soon as it is answered; prints the answers
"""
import socket, struct, sys, time, zlib

def frame(version, ptype, result, payload):
    h = struct.pack('>hhIhhi', version, ptype, 0, result, 0, len(payload))
    crc = zlib.crc32(h + payload) & 0xffffffff
    return struct.pack('>hhIhhi', version, ptype, crc, result, 0, len(payload)) + payload

def v4_query(text):
    b = text.encode('utf-8', 'surrogateescape') + b'\0'
    return frame(4, 1, 0, b.ljust(1020, b'\0'))

def read_frame(s, buf):
    while True:
        if len(buf) >= 16:
            n = struct.unpack('>i', buf[12:16])[0]
            if len(buf) >= 16 + n:
                f, rest = buf[:16 + n], buf[16 + n:]
                return f, rest
        d = s.recv(65536)
        if not d:
            raise EOFError('closed after %d bytes' % len(buf))
        buf += d

def text_of(f, off):
    """the text, one trailing newline dropped (as check_nrpe), others as \\n"""
    t = f[off:]
    t = t[:t.index(b'\0')]
    if t.endswith(b'\n'):
        t = t[:-1]
    return t.decode('utf-8', 'replace').replace('\n', '\\n')

def main():
    path, mode, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if mode == 'latency':
        n, q = int(args[0]), args[1]
        lat = []
        for _ in range(n):
            t0 = time.monotonic()
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.sendall(v4_query(q))
            f, _ = read_frame(s, b'')
            s.close()
            lat.append((time.monotonic() - t0) * 1000)
            rc = struct.unpack('>h', f[8:10])[0]
            if rc != 0:
                print('bad answer rc %d: %s' % (rc, text_of(f, 16)))
                sys.exit(1)
        lat.sort()
        print('p50 %.2f p99 %.2f max %.2f' % (lat[len(lat) // 2], lat[int(len(lat) * 0.99) - 1 if len(lat) >= 100 else -1], lat[-1]))
        return
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.settimeout(30)
    if mode == 'hammer':
        until, qs = time.monotonic() + float(args[0]), args[1:]
        s.sendall(frame(0x5856, 1, 0, struct.pack('>HHII', 1, 1, 1024, 65536) + b'xvc\0'))
        buf, answers, rid, which = b'', 0, 0, {}
        f, buf = read_frame(s, buf)
        def ask(i):
            nonlocal rid
            rid += 1
            which[rid] = i
            s.sendall(frame(0x5856, 3, 0, struct.pack('>I', rid) + qs[i].encode() + b'\0'))
        for i in range(len(qs)):
            ask(i)
        while time.monotonic() < until:
            f, buf = read_frame(s, buf)
            answers += 1
            ask(which.pop(struct.unpack('>I', f[16:20])[0]))
        print('answers', answers)
        return
    if mode == 'raw':
        s.sendall(bytes.fromhex(args[0]))
        out = b''
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                out += d
        except socket.timeout:
            pass
        print(out.hex())
        return
    if mode == 'plain':
        s.sendall(b''.join(v4_query(q) for q in args))
        buf = b''
        for i in range(len(args)):
            f, buf = read_frame(s, buf)
            print(i + 1, struct.unpack('>h', f[8:10])[0], text_of(f, 16))
        return
    cancel_after = None
    if mode == 'xvcancel':
        cancel_after, args = float(args[0]), args[1:]
    hello = struct.pack('>HHII', 1, 1, 1024, 65536) + b'xvc\0'
    out = frame(0x5856, 1, 0, hello)
    for i, q in enumerate(args):
        out += frame(0x5856, 3, 0, struct.pack('>I', i + 1) + q.encode() + b'\0')
    s.sendall(out)
    buf, got, t0, cancelled = b'', 0, time.monotonic(), False
    f, buf = read_frame(s, buf)
    if struct.unpack('>h', f[2:4])[0] != 2:
        print('no HELLO_ACK: type %d %s' % (struct.unpack('>h', f[2:4])[0], text_of(f, 20)))
        sys.exit(1)
    while got < len(args):
        if cancel_after is not None and not cancelled:
            s.settimeout(max(0.01, cancel_after - (time.monotonic() - t0)))
        try:
            f, buf = read_frame(s, buf)
        except socket.timeout:
            s.settimeout(30)
            s.sendall(b''.join(frame(0x5856, 5, 0, struct.pack('>I', i + 1)) for i in range(len(args))))
            cancelled = True
            continue
        ptype = struct.unpack('>h', f[2:4])[0]
        rid = struct.unpack('>I', f[16:20])[0]
        if ptype == 8:
            print(rid, 'ERROR', text_of(f, 20))
        else:
            print(rid, struct.unpack('>h', f[8:10])[0], text_of(f, 20))
        sys.stdout.flush()
        got += 1

main()
PY
}
