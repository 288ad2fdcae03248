#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the Debian packages (debian/) out of the source tree, so that the
# build leaves nothing in it that git would see:
#   1. exports the files git sees (tracked, and untracked but not ignored)
#      into $O/deb/src/xenvchan-nrpe-VERSION;
#   2. runs dpkg-buildpackage -us -uc -b there, then makes the upstream
#      tarball from the export and builds the source package (-S);
#   3. moves the results (.deb, .ddeb, .dsc, tarballs, .buildinfo, .changes)
#      to $O/deb/ and runs lintian on the binary .changes and the .dsc
#      (output in $O/deb/lintian.txt).
# The version must be the Makefile's VERSION, with a Debian revision.
# Env: O (build dir, default build).  Exit status 1 on any failure, or when
# lintian reports an error or a warning that no override explains.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
O=${O:-build}
mkdir -p "$O"
out=$(cd "$O" && pwd)/deb
arch=$(dpkg --print-architecture)

die() { echo "build-debs: $*" >&2; exit 1; }

version=$(sed -n 's/^VERSION := *//p' Makefile)
deb_version=$(dpkg-parsechangelog -l debian/changelog -S Version)
[ -n "$version" ] || die "no VERSION in the Makefile"
[ "${deb_version%-*}" = "$version" ] ||
	die "debian/changelog is at $deb_version, the Makefile's VERSION is $version"

src=$out/src/xenvchan-nrpe-$version
rm -rf "$out/src" "$out"/*.deb "$out"/*.ddeb "$out"/*.changes "$out"/*.buildinfo \
	"$out"/*.dsc "$out"/*.tar.xz
mkdir -p "$src"

# what git sees; a file deleted from the work tree but still in the index
# is left out
# (without git, e.g. a copy exported into a build root by
# tests/distro/build-debs.sh: every file but the build dir)
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard
else
	find . -mindepth 1 \( -path "./${O#./}" -o -path ./.git \) -prune -o \( -type f -o -type l \) -printf '%P\0'
fi |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -cf - | tar -C "$src" -xf -
[ -f "$src/debian/rules" ] || die "the export has no debian/rules"

echo "build-debs: dpkg-buildpackage -us -uc -b in $src (log: $out/build.log)"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
	tail -40 "$out/build.log" >&2
	die "dpkg-buildpackage -b failed"
fi

# The source package too, so that lintian sees debian/control, copyright
# and the rest: the upstream tarball is the export without debian/, made
# reproducible (sorted, root-owned, dated by debian/changelog).
date=$(dpkg-parsechangelog -l debian/changelog -S Timestamp)
tar -C "$out/src" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$date" \
	--exclude="xenvchan-nrpe-$version/debian" -cf - "xenvchan-nrpe-$version" |
	xz -9 >"$out/src/xenvchan-nrpe_$version.orig.tar.xz"
echo "build-debs: dpkg-buildpackage -us -uc -S (log: $out/build-source.log)"
if ! (cd "$src" && dpkg-buildpackage -us -uc -S) >"$out/build-source.log" 2>&1; then
	tail -40 "$out/build-source.log" >&2
	die "dpkg-buildpackage -S failed"
fi
mv "$out/src"/*.deb "$out/src"/*.changes "$out/src"/*.buildinfo "$out/src"/*.dsc \
	"$out/src"/*.tar.xz "$out/"
mv "$out/src"/*.ddeb "$out/" 2>/dev/null || true
ls -1 "$out"/*.deb "$out"/*.dsc

echo "build-debs: lintian (log: $out/lintian.txt)"
# the verdict: every tag down to pedantic and experimental is shown, and an
# error or warning that no override (debian/*.lintian-overrides) explains
# fails; then, for the log, the overridden tags with their reasons
# (--show-overrides would count those as failures too)
rc=0
lintian --display-info --display-experimental --pedantic --fail-on error,warning \
	"$out"/xenvchan-nrpe_*_"$arch".changes "$out"/xenvchan-nrpe_*.dsc >"$out/lintian.txt" 2>&1 || rc=$?
{
	echo "-- overridden tags, with the reasons from debian/*.lintian-overrides:"
	lintian --display-info --display-experimental --pedantic --show-overrides \
		"$out"/xenvchan-nrpe_*_"$arch".changes "$out"/xenvchan-nrpe_*.dsc 2>&1 |
		grep -E '^(O|N):' || true
} >>"$out/lintian.txt"
grep -v '^running with root privileges' "$out/lintian.txt"
[ $rc -eq 0 ] || die "lintian: errors or warnings (exit status $rc)"
echo "build-debs: OK"
