#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/distro/build-images.sh REL: the disk images for check-distro.
#   dom0root  -> img/dom0.img  (ext4, /dev/vda in QEMU): systemd, REL's Xen
#                hypervisor and tools, linux-image-amd64, check_nrpe; the
#                bridge packages in /root/debs; a local flat apt repository
#                (/srv/xvrepo) with the archive's .debs they depend on; the
#                guest's kernel and initrd; the test driver (xvtest.service)
#   guestroot -> img/guest.img (ext4, QEMU's second disk /dev/vdb, handed to
#                the guest as xvda): systemd, linux-image-amd64, the agent
#                packages in /root/debs, a local repository for their
#                dependencies, the guest side of the test driver
#   img/xen, img/vmlinux.gz, img/initrd.img: the multiboot modules QEMU loads
# The roots are debootstrapped once and cached; images are made without
# loop mounts (mke2fs -d).  Needs root and the Debian archive (first run).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rel=${1:?usage: build-images.sh RELEASE}
xv=$(xen_version "$rel")
here=$top/tests/distro
deb=$D/$rel/deb
img=$D/$rel/img
t0=$SECONDS
ls "$deb"/xenvchan-agent_*.deb "$deb"/xenvchan-bridge_*.deb >/dev/null || die "no packages in $deb (build-debs.sh $rel)"

base="systemd-sysv udev kmod initramfs-tools linux-image-amd64 xenstore-utils procps iproute2"
debootstrap_cached "$rel" "$D/$rel/dom0root" "$base xen-hypervisor-$xv-amd64 xen-utils-$xv nagios-nrpe-plugin"
debootstrap_cached "$rel" "$D/$rel/guestroot" "$base"
t1=$SECONDS

# local_repo ROOT DEB...: the .debs of the archive that "apt install ./DEB"
# needs in ROOT, in a flat repository ROOT/srv/xvrepo that ROOT's apt uses
# (offline); ROOT's own apt sources are replaced by it
local_repo() {
	local root=$1 d
	shift
	rm -rf "$root/srv/xvrepo" "$root/tmp/xvdebs"
	mkdir -p "$root/srv/xvrepo/partial" "$root/tmp/xvdebs"
	cp "$@" "$root/tmp/xvdebs/"
	echo "deb $MIRROR $rel main" >"$root/etc/apt/sources.list"
	rm -f "$root/etc/apt/sources.list.d/xvrepo.list"
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	in_root "$root" apt-get update -q >/dev/null
	for d in "$@"; do
		in_root "$root" apt-get install -y -q --download-only --no-install-recommends \
			-o Dir::Cache::archives=/srv/xvrepo/ "/tmp/xvdebs/$(basename "$d")" >/dev/null
	done
	rm -rf "$root/srv/xvrepo/partial" "$root/srv/xvrepo/lock" "$root/tmp/xvdebs"
	(cd "$root/srv/xvrepo" && dpkg-scanpackages -m . /dev/null >Packages 2>/dev/null)
	echo "deb [trusted=yes] file:/srv/xvrepo ./" >"$root/etc/apt/sources.list"
	rm -rf "$root"/var/lib/apt/lists/*
	in_root "$root" apt-get update -q >/dev/null
	in_root "$root" apt-get clean
	log "$rel: $(basename "$root"): local repository: $(ls "$root/srv/xvrepo" | grep -c '\.deb$') .debs"
}

common_setup() {	# ROOT HOSTNAME ROOTDEV
	local root=$1
	echo "$2" >"$root/etc/hostname"
	printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "$2" >"$root/etc/hosts"
	echo "$3 / ext4 rw,errors=remount-ro 0 1" >"$root/etc/fstab"
	# no password for root on the consoles (a test machine without network)
	sed -i 's/^root:[^:]*:/root::/' "$root/etc/shadow"
	rm -rf "$root/root/debs"
	mkdir -p "$root/root/debs/upgrade"
	install -m 0755 "$here/files/xvtest-lib.sh" "$root/usr/local/lib/xvtest-lib.sh"
	# no periodic jobs during the test: they compete for the emulated CPU
	# (and apt-daily for apt's lock)
	local t
	for t in apt-daily apt-daily-upgrade man-db e2scrub_all fstrim dpkg-db-backup systemd-tmpfiles-clean; do
		ln -sf /dev/null "$root/etc/systemd/system/$t.timer"
	done
}

# ---- guest
g=$D/$rel/guestroot
local_repo "$g" "$deb"/xenvchan-agent_*.deb
common_setup "$g" guest01 /dev/xvda
cp "$deb"/xenvchan-agent_*.deb "$g/root/debs/"
cp "$deb"/upgrade/xenvchan-agent_*.deb "$g/root/debs/upgrade/"
install -m 0755 "$here/files/xvtest-guest" "$g/usr/local/sbin/xvtest-guest"
install -m 0644 "$here/files/xvtest-guest.service" "$g/etc/systemd/system/"
ln -sf /etc/systemd/system/xvtest-guest.service "$g/etc/systemd/system/multi-user.target.wants/xvtest-guest.service"

# ---- dom0
r=$D/$rel/dom0root
local_repo "$r" "$deb"/xenvchan-bridge_*.deb
common_setup "$r" dom0 /dev/vda
cp "$deb"/xenvchan-bridge_*.deb "$r/root/debs/"
cp "$deb"/upgrade/xenvchan-bridge_*.deb "$r/root/debs/upgrade/"
mkdir -p "$r/var/lib/xvtest" "$r/etc/xen/scripts"
gk=$(ls "$g"/boot/vmlinuz-* | sort -V | tail -1)
# the plain ELF, gzip'd: libxenguest unpacks an xz bzImage slowly under
# emulation (47 s for xl create)
vmlinux_gz "$gk" "$r/var/lib/xvtest/vmlinuz" || cp "$gk" "$r/var/lib/xvtest/vmlinuz"
cp "$g/boot/initrd.img-${gk##*/vmlinuz-}" "$r/var/lib/xvtest/initrd.img"
install -m 0755 "$top/tests/xen/files/vif-noop" "$r/etc/xen/scripts/vif-noop"
install -m 0644 "$here/files/guest01.cfg" "$r/etc/xen/guest01.cfg"
install -m 0755 "$here/files/xvtest-dom0" "$r/usr/local/sbin/xvtest-dom0"
install -m 0644 "$here/files/xvtest.service" "$r/etc/systemd/system/"
ln -sf /etc/systemd/system/xvtest.service "$r/etc/systemd/system/multi-user.target.wants/xvtest.service"
# the guest's console in /var/log/xen/console/guest-guest01.log
# (Debian's init script ignores XENCONSOLED_TRACE; it passes XENCONSOLED_ARGS)
sed -i '/^XENCONSOLED_ARGS=/d' "$r/etc/default/xen"
echo 'XENCONSOLED_ARGS="--log=guest --log-dir=/var/log/xen/console"' >>"$r/etc/default/xen"
mkdir -p "$r/var/log/xen/console"
# xendomains would save or shut down the guest at dom0's shutdown: not here
rm -f "$r"/etc/rc?.d/*xendomains "$r/etc/systemd/system/multi-user.target.wants/xendomains.service"
t2=$SECONDS

# ---- what QEMU loads, and the disks
rm -rf "$img"
mkdir -p "$img"
zcat "$r/boot/xen-$xv-amd64.gz" >"$img/xen"
k=$(ls "$r"/boot/vmlinuz-* | sort -V | tail -1)
vmlinux_gz "$k" "$img/vmlinux.gz" || die "no ELF kernel in $k"
cp "$r/boot/initrd.img-${k##*/vmlinuz-}" "$img/initrd.img"
mkimg() {	# ROOT IMAGE SIZE_MB
	local sz
	sz=$(( $(du -sm --exclude=./proc "$1" | cut -f1) * 3 / 2 + 512 ))
	rm -f "$2"
	mke2fs -q -t ext4 -E root_owner=0:0 -L root -d "$1" "$2" "${sz}M"
}
mkimg "$g" "$img/guest.img"
mkimg "$r" "$img/dom0.img"
log "$rel: images: roots $((t1 - t0)) s, setup $((t2 - t1)) s, disks $((SECONDS - t2)) s ($(du -sh "$img" | cut -f1))"
