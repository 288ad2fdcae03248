# SPDX-License-Identifier: GPL-2.0-or-later
# tests/bench/xen/domu.sh - what each domU of `make bench-xen` does (in place
# of tests/xen/steps/domu.sh; sourced by the harness's domU /init: busybox
# sh, root, Xen modules loaded, MYDOMID and MYNAME set).
#
# The same trivial check is offered two ways, as a real guest would:
#   xenvchan-agent   over the vchan (production settings: probes as nobody)
#   Debian's nrpe    over the guest's network: eth0 (netfront) 192.0.2.10/24,
#                    whose other end is dom0's vifN.0 (192.0.2.1, set by
#                    dom0), no bridge; plain NRPE on 5666, TLS on 5667,
#                    only dom0 allowed
# then says so in xenstore (data/bench/ready) and idles: dom0 measures.

BENCH_DUMMY="/usr/lib/nagios/plugins/check_dummy 0 OK"

# nrpe logs to syslog only: busybox's syslogd puts it on the console
syslogd -O /dev/console 2>/dev/null
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
ip link set lo up
ip link set eth0 up
ip addr add 192.0.2.10/24 dev eth0 || echo "bench: no address on eth0 after $((i / 10)) s"

cat >/tmp/bench-agent.cfg <<EOF
channel=vchan
command_timeout=60
command[dummy]=$BENCH_DUMMY
EOF
# probe3 (only with BENCH_ALT_O) runs the agent of the other build
BENCH_AGENT=xenvchan-agent
[ "$MYNAME" = probe3 ] && [ -x /usr/sbin/xenvchan-agent-alt ] && BENCH_AGENT=xenvchan-agent-alt
$BENCH_AGENT -c /tmp/bench-agent.cfg -f </dev/null >/dev/console 2>&1 &
echo "bench: $BENCH_AGENT started, pid $!"

bench_nrpe() { # NAME PORT [-n]
	local name=$1
	cat >/tmp/$1.cfg <<EOF
server_address=192.0.2.10
server_port=$2
allowed_hosts=192.0.2.1
nrpe_user=nobody
nrpe_group=nogroup
pid_file=/tmp/$1.pid
dont_blame_nrpe=0
debug=0
command_timeout=60
connection_timeout=120
listen_queue_size=16
command[dummy]=$BENCH_DUMMY
EOF
	shift 2
	/usr/sbin/nrpe -c /tmp/$name.cfg -f "$@" </dev/null >/dev/console 2>&1 &
	echo "bench: nrpe $name started, pid $!"
}
if [ -x /usr/sbin/nrpe ]; then
	bench_nrpe nrpe-plain 5666 -n
	bench_nrpe nrpe-tls 5667
else
	echo "bench: no /usr/sbin/nrpe in this image"
fi
sleep 1
netstat -ltn 2>/dev/null | grep -E ':(5666|5667) ' || echo "bench: nrpe does not listen"
ip addr show dev eth0
xenstore-write data/bench/ready 1
