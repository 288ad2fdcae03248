/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nic.h - the guest's network interfaces and addresses, from rtnetlink
 * (libmnl), and the Xen vif device id of each from sysfs.
 *
 * A struct nic_table mirrors the kernel's links and addresses.  It is
 * filled by a dump (nic_dump) and then kept current by applying the
 * notifications read from a struct nic_netlink socket.  Every message is
 * parsed by nic_table_apply(), which trusts nothing about its layout
 * (lengths and attribute types are checked; a malformed message is
 * ignored), so the same code serves dumps, notifications and the fuzzer.
 */
#ifndef XV_NIC_H
#define XV_NIC_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

struct nlmsghdr;
struct mnl_socket;

/* Caps on the mirror; far above what the data tree can publish.  An entry
 * beyond a cap is counted in nic_table.dropped and the table is marked for
 * a fresh dump once entries go away. */
#define NIC_MAX_LINKS 1024
#define NIC_MAX_ADDRS 8192
#define NIC_MAX_HWADDR 32 /* bytes of link-layer address kept (IPoIB: 20) */

/* receive buffer for one recv() on the dump and notification sockets */
#define NIC_RECV_BUFSIZE 32768
/* SO_RCVBUF asked for the notification socket, so that a burst of events
 * (hundreds of addresses at once) does not overflow it */
#define NIC_SOCK_RCVBUF (1024 * 1024)
/* datagrams read per nic_netlink_drain() call: a flood of events must not
 * hold the event loop (the socket stays readable for the next round) */
#define NIC_DRAIN_MAX 64
/* a dump that takes longer than this is abandoned (seconds) */
#define NIC_DUMP_TIMEOUT_S 2

struct nic_addr {
	int ifindex;
	int family;	   /* AF_INET or AF_INET6 */
	uint8_t addr[16];  /* 4 or 16 bytes used */
	uint8_t prefixlen; /* 0..32 or 0..128 */
	uint8_t scope;	   /* RT_SCOPE_* */
	uint32_t flags;	   /* IFA_F_* */
};

struct nic_link {
	int ifindex;
	char name[IF_NAMESIZE]; /* NUL-terminated, as the kernel has it */
	uint8_t hwaddr[NIC_MAX_HWADDR];
	size_t hwaddr_len; /* 0: none (e.g. tun) */
	unsigned mtu;
	unsigned flags;	     /* IFF_* (ifi_flags) */
	int carrier;	     /* IFLA_CARRIER: 1, 0, or -1 when not reported */
	unsigned operstate;  /* IF_OPER_* (RFC 2863) */
	unsigned short type; /* ARPHRD_* */
};

struct nic_table {
	struct nic_link *links; /* unordered */
	size_t nlinks;
	struct nic_addr *addrs; /* unordered */
	size_t naddrs;
	size_t dropped; /* entries not stored because a cap was reached */
	int need_dump;	/* the mirror may be incomplete: dump again */
};

/* An empty table (no allocation until the first entry). */
void nic_table_init(struct nic_table *t);
void nic_table_free(struct nic_table *t);
/* Forget every entry (before a fresh dump); keeps the allocations. */
void nic_table_clear(struct nic_table *t);

/* Apply one rtnetlink message: RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR,
 * RTM_DELADDR; any other type is ignored.  LEN is the number of bytes
 * available at NLH (the message must fit: nlmsg_len <= LEN).  Returns 1 if
 * the table changed in a way that matters for publishing, 0 if not, -1 if
 * the message is malformed (it is ignored). */
int nic_table_apply(struct nic_table *t, const struct nlmsghdr *nlh, size_t len);

/* Apply every message in a datagram (BUF, LEN bytes).  Returns the number
 * of messages that changed the table, or -1 if the datagram carries a
 * netlink error (NLMSG_ERROR with a non-zero code; errno set to it).  Stops
 * at NLMSG_DONE and at the first truncated message. */
int nic_table_apply_buf(struct nic_table *t, const void *buf, size_t len);

/* Look-ups; NULL if absent. */
const struct nic_link *nic_table_link(const struct nic_table *t, int ifindex);

/* Replace T's content with a fresh dump of links and addresses, made on a
 * socket of its own (blocking, at most NIC_DUMP_TIMEOUT_S per read).
 * Returns 0, or -1 with errno set (T is then cleared and need_dump set). */
int nic_dump(struct nic_table *t);

/* The notification socket: subscribed to link, IPv4 and IPv6 address
 * groups, non-blocking, close-on-exec. */
struct nic_netlink {
	struct mnl_socket *nl;
};

/* Returns 0, or -1 with errno set. */
int nic_netlink_open(struct nic_netlink *nn);
int nic_netlink_fd(const struct nic_netlink *nn);
void nic_netlink_close(struct nic_netlink *nn);
/* Read the pending datagrams (at most NIC_DRAIN_MAX; never blocks) and
 * apply them to T.  Returns
 * the number of changes (>= 0); on a socket overrun (ENOBUFS: events were
 * lost) sets T->need_dump and returns 1; -1 on another error (errno). */
int nic_netlink_drain(struct nic_netlink *nn, struct nic_table *t);

/* The Xen vif device id behind interface IFNAME: SYSFS_NET_DIR/IFNAME/
 * device/nodename must read "device/vif/<id>" (sysfs_net_dir NULL:
 * NIC_SYSFS_NET).  Returns the id (0 .. NIC_MAX_VIF_ID), or -1 if the
 * interface is not a Xen vif (or the file is unreadable or malformed). */
#define NIC_SYSFS_NET "/sys/class/net"
#define NIC_MAX_VIF_ID 65535
int nic_vif_id(const char *sysfs_net_dir, const char *ifname);
/* The same check on the content of a nodename file (TEXT, LEN bytes; one
 * trailing newline allowed). */
int nic_vif_id_parse(const char *text, size_t len);

#endif
