/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "nic.h"

void nic_table_init(struct nic_table *t)
{
	memset(t, 0, sizeof *t);
}

void nic_table_free(struct nic_table *t)
{
	free(t->links);
	free(t->addrs);
	nic_table_init(t);
}

void nic_table_clear(struct nic_table *t)
{
	t->nlinks = 0;
	t->naddrs = 0;
	t->dropped = 0;
	t->need_dump = 0;
}

const struct nic_link *nic_table_link(const struct nic_table *t, int ifindex)
{
	for (size_t i = 0; i < t->nlinks; i++)
		if (t->links[i].ifindex == ifindex)
			return &t->links[i];
	return NULL;
}

/* The kernel's own rule for interface names (dev_valid_name): anything
 * else did not come from the kernel, and a name like ".." must never reach
 * a sysfs path. */
static int nic_name_valid(const char *name, size_t len)
{
	if (len == 0 || len >= IF_NAMESIZE)
		return 0;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '/' || c == ':' || c <= ' ' || c == 0x7f)
			return 0;
	}
	return 1;
}

/* Attributes of one message, bounded by nlmsg_len (not by the aligned
 * tail, which may lie past the bytes we were given). */
#define NIC_ATTR_MAX 64
static void nic_attrs(const struct nlmsghdr *nlh, size_t hdrsize, const struct nlattr **tb)
{
	const char *p = (const char *)nlh + MNL_NLMSG_HDRLEN + MNL_ALIGN(hdrsize);
	const char *end = (const char *)nlh + nlh->nlmsg_len;

	memset(tb, 0, NIC_ATTR_MAX * sizeof tb[0]);
	while (p < end && mnl_attr_ok((const struct nlattr *)p, (int)(end - p))) {
		const struct nlattr *a = (const struct nlattr *)p;
		uint16_t type = mnl_attr_get_type(a);
		if (type < NIC_ATTR_MAX && tb[type] == NULL)
			tb[type] = a;
		if ((size_t)MNL_ALIGN(a->nla_len) > (size_t)(end - p))
			break;
		p += MNL_ALIGN(a->nla_len);
	}
}

static int nic_attr_u32(const struct nlattr *a, uint32_t *v)
{
	if (a == NULL || mnl_attr_get_payload_len(a) != sizeof(uint32_t))
		return 0;
	memcpy(v, mnl_attr_get_payload(a), sizeof *v);
	return 1;
}

static int nic_attr_u8(const struct nlattr *a, uint8_t *v)
{
	if (a == NULL || mnl_attr_get_payload_len(a) < sizeof(uint8_t))
		return 0;
	memcpy(v, mnl_attr_get_payload(a), sizeof *v);
	return 1;
}

static struct nic_link *nic_link_find(struct nic_table *t, int ifindex)
{
	for (size_t i = 0; i < t->nlinks; i++)
		if (t->links[i].ifindex == ifindex)
			return &t->links[i];
	return NULL;
}

static void nic_addrs_drop_link(struct nic_table *t, int ifindex)
{
	for (size_t i = 0; i < t->naddrs;) {
		if (t->addrs[i].ifindex == ifindex)
			t->addrs[i] = t->addrs[--t->naddrs];
		else
			i++;
	}
}

static int nic_apply_link(struct nic_table *t, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[NIC_ATTR_MAX];
	struct ifinfomsg ifi;
	struct nic_link nl, *cur;
	uint32_t u32;
	uint8_t u8;

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof ifi)
		return -1;
	memcpy(&ifi, mnl_nlmsg_get_payload(nlh), sizeof ifi);
	/* AF_BRIDGE and other families describe ports, not links */
	if (ifi.ifi_family != AF_UNSPEC || ifi.ifi_index <= 0)
		return 0;
	cur = nic_link_find(t, ifi.ifi_index);

	if (nlh->nlmsg_type == RTM_DELLINK) {
		if (cur == NULL)
			return 0;
		nic_addrs_drop_link(t, ifi.ifi_index);
		*cur = t->links[--t->nlinks];
		if (t->dropped > 0)
			t->need_dump = 1; /* room again for what was dropped */
		return 1;
	}

	nic_attrs(nlh, sizeof ifi, tb);
	if (cur != NULL)
		nl = *cur;
	else
		memset(&nl, 0, sizeof nl);
	nl.ifindex = ifi.ifi_index;
	nl.flags = ifi.ifi_flags;
	nl.type = ifi.ifi_type;
	if (tb[IFLA_IFNAME] != NULL) {
		const char *name = mnl_attr_get_payload(tb[IFLA_IFNAME]);
		size_t plen = mnl_attr_get_payload_len(tb[IFLA_IFNAME]);
		size_t len = strnlen(name, plen);
		if (len == plen || !nic_name_valid(name, len))
			return -1;
		memcpy(nl.name, name, len + 1);
	} else if (cur == NULL) {
		return -1; /* a new link must have a name */
	}
	if (tb[IFLA_ADDRESS] != NULL) {
		size_t alen = mnl_attr_get_payload_len(tb[IFLA_ADDRESS]);
		if (alen > NIC_MAX_HWADDR)
			return -1;
		memset(nl.hwaddr, 0, sizeof nl.hwaddr);
		memcpy(nl.hwaddr, mnl_attr_get_payload(tb[IFLA_ADDRESS]), alen);
		nl.hwaddr_len = alen;
	} else if (cur == NULL) {
		nl.hwaddr_len = 0;
	}
	if (nic_attr_u32(tb[IFLA_MTU], &u32))
		nl.mtu = u32;
	if (nic_attr_u8(tb[IFLA_OPERSTATE], &u8))
		nl.operstate = u8;
	if (nic_attr_u8(tb[IFLA_CARRIER], &u8))
		nl.carrier = u8 != 0;
	else if (cur == NULL)
		nl.carrier = -1;

	if (cur != NULL) {
		int same = strcmp(cur->name, nl.name) == 0 && cur->hwaddr_len == nl.hwaddr_len &&
			   memcmp(cur->hwaddr, nl.hwaddr, nl.hwaddr_len) == 0 &&
			   cur->mtu == nl.mtu && cur->flags == nl.flags &&
			   cur->carrier == nl.carrier && cur->operstate == nl.operstate &&
			   cur->type == nl.type;
		*cur = nl;
		return same ? 0 : 1;
	}
	if (t->nlinks == NIC_MAX_LINKS) {
		t->dropped++;
		return 0;
	}
	if (t->links == NULL) {
		t->links = calloc(NIC_MAX_LINKS, sizeof *t->links);
		if (t->links == NULL) {
			t->dropped++;
			t->need_dump = 1;
			return 0;
		}
	}
	t->links[t->nlinks++] = nl;
	return 1;
}

static int nic_apply_addr(struct nic_table *t, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[NIC_ATTR_MAX];
	struct ifaddrmsg ifa;
	struct nic_addr na;
	const struct nlattr *a;
	size_t alen;
	uint32_t u32;

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof ifa)
		return -1;
	memcpy(&ifa, mnl_nlmsg_get_payload(nlh), sizeof ifa);
	if (ifa.ifa_family == AF_INET)
		alen = 4;
	else if (ifa.ifa_family == AF_INET6)
		alen = 16;
	else
		return 0;
	if (ifa.ifa_prefixlen > alen * 8 || ifa.ifa_index == 0 || ifa.ifa_index > INT32_MAX)
		return -1;
	nic_attrs(nlh, sizeof ifa, tb);
	/* IPv4: IFA_LOCAL is our address, IFA_ADDRESS the peer's on a
	 * point-to-point link; IPv6 sends IFA_ADDRESS only (IFA_LOCAL too
	 * when a peer is configured). */
	a = tb[IFA_LOCAL] != NULL ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (a == NULL || mnl_attr_get_payload_len(a) != alen)
		return -1;
	memset(&na, 0, sizeof na);
	na.ifindex = (int)ifa.ifa_index;
	na.family = ifa.ifa_family;
	memcpy(na.addr, mnl_attr_get_payload(a), alen);
	na.prefixlen = ifa.ifa_prefixlen;
	na.scope = ifa.ifa_scope;
	na.flags = ifa.ifa_flags;
	if (nic_attr_u32(tb[IFA_FLAGS], &u32))
		na.flags = u32;

	for (size_t i = 0; i < t->naddrs; i++) {
		struct nic_addr *e = &t->addrs[i];
		if (e->ifindex != na.ifindex || e->family != na.family ||
		    e->prefixlen != na.prefixlen || memcmp(e->addr, na.addr, alen) != 0)
			continue;
		if (nlh->nlmsg_type == RTM_DELADDR) {
			*e = t->addrs[--t->naddrs];
			if (t->dropped > 0)
				t->need_dump = 1;
			return 1;
		}
		int changed = e->scope != na.scope ||
			      (e->flags & IFA_F_DADFAILED) != (na.flags & IFA_F_DADFAILED);
		*e = na;
		return changed;
	}
	if (nlh->nlmsg_type == RTM_DELADDR)
		return 0;
	if (t->naddrs == NIC_MAX_ADDRS) {
		t->dropped++;
		return 0;
	}
	if (t->addrs == NULL) {
		t->addrs = calloc(NIC_MAX_ADDRS, sizeof *t->addrs);
		if (t->addrs == NULL) {
			t->dropped++;
			t->need_dump = 1;
			return 0;
		}
	}
	t->addrs[t->naddrs++] = na;
	return 1;
}

int nic_table_apply(struct nic_table *t, const struct nlmsghdr *nlh, size_t len)
{
	if (len < sizeof *nlh || nlh->nlmsg_len < sizeof *nlh || nlh->nlmsg_len > len)
		return -1;
	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		return nic_apply_link(t, nlh);
	case RTM_NEWADDR:
	case RTM_DELADDR:
		return nic_apply_addr(t, nlh);
	default:
		return 0;
	}
}

/* Apply a datagram that is 4-byte aligned.  *DONE is set at NLMSG_DONE. */
static int nic_apply_aligned(struct nic_table *t, const char *buf, size_t len, int *done)
{
	int changes = 0;

	while (len >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		size_t step;
		if (nlh->nlmsg_len < sizeof *nlh || nlh->nlmsg_len > len)
			break;
		if (nlh->nlmsg_type == NLMSG_DONE) {
			*done = 1;
			break;
		}
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr err;
			if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof err) {
				errno = EPROTO;
				return -1;
			}
			memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof err);
			if (err.error != 0) {
				errno = err.error < 0 && err.error > -4096 ? -err.error : EPROTO;
				return -1;
			}
			*done = 1; /* an ACK */
			break;
		}
		if (nic_table_apply(t, nlh, len) > 0)
			changes++;
		step = MNL_ALIGN(nlh->nlmsg_len);
		if (step >= len)
			break;
		buf += step;
		len -= step;
	}
	return changes;
}

static int nic_apply_datagram(struct nic_table *t, const void *buf, size_t len, int *done)
{
	static_assert(NIC_RECV_BUFSIZE % 4 == 0, "aligned buffer");
	if (((uintptr_t)buf & 3) == 0)
		return nic_apply_aligned(t, buf, len, done);
	/* netlink messages are 4-byte aligned on the wire; give an
	 * unaligned caller's bytes (the fuzzer's) an aligned copy */
	uint32_t copy[NIC_RECV_BUFSIZE / 4];
	if (len > sizeof copy)
		len = sizeof copy;
	memcpy(copy, buf, len);
	return nic_apply_aligned(t, (const char *)copy, len, done);
}

int nic_table_apply_buf(struct nic_table *t, const void *buf, size_t len)
{
	int done = 0;
	return nic_apply_datagram(t, buf, len, &done);
}

/* recv() that accepts only datagrams from the kernel (port 0): another
 * privileged process could otherwise unicast forged link state to us. */
static ssize_t nic_recv(int fd, void *buf, size_t size, int flags)
{
	struct sockaddr_nl sa;
	struct iovec iov = {buf, size};
	struct msghdr msg = {
	    .msg_name = &sa, .msg_namelen = sizeof sa, .msg_iov = &iov, .msg_iovlen = 1};
	for (;;) {
		ssize_t r = recvmsg(fd, &msg, flags);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (msg.msg_flags & MSG_TRUNC) {
			errno = ENOSPC;
			return -1;
		}
		if (msg.msg_namelen != sizeof sa || sa.nl_pid != 0)
			continue;
		return r;
	}
}

static int nic_dump_one(struct mnl_socket *nl, struct nic_table *t, uint16_t type, uint32_t seq)
{
	uint32_t buf[NIC_RECV_BUFSIZE / 4];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtgenmsg *g;
	int done = 0;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof *g);
	g->rtgen_family = AF_UNSPEC;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	while (!done) {
		ssize_t r = nic_recv(mnl_socket_get_fd(nl), buf, sizeof buf, 0);
		if (r < 0) {
			if (errno == EAGAIN)
				errno = ETIMEDOUT;
			return -1;
		}
		if (nic_apply_datagram(t, buf, (size_t)r, &done) < 0)
			return -1;
	}
	return 0;
}

int nic_dump(struct nic_table *t)
{
	struct timeval tv = {NIC_DUMP_TIMEOUT_S, 0};
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	uint32_t seq = (uint32_t)time(NULL);
	int rc = -1, saved;

	nic_table_clear(t);
	if (nl == NULL)
		goto out;
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto out;
	/* links first, so that every address finds its link */
	if (nic_dump_one(nl, t, RTM_GETLINK, seq) < 0 ||
	    nic_dump_one(nl, t, RTM_GETADDR, seq + 1) < 0)
		goto out;
	rc = 0;
out:
	saved = errno;
	if (nl != NULL)
		mnl_socket_close(nl);
	if (rc < 0) {
		nic_table_clear(t);
		t->need_dump = 1;
	}
	errno = saved;
	return rc;
}

int nic_netlink_open(struct nic_netlink *nn)
{
	int size = NIC_SOCK_RCVBUF;
	unsigned groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;

	nn->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (nn->nl == NULL)
		return -1;
	/* best effort: a smaller buffer only makes an overrun (and a
	 * re-dump) more likely */
	(void)setsockopt(mnl_socket_get_fd(nn->nl), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	if (mnl_socket_bind(nn->nl, groups, MNL_SOCKET_AUTOPID) < 0) {
		int saved = errno;
		mnl_socket_close(nn->nl);
		nn->nl = NULL;
		errno = saved;
		return -1;
	}
	return 0;
}

int nic_netlink_fd(const struct nic_netlink *nn)
{
	return nn->nl != NULL ? mnl_socket_get_fd(nn->nl) : -1;
}

void nic_netlink_close(struct nic_netlink *nn)
{
	if (nn->nl != NULL)
		mnl_socket_close(nn->nl);
	nn->nl = NULL;
}

int nic_netlink_drain(struct nic_netlink *nn, struct nic_table *t)
{
	uint32_t buf[NIC_RECV_BUFSIZE / 4];
	int changes = 0;

	for (int n = 0; n < NIC_DRAIN_MAX; n++) {
		int done = 0;
		ssize_t r = nic_recv(mnl_socket_get_fd(nn->nl), buf, sizeof buf, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return changes;
			if (errno == ENOBUFS || errno == ENOSPC) {
				/* events were lost or cut: only a dump can
				 * tell the truth now */
				t->need_dump = 1;
				changes = 1;
				continue;
			}
			return -1;
		}
		int applied = nic_apply_datagram(t, buf, (size_t)r, &done);
		if (applied > 0)
			changes += applied;
	}
	return changes;
}

int nic_vif_id_parse(const char *text, size_t len)
{
	static const char prefix[] = "device/vif/";
	const size_t plen = sizeof prefix - 1;
	long id = 0;

	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len <= plen || len > plen + 5 || memcmp(text, prefix, plen) != 0)
		return -1;
	for (size_t i = plen; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		id = id * 10 + (text[i] - '0');
	}
	if (len - plen > 1 && text[plen] == '0')
		return -1; /* Xen writes plain decimal */
	return id <= NIC_MAX_VIF_ID ? (int)id : -1;
}

int nic_vif_id(const char *sysfs_net_dir, const char *ifname)
{
	char path[4096], buf[64];
	size_t len = 0;
	int fd, n;

	if (!nic_name_valid(ifname, strnlen(ifname, IF_NAMESIZE)))
		return -1;
	n = snprintf(path, sizeof path, "%s/%s/device/nodename",
		     sysfs_net_dir != NULL ? sysfs_net_dir : NIC_SYSFS_NET, ifname);
	if (n < 0 || (size_t)n >= sizeof path)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	while (len < sizeof buf) {
		ssize_t r = read(fd, buf + len, sizeof buf - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (len == sizeof buf)
		return -1;
	return nic_vif_id_parse(buf, len);
}
