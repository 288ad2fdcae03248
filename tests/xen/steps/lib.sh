# SPDX-License-Identifier: GPL-2.0-or-later
# tests/xen/steps/lib.sh - helpers for the scenario scripts; sourced by dom0's
# /init (busybox sh).  Each check prints its output on the console, every line
# prefixed "| ", between two marker lines:
#     @@RUN <name>: <command>
#     @@STEP <name> PASS|FAIL (<seconds> s) <detail>
# check-xen.sh collects the @@STEP lines from the serial log and shows the
# output of failed steps.  Every helper here is bounded in time.
#
# Cost model (PV dom0 under QEMU TCG, often on a loaded host): starting a
# dynamically linked program (xenstore-read, check_xenvchan) costs tens to
# hundreds of milliseconds, a busybox applet a few, a shell builtin nothing.
# So: clocks and parsing with builtins, waits on xenstore watches instead of
# polling loops of xenstore-read (which would also steal the CPU the domUs
# need).

XT_OUT=/tmp/xt-step.out
XT_ABORTED=     # name of the failed gate: later steps are reported skipped
XT_FAILED=0     # number of failed steps

# ---- clocks: the uptime in centiseconds, with builtins only
xt_now() {	# sets XT_NOW
	local u
	read -r u _ </proc/uptime
	XT_NOW=$((${u%.*} * 100 + 1${u#*.} - 100))
}
xt_fmt() {	# CENTISECONDS -> "12.34"
	printf '%d.%02d' $(($1 / 100)) $(($1 % 100))
}
xt_uptime() {
	xt_now
	xt_fmt $XT_NOW
}
xt_elapsed() {	# T0 (centiseconds) -> sets XT_EL (centiseconds since T0)
	xt_now
	XT_EL=$((XT_NOW - $1))
}

xt_mark() {
	echo "@@MARK $* uptime=$(xt_uptime)"
}

# A set-up failure before any step could run: say so and stop the machine
# (check-xen.sh then reports every step as missing).
xt_fatal() {
	echo "@@FATAL $*"
	poweroff -f
	sleep 10
	exit 1
}

xt_run() {	# gate|step NAME COMMAND...
	local kind=$1 name=$2 rc last= line t0
	shift 2
	if [ -n "$XT_ABORTED" ]; then
		echo "@@STEP $name FAIL skipped: gate $XT_ABORTED failed"
		XT_FAILED=$((XT_FAILED + 1))
		return 1
	fi
	echo "@@RUN $name: $*"
	xt_now
	t0=$XT_NOW
	"$@" >"$XT_OUT" 2>&1
	rc=$?
	xt_elapsed $t0
	while IFS= read -r line; do
		echo "| $line"
		case $line in *[![:space:]]*) last=$line ;; esac
	done <"$XT_OUT"
	last=${last:0:160}
	if [ $rc -eq 0 ]; then
		echo "@@STEP $name PASS ($(xt_fmt $XT_EL) s) $last"
	else
		echo "@@STEP $name FAIL ($(xt_fmt $XT_EL) s) rc=$rc${last:+: $last}"
		XT_FAILED=$((XT_FAILED + 1))
		[ "$kind" = gate ] && XT_ABORTED=$name
	fi
	return $rc
}

# step NAME COMMAND...: run COMMAND, report PASS (exit 0) or FAIL
step() { xt_run step "$@"; }
# gate NAME COMMAND...: a step that later steps depend on
gate() { xt_run gate "$@"; }

# ---- waiting on xenstore without polling: a `xenstore-watch -n 2 KEY` in
# the background exits at the first change of KEY (or below it) after it is
# in place (xenstored fires every new watch once: its first line), and the
# shell blocks in `wait` meanwhile.  Checking the value only once the watch
# is in place leaves no gap for a change to slip through.
XT_WFILE=/tmp/xt-watch.events
XT_WPID=
xt_watch() {	# KEY SECONDS: start a watcher, return once it is in place
	local i=0 l n
	: >$XT_WFILE
	timeout "$2" xenstore-watch -n 2 "$1" >$XT_WFILE 2>&1 &
	XT_WPID=$!
	while :; do
		n=0
		while read -r l; do n=$((n + 1)); done <$XT_WFILE
		[ $n -ge 1 ] && return 0
		kill -0 $XT_WPID 2>/dev/null || { echo "xenstore-watch $1 failed"; return 1; }
		i=$((i + 1))
		[ $i -ge 200 ] && { echo "xenstore-watch $1: not in place after 10 s"; return 1; }
		sleep 0.05
	done
}
xt_unwatch() {
	[ -n "$XT_WPID" ] && { kill $XT_WPID 2>/dev/null; wait $XT_WPID 2>/dev/null; }
	XT_WPID=
}

# xt_until KEY SECONDS TEST...: until TEST (a command, with $XT_V = the value
# of KEY, empty and XT_VRC=1 when KEY does not exist) succeeds; re-reads KEY
# only when it changed.  Sets XT_EL (centiseconds waited).
xt_until() {
	local key=$1 secs=$2 t0 rc left
	shift 2
	xt_now
	t0=$XT_NOW
	while :; do
		xt_elapsed $t0
		left=$((secs - XT_EL / 100))
		[ $left -ge 1 ] || { rc=1; break; }
		xt_watch "$key" "$left" || { xt_unwatch; rc=1; break; }
		XT_V=$(xenstore-read "$key" 2>/dev/null)
		XT_VRC=$?
		if "$@"; then
			rc=0
			break
		fi
		wait $XT_WPID # the next change, or the time limit
		XT_WPID=
	done
	xt_unwatch
	xt_elapsed $t0
	return $rc
}
xt_v_is() { [ "$XT_VRC" = 0 ] && [ "$XT_V" = "$1" ]; }
xt_v_exists() { [ "$XT_VRC" = 0 ]; }

# wait_key KEY VALUE SECONDS: until xenstore KEY reads VALUE
wait_key() {
	if xt_until "$1" "$3" xt_v_is "$2"; then
		echo "$1 = $2 after $(xt_fmt $XT_EL) s"
		return 0
	fi
	echo "$1 = '$XT_V' after $3 s, wanted '$2'"
	return 1
}

# wait_exists KEY SECONDS: until xenstore KEY exists
wait_exists() {
	if xt_until "$1" "$2" xt_v_exists; then
		echo "$1 exists after $(xt_fmt $XT_EL) s"
		return 0
	fi
	echo "$1 does not exist after $2 s"
	return 1
}

# wait_line FILE REGEX SECONDS: until FILE has a matching line
wait_line() {
	local t0
	xt_now
	t0=$XT_NOW
	while :; do
		grep -E "$2" "$1" 2>/dev/null && return 0
		xt_elapsed $t0
		[ $XT_EL -ge $(($3 * 100)) ] && break
		sleep 0.2
	done
	cat "$1" 2>/dev/null
	echo "no line matching /$2/ in $1 after $3 s"
	return 1
}



# expect_out RC TEXT COMMAND...: COMMAND prints exactly TEXT on stdout (its
# stderr goes along, for the log) and exits with status RC
expect_out() {
	local want_rc=$1 want=$2 out rc
	shift 2
	out=$("$@")
	rc=$?
	echo "$out"
	if [ "$rc" != "$want_rc" ] || [ "$out" != "$want" ]; then
		echo "exit status $rc, wanted $want_rc; wanted output: $want"
		return 1
	fi
	echo "exit status $rc as expected"
}



# ---- talking to a domU's scenario loop (domu.sh): dom0 writes
# data/xt/cmd = "SEQ ACTION ARGS", the domU answers data/xt/ack =
# "SEQ RC T_SEEN T_DONE" (its own uptimes) and data/xt/out
XT_SEQ=0

# domu_send DOMPATH "ACTION ARGS": ask, do not wait
domu_send() {
	XT_SEQ=$((XT_SEQ + 1))
	xenstore-write "$1/data/xt/cmd" "$XT_SEQ $2"
}

xt_ack_is_ours() { [ "${XT_V%% *}" = "$XT_SEQ" ]; }

# domu_wait_ack DOMPATH SECONDS: until the domU answered the last request;
# prints its output, returns its status; XT_ACK holds the answer
domu_wait_ack() {
	if ! xt_until "$1/data/xt/ack" "$2" xt_ack_is_ours; then
		echo "the domU did not answer request $XT_SEQ within $2 s (last answer: '$XT_V')"
		return 1
	fi
	XT_ACK=$XT_V
	xenstore-read "$1/data/xt/out" 2>/dev/null
	set -- $XT_ACK
	[ "$2" = 0 ] || echo "the domU's action failed: status $2"
	return "$2"
}

# domu_cmd DOMPATH "ACTION ARGS" [SECONDS]: ask and wait for the answer
domu_cmd() {
	domu_send "$1" "$2" || return 1
	domu_wait_ack "$1" "${3:-30}"
}
