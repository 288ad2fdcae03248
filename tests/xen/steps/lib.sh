# tests/xen/steps/lib.sh - helpers for the scenario scripts; sourced by dom0's
# /init (busybox sh).  Each check prints its output on the console, every line
# prefixed "| ", between two marker lines:
#     @@RUN <name>: <command>
#     @@STEP <name> PASS|FAIL <detail>
# check-xen.sh collects the @@STEP lines from the serial log and shows the
# output of failed steps.  Every helper here is bounded in time.

XT_OUT=/tmp/xt-step.out
XT_ABORTED=     # name of the failed gate: later steps are reported skipped
XT_FAILED=0     # number of failed steps

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
	local kind=$1 name=$2 rc last
	shift 2
	if [ -n "$XT_ABORTED" ]; then
		echo "@@STEP $name FAIL skipped: gate $XT_ABORTED failed"
		XT_FAILED=$((XT_FAILED + 1))
		return 1
	fi
	echo "@@RUN $name: $*"
	"$@" >"$XT_OUT" 2>&1
	rc=$?
	sed 's/^/| /' "$XT_OUT"
	last=$(grep -v '^[[:space:]]*$' "$XT_OUT" | tail -n 1 | cut -c1-160)
	if [ $rc -eq 0 ]; then
		echo "@@STEP $name PASS $last"
	else
		echo "@@STEP $name FAIL rc=$rc${last:+: $last}"
		XT_FAILED=$((XT_FAILED + 1))
		[ "$kind" = gate ] && XT_ABORTED=$name
	fi
	return $rc
}

# step NAME COMMAND...: run COMMAND, report PASS (exit 0) or FAIL
step() { xt_run step "$@"; }
# gate NAME COMMAND...: a step that later steps depend on
gate() { xt_run gate "$@"; }

xt_uptime() {
	cut -d' ' -f1 /proc/uptime
}

# wait_key KEY VALUE SECONDS: until xenstore KEY reads VALUE (the clock is
# the uptime: under TCG each xenstore-read takes a noticeable time itself)
wait_key() {
	local key=$1 want=$2 t0 now v=
	t0=$(xt_uptime)
	while :; do
		v=$(xenstore-read "$key" 2>/dev/null)
		now=$(xt_uptime)
		if [ "$v" = "$want" ]; then
			echo "$key = $v after $(awk "BEGIN { printf \"%.1f\", $now - $t0 }") s"
			return 0
		fi
		[ "${now%%.*}" -ge $((${t0%%.*} + $3)) ] && break
		sleep 0.25
	done
	echo "$key = '$v' after $3 s, wanted '$want'"
	return 1
}

# wait_line FILE REGEX SECONDS: until FILE has a matching line
wait_line() {
	local t0 now
	t0=$(xt_uptime)
	while :; do
		grep -E "$2" "$1" 2>/dev/null && return 0
		now=$(xt_uptime)
		[ "${now%%.*}" -ge $((${t0%%.*} + $3)) ] && break
		sleep 0.25
	done
	cat "$1" 2>/dev/null
	echo "no line matching /$2/ in $1 after $3 s"
	return 1
}

# expect_key KEY VALUE: xenstore KEY reads VALUE now
expect_key() {
	local v
	v=$(xenstore-read "$1" 2>&1)
	echo "$1 = $v"
	[ "$v" = "$2" ]
}

# expect_rc RC COMMAND...: COMMAND exits with status RC
expect_rc() {
	local want=$1 rc
	shift
	"$@"
	rc=$?
	[ $rc -eq "$want" ] && return 0
	echo "exit status $rc, wanted $want"
	return 1
}

# capture NAME COMMAND...: run COMMAND once (not a step), keep its output
# and status for later steps (expect_in)
capture() {
	local name=$1
	shift
	echo "@@RUN capture $name: $*"
	"$@" >"/tmp/xt-$name.out" 2>&1
	echo $? >"/tmp/xt-$name.rc"
	sed 's/^/| /' "/tmp/xt-$name.out"
}

# expect_in NAME REGEX: the captured output of NAME has a matching line and
# NAME exited 0; shows the line, or everything NAME printed
expect_in() {
	local rc
	rc=$(cat "/tmp/xt-$1.rc" 2>/dev/null)
	if [ "$rc" = 0 ] && grep -E "$2" "/tmp/xt-$1.out"; then
		return 0
	fi
	cat "/tmp/xt-$1.out" 2>/dev/null
	echo "'$1' (exit status ${rc:-none}) printed no line matching /$2/"
	return 1
}
