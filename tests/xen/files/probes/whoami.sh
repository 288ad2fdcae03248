#!/bin/sh
# whoami.sh: which guest answered (two domUs run at once)
echo "OK - I am $(hostname)"
