# SPDX-License-Identifier: GPL-2.0-or-later
# tests/bench/xen/dom0.sh - the steps of `make bench-xen` in dom0 (in place of
# tests/xen/steps/dom0.sh; sourced by the harness's dom0 /init once
# xenstored and xenconsoled run; step/gate and the helpers are
# tests/xen/steps/lib.sh).  One boot, two PV domUs (tests/bench/xen/domu.sh):
#   probe   its agent serves the bridge; Debian's nrpe listens on its
#           network (192.0.2.10, reached over dom0's vifN.0, 192.0.2.1)
#   probe2  its agent serves check_xenvchan --direct (one client at a time)
# then the same trivial check (check_dummy 0 OK) through every path, every
# path once per round in a random order (tests/bench/xvbench lat), the raw
# figures printed as "CSV:" lines for tests/bench/xen/bench-xen.sh:
#   spawn, spawn2     the plugin spawned in dom0, directly and through a
#                     relay (the floors, measured in dom0)
#   cx-bridge         check_xenvchan -> bridge -> vchan -> agent (probe)
#   cx-direct         check_xenvchan --direct -> vchan -> agent (probe2)
#   nrpe, nrpe-tls    check_nrpe (-n) -> vif -> nrpe in probe
#   cx-bridge-alt     with BENCH_ALT_O (bench-xen.sh): check_xenvchan-alt ->
#                     the same bridge -> vchan -> xenvchan-agent-alt in a
#                     third domU, probe3: the programs of another build
# bench-xen.sh puts BENCH_ROUNDS_SET and BENCH_WARMUP_SET in front of this.

BENCH_ROUNDS=${BENCH_ROUNDS_SET:-40}
BENCH_WARMUP=${BENCH_WARMUP_SET:-3}
PLUG=/usr/lib/nagios/plugins
CX=$PLUG/check_xenvchan
NRPE_IP=192.0.2.10

bench_bridge() {
	mkdir -p /run/xenvchan
	cat >/tmp/bench-bridge.cfg <<EOF
channel=vchan
socket_path=/run/xenvchan/bridge.sock
request_timeout=120
EOF
	xenvchan-bridge -c /tmp/bench-bridge.cfg -f </dev/null >/tmp/bridge.log 2>&1 &
	wait_line /tmp/bridge.log 'started' 30 && [ -S /run/xenvchan/bridge.sock ]
}

BENCH_ALT=
[ -x $PLUG/check_xenvchan-alt ] && BENCH_ALT=1

bench_domus() {
	local d
	xl create /etc/xen/domu.cfg || return 1
	xl create /etc/xen/domu2.cfg || return 1
	BENCH_D1=$(xl domid probe) && BENCH_D2=$(xl domid probe2) || return 1
	echo "probe is domain $BENCH_D1, probe2 is domain $BENCH_D2"
	BENCH_D3=
	if [ -n "$BENCH_ALT" ]; then
		sed -e 's/^name = .*/name = "probe3"/' -e 's/12:34:56/12:34:58/' /etc/xen/domu.cfg \
			>/tmp/domu3.cfg
		xl create /tmp/domu3.cfg || return 1
		BENCH_D3=$(xl domid probe3) || return 1
		echo "probe3 (the other build's agent) is domain $BENCH_D3"
	fi
	for d in $BENCH_D1 $BENCH_D2 $BENCH_D3; do
		wait_key /local/domain/$d/data/bench/ready 1 120 || return 1
		wait_key /local/domain/$d/data/guest/probes/protocol xenvchan-nrpe 60 || return 1
	done
}

bench_net() {
	local vif=vif$BENCH_D1.0 i=0
	ip addr add 192.0.2.1/24 dev $vif && ip link set $vif up || return 1
	ip addr show dev $vif
	# nrpe answers the version query once the link and nrpe are up
	while ! check_nrpe -n -H $NRPE_IP -p 5666 -t 10 >/tmp/bench-nrpe-v 2>&1; do
		i=$((i + 1))
		if [ $i -ge 30 ]; then
			cat /tmp/bench-nrpe-v
			ip addr
			ip route
			ping -c 2 -W 2 $NRPE_IP
			return 1
		fi
		sleep 1
	done
	cat /tmp/bench-nrpe-v
}

bench_spec() {
	local T
	T=$(printf '\t')
	{
		echo "spawn${T}0${T}OK: OK${T}$PLUG/check_dummy${T}0${T}OK"
		echo "spawn2${T}0${T}OK: OK${T}/usr/bin/spawn2${T}$PLUG/check_dummy${T}0${T}OK"
		echo "nrpe${T}0${T}OK: OK${T}$PLUG/check_nrpe${T}-n${T}-H${T}$NRPE_IP${T}-p${T}5666${T}-t${T}60${T}-c${T}dummy"
		echo "nrpe-tls${T}0${T}OK: OK${T}$PLUG/check_nrpe${T}-H${T}$NRPE_IP${T}-p${T}5667${T}-t${T}60${T}-c${T}dummy"
		echo "cx-bridge${T}0${T}OK: OK${T}$CX${T}-H${T}probe${T}-t${T}60${T}-c${T}dummy"
		echo "cx-direct${T}0${T}OK: OK${T}$CX${T}--direct${T}-H${T}probe2${T}-t${T}60${T}-c${T}dummy"
		[ -z "$BENCH_ALT" ] ||
			echo "cx-bridge-alt${T}0${T}OK: OK${T}$CX-alt${T}-H${T}probe3${T}-t${T}60${T}-c${T}dummy"
	} >/tmp/bench-spec.tsv
}

# every path once, its answer shown
bench_paths() {
	local name rc want cmd out got bad=0 tab
	tab=$(printf '\t')
	bench_spec
	while IFS="$tab" read -r name rc want cmd; do
		# shellcheck disable=SC2086 # the words of the command, split at tabs
		out=$(IFS="$tab" && set -f && set -- $cmd && "$@" 2>&1)
		got=$?
		echo "$name: exit $got: $out"
		[ "$got" = "$rc" ] && [ "$out" = "$want" ] || bad=1
	done </tmp/bench-spec.tsv
	return $bad
}

bench_latency() {
	local rc
	echo "rounds $BENCH_ROUNDS after $BENCH_WARMUP warm-up; $(grep -c ^processor /proc/cpuinfo) dom0 vCPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
	xvbench lat -s /tmp/bench-spec.tsv -w "$BENCH_WARMUP" -r "$BENCH_ROUNDS" -o /tmp/bench-lat.csv
	rc=$?
	sed 's/^/CSV:/' /tmp/bench-lat.csv
	echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
	return $rc
}

gate bench-bridge bench_bridge
gate bench-domus bench_domus
gate bench-net bench_net
gate bench-paths bench_paths
step bench-latency bench_latency
