#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# whoami.sh: which guest answered (two domUs run at once)
echo "OK - I am $(hostname)"
