#!/bin/bash
# kernel/build.sh - build the fixed xen-evtchn.ko and xen-gntalloc.ko the
# way the DKMS package does, against Debian's linux-headers, without
# installing anything: the headers .debs are downloaded (apt-get download,
# the machine's own apt configuration, unchanged) and unpacked under
# $O/kernel.  Also builds and lints the DKMS package.
#
#   kernel/build.sh modules [KVER]  -> $O/kernel/modules/KVER/*.ko
#                                      (KVER default: the ABI of Debian's
#                                      linux-headers-amd64, e.g. 6.1.0-57-amd64)
#   kernel/build.sh deb             -> $O/kernel/pkg/xen-evtchn-fix-dkms_*.deb
#   kernel/build.sh lint            -> lintian on that package
#
# Runs on Debian 12 (bookworm, gcc-12) for the 6.1 kernels; 6.12 needs
# trixie's gcc-14: build those with the DKMS package on the guest.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
O=${O:-$top/build}
mkdir -p "$O/kernel"
O=$(cd "$O" && pwd) # absolute: the headers' Makefile gets it by path
W=$O/kernel

modules() {
	local kver=${1:-} dl=$W/dl root=$W/root hdr series work
	if [ -z "$kver" ]; then
		kver=$(apt-cache depends linux-headers-amd64 | sed -n 's/.*Depends: linux-headers-\(.*\)$/\1/p' | head -n1)
	fi
	[ -n "$kver" ] || { echo "build.sh: no kernel version" >&2; return 1; }
	case $kver in 6.1.*) series=6.1 ;; 6.12.*) series=6.12 ;; *) echo "build.sh: $kver: 6.1 or 6.12 only" >&2; return 1 ;; esac
	hdr=$root/usr/src/linux-headers-$kver
	if [ ! -e "$hdr/Makefile" ]; then
		mkdir -p "$dl" "$root"
		local common=${kver%-*}-common kbuild
		kbuild=linux-kbuild-$series
		[ "$series" = 6.12 ] && kbuild=linux-kbuild-${kver%-*}
		(cd "$dl" && apt-get download "linux-headers-$kver" "linux-headers-$common" "$kbuild")
		for d in "$dl"/*.deb; do dpkg-deb -x "$d" "$root"; done
		# the flavour's Makefile includes the common one by absolute path
		sed -i "s|/usr/src/|$root/usr/src/|" "$hdr/Makefile"
	fi
	work=$W/work-$kver
	rm -rf "$work"
	mkdir -p "$work"
	cp -R "$here/dkms/src/." "$work/"
	(cd "$work" && ./dkms-prepare "$kver")
	make -C "$hdr" M="$work" modules
	mkdir -p "$W/modules/$kver"
	cp "$work"/xen-evtchn.ko "$work"/xen-gntalloc.ko "$W/modules/$kver/"
	modinfo -F vermagic "$W/modules/$kver/xen-evtchn.ko"
	echo "build.sh: $W/modules/$kver/xen-evtchn.ko xen-gntalloc.ko"
}

deb() {
	local v
	v=$(dpkg-parsechangelog -l "$here/dkms/debian/changelog" -S Version)
	rm -rf "$W/pkg"
	mkdir -p "$W/pkg"
	cp -R "$here/dkms" "$W/pkg/xen-evtchn-fix-dkms-$v"
	(cd "$W/pkg/xen-evtchn-fix-dkms-$v" && dpkg-buildpackage -us -uc)
	ls "$W/pkg"/*.deb
}

lint() {
	local c
	c=$(ls "$W/pkg"/*.changes | head -n1)
	lintian -I --pedantic "$c"
}

case ${1:-} in
modules) shift; modules "$@" ;;
deb) deb ;;
lint) lint ;;
*) echo "usage: kernel/build.sh modules [KVER] | deb | lint" >&2; exit 2 ;;
esac
