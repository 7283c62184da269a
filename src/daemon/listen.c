/* Listening sockets; see listen.h. */
#include "daemon/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/cleanup.h"

#define BACKLOG 512

static int make_parents(const char *path, dp_error **err)
{
	cleanup_free char *copy = strdup(path);

	if (copy == NULL)
		return dp_fail(err, ENOMEM, "socket path");
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			return dp_fail_errno(err, "create socket directory %s", copy);
		*p = '/';
	}
	return 0;
}

/* Is something listening at path? Removes a stale socket. */
static int clear_stale(const struct sockaddr_un *sa, int type, dp_error **err)
{
	cleanup_close int probe = -1;
	struct stat s;

	if (lstat(sa->sun_path, &s) < 0)
		return errno == ENOENT ? 0 : dp_fail_errno(err, "%s", sa->sun_path);
	if (!S_ISSOCK(s.st_mode))
		return dp_usage(err, "%s exists and is not a socket; remove it or choose another --socket", sa->sun_path);
	probe = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return dp_fail_errno(err, "socket");
	if (connect(probe, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return dp_fail(err, EADDRINUSE, "%s: another doppeld is serving there", sa->sun_path);
	if (errno != ECONNREFUSED && errno != EPROTOTYPE)
		return dp_fail_errno(err, "%s: is another doppeld serving there?", sa->sun_path);
	if (unlink(sa->sun_path) < 0 && errno != ENOENT)
		return dp_fail_errno(err, "remove stale socket %s", sa->sun_path);
	return 0;
}

int dpd_listen_unix(const char *path, int type, int *fd, struct stat *made, dp_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cleanup_close int s = -1;

	if (path[0] != '/')
		return dp_usage(err, "socket %s: expected an absolute path", path);
	if (strlen(path) >= sizeof(sa.sun_path))
		return dp_usage(err, "socket %s: longer than %zu bytes", path, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (make_parents(path, err) < 0 || clear_stale(&sa, type, err) < 0)
		return -1;
	s = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (s < 0)
		return dp_fail_errno(err, "socket");
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return dp_fail_errno(err, "bind %s", sa.sun_path);
	/* every local user may connect: the kernel says who they are */
	if (chmod(sa.sun_path, 0666) < 0 || lstat(sa.sun_path, made) < 0 || listen(s, BACKLOG) < 0) {
		dp_fail_errno(err, "listen on %s", sa.sun_path);
		unlink(sa.sun_path);
		return -1;
	}
	*fd = dp_steal_fd(&s);
	return 0;
}

void dpd_unlink_ours(const char *path, const struct stat *made)
{
	struct stat s;

	if (path && lstat(path, &s) == 0 && s.st_ino == made->st_ino && s.st_dev == made->st_dev)
		unlink(path);
}

static bool loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

int dpd_listen_tcp(const char *spec, int *fd, char *bound, size_t n, dp_error **err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	cleanup_free char *host = NULL;
	cleanup_close int s = -1;
	const char *colon = strrchr(spec, ':'), *port;
	char ip[INET6_ADDRSTRLEN];
	int one = 1, rc;

	if (colon == NULL || colon == spec || colon[1] == '\0')
		return dp_usage(err, "--listen %s: expected ADDR:PORT, e.g. 127.0.0.1:7171 or [::1]:7171", spec);
	port = colon + 1;
	if (spec[0] == '[') {
		if (colon[-1] != ']' || colon - spec < 3)
			return dp_usage(err, "--listen %s: expected [IPv6]:PORT", spec);
		host = strndup(spec + 1, (size_t)(colon - spec - 2));
	} else {
		host = strndup(spec, (size_t)(colon - spec));
	}
	if (host == NULL)
		return dp_fail(err, ENOMEM, "--listen");
	if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 || atoi(port) > 65535)
		return dp_usage(err, "--listen %s: port: expected 0 to 65535", spec);
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0)
		return dp_usage(err, "--listen %s: expected a numeric IPv4 or IPv6 address (%s)", spec, gai_strerror(rc));
	if (!loopback(ai->ai_addr)) {
		freeaddrinfo(ai);
		return dp_usage(err, "--listen %s: only a loopback address (127.0.0.0/8, ::1) is allowed: tokens travel in "
				     "clear text",
				spec);
	}
	s = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s, ai->ai_addr, ai->ai_addrlen) < 0 || listen(s, BACKLOG) < 0 ||
	    getsockname(s, (struct sockaddr *)&ss, &sl) < 0) {
		dp_fail_errno(err, "--listen %s", spec);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof(ip));
		snprintf(bound, n, "[%s]:%u", ip, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof(ip));
		snprintf(bound, n, "%s:%u", ip, ntohs(((struct sockaddr_in *)&ss)->sin_port));
	}
	*fd = dp_steal_fd(&s);
	return 0;
}
