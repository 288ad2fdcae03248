#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# xenvchan-inventory on several guests of the xenstored emulator: web01
# (domain 5) runs the publisher in its own network namespace; the others'
# trees are written by dom0: db01 has none, app01 a good one, evil a
# hostile one (oversized, non-printable, bidi, malformed values, too many
# NICs), future a newer major version, junk somebody else's protocol.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load 'xsemu-helper'
load 'datatree-helper'

INV=$XV_BIN/xenvchan-inventory

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
	dt_setup
	dt_start
	xsemu_domain_create 6 db01
	xsemu_domain_create 7 evil --vif 0
	xsemu_domain_create 8 future
	xsemu_domain_create 9 junk
	xsemu_domain_create 10 app01 --vif 0 --vif 3

	local g=/local/domain/10/data/guest
	xenstore-write $g/protocol xen-guest-data $g/version 1.2.0 \
		$g/agent/name other-agent $g/agent/version 2.1 $g/agent/state running \
		$g/os/class unix $g/os/pretty-name "Alpine Linux v3.19" \
		$g/os/hostname app01 $g/os/unix/kernel-release 6.6.7-0-virt \
		$g/net/vif/0/name eth0 $g/net/vif/0/mac 00:16:3e:0a:00:00 \
		$g/net/vif/0/mtu 1500 $g/net/vif/0/link up \
		$g/net/vif/0/ipv4/192_0_2_10 24 $g/net/vif/0/ipv6/2001_db8__a 64 \
		$g/net/vif/3/name eth1 $g/net/vif/3/link down $g/net/vif/3/mtu 9000 \
		$g/net/vif/3/ipv4 "" $g/net/vif/3/ipv4-omitted 7 \
		$g/os/future-key "from layout 1.2" $g/net/vif/0/future x

	g=/local/domain/7/data/guest
	local big
	big=$(head -c 4000 /dev/zero | tr '\0' A)
	xenstore-write $g/protocol xen-guest-data $g/version 1.0.0 \
		$g/agent/state pwned \
		$g/os/pretty-name "$big" \
		$g/os/hostname 'evil\x1b]0;owned\x07\x1b[2J\r\nfake line' \
		$g/os/name '\xe2\x80\xaegnp.exe\xe2\x80\xac' \
		$g/os/unix/kernel-release '\xff\xfe\x80 bad utf8 \\ backslash' \
		$g/net/vif/0/name 'eth0\x00hidden' $g/net/vif/0/mtu 15OO \
		$g/net/vif/0/mac 'de:ad:be:ef:zz:00' $g/net/vif/0/link UP \
		$g/net/vif/0/ipv4/10_0_0_1 99 $g/net/vif/0/ipv4/1_2_3 8 \
		$g/net/vif/0/ipv4/10_0_0_2 8 $g/net/vif/00/name zero \
		$g/net/vif/x/name ex $g/net/other/a_2eb/name ok-name
	# more NICs than the reader reads
	local i args=()
	for i in $(seq 100 179); do args+=("$g/net/vif/$i/name" "n$i"); done
	xenstore-write "${args[@]}"

	xenstore-write /local/domain/8/data/guest/protocol xen-guest-data \
		/local/domain/8/data/guest/version 2.0.0 \
		/local/domain/8/data/guest/os/pretty-name "From The Future"
	xenstore-write /local/domain/9/data/guest/protocol "some\x1b[5mthing" \
		/local/domain/9/data/guest/version banana
}

teardown() {
	dt_teardown
}

# no byte of the output is a control character (newline aside), nor a
# bidi override
assert_clean_output() {
	printf '%s' "$output" >"$BATS_TEST_TMPDIR/out"
	run grep -c -P '[\x00-\x09\x0b-\x1f\x7f]' "$BATS_TEST_TMPDIR/out"
	assert_output 0
	run grep -c -P '\xe2\x80[\xaa-\xae]|\xc2[\x80-\x9f]' "$BATS_TEST_TMPDIR/out"
	assert_output 0
	run awk 'length($0) > 400 { n++ } END { print n + 0 }' "$BATS_TEST_TMPDIR/out"
	assert_output 0
}

@test "inventory: the table shows every guest, each problem on a line of its own" {
	run "$INV"
	echo "$output"
	assert_success
	assert_line --regexp '^    5 web01 +Testix Linux 3\.14 .* web01 +xenvchan-agent .* \(running\), layout 1\.0\.0$'
	assert_line --regexp '^ +vif/0 +eth0 +00:16:3e:00:05:00 up +mtu 1500 +10\.5\.0\.2/24 fe80::216:3eff:fe00:500/64$'
	assert_line --regexp '^ +vif/1 +eth1 +00:16:3e:00:05:01 up +mtu 1500 +10\.5\.1\.2/24'
	assert_line --regexp '^ +other +peer0 '
	assert_line --regexp '^    6 db01 +!! no-tree: no data tree$'
	assert_line --regexp '^    8 future +!! incompatible: layout version 2\.0\.0; this reader understands 1\.x$'
	assert_line --regexp '^    9 junk +!! foreign: data tree of protocol "some\\x1B\[5mthing", not xen-guest-data$'
	assert_line --regexp '^   10 app01 +Alpine Linux v3\.19 .*other-agent 2\.1 \(running\), layout 1\.2\.0$'
	assert_line --regexp '^ +vif/3 +eth1 +- +down mtu 9000 +\(\+7 IPv4 not shown\)$'
	# the hostile guest: escaped, cut, and its bad values reported
	assert_line --regexp '^    7 evil +AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA~ .*\? +\(\?\), layout 1\.0\.0$'
	assert_output --partial 'warning: os/pretty-name: value too long, cut'
	assert_output --partial 'warning: agent/state: unexpected value "pwned"'
	assert_output --partial 'warning: net/vif/0/mtu: not a number in 0..1000000: "15OO"'
	assert_output --partial 'warning: net/vif: "00" is not a valid key'
	assert_output --partial 'NIC(s) not shown'
	assert_line --regexp '^ +vif/0 +eth0\\x00hidden +- +\? +mtu \? +10\.0\.0\.2/8$'
	# dom0 is not listed: it has no tree
	refute_line --regexp '^    0 '
	# the lines after the hostile guest's are intact
	assert_line --regexp '^    8 future '
	assert_clean_output
}

@test "inventory: --json is valid JSON with one object per guest" {
	run "$INV" --json
	assert_success
	printf '%s' "$output" >"$BATS_TEST_TMPDIR/inv.json"
	assert_clean_output
	run python3 - "$BATS_TEST_TMPDIR/inv.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["format"] == "xenvchan-inventory" and doc["format_version"] == 1
g = {x["name"]: x for x in doc["guests"]}
assert [x["domid"] for x in doc["guests"]] == [5, 6, 7, 8, 9, 10], doc["guests"]
w = g["web01"]
assert w["status"] == "ok" and w["layout_version"] == "1.0.0"
assert w["os"]["pretty_name"] == "Testix Linux 3.14" and w["os"]["hostname"] == "web01"
assert w["agent"] == {"name": "xenvchan-agent", "version": w["agent"]["version"], "state": "running"}
nic = w["nics"][0]
assert (nic["kind"], nic["vif_id"], nic["name"], nic["mac"], nic["mtu"], nic["link"]) == \
    ("vif", 0, "eth0", "00:16:3e:00:05:00", 1500, "up"), nic
assert {"address": "10.5.0.2", "prefix": 24} in nic["ipv4"]
assert w["nics"][1]["vif_id"] == 1
assert any(n["kind"] == "other" and n["name"] == "peer0" for n in w["nics"])
assert g["db01"]["status"] == "no-tree" and "nics" not in g["db01"]
assert g["future"]["status"] == "incompatible"
assert g["junk"]["status"] == "foreign"
a = g["app01"]
assert a["layout_version"] == "1.2.0" and a["nics"][1]["vif_id"] == 3
assert a["nics"][1]["ipv4_not_shown"] == 7 and a["warnings"] == []
e = g["evil"]
assert e["status"] == "ok"
assert len(e["os"]["pretty_name"]) < 200 and e["os"]["pretty_name"].endswith("...")
assert e["os"]["hostname"] == "evil\\x1B]0;owned\\x07\\x1B[2J\\x0D\\x0Afake line", e["os"]["hostname"]
assert e["os"]["name"] == "\\u{202E}gnp.exe\\u{202C}"
assert e["os"]["unix"]["kernel_release"].startswith("\\xFF\\xFE\\x80 bad utf8 \\\\")
assert "state" not in e["agent"] and "mtu" not in e["nics"][0]
assert len(e["nics"]) == 64 and e["nics_not_shown"] > 0
assert len(e["warnings"]) >= 8
print("ok")
EOF
	echo "$output"
	assert_success
	assert_output ok
}

@test "inventory: one guest by name or domid; exit 1 when a named guest is missing or unusable" {
	run "$INV" web01
	assert_success
	assert_line --regexp '^    5 web01 '
	refute_output --partial db01
	run "$INV" 10 web01
	assert_success
	# in the order asked for
	echo "$output" | awk '/^   10 app01 /{a=NR} /^    5 web01 /{w=NR} END{exit !(a && w && a < w)}'
	run "$INV" web01 nosuch
	assert_failure 1
	assert_line --regexp '^    - nosuch +!! not-found: no such guest$'
	run "$INV" 6
	assert_failure 1
	assert_output --partial 'no-tree'
	run "$INV" future
	assert_failure 1
	run "$INV" junk
	assert_failure 1
	run "$INV" --json nosuch
	assert_failure 1
	assert_output --partial '"status": "not-found"'
	# the hostile guest is shown, its tree is usable
	run "$INV" evil
	assert_success
}

@test "inventory: usage, help, version and an unreachable xenstore" {
	run "$INV" --bogus
	assert_failure 2
	run "$INV" ""
	assert_failure 2
	run "$INV" -h
	assert_success
	assert_output --partial 'Exit status: 0 shown; 1 a GUEST named'
	run "$INV" -V
	assert_success
	assert_output --regexp '^xenvchan-inventory [0-9.]+ \(data tree layout xen-guest-data 1\.x\)$'
	XENSTORED_PATH=$BATS_TEST_TMPDIR/nothing-here run "$INV"
	assert_failure 3
	assert_output --partial 'cannot'
}

@test "inventory: follows the guest: a change in the guest shows in the next run" {
	dt_ns ip addr add 198.51.100.4/24 dev eth1
	dt_wait 3000 dt_is net/vif/1/ipv4/198_51_100_4 24
	run "$INV" web01
	assert_line --regexp '^ +vif/1 +eth1 .* 10\.5\.1\.2/24 198\.51\.100\.4/24'
	dt_stop
	run "$INV" web01
	assert_success
	assert_line --regexp '^    5 web01 .*\(stopped\), layout 1\.0\.0$'
}
