/* Walking a tree for the leak scan; see scan.h. */
#include "data/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"

#define BUF_SIZE (1u << 20)
#define MAX_DEPTH 256

typedef struct walk {
	const dp_matcher *m;
	dp_match_state *ms;
	dp_leak_fn fn;
	void *user;
	dp_scan_stats *stats;
	unsigned char *buf;
	char path[PATH_MAX];
	/* ids already reported for the current file */
	uint32_t *seen;
	size_t n_seen, cap_seen;
	int stop;
} walk;

static int on_match(void *user, uint32_t id, uint64_t offset)
{
	walk *w = user;

	for (size_t i = 0; i < w->n_seen; i++)
		if (w->seen[i] == id)
			return 0;
	if (w->n_seen == w->cap_seen) {
		size_t cap = w->cap_seen ? 2 * w->cap_seen : 16;
		uint32_t *n = realloc(w->seen, cap * sizeof(uint32_t));
		if (n == NULL)
			return -1;
		w->seen = n;
		w->cap_seen = cap;
	}
	w->seen[w->n_seen++] = id;
	w->stop = w->fn(w->user, w->path, offset, id);
	return w->stop;
}

static int scan_bytes(walk *w, const void *p, size_t n)
{
	int r = dp_matcher_feed(w->m, w->ms, p, n, on_match, w);
	w->stats->bytes += n;
	return r;
}

static int scan_file(walk *w, int dirfd, const char *name, dp_error **err)
{
	cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		w->stats->unreadable++;
		return 0;
	}
	while ((n = read(fd, w->buf, BUF_SIZE)) > 0)
		if (scan_bytes(w, w->buf, (size_t)n) != 0)
			return w->stop ? 0 : dp_fail(err, ENOMEM, "scan");
	if (n < 0)
		return dp_fail_errno(err, "read %s", w->path);
	w->stats->files++;
	return 0;
}

static int scan_dir(walk *w, int dirfd, size_t plen, int depth, dp_error **err)
{
	DIR *d;
	struct dirent *e;
	int r = 0;

	if (depth > MAX_DEPTH)
		return dp_fail(err, ELOOP, "%s: nested too deep", w->path);
	d = fdopendir(dirfd);
	if (d == NULL) {
		close(dirfd);
		return dp_fail_errno(err, "%s", w->path);
	}
	while (r == 0 && !w->stop && (errno = 0, e = readdir(d)) != NULL) {
		struct stat sb;
		size_t l = strlen(e->d_name);
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (plen + l + 2 >= sizeof(w->path)) {
			r = dp_fail(err, ENAMETOOLONG, "%s/%s", w->path, e->d_name);
			break;
		}
		snprintf(w->path + plen, sizeof(w->path) - plen, "%s%s", plen ? "/" : "", e->d_name);
		if (fstatat(dirfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			w->stats->unreadable++;
			continue;
		}
		dp_match_state_reset(w->ms);
		w->n_seen = 0;
		if (S_ISREG(sb.st_mode)) {
			r = scan_file(w, dirfd, e->d_name, err);
		} else if (S_ISLNK(sb.st_mode)) {
			char t[PATH_MAX];
			ssize_t n = readlinkat(dirfd, e->d_name, t, sizeof(t));
			if (n > 0 && scan_bytes(w, t, (size_t)n) != 0 && !w->stop)
				r = dp_fail(err, ENOMEM, "scan");
		} else if (S_ISDIR(sb.st_mode)) {
			int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				w->stats->unreadable++;
			else
				r = scan_dir(w, sub, plen + (plen ? 1 : 0) + l, depth + 1, err);
		}
		/* devices (overlay whiteouts among them), fifos, sockets: no bytes */
		w->path[plen] = '\0';
	}
	if (r == 0 && errno != 0 && !w->stop)
		r = dp_fail_errno(err, "read directory %s", w->path);
	closedir(d);
	return r;
}

int dp_scan_tree(int dirfd, const dp_matcher *m, dp_leak_fn fn, void *user, dp_scan_stats *stats, dp_error **err)
{
	walk w = { .m = m, .fn = fn, .user = user, .stats = stats };
	int fd, r;

	w.ms = dp_match_state_new(m);
	w.buf = malloc(BUF_SIZE);
	if (w.ms == NULL || w.buf == NULL) {
		dp_match_state_free(w.ms);
		free(w.buf);
		return dp_fail(err, ENOMEM, "scan");
	}
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = fd < 0 ? dp_fail_errno(err, "open the tree to scan") : scan_dir(&w, fd, 0, 0, err);
	dp_match_state_free(w.ms);
	free(w.buf);
	free(w.seen);
	return r < 0 ? -1 : 0;
}
