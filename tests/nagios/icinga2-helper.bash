# SPDX-License-Identifier: GPL-2.0-or-later
# icinga2-helper.bash: the real Debian Icinga 2 (icinga2-bin) in temporary
# directories, for tests/bats/icinga2.bats.  Any number of instances
# ("nodes"), each with its own prefix: every path Icinga uses is moved there
# with -D constants (ConfigDir, DataDir, ZonesDir, ...), the main file is
# given with -c.  Nodes talk TLS on 127.0.0.1 with certificates of a test
# CA made with openssl.
#
#   i2_pki DIR NAME...        a CA and one certificate per node NAME in DIR
#   i2_node ID NAME DIR       make DIR the prefix of node ID (a shell word),
#                             whose NodeName is NAME: etc/icinga2.conf (what
#                             Debian's includes, less the sample conf.d),
#                             etc/zones.conf empty, etc/zones.d/, etc/conf.d/,
#                             the checker and a log file; $PluginDir is
#                             DIR/plugins (check_xenvchan from the build)
#   i2_api ID PORT            give node ID an API listener on 127.0.0.1:PORT,
#                             accepting config and commands, and an ApiUser
#                             "test" (password "test"); certificates from i2_pki
#   i2_standalone_zone ID     zones.conf of a node on its own (an API
#                             listener needs its own Endpoint and Zone)
#   i2_validate ID            icinga2 daemon -C (output under `run`)
#   i2_objects ID ARGS...     icinga2 object list ARGS (after i2_validate)
#   i2_start ID               start the daemon; waits until its log says all
#                             objects are active; PID in I2_PID[ID]
#   i2_stop ID                SIGTERM and wait (only what i2_start started)
#   i2_call ID ARGS...        tests/nagios/i2api.py against node ID's API
#   i2_teardown               stop every node started
#   i2_free_port              a free TCP port on 127.0.0.1
#
# As root the daemons run as the user nagios (as Debian's icinga2 service
# does: ICINGA2_USER); the prefixes are handed to that user.  Otherwise they
# run as the caller.

ICINGA2=${ICINGA2:-/usr/sbin/icinga2}
I2_API_PY=${XV_TOP:-.}/tests/nagios/i2api.py
declare -gA I2_DIR=() I2_NODE=() I2_PID=() I2_PORT=()

if [ "$(id -u)" = 0 ]; then
	I2_USER=nagios I2_GROUP=nagios
else
	I2_USER=$(id -un) I2_GROUP=$(id -gn)
fi

i2_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

i2_pki() {
	local dir=$1 n
	shift
	mkdir -p "$dir"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -out "$dir/ca.crt" \
		-days 2 -subj "/CN=xenvchan test CA" 2>/dev/null || return 1
	for n in "$@"; do
		openssl req -newkey rsa:2048 -nodes -keyout "$dir/$n.key" -out "$dir/$n.csr" \
			-subj "/CN=$n" 2>/dev/null &&
			openssl x509 -req -in "$dir/$n.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
				-CAcreateserial -out "$dir/$n.crt" -days 2 2>/dev/null || return 1
	done
	I2_PKI=$dir
}

# the -D options that move node $1 into its prefix
_i2_defs() {
	local d=${I2_DIR[$1]}
	echo "-DNodeName=${I2_NODE[$1]} -DConfigDir=$d/etc -DZonesDir=$d/etc/zones.d" \
		"-DDataDir=$d/lib -DLogDir=$d/log -DCacheDir=$d/cache -DSpoolDir=$d/spool" \
		"-DInitRunDir=$d/run -DPidPath=$d/run/icinga2.pid -DStatePath=$d/lib/icinga2.state" \
		"-DObjectsPath=$d/cache/icinga2.debug -DVarsPath=$d/cache/icinga2.vars" \
		"-DModAttrPath=$d/lib/modified-attributes.conf"
}

_i2() {
	local id=$1
	shift
	# shellcheck disable=SC2046
	ICINGA2_USER=$I2_USER ICINGA2_GROUP=$I2_GROUP "$ICINGA2" "$@" -c "${I2_DIR[$id]}/etc/icinga2.conf" $(_i2_defs "$id")
}

i2_node() {
	local id=$1 name=$2 d=$3
	I2_DIR[$id]=$d
	I2_NODE[$id]=$name
	mkdir -p "$d"/{etc/zones.d,etc/conf.d,etc/features-enabled,lib/certs,log,cache,spool,run,plugins}
	ln -sf "${XV_BIN:?}/check_xenvchan" "$d/plugins/check_xenvchan"
	cat >"$d/etc/icinga2.conf" <<EOF
/* test instance $name: Debian's icinga2.conf, less the sample conf.d */
const PluginDir = "$d/plugins"
const ManubulonPluginDir = "/usr/lib/nagios/plugins"
const PluginContribDir = "/usr/lib/nagios/plugins"
const ZoneName = NodeName
const TicketSalt = ""
include "zones.conf"
include <itl>
include <plugins>
include <plugins-contrib>
include "features-enabled/*.conf"
include_recursive "conf.d"
EOF
	: >"$d/etc/zones.conf"
	cat >"$d/etc/features-enabled/test.conf" <<EOF
object CheckerComponent "checker" { }
object FileLogger "main-log" {
	severity = "notice"
	path = LogDir + "/icinga2.log"
}
EOF
	chmod 755 "$d"
}

i2_api() {
	local id=$1 port=$2 d=${I2_DIR[$1]} name=${I2_NODE[$1]}
	I2_PORT[$id]=$port
	cp "$I2_PKI/ca.crt" "$d/lib/certs/ca.crt"
	cp "$I2_PKI/$name.crt" "$I2_PKI/$name.key" "$d/lib/certs/"
	cat >"$d/etc/features-enabled/api.conf" <<EOF
object ApiListener "api" {
	bind_host = "127.0.0.1"
	bind_port = $port
	accept_config = true
	accept_commands = true
}
object ApiUser "test" {
	password = "test"
	permissions = [ "*" ]
}
EOF
}

i2_standalone_zone() {
	cat >"${I2_DIR[$1]}/etc/zones.conf" <<'EOF'
object Endpoint NodeName { }
object Zone ZoneName {
	endpoints = [ NodeName ]
}
EOF
}

i2_objects() {
	local id=$1
	shift
	# shellcheck disable=SC2046
	ICINGA2_USER=$I2_USER ICINGA2_GROUP=$I2_GROUP "$ICINGA2" object list "$@" $(_i2_defs "$id")
}

i2_validate() {
	if [ "$(id -u)" = 0 ]; then chown -R "$I2_USER:$I2_GROUP" "${I2_DIR[$1]}"; fi
	_i2 "$1" daemon -C
}

i2_start() {
	local id=$1 d=${I2_DIR[$1]} i
	if [ "$(id -u)" = 0 ]; then chown -R "$I2_USER:$I2_GROUP" "$d"; fi
	# the daemon itself is our child (not a subshell), so that its PID is
	# the one we signal
	# shellcheck disable=SC2046
	ICINGA2_USER=$I2_USER ICINGA2_GROUP=$I2_GROUP "$ICINGA2" daemon -c "$d/etc/icinga2.conf" \
		$(_i2_defs "$id") >>"$d/daemon.out" 2>&1 3>&- &
	I2_PID[$id]=$!
	for i in $(seq 1 200); do
		grep -q "Activated all objects" "$d/daemon.out" 2>/dev/null && return 0
		kill -0 "${I2_PID[$id]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "icinga2 $id did not start:" >&2
	tail -30 "$d/daemon.out" >&2
	return 1
}

# PIDs of the descendants of $1 (children first found, recursively)
_i2_descendants() {
	local p c
	for p in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		echo "$p"
		_i2_descendants "$p"
	done
}

_i2_alive() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

# The daemon is a process tree (the main process, a process spawner, the
# worker; a reload replaces the worker): SIGTERM to the main process stops
# it all.  Whatever of that tree is left after 10 s is killed, by PID.
i2_stop() {
	local pid=${I2_PID[$1]:-} rc=0 kids p i
	[ -n "$pid" ] || return 0
	kids=$(_i2_descendants "$pid")
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		_i2_alive "$pid" || break
		sleep 0.1
	done
	_i2_alive "$pid" && { echo "icinga2 $1 ignored SIGTERM" >&2; kill -KILL "$pid"; rc=1; }
	wait "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		for p in $kids; do _i2_alive "$p" && break; p=; done
		[ -z "$p" ] && break
		sleep 0.1
	done
	for p in $kids; do
		if _i2_alive "$p" && grep -q icinga2 "/proc/$p/cmdline" 2>/dev/null; then
			echo "icinga2 $1: process $p left over, killed" >&2
			kill -KILL "$p" 2>/dev/null
			rc=1
		fi
	done
	I2_PID[$1]=
	return $rc
}

i2_call() {
	local id=$1
	shift
	python3 "$I2_API_PY" "${I2_PORT[$id]}" test test "$@"
}

i2_teardown() {
	local id
	for id in "${!I2_PID[@]}"; do
		i2_stop "$id" || true
	done
}
