# SPDX-License-Identifier: GPL-2.0-or-later
# datatree-helper.bash: run the data tree publisher as emulated guest domain
# DT_DOMID, inside a network namespace and a UTS namespace of its own, for
# datatree.bats and inventory.bats.  Needs root (ip netns, mount).
#
#   load 'xsemu-helper'; load 'datatree-helper'
#   setup()    { dt_setup; }      # emulator + domain 5 "web01" + netns
#   teardown() { dt_teardown; }   # stops all of it, whatever happened
#
# The guest's network: eth0 (veth, vif 0, 10.5.0.2/24, MAC 00:16:3e:00:05:00)
# whose peer "peer0" (the backend end) stays in the namespace, and eth1
# (dummy, vif 1, 10.5.1.2/24; where the kernel has no dummy driver, a veth
# whose peer "peer1" stays in the namespace; DT_NICS counts the NICs).
# The vif ids come from a fake /sys/class/net with <if>/device/nodename
# files, bind-mounted over the real one for the publisher only;
# /etc/os-release is tests/fixtures/datatree/os-release-test the same way,
# and the hostname is "web01".
#
# The publisher is the real agent (xenvchan-agent -c CONFIG -f, channel
# socket:DIR) when it has the data tree built in and knows the publish_*
# keys, else the developer tool tests/tools/datatree-run; DT_RUNNER=agent
# or DT_RUNNER=tool forces one.  dt_runner prints which.
#
#   dt_start [--legacy] [--no-other] [--loopback] [--max-nodes N]
#                         start it; returns once agent/state is "running"
#   dt_stop [--remove]    SIGTERM (--remove: the tree is removed, tool only)
#   dt_read KEY           dom0's read of data/guest/KEY
#   dt_dump               xenstore-ls -f of the tree, as dom0
#   dt_wait TIMEOUT_MS CMD...   poll CMD every 10 ms; sets DT_ELAPSED_MS
#   dt_measure LABEL CMD...     DT_ELAPSED_MS since the caller's
#                         dt_mark, printed as "# LABEL: N ms" on fd 3
#   dt_ns CMD...          run CMD in the guest's network namespace
#   dt_settle             wait until no IPv6 address is tentative (DAD done:
#                         the kernel's last unprompted notifications)

DT_DOMID=${DT_DOMID:-5}
DT_NAME=${DT_NAME:-web01}
DT_MAC0=00:16:3e:00:05:00
DT_MAC1=00:16:3e:00:05:01
DT_START_TIMEOUT_MS=5000

dt_runner() {
	if [ -n "${DT_RUNNER:-}" ]; then
		echo "$DT_RUNNER"
		return
	fi
	local agent=$XV_BIN/xenvchan-agent cfg
	if [ -x "$agent" ] && nm "$agent" 2>/dev/null | grep -q ' T datatree_start$'; then
		cfg=$(mktemp)
		printf 'channel=socket:/tmp\npublish_legacy=0\npublish_other_nics=1\npublish_loopback=0\n' >"$cfg"
		if "$agent" -n -c "$cfg" >/dev/null 2>&1; then
			rm -f "$cfg"
			echo agent
			return
		fi
		rm -f "$cfg"
	fi
	echo tool
}

dt_ns() {
	ip netns exec "$DT_NS" "$@"
}

dt_setup_netns() {
	DT_NS=xvdt$$_${BATS_TEST_NUMBER:-0}
	ip netns add "$DT_NS" || return 1
	ip -n "$DT_NS" link set lo up
	ip -n "$DT_NS" link add eth0 type veth peer name peer0 || return 1
	ip -n "$DT_NS" link set eth0 address $DT_MAC0
	# no dummy driver in some kernels: a second veth (its peer up) looks
	# the same to the publisher, a MAC and a carrier included
	DT_NICS=3
	if ! ip -n "$DT_NS" link add eth1 type dummy 2>/dev/null; then
		ip -n "$DT_NS" link add eth1 type veth peer name peer1 || return 1
		ip -n "$DT_NS" link set peer1 up
		DT_NICS=4
	fi
	ip -n "$DT_NS" link set eth1 address $DT_MAC1
	ip -n "$DT_NS" addr add 10.5.0.2/24 dev eth0
	ip -n "$DT_NS" addr add 10.5.1.2/24 dev eth1
	ip -n "$DT_NS" link set peer0 up
	ip -n "$DT_NS" link set eth0 up
	ip -n "$DT_NS" link set eth1 up
	local i
	for i in 0 1; do
		mkdir -p "$DT_DIR/sys/eth$i/device"
		echo "device/vif/$i" >"$DT_DIR/sys/eth$i/device/nodename"
	done
	cp "$XV_TOP/tests/fixtures/datatree/os-release-test" "$DT_DIR/os-release"
}

dt_setup() {
	DT_DIR=$BATS_TEST_TMPDIR/dt
	mkdir -p "$DT_DIR/chan"
	xsemu_start "$@" || return 1
	xsemu_domain_create "$DT_DOMID" "$DT_NAME" --vif 0:$DT_MAC0 --vif 1:$DT_MAC1 || return 1
	dt_setup_netns
}

dt_teardown() {
	local rc=0
	dt_stop || rc=1
	if [ -n "${DT_NS:-}" ]; then
		ip netns del "$DT_NS" 2>/dev/null || true
	fi
	xsemu_stop || rc=1
	return $rc
}

dt_read() {
	xenstore-read "/local/domain/$DT_DOMID/data/guest/$1"
}

dt_dump() {
	xenstore-ls -f "/local/domain/$DT_DOMID/data/guest"
}

dt_now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

dt_wait() {
	local timeout=$1 t0 now
	shift
	t0=$(dt_now_ms)
	while :; do
		if "$@" >/dev/null 2>&1; then
			now=$(dt_now_ms)
			DT_ELAPSED_MS=$((now - t0))
			return 0
		fi
		now=$(dt_now_ms)
		if [ $((now - t0)) -gt "$timeout" ]; then
			DT_ELAPSED_MS=$((now - t0))
			return 1
		fi
		sleep 0.01
	done
}

dt_mark() {
	DT_T0=$(dt_now_ms)
}

# the time from dt_mark until CMD holds, printed for the log
dt_measure() {
	local label=$1 now
	shift
	if ! dt_wait 3000 "$@"; then
		echo "# $label: not visible after 3 s" >&3
		return 1
	fi
	now=$(dt_now_ms)
	DT_ELAPSED_MS=$((now - DT_T0))
	echo "# $label: visible in xenstore after $DT_ELAPSED_MS ms" >&3
	echo "$label $DT_ELAPSED_MS" >>"$DT_DIR/latencies"
}

# KEY has VALUE (as dom0 sees it)
dt_is() {
	[ "$(dt_read "$1" 2>/dev/null)" = "$2" ]
}

dt_absent() {
	! xenstore-exists "/local/domain/$DT_DOMID/data/guest/$1" 2>/dev/null
}

dt_start() {
	local legacy=0 other=1 loopback=0 max_nodes=0 args=() runner
	while [ $# -gt 0 ]; do
		case $1 in
		--legacy) legacy=1 ;;
		--no-other) other=0 ;;
		--loopback) loopback=1 ;;
		--max-nodes) max_nodes=$2; shift ;;
		*) echo "dt_start: unknown option $1" >&2; return 2 ;;
		esac
		shift
	done
	runner=$(dt_runner)
	DT_PIDFILE=$DT_DIR/runner.pid
	rm -f "$DT_PIDFILE"
	if [ "$runner" = agent ]; then
		{
			echo "channel=socket:$DT_DIR/chan"
			echo "publish_legacy=$legacy"
			echo "publish_other_nics=$other"
			echo "publish_loopback=$loopback"
			[ "$max_nodes" = 0 ] || echo "publish_max_nodes=$max_nodes"
		} >"$DT_DIR/agent.cfg"
		args=("$XV_BIN/xenvchan-agent" -c "$DT_DIR/agent.cfg" -f -v -p "$DT_PIDFILE")
	else
		args=("$XV_BUILD/tests/tools/datatree-run" -d -p "$DT_PIDFILE")
		[ $legacy = 0 ] || args+=(-L)
		[ $other = 1 ] || args+=(-O)
		[ $loopback = 0 ] || args+=(-l)
		[ "$max_nodes" = 0 ] || args+=(-m "$max_nodes")
	fi
	# a UTS namespace for the hostname, the fake sysfs and os-release
	# bind-mounted in the mount namespace ip netns exec made
	ip netns exec "$DT_NS" unshare --uts sh -c '
		hostname "$1" &&
		mount --bind "$2" /sys/class/net &&
		mount --bind "$3" /etc/os-release || exit 99
		shift 3
		exec env "$@"' sh "$DT_NAME" "$DT_DIR/sys" "$DT_DIR/os-release" \
		"$(xsemu_guest_env "$DT_DOMID")" "${args[@]}" \
		>>"$DT_DIR/runner.out" 2>>"$DT_DIR/runner.err" 3>&- &
	DT_BGPID=$!
	if ! dt_wait $DT_START_TIMEOUT_MS test -s "$DT_PIDFILE" ||
		! dt_wait $DT_START_TIMEOUT_MS dt_is agent/state running; then
		echo "dt_start: $runner did not start:" >&2
		cat "$DT_DIR/runner.err" >&2
		return 1
	fi
	DT_PID=$(cat "$DT_PIDFILE")
}

dt_stop() {
	local pid=${DT_PID:-} i
	[ -n "$pid" ] || return 0
	if [ "${1:-}" = --remove ]; then
		kill -INT "$pid" 2>/dev/null
	else
		kill -TERM "$pid" 2>/dev/null
	fi
	for ((i = 0; i < 500; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "${DT_BGPID:-}" 2>/dev/null || true
	DT_PID=
	# under ASan/UBSan (make asan) a report fails the test
	if grep -E -q 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$DT_DIR/runner.err" 2>/dev/null; then
		echo "dt_stop: sanitizer report from the publisher:" >&2
		grep -E -A20 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$DT_DIR/runner.err" >&2
		return 1
	fi
}

dt_no_tentative() {
	[ -z "$(ip -n "$DT_NS" -6 addr show tentative)" ]
}

dt_settle() {
	dt_wait 10000 dt_no_tentative
	sleep 0.5
}

# Count the hostname changes anywhere on the machine (any UTS namespace:
# the kernel's notification is global, so the publisher wakes for them
# too) during SECONDS; prints the count.
dt_hostname_events() {
	python3 -c '
import os, select, sys, time
fd = os.open("/proc/sys/kernel/hostname", os.O_RDONLY)
ep = select.epoll()
ep.register(fd, select.EPOLLPRI)
end, n = time.monotonic() + float(sys.argv[1]), 0
while time.monotonic() < end:
    n += len(ep.poll(max(0.0, end - time.monotonic())))
print(n)' "$1"
}

# voluntary + involuntary context switches of every thread of PID
dt_ctxt_switches() {
	local pid=$1 n=0 t v
	for t in /proc/"$pid"/task/*/status; do
		while read -r k v; do
			case $k in
			voluntary_ctxt_switches: | nonvoluntary_ctxt_switches:) n=$((n + v)) ;;
			esac
		done <"$t"
	done
	echo "$n"
}
