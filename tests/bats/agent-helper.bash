# SPDX-License-Identifier: GPL-2.0-or-later
# agent-helper.bash: run xenvchan-agent as emulated guest 5 from a bats test.
#
#   load 'agent-helper'
#   setup()    { agent_setup; }       # emulator + a test dir in $AT
#   teardown() { agent_teardown; }
#   @test "..." { agent_config <<<'command[x]=...'; agent_start; q x; }
#
# agent_setup            start the xenstored emulator with domain 5 (web01)
#                        and make $AT: a world-readable directory (probes run
#                        as 'nobody' when the tests run as root) holding the
#                        fixture probes in $AT/probes and the channel dir $AT/ch
# agent_config           write $AT/agent.cfg from stdin, after a channel= line
# agent_start [ARGS]     start the agent (foreground, debug log in $AT/agent.log)
#                        and wait until it listens; $AGENT_PID
# agent_stop             SIGTERM, wait; returns the agent's exit status
# q ARGS...              xvquery against the agent (sets $status/$output under run)
# agent_fds              number of open fds of the agent
# agent_teardown         stop everything, remove $AT (prints the agent log on failure)

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load 'xsemu-helper'

AGENT=${AGENT:-$XV_BIN/xenvchan-agent}
XVQUERY=${XVQUERY:-$XV_BUILD/tests/tools/xvquery}
AGENT_DOMID=5
AGENT_SOCKET_NAME=5-data.guest.probes.vchan

agent_setup() {
	AT=$(mktemp -d /tmp/xvagent.XXXXXX)
	chmod 755 "$AT"
	mkdir -p "$AT/ch" "$AT/probes"
	cp "$XV_TOP"/tests/fixtures/probes/*.sh "$AT/probes/"
	chmod 755 "$AT"/probes/*.sh
	chmod 644 "$AT/probes/not-executable.sh"
	chmod -R a+rX "$AT/probes"
	xsemu_start --domain "$AGENT_DOMID:web01"
}

agent_config() {
	{
		echo "channel=socket:$AT/ch"
		cat
	} >"$AT/agent.cfg"
}

agent_wait_listening() {
	local i tries=100
	[ -n "${AGENT_WRAPPER:-}" ] && tries=600	# valgrind starts slowly
	for i in $(seq 1 $tries); do
		[ -S "$AT/ch/$AGENT_SOCKET_NAME" ] && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

agent_start() {
	env $(xsemu_guest_env "$AGENT_DOMID") ${AGENT_WRAPPER:-} "$AGENT" -c "$AT/agent.cfg" -f -v "$@" \
		>>"$AT/agent.log" 2>&1 &
	AGENT_PID=$!
	agent_wait_listening || { sed "s/^/# /" "$AT/agent.log" >&3; return 1; }
}

agent_stop() {
	local rc=0
	[ -n "${AGENT_PID:-}" ] || return 0
	kill -TERM "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" || rc=$?
	AGENT_PID=
	return $rc
}

q() {
	"$XVQUERY" -C "socket:$AT/ch" -d "$AGENT_DOMID" "$@"
}

# agent_fds: the agent's open descriptors once it is idle (the count is
# read twice, 0.3 s apart, until two readings agree); the table goes to
# $AT/fds.N for a diagnosis when a test compares counts
agent_fds() {
	local a b n=0
	b=$(ls "/proc/$AGENT_PID/fd" | wc -l)
	while :; do
		sleep 0.3
		a=$b
		b=$(ls "/proc/$AGENT_PID/fd" | wc -l)
		n=$((n + 1))
		{ [ "$a" = "$b" ] || [ $n -ge 20 ]; } && break
	done
	ls -l "/proc/$AGENT_PID/fd" >"$AT/fds.$b.$n" 2>&1
	echo "$b"
}

agent_teardown() {
	if [ -n "${AGENT_PID:-}" ]; then
		kill -KILL "$AGENT_PID" 2>/dev/null
		wait "$AGENT_PID" 2>/dev/null
	fi
	if [ -n "${BATS_TEST_COMPLETED:-}" ] || [ -z "${AT:-}" ]; then :; else
		echo "# ---- agent log" >&3
		tail -40 "$AT/agent.log" 2>/dev/null | sed "s/^/# /" >&3
	fi
	xsemu_stop
	[ -n "${AT:-}" ] && rm -rf "$AT"
}
