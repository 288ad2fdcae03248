#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The xenstored emulator (tests/xsemu) against the real libxenstore and
# xenstore-utils, and xstool (tests/tools/xstool.c) where the exact errno or
# a held-open connection matters.  Each test starts its own emulator.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load 'xsemu-helper'

setup() {
	[ -x "$XSTOOL" ] || skip "xstool not built ($XSTOOL): run make first"
}

teardown() {
	xsemu_stop
}

# Nodes owned by domain $1 below /local/domain/$1 (the first perms entry of
# each line of xenstore-ls -p names the owner).
owned_by() {
	xenstore-ls -p "/local/domain/$1" | grep -cE "\([nrwb]$1[,)]"
}

@test "dom0: write, read, list, exists, rm" {
	xsemu_start
	xenstore-write /t/a 1 /t/b two
	run xenstore-read /t/a /t/b
	assert_success
	assert_output $'1\ntwo'
	run xenstore-list /t
	assert_output $'a\nb'
	xenstore-exists /t/b
	xenstore-rm /t/b
	run xenstore-exists /t/b
	assert_failure
	# rm of a missing node is fine while its parent exists, else ENOENT
	run "$XSTOOL" rm /t/nope expect ENOENT rm /nope/nope expect EINVAL rm /
	assert_success
	run "$XSTOOL" read /t/missing
	assert_failure
	assert_output "read: ENOENT"
}

@test "libxenstore reaches it through XENSTORED_PATH, XS_OPEN_SOCKETONLY and XENSTORED_RUNDIR" {
	xsemu_start
	run "$XSTOOL" read /local/domain/0/name
	assert_output "Domain-0"
	run "$XSTOOL" --socket-only read /local/domain/0/name
	assert_output "Domain-0"
	run env -u XENSTORED_PATH XENSTORED_RUNDIR="$XSEMU_DIR" \
		xenstore-read /local/domain/0/name
	assert_output "Domain-0"
}

@test "guest: relative paths resolve under /local/domain/N" {
	xsemu_start --domain 1:guest1
	run xsemu_as 1 xenstore-read name domid
	assert_success
	assert_output $'guest1\n1'
	xsemu_as 1 xenstore-write data/x hello
	[ "$(xenstore-read /local/domain/1/data/x)" = hello ]
	run xsemu_as 1 "$XSTOOL" read /local/domain/1/data/x domain-path 1
	assert_output $'hello\n/local/domain/1'
	# dom0's relative paths are below /local/domain/0
	run xenstore-read name
	assert_output "Domain-0"
}

@test "guest: another guest's tree is EACCES, even to learn what exists" {
	xsemu_start --domain 1:guest1 --domain 2:guest2
	run xsemu_as 1 "$XSTOOL" \
		expect EACCES read /local/domain/2/name \
		expect EACCES ls /local/domain/2 \
		expect EACCES read /local/domain/2/data/nonexistent \
		expect EACCES perms /local/domain/2/data \
		expect EACCES ls / \
		expect EACCES read /local/domain/0/name
	assert_success
	run xsemu_as 1 xenstore-read /local/domain/2/name
	assert_failure
}

@test "guest: writes outside its writable directories are EACCES" {
	xsemu_start --domain 1:guest1 --domain 2:guest2
	run xsemu_as 1 "$XSTOOL" \
		expect EACCES write name evil \
		expect EACCES write control/foo 1 \
		expect EACCES mkdir device/foo \
		expect EACCES rm name \
		expect EACCES write /local/domain/2/data/x 1 \
		expect EACCES write /foo 1 \
		expect EACCES chmod name n1 \
		write control/shutdown poweroff \
		write data/ok 1 write attr/ok 1 write drivers/ok 1 \
		write feature/ok 1 write error/ok 1
	assert_success
	run xsemu_as 1 xenstore-write name evil
	assert_failure
	[ "$(xenstore-read /local/domain/1/name)" = guest1 ]
}

@test "guest: a node it creates is owned by it, with the parent's other entries" {
	xsemu_start --domain 1:guest1
	xsemu_as 1 xenstore-write data/guest/os/name Debian
	run "$XSTOOL" perms /local/domain/1/data/guest perms /local/domain/1/data/guest/os/name
	assert_output $'n1\nn1'
	# a guest-owned parent with an ACL passes the ACL on
	xsemu_as 1 xenstore-write data/pub/a 1
	xsemu_as 1 xenstore-chmod data/pub n1 r0
	xsemu_as 1 xenstore-write data/pub/b 2
	run "$XSTOOL" perms /local/domain/1/data/pub/b
	assert_output "n1,r0"
	# what dom0 creates below a guest-owned node belongs to the guest too
	xenstore-write /local/domain/1/data/fromdom0 1
	run "$XSTOOL" perms /local/domain/1/data/fromdom0
	assert_output "n1"
}

@test "chmod: only the owner sets permissions, and may not give a node away" {
	xsemu_start --domain 1:guest1 --domain 2:guest2
	xsemu_as 1 xenstore-write data/shared v
	xsemu_as 1 xenstore-chmod data/shared n1 r2
	run "$XSTOOL" perms /local/domain/1/data/shared
	assert_output "n1,r2"
	run xsemu_as 2 "$XSTOOL" read /local/domain/1/data/shared \
		perms /local/domain/1/data/shared \
		expect EACCES write /local/domain/1/data/shared x \
		expect EACCES chmod /local/domain/1/data/shared n2,r1
	assert_success
	assert_line -n 0 "v"
	assert_line -n 1 "n1,r2"
	run xsemu_as 1 "$XSTOOL" expect EPERM chmod data/shared n2 \
		expect ENOSPC chmod data/shared n1,r2,r3,r4,r5,r6 \
		chmod data/shared n1,r2,r3,r4,r5 \
		rawmsg 14 data/shared
	assert_success
	assert_line "reply 16 4660 EINVAL"
	# dom0 may change the owner and use more entries
	xenstore-chmod /local/domain/1/data/shared b2
	run "$XSTOOL" perms /local/domain/1/data/shared \
		chmod /local/domain/1/data/shared n0,r1,r2,r3,r4,r5,r6
	assert_line -n 0 "b2"
	# b2 as default access: now everybody may write it, guest 1 included
	run "$XSTOOL" chmod /local/domain/1/data/shared b2
	xsemu_as 1 xenstore-write data/shared mine
}

@test "payload: 4096 bytes pass, 4097 are E2BIG; an over-long message drops the connection" {
	xsemu_start
	# payload of WRITE = "/p\0" (3 bytes) + value
	run "$XSTOOL" write-size /p 4093 expect E2BIG write-size /p 4094
	assert_success
	[ "$(xenstore-read /p | wc -c)" -eq 4094 ]	# 4093 + newline
	# libxenstore refuses 4097 itself; a raw client gets dropped
	run "$XSTOOL" raw 4096 raw 4097
	assert_success
	assert_line -n 0 --partial "reply "
	assert_line -n 1 "closed"
	grep -q "message length 4097 > 4096" "$XSEMU_DIR/requests.log"
	# a reply over 4096 bytes is E2BIG: libxenstore then pages with
	# DIRECTORY_PART
	local args=() i
	for ((i = 0; i < 300; i++)); do
		args+=("/big/child-with-a-long-name-$i" x)
	done
	xenstore-write "${args[@]}"
	run "$XSTOOL" rawmsg 1 /big
	assert_output "reply 16 4660 E2BIG"
	[ "$(xenstore-list /big | wc -l)" -eq 300 ]
	grep -q "DIRECTORY_PART" "$XSEMU_DIR/requests.log"
}

@test "paths: bad characters, //, trailing / and over-long paths are EINVAL" {
	xsemu_start --domain 1:guest1
	local long=/$(printf 'a%.0s' {1..2047}) longer=/$(printf 'a%.0s' {1..2048})
	run "$XSTOOL" expect EINVAL write '/a b' x \
		expect EINVAL write '/a:b' x \
		expect EINVAL write '/a.b' x \
		expect EINVAL write '/a//b' x \
		expect EINVAL write '/a/' x \
		expect EINVAL read '@foo' \
		write /ok-_@Z9 x \
		write "$long" x \
		expect EINVAL write "$longer" x
	assert_success
	run xenstore-write '/a b' x
	assert_failure
	# below /local/domain/N/ the limit counts from there
	local rel=data/$(printf 'b%.0s' {1..2000})
	run xsemu_as 1 "$XSTOOL" write-size "$rel" 1
	assert_success
}

@test "node quota: a guest owns at most 1000 nodes; dom0 is unaffected" {
	xsemu_start --domain 1:guest1
	local before
	before=$(owned_by 1)
	[ "$before" -eq 10 ]		# libxl's guest-writable directories
	run xsemu_as 1 "$XSTOOL" fill data/q 2000
	assert_failure
	assert_line "fill: ENOSPC"
	[ "$(owned_by 1)" -eq 1000 ]
	run "$XSTOOL" control quota 1
	assert_line --regexp "^nodes +: +1000$"
	# the 1001st node fails, whatever it is
	run xsemu_as 1 "$XSTOOL" expect ENOSPC write data/one 1 \
		expect ENOSPC mkdir attr/x \
		rm data/q/0/0 write data/one 1 expect ENOSPC write data/two 1
	assert_success
	# at commit the check is "count >= quota": a transaction cannot end
	# with 1000 nodes owned, a plain write can (as C xenstored 4.17)
	xsemu_as 1 xenstore-rm data/one
	run xsemu_as 1 "$XSTOOL" begin write data/one 1 expect ENOSPC commit \
		write data/one 1
	assert_success
	# dom0 is not limited, even when what it creates belongs to the guest
	xenstore-write /local/domain/1/data/by-dom0 1 /dom0/x 1
	[ "$(owned_by 1)" -eq 1001 ]
	run "$XSTOOL" fill /dom0/many 1200
	assert_success
}

@test "node size quota: 2048 bytes with permissions and children names" {
	xsemu_start --domain 1:guest1
	# size = 24 (header) + 8 per permission + value + children names + NULs
	run xsemu_as 1 "$XSTOOL" write-size data/v 2015 \
		expect ENOSPC write-size data/v 2016 \
		expect ENOSPC chmod data/v n1,r0 \
		write-size data/p 2000 \
		write data/p/abcdefghijklmn 1 \
		expect ENOSPC write data/p/x 1 \
		expect ENOSPC mkdir data/p/y
	assert_success
	[ "$(xenstore-read /local/domain/1/data/v | wc -c)" -eq 2016 ]
	run xenstore-list /local/domain/1/data/p
	assert_output "abcdefghijklmn"
	# dom0 may write it, the node stays the guest's
	xenstore-write /local/domain/1/data/p/x 1
	run "$XSTOOL" write-size /local/domain/1/data/v 3000
	assert_success
}

@test "transactions: commit publishes, abort discards" {
	xsemu_start
	xenstore-write /t/old 1
	run "$XSTOOL" begin write /t/a 1 rm /t/old \
		exec sh -c '! xenstore-exists /t/a && xenstore-exists /t/old' \; \
		read /t/a commit
	assert_success
	[ "$(xenstore-read /t/a)" = 1 ]
	run xenstore-exists /t/old
	assert_failure
	run "$XSTOOL" begin write /t/b 1 abort
	assert_success
	run xenstore-exists /t/b
	assert_failure
	# ending a transaction that is not there
	run "$XSTOOL" rawmsg 7 T
	assert_output "reply 16 4660 ENOENT"
}

@test "transactions: a node read in the transaction and changed meanwhile gives EAGAIN" {
	xsemu_start
	xenstore-write /t/a 1 /t/b 1
	run "$XSTOOL" begin read /t/a write /t/c 1 \
		exec xenstore-write /t/a 2 \; expect EAGAIN commit
	assert_success
	run xenstore-exists /t/c
	assert_failure
	# a node that did not exist and appeared meanwhile conflicts too
	run "$XSTOOL" begin expect ENOENT read /t/new write /t/d 1 \
		exec xenstore-write /t/new 1 \; expect EAGAIN commit
	assert_success
	# a change to a node the transaction never touched does not
	run "$XSTOOL" begin read /t/a write /t/e 1 \
		exec xenstore-write /t/b 2 \; commit
	assert_success
	[ "$(xenstore-read /t/e)" = 1 ]
}

@test "transactions: per-domain limit (C xenstored's check accepts quota + 1)" {
	xsemu_start --domain 1:guest1
	run xsemu_as 1 "$XSTOOL" tx-many 20
	assert_failure
	assert_line "started 11"
	assert_line "tx-many: ENOSPC"
	run "$XSTOOL" tx-many 50
	assert_success
	assert_output "started 50"
}

@test "watches: fire once when set, on write, on rm of a child" {
	xsemu_start
	xenstore-write /w/a 1
	run "$XSTOOL" watch /w tok events 1 2000 \
		exec xenstore-write /w/b 2 \; events 1 2000 \
		exec xenstore-rm /w/a \; events 1 2000 \
		exec xenstore-write /other 1 \; no-events 300
	assert_success
	assert_output $'OK\n/w tok\n/w/b tok\n/w/a tok\nOK'
}

@test "watches: rm fires for every removed node someone watches exactly" {
	xsemu_start
	xenstore-write /w/b/c/d 1 /w/x/c/d 1
	# outside a transaction: post-order, as the nodes are deleted
	run "$XSTOOL" watch /w top watch /w/b/c inner watch /w/b/c/d/e deeper \
		events 3 2000 exec "$XSTOOL" rm /w/b \; events 2 2000 \
		no-events 300
	assert_success
	assert_line -n 6 "OK"		# the inner xstool's rm
	assert_line -n 7 "/w/b/c inner"
	assert_line -n 8 "/w/b top"
	assert_line -n 9 "OK"
	# xenstore-rm runs in a transaction: same events, fired at commit in
	# the order the transaction first touched the nodes
	run "$XSTOOL" watch /w top watch /w/x/c inner events 2 2000 \
		exec xenstore-rm /w/x \; events 2 2000 no-events 300
	assert_success
	assert_line -n 4 "/w/x top"
	assert_line -n 5 "/w/x/c inner"
	assert_line -n 6 "OK"
}

@test "watches: transaction events fire on commit only" {
	xsemu_start
	run "$XSTOOL" watch /w tok events 1 2000 \
		begin write /w/x 1 write /w/y 1 no-events 300 commit \
		events 2 2000 \
		begin write /w/z 1 abort no-events 300
	assert_success
	assert_output "$(printf '%s\n' OK '/w tok' 1 OK OK OK OK '/w/x tok' '/w/y tok' 2 OK OK OK)"
}

@test "watches: a guest's relative watch gets relative paths, and only what it may read" {
	xsemu_start --domain 1:guest1 --domain 2:guest2
	run xsemu_as 1 "$XSTOOL" watch data rel watch /local/domain/1/attr abs \
		watch /local/domain/2 other events 3 2000 \
		exec env XENSTORED_PATH="$XSEMU_DIR/socket" \
			xenstore-write /local/domain/1/data/x 1 \; events 1 2000 \
		exec env XENSTORED_PATH="$XSEMU_DIR/socket" \
			xenstore-write /local/domain/1/attr/y 1 \; events 1 2000 \
		exec env XENSTORED_PATH="$XSEMU_DIR/socket" \
			xenstore-write /local/domain/2/data/z 1 \; no-events 300
	assert_success
	assert_line "data rel"
	assert_line "/local/domain/2 other"
	assert_line "data/x rel"
	assert_line "/local/domain/1/attr/y abs"
	refute_line --partial "data/z"
}

@test "watches: @introduceDomain and @releaseDomain on domain create and destroy" {
	xsemu_start --domain 1:guest1
	run "$XSTOOL" watch @introduceDomain in watch @releaseDomain out \
		events 2 2000 \
		exec "$XSEMU" --dir "$XSEMU_DIR" domain-create 3 guest3 \; \
		events 1 2000 \
		exec "$XSEMU" --dir "$XSEMU_DIR" domain-destroy 3 \; \
		events 1 2000 no-events 300
	assert_success
	assert_output $'OK\nOK\n@introduceDomain in\n@releaseDomain out\n@introduceDomain in\n@releaseDomain out\nOK'
	# a guest gets the first firing, but no domain events (no permission)
	run xsemu_as 1 "$XSTOOL" watch @releaseDomain out events 1 2000 \
		exec "$XSEMU" --dir "$XSEMU_DIR" domain-create 3 guest3 \; \
		exec "$XSEMU" --dir "$XSEMU_DIR" domain-destroy 3 \; \
		no-events 300
	assert_success
}

@test "watches: per-domain limit is E2BIG; a duplicate watch is EEXIST" {
	xsemu_start --domain 1:guest1
	run xsemu_as 1 "$XSTOOL" watch data t expect EEXIST watch data t \
		watch-many data 200
	assert_failure
	assert_line "added 128"
	assert_line "watch-many: E2BIG"
}

@test "xenstore-ls -f shows a domain's tree as libxl builds it" {
	xsemu_start
	xsemu_domain_create 4 web --vif 0 --vif 1:00:16:3e:aa:bb:cc
	run xenstore-ls -f /local/domain/4
	assert_success
	assert_line '/local/domain/4/name = "web"'
	assert_line '/local/domain/4/domid = "4"'
	assert_line '/local/domain/4/data = ""'
	assert_line '/local/domain/4/control/shutdown = ""'
	assert_line '/local/domain/4/device/vif/1/mac = "00:16:3e:aa:bb:cc"'
	assert_line '/local/domain/4/device/vif/0/backend = "/local/domain/0/backend/vif/4/0"'
	run xenstore-read /local/domain/0/backend/vif/4/1/frontend-id
	assert_output 4
	run "$XSTOOL" introduced 4 perms /local/domain/4 perms /local/domain/4/data
	assert_output $'T\nn0,r4\nn4'
	[ -S "$XSEMU_DIR/domain/4" ]
	run xsemu_domain_create 5 web
	assert_failure
}

@test "domain destroy closes the guest's connections and removes its socket" {
	xsemu_start --domain 1:guest1
	run xsemu_as 1 "$XSTOOL" read name \
		exec "$XSEMU" --dir "$XSEMU_DIR" domain-destroy 1 \; \
		fail read name
	assert_success
	assert_line -n 0 "guest1"
	[ ! -e "$XSEMU_DIR/domain/1" ]
	run xenstore-exists /local/domain/1
	assert_failure
	run "$XSTOOL" introduced 1
	assert_output "F"
	run xsemu_as 1 xenstore-read name
	assert_failure
	# the domid can be used again
	xsemu_domain_create 1 again
	run xsemu_as 1 xenstore-read name
	assert_output "again"
}

@test "requests: ids echoed, unknown type ENOSYS, privileged ops EACCES for guests" {
	xsemu_start --domain 1:guest1
	run "$XSTOOL" rawmsg 99 x rawmsg 17 1 rawmsg 10 7
	assert_output $'reply 16 4660 ENOSYS\nreply 17 4660 T\nreply 10 4660 /local/domain/7'
	run xsemu_as 1 "$XSTOOL" rawmsg 8 x expect EACCES introduced 1 \
		expect EACCES control check -
	assert_line -n 0 "reply 16 4660 EACCES"
	assert_success
}

@test "outstanding requests: a guest that does not read its replies is throttled, not dropped" {
	xsemu_start --domain 1:guest1
	local log=$XSEMU_DIR/requests.log
	run xsemu_as 1 "$XSTOOL" pipeline 300 name sleep 300 \
		exec sh -c "test \$(grep -c 'dom 1 READ' '$log') -lt 300" \; \
		drain 300
	assert_success
	assert_line "replies 300"
	[ "$(grep -c 'dom 1 READ' "$log")" -eq 300 ]
	# dom0 is not limited
	run "$XSTOOL" pipeline 300 /local/domain/1/name sleep 300 \
		exec sh -c "test \$(grep -c 'dom 0 READ' '$log') -eq 300" \; \
		drain 300
	assert_success
}

@test "outstanding requests: events a watcher does not read hold the writer back until they time out" {
	xsemu_start --domain 1:guest1 --domain 2:guest2 --event-timeout 1
	local log=$XSEMU_DIR/requests.log
	xsemu_as 1 "$XSTOOL" chmod data n1,r2
	# guest 2 watches guest 1's data and never reads its socket; each of
	# guest 1's writes stays outstanding until its event is consumed or
	# dropped, so guest 1 advances 20 writes per timeout
	run xsemu_as 2 "$XSTOOL" pwatch /local/domain/1/data tok \
		exec env XENSTORED_PATH="$XSEMU_DIR/domain/1" "$XSTOOL" \
			fill data/f 80 \;
	assert_success
	grep -q "watch event timed out" "$log"
	[ "$(xenstore-list /local/domain/1/data/f/0 | wc -l)" -eq 80 ]
}

@test "200 guests, concurrent clients, clean SIGTERM" {
	local args=() i
	for ((i = 1; i <= 200; i++)); do
		args+=(--domain "$i:g$i")
	done
	XSEMU_LOG=0 xsemu_start "${args[@]}"
	[ "$(ls "$XSEMU_DIR/domain" | wc -l)" -eq 200 ]
	run xsemu_as 137 xenstore-read name
	assert_output g137
	local pids=()
	for ((i = 1; i <= 200; i++)); do
		xsemu_as "$i" xenstore-write data/guest/x "$i" 3>&- &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i"
	done
	[ "$(xenstore-read /local/domain/200/data/guest/x)" = 200 ]
	local pid=$XSEMU_PID dir=$XSEMU_DIR
	xsemu_stop
	run xsemu_alive "$pid"
	assert_failure
	[ ! -e "$dir/socket" ]
	[ -z "$(ls "$dir/domain")" ]
	[ ! -e "$dir/pid" ]
}
