# tests/xen/steps/dom0.sh - the checks, run in this order by dom0's /init
# once xenstored and xenconsoled are up (busybox sh; helpers in lib.sh):
#     step NAME COMMAND...   reports PASS or FAIL and goes on
#     gate NAME COMMAND...   the same, but if it fails every later step is
#                            reported as skipped (and failed)
# check-xen.sh expects exactly the steps named here (it reads this file).
# What the domU runs is in domu.sh.

VPATH=data/guest/probes/vchan	# the agent's rendezvous path (DESIGN.md 4)
export CHANTEST_TIMEOUT=30

gate xl-create xl create /etc/xen/domu.cfg
DOMID=$(xl domid probe 2>/dev/null) || DOMID=none
DOMU=/local/domain/$DOMID
xt_mark "domU domid=$DOMID"
# the domU's chantest server writes VPATH-ready = 1, 2 (re-listened), done
gate domu-ready wait_key "$DOMU/$VPATH-ready" 1 60

# a key the domU wrote in its own data/ tree, read by dom0
step xenstore-domu-key expect_key "$DOMU/data/hello" hello-from-domU

# session 1 over the real vchan: PING/PONG line, then a 1 MiB echo
capture s1 chantest client vchan "$DOMID" "$VPATH"
step chan-ping-pong expect_in s1 '^chantest: client: PONG ok'
step chan-echo-1mib expect_in s1 '^chantest: client: ECHO ok: 1048576 bytes'

# session 2: the server closed session 1 and listens again.  This client
# (absolute path form) stays connected for a while after its echo ...
start_session2() {
	wait_key "$DOMU/$VPATH-ready" 2 30 || return 1
	CHANTEST_HOLD=4 chantest client vchan "$DOMID" "$DOMU/$VPATH" >/tmp/xt-s2.out 2>&1 &
	S2_PID=$!
	wait_line /tmp/xt-s2.out '^chantest: client: HOLD' 30
}
step chan-relisten start_session2
# ... and meanwhile a second client is refused cleanly (exit 3); only
# conclusive if the first one is still connected afterwards
busy() {
	expect_rc 3 chantest client vchan "$DOMID" "$VPATH" || return 1
	kill -0 "$S2_PID" 2>/dev/null && return 0
	echo "inconclusive: the first client had already left"
	return 1
}
step chan-busy busy
end_session2() {
	wait "$S2_PID"
	local rc=$?
	cat /tmp/xt-s2.out
	[ $rc -eq 0 ]
}
step chan-session2-end end_session2

# the server has stopped for good (its close removed the path): a client
# gets a clean "nobody listens" (exit 3), not a hang or a crash
no_peer() {
	wait_key "$DOMU/$VPATH-ready" done 30 &&
		expect_rc 3 chantest client vchan "$DOMID" "$VPATH"
}
step chan-no-peer no_peer
step chan-server-exit wait_key "$DOMU/data/chantest-rc" 0 10
