#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Hardening, checked from where it matters:
#   - probes, seen from inside one (tests/tools/probe-env), when the agent
#     runs as root: an unprivileged user (nrpe_user), its group and only its
#     groups, no capabilities, no way back to root, their own process group,
#     stdin/stdout/stderr and nothing else open, and exactly the minimal
#     environment (PATH, LC_ALL, NRPE_MULTILINESUPPORT, NRPE_PROGRAMVERSION)
#     plus keep_env_vars; and nothing above it reachable: the root agent
#     (kill, ptrace, /proc/PID/mem) nor the probe helper (ptrace, memory);
#     a reload with another nrpe_user replaces the helper;
#   - the bridge's local socket: peer credentials decide, for clients run as
#     other users with setpriv;
#   - the NRPE listener's TLS: no anonymous (or unencrypted, or pre-1.2)
#     suite unless nrpe_allow_anonymous_tls=1, as openssl s_client and
#     check_nrpe see it.

load 'bridge-helper'
load '../soak/lib'

CHECK_NRPE=${CHECK_NRPE:-/usr/lib/nagios/plugins/check_nrpe}
MAKE_CERTS=$XV_TOP/tests/fixtures/tls/make-certs.sh
PROBE_ENV=${PROBE_ENV:-$XV_BUILD/tests/tools/probe-env}

setup() {
	bridge_setup
	guest_add 5 web01
}

teardown() {
	bridge_teardown
}

need_root() {
	[ "$(id -u)" = 0 ] || skip "$1 needs root (CI runs the tests as root)"
}

# the probe, where nobody can run it
probe_env_install() {
	cp "$PROBE_ENV" "$BT/probes/probe-env"
	chmod 755 "$BT/probes/probe-env"
}

# ---- probes -----------------------------------------------------------------

@test "hardening: a probe runs as nobody: its uid, gid and groups only, no capability, no way back to root" {
	need_root "changing a probe's identity"
	probe_env_install
	guest_agent 5 <<<"command[env]=$BT/probes/probe-env"
	bridge_start
	run cx -H web01 -c env
	echo "$output"
	assert_success
	local uid gid
	uid=$(id -u nobody) gid=$(id -g nobody)
	assert_line --index 0 "OK - probe-env"
	assert_line "uid $uid $uid $uid"
	assert_line "gid $gid $gid $gid"
	# initgroups(nobody): its own group, nothing of root's
	assert_line "groups $(id -G nobody | tr ' ' '\n' | sort -n | paste -sd,)"
	assert_line "setuid0 EPERM"
	assert_line --regexp '^caps 0+ 0+ [0-9a-f]+$'
	assert_line "pgrp own"
	# stdin from /dev/null, stdout and stderr pipes to the agent: nothing
	# of the agent's (its channel, xenstore, the log) is open
	assert_equal "$(grep -c '^fd ' <<<"$output")" 3
	assert_line "fd 0 /dev/null"
	assert_line "fd 1 pipe"
	assert_line "fd 2 pipe"
}

@test "hardening: a probe's environment is exactly PATH, LC_ALL, NRPE_MULTILINESUPPORT, NRPE_PROGRAMVERSION and keep_env_vars" {
	need_root "changing a probe's identity"
	probe_env_install
	{
		echo "channel=socket:$BT/ch"
		echo "command[env]=$BT/probes/probe-env"
		echo "keep_env_vars=XV_KEPT,XV_UNSET,TZ"
	} >"$BT/agent-5.cfg"
	# the agent's own environment holds more, secrets included
	XV_KEPT="kept value" XV_SECRET=hunter2 TZ=Europe/Paris LD_PRELOAD= \
		guest_agent_start 5
	bridge_start
	run cx -H web01 -c env
	echo "$output"
	assert_success
	local version
	version=$("$AGENT" -V | awk '{ print $2 }')
	run grep '^env ' <<<"$output"
	assert_output "env LC_ALL=C
env NRPE_MULTILINESUPPORT=1
env NRPE_PROGRAMVERSION=$version
env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
env TZ=Europe/Paris
env XV_KEPT=kept value"
	# without keep_env_vars: the four alone
	sed -i '/^keep_env_vars=/d' "$BT/agent-5.cfg"
	kill -HUP "${AGENT_PIDS[5]}"
	for i in $(seq 50); do grep -q "configuration reloaded" "$BT/agent-5.log" && break; sleep 0.05; done
	run cx -H web01 -c env
	run grep -c '^env ' <<<"$output"
	assert_output 4
}

@test "hardening: a probe cannot signal, ptrace or read the memory of the root agent, nor ptrace or read its helper" {
	need_root "probes running as another user"
	cp "$XV_BUILD/tests/tools/probe-reach" "$BT/probes/probe-reach"
	chmod 755 "$BT/probes/probe-reach"
	guest_agent 5 <<<"command[reach]=$BT/probes/probe-reach $BT/agent.pid"
	echo "${AGENT_PIDS[5]}" >"$BT/agent.pid"
	chmod 644 "$BT/agent.pid"
	bridge_start
	run cx -H web01 -c reach
	echo "$output"
	assert_success
	assert_line --index 0 "OK - probe-reach"
	# another uid: no signal, no ptrace, no /proc/PID/mem
	assert_line "agent kill EPERM"
	assert_line "agent ptrace EPERM"
	assert_line "agent mem EACCES"
	# the helper shares the probe's uid (a probe may kill it: the agent
	# starts another), but it is not dumpable: no ptrace, no memory
	assert_line "helper ptrace EPERM"
	assert_line "helper mem EACCES"
	# the helper is the agent's child, the probe the helper's
	local helper
	helper=$(pgrep -P "${AGENT_PIDS[5]}")
	[ -n "$helper" ]
	assert_equal "$(awk '/^Uid:/ { print $2 }' "/proc/$helper/status")" "$(id -u nobody)"
	assert_equal "$(awk '/^CapEff:/ { print $2 }' "/proc/$helper/status")" 0000000000000000
}

@test "hardening: a reload with another nrpe_user replaces the probe helper" {
	need_root "changing a probe's identity"
	probe_env_install
	guest_agent 5 <<<"command[env]=$BT/probes/probe-env"
	bridge_start
	run cx -H web01 -c env
	assert_line "uid $(id -u nobody) $(id -u nobody) $(id -u nobody)"
	local old new uid
	old=$(pgrep -P "${AGENT_PIDS[5]}")
	[ -n "$old" ]
	echo "nrpe_user=daemon" >>"$BT/agent-5.cfg"
	kill -HUP "${AGENT_PIDS[5]}"
	for i in $(seq 50); do grep -q "configuration reloaded" "$BT/agent-5.log" && break; sleep 0.05; done
	run cx -H web01 -c env
	echo "$output"
	uid=$(id -u daemon)
	assert_line "uid $uid $uid $uid"
	assert_line "gid $(id -g daemon) $(id -g daemon) $(id -g daemon)"
	grep -q "probe identity changed: replacing the probe helper" "$BT/agent-5.log"
	# the old helper had nothing in flight: it is gone, one helper is left
	for i in $(seq 50); do [ -d "/proc/$old" ] || break; sleep 0.05; done
	[ ! -d "/proc/$old" ]
	new=$(pgrep -P "${AGENT_PIDS[5]}")
	[ -n "$new" ] && [ "$new" != "$old" ]
	assert_equal "$(awk '/^Uid:/ { print $2 }' "/proc/$new/status")" "$uid"
	# the same user again: the helper stays
	kill -HUP "${AGENT_PIDS[5]}"
	sleep 0.3
	assert_equal "$(pgrep -P "${AGENT_PIDS[5]}")" "$new"
}

# ---- the local socket -----------------------------------------------------------

# as USER [GROUPS] -- check_xenvchan ARGS...: run check_xenvchan as USER
# (its primary group, and only the supplementary GROUPS, comma-separated)
as() {
	local user=$1 groups=$2
	shift 2
	if [ -n "$groups" ]; then
		setpriv --reuid="$user" --regid="$(id -g "$user")" --groups="$groups" "$CHECK" "$@"
	else
		setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups "$CHECK" "$@"
	fi
}

@test "hardening: the local socket serves only the allowed uids and gids (peer credentials, setpriv)" {
	need_root "running check_xenvchan as other users"
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	# the file is open to all: only the peer credentials decide
	bridge_config <<EOF
socket_mode=0666
allowed_uids=daemon
allowed_gids=adm
EOF
	bridge_start
	local s=(-s "$BT/bridge.sock" -H web01 -c ok)
	# a listed user
	run as daemon "" "${s[@]}"
	assert_success
	assert_output "OK: fine"
	# a member of a listed group, by a supplementary group only
	run as nobody "$(getent group adm | cut -d: -f3)" "${s[@]}"
	assert_success
	assert_output "OK: fine"
	# anyone else: refused with the reason, and logged
	run as nobody "" "${s[@]}"
	assert_equal "$status" 3
	assert_output "XENVCHAN: access denied: uid $(id -u nobody) (gid $(id -g nobody)) is not allowed to use the bridge (allowed_uids/allowed_gids)"
	grep -q "uid $(id -u nobody) refused" "$BT/bridge.log"
	run as bin "" "${s[@]}"
	assert_equal "$status" 3
	assert_output --partial "access denied: uid $(id -u bin) "
	# root, the bridge's own user, always
	run "$CHECK" "${s[@]}"
	assert_success
	# a refused client costs nothing: the bridge serves the next one
	kill -0 "$BRIDGE_PID"
	run as daemon "" "${s[@]}"
	assert_success
}

@test "hardening: the socket file keeps others out before any credential is looked at" {
	need_root "running check_xenvchan as other users"
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	bridge_config <<EOF
socket_mode=0660
socket_group=adm
EOF
	bridge_start
	assert_equal "$(stat -c '%a %U %G' "$BT/bridge.sock")" "660 root adm"
	run as nobody "" -s "$BT/bridge.sock" -H web01 -c ok
	assert_equal "$status" 3
	assert_output "XENVCHAN: cannot connect to the bridge at $BT/bridge.sock: Permission denied"
	run as nobody "$(getent group adm | cut -d: -f3)" -s "$BT/bridge.sock" -H web01 -c ok
	assert_success
	assert_output "OK: fine"
}

# ---- TLS on the NRPE listener -------------------------------------------------------

# s_client ARGS...: a TLS handshake; prints "Protocol CIPHER" or "failed"
s_client() {
	local out
	out=$(timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -brief "$@" </dev/null 2>&1)
	if grep -q "^CONNECTION ESTABLISHED" <<<"$out"; then
		echo "$(sed -n 's/^Protocol version: //p' <<<"$out") $(sed -n 's/^Ciphersuite: //p' <<<"$out")"
	else
		echo failed
	fi
}

@test "hardening: TLS with a certificate refuses anonymous, unencrypted and pre-1.2 suites" {
	"$MAKE_CERTS" "$BT/tls" >/dev/null
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	nrpe_start nrpe_cert_file="$BT/tls/server.pem" nrpe_key_file="$BT/tls/server.key"
	run s_client -tls1_2 -cipher 'aNULL:@SECLEVEL=0'
	echo "anonymous (aNULL): $output"
	assert_output failed
	run s_client -tls1_2 -cipher 'eNULL:@SECLEVEL=0'
	echo "unencrypted (eNULL): $output"
	assert_output failed
	run s_client -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
	echo "TLS 1.1: $output"
	assert_output failed
	run s_client -tls1_2
	echo "TLS 1.2: $output"
	assert_output --regexp '^TLSv1.2 ECDHE-'
	run s_client
	echo "default: $output"
	assert_output --regexp '^TLSv1.3 TLS_'
	# check_nrpe asking for anonymous DH only (-d 2) fails, its default works
	run "$CHECK_NRPE" -H 127.0.0.1 -p "$PORT" -d 2 -S TLSv1.2 -c web01/ok
	assert_equal "$status" 2
	assert_output --partial "Could not complete SSL handshake"
	run "$CHECK_NRPE" -H 127.0.0.1 -p "$PORT" -c web01/ok
	assert_success
	assert_output "OK: fine"
	# plain NRPE (check_nrpe -n) gets a reason, never a routed check
	run "$CHECK_NRPE" -H 127.0.0.1 -p "$PORT" -n -c web01/ok
	assert_equal "$status" 3
	assert_output "XENVCHAN: this listener speaks TLS only: call check_nrpe without -n"
}

@test "hardening: anonymous suites only with nrpe_allow_anonymous_tls=1, and then only in TLS 1.2" {
	"$MAKE_CERTS" "$BT/tls" >/dev/null
	guest_agent 5 <<<"command[ok]=$PLUGINS/check_dummy 0 fine"
	nrpe_start nrpe_cert_file="$BT/tls/server.pem" nrpe_key_file="$BT/tls/server.key" \
		nrpe_allow_anonymous_tls=1
	run s_client -tls1_2 -cipher 'aNULL:@SECLEVEL=0'
	echo "anonymous (aNULL): $output"
	assert_output --regexp '^TLSv1.2 ADH-'
	run s_client -tls1_2 -cipher 'eNULL:@SECLEVEL=0'
	assert_output failed
	# a client that can authenticate the server still gets a certificate suite
	run s_client
	assert_output --regexp '^TLSv1.3 TLS_'
	bridge_stop
	# anonymous only (no certificate): nothing but TLS 1.2 ADH
	nrpe_start nrpe_allow_anonymous_tls=1
	run s_client -tls1_2 -cipher 'aNULL:@SECLEVEL=0'
	assert_output --regexp '^TLSv1.2 ADH-'
	run s_client -tls1_3
	assert_output failed
	run s_client -tls1_2 -cipher 'ECDHE-RSA-AES128-GCM-SHA256'
	assert_output failed
	run "$CHECK_NRPE" -H 127.0.0.1 -p "$PORT" -c web01/ok
	assert_success
	assert_output "OK: fine"
}
