#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# contrib/nagios in the real Debian Nagios 4 (nagios4-core): the shipped
# objects pass nagios4 -v (alone and inside Debian's stock configuration),
# and a running nagios4, with 1-second intervals, checks emulated guests
# through check_xenvchan and the bridge (and through check_nrpe and the
# bridge's NRPE listener): the services reach the states the probes return,
# read back from Nagios' own status.dat.

load 'bridge-helper'
load '../nagios/nagios-helper'
load '../nagios/invconf'

C=$XV_TOP/contrib/nagios

setup_file() {
	# the daemon itself is a test dependency: install it if we can
	"$XV_TOP/scripts/deps.sh" nagios >&3 2>&1 || true
}

setup() {
	[ -x "$NAGIOS" ] || skip "nagios4 is not installed and cannot be (run as root: scripts/deps.sh nagios)"
	bridge_setup
	ng_init "$BT/nagios"
	NG_PID=
}

teardown() {
	ng_stop || true
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${NG_DIR:-}" ]; then
		echo "# ---- nagios.log" >&3
		tail -30 "$NG_DIR/nagios.log" 2>/dev/null | sed "s/^/# /" >&3
		echo "# ---- status.dat" >&3
		python3 "$NG_STATUS_PY" "$NG_DIR/status.dat" dump 2>/dev/null | sed "s/^/# /" >&3
	fi
	bridge_teardown
}

# nagios4 -v must say 0 warnings and 0 errors
assert_verified() {
	assert_success
	assert_line --regexp '^Total Warnings: +0$'
	assert_line --regexp '^Total Errors: +0$'
}

# The bridge's socket, open to the user Nagios runs as (as on a real dom0,
# where nagios is in the group of socket_group=).
bridge_for_nagios() {
	if [ "$(id -u)" = 0 ]; then
		bridge_config <<EOF
socket_mode=0660
socket_group=nagios
allowed_gids=nagios
$*
EOF
	else
		bridge_config <<<"$*"
	fi
	bridge_start
}

@test "nagios: nagios4 -v accepts the shipped objects with each example (no warning)" {
	ng_add_cfg "$C/xenvchan-commands.cfg" "$C/xenvchan-templates.cfg" \
		"$C/xenvchan-services.cfg" "$C/examples/guests.cfg"
	run ng_verify
	assert_verified
	assert_line --regexp 'Checked 18 services\.'

	ng_init "$BT/nagios-nrpe"
	ng_add_cfg "$C/xenvchan-commands.cfg" "$C/xenvchan-templates.cfg" \
		"$C/xenvchan-services-nrpe.cfg" "$C/examples/guests-nrpe.cfg"
	run ng_verify
	assert_verified
	assert_line --regexp 'Checked 18 services\.'
	assert_line --regexp 'Checked 3 hosts\.'
}

@test "nagios: the shipped objects drop into Debian's stock configuration (nagios4 -v)" {
	[ -r /etc/nagios4/nagios.cfg ] || skip "no /etc/nagios4/nagios.cfg"
	local d=$BT/stock
	mkdir -p "$d/conf.d"
	cp "$C"/xenvchan-*.cfg "$d/conf.d/"
	rm "$d/conf.d/xenvchan-services-nrpe.cfg"
	cp "$C/examples/guests.cfg" "$d/conf.d/"
	# Debian's nagios.cfg, with our directory for conf.d and, so that it
	# also works for a user other than root and nagios, its own resource
	# file and check result directory
	mkdir -p "$d/checkresults"
	echo '$USER1$=/usr/lib/nagios/plugins' >"$d/resource.cfg"
	sed -e "s|^cfg_dir=/etc/nagios4/conf.d\$|cfg_dir=$d/conf.d|" \
		-e "s|^resource_file=.*|resource_file=$d/resource.cfg|" \
		-e "s|^check_result_path=.*|check_result_path=$d/checkresults|" \
		/etc/nagios4/nagios.cfg >"$d/nagios.cfg"
	grep -q "^cfg_dir=$d/conf.d\$" "$d/nagios.cfg"
	chmod -R a+rX "$d"
	if [ "$(id -u)" = 0 ]; then chown nagios "$d/checkresults"; fi
	run "$NAGIOS" -v "$d/nagios.cfg"
	assert_verified
	# Debian's localhost services plus ours
	assert_line --regexp 'Checked ([2-9][0-9]) services\.'
}

@test "nagios: a running nagios4 checks the catalogue through check_xenvchan; states from the probes" {
	sed "s|/usr/lib/nagios/plugins/check_mem|$XV_BIN/check_mem|" "$XV_TOP/probes/default.cfg" \
		>"$BT/catalogue.cfg"
	guest_add 5 web01
	guest_add 6 db01	# a guest without an agent
	# the real catalogue, three probes made to give known states
	guest_agent 5 <<EOF
include=$BT/catalogue.cfg
command[check_load]=$PLUGINS/check_load -r -w 1000,1000,1000 -c 2000,2000,2000
command[check_total_procs]=$PLUGINS/check_procs -w 1 -c 1000000
command[check_disk_root]=$PLUGINS/check_disk -w 100% -c 100% -p /
EOF
	bridge_for_nagios
	cat >"$NG_DIR/objects/hosts.cfg" <<EOF
define host {
	use			xen-guest
	host_name		web01.example.org
	_DOMAIN			web01
	_XENVCHAN_SOCKET	$BT/bridge.sock
}
define host {
	use			xen-guest
	host_name		db01
	_DOMAIN			db01
	_XENVCHAN_SOCKET	$BT/bridge.sock
}
EOF
	ng_add_cfg "$C/xenvchan-commands.cfg" "$C/xenvchan-templates.cfg" \
		"$C/xenvchan-services.cfg" "$NG_DIR/objects/hosts.cfg"
	run ng_verify
	assert_verified
	ng_start

	# the guest with an agent: UP, its agent's version as output
	run ng_wait_host web01.example.org 0
	assert_success
	assert_output --regexp '^0\|1\|xenvchan-agent v[0-9]'

	# the probes made to fail or pass
	run ng_wait_service web01.example.org load 0
	assert_success
	assert_output --regexp '^0\|1\|LOAD OK - '
	run ng_wait_service web01.example.org procs 1
	assert_success
	assert_output --regexp '^1\|1\|PROCS WARNING: [0-9]+ processes'
	run ng_wait_service web01.example.org disk-root 2
	assert_success
	assert_output --regexp '^2\|1\|DISK CRITICAL - free space: / '

	# the others as the probes say, asked the same way by hand
	local svc cmd want
	for svc in disks:check_disks swap:check_swap mem:check_mem zombie-procs:check_zombie_procs \
		users:check_users apt:check_apt; do
		cmd=${svc#*:} svc=${svc%%:*}
		run cx -H web01 -c "$cmd" -t 40
		want=$status
		echo "$svc by hand: $want ${output:0:70}"
		[ "$want" -le 3 ]
		local text=${output%%[0-9]*}
		run ng_wait_service web01.example.org "$svc" "$want" 40
		assert_success
		# the text up to the first figure (figures move)
		[[ ${output#*|*|} == "$text"* ]] || fail "$svc: Nagios has '${output:0:80}', expected '$text...'"
	done

	# the guest without an agent: DOWN, and its services UNKNOWN saying why
	run ng_wait_host db01 1
	assert_success
	assert_output "1|1|XENVCHAN: no agent is listening in guest 'db01'"
	run ng_wait_service db01 load 3
	assert_success
	assert_output "3|1|XENVCHAN: no agent is listening in guest 'db01'"

	# Nagios ran as its own user, not as root (status.dat is its file)
	if [ "$(id -u)" = 0 ]; then
		[ "$(stat -c %U "$NG_DIR/status.dat")" = nagios ]
	fi
}

@test "nagios: a nagios user the bridge does not allow gets UNKNOWN access denied" {
	[ "$(id -u)" = 0 ] || skip "needs root (nagios4 runs as the user nagios)"
	guest_add 5 web01
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	# the socket is reachable (0666) but only root and the group root may use it
	bridge_config <<<$'socket_mode=0666\nallowed_gids=root'
	bridge_start
	cat >"$NG_DIR/objects/hosts.cfg" <<EOF
define host {
	use			xen-guest
	host_name		web01
	_DOMAIN			web01
	_XENVCHAN_SOCKET	$BT/bridge.sock
}
define service {
	use			xenvchan-service
	host_name		web01
	service_description	ok
	check_command		check_xenvchan!ok
}
EOF
	ng_add_cfg "$C/xenvchan-commands.cfg" "$C/xenvchan-templates.cfg" "$NG_DIR/objects/hosts.cfg"
	ng_start
	run ng_wait_service web01 ok 3
	assert_success
	assert_output --partial "access denied"
	run cx -H web01 -c ok
	assert_success
	assert_output "OK: fine"
}

@test "nagios: through the bridge's NRPE listener with check_nrpe (xen-guest-nrpe, xen-dom0-nrpe)" {
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	guest_add 5 web01
	guest_agent 5 <<EOF
command[check_load]=$PLUGINS/check_load -r -w 1000,1000,1000 -c 2000,2000,2000
command[check_disk_root]=$PLUGINS/check_disk -w 100% -c 100% -p /
command[check_users]=$PLUGINS/check_dummy 1 "7 users currently logged in"
EOF
	bridge_config <<EOF
nrpe_listen=1
nrpe_address=127.0.0.1
nrpe_port=$port
nrpe_tls=0
EOF
	bridge_start
	cat >"$NG_DIR/objects/hosts.cfg" <<EOF
define host {
	use			xen-dom0-nrpe
	host_name		xen1
	address			127.0.0.1
	_XENVCHAN_NRPE_PORT	$port
	_XENVCHAN_NRPE_OPTS	-u -n
}
define host {
	use			xen-guest-nrpe
	host_name		web01
	parents			xen1
	_DOMAIN			web01
	_DOM0			127.0.0.1
	_XENVCHAN_NRPE_PORT	$port
	_XENVCHAN_NRPE_OPTS	-u -n
}
EOF
	ng_add_cfg "$C/xenvchan-commands.cfg" "$C/xenvchan-templates.cfg" \
		"$C/xenvchan-services-nrpe.cfg" "$NG_DIR/objects/hosts.cfg"
	run ng_verify
	assert_verified
	ng_start
	run ng_wait_host xen1 0
	assert_success
	assert_output --regexp '^0\|1\|xenvchan-bridge'
	run ng_wait_host web01 0
	assert_success
	assert_output --regexp '^0\|1\|xenvchan-agent v[0-9]'
	run ng_wait_service web01 load 0
	assert_success
	assert_output --regexp '^0\|1\|LOAD OK - '
	run ng_wait_service web01 disk-root 2
	assert_success
	assert_output --regexp '^2\|1\|DISK CRITICAL - '
	run ng_wait_service web01 users 1
	assert_success
	assert_output '1|1|WARNING: 7 users currently logged in'
	# a command the agent does not define: UNKNOWN with the agent's reason
	run ng_wait_service web01 swap 3
	assert_success
	assert_output "3|1|XENVCHAN: Command 'check_swap' not defined"
}

# "KEY<TAB>VALUE" custom variables of a host in objects.precache (nagios4 -vp)
precache_var() {
	awk -v h="$1" -v k="$2" '
		/^define host \{/ { inhost = 1; name = ""; next }
		inhost && /^\t}/ { inhost = 0; next }
		inhost && $1 == "host_name" { name = $2 }
		inhost && name == h { split($0, f, "\t"); if (f[2] == k) { sub(/^\t[^\t]*\t/, ""); print } }
	' "$NG_DIR/objects.precache"
}

@test "nagios: host objects from the inventory load and run; hostile guest values stay values" {
	guest_add 5 web01
	guest_add 6 evil
	guest_add 7 badname
	guest_add 9 noagent
	local n
	for n in 5 6 7; do
		guest_agent $n <<<"command[check_load]=$PLUGINS/check_load -w 1000,1000,1000 -c 2000,2000,2000"
	done
	hostile_guest 6
	# a name the toolstack would refuse (the emulator does): written as dom0
	xenstore-write /local/domain/7/name 'bad name;x'
	bridge_for_nagios
	# a template of the test's own, for the bridge's socket in $BT
	cat >"$NG_DIR/objects/test-template.cfg" <<EOF
define host {
	name			xen-guest-test
	use			xen-guest
	register		0
	_XENVCHAN_SOCKET	$BT/bridge.sock
}
EOF
	invconf_run nagios - xen-guest-test >"$NG_DIR/objects/guests.cfg" 2>"$BT/invconf.err"
	cat "$NG_DIR/objects/guests.cfg"
	cat "$BT/invconf.err"
	run grep -c '^define host {' "$NG_DIR/objects/guests.cfg"
	assert_output 2
	run grep -E '^[[:space:]]+host_name' "$NG_DIR/objects/guests.cfg"
	assert_line --regexp 'host_name +web01$'
	assert_line --regexp 'host_name +evil$'
	# skipped, each with its reason, and named in the file by domid only
	run cat "$BT/invconf.err"
	assert_line --regexp 'domid 7.*object name'
	assert_line --regexp 'domid 9.*no-tree'
	refute_output --partial 'bad name'
	run grep -c 'bad name' "$NG_DIR/objects/guests.cfg"
	assert_output 0

	ng_add_cfg "$C/xenvchan-commands.cfg" "$C/xenvchan-templates.cfg" "$C/xenvchan-services.cfg" \
		"$NG_DIR/objects/test-template.cfg" "$NG_DIR/objects/guests.cfg"
	run ng_verify
	assert_verified
	assert_line --regexp 'Checked 2 hosts\.'
	# the values Nagios read are exactly what the inventory shows (safe text)
	"$NAGIOS" -vp "$NG_DIR/nagios.cfg" >/dev/null
	run precache_var evil _OS_NAME
	assert_output "$HOSTILE_OS_SAFE"
	run precache_var evil _GUEST_HOSTNAME
	assert_output "$HOSTILE_HOST_SAFE"
	run precache_var evil _DOMAIN
	assert_output evil
	run precache_var evil _DOMID
	assert_output 6
	run precache_var web01 _OS
	assert_output Linux

	# and they work: both guests UP, their check_load OK
	ng_start
	for n in web01 evil; do
		run ng_wait_host $n 0
		assert_success
		assert_output --regexp '^0\|1\|xenvchan-agent v[0-9]'
		run ng_wait_service $n load 0
		assert_success
		assert_output --regexp '^0\|1\|LOAD OK - '
	done
}

@test "nagios: host objects from the inventory: one object per name, dom0 and template as asked" {
	guest_add 5 web01
	guest_add 8 web02
	guest_agent 5 <<<""
	guest_agent 8 <<<""
	# two domains of one name (xl refuses it, a migration may show it)
	xenstore-write /local/domain/8/name web01
	run invconf_run nagios 192.0.2.10 xen-guest-nrpe
	assert_line --regexp 'domid 8.*same name'
	run invconf_run nagios 192.0.2.10 xen-guest-nrpe 2>/dev/null
	[ "$(grep -c '^define host {' <<<"$output")" -eq 1 ]
	assert_line --regexp '^[[:space:]]+use +xen-guest-nrpe$'
	assert_line --regexp '^[[:space:]]+_DOM0 +192\.0\.2\.10$'
	assert_line --regexp '^[[:space:]]+_DOMID +5$'
	# bad options are refused
	run invconf_run nagios 'a b'
	assert_failure
	run invconf_run nagios - 'x;y'
	assert_failure
}
