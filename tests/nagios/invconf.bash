# SPDX-License-Identifier: GPL-2.0-or-later
# invconf.bash: host objects from the inventory (host-bridge/invconf), for
# tests/bats/nagios.bats and icinga2.bats.
#
#   invconf_run nagios|icinga2 [DOM0|- [TEMPLATE]]
#       the host objects of every domain in xenstore ($XENSTORED_PATH) on
#       stdout: "xenvchan-inventory --nagios|--icinga2 [--dom0 DOM0]
#       [--template TEMPLATE]".
#   hostile_guest N             publish, as guest N (its agent must be
#                               running: it writes the tree first), values
#                               made to break configuration files; the
#                               expected safe text of each is in
#                               HOSTILE_OS_SAFE and HOSTILE_HOST_SAFE

# OS name and hostname a hostile guest publishes, and the safe text the
# inventory turns them into (newline -> \x0A, backslash doubled)
HOSTILE_OS=$'Evil; OS $host.vars.secret$ "q" \\b}\n'"define host { ü"
HOSTILE_OS_SAFE='Evil; OS $host.vars.secret$ "q" \\b}\x0Adefine host { ü'
HOSTILE_HOST='h;o"st$USER1$'
HOSTILE_HOST_SAFE='h;o"st$USER1$'

invconf_run() {
	local fmt=$1 dom0=${2:--} tmpl=${3:-} args
	args=("--$fmt")
	[ "$dom0" != - ] && args+=(--dom0 "$dom0")
	[ -n "$tmpl" ] && args+=(--template "$tmpl")
	"$XV_BIN/xenvchan-inventory" "${args[@]}"
}

# xenstore-write reads backslash escapes in values: a backslash is "\\"
hostile_guest() {
	xsemu_as "$1" xenstore-write data/guest/os/pretty-name "${HOSTILE_OS//\\/\\\\}" \
		data/guest/os/hostname "${HOSTILE_HOST//\\/\\\\}"
}
