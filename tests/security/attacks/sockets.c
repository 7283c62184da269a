/* Kernel-interface sockets: packet and raw sockets (forge traffic), VSOCK
 * (talk to the hypervisor host), AF_KEY and AF_ALG (kernel crypto, a history
 * of bugs), Bluetooth, TIPC, RDS and netlink protocols beyond routing
 * (audit, uevents, netfilter, xfrm). The filter answers "not in this
 * kernel": EAFNOSUPPORT for families, EPROTONOSUPPORT for netlink
 * protocols; raw IP needs CAP_NET_RAW (EPERM). The netlink routing socket
 * the policy allows cannot change the sandbox's network (no CAP_NET_ADMIN). */
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "attack.h"

#ifndef AF_TIPC
#define AF_TIPC 30
#endif
#ifndef AF_RDS
#define AF_RDS 21
#endif

int main(void)
{
	int s;
	struct ifreq ifr;

	attack_begin("sockets");
	EXPECT_ERRNO(EAFNOSUPPORT, socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)));
	EXPECT_ERRNO(EAFNOSUPPORT, socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP)));
	EXPECT_ERRNO(EAFNOSUPPORT, socket(AF_VSOCK, SOCK_STREAM, 0));
	EXPECT_ERRNO(EAFNOSUPPORT, socket(AF_KEY, SOCK_RAW, 2));
	EXPECT_ERRNO(EAFNOSUPPORT, socket(AF_ALG, SOCK_SEQPACKET, 0));
	EXPECT_ERRNO(EAFNOSUPPORT, socket(AF_BLUETOOTH, SOCK_RAW, 0));
	EXPECT_ERRNO(EAFNOSUPPORT, socket(AF_TIPC, SOCK_RDM, 0));
	EXPECT_ERRNO(EAFNOSUPPORT, socket(AF_RDS, SOCK_SEQPACKET, 0));
	EXPECT_ERRNO(EAFNOSUPPORT, socketpair(AF_PACKET, SOCK_RAW, 0, (int[2]){ 0 }));
	EXPECT_ERRNO(EPROTONOSUPPORT, socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT));
	EXPECT_ERRNO(EPROTONOSUPPORT, socket(AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT));
	EXPECT_ERRNO(EPROTONOSUPPORT, socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER));
	EXPECT_ERRNO(EPROTONOSUPPORT, socket(AF_NETLINK, SOCK_RAW, NETLINK_XFRM));
	EXPECT_ERRNO(EPERM, socket(AF_INET, SOCK_RAW, IPPROTO_RAW));
	EXPECT_ERRNO(EPERM, socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
	EXPECT_ERRNO(EPERM, socket(AF_INET6, SOCK_RAW, IPPROTO_RAW));

	/* the routing socket: allowed, but changes need CAP_NET_ADMIN */
	s = (int)MUST(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
	{
		struct {
			struct nlmsghdr n;
			struct ifinfomsg i;
		} req = { .n = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_NEWLINK,
				 .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL } };
		struct {
			struct nlmsghdr n;
			struct nlmsgerr e;
		} ack;
		ssize_t n;
		req.i.ifi_family = AF_UNSPEC;
		req.i.ifi_index = 1;
		req.i.ifi_change = IFF_UP;
		req.i.ifi_flags = 0; /* take lo down */
		req.n.nlmsg_type = RTM_NEWLINK;
		req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
		MUST(send(s, &req, sizeof(req), 0));
		n = recv(s, &ack, sizeof(ack), 0);
		check(n >= (ssize_t)sizeof(ack) && ack.n.nlmsg_type == NLMSG_ERROR && ack.e.error == -EPERM,
		      "RTM_NEWLINK (take lo down) over netlink is refused with EPERM (error %d)",
		      n >= (ssize_t)sizeof(ack) ? ack.e.error : 0);
	}
	close(s);
	s = (int)MUST(socket(AF_INET, SOCK_DGRAM, 0));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	EXPECT_ERRNO_AS("ioctl(SIOCSIFFLAGS, lo down)", EPERM, ioctl(s, SIOCSIFFLAGS, &ifr));
	EXPECT_ERRNO_AS("ioctl(SIOCSIFMTU, lo)", EPERM, ioctl(s, SIOCSIFMTU, &ifr));
	close(s);
	/* control: ordinary sockets work */
	{
		int t = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_UNIX, SOCK_STREAM, 0);
		check(t >= 0 && u >= 0, "control: TCP and unix sockets can be made");
		close(t);
		close(u);
	}
	attack_end();
}
