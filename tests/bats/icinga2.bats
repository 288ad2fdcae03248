#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# contrib/nagios/icinga2 in the real Debian Icinga 2 (icinga2-bin), each
# instance in a temporary prefix: icinga2 daemon -C accepts the shipped
# configuration, single-node and distributed; a running icinga2 executes
# the xenvchan CheckCommand against emulated guests (agent + bridge) and
# records the probes' states and outputs (read back through its REST API);
# and in the distributed set-up a master sends the checks to the dom0's
# Icinga agent (command_endpoint), which gets the CheckCommand from the
# global zone.

load 'bridge-helper'
load '../nagios/icinga2-helper'
load '../nagios/invconf'

I=$XV_TOP/contrib/nagios/icinga2

setup_file() {
	"$XV_TOP/scripts/deps.sh" nagios >&3 2>&1 || true
}

setup() {
	[ -x "$ICINGA2" ] || skip "icinga2 is not installed and cannot be (run as root: scripts/deps.sh nagios)"
	command -v openssl >/dev/null || skip "openssl is not installed"
	bridge_setup
}

teardown() {
	i2_teardown
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		local id
		for id in "${!I2_DIR[@]}"; do
			echo "# ---- icinga2 $id log" >&3
			grep -v -E 'notice/|information/HttpServerConnection|New client connection from' \
				"${I2_DIR[$id]}/log/icinga2.log" 2>/dev/null | tail -25 | sed "s/^/# /" >&3
		done
	fi
	bridge_teardown
}

# The bridge's socket, open to the user Icinga runs as (nagios on Debian).
bridge_for_icinga() {
	if [ "$(id -u)" = 0 ]; then
		bridge_config <<EOF
socket_mode=0660
socket_group=nagios
allowed_gids=nagios
EOF
	fi
	bridge_start
}

# loopback_zones ID MASTER_PORT AGENT_PORT FILE: the zones.conf FILE of the
# distributed example as node ID's, its endpoints moved to 127.0.0.1 ports
loopback_zones() {
	sed -e "s/host = \"192\.0\.2\.[0-9]*\"/host = \"127.0.0.1\"/" \
		-e "/Endpoint \"master.example.org\"/,/^}/s/port = 5665/port = $2/" \
		-e "/Endpoint \"xen1.example.org\"/,/^}/s/port = 5665/port = $3/" \
		"$4" >"${I2_DIR[$1]}/etc/zones.conf"
}

@test "icinga2: daemon -C accepts the shipped configuration on a single node (examples/single)" {
	i2_node one xen1.example.org "$BT/i2"
	cp "$I"/xenvchan-{commands,templates,services}.conf "$I/examples/single/xen-guests.conf" \
		"${I2_DIR[one]}/etc/conf.d/"
	run i2_validate one
	assert_success
	assert_line --partial "Instantiated 18 Services."
	assert_line --partial "Instantiated 2 Hosts."
	refute_line --partial "warning/"
	refute_line --partial "critical/"
}

@test "icinga2: daemon -C accepts the distributed example, master and dom0 agent" {
	i2_pki "$BT/pki" master.example.org xen1.example.org
	# the master: zones.conf and zones.d as README.md says
	i2_node master master.example.org "$BT/m"
	i2_api master 5665
	local m=${I2_DIR[master]}/etc
	cp "$I/examples/distributed/master/zones.conf" "$m/zones.conf"
	mkdir -p "$m/zones.d/global-templates" "$m/zones.d/master"
	cp "$I/xenvchan-commands.conf" "$m/zones.d/global-templates/"
	cp "$I"/xenvchan-{templates,services}.conf "$I/examples/distributed/master/zones.d/master/xen-guests.conf" \
		"$m/zones.d/master/"
	run i2_validate master
	assert_success
	assert_line --partial "Instantiated 5 Hosts."
	assert_line --partial "Instantiated 26 Services."
	assert_line --partial "Instantiated 29 Dependencies."
	refute_line --partial "warning/"
	refute_line --partial "critical/"
	# every guest service runs on its dom0's agent
	run i2_objects master --type Service
	assert_success
	[ "$(grep -c '^Object .* of type .Service.' <<<"$output")" -eq 26 ]
	[ "$(grep -c '\* command_endpoint = "xen[12].example.org"' <<<"$output")" -eq 26 ]

	# with the host objects xenvchan-inventory writes on the dom0 xen2
	guest_add 5 app01
	guest_agent 5 <<<""
	invconf_run icinga2 xen2.example.org >"$m/zones.d/master/xen2-guests.conf"
	grep -q '^object Host "app01" {' "$m/zones.d/master/xen2-guests.conf"
	run i2_validate master
	assert_success
	assert_line --partial "Instantiated 6 Hosts."
	assert_line --partial "Instantiated 35 Services."
	assert_line --partial "Instantiated 39 Dependencies."
	refute_line --partial "warning/"
	run i2_objects master --type Host --name app01
	assert_line --partial '* command_endpoint = "xen2.example.org"'

	# the dom0's agent: zones.conf and api.conf from the example
	i2_node dom0 xen1.example.org "$BT/a"
	i2_api dom0 5665
	cp "$I/examples/distributed/dom0/zones.conf" "${I2_DIR[dom0]}/etc/zones.conf"
	sed '/^object ApiListener/,/^}/d' "${I2_DIR[dom0]}/etc/features-enabled/api.conf" >"$BT/apiuser.conf"
	cat "$I/examples/distributed/dom0/api.conf" "$BT/apiuser.conf" >"${I2_DIR[dom0]}/etc/features-enabled/api.conf"
	run i2_validate dom0
	assert_success
	assert_line --partial "Instantiated 3 Zones."
	refute_line --partial "warning/"
	refute_line --partial "critical/"
}

@test "icinga2: a running icinga2 runs the xenvchan CheckCommand; states and outputs from the probes (API)" {
	guest_add 5 web01
	guest_add 6 db01	# no agent
	guest_agent 5 <<EOF
command[check_load]=$PLUGINS/check_load -r -w 1000,1000,1000 -c 2000,2000,2000
command[check_total_procs]=$PLUGINS/check_procs -w 1 -c 1000000
command[check_disk_root]=$PLUGINS/check_disk -w 100% -c 100% -p /
command[check_users]=$PLUGINS/check_users -w 1000 -c 2000
command[check_swap]=$PLUGINS/check_dummy 1 "15% free"
EOF
	bridge_for_icinga
	i2_pki "$BT/pki" xen1.example.org
	i2_node one xen1.example.org "$BT/i2"
	i2_api one "$(i2_free_port)"
	i2_standalone_zone one
	cp "$I"/xenvchan-{commands,templates,services}.conf "${I2_DIR[one]}/etc/conf.d/"
	cat >"${I2_DIR[one]}/etc/conf.d/hosts.conf" <<EOF
object Host "web01.example.org" {
	import "xen-guest"
	vars.xenvchan_guest = "web01"
	vars.xenvchan_socket = "$BT/bridge.sock"
	vars.xenvchan_skip = [ "apt" ]
}
object Host "db01" {
	import "xen-guest"
	vars.xenvchan_socket = "$BT/bridge.sock"
	vars.xenvchan_skip = [ "apt" ]
}
EOF
	run i2_validate one
	assert_success
	i2_start one

	run i2_call one wait host web01.example.org 0 20
	assert_success
	assert_output --regexp '^0\|xen1.example.org\|xenvchan-agent v[0-9]'
	run i2_call one wait service web01.example.org load 0 20
	assert_success
	assert_output --regexp '^0\|xen1.example.org\|LOAD OK - scaled load average: '
	run i2_call one wait service web01.example.org procs 1 20
	assert_success
	assert_output --regexp '^1\|xen1.example.org\|PROCS WARNING: [0-9]+ processes'
	run i2_call one wait service web01.example.org disk-root 2 20
	assert_success
	assert_output --regexp '^2\|xen1.example.org\|DISK CRITICAL - free space: / '
	run i2_call one wait service web01.example.org users 0 20
	assert_success
	assert_output --regexp '^0\|xen1.example.org\|USERS OK - [0-9]+ users currently logged in'
	run i2_call one wait service web01.example.org swap 1 20
	assert_success
	assert_output '1|xen1.example.org|WARNING: 15% free'
	# a command the agent does not define
	run i2_call one wait service web01.example.org mem 3 20
	assert_success
	assert_output "3|xen1.example.org|XENVCHAN: Command 'check_mem' not defined"
	# the guest without an agent: DOWN with the reason, services UNKNOWN
	run i2_call one wait host db01 1 20
	assert_success
	assert_output "1|xen1.example.org|XENVCHAN: no agent is listening in guest 'db01'"
	run i2_call one wait service db01 load 3 20
	assert_success
	assert_output "3|xen1.example.org|XENVCHAN: no agent is listening in guest 'db01'"
	# apt left out where asked
	run i2_call one service web01.example.org apt
	assert_output "none"
	run i2_call one objects Service
	refute_line "web01.example.org!apt"
	assert_line "web01.example.org!disks"
}

@test "icinga2: distributed: the master's checks run on the dom0's agent, CheckCommand from the global zone" {
	guest_add 5 web01
	guest_agent 5 <<EOF
command[check_load]=$PLUGINS/check_load -r -w 1000,1000,1000 -c 2000,2000,2000
command[check_disk_root]=$PLUGINS/check_disk -w 100% -c 100% -p /
command[check_users]=$PLUGINS/check_dummy 1 "7 users currently logged in"
EOF
	bridge_for_icinga
	local mport aport
	mport=$(i2_free_port)
	aport=$(i2_free_port)
	i2_pki "$BT/pki" master.example.org xen1.example.org

	# the master: the example's zones (dom0 xen2 dropped: it never connects),
	# the CheckCommand only in the global zone
	i2_node master master.example.org "$BT/m"
	i2_api master "$mport"
	sed '/xen2/,/^}/d' "$I/examples/distributed/master/zones.conf" >"$BT/master-zones.conf"
	loopback_zones master "$mport" "$aport" "$BT/master-zones.conf"
	local m=${I2_DIR[master]}/etc
	mkdir -p "$m/zones.d/global-templates" "$m/zones.d/master"
	cp "$I/xenvchan-commands.conf" "$m/zones.d/global-templates/"
	cp "$I"/xenvchan-{templates,services}.conf "$m/zones.d/master/"
	cat >"$m/zones.d/master/xen-guests.conf" <<EOF
object Host "xen1.example.org" {
	check_command = "cluster-zone"
	check_interval = 1s
	retry_interval = 1s
}
object Host "web01" {
	import "xen-guest"
	vars.xenvchan_dom0 = "xen1.example.org"
	command_endpoint = vars.xenvchan_dom0
	vars.xenvchan_socket = "$BT/bridge.sock"
}
EOF
	# the dom0's agent: no object and no CheckCommand of its own
	i2_node dom0 xen1.example.org "$BT/a"
	i2_api dom0 "$aport"
	loopback_zones dom0 "$mport" "$aport" "$I/examples/distributed/dom0/zones.conf"
	run grep -rl "object CheckCommand" "${I2_DIR[dom0]}/etc"
	assert_failure

	i2_start dom0
	i2_start master
	# the host check and three services, each executed by the agent
	run i2_call master wait host web01 0 40 xen1.example.org
	assert_success
	assert_output --regexp '^0\|xen1.example.org\|xenvchan-agent v[0-9]'
	run i2_call master wait service web01 load 0 20 xen1.example.org
	assert_success
	assert_output --regexp '^0\|xen1.example.org\|LOAD OK - '
	run i2_call master wait service web01 disk-root 2 20 xen1.example.org
	assert_success
	assert_output --regexp '^2\|xen1.example.org\|DISK CRITICAL - '
	run i2_call master wait service web01 users 1 20 xen1.example.org
	assert_success
	assert_output '1|xen1.example.org|WARNING: 7 users currently logged in'
	# the agent got the CheckCommand through the config sync
	run grep -rl 'object CheckCommand "xenvchan"' "${I2_DIR[dom0]}/lib/api/zones/global-templates"
	assert_success
}

@test "icinga2: host objects from the inventory load and run; guest values stay values (no macro)" {
	guest_add 5 web01
	guest_add 6 evil
	guest_add 7 badname
	guest_add 9 noagent
	local n
	for n in 5 6 7; do
		guest_agent $n <<<"command[check_load]=$PLUGINS/check_load -w 1000,1000,1000 -c 2000,2000,2000"
	done
	hostile_guest 6
	xenstore-write /local/domain/7/name 'bad name;x'
	bridge_for_icinga
	i2_pki "$BT/pki" xen1.example.org
	i2_node one xen1.example.org "$BT/i2"
	i2_api one "$(i2_free_port)"
	i2_standalone_zone one
	local d=${I2_DIR[one]}/etc/conf.d
	cp "$I"/xenvchan-{commands,templates,services}.conf "$d/"
	# the test's own template (the bridge's socket in $BT) and, to show
	# that guest values are not macros, a secret and a service printing
	# the guest's words through macros
	cat >"$d/test.conf" <<EOT
template Host "xen-guest-test" {
	import "xen-guest"
	vars.xenvchan_socket = "$BT/bridge.sock"
	vars.secret = "SECRET"
}
apply Service "echo-guest" {
	check_command = "dummy"
	vars.dummy_text = "\$host.vars.guest_os_name\$ / \$host.vars.guest_hostname\$"
	assign where host.vars.xenvchan_guest
}
EOT
	invconf_run icinga2 - xen-guest-test >"$d/guests.conf" 2>"$BT/invconf.err"
	cat "$d/guests.conf" "$BT/invconf.err"
	run grep -c '^object Host ' "$d/guests.conf"
	assert_output 2
	run cat "$BT/invconf.err"
	assert_line --regexp 'domid 7.*object name'
	assert_line --regexp 'domid 9.*no-tree'
	run i2_validate one
	assert_success
	assert_line --partial "Instantiated 2 Hosts."
	refute_line --partial "warning/"
	i2_start one

	for n in web01 evil; do
		run i2_call one wait host $n 0 20
		assert_success
		assert_output --regexp '^0\|xen1.example.org\|xenvchan-agent v[0-9]'
		run i2_call one wait service $n load 0 20
		assert_success
		assert_output --regexp '^0\|xen1.example.org\|LOAD OK - '
	done
	# through macros, the guest's words come out as the inventory shows
	# them: "$host.vars.secret$" in them is text, not a macro
	run i2_call one wait service evil echo-guest 0 20
	assert_success
	assert_output "0|xen1.example.org|$HOSTILE_OS_SAFE / $HOSTILE_HOST_SAFE"
	refute_output --partial SECRET
	run i2_call one vars evil
	assert_success
	python3 -c 'import json, sys; v = json.loads(sys.argv[1]); sys.exit(not (v["xenvchan_domid"] == 6 and v["xenvchan_guest"] == "evil" and v["os"] == "Linux" and v["guest_os_name"] == sys.argv[2].replace("$", "$$")))' "$output" "$HOSTILE_OS_SAFE"
}
