#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the images check-xen.sh boots, into OUT (never inside the source
# tree), from Debian's packages and the project's binaries:
#   OUT/xen           the hypervisor, gunzipped (a multiboot ELF for -kernel)
#   OUT/vmlinux.gz    the Debian kernel as a gzip'd plain ELF (dom0 and domU;
#                     cached per kernel version: unpacking the xz bzImage
#                     under TCG would cost ~4 s per boot)
#   OUT/domu.cpio.gz  busybox + xenstore-utils + DOMU_BINS + steps/domu.sh
#                     + the monitoring-plugins of the probe catalogue (with
#                     procps ps and uptime, which they run) + the agent's
#                     configuration, the catalogue and test probes, an
#                     /etc/os-release, passwd/group with nobody
#   OUT/dom0.cpio.gz  busybox + the Xen tools + DOM0_BINS + steps/{lib,dom0*}.sh
#                     + the bridge configuration + the domU kernel, initramfs
#                     and configs (probe, probe2) + the e1000 driver (NRPE
#                     listener reached from the host through QEMU)
# Usage: build-images.sh OUT
# Env: DOM0_BINS, DOMU_BINS = "src:/dest ..." executables to install (with
#      the shared libraries ldd finds); DOMU_MODULES = "path/x.ko ..." modules
#      that replace the domU's x.ko (their vermagic must be KVER's); KVER (default: the newest kernel
#      with both /boot/vmlinuz-KVER and /lib/modules/KVER).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
OUT=${1:?usage: build-images.sh OUT}
export PATH=$PATH:/usr/sbin:/sbin # modinfo
XENBIN=/usr/lib/xen-4.17/bin
XENGZ=/boot/xen-4.17-amd64.gz
XEN_MODULES="xen-privcmd xenfs xen-evtchn xen-gntdev xen-gntalloc xen-netback xen-netfront"
XENSTORE_LINKS="read write ls list exists rm chmod watch"
PLUGINDIR=/usr/lib/nagios/plugins
# the monitoring-plugins-basic programs the domU catalogue uses (check_apt
# is left out of it: it needs apt and its package lists), and check_dummy
# for the test probes
PLUGINS="check_load check_disk check_swap check_procs check_users check_dummy"

if [ -z "${KVER:-}" ]; then
	for k in $(ls /lib/modules 2>/dev/null | sort -V); do
		[ -e "/boot/vmlinuz-$k" ] && KVER=$k
	done
fi
[ -n "${KVER:-}" ] || { echo "build-images: no kernel with /boot/vmlinuz-* and /lib/modules/* (install linux-image-amd64)" >&2; exit 1; }
for f in "$XENGZ" /bin/busybox "$XENBIN/xl" /usr/bin/xenstore /usr/bin/ps /usr/bin/uptime \
	$(printf "$PLUGINDIR/%s " $PLUGINS); do
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
for ko in ${DOMU_MODULES:-}; do
	vm=$(modinfo -F vermagic "$ko") || exit 1
	case $vm in "$KVER "*) ;; *) echo "build-images: $ko is for ${vm%% *}, not $KVER" >&2; exit 1 ;; esac
	install -m644 "$ko" "$D/lib/modules/$(basename "$ko")"
	echo "build-images: domU module $(basename "$ko") from $ko"
done
install_bins "$D" "${DOMU_BINS:-}"
for p in $PLUGINS; do copy_with_libs "$D" "$PLUGINDIR/$p"; done
# check_procs runs /bin/ps axwwo ..., check_load /usr/bin/uptime: procps's,
# busybox's lack the options and output format the plugins parse
rm -f "$D/bin/ps" "$D/usr/bin/ps" "$D/bin/uptime" "$D/usr/bin/uptime"
mkdir -p "$D/bin" && cp -L /usr/bin/ps "$D/bin/ps" && copy_libs "$D" /usr/bin/ps
copy_with_libs "$D" /usr/bin/uptime
mkdir -p "$D/etc/xenvchan/probes.d" "$D/xentest/probes"
install -m644 "$here/files/agent.cfg" "$D/etc/xenvchan/agent.cfg"
{
	echo "# check-xen: check_apt left out (needs apt and its package lists)"
	grep -v '^command\[check_apt\]=' "$top/probes/default.cfg"
} >"$D/etc/xenvchan/probes.d/default.cfg"
install -m755 "$here"/files/probes/*.sh "$D/xentest/probes/"
install -m644 "$here/files/os-release" "$D/etc/os-release"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$D/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$D/etc/group"
ln -sfn /proc/self/mounts "$D/etc/mtab"
install -m644 "$here/steps/domu.sh" "$D/xentest/domu.sh"
install -m755 "$here/files/domu-init" "$D/init"
pack "$D" "$OUT/domu.cpio.gz"

# ---- dom0
R=$OUT/dom0-root
mk_busybox_root "$R"
copy_with_libs "$R" $XENBIN/xl $XENBIN/xenstored $XENBIN/xenconsoled $XENBIN/xen-init-dom0 \
	$XENBIN/xenconsole $XENBIN/libxl-save-helper
install_bins "$R" "${DOM0_BINS:-}"
install -m644 "$here/steps/lib.sh" "$R/xentest/lib.sh"
install -m644 "$here/steps/dom0.sh" "$R/xentest/dom0.sh"
install -m644 "$here/steps/dom0-save-restore.sh" "$R/xentest/dom0-save-restore.sh"
install -m644 "$here/steps/dom0-migrate.sh" "$R/xentest/dom0-migrate.sh"
mkdir -p "$R/etc/xen/scripts" "$R/boot"
cp /etc/xen/xl.conf "$R/etc/xen/" 2>/dev/null || true
install -m644 "$here/files/domu.cfg" "$R/etc/xen/domu.cfg"
# the second guest: same images, its own name and MAC
sed -e 's/^name = .*/name = "probe2"/' -e 's/12:34:56/12:34:57/' "$here/files/domu.cfg" \
	>"$R/etc/xen/domu2.cfg"
# the third, for the migration steps: PVH (PV guests cannot migrate on
# Debian's Xen), its own name and MAC
sed -e 's/^name = .*/name = "probe3"/' -e 's/^type = .*/type = "pvh"/' -e 's/12:34:56/12:34:58/' \
	"$here/files/domu.cfg" >"$R/etc/xen/domu3.cfg"
mkdir -p "$R/etc/xenvchan" "$R/xentest/probes"
[ -e "$here/files/bridge.cfg" ] && install -m644 "$here/files/bridge.cfg" "$R/etc/xenvchan/bridge.cfg"
install -m755 "$here"/files/probes/*.sh "$R/xentest/probes/"
cp "$(modinfo -k "$KVER" -n e1000)" "$R/lib/modules/e1000.ko"
install -m755 "$here/files/vif-noop" "$R/etc/xen/scripts/vif-noop"
cp "$OUT/vmlinux.gz" "$R/boot/vmlinuz"
cp "$OUT/domu.cpio.gz" "$R/boot/domu.cpio.gz"
install -m755 "$here/files/dom0-init" "$R/init"
pack "$R" "$OUT/dom0.cpio.gz"
echo "build-images: kernel $KVER, $(du -h "$OUT/dom0.cpio.gz" | cut -f1) dom0.cpio.gz, $(du -h "$OUT/domu.cpio.gz" | cut -f1) domu.cpio.gz"
