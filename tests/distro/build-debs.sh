#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/distro/build-debs.sh REL: the Debian packages for release REL
# (bookworm, trixie), built and linted INSIDE a minbase root of that release
# ($O/distro/REL/buildroot, debootstrapped once, then cached), with that
# release's compiler, libxen-dev and lintian: libxenvchan's soname follows
# the Xen version, so a bookworm package cannot install on trixie.
#   1. export the files git sees into buildroot/src/xenvchan-nrpe;
#   2. run tests/pkg/build-debs.sh there (dpkg-buildpackage -b and -S,
#      lintian --fail-on error,warning);
#   3. rebuild the binaries once more as the next version (a changelog entry
#      VERSION-(N+1)~test1), for the upgrade test;
#   4. copy the results to $O/distro/REL/deb (and deb/upgrade).
# Needs root (debootstrap, chroot) and the Debian archive.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rel=${1:?usage: build-debs.sh RELEASE}
xen_version "$rel" >/dev/null
root=$D/$rel/buildroot
out=$D/$rel/deb
t0=$SECONDS

debootstrap_cached "$rel" "$root" \
	"build-essential debhelper fakeroot lintian xz-utils"
t1=$SECONDS

rm -rf "$root/src" "$root/out"
mkdir -p "$root/src/xenvchan-nrpe" "$root/out"
(cd "$top" && git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -cf -) | tar -C "$root/src/xenvchan-nrpe" -xf -

# the build-deps, from debian/control (apt-get build-dep only when missing)
if ! in_root "$root" sh -c 'cd /src/xenvchan-nrpe && dpkg-checkbuilddeps' >/dev/null 2>&1; then
	log "$rel: apt-get build-dep"
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	in_root "$root" apt-get update -q >>"$root.log" 2>&1
	mount --bind "$D/cache/$rel" "$root/var/cache/apt/archives"
	in_root "$root" sh -c 'cd /src/xenvchan-nrpe && apt-get build-dep -y -q -o Dpkg::Use-Pty=0 ./' >>"$root.log" 2>&1 ||
		{ umount "$root/var/cache/apt/archives"; tail -20 "$root.log" >&2; die "$rel: apt-get build-dep"; }
	umount "$root/var/cache/apt/archives"
fi
t1b=$SECONDS
log "$rel: build and lintian in the $rel root"
in_root "$root" sh -c 'cd /src/xenvchan-nrpe && O=/out tests/pkg/build-debs.sh' >"$D/$rel/build-debs.log" 2>&1 || {
	tail -40 "$D/$rel/build-debs.log" >&2
	die "$rel: build-debs.sh in the $rel root (log: $D/$rel/build-debs.log)"
}
grep -E '^[EWIPXN]: ' "$D/$rel/build-debs.log" | sed "s/^/  $rel lintian: /" >&2 || true
t2=$SECONDS

# the next version, for the upgrade test: same sources, one changelog entry
v=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
next="${v%-*}-$((${v##*-} + 1))~test1"
up=$root/src/up/xenvchan-nrpe
mkdir -p "$up"
cp -a "$root/src/xenvchan-nrpe/." "$up/"
{
	printf 'xenvchan-nrpe (%s) UNRELEASED; urgency=medium\n\n  * Test build for the upgrade test of make check-distro.\n\n' "$next"
	printf ' -- check-distro <check-distro@localhost>  %s\n\n' "$(date -R)"
	cat "$root/src/xenvchan-nrpe/debian/changelog"
} >"$up/debian/changelog"
log "$rel: build $next (upgrade test)"
in_root "$root" sh -c 'cd /src/up/xenvchan-nrpe && dpkg-buildpackage -us -uc -b' >"$D/$rel/build-debs-up.log" 2>&1 || {
	tail -40 "$D/$rel/build-debs-up.log" >&2
	die "$rel: the $next build"
}

rm -rf "$out"
mkdir -p "$out/upgrade"
cp "$root"/out/deb/*.deb "$root"/out/deb/lintian.txt "$out/"
cp "$root"/src/up/*.deb "$out/upgrade/"
ls -1 "$out"/*.deb "$out"/upgrade/*.deb >&2
log "$rel: packages: root $((t1 - t0)) s, build-deps $((t1b - t1)) s, build+lintian $((t2 - t1b)) s, upgrade build $((SECONDS - t2)) s"
