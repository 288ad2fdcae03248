#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# soname.sh NAME LDFLAGS...: the soname of libNAME that the linker records
# when a program links with LDFLAGS (e.g. the output of pkg-config --libs),
# found by linking an empty program and reading what it needs.  Prints it,
# or fails with a message.  Env: CC (default cc).
set -eu
name=$1
shift
tmp=$(mktemp -d "${TMPDIR:-/tmp}/soname.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo 'int main(void) { return 0; }' >"$tmp/m.c"
"${CC:-cc}" -o "$tmp/m" "$tmp/m.c" -Wl,--no-as-needed "$@"
so=$(LC_ALL=C readelf -d "$tmp/m" | sed -n "s/.*(NEEDED).*\[\(lib$name\.so[^]]*\)\]/\1/p")
[ -n "$so" ] || { echo "soname.sh: linking with $* records no lib$name.so" >&2; exit 1; }
echo "$so"
