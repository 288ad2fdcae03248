#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs libFuzzer targets for a fixed time each and summarises the result.
#
# Usage: tests/fuzz/run-fuzz.sh TARGET...     (e.g. fuzz_xvp_decode)
# Env:   O             build dir holding fuzz/TARGET (default build)
#        FUZZ_SECONDS  time per target (default 60)
#        FUZZ_RSS_MB   -rss_limit_mb (default 2048)
#        FUZZ_TIMEOUT  -timeout per input, seconds (default 10)
#
# Each target starts from a scratch copy of its committed seed corpus
# tests/fuzz/corpus/TARGET/ (empty if there is none) in $O/fuzz/scratch/,
# so the committed corpus never changes. tests/fuzz/TARGET.dict is passed
# as -dict if it exists. Crash, leak and timeout inputs are kept in
# $O/fuzz/artifacts/, full logs in $O/fuzz/logs/. One line per target:
#   TARGET  execs N  cov: C  ft: F  result
# Exit status 1 if any target crashed or could not run.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_RSS_MB=${FUZZ_RSS_MB:-2048}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-10}

if [ $# -eq 0 ]; then
	echo "usage: $0 TARGET..." >&2
	exit 2
fi
mkdir -p "$O/fuzz"
fuzzdir=$(cd "$O/fuzz" && pwd)
artifacts=$fuzzdir/artifacts
mkdir -p "$artifacts" "$fuzzdir/logs" "$fuzzdir/scratch"

failed=0 npass=0 nfail=0
for target in "$@"; do
	target=$(basename "$target")
	bin=$fuzzdir/$target
	log=$fuzzdir/logs/$target.log
	if [ ! -x "$bin" ]; then
		printf '%-28s %s\n' "$target" "FAILED: $bin not built"
		failed=1
		nfail=$((nfail + 1))
		continue
	fi
	corpus=$fuzzdir/scratch/$target
	rm -rf "$corpus"
	mkdir -p "$corpus"
	seeds=$top/tests/fuzz/corpus/$target
	[ -d "$seeds" ] && cp -R "$seeds"/. "$corpus"/
	nseeds=$(find "$corpus" -type f | wc -l)
	dict=()
	[ -f "$top/tests/fuzz/$target.dict" ] && dict=(-dict="$top/tests/fuzz/$target.dict")

	"$bin" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb="$FUZZ_RSS_MB" \
		-timeout="$FUZZ_TIMEOUT" -print_final_stats=1 \
		-artifact_prefix="$artifacts/$target-" "${dict[@]}" "$corpus" >"$log" 2>&1
	rc=$?

	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 | sed -E 's/.*(cov: [0-9]+).*/\1/')
	ft=$(grep -E '^#[0-9]+.*ft: ' "$log" | tail -1 | sed -E 's/.*(ft: [0-9]+).*/\1/')
	if [ "$rc" -eq 0 ]; then
		npass=$((npass + 1))
		result="ok ($nseeds seeds, corpus now $(find "$corpus" -type f | wc -l))"
	else
		failed=1
		nfail=$((nfail + 1))
		artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		reason=$(grep -m1 -E 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|runtime error|deadly signal' "$log" |
			sed -E 's/^==[0-9]+== *//' | cut -c1-80)
		result="CRASHED (exit $rc): ${reason:-see log} -> ${artifact:-no artifact}; log $log"
	fi
	printf '%-28s execs %-10s %-10s %-10s %s\n' "$target" "${execs:-?}" "${cov:-cov: ?}" \
		"${ft:-ft: ?}" "$result"
done
echo "$npass passed, $nfail failed"
exit "$failed"
