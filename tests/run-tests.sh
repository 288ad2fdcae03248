#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs every unit test (cmocka, TAP output) and every bats file, counts the
# real results, keeps the logs in $O/test-logs and prints as its last line
# "N passed, N failed".  Exit status 1 if anything failed.
# Env: O (build dir, default build), ONLY (a pattern: run only the unit test
# binaries and bats files whose name contains it).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
O=${O:-build}
export XV_TOP=$top
export XV_BUILD=$(cd "$O" && pwd)
export XV_BIN=$XV_BUILD/bin
logs=$XV_BUILD/test-logs
rm -rf "$logs"; mkdir -p "$logs"
pass=0 fail=0

count() {	# suite-name tap-file exit-status
	local name=$1 tap=$2 rc=$3 p f
	p=$(grep -cE '^ok ' "$tap")
	f=$(grep -cE '^not ok ' "$tap")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# crashed or failed outside a test case: that is a failure too
		echo "not ok - $name exited with status $rc outside any test" >>"$tap"
		f=1
	fi
	pass=$((pass + p)); fail=$((fail + f))
	printf '  %-34s %4d passed, %d failed\n' "$name" "$p" "$f"
	if [ "$f" -gt 0 ]; then
		grep -E -A15 '^not ok ' "$tap" | sed 's/^/    /' | head -60
	fi
}

echo "== unit tests"
for t in "$XV_BUILD"/tests/unit/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	[ -n "${ONLY:-}" ] && [[ $n != *"$ONLY"* ]] && continue
	CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$logs/$n.tap" 2>"$logs/$n.err"
	count "$n" "$logs/$n.tap" $?
done

echo "== bats end-to-end"
for b in tests/bats/*.bats; do
	[ -e "$b" ] || continue
	n=$(basename "$b" .bats)
	[ -n "${ONLY:-}" ] && [[ $n != *"$ONLY"* ]] && continue
	bats --tap "$b" >"$logs/$n.tap" 2>&1
	count "$n.bats" "$logs/$n.tap" $?
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
