#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# sleep.sh SECONDS [LABEL]: a probe that takes a while, then says OK
sleep "$1"
echo "OK - ${2:-slept} $1"
