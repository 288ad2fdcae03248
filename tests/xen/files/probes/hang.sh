#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# hang.sh: a probe that never ends on its own (and leaves a child behind):
# the agent's command_timeout must kill the whole process group
sleep 31.7 &
echo "OK - started"
wait
