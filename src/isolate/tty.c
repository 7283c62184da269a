/* Host side of --tty; see tty.h. Output is copied with plain read/write: a
 * terminal is slow enough that buffering beyond one chunk buys nothing. */
#include "isolate/tty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

struct dp_tty {
	dp_loop *loop;
	int master;
	bool raw;
	bool stdin_watched;
	struct termios saved;
};

static void write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct timespec ts = { 0, 1000000 };
				nanosleep(&ts, NULL);
				continue;
			}
			return;
		}
		buf += w;
		n -= (size_t)w;
	}
}

static void on_master(dp_loop *loop, int fd, uint32_t events, void *data)
{
	char buf[16384];
	ssize_t n;
	(void)data;

	n = read(fd, buf, sizeof(buf));
	if (n > 0) {
		write_all(STDOUT_FILENO, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (events & (EPOLLHUP | EPOLLERR) || n <= 0)
		dp_loop_del(loop, fd); /* slave closed (EIO): the command is done */
}

static void on_stdin(dp_loop *loop, int fd, uint32_t events, void *data)
{
	dp_tty *t = data;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));
	(void)events;

	if (n > 0) {
		write_all(t->master, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* input ended: send the terminal's end-of-file once, stop reading */
	write_all(t->master, "\x04", 1);
	dp_loop_del(loop, fd);
	t->stdin_watched = false;
}

void dp_tty_winch(dp_tty *t)
{
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(t->master, TIOCSWINSZ, &ws);
}

int dp_tty_start(dp_loop *loop, int master, dp_tty **out, dp_error **err)
{
	dp_tty *t = calloc(1, sizeof(*t));
	int fl;

	if (t == NULL) {
		close(master);
		return dp_fail(err, ENOMEM, "tty");
	}
	t->loop = loop;
	t->master = master;
	*out = t;
	fl = fcntl(master, F_GETFL);
	if (fl < 0 || fcntl(master, F_SETFL, fl | O_NONBLOCK) < 0)
		return dp_fail_errno(err, "configure pty");
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) == 0) {
		struct termios raw = t->saved;
		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
			t->raw = true;
		dp_tty_winch(t);
	}
	if (dp_loop_add(loop, master, EPOLLIN, on_master, t) < 0)
		return dp_fail_errno(err, "watch pty");
	if (dp_loop_add(loop, STDIN_FILENO, EPOLLIN, on_stdin, t) == 0)
		t->stdin_watched = true;
	/* stdin that epoll cannot watch (a regular file) is simply not relayed */
	return 0;
}

void dp_tty_drain(dp_tty *t)
{
	char buf[16384];
	ssize_t n;

	while ((n = read(t->master, buf, sizeof(buf))) > 0)
		write_all(STDOUT_FILENO, buf, (size_t)n);
}

void dp_tty_free(dp_tty *t)
{
	if (t == NULL)
		return;
	if (t->stdin_watched)
		dp_loop_del(t->loop, STDIN_FILENO);
	if (t->raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
	dp_loop_del(t->loop, t->master);
	close(t->master);
	free(t);
}
