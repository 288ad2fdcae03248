# SPDX-License-Identifier: GPL-2.0-or-later
# tests/xen/steps/dom0-migrate.sh - sourced at the end of dom0.sh when
# check-xen.sh runs with XEN_MIGRATE=N (dom0 command line xentest.migrate=N);
# check-xen.sh then expects these steps too: the ones whose names end in
# "-r" once per round, with the round number appended (migrate-r1, ...).
#
# A third guest, probe3, boots as PVH (PV guests cannot migrate on Debian's
# Xen: no shadow paging, "Failed to enable logdirty"; PVH needs HAP, which
# check-xen gives Xen under TCG with -cpu ...,+svm,+npt), then migrates to
# this same host N times (xl migrate -s "" probe3 "xl migrate-receive": no
# ssh).  After each move: the agent listens under the new domid, a check
# through the bridge answers (FIGURE xen-migrate-to-check: seconds from xl
# migrate returning), the check by domid, and the guest's console since the
# move has no kernel BUG, WARNING or Oops.
#
# Opt-in, like the save/restore steps: with Debian's xen-evtchn the first
# move ends in the same kernel BUG (see dom0-save-restore.sh);
# XEN_DOMU_MODULES gives the guest kernel/'s fixed modules.
MG_ROUNDS=$(sed -n 's/.*xentest\.migrate=\([0-9]*\).*/\1/p' /proc/cmdline)
MG_ROUNDS=${MG_ROUNDS:-1}

pvh_create() {
	xl create /etc/xen/domu3.cfg || return 1
	DOMID3=$(xl domid probe3 2>/dev/null) || DOMID3=none
	echo "probe3 (PVH) is domid $DOMID3"
	[ "$DOMID3" != none ]
}
migrate_once() { # sets DOMID3 (the new domid), MG_T (uptime when xl migrate returned)
	local t0 prev=$DOMID3
	xt_now
	t0=$XT_NOW
	xl migrate -s "" probe3 "xl migrate-receive" || return 1
	xt_now
	MG_T=$XT_NOW
	xt_elapsed $t0
	DOMID3=$(xl domid probe3 2>/dev/null) || DOMID3=none
	echo "migrated in $(xt_fmt $XT_EL) s: domid $prev -> $DOMID3"
	[ "$DOMID3" != none ] && [ "$DOMID3" != "$prev" ]
}
migrate_check() {
	retry_cx 30 "OK - I am probe3" -H probe3 -c xt_whoami -t 20 || return 1
	xt_elapsed $MG_T
	echo "first answered check $(xt_fmt $XT_EL) s after xl migrate returned"
	echo "FIGURE xen-migrate-to-check round=$MG_R seconds=$(xt_fmt $XT_EL)"
}
# every console log of probe3 (a migrated guest logs to
# guest-probe3--incoming.log, appended at each move): no kernel BUG, WARNING,
# Oops in what came since the last look (lines seen kept per file)
MG_SEEN=/tmp/mg-seen
mkdir -p $MG_SEEN
migrate_console_clean() {
	local f b n seen bad delta=/tmp/mg-console.delta
	: >$delta
	for f in /var/log/xen/guest-probe3.log /var/log/xen/guest-probe3--incoming.log; do
		[ -e "$f" ] || continue
		b=${f##*/}
		seen=$(cat "$MG_SEEN/$b" 2>/dev/null || echo 0)
		n=$(wc -l <"$f")
		tail -n +$((seen + 1)) "$f" >>$delta
		echo "$n" >"$MG_SEEN/$b"
		echo "$b: $((n - seen)) new lines"
	done
	bad=$(grep -E 'kernel BUG|BUG: |WARNING: CPU|Oops|Call Trace|general protection|Fixing recursive fault' $delta)
	grep -E 'xenvchan-agent\[info\]' $delta | tail -n 6
	[ -z "$bad" ] && { echo "console clean"; return 0; }
	echo "$bad" | head -n 20
	return 1
}

DOMID3=none
MG_T=0
gate pvh-create pvh_create
DOMU3=/local/domain/$DOMID3
gate pvh-ready wait_exists "$DOMU3/$VPATH/ring-ref" 120
step pvh-check retry_cx 30 "OK - I am probe3" -H probe3 -c xt_whoami -t 20
migrate_console_clean >/dev/null 2>&1 # the baseline: the boot, checked elsewhere
MG_R=1
while [ "$MG_R" -le "$MG_ROUNDS" ]; do
	gate migrate-r$MG_R migrate_once
	DOMU3=/local/domain/$DOMID3
	xt_mark "domU probe3 migrated (round $MG_R): domid=$DOMID3"
	step migrate-agent-listening-r$MG_R wait_exists "$DOMU3/$VPATH/ring-ref" 30
	step migrate-check-r$MG_R migrate_check
	step migrate-by-domid-r$MG_R expect_out 0 "OK - I am probe3" $CX -H "$DOMID3" -c xt_whoami -t 30
	step migrate-console-r$MG_R migrate_console_clean
	MG_R=$((MG_R + 1))
done
