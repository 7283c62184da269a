/* Durability of the trees doppel writes without an fsync per file: snapshot
 * trees and frozen checkpoint layers. Syncing them before the commit that
 * names them would add a full writeback to every sync (a syncfs after a
 * 124 MB sync costs 40% of the sync itself here), so instead:
 *
 *   - the record that names a new tree carries a mark, this boot's id and a
 *     nonce, in its `unflushed` column;
 *   - the detached background process (store.c) calls syncfs on the store
 *     and then clears exactly the marks it was given;
 *   - a mark from an earlier boot names a tree the machine may have lost
 *     part of (it went down before the syncfs): such a tree is refused as a
 *     base and reported by `doppel check`.
 *
 * So the commit stays cheap and a power loss can cost a snapshot, never
 * hand a sandbox a silently truncated file. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/cleanup.h"

#define BOOT_ID_LEN 36

/* /proc/sys/kernel/random/boot_id: a UUID the kernel draws at each boot. */
static const char *boot_id(void)
{
	static char id[BOOT_ID_LEN + 1];
	char buf[64];
	ssize_t n;

	if (id[0])
		return id;
	cleanup_close int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < BOOT_ID_LEN)
		return NULL;
	memcpy(id, buf, BOOT_ID_LEN);
	id[BOOT_ID_LEN] = '\0';
	return id;
}

int dp_store_flush_mark(dp_store *st, char mark[DP_STORE_MARK_MAX], dp_error **err)
{
	const char *boot = boot_id();
	unsigned char nonce[8];
	char hex[2 * sizeof(nonce) + 1];
	char **m;

	if (boot == NULL)
		return dp_fail_errno(err, "read /proc/sys/kernel/random/boot_id");
	if (sodium_init() < 0)
		return dp_fail(err, 0, "initialise libsodium");
	randombytes_buf(nonce, sizeof(nonce));
	sodium_bin2hex(hex, sizeof(hex), nonce, sizeof(nonce));
	snprintf(mark, DP_STORE_MARK_MAX, "%s:%s", boot, hex);
	m = realloc(st->marks, (st->n_marks + 1) * sizeof(*m));
	if (m == NULL || (m[st->n_marks] = strdup(mark)) == NULL) {
		if (m)
			st->marks = m;
		return dp_fail(err, ENOMEM, "queue the store flush");
	}
	st->marks = m;
	st->n_marks++;
	return 0;
}

bool dp_store_mark_lost(const char *mark)
{
	const char *boot;

	if (mark == NULL || mark[0] == '\0')
		return false;
	boot = boot_id();
	/* no boot id to compare with: trust nothing unconfirmed */
	return boot == NULL || strncmp(mark, boot, BOOT_ID_LEN) != 0;
}

int dp_store_flush_marks(int storefd, char **marks, size_t n)
{
	char path[64];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int r = -1;

	if (n == 0)
		return 0;
	{
		/* the store's fd is O_PATH, which syncfs does not take */
		cleanup_close int fd = openat(storefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || syncfs(fd) < 0)
			return -1;
	}
	/* by fd: the store may have been renamed since the marks were made */
	snprintf(path, sizeof(path), "/proc/self/fd/%d/doppel.db", storefd);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 30000);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	for (const char *const *t = (const char *const[]){ "snapshots", "checkpoints", NULL }; *t; t++) {
		char sql[96];
		snprintf(sql, sizeof(sql), "UPDATE %s SET unflushed = NULL WHERE unflushed = ?1", *t);
		if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
			goto out;
		for (size_t i = 0; i < n; i++) {
			sqlite3_reset(q);
			sqlite3_bind_text(q, 1, marks[i], -1, SQLITE_STATIC);
			if (sqlite3_step(q) != SQLITE_DONE)
				goto out;
		}
		sqlite3_finalize(q);
		q = NULL;
	}
	r = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
out:
	sqlite3_finalize(q);
	if (r < 0 && db)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	return r;
}
