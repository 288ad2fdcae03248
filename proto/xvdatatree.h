/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xvdatatree.h - the data tree's key names, which the agent writes
 * (guest-agent/dtlayout.c) and the inventory reads (host-bridge/inventory.c),
 * defined once for both (docs/DATA-TREE.md is the contract).
 *
 * XVDT_ROOT is relative to the guest's own xenstore home; every XVDT_KEY_*
 * is relative to XVDT_ROOT, and every XVDT_NIC_* to one NIC's directory
 * (XVDT_KEY_NET_VIF "/N" or XVDT_KEY_NET_OTHER "/KEY").  Address families
 * are numbered 4 and 6 in the "%d" of XVDT_NIC_IPV_FMT and
 * XVDT_NIC_IPV_OMITTED_FMT.
 */
#ifndef XV_XVDATATREE_H
#define XV_XVDATATREE_H

#define XVDT_ROOT "data/guest"
#define XVDT_PROTOCOL "xen-guest-data" /* the value of XVDT_KEY_PROTOCOL */
#define XVDT_MAJOR 1		       /* the layout's major version, both ends */

#define XVDT_KEY_PROTOCOL "protocol"
#define XVDT_KEY_VERSION "version"
#define XVDT_KEY_AGENT_NAME "agent/name"
#define XVDT_KEY_AGENT_VERSION "agent/version"
#define XVDT_KEY_AGENT_STATE "agent/state" /* XVDT_STATE_* */
#define XVDT_KEY_AGENT_LEGACY "agent/legacy-keys"
#define XVDT_KEY_OS_CLASS "os/class"
#define XVDT_KEY_OS_ID "os/id"
#define XVDT_KEY_OS_NAME "os/name"
#define XVDT_KEY_OS_VERSION "os/version"
#define XVDT_KEY_OS_VERSION_ID "os/version-id"
#define XVDT_KEY_OS_PRETTY_NAME "os/pretty-name"
#define XVDT_KEY_OS_HOSTNAME "os/hostname"
#define XVDT_KEY_OS_KERNEL_NAME "os/unix/kernel-name"
#define XVDT_KEY_OS_KERNEL_RELEASE "os/unix/kernel-release"
#define XVDT_KEY_OS_KERNEL_VERSION "os/unix/kernel-version"
#define XVDT_KEY_OS_MACHINE "os/unix/machine"
#define XVDT_KEY_NET "net"
#define XVDT_KEY_NET_VIF "net/vif"
#define XVDT_KEY_NET_OTHER "net/other"
#define XVDT_KEY_NET_OMITTED "net/omitted"

#define XVDT_NIC_NAME "name"
#define XVDT_NIC_MAC "mac"
#define XVDT_NIC_MTU "mtu"
#define XVDT_NIC_LINK "link"	   /* XVDT_UP or XVDT_DOWN */
#define XVDT_NIC_ADMIN "admin"	   /* XVDT_UP or XVDT_DOWN */
#define XVDT_NIC_CARRIER "carrier" /* XVDT_UP or XVDT_DOWN */
#define XVDT_NIC_OPERSTATE "operstate"
#define XVDT_NIC_IPV_FMT "ipv%d"
#define XVDT_NIC_IPV_OMITTED_FMT "ipv%d-omitted"

#define XVDT_STATE_RUNNING "running"
#define XVDT_STATE_STOPPED "stopped"
#define XVDT_UP "up"
#define XVDT_DOWN "down"

#endif
