# SPDX-License-Identifier: GPL-2.0-or-later
# nagios-helper.bash: the real Debian Nagios 4 (nagios4-core) in a temporary
# directory, for tests/bats/nagios.bats.
#
#   ng_init DIR             make DIR a Nagios instance: nagios.cfg (1-second
#                           interval_length, status.dat every second, no
#                           notifications, no retention), resource.cfg with
#                           $USER1$ = DIR/plugins (check_xenvchan from the
#                           build, check_nrpe from Debian), a test contact,
#                           and DIR/objects for object files
#   ng_add_cfg FILE...      load these object files too (cfg_file=)
#   ng_verify               nagios4 -v; output in $output under `run`
#   ng_start                start nagios4 in the foreground (its PID in
#                           $NG_PID), wait until it writes status.dat
#   ng_stop                 SIGTERM, wait (only the process ng_start started)
#   ng_service HOST SVC     "STATE|CHECKED|OUTPUT" of a service, from status.dat
#   ng_host HOST            "STATE|CHECKED|OUTPUT" of a host, from status.dat
#   ng_wait_service HOST SVC STATE [SECS]
#                           wait until the service has been checked and is in
#                           STATE (0-3); fails with what status.dat says
#   ng_wait_host HOST STATE [SECS]
#
# Every file Nagios writes is in DIR (including its query socket, whose
# default is in /var/lib/nagios4).  As root, Nagios drops to the user
# nagios (nagios_user=), as on a real system: DIR is handed to that user.
# Otherwise it runs as the caller.

NAGIOS=${NAGIOS:-/usr/sbin/nagios4}
NG_STATUS_PY=${XV_TOP:-.}/tests/nagios/status.py

ng_init() {
	NG_DIR=$1
	mkdir -p "$NG_DIR/objects" "$NG_DIR/plugins" "$NG_DIR/checkresults" "$NG_DIR/rw"
	ln -sf "${XV_BIN:?}/check_xenvchan" "$NG_DIR/plugins/check_xenvchan"
	ln -sf /usr/lib/nagios/plugins/check_nrpe "$NG_DIR/plugins/check_nrpe"
	ln -sf /usr/lib/nagios/plugins/check_dummy "$NG_DIR/plugins/check_dummy"
	local user=
	if [ "$(id -u)" = 0 ]; then
		user="nagios_user=nagios
nagios_group=nagios"
	fi
	cat >"$NG_DIR/nagios.cfg" <<EOF
log_file=$NG_DIR/nagios.log
resource_file=$NG_DIR/resource.cfg
cfg_file=$NG_DIR/objects/test-contacts.cfg
object_cache_file=$NG_DIR/objects.cache
precached_object_file=$NG_DIR/objects.precache
status_file=$NG_DIR/status.dat
status_update_interval=1
lock_file=$NG_DIR/nagios.lock
temp_file=$NG_DIR/nagios.tmp
temp_path=$NG_DIR
check_result_path=$NG_DIR/checkresults
command_file=$NG_DIR/rw/nagios.cmd
query_socket=$NG_DIR/rw/nagios.qh
state_retention_file=$NG_DIR/retention.dat
log_archive_path=$NG_DIR
debug_file=$NG_DIR/nagios.debug
debug_level=0
check_external_commands=1
$user
interval_length=1
service_inter_check_delay_method=n
host_inter_check_delay_method=n
max_service_check_spread=1
max_host_check_spread=1
service_interleave_factor=1
check_result_reaper_frequency=1
max_check_result_reaper_time=2
max_concurrent_checks=0
check_service_freshness=0
check_host_freshness=0
enable_notifications=0
enable_flap_detection=0
enable_event_handlers=0
process_performance_data=0
retain_state_information=0
use_syslog=0
log_rotation_method=n
log_initial_states=1
log_passive_checks=0
use_large_installation_tweaks=0
enable_environment_macros=0
service_check_timeout=60
host_check_timeout=30
event_broker_options=0
illegal_object_name_chars=\`~!\$%^&*|'"<>?,()=
illegal_macro_output_chars=\`~\$&|'"<>
EOF
	cat >"$NG_DIR/resource.cfg" <<EOF
\$USER1\$=$NG_DIR/plugins
EOF
	# what Debian's stock objects provide and the shipped templates use
	# (the time period 24x7, the contact group admins); never notified
	cat >"$NG_DIR/objects/test-contacts.cfg" <<'EOF'
define timeperiod {
	timeperiod_name	never
	alias		never
}
define timeperiod {
	timeperiod_name	24x7
	alias		always
	sunday		00:00-24:00
	monday		00:00-24:00
	tuesday		00:00-24:00
	wednesday	00:00-24:00
	thursday	00:00-24:00
	friday		00:00-24:00
	saturday	00:00-24:00
}
define contactgroup {
	contactgroup_name	admins
	alias			test
	members			test
}
define command {
	command_name	notify-nobody
	command_line	/bin/true
}
define contact {
	contact_name			test
	host_notifications_enabled	0
	service_notifications_enabled	0
	host_notification_period	never
	service_notification_period	never
	host_notification_options	n
	service_notification_options	n
	host_notification_commands	notify-nobody
	service_notification_commands	notify-nobody
}
EOF
	chmod 755 "$NG_DIR"
	if [ "$(id -u)" = 0 ]; then chown -R nagios:nagios "$NG_DIR"; fi
	NG_PID=
	return 0
}

ng_add_cfg() {
	local f
	for f in "$@"; do
		echo "cfg_file=$f" >>"$NG_DIR/nagios.cfg"
	done
}

ng_verify() {
	"$NAGIOS" -v "$NG_DIR/nagios.cfg"
}

ng_start() {
	local i
	rm -f "$NG_DIR/status.dat"
	"$NAGIOS" "$NG_DIR/nagios.cfg" >>"$NG_DIR/nagios.out" 2>&1 3>&- &
	NG_PID=$!
	for i in $(seq 1 100); do
		[ -s "$NG_DIR/status.dat" ] && return 0
		kill -0 "$NG_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "nagios4 did not start:" >&2
	cat "$NG_DIR/nagios.out" "$NG_DIR/nagios.log" >&2 2>/dev/null
	return 1
}

ng_stop() {
	local rc=0
	[ -n "${NG_PID:-}" ] || return 0
	kill -TERM "$NG_PID" 2>/dev/null
	wait "$NG_PID" || rc=$?
	NG_PID=
	return $rc
}

ng_service() {
	python3 "$NG_STATUS_PY" "$NG_DIR/status.dat" service "$1" "$2"
}

ng_host() {
	python3 "$NG_STATUS_PY" "$NG_DIR/status.dat" host "$1"
}

# ng_wait_* KIND ARGS... STATE SECS
_ng_wait() {
	local want=$1 secs=$2 got i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		got=$(python3 "$NG_STATUS_PY" "$NG_DIR/status.dat" "$@" 2>/dev/null) || got=
		case $got in
		"$want|1|"*) echo "$got"; return 0 ;;
		esac
		sleep 0.1
	done
	echo "$* never reached state $want in ${secs}s; last: ${got:-none}" >&2
	return 1
}

ng_wait_service() {
	_ng_wait "$3" "${4:-30}" service "$1" "$2"
}

ng_wait_host() {
	_ng_wait "$2" "${3:-30}" host "$1"
}
