/* Reaching services that listen on the host's loopback: a TCP listener on
 * 127.0.0.1:PORT (the test starts one), the same port on ::1, and an
 * abstract unix socket the test listens on. The sandbox has its own network
 * namespace: its loopback has nothing on that port, abstract names are
 * per network namespace, and with --net none there is no loopback at all.
 * usage: attack-host-net PORT ABSTRACT-NAME loopback|none */
#include <arpa/inet.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "attack.h"

static long tcp(int family, const char *addr, int port)
{
	int s = socket(family, SOCK_STREAM, 0);
	long r;
	int e;

	if (s < 0)
		return -1;
	if (family == AF_INET) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		inet_pton(AF_INET, addr, &a.sin_addr);
		r = connect(s, (struct sockaddr *)&a, sizeof(a));
	} else {
		struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
		inet_pton(AF_INET6, addr, &a.sin6_addr);
		r = connect(s, (struct sockaddr *)&a, sizeof(a));
	}
	e = errno;
	close(s);
	errno = e;
	return r;
}

int main(int argc, char **argv)
{
	int port, s, none;
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	socklen_t len;

	attack_begin("host-net");
	if (argc != 4) {
		printf("usage: attack-host-net PORT ABSTRACT-NAME loopback|none\n");
		return 2;
	}
	port = atoi(argv[1]);
	none = strcmp(argv[3], "none") == 0;
	/* without a loopback device there is no route to 127.0.0.1 at all */
	EXPECT_ERRNO_AS("connect 127.0.0.1:PORT (the host's listener)", none ? ENETUNREACH : ECONNREFUSED,
			tcp(AF_INET, "127.0.0.1", port));
	EXPECT_ERRNO_AS("connect 127.1.2.3:PORT", none ? ENETUNREACH : ECONNREFUSED, tcp(AF_INET, "127.1.2.3", port));
	/* IPv6 without any interface up has no source address to use */
	EXPECT_ERRNO_AS("connect [::1]:PORT", none ? EADDRNOTAVAIL : ECONNREFUSED, tcp(AF_INET6, "::1", port));
	/* an abstract unix socket is not in any filesystem; only the network
	 * namespace scopes it */
	un.sun_path[0] = '\0';
	snprintf(un.sun_path + 1, sizeof(un.sun_path) - 1, "%s", argv[2]);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(argv[2]));
	s = (int)MUST(socket(AF_UNIX, SOCK_STREAM, 0));
	EXPECT_ERRNO_AS("connect to the host's abstract unix socket", ECONNREFUSED, connect(s, (struct sockaddr *)&un, len));
	close(s);
	/* the sandbox's own loopback works (control), unless --net none */
	if (!none) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		int l = (int)MUST(socket(AF_INET, SOCK_STREAM, 0));
		inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
		MUST(bind(l, (struct sockaddr *)&a, sizeof(a)));
		MUST(listen(l, 1));
		check(tcp(AF_INET, "127.0.0.1", port) == 0, "control: the sandbox's own 127.0.0.1:%d listener answers",
		      port);
		close(l);
	}
	attack_end();
}
