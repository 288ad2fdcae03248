# SPDX-License-Identifier: GPL-2.0-or-later
# tests/xen/steps/dom0.sh - the checks, run in this order by dom0's /init
# once xenstored and xenconsoled are up (busybox sh; helpers in lib.sh):
#     step NAME COMMAND...   reports PASS or FAIL and goes on
#     gate NAME COMMAND...   the same, but if it fails every later step is
#                            reported as skipped (and failed)
# check-xen.sh expects exactly the steps named here (it reads this file),
# plus its own host-side steps (host-*).  What each domU runs is domu.sh:
# xenvchan-agent with the production configuration, and a loop that makes
# changes (NIC, agent restarts, a rogue agent in its place) when dom0 asks
# through data/xt/cmd.
#
# Under test: xenvchan-agent (domU), xenvchan-bridge, check_xenvchan and
# xenvchan-inventory (dom0), over the real vchan and the real xenstored;
# xvquery (tests/tools) speaks plain NRPE and the extension over the vchan.

PLUG=/usr/lib/nagios/plugins
CX=$PLUG/check_xenvchan
VPATH=data/guest/probes/vchan	# the agent's rendezvous path (DESIGN.md 4)
MAC1=00:16:3e:12:34:56		# files/domu.cfg
MAC2=00:16:3e:12:34:57		# the same with the last byte +1 (build-images.sh)
BIG=61440			# xt_big's output: 60 KiB
LAT=/tmp/xt-latency		# NIC change latencies, one line each
BRIDGE_LOG=/tmp/bridge.log
VERSION=$(xenvchan-bridge -V | cut -d' ' -f2)	# agent and bridge: one build
# the catalogue as the domU has it (probes/default.cfg without check_apt)
CATALOGUE="check_load check_disk_root check_disks check_swap check_mem check_total_procs check_zombie_procs check_users"
# requests the host sends to the NRPE listener (check-xen.sh host_side)
HOST_QUERIES=6

# ------------------------------------------------------------------ helpers
# A guest's data/ as one `xenstore-ls -f` (one process instead of a
# xenstore-read per key), looked up with builtins.  Values as xenstore-ls
# prints them: escaped as xenstore-read escapes them too.  tree_header
# takes it; the tree and inventory steps after it use the same one (the
# tree does not change in between; the IPv6 link-local address, which
# comes later, has a step of its own).
snap() {	# [DOMPATH]
	SNAP_ROOT=${1:-$DOMU}/data
	xenstore-ls -f "$SNAP_ROOT" >/tmp/xt-snap 2>&1
}
sv() {	# PATH under data/ -> SV (empty, status 1 when absent)
	local l p="$SNAP_ROOT/$1 = \""
	SV=
	while IFS= read -r l; do
		case $l in "$p"*)
			SV=${l#"$p"}
			SV=${SV%\"}
			return 0
			;;
		esac
	done </tmp/xt-snap
	return 1
}
# tree_is KEY VALUE...: each data/guest KEY reads VALUE
tree_is() {
	local bad=0
	while [ $# -ge 2 ]; do
		if sv "guest/$1" && [ "$SV" = "$2" ]; then
			echo "ok   $1 = \"$SV\""
		else
			echo "BAD  $1 = \"$SV\", wanted \"$2\""
			bad=1
		fi
		shift 2
	done
	return $bad
}
# tree_xt KEY XTKEY...: data/guest/KEY reads what the domU wrote in data/xt/XTKEY
tree_xt() {
	local bad=0 want
	while [ $# -ge 2 ]; do
		sv "xt/$2"
		want=$SV
		if [ -z "$want" ]; then
			echo "BAD  the domU did not say what $1 should be (data/xt/$2)"
			bad=1
		elif sv "guest/$1" && [ "$SV" = "$want" ]; then
			echo "ok   $1 = \"$SV\" (the domU says the same)"
		else
			echo "BAD  $1 = \"$SV\", the domU says \"$want\""
			bad=1
		fi
		shift 2
	done
	return $bad
}

tree_header() {
	snap
	grep -F "$SNAP_ROOT/guest" /tmp/xt-snap
	echo "----"
	tree_is protocol xen-guest-data version 1.0.0 agent/name xenvchan-agent \
		agent/version "$VERSION" agent/state running probes/protocol xenvchan-nrpe \
		probes/transport vchan
}

tree_os() {
	tree_is os/class unix &&
		tree_xt os/id os-id os/name os-name os/version os-version \
			os/version-id os-version-id os/pretty-name os-pretty-name os/hostname hostname &&
		tree_is os/name "Xentest Busybox" os/hostname probe
}

tree_kernel() {
	tree_xt os/unix/kernel-name uname-s os/unix/kernel-release uname-r \
		os/unix/kernel-version uname-v os/unix/machine uname-m
}

tree_vif0() {
	tree_is net/vif/0/name eth0 net/vif/0/mac "$MAC1" net/vif/0/link up \
		net/vif/0/admin up net/vif/0/carrier up net/vif/0/operstate up \
		net/vif/0/mtu 1500 net/vif/0/ipv4/192_0_2_10 24 &&
		tree_xt net/vif/0/mac eth0-mac &&
		sv xt/eth0-nodename && [ "$SV" = device/vif/0 ] && echo "ok   the domU's eth0 is $SV"
}

# json_has FILE KEY VALUE: "KEY": VALUE in FILE (normalized by json_norm:
# no space around the colon), with builtins only
json_norm() {	# FILE: writes FILE.n
	sed 's/" *: */":/g' "$1" >"$1.n"
}
json_has() {
	local l
	while IFS= read -r l; do
		case $l in *"\"$2\":$3"*)
			echo "ok   \"$2\": $3"
			return 0
			;;
		esac
	done <"$1.n"
	echo "BAD  no \"$2\": $3"
	return 1
}

inventory_table() {
	local rc w
	xenvchan-inventory >/tmp/xt-inv.txt 2>&1
	rc=$?
	cat /tmp/xt-inv.txt
	[ $rc = 0 ] || return 1
	sv xt/os-pretty-name
	for w in probe "$SV" "$MAC1" 192.0.2.10/24; do
		grep -Fq -- "$w" /tmp/xt-inv.txt || { echo "BAD  '$w' not in the table"; return 1; }
		echo "ok   '$w' in the table"
	done
}

inventory_json() {
	local rc
	xenvchan-inventory --json probe >/tmp/xt-inv.json 2>&1
	rc=$?
	cat /tmp/xt-inv.json
	[ $rc = 0 ] || return 1
	json_norm /tmp/xt-inv.json
	json_has /tmp/xt-inv.json name '"probe"' &&
		json_has /tmp/xt-inv.json domid "$DOMID" &&
		json_has /tmp/xt-inv.json status '"ok"' &&
		sv xt/os-name && json_has /tmp/xt-inv.json name "\"$SV\"" &&
		sv xt/uname-r && json_has /tmp/xt-inv.json kernel_release "\"$SV\"" &&
		json_has /tmp/xt-inv.json hostname '"probe"' &&
		json_has /tmp/xt-inv.json mac "\"$MAC1\"" &&
		json_has /tmp/xt-inv.json link '"up"' &&
		json_has /tmp/xt-inv.json address '"192.0.2.10"' &&
		json_has /tmp/xt-inv.json prefix 24
}


# nic_change "ACTION ARGS" KEY VALUE "UNDO ARGS": ask the domU to change
# its NIC and measure how long the agent takes to get it into xenstore.
# The domains' clocks differ by seconds, so the domU measures on its own
# clock: from the change done to the agent's publish committing in
# xenstore (domu.sh nic_measure); dom0 stays idle meanwhile (it blocks on a
# watch of the answer), then reads data/guest/net/vif/0/KEY itself: VALUE,
# or gone for "-".  The latency must be under 1 s.  A loaded host can
# starve the emulated guest for a moment, so an attempt over 1 s is undone
# and tried again, up to 3 attempts; every figure is shown.
nic_change() {
	local key=$DOMU/data/guest/net/vif/0/$2 want=$3 v rc try=1 all=
	while :; do
		domu_cmd "$DOMU" "nic $2 $1" 30 || return 1
		set -- "$1" "$2" "$3" "$4" $XT_ACK
		v=$(xenstore-read "$key" 2>/dev/null)
		rc=$?
		if [ "$want" = - ]; then
			[ $rc != 0 ] || { echo "dom0 still reads $key = '$v'"; return 1; }
			echo "dom0: $key is gone"
		else
			[ $rc = 0 ] && [ "$v" = "$want" ] ||
				{ echo "dom0 reads $key = '$v', wanted '$want'"; return 1; }
			echo "dom0: $key = '$v'"
		fi
		all="$all $(xt_fmt $9)"
		echo "attempt $try: change -> xenstore $(xt_fmt $9) s" \
			"($(xt_fmt ${10}) s from the start of the ip command)"
		if [ "$9" -lt 100 ]; then
			echo "$(xt_fmt $9)" >>$LAT
			echo "change -> xenstore:$all s"
			return 0
		fi
		[ $try -lt 3 ] || break
		try=$((try + 1))
		echo "over 1 s: undo ($4) and try again"
		domu_cmd "$DOMU" "nic $2 $4" 30 >/dev/null || return 1
	done
	echo "$(xt_fmt $9)!" >>$LAT
	echo "too slow: more than 1 s in 3 attempts:$all s"
	return 1
}

link_down_inventory() {
	xenvchan-inventory --json probe >/tmp/xt-inv2.json 2>&1
	cat /tmp/xt-inv2.json
	json_norm /tmp/xt-inv2.json
	json_has /tmp/xt-inv2.json link '"down"' && json_has /tmp/xt-inv2.json admin '"down"'
}

# the domU's direct runs of the catalogue (domu.sh direct_runs), as
# data/xt/direct/NAME = "RC TEXT-UP-TO-THE-FIRST-FIGURE"
direct_runs() {
	domu_cmd "$DOMU" direct 90 || return 1
	xenstore-ls -f "$DOMU/data/xt/direct" >/tmp/xt-direct 2>&1
}
direct() {	# NAME -> DIRECT
	local l p="$DOMU/data/xt/direct/$1 = \""
	DIRECT=
	while IFS= read -r l; do
		case $l in "$p"*) DIRECT=${l#"$p"}; DIRECT=${DIRECT%\"} ;; esac
	done </tmp/xt-direct
}

# all the catalogue at once through the extension (xvquery -m xv, answers
# "ID RC TEXT" as they come), each against the domU's direct run
catalogue_xv() {
	local i=0 bad=0 name line id rc text
	xvquery -d "$DOMID" -t 90 $CATALOGUE >/tmp/xt-xv.out 2>&1
	cat /tmp/xt-xv.out
	echo "----"
	for name in $CATALOGUE; do
		i=$((i + 1))
		line=
		while read -r id rc text; do
			[ "$id" = $i ] && line="$rc ${text%%[0-9]*}"
		done </tmp/xt-xv.out
		direct "$name"
		if [ -n "$line" ] && [ "$line" = "$DIRECT" ]; then
			echo "ok   $name: $line"
		else
			echo "BAD  $name: agent '$line', direct '$DIRECT'"
			bad=1
		fi
	done
	return $bad
}

# cx_probe NAME: check_xenvchan -H probe -c NAME, compared with the domU's
# direct run of the same command line (state, and the text up to the first
# figure: outputs carry live numbers)
cx_probe() {
	local out rc
	out=$($CX -H probe -c "$1" -t 60)
	rc=$?
	echo "$out"
	direct "$1"
	if [ "$rc ${out%%[0-9]*}" = "$DIRECT" ]; then
		echo "state $rc and text as the direct run in the domU"
		return 0
	fi
	echo "check_xenvchan: '$rc ${out%%[0-9]*}'; direct run in the domU: '$DIRECT'"
	return 1
}

# expect_big COMMAND...: COMMAND prints big.sh's BIG bytes, byte for byte
expect_big() {
	local want got n rc
	"$@" >/tmp/xt-big.out
	rc=$?
	n=$(wc -c </tmp/xt-big.out)
	want=$(/xentest/probes/big.sh $BIG | md5sum)
	got=$(md5sum </tmp/xt-big.out)
	head -c 200 /tmp/xt-big.out
	echo
	echo "... $n bytes, md5 ${got%% *} (big.sh $BIG: ${want%% *}), exit status $rc"
	[ "$rc" = 0 ] && [ "$n" = $BIG ] && [ "$got" = "$want" ]
}

# N checks of COMMAND at once through the bridge, all must print TEXT,
# within MAXSECONDS (N times the probe's duration: less means they ran
# side by side)
parallel_cx() {	# N COMMAND TEXT MAXSECONDS
	local i t0 bad=0 pids l
	xt_now
	t0=$XT_NOW
	pids=
	for i in $(seq "$1"); do
		$CX -H probe -c "$2" -t 60 >/tmp/xt-par.$i 2>&1 &
		pids="$pids $!"
	done
	for i in $pids; do wait $i; done # not a bare wait: the bridge runs in the background
	xt_elapsed $t0
	for i in $(seq "$1"); do
		read -r l </tmp/xt-par.$i
		[ "$l" = "$3" ] || { echo "check $i: $l"; bad=1; }
	done
	echo "$1 checks of $2 at once: all '$3': $([ $bad = 0 ] && echo yes || echo no), in $(xt_fmt $XT_EL) s"
	[ $bad = 0 ] && [ $XT_EL -lt $(($4 * 100)) ]
}

# the probe started in the background after bridge-start: killed at the
# agent's command_timeout (30 s), with the agent's text and UNKNOWN
hang_done() {
	local out rc
	wait $HANG_PID
	rc=$?
	xt_elapsed $HANG_T0
	out=$(cat /tmp/xt-hang.out)
	echo "$out"
	echo "exit status $rc after $(xt_fmt $XT_EL) s"
	[ "$rc" = 3 ] && [ "$out" = "XENVCHAN: Command 'xt_hang' timed out after 30 seconds" ] &&
		[ $XT_EL -ge 2900 ]
}

# N x 60 KiB at once: 240 KiB through the guest's 128 KiB ring
parallel_big() {	# N
	local i bad=0 want got pids
	want=$(/xentest/probes/big.sh $BIG | md5sum)
	pids=
	for i in $(seq "$1"); do
		$CX -H probe -c xt_big -t 60 >/tmp/xt-pbig.$i 2>&1 &
		pids="$pids $!"
	done
	for i in $pids; do wait $i; done
	for i in $(seq "$1"); do
		got=$(md5sum </tmp/xt-pbig.$i)
		echo "check $i: $(wc -c </tmp/xt-pbig.$i) bytes, md5 ${got%% *}"
		[ "$got" = "$want" ] || bad=1
	done
	return $bad
}

# the bridge's log (debug level), each line stamped with dom0's uptime
# (builtins only); dom0-init shows it when a step failed
start_bridge() {
	mkfifo /tmp/bridge.fifo
	while IFS= read -r l; do
		read -r up _ </proc/uptime
		echo "[$up] $l"
	done </tmp/bridge.fifo >$BRIDGE_LOG 2>&1 &
	xenvchan-bridge -c /etc/xenvchan/bridge.cfg -f </dev/null >/tmp/bridge.fifo 2>&1 &
	BRIDGE_PID=$!
	wait_line $BRIDGE_LOG 'started' 20 || return 1
	[ -S /run/xenvchan/bridge.sock ] || { echo "no socket"; return 1; }
}

# retry_cx SECONDS TEXT ARGS...: check_xenvchan ARGS until it prints TEXT
retry_cx() {
	local secs=$1 want=$2 t0 out n=0
	shift 2
	xt_now
	t0=$XT_NOW
	while :; do
		n=$((n + 1))
		out=$($CX "$@")
		[ "$out" = "$want" ] && break
		xt_elapsed $t0
		if [ $XT_EL -ge $((secs * 100)) ]; then
			echo "$out"
			echo "not '$want' after $secs s ($n tries)"
			return 1
		fi
		sleep 0.3
	done
	xt_elapsed $t0
	echo "$out"
	echo "after $(xt_fmt $XT_EL) s ($n tries)"
}

agent_stop_seen() {
	domu_cmd "$DOMU" agent-stop 30 &&
		retry_cx 15 "XENVCHAN: no agent is listening in guest 'probe'" -H probe -c xt_whoami
}

# the agent started again (after a stop, orderly, or killed): the bridge
# reconnects by itself and the next check passes
agent_cycle() {	# ACTION
	domu_cmd "$DOMU" "$1" 30 || return 1
	retry_cx 30 "OK - I am probe" -H probe -c xt_whoami -t 20
}

# key_is PATH VALUE: xenstore PATH reads VALUE
key_is() {
	local v
	v=$(xenstore-read "$1" 2>/dev/null)
	if [ "$v" = "$2" ]; then
		echo "ok   $1 = \"$v\""
	else
		echo "BAD  $1 = \"$v\", wanted \"$2\""
		return 1
	fi
}

two_trees() {
	key_is "$DOMU2/data/guest/net/vif/0/mac" "$MAC2" &&
		key_is "$DOMU2/data/guest/os/hostname" probe2 &&
		key_is "$DOMU/data/guest/net/vif/0/mac" "$MAC1" &&
		key_is "$DOMU/data/guest/os/hostname" probe || return 1
	xenvchan-inventory >/tmp/xt-inv3.txt 2>&1
	cat /tmp/xt-inv3.txt
	grep -Fq "$MAC1" /tmp/xt-inv3.txt && grep -Fq "$MAC2" /tmp/xt-inv3.txt
}

# both guests at once: 4 checks each, interleaved, each answered by its own
both_at_once() {
	local i pids= bad=0 l
	for i in 1 2 3 4; do
		$CX -H probe -c xt_whoami -t 60 >/tmp/xt-both1.$i 2>&1 &
		pids="$pids $!"
		$CX -H probe2 -c xt_whoami -t 60 >/tmp/xt-both2.$i 2>&1 &
		pids="$pids $!"
	done
	for i in $pids; do wait $i; done
	for i in 1 2 3 4; do
		read -r l </tmp/xt-both1.$i
		[ "$l" = "OK - I am probe" ] || { echo "probe check $i: $l"; bad=1; }
		read -r l </tmp/xt-both2.$i
		[ "$l" = "OK - I am probe2" ] || { echo "probe2 check $i: $l"; bad=1; }
	done
	[ $bad = 0 ] && echo "8 checks at once, 4 per guest: each answered by its own guest"
}

# ---- a hostile guest on the real vchan (hostile-* steps): probe2's agent
# replaced by a rogue (domu.sh rogue TOOL MODE), while probe is checked
HOSTILE_SMALL=4096	# kB a rogue may add to the bridge's peak memory
HOSTILE_FIG=/tmp/xt-hostile.fig	# one summary line per case, for the @@MARK
# the bridge's /proc/PID/status, with builtins: MEM_NAME, MEM_RSS, MEM_HWM (kB)
bridge_mem() {
	local k v
	MEM_NAME= MEM_RSS= MEM_HWM=
	while read -r k v _; do
		case $k in
		Name:) MEM_NAME=$v ;;
		VmRSS:) MEM_RSS=$v ;;
		VmHWM:) MEM_HWM=$v ;;
		esac
	done </proc/$BRIDGE_PID/status
}
# the start of a case: the bridge's peak memory (VmHWM) reset to its RSS,
# noted in CASE_RSS; the bridge log's length in CASE_LOG (lines)
case_start() {
	echo 5 >/proc/$BRIDGE_PID/clear_refs
	bridge_mem
	CASE_RSS=$MEM_RSS
	CASE_LOG=$(wc -l <$BRIDGE_LOG)
}
# the bridge log since case_start, lines matching the extended regex
# (the log reaches its file through start_bridge's stamping loop: a moment late)
log_since() {
	local i=0
	while ! sed -n "$((CASE_LOG + 1)),\$p" $BRIDGE_LOG | grep -E -- "$1"; do
		i=$((i + 1))
		[ $i -lt 20 ] || return 1
		sleep 0.2
	done
}
# the bridge that bridge-start started still runs (same PID), and its peak
# memory since case_start stayed within BOUND kB of its RSS then; prints
# the figures, sets PEAK (kB over CASE_RSS)
bridge_holds() {	# BOUND
	local p
	p=$(pidof xenvchan-bridge)
	bridge_mem
	if [ "$p" != "$BRIDGE_PID" ] || [ "$MEM_NAME" != xenvchan-bridge ]; then
		echo "BAD  the bridge: pidof says '$p', it started as $BRIDGE_PID"
		return 1
	fi
	PEAK=$((MEM_HWM - CASE_RSS))
	echo "bridge pid $p (as started): VmRSS $CASE_RSS kB before this case, peak $MEM_HWM kB" \
		"(+$PEAK kB, bound +$1 kB), now $MEM_RSS kB; before all the attacks $HOSTILE_RSS0 kB"
	[ "$PEAK" -le "$1" ] || { echo "BAD  peak above the bound"; return 1; }
}
# no byte outside printable ASCII, tab and newline in the bridge's log
log_clean() {
	local n
	n=$(tr -d '\t\n -~' <$BRIDGE_LOG | wc -c)
	[ "$n" = 0 ] && echo "ok   nothing raw in the bridge log" && return 0
	echo "BAD  $n raw bytes in the bridge log"
	return 1
}

# hostile_case NAME TOOL MODE ANSWER-RE LOG-RE BOUND: probe2's agent
# replaced by TOOL -m MODE on the vchan.  check_xenvchan for probe2 must be
# answered UNKNOWN "XENVCHAN: guest 'probe2': ANSWER-RE" (tried again for
# up to 15 s: while backing off after a protocol error the bridge answers
# the last one at once, and that may still be the previous rogue's), with
# probe checked while each of those is under way; the bridge logs
# "domain N (probe2): LOG-RE", stays the same process, and its peak memory
# stays within BOUND kB.
hostile_case() {
	local name=$1 tool=$2 mode=$3 are="^XENVCHAN: guest 'probe2': $4\$" lre=$5 bound=$6
	local n=0 pid rc out grc good tg tr t0 seen=
	domu_cmd "$DOMU2" "rogue $tool $mode" 30 || return 1
	case_start
	xt_now
	t0=$XT_NOW
	while :; do
		n=$((n + 1))
		xt_now
		tr=$XT_NOW
		$CX -H probe2 -c xt_whoami -t 30 >/tmp/xt-rogue.out 2>&1 &
		pid=$!
		xt_now
		tg=$XT_NOW
		good=$($CX -H probe -c xt_whoami -t 30)
		grc=$?
		xt_elapsed $tg
		tg=$XT_EL
		wait $pid
		rc=$?
		xt_elapsed $tr
		tr=$XT_EL
		out=$(cat /tmp/xt-rogue.out)
		echo "try $n: probe2 -> $rc '$out' in $(xt_fmt $tr) s; probe meanwhile -> $grc '$good' in $(xt_fmt $tg) s"
		[ "$grc" = 0 ] && [ "$good" = "OK - I am probe" ] || { echo "BAD  probe did not answer"; return 1; }
		case $out in *[!\ -~]*) echo "BAD  not one line of printable text"; return 1 ;; esac
		[ "$rc" = 3 ] || { echo "BAD  exit status $rc, wanted 3 (UNKNOWN)"; return 1; }
		if printf '%s\n' "$out" | grep -Eq -- "$are"; then
			seen=1
			break
		fi
		xt_elapsed $t0
		[ $XT_EL -lt 1500 ] || break
		sleep 0.5
	done
	[ -n "$seen" ] || { echo "BAD  no answer matching /$are/"; return 1; }
	log_since "domain $DOMID2 \(probe2\): $lre" ||
		{ echo "BAD  no /$lre/ in the bridge log since the case began"; return 1; }
	bridge_holds "$bound" || return 1
	echo "$name +$PEAK kB, told in $(xt_fmt $tr) s, probe in $(xt_fmt $tg) s" >>$HOSTILE_FIG
	echo "FIGURE xen-hostile $name: told in $(xt_fmt $tr) s, probe meanwhile $(xt_fmt $tg) s;" \
		"bridge peak $MEM_HWM kB (+$PEAK, bound +$bound), VmRSS $MEM_RSS kB"
}

# the guest's advertisement made of control sequences (domu.sh advert_bad,
# on the real xenstored): answered with the value as safe text, and
# nothing raw in the bridge's log
HOSTILE_ESC="'\x1B]0;owned\x07\x1B[2J\x01\x7F\xFF' is not xenvchan-nrpe"
HOSTILE_ESC_RE="'\\\\x1B]0;owned\\\\x07\\\\x1B\\[2J\\\\x01\\\\x7F\\\\xFF' is not xenvchan-nrpe"
hostile_advert() {
	bridge_mem
	HOSTILE_RSS0=$MEM_RSS
	: >$HOSTILE_FIG
	case_start
	domu_cmd "$DOMU2" advert-bad 30 || return 1
	retry_cx 15 "XENVCHAN: guest 'probe2': unusable agent advertisement (protocol: $HOSTILE_ESC)" \
		-H probe2 -c xt_whoami -t 30 || return 1
	log_since "domain $DOMID2 \(probe2\): unusable agent advertisement: protocol: $HOSTILE_ESC_RE" ||
		{ echo "BAD  not in the bridge log"; return 1; }
	log_clean || return 1
	expect_out 0 "OK - I am probe" $CX -H probe -c xt_whoami -t 30 || return 1
	bridge_holds $HOSTILE_SMALL || return 1
	echo "advert +$PEAK kB" >>$HOSTILE_FIG
	echo "FIGURE xen-hostile advert: bridge peak $MEM_HWM kB (+$PEAK, bound +$HOSTILE_SMALL), VmRSS $MEM_RSS kB"
}

# the real agent back in probe2: it answers again, and so does probe; the
# bridge's RSS is back within HOSTILE_SMALL of its RSS before the attacks
hostile_agent_back() {
	local l
	case_start
	domu_cmd "$DOMU2" agent-back 30 || return 1
	retry_cx 30 "OK - I am probe2" -H probe2 -c xt_whoami -t 20 || return 1
	expect_out 0 "OK - I am probe" $CX -H probe -c xt_whoami -t 30 || return 1
	log_clean || return 1
	bridge_holds $HOSTILE_SMALL || return 1
	HOSTILE_SUMMARY=
	while IFS= read -r l; do HOSTILE_SUMMARY="$HOSTILE_SUMMARY; $l"; done <$HOSTILE_FIG
	echo "FIGURE xen-hostile back: bridge VmRSS $MEM_RSS kB after the attacks," \
		"$HOSTILE_RSS0 kB before (bound +$HOSTILE_SMALL)"
	[ $((MEM_RSS - HOSTILE_RSS0)) -le $HOSTILE_SMALL ]
}

# a check in flight when its guest is destroyed ends at once with "went
# away", long before the probe (8 s) would have answered
destroy_inflight() {
	local out rc t0 pid
	$CX -H probe2 -c xt_long -t 60 >/tmp/xt-inflight.out 2>&1 &
	pid=$!
	sleep 1
	xt_now
	t0=$XT_NOW
	xl destroy probe2 || return 1
	xt_elapsed $t0
	echo "xl destroy took $(xt_fmt $XT_EL) s"
	wait $pid
	rc=$?
	xt_elapsed $t0
	read -r out </tmp/xt-inflight.out
	echo "$out"
	echo "the check in flight ended $(xt_fmt $XT_EL) s after xl destroy began, exit status $rc"
	[ "$rc" = 3 ] && [ "$out" = "XENVCHAN: guest 'probe2' went away" ] &&
		grep -F "domain $DOMID2 (probe2) went away" $BRIDGE_LOG
}

inventory_gone() {
	local rc
	xenvchan-inventory --json probe2 >/tmp/xt-inv4.json 2>&1
	rc=$?
	cat /tmp/xt-inv4.json
	json_norm /tmp/xt-inv4.json
	[ $rc = 1 ] && json_has /tmp/xt-inv4.json status '"not-found"' && echo "exit status 1"
}

# ---- the NRPE listener, queried by the host (check-xen.sh host_side)
nrpe_served() {	# -> NRPE_SERVED: connections from the host (10.0.2.2) answered so far
	local l
	NRPE_SERVED=0
	while IFS= read -r l; do
		case $l in
		*"nrpe: 10.0.2.2:"*": answered, state "* | *"nrpe: 10.0.2.2:"*": refused: "*)
			NRPE_SERVED=$((NRPE_SERVED + 1))
			;;
		esac
	done <$BRIDGE_LOG
}
nrpe_listening() {
	netstat -ltn | grep -E ':5666 .*LISTEN' || { echo "nothing listens on port 5666"; return 1; }
	ip -4 addr show dev eth0 | grep -F 10.0.2.15
	echo "routes (no default route: nothing leaves QEMU):"
	ip route
	! ip route | grep -q '^default' && NRPE_UP=1
}
# dom0 keeps the bridge (and the guest) as it is until the host has had
# its answers, or the deadline
nrpe_host_served() {
	local t0
	[ -n "$NRPE_UP" ] || { echo "the listener is not up: nothing to wait for"; return 1; }
	xt_now
	t0=$XT_NOW
	while :; do
		nrpe_served
		[ $NRPE_SERVED -ge $((NRPE_BEFORE + HOST_QUERIES)) ] && break
		xt_elapsed $t0
		if [ $XT_EL -ge 12000 ]; then
			grep -F 'nrpe: ' $BRIDGE_LOG
			echo "the listener answered $((NRPE_SERVED - NRPE_BEFORE)) of the host's $HOST_QUERIES queries in 120 s"
			return 1
		fi
		sleep 0.5
	done
	grep -F 'nrpe: ' $BRIDGE_LOG
	echo "the listener answered the host's $HOST_QUERIES queries in $(xt_fmt $XT_EL) s"
}

# ------------------------------------------------------------------ guest 1
gate xl-create xl create /etc/xen/domu.cfg
DOMID=$(xl domid probe 2>/dev/null) || DOMID=none
DOMU=/local/domain/$DOMID
xt_mark "domU probe domid=$DOMID"
gate domu-ready wait_key "$DOMU/data/xt/ready" 1 90
gate agent-listening wait_exists "$DOMU/$VPATH/ring-ref" 30

# ---- the data tree, as dom0 sees it (xenstore-ls, xenvchan-inventory)
step tree-header tree_header
step tree-os tree_os
step tree-kernel tree_kernel
step tree-vif0 tree_vif0
step tree-ipv6-link-local wait_key "$DOMU/data/guest/net/vif/0/ipv6/fe80__216_3eff_fe12_3456" 64 15
step inventory-table inventory_table
step inventory-json inventory_json

# ---- NIC changes inside the domU, seen from dom0 within a second
: >$LAT
step nic-addr-add nic_change "addr-add 192.0.2.11/24" ipv4/192_0_2_11 24 "addr-del 192.0.2.11/24"
step nic-link-down nic_change link-down link down link-up
step nic-link-down-inventory link_down_inventory
step nic-link-up nic_change link-up link up link-down
step nic-addr-del nic_change "addr-del 192.0.2.11/24" ipv4/192_0_2_11 - "addr-add 192.0.2.11/24"
xt_mark "NIC change -> xenstore latency: $(tr '\n' ' ' <$LAT)s"

# ---- plain NRPE and the extension over the vchan, no bridge (the agent
# serves one client at a time: these run before the bridge takes it)
gate domu-direct-runs direct_runs
step vchan-nrpe-v2 expect_out 1 "WARNING: dummy warning" xvquery -d "$DOMID" -m v2 -t 30 xt_dummy
step vchan-nrpe-v4 expect_out 0 "xenvchan-agent v$VERSION" xvquery -d "$DOMID" -m v4 -t 30 _NRPE_CHECK
step vchan-xv-catalogue catalogue_xv
step cx-direct expect_out 1 "WARNING: dummy warning" $CX --direct -H probe -c xt_dummy -t 30

# ---- the bridge and check_xenvchan
gate bridge-start start_bridge
# Two things that mostly wait run in the background while the next steps
# go on: a probe that hangs until the agent's command_timeout (30 s) kills
# it (checked by cx-command-timeout below), and the second guest's boot
# (checked by the gate xl-create-2).
xt_now
HANG_T0=$XT_NOW
$CX -H probe -c xt_hang -t 90 >/tmp/xt-hang.out 2>&1 &
HANG_PID=$!
xl create /etc/xen/domu2.cfg >/tmp/xt-create2.out 2>&1 &
CREATE2_PID=$!
step cx-version expect_out 0 "xenvchan-agent v$VERSION" $CX -H probe -t 30
step cx-check_load cx_probe check_load
step cx-check_disk_root cx_probe check_disk_root
step cx-check_disks cx_probe check_disks
step cx-check_swap cx_probe check_swap
step cx-check_mem cx_probe check_mem
step cx-check_total_procs cx_probe check_total_procs
step cx-check_zombie_procs cx_probe check_zombie_procs
step cx-check_users cx_probe check_users
step cx-undefined expect_out 3 "XENVCHAN: Command 'nope' not defined" $CX -H probe -c nope -t 30
step cx-args-refused expect_out 3 "XENVCHAN: Command 'xt_dummy': command arguments are disabled (dont_blame_nrpe=0): request refused" $CX -H probe -c xt_dummy -t 30 -a x
step cx-client-timeout expect_out 1 "XENVCHAN: guest 'probe': no answer within 2 seconds" $CX -H probe -c xt_slow -t 2:WARNING
step cx-output-60k expect_big $CX -H probe -c xt_big -t 60
step cx-parallel-10 parallel_cx 10 xt_sleep "OK - slept 4" 40
step cx-parallel-big parallel_big 4
step cx-unknown-guest expect_out 3 "XENVCHAN: guest 'nosuch' not found" $CX -H nosuch -c check_load
step cx-command-timeout hang_done

# ---- the real check_nrpe on the host, through the NRPE listener
NRPE_UP=
step nrpe-listening nrpe_listening
nrpe_served
NRPE_BEFORE=$NRPE_SERVED
[ -n "$NRPE_UP" ] && xt_mark "nrpe-listening on 10.0.2.15:5666"
step nrpe-host-served nrpe_host_served

# ---- the agent restarted inside the domU: the bridge reconnects
step agent-stop-seen agent_stop_seen
step agent-start-reconnect agent_cycle agent-start
step agent-restart-reconnect agent_cycle agent-restart
step agent-killed-reconnect agent_cycle agent-kill

# ---- two guests at once, each answering for itself; then one destroyed
create2_done() {
	wait $CREATE2_PID
	local rc=$?
	cat /tmp/xt-create2.out
	return $rc
}
gate xl-create-2 create2_done
DOMID2=$(xl domid probe2 2>/dev/null) || DOMID2=none
DOMU2=/local/domain/$DOMID2
xt_mark "domU probe2 domid=$DOMID2"
gate domu2-ready wait_key "$DOMU2/data/xt/ready" 1 90
step two-guests-probe2 retry_cx 30 "OK - I am probe2" -H probe2 -c xt_whoami -t 20
step two-guests-probe1 expect_out 0 "OK - I am probe" $CX -H probe -c xt_whoami -t 30
step two-guests-by-domid expect_out 0 "OK - I am probe2" $CX -H "$DOMID2" -c xt_whoami -t 30
step two-guests-trees two_trees
step two-guests-at-once both_at_once

# ---- a hostile guest on the real vchan and the real xenstored: probe2's
# agent replaced by a rogue (tests/tools), one misbehaviour after another;
# probe keeps answering, the bridge stays up within its memory bound
PE='protocol error'
step hostile-advert-escaped hostile_advert
step hostile-badcrc hostile_case badcrc hostile-agent badcrc \
	"$PE \(bad packet: CRC-32 mismatch \(CRC-32 mismatch\)\): disconnected" \
	"$PE: bad packet: CRC-32 mismatch" $HOSTILE_SMALL
step hostile-hugelen hostile_case hugelen hostile-agent hugelen \
	"$PE \(bad packet: buffer length out of bounds \(buffer_length above 65536\)\): disconnected" \
	"$PE: bad packet: buffer length out of bounds" $HOSTILE_SMALL
step hostile-hdrsilence hostile_case hdrsilence hostile-agent hdrsilence \
	"$PE \(a frame was not completed within 5 seconds \(16 of [0-9]+ bytes\)\): disconnected" \
	"$PE: a frame was not completed within 5 seconds" $HOSTILE_SMALL
step hostile-pingflood hostile_case pingflood rogue-agent flood \
	"$PE \(the agent sends PINGs but does not read the PONGs \([0-9]+ bytes waiting\)\): disconnected" \
	"$PE: the agent sends PINGs but does not read the PONGs" $HOSTILE_SMALL
step hostile-midclose hostile_case midclose hostile-agent midclose \
	"connection to the agent lost" "the agent closed the channel" $HOSTILE_SMALL
step hostile-agent-back hostile_agent_back
xt_mark "hostile guest on the vchan: bridge VmRSS ${HOSTILE_RSS0:-?} kB before, ${MEM_RSS:-?} kB after; peak over the RSS at each case's start${HOSTILE_SUMMARY:-: -}"
step destroy-inflight destroy_inflight
step destroyed-not-found expect_out 3 "XENVCHAN: guest 'probe2' not found" $CX -H probe2 -c xt_whoami -t 30
step destroyed-inventory inventory_gone
step survivor-answers expect_out 0 "OK - I am probe" $CX -H probe -c xt_whoami -t 30


# ---- save/restore (opt-in: XEN_SAVE_RESTORE=1 make check-xen; its steps
# are in dom0-save-restore.sh, see there why it is not on by default)
if grep -q 'xentest\.saverestore' /proc/cmdline; then
	. /xentest/dom0-save-restore.sh
fi
# ---- live migration of a PVH guest (opt-in: XEN_MIGRATE=N; dom0-migrate.sh)
if grep -q 'xentest\.migrate' /proc/cmdline; then
	. /xentest/dom0-migrate.sh
fi
