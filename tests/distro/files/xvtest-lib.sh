# SPDX-License-Identifier: GPL-2.0-or-later
# /usr/local/lib/xvtest-lib.sh (check-distro, sourced by xvtest-dom0 and
# xvtest-guest): the guest's test driver takes shell commands from dom0
# through xenstore, under the guest's own data/xvtest (nodes the guest
# creates, so both sides may read and write them):
#   req  "SEQ COMMAND"  written by dom0
#   out  the command's output (last 1800 bytes: 2048 per node is the quota), rc its exit status,
#   done SEQ once out and rc are written; ready = the guest's boot time
XVT=data/xvtest
