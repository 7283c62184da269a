/* Shared helpers of the escape suite's attack programs. Each attack runs
 * inside `doppel isolate`, tries one class of escape in several ways, and
 * prints one line per try:
 *
 *   ok: WHAT -> EPERM            the try failed exactly as expected
 *   ESCAPE: WHAT succeeded ...   the try worked: the sandbox leaks
 *   WRONG: WHAT failed with ...  it failed, but not the way the design says
 *
 * It starts with "attack NAME: start" and ends with
 * "attack NAME: done: N checks, M failed" and exit status 0 only when every
 * try failed as expected, so a test script can tell "the attack ran and was
 * stopped" from "the attack never ran" (a crash, a missing binary, a sandbox
 * that would not start). Every attack refuses to run outside a sandbox (an
 * identity user-namespace map of all 2^32 ids means the host's namespace),
 * so a mistake in a test script can never fire one at the host. */
#ifndef ATTACK_H
#define ATTACK_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *attack_name = "?";
static int attack_checks, attack_failed;

static inline const char *attack_errname(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

/* Prints a note that is neither a pass nor a failure. */
__attribute__((format(printf, 1, 2))) static inline void note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("note: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
}

/* Records a check by hand: good says whether it held. */
__attribute__((format(printf, 2, 3))) static inline void check(int good, const char *fmt, ...)
{
	va_list ap;
	attack_checks++;
	va_start(ap, fmt);
	fputs(good ? "ok: " : "ESCAPE: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	if (!good)
		attack_failed++;
}

static inline void expect_errno_impl(const char *what, long rc, int err, int want)
{
	attack_checks++;
	if (rc != -1) {
		printf("ESCAPE: %s succeeded (returned %ld); expected %s\n", what, rc, attack_errname(want));
		attack_failed++;
	} else if (err != want) {
		printf("WRONG: %s failed with %s (%s); expected %s\n", what, attack_errname(err), strerror(err),
		       attack_errname(want));
		attack_failed++;
	} else {
		printf("ok: %s -> %s\n", what, attack_errname(want));
	}
}

/* The same where two errnos are both exact answers (e.g. EROFS or EPERM,
 * depending on which of two protections stops the call first). */
static inline void expect_errno_either(const char *what, long rc, int err, int want, int or_want)
{
	if (rc == -1 && err == or_want)
		want = or_want;
	expect_errno_impl(what, rc, err, want);
}

#define EXPECT_ERRNO_EITHER(label, want, or_want, call)                                                             \
	do {                                                                                                          \
		long rc_;                                                                                             \
		int e_;                                                                                               \
		errno = 0;                                                                                            \
		rc_ = (long)(call);                                                                                   \
		e_ = errno;                                                                                           \
		expect_errno_either((label), rc_, e_, (want), (or_want));                                             \
	} while (0)

/* EXPECT_ERRNO(EPERM, call): the call must return -1 with errno EPERM. */
#define EXPECT_ERRNO(want, call)                                                                                      \
	do {                                                                                                          \
		long rc_;                                                                                             \
		int e_;                                                                                               \
		errno = 0;                                                                                            \
		rc_ = (long)(call);                                                                                   \
		e_ = errno;                                                                                           \
		expect_errno_impl(#call, rc_, e_, (want));                                                            \
		if (rc_ >= 0 && rc_ < 1024 && strncmp(#call, "open", 4) == 0)                                       \
			close((int)rc_);                                                                              \
	} while (0)

/* EXPECT_ERRNO_AS(label, EPERM, call): the same with a readable label. */
#define EXPECT_ERRNO_AS(label, want, call)                                                                            \
	do {                                                                                                          \
		long rc_;                                                                                             \
		int e_;                                                                                               \
		errno = 0;                                                                                            \
		rc_ = (long)(call);                                                                                   \
		e_ = errno;                                                                                           \
		expect_errno_impl((label), rc_, e_, (want));                                                          \
	} while (0)

/* A step that must work for the attack to mean anything (a control). */
#define MUST(call)                                                                                                    \
	({                                                                                                            \
		long r_ = (long)(call);                                                                               \
		if (r_ < 0) {                                                                                         \
			printf("SETUP: %s failed: %s; the attack cannot run\n", #call, strerror(errno));              \
			exit(3);                                                                                      \
		}                                                                                                     \
		r_;                                                                                                   \
	})

static inline int in_sandbox(void)
{
	char buf[128] = "";
	int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	unsigned long inner, outer, count;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%lu %lu %lu", &inner, &outer, &count) != 3)
		return 0;
	return count != 4294967295ul;
}

/* Rootless: the namespace maps one id only (the caller's). */
static inline int rootless(void)
{
	char buf[128] = "";
	unsigned long inner, outer, count;
	int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0 || sscanf(buf, "%lu %lu %lu", &inner, &outer, &count) != 3)
		return 0;
	return count == 1 && strchr(buf, '\n') == strrchr(buf, '\n');
}

/* The errno a write-open of path gets: where the file's owner is not mapped
 * into a rootless namespace (host root's files show as the overflow uid),
 * no capability applies and permission is checked first (EACCES); otherwise
 * the natural answer (EROFS on a read-only mount, ETXTBSY while running). */
static inline int dac_or(const char *path, int natural)
{
	struct stat st;

	if (rootless() && stat(path, &st) == 0 && st.st_uid == 65534 && !(st.st_mode & S_IWOTH))
		return EACCES;
	return natural;
}

/* A /proc file of a process we may not inspect yields nothing: either the
 * open is refused (EACCES, when its owner is unmapped) or the read is, with
 * read_errno. */
static inline void no_read(const char *path, int read_errno)
{
	char buf[256], label[300];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(label, sizeof(label), "open %s", path);
		expect_errno_impl(label, -1, errno, EACCES);
		return;
	}
	snprintf(label, sizeof(label), "read %s", path);
	errno = 0;
	{
		long r = read(fd, buf, sizeof(buf));
		expect_errno_impl(label, r, errno, read_errno);
	}
	close(fd);
}

static inline void attack_begin(const char *name)
{
	attack_name = name;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!in_sandbox()) {
		printf("attack %s: refusing to run outside a sandbox (identity uid map)\n", name);
		exit(99);
	}
	printf("attack %s: start (pid %d, uid %d)\n", name, (int)getpid(), (int)getuid());
}

__attribute__((noreturn)) static inline void attack_end(void)
{
	printf("attack %s: done: %d checks, %d failed\n", attack_name, attack_checks, attack_failed);
	fflush(stdout);
	exit(attack_failed ? 1 : 0);
}

/* Reads a whole small file into buf; returns its length or -1. */
static inline ssize_t read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (got + 1 < size && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

#endif
