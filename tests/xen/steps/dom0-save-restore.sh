# SPDX-License-Identifier: GPL-2.0-or-later
# tests/xen/steps/dom0-save-restore.sh - sourced at the end of dom0.sh when
# check-xen.sh runs with XEN_SAVE_RESTORE=N (dom0 command line
# xentest.saverestore=N); check-xen.sh then expects these steps too, once
# per round, each name ending in its round number (save-restore-r1, ...).
#
# xl save + xl restore bring the guest back under a new domid.  The agent
# notices (it watches its domid), publishes its tree and listens again
# there, and the bridge finds it under its name.  After each round the
# guest's console must show no BUG, WARNING or Oops.
#
# Not on by default: with Debian's xen-evtchn module in the guest the agent
# cannot get past the domid change.  User-space event channels do not
# survive a Xen save/restore in Linux (xen_irq_resume() drops their
# bindings): when the agent closes the pre-save vchan (libxenvchan_close),
# the guest kernel WARNs in evtchn_put (events_base.c:1635, from gntalloc's
# unmap notification) and then hits "kernel BUG at drivers/xen/evtchn.c:422"
# (evtchn_release -> evtchn_unbind_from_user: BUG_ON(irq < 0)), which kills
# the agent.  kernel/ has the fix and the modules built from it
# (XEN_DOMU_MODULES).  xl save/restore itself takes about 10-30 s for
# 128 MiB under TCG here.
SR_ROUNDS=$(sed -n 's/.*xentest\.saverestore=\([0-9]*\).*/\1/p' /proc/cmdline)
SR_ROUNDS=${SR_ROUNDS:-1}
SR_CONSOLE=/var/log/xen/guest-probe.log

save_restore() { # sets DOMID_R, SR_T (uptime when xl restore returned)
	local t0
	xt_now
	t0=$XT_NOW
	xl save probe /tmp/probe.save || return 1
	xt_elapsed $t0
	echo "saved in $(xt_fmt $XT_EL) s: $(ls -l /tmp/probe.save)"
	xl restore /tmp/probe.save || return 1
	rm -f /tmp/probe.save
	xt_now
	SR_T=$XT_NOW
	xt_elapsed $t0
	DOMID_R=$(xl domid probe 2>/dev/null) || DOMID_R=none
	echo "restored in $(xt_fmt $XT_EL) s in all: domid $SR_PREV -> $DOMID_R"
	[ "$DOMID_R" != none ] && [ "$DOMID_R" != "$SR_PREV" ]
}
restore_tree() {
	wait_key "$DOMU_R/data/guest/agent/state" running 20 || return 1
	snap "$DOMU_R"
	tree_is protocol xen-guest-data os/hostname probe net/vif/0/mac "$MAC1" \
		net/vif/0/ipv4/192_0_2_10 24
}
restore_check() { # the first check answered through the bridge, timed from the restore
	retry_cx 30 "OK - I am probe" -H probe -c xt_whoami -t 20 || return 1
	xt_elapsed $SR_T
	echo "first answered check $(xt_fmt $XT_EL) s after xl restore returned"
	echo "FIGURE xen-restore-to-check round=$SR_R seconds=$(xt_fmt $XT_EL)"
}
# the guest's console since the round began: no BUG, WARNING, Oops
console_clean() {
	local n bad
	n=$(wc -l <"$SR_CONSOLE")
	tail -n +$((SR_LINES + 1)) "$SR_CONSOLE" >/tmp/sr-console
	SR_LINES=$n
	# the kernel's own words (plugin output such as "WARNING: dummy" is not)
	bad=$(grep -E 'kernel BUG|BUG: |WARNING: CPU|Oops|Call Trace|general protection|Fixing recursive fault' /tmp/sr-console)
	grep -E 'xen:|evtchn|gntalloc|agent' /tmp/sr-console | tail -n 12
	[ -z "$bad" ] && { echo "console clean ($(wc -l </tmp/sr-console) new lines)"; return 0; }
	echo "$bad" | head -n 20
	return 1
}

SR_PREV=$DOMID
SR_LINES=$(wc -l <"$SR_CONSOLE" 2>/dev/null || echo 0)
SR_R=1
while [ "$SR_R" -le "$SR_ROUNDS" ]; do
	DOMID_R=none
	SR_T=0
	gate save-restore-r$SR_R save_restore
	DOMU_R=/local/domain/$DOMID_R
	xt_mark "domU probe restored (round $SR_R): domid=$DOMID_R"
	step restore-agent-listening-r$SR_R wait_exists "$DOMU_R/$VPATH/ring-ref" 30
	step restore-check-r$SR_R restore_check
	step restore-tree-r$SR_R restore_tree
	step restore-by-domid-r$SR_R expect_out 0 "OK - I am probe" $CX -H "$DOMID_R" -c xt_whoami -t 30
	step restore-console-r$SR_R console_clean
	SR_PREV=$DOMID_R
	SR_R=$((SR_R + 1))
done
