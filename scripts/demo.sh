#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# scripts/demo.sh - what `make demo` runs: the whole of xenvchan-nrpe on this
# machine, without Xen.
#
#   a xenstored emulator      stands in for Xen's xenstore
#   xenvchan-agent            as guest "web01" (domid 5), with the default
#                             probe catalogue (probes/default.cfg)
#   xenvchan-bridge           its local socket for check_xenvchan, and its
#                             NRPE listener (plain, loopback, a free port)
#
# then runs the catalogue with check_xenvchan and a few checks with Debian's
# check_nrpe, and shows what the agent published about the guest.  The
# agent and the bridge talk over a Unix socket directory instead of a vchan:
# the same programs, only the channel differs.
#
# Everything lives in one temporary directory, removed at the end; every
# process started here is stopped, also on Ctrl-C.  Works as root (the agent
# then runs its probes as 'nobody') and as a normal user.
#
# Env: O (build directory, default build), XV_DEMO_KEEP=1 keeps the
# temporary directory and its logs.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
case $O in /*) ;; *) O=$top/$O ;; esac
BIN=$O/bin
PLUGINS=/usr/lib/nagios/plugins
XSEMU=$top/tests/xsemu/xenstored-emu
AGENT=${AGENT:-$BIN/xenvchan-agent}
BRIDGE=${BRIDGE:-$BIN/xenvchan-bridge}
CHECK=$BIN/check_xenvchan
INVENTORY=$BIN/xenvchan-inventory
CHECK_NRPE=$PLUGINS/check_nrpe
GUEST=web01
DOMID=5
WAIT_TENTHS=100 # how long each start may take, in tenths of a second

if [ -t 1 ]; then
	B=$'\033[1m' N=$'\033[0m'
else
	B= N=
fi

say() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
note() { printf '   %s\n' "$*"; }
fail() {
	printf '\n%sdemo failed: %s%s\n' "$B" "$*" "$N" >&2
	exit 1
}

for f in "$AGENT" "$BRIDGE" "$CHECK" "$BIN/check_mem"; do
	[ -x "$f" ] || fail "$f is missing: run 'make' first (make demo does)"
done
[ -x "$CHECK_NRPE" ] || fail "$CHECK_NRPE is missing (Debian package nagios-nrpe-plugin)"
command -v python3 >/dev/null || fail "python3 is missing (it runs the xenstored emulator)"

# ---- cleanup, whatever happens -------------------------------------------------
D=
AGENT_PID=
BRIDGE_PID=
XS_PID=

stop_pid() { # PID NAME: SIGTERM, wait up to 5 s, then SIGKILL
	local pid=$1 i
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		note "$2 did not stop on SIGTERM: killing it"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

cleanup() {
	trap - EXIT INT TERM
	if [ -n "$BRIDGE_PID$AGENT_PID$XS_PID" ]; then
		say "Stopping everything this demo started"
	fi
	[ -z "$BRIDGE_PID" ] || { stop_pid "$BRIDGE_PID" bridge && note "bridge stopped"; }
	[ -z "$AGENT_PID" ] || { stop_pid "$AGENT_PID" agent && note "agent stopped"; }
	if [ -n "$XS_PID" ] && tr '\0' ' ' <"/proc/$XS_PID/cmdline" 2>/dev/null | grep -q xenstored-emu; then
		stop_pid "$XS_PID" "xenstored emulator"
		note "xenstored emulator stopped"
	fi
	if [ -n "$D" ] && [ -d "$D" ]; then
		if [ "${XV_DEMO_KEEP:-0}" = 1 ]; then
			note "kept $D (logs: $D/*.log)"
		else
			rm -rf "$D"
			note "removed $D"
		fi
	fi
}
trap cleanup EXIT
trap 'printf "\ninterrupted\n"; exit 130' INT TERM

show_log() { # FILE: its last lines, when something did not start
	echo "---- last lines of $(basename "$1"):" >&2
	tail -20 "$1" >&2 2>/dev/null
}

# wait_for TEST-COMMAND... : until it succeeds, up to WAIT_TENTHS
wait_for() {
	local i
	for ((i = 0; i < WAIT_TENTHS; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

state_name() {
	case $1 in
	0) echo OK ;; 1) echo WARNING ;; 2) echo CRITICAL ;; 3) echo UNKNOWN ;; *) echo "exit $1" ;;
	esac
}

# ---- 1. a place for everything -------------------------------------------------
D=$(mktemp -d /tmp/xvdemo.XXXXXX) || fail "cannot create a temporary directory"
# world-readable: as root, the probes run as 'nobody' and must reach check_mem
chmod 755 "$D"
mkdir -p "$D/xs" "$D/ch" "$D/probes"
cp "$BIN/check_mem" "$D/probes/check_mem"
chmod 755 "$D/probes/check_mem"
cp "$top/probes/default.cfg" "$D/default.cfg"
chmod 644 "$D/default.cfg"

say "xenvchan-nrpe demo: Nagios checks inside a Xen guest, without a guest network"
note "Real Xen is not needed here: an emulator plays xenstore, and a Unix socket"
note "directory plays the vchan (shared memory) between dom0 and the guest."
note "Temporary directory: $D"

# ---- 2. xenstore ----------------------------------------------------------------
say "Starting the xenstored emulator, with one guest domain: $GUEST (domid $DOMID)"
"$XSEMU" --dir "$D/xs" --daemon --pid-file "$D/xs/pid" --domain "$DOMID:$GUEST" \
	>"$D/xenstored.log" 2>&1 || { show_log "$D/xenstored.log"; fail "the emulator did not start"; }
XS_PID=$(cat "$D/xs/pid")
note "dom0 programs reach it through XENSTORED_PATH=$D/xs/socket,"
note "the guest's agent through its own socket, $D/xs/domain/$DOMID."
export XENSTORED_PATH=$D/xs/socket

# ---- 3. the agent in the guest ----------------------------------------------------
say "Starting xenvchan-agent as the guest's agent"
cat >"$D/agent.cfg" <<EOF
# what a guest's /etc/xenvchan/agent.cfg could say
channel=socket:$D/ch
include=$D/default.cfg
# check_mem is this project's own probe; here it runs from the build
command[check_mem]=$D/probes/check_mem -w 10% -c 5%
EOF
chmod 644 "$D/agent.cfg"
XENSTORED_PATH=$D/xs/domain/$DOMID "$AGENT" -c "$D/agent.cfg" -f >"$D/agent.log" 2>&1 &
AGENT_PID=$!
wait_for grep -qs "started: domid" "$D/agent.log" || { show_log "$D/agent.log"; fail "the agent did not start"; }
note "$(sed -n 's/.*\(started: .*\)/\1/p' "$D/agent.log" | head -1)"
if [ "$(id -u)" = 0 ]; then
	note "(running as root: the probes run as 'nobody', as in a real guest)"
fi
note "Probe catalogue: probes/default.cfg, the standard monitoring-plugins checks."

# ---- 4. the bridge in dom0 ---------------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
say "Starting xenvchan-bridge (dom0): local socket + NRPE listener on 127.0.0.1:$PORT"
cat >"$D/bridge.cfg" <<EOF
channel=socket:$D/ch
socket_path=$D/bridge.sock
# the NRPE listener, for unmodified check_nrpe clients; plain NRPE on
# loopback for the demo (a real set-up uses TLS with certificates)
nrpe_listen=1
nrpe_address=127.0.0.1
nrpe_port=$PORT
nrpe_tls=0
EOF
"$BRIDGE" -c "$D/bridge.cfg" -f >"$D/bridge.log" 2>&1 &
BRIDGE_PID=$!
bridge_up() { grep -qs "started:" "$D/bridge.log" && [ -S "$D/bridge.sock" ]; }
wait_for bridge_up || { show_log "$D/bridge.log"; fail "the bridge did not start"; }
note "It found the guest in xenstore and reaches its agent over the channel."

# ---- 5. the catalogue through check_xenvchan ----------------------------------------
say "The whole catalogue through check_xenvchan (what Nagios or Icinga on dom0 runs)"
note "\$ check_xenvchan -s $D/bridge.sock -H $GUEST -c COMMAND"
echo
printf '   %-20s %-9s %s\n' COMMAND STATE "OUTPUT (first line)"
for cmd in $(sed -n 's/^command\[\([^]]*\)\].*/\1/p' "$D/default.cfg"); do
	out=$("$CHECK" -s "$D/bridge.sock" -H "$GUEST" -c "$cmd" -t 60 2>&1)
	rc=$?
	printf '   %-20s %-9s %.90s\n' "$cmd" "$(state_name $rc)" "$(head -1 <<<"$out")"
done
echo
note "WARNING or CRITICAL above is this machine's real state (a busy disk, pending"
note "updates...): the probes ran for real, inside the 'guest'."

# ---- 6. check_nrpe -------------------------------------------------------------------
say "The same guest through Debian's unmodified check_nrpe and the bridge's NRPE listener"
note "The guest is named in the command: check_nrpe -H dom0 -c GUEST/COMMAND"
nrpe() {
	local out rc
	printf '\n   $ check_nrpe -H 127.0.0.1 -p %s %s\n' "$PORT" "$*"
	out=$("$CHECK_NRPE" -H 127.0.0.1 -p "$PORT" "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | head -3 | sed 's/^/     /'
	printf '     -> exit %d (%s)\n' "$rc" "$(state_name $rc)"
}
nrpe -n
note "  (no command: the bridge's own version, as nrpe answers _NRPE_CHECK)"
nrpe -n -c "$GUEST/_NRPE_CHECK"
note "  (the version of the agent in the guest)"
nrpe -n -c "$GUEST/check_load"
nrpe -n -2 -c "$GUEST/check_mem"
note "  (-2: NRPE's older v2 packets work too)"
nrpe -n -c "$DOMID/check_users"
note "  (a guest can also be named by its domid)"
nrpe -n -c "$GUEST/check_foo"
note "  (a command the agent does not define: UNKNOWN, with the reason)"
nrpe -n -c "db02/check_load"
note "  (a guest that does not exist)"

# ---- 7. what the guest published -------------------------------------------------
say "What the agent published about the guest in xenstore"
if [ -x "$INVENTORY" ]; then
	note "\$ xenvchan-inventory"
	"$INVENTORY" 2>&1 | sed 's/^/     /'
else
	note "(xenvchan-inventory is not built)"
fi
if command -v xenstore-ls >/dev/null; then
	echo
	note "The raw data tree under /local/domain/$DOMID/data/guest (docs/DATA-TREE.md), in part:"
	for sub in os agent; do
		note "\$ xenstore-ls /local/domain/$DOMID/data/guest/$sub"
		xenstore-ls "/local/domain/$DOMID/data/guest/$sub" 2>&1 | head -12 | sed 's/^/     /'
	done
fi

say "Done"
note "Logs of this run: $D/{agent,bridge,xenstored}.log, removed now (XV_DEMO_KEEP=1 keeps them)."
note "Next: README.md (installing on real Xen), docs/man/, contrib/nagios/."
exit 0
