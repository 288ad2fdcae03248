#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install the Debian packages a make target needs, quietly, only when some
# are missing.  Usage: scripts/deps.sh GROUP...  (build test xen fuzz bench nagios pkg)
# As root, missing packages are installed with apt-get; otherwise the script
# names them and exits 1.  Set XV_NO_DEPS=1 to skip the check entirely.
set -euo pipefail
[ "${XV_NO_DEPS:-0}" = 1 ] && exit 0

declare -A GROUP=(
	[build]="gcc make pkg-config libc6-dev libev-dev libxen-dev zlib1g-dev libssl-dev libjson-c-dev libmnl-dev libcmocka-dev scdoc"
	[test]="bats bats-assert bats-support python3 xenstore-utils monitoring-plugins-basic nagios-nrpe-plugin nagios-nrpe-server iproute2 procps valgrind"
	[fuzz]="clang"
	[xen]="qemu-system-x86 xen-hypervisor-4.17-amd64 xen-utils-4.17 xenstore-utils linux-image-amd64 busybox-static cpio gzip xz-utils kmod"
	[bench]="gnuplot-nox patch"
	# Debian packages: build, lint, and install into a debootstrapped root (make check-pkg)
	[pkg]="debhelper devscripts dpkg-dev fakeroot lintian debootstrap"
	# the real monitoring daemons for tests/bats/{nagios,icinga2}.bats (only
	# the engines: no web front end, no Apache), openssl for the test CA
	[nagios]="nagios4-core icinga2-bin icinga2-common openssl"
)

want=()
for g in "$@"; do
	[ -n "${GROUP[$g]+x}" ] || { echo "deps.sh: unknown group '$g'" >&2; exit 2; }
	want+=(${GROUP[$g]})
done

missing=()
for p in "${want[@]}"; do
	s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$s" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "Missing Debian packages: ${missing[*]}" >&2
	echo "Install them as root:  apt-get install ${missing[*]}" >&2
	exit 1
fi

echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
# Package maintainer scripts must not start daemons (nrpe would listen on
# 0.0.0.0:5666): a policy-rc.d that forbids it, only if none is in place.
policy=/usr/sbin/policy-rc.d
ours=0
if [ ! -e $policy ]; then
	printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy && ours=1
fi
cleanup() { [ $ours = 1 ] && rm -f $policy; rm -f "$log"; }
trap cleanup EXIT
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
	apt-get update -q >>"$log" 2>&1 || true
	if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
		tail -30 "$log" >&2
		echo "deps.sh: apt-get install failed for: ${missing[*]}" >&2
		exit 1
	fi
fi
echo "Installed: ${missing[*]}"
