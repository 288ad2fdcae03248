# SPDX-License-Identifier: GPL-2.0-or-later
# xsemu-helper.bash: run the xenstored emulator (tests/xsemu/xenstored-emu)
# from a bats test.  Each test gets its own emulator, in its own directory,
# and stops it in teardown whether it passed or failed:
#
#   load 'xsemu-helper'
#   setup()    { xsemu_start --domain 1:guest1; }   # or start it in the test
#   teardown() { xsemu_stop; }
#
#   @test "a guest writes its data" {
#       xsemu_as 1 xenstore-write data/x 1
#       [ "$(xenstore-read /local/domain/1/data/x)" = 1 ]   # as dom0
#   }
#
# Functions:
#   xsemu_start [ARGS...]      start an emulator (extra ARGS go to
#                              xenstored-emu, e.g. --domain N:NAME, -Q
#                              nodes=50) in a fresh directory; returns once
#                              its dom0 socket accepts connections.  Exports
#                              XSEMU_DIR, XSEMU_PID and XENSTORED_PATH (the
#                              dom0 socket), so xenstore-* and libxenstore
#                              programs run by the test are dom0.
#   xsemu_domain_create N NAME [--vif ID[:MAC]]...
#                              create domain N as libxl would (tree, perms,
#                              INTRODUCE): its socket appears and
#                              @introduceDomain fires.
#   xsemu_domain_destroy N     remove domain N's tree and RELEASE it: its
#                              connections close, its socket goes away and
#                              @releaseDomain fires.
#   xsemu_guest_env N          print the environment of a program acting as
#                              guest N (XENSTORED_PATH=...), for env(1).
#   xsemu_guest_socket N       print guest N's socket path.
#   xsemu_as N CMD [ARGS...]   run CMD as guest N (works with `run`).
#   xsemu_stop                 stop the emulator (SIGTERM by PID, wait, then
#                              SIGKILL); safe to call twice or when
#                              xsemu_start failed.  Fails if the emulator
#                              wrote a Python traceback (a crashed request).
#   xsemu_alive PID            true if the process runs (not gone, not a
#                              zombie waiting to be reaped).
#
# Variables: XSEMU (the emulator script), XSTOOL (build/tests/tools/xstool,
# the libxenstore test client), XSEMU_LOG=0 to not log every request to
# $XSEMU_DIR/requests.log (kept by default: bats shows nothing of it unless
# you cat it, and it explains most failures).
#
# Socket layout: $XSEMU_DIR/socket is dom0 (privileged);
# $XSEMU_DIR/domain/N is guest N, every connection on it is domain N.

XSEMU=${XSEMU:-${XV_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/xsemu/xenstored-emu}
XSTOOL=${XSTOOL:-${XV_BUILD:-${XV_TOP:-.}/build}/tests/tools/xstool}
XSEMU_STOP_TIMEOUT=50	# tenths of a second

xsemu_start() {
	local dir
	[ -z "${_xsemu_pid:-}" ] || xsemu_stop || true
	# sockaddr_un paths are limited to 107 bytes: keep the run dir short
	if [ -n "${BATS_TEST_TMPDIR:-}" ] && [ ${#BATS_TEST_TMPDIR} -le 60 ]; then
		dir=$BATS_TEST_TMPDIR/xsemu
		mkdir -p "$dir" || return 1
		XSEMU_OWN_DIR=
	else
		dir=$(mktemp -d "${TMPDIR:-/tmp}/xsemu.XXXXXX") || return 1
		XSEMU_OWN_DIR=$dir
	fi
	XSEMU_DIR=$dir
	export XSEMU_DIR
	local log=()
	[ "${XSEMU_LOG:-1}" = 0 ] || log=(--log "$dir/requests.log")
	# --daemon returns once the sockets accept; 3>&- keeps bats from
	# waiting for the daemon to close its output pipe
	if ! "$XSEMU" --dir "$dir" --daemon --pid-file "$dir/pid" "${log[@]}" \
		"$@" >"$dir/start.out" 2>&1 3>&-; then
		echo "xsemu_start: xenstored-emu failed:" >&2
		cat "$dir/start.out" "$dir/xenstored-emu.err" >&2 2>/dev/null
		return 1
	fi
	XSEMU_PID=$(cat "$dir/pid") || return 1
	_xsemu_pid=$XSEMU_PID
	export XSEMU_PID
	export XENSTORED_PATH=$dir/socket
	unset XENSTORED_RUNDIR
	[ -S "$XENSTORED_PATH" ] && [ -e "$dir/ready" ]
}

xsemu_domain_create() {
	"$XSEMU" --dir "$XSEMU_DIR" domain-create "$@"
}

xsemu_domain_destroy() {
	"$XSEMU" --dir "$XSEMU_DIR" domain-destroy "$@"
}

xsemu_guest_socket() {
	echo "$XSEMU_DIR/domain/$1"
}

xsemu_guest_env() {
	echo "XENSTORED_PATH=$XSEMU_DIR/domain/$1"
}

xsemu_as() {
	local domid=$1
	shift
	XENSTORED_PATH="$XSEMU_DIR/domain/$domid" "$@"
}

# True if process $1 exists and has not exited: a daemon's exited process
# stays a zombie until init reaps it, which can take seconds.
xsemu_alive() {
	local stat
	[ -n "$1" ] && stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# True if pid is a running xenstored-emu (guards against pid reuse).
xsemu_is_emu() {
	xsemu_alive "$1" &&
		tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q xenstored-emu
}

xsemu_stop() {
	# only ever the emulator this test started (never an inherited
	# XSEMU_PID): _xsemu_pid is set by xsemu_start and not exported
	local pid=${_xsemu_pid:-} i rc=0
	if xsemu_is_emu "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		# identity checked once: an exiting process loses its cmdline
		# before it is gone
		for ((i = 0; i < XSEMU_STOP_TIMEOUT * 10; i++)); do
			xsemu_alive "$pid" || break
			sleep 0.01
		done
		if xsemu_is_emu "$pid"; then
			echo "xsemu_stop: $pid ignored SIGTERM, killing it" >&2
			kill -KILL "$pid" 2>/dev/null
			rc=1
		fi
	fi
	if [ -n "$pid" ] && [ -s "$XSEMU_DIR/xenstored-emu.err" ] &&
		grep -q Traceback "$XSEMU_DIR/xenstored-emu.err"; then
		echo "xsemu_stop: the emulator failed a request:" >&2
		cat "$XSEMU_DIR/xenstored-emu.err" >&2
		rc=1
	fi
	if [ -n "${XSEMU_OWN_DIR:-}" ]; then
		rm -rf "$XSEMU_OWN_DIR"
	fi
	_xsemu_pid= XSEMU_PID= XSEMU_OWN_DIR=
	return $rc
}
