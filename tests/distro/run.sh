#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/distro/run.sh REL: boots the images of build-images.sh REL: QEMU
# (TCG) -> REL's Xen -> the dom0 root (systemd) on /dev/vda; its
# xvtest.service runs the steps (files/xvtest-dom0) and powers off.  The
# serial log is $O/distro/REL/run.log, every line time-stamped.  Prints one
# line per step, "step NAME PASS|FAIL|XFAIL (S s, at T s) detail", and the
# output of failed steps.  Env: XV_DISTRO_TIMEOUT (default 2400 s), MEM.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
rel=${1:?usage: run.sh RELEASE}
img=$D/$rel/img
runlog=$D/$rel/run.log
timeout=${XV_DISTRO_TIMEOUT:-2400}
[ -f "$img/dom0.img" ] || die "no images in $img (build-images.sh $rel)"
# the disks are changed by the run: boot copies (sparse, fast)
cp --sparse=always "$img/dom0.img" "$img/dom0.run.img"
cp --sparse=always "$img/guest.img" "$img/guest.run.img"
start=${EPOCHREALTIME/./}
log "$rel: booting QEMU (log: $runlog, timeout $timeout s)"
timeout --foreground -k 10 "$timeout" qemu-system-x86_64 \
	-accel tcg,thread=multi -cpu qemu64,+rdrand,+svm,+npt -m "${MEM:-2560}" -smp 2 \
	-nographic -display none -no-reboot -net none -serial mon:stdio \
	-drive file="$img/dom0.run.img",if=virtio,format=raw,cache=unsafe \
	-drive file="$img/guest.run.img",if=virtio,format=raw,cache=unsafe \
	-kernel "$img/xen" \
	-append "console=com1 com1=115200,8n1 loglvl=warning guest_loglvl=warning dom0_mem=1280M,,max:1280M dom0_max_vcpus=2" \
	-initrd "$img/vmlinux.gz root=/dev/vda ro console=hvc0 loglevel=4 systemd.show_status=1 panic=-1,$img/initrd.img" \
	</dev/null 2>&1 | while IFS= read -r line; do
		d=$(((${EPOCHREALTIME/./} - start) / 10000))
		printf '[%4d.%02d] %s\n' $((d / 100)) $((d % 100)) "${line%$'\r'}"
	done >"$runlog"
rc=${PIPESTATUS[0]}
total=$(((${EPOCHREALTIME/./} - start) / 1000000))
log "$rel: QEMU exited with $rc after $total s"
rm -f "$img/dom0.run.img" "$img/guest.run.img"
