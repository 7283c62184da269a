/* Traffic out of the sandbox: TCP and UDP to non-loopback addresses (an
 * unroutable private one, TEST-NET, a public resolver, IPv6 documentation
 * and a global address), name resolution, and the routing table. There is
 * no route: every try fails at once with ENETUNREACH, nothing is sent. With
 * --net none IPv6 has no address at all to send from: EADDRNOTAVAIL.
 * usage: attack-egress loopback|none */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include "attack.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long try(int family, int type, const char *addr, int port)
{
	int s = socket(family, type, 0);
	long r;
	int e;
	union {
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} a;

	if (s < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	if (family == AF_INET) {
		a.v4.sin_family = AF_INET;
		a.v4.sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &a.v4.sin_addr);
	} else {
		a.v6.sin6_family = AF_INET6;
		a.v6.sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &a.v6.sin6_addr);
	}
	if (type == SOCK_DGRAM)
		r = sendto(s, "x", 1, 0, (struct sockaddr *)&a, family == AF_INET ? sizeof(a.v4) : sizeof(a.v6));
	else
		r = connect(s, (struct sockaddr *)&a, family == AF_INET ? sizeof(a.v4) : sizeof(a.v6));
	e = errno;
	close(s);
	errno = e;
	return r;
}

int main(int argc, char **argv)
{
	static const struct { int family, type; const char *addr; int port; } targets[] = {
		{ AF_INET, SOCK_STREAM, "10.255.255.1", 80 },	   { AF_INET, SOCK_STREAM, "192.0.2.1", 80 },
		{ AF_INET, SOCK_STREAM, "1.1.1.1", 443 },	   { AF_INET, SOCK_STREAM, "169.254.169.254", 80 },
		{ AF_INET, SOCK_DGRAM, "8.8.8.8", 53 },	   { AF_INET, SOCK_DGRAM, "192.0.2.1", 9 },
		{ AF_INET, SOCK_STREAM, "255.255.255.255", 80 }, { AF_INET6, SOCK_STREAM, "2001:db8::1", 80 },
		{ AF_INET6, SOCK_STREAM, "2606:4700:4700::1111", 443 }, { AF_INET6, SOCK_DGRAM, "2001:db8::1", 53 },
	};
	char label[128], route[4096];
	struct addrinfo *res = NULL, hints = { .ai_socktype = SOCK_STREAM };
	double t0, dt;
	int rc;

	attack_begin("egress");
	if (argc != 2) {
		printf("usage: attack-egress loopback|none\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		snprintf(label, sizeof(label), "%s %s port %d", targets[i].type == SOCK_DGRAM ? "sendto" : "connect",
			 targets[i].addr, targets[i].port);
		t0 = now();
		EXPECT_ERRNO_AS(label,
				targets[i].family == AF_INET6 && strcmp(argv[1], "none") == 0 ? EADDRNOTAVAIL
											: ENETUNREACH,
				try(targets[i].family, targets[i].type, targets[i].addr, targets[i].port));
		dt = now() - t0;
		check(dt < 0.5, "%s failed at once (%.3f s)", label, dt);
	}
	/* no resolver is reachable: names do not resolve, quickly */
	t0 = now();
	rc = getaddrinfo("example.com", "80", &hints, &res);
	dt = now() - t0;
	check(rc != 0, "getaddrinfo(example.com) fails: %s", rc ? gai_strerror(rc) : "resolved!");
	check(dt < 5.0, "getaddrinfo failed within 5 s (%.3f s)", dt);
	if (res)
		freeaddrinfo(res);
	/* the routing table holds no route (only the header line) */
	MUST(read_file("/proc/net/route", route, sizeof(route)));
	check(strchr(route, '\n') == NULL || strchr(route, '\n')[1] == '\0', "/proc/net/route has no routes");
	attack_end();
}
