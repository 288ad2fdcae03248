# SPDX-License-Identifier: GPL-2.0-or-later
# tests/xen/steps/domu.sh - what each domU does; sourced by its /init (busybox
# sh, root, Xen modules loaded, MYDOMID and MYNAME set, hostname = MYNAME).
#
# 1. publishes what dom0 compares the agent's data tree with, under
#    data/xt/ (a tree of the test's own, outside the agent's data/guest):
#    uname, the os-release fields as a shell reads them, the hostname;
# 2. configures eth0 (192.0.2.10/24, link up) and lo;
# 3. starts xenvchan-agent (production configuration: vchan, probes as
#    nobody), its log on the domU console;
# 4. serves dom0's requests: dom0 writes data/xt/cmd = "SEQ ACTION ARGS...",
#    the domU does it and answers data/xt/ack = "SEQ RC T_SEEN T_DONE
#    NICLAT NICLAT_MAX" (its own uptimes: when the request arrived, when
#    the action was done; for NIC changes the latency to xenstore, see
#    nic_measure, else "-"),
#    the action's output in data/xt/out.  Nothing polls: xenstore-watch
#    wakes the loop.  Besides NIC changes and agent stops/restarts, dom0
#    may have a rogue take the agent's place on the vchan (rogue TOOL
#    MODE), the agent replaced by a hostile advertisement (advert-bad), and
#    the real agent back (agent-back).

XT=data/xt
AGENT_CFG=/etc/xenvchan/agent.cfg

xt_up() { # sets UP: the uptime, "12.34"
	read -r UP _ </proc/uptime
}

# what the guest itself says, for dom0 to compare with the data tree
(
	. /etc/os-release
	xenstore-write $XT/uname-s "$(uname -s)" $XT/uname-r "$(uname -r)" \
		$XT/uname-v "$(uname -v)" $XT/uname-m "$(uname -m)" \
		$XT/hostname "$(hostname)" $XT/os-id "$ID" $XT/os-name "$NAME" \
		$XT/os-version "$VERSION" $XT/os-version-id "$VERSION_ID" \
		$XT/os-pretty-name "$PRETTY_NAME"
)

# the network: eth0 (netfront) shows up asynchronously after the insmod
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ip link set lo up
ip link set eth0 up
ip addr add 192.0.2.10/24 dev eth0
xenstore-write $XT/eth0-mac "$(cat /sys/class/net/eth0/address)" \
	$XT/eth0-nodename "$(cat /sys/class/net/eth0/device/nodename 2>/dev/null)"

# the agent's log (debug level) goes to the console, each line stamped with
# this domain's uptime (builtins only: no process per line)
mkfifo /tmp/agent.log
while :; do
	while IFS= read -r l; do
		read -r up _ </proc/uptime
		echo "[$up] $l"
	done </tmp/agent.log
done >/dev/console 2>&1 &

AGENT_PID=
agent_start() {
	xenvchan-agent -c $AGENT_CFG -f -v </dev/null >/tmp/agent.log 2>&1 &
	AGENT_PID=$!
	echo "agent started, pid $AGENT_PID"
}
agent_stop() { # SIGNAL
	[ -n "$AGENT_PID" ] || { echo "no agent running"; return 1; }
	kill -"$1" "$AGENT_PID"
	wait "$AGENT_PID"
	echo "agent pid $AGENT_PID stopped by SIG$1, exit status $?"
	AGENT_PID=
}

# ---- a rogue in place of the agent (dom0's hostile-* steps): one of the
# test tools tests/tools/{hostile,rogue}-agent listens on the real vchan
# where the agent would, and the advertisement says so, as the agent
# writes it (data/guest/probes/{protocol,versions,transport}, transport
# vchan, written once the vchan is in place); or no agent and a hostile
# advertisement; then the real agent again.
ADVERT=data/guest/probes
ROGUE_PID=
ROGUE_OUT=/tmp/rogue.out
rogue_stop() {
	local l
	[ -n "$ROGUE_PID" ] || return 0
	kill -KILL "$ROGUE_PID"
	wait "$ROGUE_PID"
	echo "rogue pid $ROGUE_PID stopped; it said:"
	while IFS= read -r l; do echo "  $l"; done <$ROGUE_OUT
	ROGUE_PID=
}
# nothing listens and nothing is advertised, as when the agent stops (it
# removes its advertisement; a killed rogue leaves its vchan nodes behind)
guest_quiet() {
	if [ -n "$AGENT_PID" ]; then agent_stop TERM || return 1; fi
	rogue_stop
	xenstore-rm $ADVERT 2>/dev/null
	return 0
}
rogue_start() { # TOOL MODE
	local i=0 l
	guest_quiet || return 1
	: >$ROGUE_OUT
	"$1" -C vchan -d "$MYDOMID" -m "$2" </dev/null >$ROGUE_OUT 2>&1 &
	ROGUE_PID=$!
	while :; do
		while IFS= read -r l; do
			[ "$l" = listening ] && break 2
		done <$ROGUE_OUT
		kill -0 $ROGUE_PID 2>/dev/null || { cat $ROGUE_OUT; echo "$1 -m $2 exited"; ROGUE_PID=; return 1; }
		i=$((i + 1))
		[ $i -ge 200 ] && { echo "$1 -m $2 not listening after 10 s"; return 1; }
		sleep 0.05
	done
	xenstore-write $ADVERT/protocol xenvchan-nrpe $ADVERT/versions 1 $ADVERT/transport vchan
	echo "$1 -m $2 listens on the vchan (pid $ROGUE_PID), advertised"
}
# no agent; the advertisement's protocol is terminal control sequences,
# control characters and a byte that is no UTF-8 (xenstore-write turns the
# \xNN escapes into those bytes)
advert_bad() {
	guest_quiet
	xenstore-write $ADVERT/protocol '\x1b]0;owned\x07\x1b[2J\x01\x7f\xff' $ADVERT/versions 1 \
		$ADVERT/transport vchan && echo "hostile advertisement written"
}

# every catalogue command run directly, as the agent runs it (as nobody, no
# shell between: the lines are plain words), all in one shell and stored
# with one xenstore-write (each process start is expensive in a PV guest
# under TCG): data/xt/direct/NAME = "RC OUTPUT-UP-TO-THE-FIRST-DIGIT"
direct_runs() {
	local line name rc_text
	set --
	su -s /bin/sh nobody -c '
		nl="
"
		cd /
		sed -n "s/^command\[\([^]]*\)\]=\(.*\)/\1 \2/p" /etc/xenvchan/probes.d/default.cfg |
			while read -r name line; do
				out=$($line 2>/dev/null)
				rc=$?
				out=${out%%"$nl"*}
				echo "$name $rc ${out%%[0-9]*}"
			done' >/tmp/xt-direct.txt
	while IFS= read -r line; do # "NAME RC TEXT", TEXT with its trailing blanks
		name=${line%% *}
		rc_text=${line#* }
		echo "$name: '$rc_text'"
		set -- "$@" "$XT/direct/$name" "$rc_text"
	done </tmp/xt-direct.txt
	[ $# -gt 0 ] && xenstore-write "$@"
}

# nic_measure KEY ACTION ARGS...: make a NIC change and time it until the
# agent's publish of data/guest/net/vif/0/KEY commits in xenstore, all on
# this domain's clock: a watch set up before the change fires at the
# commit, which is when dom0 can read it too.  The watch's lines go
# through a pipe to a subshell that notes the uptime as each arrives
# (builtins only: no process start or exit between the event and the
# stamp).  NICLAT = centiseconds from the change done (the ip command
# returned) to the commit; NICLAT_MAX = from just before the ip command.
nic_measure() {
	local key=data/guest/net/vif/0/$1 pid i=0 tb ta tc
	shift
	rm -f /tmp/xt-nw.ready /tmp/xt-nw.seen
	timeout 10 xenstore-watch -n 2 "$key" 2>/dev/null | {
		read -r _ && : >/tmp/xt-nw.ready # the watch's first event: it is in place
		if read -r _; then
			read -r up _ </proc/uptime
			echo "$up" >/tmp/xt-nw.seen
		fi
	} &
	pid=$!
	while [ ! -e /tmp/xt-nw.ready ]; do
		i=$((i + 1))
		[ $i -ge 250 ] && { echo "the watch on $key is not in place"; return 1; }
		sleep 0.02
	done
	xt_up
	tb=$UP
	xt_do "$@" || return 1
	xt_up
	ta=$UP
	wait $pid
	read -r tc </tmp/xt-nw.seen 2>/dev/null || { echo "no change of $key within 10 s"; return 1; }
	NICLAT=$((${tc%.*}${tc#*.} - ${ta%.*}${ta#*.}))
	NICLAT_MAX=$((${tc%.*}${tc#*.} - ${tb%.*}${tb#*.}))
	echo "$key changed in xenstore $NICLAT cs after the change ($NICLAT_MAX cs after the ip command started)"
}

xt_do() { # ACTION ARGS...
	local what=$1
	shift
	case $what in
	addr-add) ip addr add "$1" dev eth0 ;;
	addr-del) ip addr del "$1" dev eth0 ;;
	link-down) ip link set eth0 down ;;
	link-up) ip link set eth0 up ;;
	agent-start) agent_start ;;
	agent-stop) agent_stop TERM ;;
	agent-restart) agent_stop TERM && agent_start ;;
	agent-kill) agent_stop KILL && agent_start ;;
	direct) direct_runs ;;
	rogue) rogue_start "$@" ;;
	advert-bad) advert_bad ;;
	agent-back) guest_quiet && agent_start ;;
	nic) nic_measure "$@" ;;
	*) echo "unknown action '$what'"; return 2 ;;
	esac
}

xt_loop() {
	local last=0 c n t0 t1 rc
	agent_start
	while read -r _; do
		xt_up
		t0=$UP # when the request arrived (before reading it)
		c=$(xenstore-read $XT/cmd) || continue
		n=${c%% *}
		if [ "$n" = 0 ]; then # the watch's first event: it is in place
			xenstore-write $XT/ready 1
			continue
		fi
		[ "$n" = "$last" ] && continue
		last=$n
		NICLAT=- NICLAT_MAX=-
		# shellcheck disable=SC2086 # ACTION ARGS are words
		xt_do ${c#* } >/tmp/xt-cmd.out 2>&1
		rc=$?
		xt_up
		t1=$UP
		xenstore-write $XT/out "$(head -c 1000 /tmp/xt-cmd.out)" \
			$XT/ack "$n $rc $t0 $t1 $NICLAT $NICLAT_MAX"
		sed "s/^/domU cmd $n: /" /tmp/xt-cmd.out
	done
}

xenstore-write $XT/cmd "0 none" $XT/ack 0
xenstore-watch $XT/cmd | xt_loop
