#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# check_mem (probes/check_mem.c): thresholds, perfdata, fallback, errors.
# The meminfo fixtures (tests/fixtures/probes/meminfo/) describe a 4 GiB
# machine: "modern" has 2.5 GiB available, "low" 300 MiB, "old-kernel" no
# MemAvailable line (1 GiB free + buffers + cached).

bats_load_library bats-support
bats_load_library bats-assert

setup() {
	top=${XV_TOP:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	check_mem=${XV_BIN:-$top/build/bin}/check_mem
	fixtures=$top/tests/fixtures/probes/meminfo
}

mem() {	# FIXTURE ARGS...: run check_mem on a fixture
	local f=$1
	shift
	XV_MEMINFO=$fixtures/$f run "$check_mem" "$@"
}

@test "check_mem: OK with percent thresholds, exact output and perfdata" {
	mem modern -w 20% -c 10%
	assert_success
	# 20% of 4 GiB = 858993459.2 B and 10% = 429496729.6 B, rounded up
	assert_output "MEM OK - 62% available (2.5 GiB of 4.0 GiB) | available=2684354560B;858993460:;429496730:;0;4294967296 used=1610612736B;3435973836;3865470566;0;4294967296"
}

@test "check_mem: WARNING below -w percent" {
	mem low -w 10% -c 5%
	assert_failure 1
	assert_output --regexp '^MEM WARNING - 7% available \(300\.0 MiB of 4\.0 GiB\) \| available=314572800B;'
}

@test "check_mem: CRITICAL below -c absolute" {
	mem low -w 1G -c 512M
	assert_failure 2
	assert_output --partial "MEM CRITICAL - 7% available (300.0 MiB of 4.0 GiB) | available=314572800B;1073741824:;536870912:;0;4294967296 "
}

@test "check_mem: exactly at the limit is not below it" {
	mem modern -w 2560M -c 1G
	assert_success
	mem modern -w 2561M -c 1G
	assert_failure 1
	mem modern -w 2684354561B -c 2684354561B
	assert_failure 2
}

@test "check_mem: a plain number is MiB; units are 1024-based and case-insensitive" {
	mem modern -w 2561 -c 100
	assert_failure 1
	assert_output --partial "available=2684354560B;2685403136:;104857600:;"
	mem modern -w 2.5gib -c 1kb
	assert_success
	assert_output --partial "available=2684354560B;2684354560:;1024:;"
	mem modern --warning=3T --critical=0
	assert_failure 1
}

@test "check_mem: kernels without MemAvailable use MemFree+Buffers+Cached" {
	mem old-kernel -w 20% -c 10%
	assert_success
	assert_output --regexp '^MEM OK - 25% available \(1\.0 GiB of 4\.0 GiB, estimated\) \| available=1073741824B;'
	mem old-kernel -w 30% -c 10%
	assert_failure 1
}

@test "check_mem: perfdata follows 'label'=value[UOM];warn;crit;min;max" {
	mem modern -w 20% -c 512M
	assert_success
	perf=${output#*| }
	[[ $perf =~ ^available=[0-9]+B\;[0-9]+:\;[0-9]+:\;0\;[0-9]+\ used=[0-9]+B\;[0-9]+\;[0-9]+\;0\;[0-9]+$ ]]
}

@test "check_mem: runs on this machine's /proc/meminfo" {
	run "$check_mem" -w 1% -c 1B
	assert_success
	assert_output --regexp '^MEM OK - [0-9]+% available \([0-9.]+ [KMGT]iB of [0-9.]+ [KMGT]iB\) \| available=[0-9]+B;'
}

@test "check_mem: bad arguments are UNKNOWN with usage" {
	for args in "" "-w 10%" "-c 5%" "-w 10x -c 5%" "-w 101% -c 5%" "-w -5% -c 1%" \
		"-w 10% -c 20%" "-w 1G -c 2G" "-w 10% -c 5% extra" "-w 10% -c 5% -t 0" \
		"-w 10% -c 5% -t 1x" "-q" "--bogus" "-w" "-w inf -c 1" "-w 0x10 -c 1" "-w 1e30T -c 1"; do
		mem modern $args
		assert_failure 3
		assert_line --index 0 --regexp '^MEM UNKNOWN - '
		assert_line --index 1 "Usage: check_mem -w LIMIT -c LIMIT [-t SECONDS]"
	done
}

@test "check_mem: mixed percent and size thresholds are compared against the total" {
	mem modern -w 10% -c 256M
	assert_success
	mem modern -w 10% -c 1000G
	assert_failure 3
	assert_output "MEM UNKNOWN - critical threshold '1000G' is above warning threshold '10%'"
}

@test "check_mem: unreadable or malformed meminfo is UNKNOWN" {
	XV_MEMINFO=/nonexistent/meminfo run "$check_mem" -w 10% -c 5%
	assert_failure 3
	assert_output "MEM UNKNOWN - /nonexistent/meminfo: No such file or directory"
	mem no-total -w 10% -c 5%
	assert_failure 3
	assert_output "MEM UNKNOWN - $fixtures/no-total: no valid MemTotal line"
}

@test "check_mem: -h and -V exit 3 like the monitoring-plugins ones" {
	run "$check_mem" -h
	assert_failure 3
	assert_output --partial "Usage: check_mem -w LIMIT -c LIMIT [-t SECONDS]"
	run "$check_mem" --version
	assert_failure 3
	assert_output --regexp '^check_mem v[0-9.]+ \(xenvchan-nrpe\)$'
}

@test "check_mem: -t gives up with UNKNOWN when meminfo blocks" {
	mkfifo "$BATS_TEST_TMPDIR/fifo"	# opening it blocks: no writer
	XV_MEMINFO=$BATS_TEST_TMPDIR/fifo run timeout 10 "$check_mem" -w 10% -c 5% -t 1
	assert_failure 3
	assert_output "MEM UNKNOWN - check_mem timed out"
}
