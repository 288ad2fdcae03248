# tests/xen/steps/domu.sh - what the domU does; sourced by its /init (busybox
# sh, root, Xen modules loaded, MYDOMID set).  Start long-running services
# in the background; dom0's steps (dom0.sh) check the results.

xenstore-write data/hello hello-from-domU

# two sessions on the agent's path, then exit; dom0 reads the exit status
CHANTEST_TIMEOUT=60 chantest server vchan "$MYDOMID" 0 data/guest/probes/vchan 2
xenstore-write data/chantest-rc "$?"
