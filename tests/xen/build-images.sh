#!/bin/bash
# Builds the images check-xen.sh boots, into OUT (never inside the source
# tree), from Debian's packages and the project's binaries:
#   OUT/xen           the hypervisor, gunzipped (a multiboot ELF for -kernel)
#   OUT/vmlinux.gz    the Debian kernel as a gzip'd plain ELF (dom0 and domU;
#                     cached per kernel version: unpacking the xz bzImage
#                     under TCG would cost ~4 s per boot)
#   OUT/domu.cpio.gz  busybox + xenstore-utils + DOMU_BINS + steps/domu.sh
#   OUT/dom0.cpio.gz  busybox + the Xen tools + DOM0_BINS + steps/{lib,dom0}.sh
#                     + the domU kernel, initramfs and config
# Usage: build-images.sh OUT
# Env: DOM0_BINS, DOMU_BINS = "src:/dest ..." executables to install (with
#      the shared libraries ldd finds); KVER (default: the newest kernel
#      with both /boot/vmlinuz-KVER and /lib/modules/KVER).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: build-images.sh OUT}
export PATH=$PATH:/usr/sbin:/sbin # modinfo
XENBIN=/usr/lib/xen-4.17/bin
XENGZ=/boot/xen-4.17-amd64.gz
XEN_MODULES="xen-privcmd xenfs xen-evtchn xen-gntdev xen-gntalloc xen-netback xen-netfront"
XENSTORE_LINKS="read write ls list exists rm chmod watch"

if [ -z "${KVER:-}" ]; then
	for k in $(ls /lib/modules 2>/dev/null | sort -V); do
		[ -e "/boot/vmlinuz-$k" ] && KVER=$k
	done
fi
[ -n "${KVER:-}" ] || { echo "build-images: no kernel with /boot/vmlinuz-* and /lib/modules/* (install linux-image-amd64)" >&2; exit 1; }
for f in "$XENGZ" /bin/busybox "$XENBIN/xl" /usr/bin/xenstore; do
	[ -e "$f" ] || { echo "build-images: missing $f (make check-xen installs it via scripts/deps.sh xen)" >&2; exit 1; }
done
mkdir -p "$OUT"

# copy every shared library ldd reports for an executable into a rootfs
copy_libs() { # root file
	ldd "$2" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
		mkdir -p "$1$(dirname "$lib")"
		cp -Ln "$lib" "$1$lib"
	done
}
copy_with_libs() { # root file...   (same path inside the rootfs)
	local root=$1 f
	shift
	for f in "$@"; do
		mkdir -p "$root$(dirname "$f")"
		cp -L "$f" "$root$f"
		copy_libs "$root" "$f"
	done
}
install_bins() { # root "src:dest src:dest ..."
	local root=$1 pair
	for pair in $2; do
		[ -x "${pair%%:*}" ] || { echo "build-images: not built: ${pair%%:*}" >&2; return 1; }
		mkdir -p "$root$(dirname "${pair#*:}")"
		install -m755 "${pair%%:*}" "$root${pair#*:}"
		copy_libs "$root" "${pair%%:*}"
	done
}
mk_busybox_root() { # root
	local root=$1 a m
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,etc,lib/modules,var/log,var/lib,xentest}
	ln -sfn /run "$root/var/run"
	ln -sfn /run/lock "$root/var/lock"
	cp /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list); do [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"; done
	for m in $XEN_MODULES; do
		cp "$(modinfo -k "$KVER" -n "$m")" "$root/lib/modules/$m.ko"
	done
	# glibc dlopen()s libgcc_s (pthread_cancel in xl): ldd does not list it
	mkdir -p "$root/lib/x86_64-linux-gnu"
	cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$root/lib/x86_64-linux-gnu/"
	# xenstore-utils: one multi-call binary, hard-linked as xenstore-read etc.
	copy_with_libs "$root" /usr/bin/xenstore
	for a in $XENSTORE_LINKS; do ln -f "$root/usr/bin/xenstore" "$root/usr/bin/xenstore-$a"; done
}
pack() { # root outfile
	(cd "$1" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -6 >"$2.tmp"
	mv "$2.tmp" "$2"
}

# ---- kernel and hypervisor (cached: they only change with the packages)
if [ ! -e "$OUT/vmlinux.gz" ] || [ "$(cat "$OUT/vmlinux.kver" 2>/dev/null)" != "$KVER" ] ||
	[ "/boot/vmlinuz-$KVER" -nt "$OUT/vmlinux.gz" ]; then
	"$here/extract-vmlinux.sh" "/boot/vmlinuz-$KVER" "$OUT/vmlinux"
	gzip -6 -c "$OUT/vmlinux" >"$OUT/vmlinux.gz.tmp" && mv "$OUT/vmlinux.gz.tmp" "$OUT/vmlinux.gz"
	rm -f "$OUT/vmlinux"
	echo "$KVER" >"$OUT/vmlinux.kver"
fi
if [ ! -e "$OUT/xen" ] || [ "$XENGZ" -nt "$OUT/xen" ]; then
	zcat "$XENGZ" >"$OUT/xen.tmp" && mv "$OUT/xen.tmp" "$OUT/xen"
fi

# ---- domU
D=$OUT/domu-root
mk_busybox_root "$D"
install_bins "$D" "${DOMU_BINS:-}"
install -m644 "$here/steps/domu.sh" "$D/xentest/domu.sh"
install -m755 "$here/files/domu-init" "$D/init"
pack "$D" "$OUT/domu.cpio.gz"

# ---- dom0
R=$OUT/dom0-root
mk_busybox_root "$R"
copy_with_libs "$R" $XENBIN/xl $XENBIN/xenstored $XENBIN/xenconsoled $XENBIN/xen-init-dom0 \
	$XENBIN/xenconsole
install_bins "$R" "${DOM0_BINS:-}"
install -m644 "$here/steps/lib.sh" "$R/xentest/lib.sh"
install -m644 "$here/steps/dom0.sh" "$R/xentest/dom0.sh"
mkdir -p "$R/etc/xen/scripts" "$R/boot"
cp /etc/xen/xl.conf "$R/etc/xen/" 2>/dev/null || true
install -m644 "$here/files/domu.cfg" "$R/etc/xen/domu.cfg"
install -m755 "$here/files/vif-noop" "$R/etc/xen/scripts/vif-noop"
cp "$OUT/vmlinux.gz" "$R/boot/vmlinuz"
cp "$OUT/domu.cpio.gz" "$R/boot/domu.cpio.gz"
install -m755 "$here/files/dom0-init" "$R/init"
pack "$R" "$OUT/dom0.cpio.gz"
echo "build-images: kernel $KVER, $(du -h "$OUT/dom0.cpio.gz" | cut -f1) dom0.cpio.gz, $(du -h "$OUT/domu.cpio.gz" | cut -f1) domu.cpio.gz"
