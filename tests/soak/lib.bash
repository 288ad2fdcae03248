# SPDX-License-Identifier: GPL-2.0-or-later
# lib.bash: measuring helpers shared by the reliability suites
# (tests/bats/{hostile,faults,soak,hardening}.bats) and tests/soak/soak.sh.
# Needs XV_BUILD (the build directory) and, for xv_is_asan, a binary.
#
#   xv_rss_kb PID       resident memory (VmRSS), kB
#   xv_hwm_kb PID       peak resident memory (VmHWM), kB
#   xv_hwm_reset PID    start a new peak (clear_refs 5; needs the right to
#                       write /proc/PID/clear_refs: the process's owner or root)
#   xv_fds PID          open descriptors
#   xv_fd_list PID      "fd -> target" lines, sockets and pipes by kind only
#   xv_cpu_ticks PID    user + system CPU time, in clock ticks
#   xv_zombies PID      children of PID that are zombies (count)
#   xv_children PID     live children of PID (count)
#   xv_is_asan BIN      true if BIN was built with AddressSanitizer
#   xv_settle_fds PID   the fd count once two readings 0.3 s apart agree
#   xv_pct P FILE...    the P-th percentile (nearest rank) of the numbers in FILEs
#   xv_count FILE...    how many numbers
#   xv_within_pct A B P true if A <= B * (1 + P/100)
#   xv_bc EXPR          a floating-point comparison or sum, prints the result

LOADGEN=${LOADGEN:-$XV_BUILD/tests/tools/loadgen}
HOSTILE=${HOSTILE:-$XV_BUILD/tests/tools/hostile-agent}

_xv_status() {
	awk -v k="$2:" '$1 == k { print $2; found = 1 } END { if (!found) print -1 }' "/proc/$1/status" 2>/dev/null ||
		echo -1
}

xv_rss_kb() { _xv_status "$1" VmRSS; }
xv_hwm_kb() { _xv_status "$1" VmHWM; }
xv_hwm_reset() { echo 5 >"/proc/$1/clear_refs"; }

xv_fds() {
	ls "/proc/$1/fd" 2>/dev/null | wc -l
}

xv_fd_list() {
	local f
	for f in /proc/"$1"/fd/*; do
		printf '%s -> %s\n' "${f##*/}" "$(readlink "$f" 2>/dev/null | sed -E 's/\[[0-9]+\]//')"
	done
}

xv_settle_fds() {
	local a b n=0
	b=$(xv_fds "$1")
	while :; do
		sleep 0.3
		a=$b
		b=$(xv_fds "$1")
		n=$((n + 1))
		{ [ "$a" = "$b" ] || [ $n -ge 20 ]; } && break
	done
	echo "$b"
}

xv_cpu_ticks() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo -1; return; }
	s=${s##*) }
	# fields after the command: state is 1, utime 12, stime 13
	awk '{ print $12 + $13 }' <<<"$s"
}

xv_zombies() {
	local parent=$1 n=0 p s st pp
	for p in /proc/[0-9]*; do
		s=$(cat "$p/stat" 2>/dev/null) || continue
		s=${s##*) }
		read -r st pp _ <<<"$s"
		[ "$st" = Z ] && [ "$pp" = "$parent" ] && n=$((n + 1))
	done
	echo $n
}

xv_children() {
	local parent=$1 n=0 p s st pp
	for p in /proc/[0-9]*; do
		s=$(cat "$p/stat" 2>/dev/null) || continue
		s=${s##*) }
		read -r st pp _ <<<"$s"
		[ "$st" != Z ] && [ "$pp" = "$parent" ] && n=$((n + 1))
	done
	echo $n
}

# (grep -c reads all of nm's output: with grep -q, nm may die of SIGPIPE
# and fail the pipeline under pipefail)
xv_is_asan() {
	[ "$(nm "$1" 2>/dev/null | grep -c __asan_init)" -gt 0 ]
}

xv_pct() {
	local p=$1
	shift
	cat "$@" | sort -g | awk -v p="$p" '{ v[NR] = $1 } END {
		if (NR == 0) { print 0; exit }
		i = int(p / 100 * NR); if (i < p / 100 * NR) i++; if (i < 1) i = 1
		print v[i] }'
}

xv_count() {
	cat "$@" | wc -l
}

xv_within_pct() {
	awk -v a="$1" -v b="$2" -v p="$3" 'BEGIN { exit !(a <= b * (1 + p / 100)) }'
}

xv_bc() {
	awk "BEGIN { print ($1) }"
}
