/* A small client of doppeld's run socket for tests/access/run.sh, written
 * from the protocol in docs/api.md (not from the daemon's code): connects,
 * sends REQUEST (as given: it may be malformed on purpose) with this
 * process's stdin, stdout and stderr, and relays until the run ends.
 *
 *   run-client [OPTIONS] SOCKET REQUEST
 *     --log FILE         append every message from the daemon, one a line
 *     --fds N            pass N fds instead of 3 (0..N-1; stdin repeated past 2)
 *     --signal SIG       after {"started"} and --after MS, send {"signal": SIG}
 *     --hangup           after {"started"} and --after MS, close the socket, exit 0
 *     --after MS         default 500
 *   run-client --runner DOPPELD REQUEST
 *     starts DOPPELD --internal-runner itself with REQUEST on its fd 3 and
 *     prints the runner's answers (what a user calling that mode gets)
 *
 * Exit: the command's status after {"exit": N}; 125 after {"error"} (the
 * message on stderr); 124 when the daemon closed without a last word. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_MSG 70000

static FILE *log_file;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void note(const char *m, ssize_t n)
{
	if (log_file) {
		fprintf(log_file, "%.*s\n", (int)n, m);
		fflush(log_file);
	}
}

static int send_request(int fd, const char *req, int nfds)
{
	int fds[16];
	char ctl[CMSG_SPACE(sizeof(fds))];
	struct iovec iov = { .iov_base = (void *)req, .iov_len = strlen(req) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	for (int i = 0; i < nfds; i++)
		fds[i] = i < 3 ? i : 0;
	if (nfds > 0) {
		struct cmsghdr *c;
		memset(ctl, 0, sizeof(ctl));
		mh.msg_control = ctl;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* The value of "key": N in a message, or -1. A test client can afford a
 * plain text search: the daemon's messages are compact JSON. */
static long field(const char *m, const char *key)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(m, pat);
	return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

static int runner_mode(const char *doppeld, const char *req)
{
	char buf[MAX_MSG + 1];
	int sv[2];
	pid_t pid;
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		return perror("socketpair"), 2;
	pid = fork();
	if (pid == 0) {
		dup2(sv[1], 3);
		execl(doppeld, doppeld, "--internal-runner", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	if (send(sv[0], req, strlen(req), 0) < 0)
		return perror("send"), 2;
	while ((n = recv(sv[0], buf, MAX_MSG, 0)) > 0)
		printf("%.*s\n", (int)n, buf);
	waitpid(pid, NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *sock = NULL, *req = NULL;
	int nfds = 3, sig = 0, after = 500, i, fd;
	bool hangup = false;
	long long started_at = -1;
	static char buf[MAX_MSG + 1];

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (strcmp(argv[i], "--runner") == 0 && i + 2 < argc)
			return runner_mode(argv[i + 1], argv[i + 2]);
		if (strcmp(argv[i], "--hangup") == 0) {
			hangup = true;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "run-client: %s needs a value\n", argv[i]);
			return 2;
		}
		if (strcmp(argv[i], "--log") == 0)
			log_file = fopen(argv[++i], "a");
		else if (strcmp(argv[i], "--fds") == 0)
			nfds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--signal") == 0)
			sig = atoi(argv[++i]);
		else if (strcmp(argv[i], "--after") == 0)
			after = atoi(argv[++i]);
		else {
			fprintf(stderr, "run-client: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (argc - i != 2 || nfds < 0 || nfds > 16) {
		fprintf(stderr, "usage: run-client [--log F] [--fds N] [--signal S] [--hangup] [--after MS] SOCKET REQUEST\n");
		return 2;
	}
	sock = argv[i];
	req = argv[i + 1];
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return perror("run-client: connect"), 2;
	if (send_request(fd, req, nfds) < 0)
		return perror("run-client: send"), 2;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int timeout = -1;
		ssize_t n;

		if (started_at >= 0 && (sig || hangup)) {
			long long left = started_at + after - now_ms();
			if (left <= 0) {
				if (hangup) {
					close(fd);
					return 0;
				}
				char m[32];
				int k = snprintf(m, sizeof(m), "{\"signal\":%d}", sig);
				if (send(fd, m, (size_t)k, MSG_NOSIGNAL) < 0)
					perror("run-client: send signal");
				sig = 0;
				continue;
			}
			timeout = (int)left;
		}
		if (poll(&p, 1, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return perror("run-client: poll"), 2;
		}
		if (p.revents == 0)
			continue;
		n = recv(fd, buf, MAX_MSG, 0);
		if (n <= 0) {
			fprintf(stderr, "run-client: the daemon closed the run socket without an exit status\n");
			return 124;
		}
		buf[n] = '\0';
		note(buf, n);
		if (strstr(buf, "\"started\":true")) {
			started_at = now_ms();
		} else if (field(buf, "exit") >= 0) {
			return (int)field(buf, "exit");
		} else if (strstr(buf, "\"error\":")) {
			fprintf(stderr, "run-client: %s\n", buf);
			return 125;
		}
	}
}
