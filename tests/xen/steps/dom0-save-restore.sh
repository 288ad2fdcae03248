# tests/xen/steps/dom0-save-restore.sh - sourced at the end of dom0.sh when
# check-xen.sh runs with XEN_SAVE_RESTORE=1 (dom0 command line
# xentest.saverestore); check-xen.sh then expects these steps too.
#
# xl save + xl restore bring the guest back under a new domid.  The agent
# notices (it watches its domid), publishes its tree and listens again
# there, and the bridge finds it under its name.
#
# Not on by default: with Debian's 6.1 guest kernel the agent cannot get
# past the domid change.  User-space event channels and gntalloc pages do
# not survive a Xen save/restore in Linux: when the agent closes the
# pre-save vchan (libxenvchan_close), the guest kernel WARNs in
# evtchn_put (events_base.c:1635, from gntalloc's unmap notification) and
# then hits "kernel BUG at drivers/xen/evtchn.c:422" (evtchn_release ->
# evtchn_unbind_from_user: BUG_ON(irq < 0)), which kills the agent.  xl
# save/restore itself works under TCG here (about 10-13 s for 128 MiB).
save_restore() {
	local t0
	xt_now
	t0=$XT_NOW
	xl save probe /tmp/probe.save || return 1
	xt_elapsed $t0
	echo "saved in $(xt_fmt $XT_EL) s: $(ls -l /tmp/probe.save)"
	xl restore /tmp/probe.save || return 1
	rm -f /tmp/probe.save
	xt_elapsed $t0
	DOMID_R=$(xl domid probe 2>/dev/null) || DOMID_R=none
	echo "restored in $(xt_fmt $XT_EL) s in all: domid $DOMID -> $DOMID_R"
	[ "$DOMID_R" != none ] && [ "$DOMID_R" != "$DOMID" ]
}
DOMID_R=none
gate save-restore save_restore
DOMU_R=/local/domain/$DOMID_R
xt_mark "domU probe restored: domid=$DOMID_R"
step restore-agent-listening wait_exists "$DOMU_R/$VPATH/ring-ref" 30
restore_tree() {
	wait_key "$DOMU_R/data/guest/agent/state" running 20 || return 1
	snap "$DOMU_R"
	tree_is protocol xen-guest-data os/hostname probe net/vif/0/mac "$MAC1" \
		net/vif/0/ipv4/192_0_2_10 24
}
step restore-tree restore_tree
step restore-check retry_cx 30 "OK - I am probe" -H probe -c xt_whoami -t 20
step restore-by-domid expect_out 0 "OK - I am probe" $CX -H "$DOMID_R" -c xt_whoami -t 30
