#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The soak test sized for make check (tests/soak/soak.sh; make soak runs the
# full 100,000 checks): 5,000 checks with mixed outcomes (OK, WARNING,
# CRITICAL, UNKNOWN, time-outs, undefined commands, refused arguments,
# unknown guests, 60000-byte outputs) through the bridge to one agent; the
# resident memory and descriptors of both flat from half-way to the end, no
# zombie; then 1,000 checks with both under valgrind memcheck (ASan's leak
# checker in an ASan build): no error, no leak.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

@test "soak: 5,000 mixed checks: memory and descriptors flat; 1,000 more under memcheck: no error, no leak" {
	local n=${SOAK_CHECKS:-5000} v=${SOAK_VALGRIND_CHECKS:-1000}
	# ASan (make asan): every probe is a fork of a large process, ten
	# times slower; fewer checks keep the run within CI's time
	if [ "$(nm "$XV_BIN/xenvchan-agent" 2>/dev/null | grep -c __asan_init)" -gt 0 ]; then
		n=${SOAK_CHECKS:-2000} v=${SOAK_VALGRIND_CHECKS:-500}
	fi
	run env O="$XV_BUILD" "$XV_TOP/tests/soak/soak.sh" -n "$n" -V "$v"
	echo "$output"
	grep '^FIGURE' <<<"$output" | sed 's/^/# /' >&3 || true
	assert_success
	assert_line "soak: PASSED"
}
