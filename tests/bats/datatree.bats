#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The data tree (docs/DATA-TREE.md) as the publisher writes it: the real
# xenvchan-agent (or, where it lacks the data tree, the developer tool
# datatree-run; the first line of output says which), running as emulated
# guest domain 5 against the xenstored emulator, in a network namespace
# with a veth (vif 0) and a dummy (vif 1) interface.  The change latencies
# and the idle wake-ups are measured and printed (bats --tap shows them as
# "# ..." lines).  The last two tests drive datatree-run itself: removal
# on stop and a simulated restore need signals the agent does not take.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load 'xsemu-helper'
load 'datatree-helper'

CHECK_TREE=$XV_TOP/tests/fixtures/datatree/check-tree.py
SPEC=$XV_TOP/docs/DATA-TREE.md

setup_file() {
	echo "# publisher: $(dt_runner)" >&3
}

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
	dt_setup
}

teardown() {
	dt_teardown
}

# KEY under the domain's home has VALUE
dt_home_is() {
	[ "$(xenstore-read "/local/domain/$DT_DOMID/$1" 2>/dev/null)" = "$2" ]
}

# the tree as dom0 sees it, checked against the spec's key table
check_tree() {
	dt_dump >"$DT_DIR/dump"
	run "$CHECK_TREE" "$SPEC" "$DT_DIR/dump" "/local/domain/$DT_DOMID/data/guest"
	echo "$output"
	assert_success
}

@test "the published tree matches docs/DATA-TREE.md key for key" {
	dt_start
	check_tree
	assert_output --partial "ok: "
	# both vifs and the veth peer(s), no loopback by default
	assert_output --partial ", $DT_NICS NICs"
}

@test "the values are the guest's: identity, vif ids, link, addresses" {
	dt_start
	dt_is protocol xen-guest-data
	dt_is version 1.0.0
	dt_is agent/name xenvchan-agent
	dt_is agent/state running
	dt_is agent/legacy-keys off
	dt_is os/class unix
	dt_is os/id testix
	dt_is os/name 'Testix "Quoted" Linux'
	dt_is os/version-id 3.14
	dt_is os/pretty-name "Testix Linux 3.14"
	dt_is os/hostname web01
	dt_is os/unix/kernel-name "$(uname -s)"
	dt_is os/unix/kernel-release "$(uname -r)"
	dt_is os/unix/machine "$(uname -m)"
	dt_is net/vif/0/name eth0
	dt_is net/vif/0/mac $DT_MAC0
	dt_is net/vif/0/mtu 1500
	dt_is net/vif/0/link up
	dt_is net/vif/0/admin up
	dt_is net/vif/0/carrier up
	dt_is net/vif/0/operstate up
	dt_is net/vif/0/ipv4/10_5_0_2 24
	dt_is net/vif/1/name eth1
	dt_is net/vif/1/mac $DT_MAC1
	dt_is net/vif/1/ipv4/10_5_1_2 24
	dt_is net/other/peer0/name peer0
	dt_absent net/other/lo
	# the link-local address the kernel made from the MAC
	dt_wait 3000 dt_is net/vif/0/ipv6/fe80__216_3eff_fe00_500 64
	# the MAC the toolstack gave the vif is the one the guest reports
	[ "$(xenstore-read /local/domain/$DT_DOMID/device/vif/0/mac)" = "$(dt_read net/vif/0/mac)" ]
}

@test "changes show up in xenstore within one second (measured)" {
	dt_start
	rm -f "$DT_DIR/latencies"

	dt_mark
	dt_ns ip addr add 192.0.2.7/28 dev eth0
	dt_measure "IPv4 address added" dt_is net/vif/0/ipv4/192_0_2_7 28

	dt_mark
	dt_ns ip addr add 2001:db8::7/64 dev eth0 nodad
	dt_measure "IPv6 address added" dt_is net/vif/0/ipv6/2001_db8__7 64

	dt_mark
	dt_ns ip addr del 192.0.2.7/28 dev eth0
	dt_measure "IPv4 address removed" dt_absent net/vif/0/ipv4/192_0_2_7

	dt_mark
	dt_ns ip link set eth1 down
	dt_measure "link set down" dt_is net/vif/1/admin down
	dt_is net/vif/1/link down

	dt_mark
	dt_ns ip link set eth1 up
	dt_measure "link set up" dt_is net/vif/1/link up

	dt_mark
	dt_ns ip link set peer0 down
	dt_measure "carrier lost (peer down)" dt_is net/vif/0/carrier down
	dt_is net/vif/0/link down
	dt_is net/vif/0/admin up
	dt_ns ip link set peer0 up
	dt_wait 3000 dt_is net/vif/0/link up

	# a rename: the kernel wants the link down; sysfs follows the name
	dt_ns ip link set eth0 down
	mv "$DT_DIR/sys/eth0" "$DT_DIR/sys/lan0"
	dt_mark
	dt_ns ip link set eth0 name lan0
	dt_measure "interface renamed" dt_is net/vif/0/name lan0
	dt_ns ip link set lan0 up

	dt_mark
	dt_ns ip link add extra0 type veth peer name extra1
	dt_measure "interface created" dt_is net/other/extra1/name extra1

	dt_mark
	dt_ns ip link del extra0
	dt_measure "interface deleted" dt_absent net/other/extra0

	dt_mark
	dt_ns ip link del eth1
	dt_measure "vif interface deleted" dt_absent net/vif/1

	dt_mark
	nsenter -t "$DT_PID" -u hostname web01-renamed
	dt_measure "hostname changed" dt_is os/hostname web01-renamed

	# every one within a second
	run awk '$NF >= 1000 { print "too slow: " $0; bad = 1 } END { exit bad }' "$DT_DIR/latencies"
	assert_success
	awk '{ if ($NF > max) max = $NF } END { printf "# slowest: %d ms over %d changes\n", max, NR }' \
		"$DT_DIR/latencies" >&3
	check_tree
}

@test "a burst of changes is coalesced into a few publishes" {
	dt_start
	local before after i
	before=$(grep -c 'datatree: published' "$DT_DIR/runner.err" || true)
	for i in $(seq 1 60); do echo "addr add 10.9.$((i / 250)).$((i % 250 + 1))/32 dev eth1"; done >"$DT_DIR/batch"
	dt_mark
	dt_ns ip -batch "$DT_DIR/batch"
	dt_measure "60 addresses added at once" dt_is net/vif/1/ipv4/10_9_0_60 32
	sleep 0.3
	after=$(grep -c 'datatree: published' "$DT_DIR/runner.err")
	echo "# publishes for the burst: $((after - before))" >&3
	[ $((after - before)) -le 3 ]
	[ "$(xenstore-list /local/domain/$DT_DOMID/data/guest/net/vif/1/ipv4 | wc -l)" -eq 61 ]
}

@test "the guest writes only under its own home, and owns what it writes" {
	xenstore-ls -f / | grep -v "^/local/domain/$DT_DOMID/data/guest" | sort >"$DT_DIR/before"
	dt_start
	dt_ns ip addr add 192.0.2.9/24 dev eth1
	dt_wait 3000 dt_is net/vif/1/ipv4/192_0_2_9 24
	xenstore-ls -f / | grep -v "^/local/domain/$DT_DOMID/data/guest" | sort >"$DT_DIR/after"
	run diff "$DT_DIR/before" "$DT_DIR/after"
	assert_success
	# every node of the tree belongs to the guest (n5: others may not read)
	run bash -c "xenstore-ls -p /local/domain/$DT_DOMID/data/guest | grep -v 'probes' | grep -vc '(n$DT_DOMID)\$'"
	assert_output 0
	# and the guest cannot write outside its subtree
	xsemu_domain_create 6 other
	run xsemu_as "$DT_DOMID" xenstore-write /local/domain/6/data/x evil
	assert_failure
	run xsemu_as "$DT_DOMID" xenstore-write control/x evil
	assert_failure
	run xsemu_as "$DT_DOMID" xenstore-write /local/domain/0/x evil
	assert_failure
}

@test "quota: too many addresses stay within the node budget and are marked left out" {
	local i
	for i in $(seq 1 400); do
		echo "addr add 2001:db8:1::$(printf %x "$i")/64 dev eth0 nodad"
	done >"$DT_DIR/batch"
	for i in $(seq 1 200); do echo "addr add 10.7.$((i / 250)).$((i % 250 + 1))/32 dev eth1"; done >>"$DT_DIR/batch"
	dt_ns ip -batch "$DT_DIR/batch"
	dt_start
	check_tree
	local nodes
	nodes=$(dt_dump | grep -vc "/data/guest/probes")
	echo "# nodes in the tree (probes/ aside): $nodes (budget 300)" >&3
	[ "$nodes" -le 300 ]
	run dt_read net/vif/0/ipv6-omitted
	assert_success
	echo "# eth0 IPv6 addresses left out: $output" >&3
	[ "$output" -gt 250 ]
	run dt_read net/vif/1/ipv4-omitted
	assert_success
	# the fixed keys are all there, and eth1's own address made it
	dt_is net/vif/1/ipv4/10_5_1_2 24
	dt_is net/vif/0/ipv4/10_5_0_2 24
	! grep -q 'quota reached' "$DT_DIR/runner.err"
}

@test "quota: a tight xenstored quota shrinks the budget instead of failing" {
	dt_teardown
	dt_setup -Q nodes=120
	local i
	for i in $(seq 1 60); do echo "link add v$i type veth peer name w$i"; done >"$DT_DIR/batch"
	dt_ns ip -batch "$DT_DIR/batch"
	dt_start
	grep 'quota reached' "$DT_DIR/runner.err" >&3 || true
	grep -q 'quota reached' "$DT_DIR/runner.err"
	check_tree
	dt_is net/vif/0/name eth0
	run dt_read net/omitted
	assert_success
	echo "# NICs left out under nodes=120: $output" >&3
	# still live: a change after that shows up
	dt_mark
	dt_ns ip link set eth0 mtu 1400
	dt_measure "change under a tight quota" dt_is net/vif/0/mtu 1400
}

@test "a restart leaves no stale key behind and never touches probes/" {
	dt_start
	dt_ns ip link add gone0 type veth peer name gone1
	dt_ns ip addr add 192.0.2.50/24 dev eth0
	dt_wait 3000 dt_is net/other/gone0/name gone0
	dt_wait 3000 dt_is net/vif/0/ipv4/192_0_2_50 24
	dt_stop
	dt_is agent/state stopped
	# while it is down: things go away, junk appears, the advert writes
	dt_ns ip link del gone0
	dt_ns ip addr del 192.0.2.50/24 dev eth0
	xsemu_as "$DT_DOMID" xenstore-write data/guest/stale junk data/guest/net/vif/9/name ghost \
		data/guest/os/unix/extra x data/guest/probes/marker keep
	dt_start
	check_tree
	dt_absent stale
	dt_absent net/vif/9
	dt_absent os/unix/extra
	dt_absent net/other/gone0
	dt_absent net/other/gone1
	dt_absent net/vif/0/ipv4/192_0_2_50
	dt_is probes/marker keep
	dt_is agent/state running
}

@test "legacy keys: off by default, on with the switch, removed when off again" {
	local home=/local/domain/$DT_DOMID
	dt_start
	! xenstore-exists $home/data/os_name
	! xenstore-exists $home/attr/vif
	dt_stop
	dt_start --legacy
	dt_is agent/legacy-keys on
	[ "$(xenstore-read $home/data/os_name)" = "Testix Linux 3.14" ]
	[ "$(xenstore-read $home/data/os_uname)" = "$(uname -r)" ]
	[ "$(xenstore-read $home/data/os_distro)" = testix ]
	[ "$(xenstore-read $home/data/os_majorver)" = 3 ]
	[ "$(xenstore-read $home/data/os_minorver)" = 14 ]
	[ "$(xenstore-read $home/attr/vif/0/ipv4/0)" = 10.5.0.2 ]
	[ "$(xenstore-read $home/attr/vif/1/ipv4/0)" = 10.5.1.2 ]
	[ "$(xenstore-read $home/attr/PVAddons/Installed)" = 1 ]
	xenstore-read $home/attr/PVAddons/MajorVersion
	xenstore-read $home/attr/PVAddons/MinorVersion
	local updated
	updated=$(xenstore-read $home/data/updated)
	[ -n "$updated" ]
	! xenstore-exists $home/attr/vif/2
	# a change of a legacy key moves data/updated (XAPI's trigger)
	sleep 1.1
	dt_ns ip addr add 192.0.2.5/24 dev eth1
	dt_wait 3000 dt_home_is attr/vif/1/ipv4/1 192.0.2.5
	[ "$(xenstore-read $home/data/updated)" != "$updated" ]
	check_tree
	dt_stop
	dt_start
	dt_is agent/legacy-keys off
	! xenstore-exists $home/data/os_name
	! xenstore-exists $home/data/updated
	! xenstore-exists $home/attr/vif
	! xenstore-exists $home/attr/PVAddons
	# the directories the toolstack made stay
	xenstore-exists $home/attr
	xenstore-exists $home/data
}

@test "NICs no vif backs: published by default, off with the switch; loopback when asked" {
	dt_start --loopback
	dt_is net/other/lo/ipv4/127_0_0_1 8
	dt_is net/other/peer0/name peer0
	dt_stop
	dt_start --no-other
	dt_absent net/other
	dt_is net/vif/0/name eth0
	check_tree
}

@test "an idle publisher makes no wake-ups in 30 seconds" {
	dt_start
	dt_settle
	local before after others sentinel
	dt_hostname_events 30 >"$DT_DIR/hostname-events" &
	sentinel=$!
	before=$(dt_ctxt_switches "$DT_PID")
	sleep 30
	after=$(dt_ctxt_switches "$DT_PID")
	wait "$sentinel"
	others=$(cat "$DT_DIR/hostname-events")
	echo "# context switches of all threads over 30 s idle: $((after - before))" \
		"(hostname changes elsewhere on the machine meanwhile: $others)" >&3
	if [ "$others" -eq 0 ]; then
		[ "$after" -eq "$before" ]
	else
		# another test set a hostname in its namespace: the kernel tells
		# every watcher; one wake-up for it and one for the coalescing
		# timer is all it may cost
		[ $((after - before)) -le $((3 * others)) ]
	fi
	# and it is not asleep for good: a change still wakes it
	dt_mark
	dt_ns ip addr add 192.0.2.99/24 dev eth0
	dt_measure "first change after 30 s idle" dt_is net/vif/0/ipv4/192_0_2_99 24
}

@test "stop: agent/state becomes stopped, the rest stays" {
	dt_start
	dt_stop
	dt_is agent/state stopped
	dt_is net/vif/0/name eth0
	check_tree
}

@test "stop with removal: the tree goes, probes/ stays (datatree-run)" {
	DT_RUNNER=tool dt_start --legacy
	xsemu_as "$DT_DOMID" xenstore-write data/guest/probes/protocol xenvchan-nrpe
	dt_stop --remove
	run xenstore-list /local/domain/$DT_DOMID/data/guest
	assert_output probes
	! xenstore-exists /local/domain/$DT_DOMID/data/os_name
	! xenstore-exists /local/domain/$DT_DOMID/attr/vif
	# and without probes/, data/guest itself goes too
	xsemu_as "$DT_DOMID" xenstore-rm data/guest/probes
	DT_RUNNER=tool dt_start
	dt_stop --remove
	! xenstore-exists /local/domain/$DT_DOMID/data/guest
}

@test "a restore (new, empty data/) is republished in full (datatree-run, SIGUSR1)" {
	DT_RUNNER=tool dt_start
	dt_dump >"$DT_DIR/dump1"
	# what a restore leaves: the toolstack's fresh data/, nothing of ours
	xenstore-rm /local/domain/$DT_DOMID/data/guest
	dt_mark
	kill -USR1 "$DT_PID"
	dt_measure "republished after a domid change" dt_is agent/state running
	dt_dump >"$DT_DIR/dump2"
	run diff "$DT_DIR/dump1" "$DT_DIR/dump2"
	assert_success
}
