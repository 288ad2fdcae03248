#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The licence is stated where a reader and a tool look for it: LICENSE, the
# Debian copyright file, and an SPDX line in every source file.

setup() {
	cd "$XV_TOP"
	command -v git >/dev/null && git rev-parse --git-dir >/dev/null 2>&1 ||
		skip "not a git checkout: the source list comes from git"
}

@test "license: LICENSE is the GPL 2 and debian/copyright says GPL-2+ for every file" {
	grep -q 'GNU GENERAL PUBLIC LICENSE' LICENSE
	grep -q 'Version 2, June 1991' LICENSE
	grep -Eq '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' debian/copyright
	awk '/^Files: \*$/ { f = 1 } f && /^License:/ { print; exit }' debian/copyright | grep -qx 'License: GPL-2+'
}

@test "license: every C, shell, bats and Python source file carries the SPDX line" {
	local f missing=()
	while IFS= read -r f; do
		# kernel/: patches to Linux and its files, GPL-2 only (debian/copyright)
		case $f in tests/fuzz/corpus/* | tests/fixtures/* | debian/* | kernel/*) continue ;; esac
		case $f in
		*.c | *.h | *.sh | *.bash | *.bats | *.py | Makefile) ;;
		*) head -c 2 "$f" | grep -q '#!' || continue ;;
		esac
		head -n 3 "$f" | grep -q 'SPDX-License-Identifier: GPL-2.0-or-later' || missing+=("$f")
	done < <(git ls-files)
	[ ${#missing[@]} -eq 0 ] || { printf 'no SPDX line: %s\n' "${missing[@]}"; false; }
}
