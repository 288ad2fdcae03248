#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# big.sh BYTES: exactly BYTES bytes of deterministic output, the last one a
# newline (dom0 runs the same script to compare checksums)
{
	echo "OK - $1 bytes of output"
	yes '0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ ~!'
} | head -c $(($1 - 1))
echo
