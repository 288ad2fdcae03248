# SPDX-License-Identifier: GPL-2.0-or-later
# tests/distro/lib.sh: shared by the check-distro scripts (sourced).
# Layout, all under $O/distro (git-ignored):
#   cache/REL/          debootstrap's .deb cache (kept: re-runs are fast)
#   REL/buildroot/      minbase REL + build-deps + lintian: the packages
#                       are built and linted here
#   REL/deb/            the packages built for REL (and the ~test1 rebuild)
#   REL/dom0root/       REL with systemd, Xen, linux-image: becomes dom0.img
#   REL/guestroot/      REL with systemd, linux-image: becomes guest.img
#   REL/img/            xen, vmlinux.gz, initrd, dom0.img, guest.img
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
O=${O:-build}
mkdir -p "$top/$O/distro" 2>/dev/null || mkdir -p "$O/distro"
D=$(cd "$top" && mkdir -p "$O/distro" && cd "$O/distro" && pwd)
MIRROR=${XV_DISTRO_MIRROR:-http://deb.debian.org/debian}
export LC_ALL=C DEBIAN_FRONTEND=noninteractive

xen_version() {	# REL -> the Xen version of that release
	case $1 in
	bookworm) echo 4.17 ;;
	trixie) echo 4.20 ;;
	*) echo "unknown release $1" >&2; return 1 ;;
	esac
}

log() { printf '%s distro: %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# debootstrap_cached REL DIR PACKAGES: a minbase REL in DIR, then PACKAGES
# (space-separated) installed by apt-get in it (debootstrap's own resolver
# cannot do virtual packages, e.g. lintian's perl-openssl-abi-3); kept when
# DIR/.xv-done names the same package list
debootstrap_cached() {
	local rel=$1 dir=$2 pkgs=$3 t0=$SECONDS
	if [ -f "$dir/.xv-done" ] && [ "$(cat "$dir/.xv-done")" = "$pkgs" ]; then
		log "$rel: $(basename "$dir") cached"
		return 0
	fi
	if [ ! -f "$dir/.xv-base" ]; then
		rm -rf "$dir"
		mkdir -p "$D/cache/$rel" "$(dirname "$dir")"
		log "$rel: debootstrap $(basename "$dir") (log: $dir.log)"
		debootstrap --variant=minbase --cache-dir="$D/cache/$rel" \
			"$rel" "$dir" "$MIRROR" >"$dir.log" 2>&1 || { tail -20 "$dir.log" >&2; die "debootstrap $rel $dir"; }
		touch "$dir/.xv-base"
	fi
	echo "deb $MIRROR $rel main" >"$dir/etc/apt/sources.list"
	cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
	# the .debs stay in debootstrap's cache for the next root
	mkdir -p "$dir/var/cache/apt/archives"
	log "$rel: apt-get install in $(basename "$dir"): $pkgs"
	in_root "$dir" apt-get update -q >>"$dir.log" 2>&1 || die "$rel: apt-get update in $dir"
	mount --bind "$D/cache/$rel" "$dir/var/cache/apt/archives"
	in_root "$dir" apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 $pkgs >>"$dir.log" 2>&1 ||
		{ umount "$dir/var/cache/apt/archives"; tail -20 "$dir.log" >&2; die "$rel: apt-get install in $dir"; }
	umount "$dir/var/cache/apt/archives"
	echo "$pkgs" >"$dir/.xv-done"
	log "$rel: $(basename "$dir") made in $((SECONDS - t0)) s"
}

# in_root DIR CMD...: runs CMD in the chroot DIR with /proc, /sys and /dev
# mounted for the time of the command
in_root() {
	local dir=$1 rc=0
	shift
	mount -t proc proc "$dir/proc"
	mount -t sysfs sysfs "$dir/sys"
	mount --bind /dev "$dir/dev"
	mount --bind /dev/pts "$dir/dev/pts"
	chroot "$dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C \
		DEBIAN_FRONTEND=noninteractive "$@" || rc=$?
	umount "$dir/dev/pts" "$dir/dev" "$dir/sys" "$dir/proc"
	return $rc
}

# vmlinux_gz BZIMAGE OUT: the plain ELF kernel out of a Debian bzImage (xz on
# bookworm, zstd on trixie), gzip'd: faster for libxenguest and Xen to load
# under emulation than the bzImage.  Fails when there is no such payload.
vmlinux_gz() {
	local pos magic cmd
	for magic in xz zstd; do
		if [ $magic = xz ]; then cmd="xz -dc"; pat=$'\xfd7zXZ'; else cmd="zstd -dcq"; pat=$'\x28\xb5\x2f\xfd'; fi
		for pos in $(LC_ALL=C grep -abo "$pat" "$1" | cut -d: -f1); do
			tail -c +$((pos + 1)) "$1" | $cmd >"$2.elf" 2>/dev/null
			if [ "$(head -c 4 "$2.elf" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
				gzip -1 -c "$2.elf" >"$2" && rm -f "$2.elf"
				return 0
			fi
		done
	done
	rm -f "$2.elf"
	return 1
}
