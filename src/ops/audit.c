/* The audit log (audit.h): <store>/audit.log, one JSON record a line, keys
 * sorted, compact. Each record carries
 *   seq   1, 2, ... with no gaps
 *   prev  SHA-256 (hex) of the previous record's line bytes, 64 zeros for
 *         the first; this links the chain, so removing, inserting or
 *         reordering lines breaks it
 *   hash  SHA-256 of the record serialized without "hash" (json_dumps
 *         JSON_COMPACT | JSON_SORT_KEYS), so an edited field shows
 * and the chain head (seq and line SHA-256 of the last record) is kept in
 * the store database's audit_head as well, so cutting records off the end
 * shows too.
 *
 * Appenders serialize on flock(LOCK_EX) of the log. Each append opens the
 * log anew, and flock locks belong to the open file description, so threads
 * of one process exclude each other exactly as processes do; no mutex is
 * needed (and none is held across a fork from another thread). Readers
 * take no lock; verify holds a shared one just while it reads the head and
 * the log's size, so the two agree. The line is
 * written with one write() and made durable before the head moves, so a
 * crash can leave records past the head but never a head past the log; the
 * next append adopts records past the head when they link to it, and cuts a
 * torn (newline-less) tail after the head. */
#include "ops/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "util/cleanup.h"

#define LOG_NAME "audit.log"
#define FIELD_MAX 4096          /* args (serialized) and message, each */
#define NAME_MAX_BYTES 256      /* user, token, action, target */
#define LINE_MAX_BYTES (1 << 20) /* a longer line is not one doppel wrote */
#define TAIL_MAX (4 << 20)      /* how far back an append looks for the head */
#define ADOPT_MAX 1000          /* records past the head an append adopts */

#define HEX_LEN 64
static const char zero_hash[HEX_LEN + 1] = "0000000000000000000000000000000000000000000000000000000000000000";

typedef struct chain_head {
	int64_t seq; /* 0: no record yet */
	char hash[HEX_LEN + 1];
} chain_head;

static void sha256_hex(const void *p, size_t n, char out[HEX_LEN + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, p, n);
	sodium_bin2hex(out, HEX_LEN + 1, h, sizeof(h));
}

static bool is_hex64(const char *s)
{
	if (s == NULL || strlen(s) != HEX_LEN)
		return false;
	for (const char *c = s; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
			return false;
	return true;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none:
 * jansson refuses strings that are not UTF-8, and a file name in an error
 * message need not be. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* s as a JSON string: invalid UTF-8 bytes become '?', and more than max
 * bytes are cut (at a character boundary) with a note of the full size. */
static json_t *capped_string(const char *s, size_t max)
{
	size_t n = strlen(s), o = 0;
	cleanup_free char *buf = malloc((n < max ? n : max) + 64);
	json_t *j;

	if (buf == NULL)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq((const unsigned char *)s + i, n - i);
		if (o + (k ? k : 1) > max) {
			o += (size_t)sprintf(buf + o, "... (cut from %zu bytes)", n);
			break;
		}
		if (k == 0) {
			buf[o++] = '?';
			i++;
		} else {
			memcpy(buf + o, s + i, k);
			o += k;
			i += k;
		}
	}
	j = json_stringn(buf, o);
	return j;
}

/* The arguments as given when their serialized form fits FIELD_MAX, else
 * {"truncated": the first FIELD_MAX bytes of it, "bytes": its size}, so a
 * hostile argument cannot bloat the log. */
static json_t *capped_args(json_t *args)
{
	cleanup_free char *s = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if (n <= FIELD_MAX)
		return json_incref(args);
	return json_pack("{s o s I}", "truncated", capped_string(s, FIELD_MAX), "bytes", (json_int_t)n);
}

static const char *result_name(dp_audit_result r)
{
	return r == DP_AUDIT_OK ? "ok" : r == DP_AUDIT_DENIED ? "denied" : "failed";
}

/* Everything but seq, prev and hash, which are known only under the lock. */
static json_t *new_record(const dp_actor *a, const char *action, const char *target, json_t *args,
			  dp_audit_result result, const char *message)
{
	struct timespec ts;
	struct tm tm;
	char when[48];
	json_t *r = json_object();
	bool ok = r != NULL;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03ldZ", ts.tv_nsec / 1000000);

	ok = ok && json_object_set_new(r, "time", json_string(when)) == 0;
	ok = ok && json_object_set_new(r, "user", capped_string(a->user ? a->user : "?", NAME_MAX_BYTES)) == 0;
	ok = ok && json_object_set_new(r, "uid", json_integer((json_int_t)a->uid)) == 0;
	ok = ok && json_object_set_new(r, "source", json_string(dp_source_name(a->source))) == 0;
	if (a->source == DP_SOURCE_TOKEN && a->token)
		ok = ok && json_object_set_new(r, "token", capped_string(a->token, NAME_MAX_BYTES)) == 0;
	if (a->pid != 0)
		ok = ok && json_object_set_new(r, "pid", json_integer((json_int_t)a->pid)) == 0;
	ok = ok && json_object_set_new(r, "action", capped_string(action, NAME_MAX_BYTES)) == 0;
	if (target)
		ok = ok && json_object_set_new(r, "target", capped_string(target, NAME_MAX_BYTES)) == 0;
	if (args)
		ok = ok && json_object_set_new(r, "args", capped_args(args)) == 0;
	ok = ok && json_object_set_new(r, "result", json_string(result_name(result))) == 0;
	if (message)
		ok = ok && json_object_set_new(r, "message", capped_string(message, FIELD_MAX)) == 0;
	if (!ok) {
		json_decref(r);
		return NULL;
	}
	return r;
}

/* The record's own hash: its canonical form without "hash". */
static int record_hash(json_t *rec, char out[HEX_LEN + 1])
{
	json_t *c = json_copy(rec);
	char *s;

	if (c == NULL)
		return -1;
	json_object_del(c, "hash");
	s = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(c);
	if (s == NULL)
		return -1;
	sha256_hex(s, strlen(s), out);
	free(s);
	return 0;
}

static int read_head(dp_store *st, chain_head *h, dp_error **err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	h->seq = 0;
	memcpy(h->hash, zero_hash, sizeof(h->hash));
	if (dp_store_prepare(st, "SELECT seq, hash FROM audit_head WHERE id = 1", &q, err) < 0)
		return -1;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		const char *hash = (const char *)sqlite3_column_text(q, 1);
		h->seq = sqlite3_column_int64(q, 0);
		if (h->seq < 1 || !is_hex64(hash)) {
			sqlite3_finalize(q);
			return dp_fail(err, 0, "store %s: audit_head holds no valid chain head (seq %" PRId64 ")", st->root,
				       h->seq);
		}
		memcpy(h->hash, hash, sizeof(h->hash));
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dp_store_sql_error(st, "read the audit chain head", err);
	return 0;
}

/* Moves the head in its own transaction, synced to disk (the store's
 * connection runs synchronous=NORMAL, whose last commits a power loss may
 * undo; the head must not fall behind more than the crash window). */
static int write_head(dp_store *st, int64_t seq, const char *hash, dp_error **err)
{
	sqlite3_stmt *q = NULL;
	int sync = 1, rc;
	char restore[48];

	if (dp_store_prepare(st, "PRAGMA synchronous", &q, err) < 0)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW)
		sync = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (dp_store_exec(st, "PRAGMA synchronous=FULL", err) < 0)
		return -1;
	rc = dp_store_prepare(st, "INSERT OR REPLACE INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2)", &q, err);
	if (rc == 0) {
		sqlite3_bind_int64(q, 1, seq);
		sqlite3_bind_text(q, 2, hash, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE)
			rc = dp_store_sql_error(st, "update the audit chain head", err);
		sqlite3_finalize(q);
	}
	snprintf(restore, sizeof(restore), "PRAGMA synchronous=%d", sync);
	if (dp_store_exec(st, restore, rc < 0 ? NULL : err) < 0)
		rc = -1;
	return rc;
}

/* What the tail of the log says about where the next record goes. */
typedef struct tail_info {
	chain_head prev;     /* the record the next one links to */
	bool last_is_prev;   /* the last complete line is prev (or there is none and prev is the start) */
	bool torn;           /* bytes after the last newline: a write cut short */
	off_t complete_end;  /* offset just after the last newline */
} tail_info;

typedef struct tail_line {
	int64_t seq;
	char prev[HEX_LEN + 1];
	char hash[HEX_LEN + 1]; /* of the line's bytes */
} tail_line;

/* seq and prev of a line, false when it is not a record of ours. */
static bool line_link(const char *p, size_t n, tail_line *out)
{
	json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
	json_t *seq = json_object_get(j, "seq");
	const char *prev = json_string_value(json_object_get(j, "prev"));
	bool ok = json_is_integer(seq) && is_hex64(prev);

	if (ok) {
		out->seq = json_integer_value(seq);
		memcpy(out->prev, prev, sizeof(out->prev));
		sha256_hex(p, n, out->hash);
	}
	json_decref(j);
	return ok;
}

/* Reads the tail backwards: the last complete line, and when records past
 * the head are there, back to the one that links to the head. Adopts them
 * when they form an unbroken chain from it; else the next record links to
 * the head, and verify reports the fork. */
static int read_tail(int fd, const chain_head *head, tail_info *t, dp_error **err)
{
	struct stat sb;
	size_t window = 64 * 1024;
	cleanup_free char *buf = NULL;
	cleanup_free tail_line *lines = NULL;

	memset(t, 0, sizeof(*t));
	t->prev = *head;
	if (fstat(fd, &sb) < 0)
		return dp_fail_errno(err, "stat audit log");
	if (sb.st_size == 0) {
		t->last_is_prev = head->seq == 0;
		return 0;
	}
	lines = calloc(ADOPT_MAX + 1, sizeof(*lines));
	if (lines == NULL)
		return dp_fail(err, ENOMEM, "audit log tail");
	for (;;) {
		size_t len = (size_t)sb.st_size < window ? (size_t)sb.st_size : window;
		off_t base = sb.st_size - (off_t)len;
		size_t end, n = 0;
		bool need_more = false, anchored = false;
		char *nb = realloc(buf, len);
		ssize_t got;

		if (nb == NULL)
			return dp_fail(err, ENOMEM, "audit log tail");
		buf = nb;
		got = pread(fd, buf, len, base);
		if (got < 0)
			return dp_fail_errno(err, "read audit log");
		if ((size_t)got != len)
			return dp_fail(err, 0, "read audit log: it shrank while locked");
		end = len;
		while (end > 0 && buf[end - 1] != '\n')
			end--;
		t->torn = end < len;
		if (end == 0 && base > 0) {
			need_more = true; /* no newline yet in this window */
		} else {
			t->complete_end = base + (off_t)end;
			if (end == 0) { /* only a torn line in the whole file */
				t->last_is_prev = head->seq == 0;
				return 0;
			}
		}
		/* walk complete lines from the last one back */
		while (!need_more && end > 0) {
			size_t s = end - 1; /* at the line's newline */
			while (s > 0 && buf[s - 1] != '\n')
				s--;
			if (s == 0 && base > 0) {
				need_more = true;
				break;
			}
			if (n > ADOPT_MAX || !line_link(buf + s, end - 1 - s, &lines[n]))
				break;
			if (n == 0 && lines[0].seq == head->seq) {
				t->last_is_prev = strcmp(lines[0].hash, head->hash) == 0;
				return 0;
			}
			if (lines[n].seq <= head->seq)
				break;
			if (lines[n].seq == head->seq + 1) {
				anchored = true;
				n++;
				break;
			}
			n++;
			end = s;
		}
		if (need_more && window < TAIL_MAX && (size_t)sb.st_size > window) {
			window *= 4;
			continue;
		}
		if (!anchored)
			return 0; /* not linked to the head: link to the head, verify reports the rest */
		/* lines[n-1] is head->seq + 1, lines[0] the last line */
		for (size_t i = n; i-- > 0;) {
			const char *want = i == n - 1 ? head->hash : lines[i + 1].hash;
			int64_t seq = i == n - 1 ? head->seq + 1 : lines[i + 1].seq + 1;
			if (lines[i].seq != seq || strcmp(lines[i].prev, want) != 0)
				return 0;
		}
		t->prev.seq = lines[0].seq;
		memcpy(t->prev.hash, lines[0].hash, sizeof(t->prev.hash));
		t->last_is_prev = true;
		return 0;
	}
}

/* The log, opened for appending and locked; creates it (mode 0600) on first use. */
static int open_log_locked(dp_store *st, bool *created, dp_error **err)
{
	struct stat sb;
	int fd;

	*created = false;
	fd = openat(st->rootfd, LOG_NAME, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0)
		*created = true;
	else if (errno == EEXIST)
		fd = openat(st->rootfd, LOG_NAME, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return dp_fail_errno(err, "open %s/%s", st->root, LOG_NAME);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return dp_fail(err, 0, "%s/%s: not a regular file", st->root, LOG_NAME);
	}
	if ((sb.st_mode & 077) && fchmod(fd, 0600) < 0) {
		dp_fail_errno(err, "chmod %s/%s", st->root, LOG_NAME);
		close(fd);
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			dp_fail_errno(err, "lock %s/%s", st->root, LOG_NAME);
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* Unlocks before closing: a child forked meanwhile shares the open file
 * description, and its copy would otherwise keep the lock. */
static void close_log(int fd)
{
	flock(fd, LOCK_UN);
	close(fd);
}

static int sync_store_dir(dp_store *st, dp_error **err)
{
	cleanup_close int d = openat(st->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (d < 0 || fsync(d) < 0)
		return dp_fail_errno(err, "sync %s", st->root);
	return 0;
}

int dp_audit_append(dp_store *st, const dp_actor *a, const char *action, const char *target, json_t *args,
		    dp_audit_result result, const char *message, dp_error **err)
{
	json_t *rec = NULL;
	cleanup_free char *line = NULL;
	char hash[HEX_LEN + 1], line_hash[HEX_LEN + 1];
	chain_head head;
	tail_info t;
	bool created;
	size_t n;
	int fd, r = -1;

	if (sodium_init() < 0)
		return dp_fail(err, 0, "libsodium failed to initialise");
	/* the head update must commit on its own: rolled back with a caller's
	 * transaction it would leave the log ahead of it */
	if (!sqlite3_get_autocommit(st->db))
		return dp_fail(err, 0, "audit record for %s: called inside a store transaction (a bug: records are "
				       "appended outside them)", action);
	rec = new_record(a, action, target, args, result, message);
	if (rec == NULL)
		return dp_fail(err, ENOMEM, "audit record");
	fd = open_log_locked(st, &created, err);
	if (fd < 0) {
		json_decref(rec);
		return -1;
	}
	if (read_head(st, &head, err) < 0 || read_tail(fd, &head, &t, err) < 0)
		goto out;
	if (t.torn && t.last_is_prev && ftruncate(fd, t.complete_end) < 0) {
		dp_fail_errno(err, "cut the partial last line of %s/%s", st->root, LOG_NAME);
		goto out;
	}
	if (json_object_set_new(rec, "seq", json_integer(t.prev.seq + 1)) < 0 ||
	    json_object_set_new(rec, "prev", json_string(t.prev.hash)) < 0 || record_hash(rec, hash) < 0 ||
	    json_object_set_new(rec, "hash", json_string(hash)) < 0 ||
	    (line = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		dp_fail(err, ENOMEM, "audit record");
		goto out;
	}
	n = strlen(line);
	sha256_hex(line, n, line_hash);
	{
		/* a torn tail that is not ours to cut (it follows a record that is
		 * not the head) keeps its own line, for verify to report */
		bool sep = t.torn && !t.last_is_prev;
		cleanup_free char *out = malloc(n + 2);
		ssize_t w;
		if (out == NULL) {
			dp_fail(err, ENOMEM, "audit record");
			goto out;
		}
		out[0] = '\n';
		memcpy(out + sep, line, n);
		out[sep + n] = '\n';
		w = write(fd, out, n + 1 + sep);
		if (w < 0) {
			dp_fail_errno(err, "write %s/%s", st->root, LOG_NAME);
			goto out;
		}
		if ((size_t)w != n + 1 + sep) {
			dp_fail(err, ENOSPC, "write %s/%s: cut short", st->root, LOG_NAME);
			goto out;
		}
	}
	if (fdatasync(fd) < 0) {
		dp_fail_errno(err, "sync %s/%s", st->root, LOG_NAME);
		goto out;
	}
	if (created && sync_store_dir(st, err) < 0)
		goto out;
	if (write_head(st, t.prev.seq + 1, line_hash, err) < 0) {
		dp_wrap(err, "audit record %" PRId64 " is in %s but the chain head was not moved (the next record "
			     "adopts it)", t.prev.seq + 1, LOG_NAME);
		goto out;
	}
	r = 0;
out:
	close_log(fd);
	json_decref(rec);
	return r;
}

/* The log opened for reading; -1 with errno ENOENT (and no error) when
 * there is none. Reading needs no lock: appends only add whole lines at
 * the end, and a line still being written has no newline yet, which
 * readers take as the end. */
static int open_log_read(dp_store *st, dp_error **err)
{
	struct stat sb;
	int fd = openat(st->rootfd, LOG_NAME, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0) {
		if (errno == ENOENT)
			return -1;
		return dp_fail_errno(err, "open %s/%s", st->root, LOG_NAME);
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return dp_fail(err, 0, "%s/%s: not a regular file", st->root, LOG_NAME);
	}
	return fd;
}

/* "2024-05-01T12:34:56.789Z" (as written here) in unix seconds, -1 if not. */
static int64_t record_time(const char *s)
{
	struct tm tm;
	const char *end;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		return -1;
	return (int64_t)timegm(&tm);
}

int dp_audit_read(dp_store *st, int64_t since, json_t **out, dp_error **err)
{
	cleanup_free char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int64_t lineno = 0;
	FILE *f;
	json_t *arr = json_array();
	int fd;

	*out = NULL;
	if (arr == NULL)
		return dp_fail(err, ENOMEM, "audit records");
	fd = open_log_read(st, err);
	if (fd < 0) {
		if (err && *err) {
			json_decref(arr);
			return -1;
		}
		*out = arr; /* no log yet: no records */
		return 0;
	}
	f = fdopen(fd, "r");
	if (f == NULL) {
		close(fd);
		json_decref(arr);
		return dp_fail_errno(err, "read %s/%s", st->root, LOG_NAME);
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		json_error_t je;
		json_t *rec;
		lineno++;
		if (line[n - 1] == '\n')
			n--;
		else
			break; /* a partial last line: a write cut short, no record */
		rec = n > LINE_MAX_BYTES ? NULL : json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &je);
		if (!json_is_object(rec) || record_time(json_string_value(json_object_get(rec, "time"))) < 0) {
			json_decref(rec);
			json_decref(arr);
			fclose(f);
			return dp_fail(err, 0, "%s/%s:%" PRId64 ": not an audit record; `doppel audit verify` says more",
				       st->root, LOG_NAME, lineno);
		}
		if (record_time(json_string_value(json_object_get(rec, "time"))) >= since)
			json_array_append_new(arr, rec);
		else
			json_decref(rec);
	}
	if (ferror(f)) {
		dp_fail_errno(err, "read %s/%s", st->root, LOG_NAME);
		fclose(f);
		json_decref(arr);
		return -1;
	}
	fclose(f);
	*out = arr;
	return 0;
}

static int verdict_bad(dp_audit_verdict *v, int64_t first, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int verdict_bad(dp_audit_verdict *v, int64_t first, const char *fmt, ...)
{
	va_list ap;

	v->ok = false;
	v->first_bad = first;
	va_start(ap, fmt);
	if (vasprintf(&v->why, fmt, ap) < 0)
		v->why = NULL;
	va_end(ap);
	return v->why ? 0 : -1;
}

/* One line against the chain so far: the reason it is bad, or 0. */
static int check_line(dp_audit_verdict *v, int64_t lineno, const char *line, size_t n, const char *prev_line_hash)
{
	json_error_t je;
	json_t *rec = NULL, *seq;
	const char *stored, *prev;
	char want[HEX_LEN + 1];
	cleanup_free char *canon = NULL;
	int r = 0;

	if (n > LINE_MAX_BYTES)
		return verdict_bad(v, lineno, "line %" PRId64 " is not an audit record: longer than %d bytes", lineno,
				   LINE_MAX_BYTES);
	rec = json_loadb(line, n, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(rec)) {
		json_decref(rec);
		return verdict_bad(v, lineno, "line %" PRId64 " is not an audit record (edited or corrupted): %s", lineno,
				   rec ? "not a JSON object" : je.text);
	}
	seq = json_object_get(rec, "seq");
	stored = json_string_value(json_object_get(rec, "hash"));
	prev = json_string_value(json_object_get(rec, "prev"));
	if (!json_is_integer(seq) || !is_hex64(stored) || !is_hex64(prev) ||
	    record_time(json_string_value(json_object_get(rec, "time"))) < 0 ||
	    !json_is_string(json_object_get(rec, "action")) || !json_is_string(json_object_get(rec, "result")) ||
	    !json_is_string(json_object_get(rec, "user")) || !json_is_integer(json_object_get(rec, "uid")) ||
	    !json_is_string(json_object_get(rec, "source"))) {
		r = verdict_bad(v, lineno,
				"line %" PRId64 " is not an audit record (edited): seq, time, user, uid, source, action, "
				"result, prev and hash must all be there with their types",
				lineno);
		goto out;
	}
	if (json_integer_value(seq) != lineno) {
		json_int_t s = json_integer_value(seq);
		r = verdict_bad(v, lineno,
				s > lineno ? "record %" PRId64 " is missing: line %" PRId64 " holds record %" JSON_INTEGER_FORMAT
					     " (records removed or reordered)"
					   : "line %" PRId64 " should hold record %" PRId64 " but holds record %" JSON_INTEGER_FORMAT
					     " (records reordered or inserted)",
				lineno, lineno, s);
		goto out;
	}
	if (record_hash(rec, want) < 0) {
		r = -1;
		goto out;
	}
	if (strcmp(want, stored) != 0) {
		r = verdict_bad(v, lineno, "record %" PRId64 " was edited: its hash does not match its content", lineno);
		goto out;
	}
	canon = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	if (canon == NULL) {
		r = -1;
		goto out;
	}
	if (strlen(canon) != n || memcmp(canon, line, n) != 0) {
		r = verdict_bad(v, lineno,
				"record %" PRId64 " was edited: its hash matches but its bytes are not the form doppel "
				"writes",
				lineno);
		goto out;
	}
	if (strcmp(prev, prev_line_hash) != 0 && lineno == 1)
		r = verdict_bad(v, 1, "record 1 does not start the chain (its prev is not zeros): records before it "
				      "were removed");
	else if (strcmp(prev, prev_line_hash) != 0)
		r = verdict_bad(v, lineno,
				"record %" PRId64 " does not follow record %" PRId64 ": its prev is not the SHA-256 of "
				"line %" PRId64 " (that record was edited or replaced)",
				lineno, lineno - 1, lineno - 1);
out:
	json_decref(rec);
	return r;
}

/* The log and the head as one moment: the head read under a shared lock
 * of the log (appenders hold it exclusively from their write until the head
 * has moved), with the log's size then; the lock is dropped before the walk,
 * which reads only that many bytes, so appends are not held up by it.
 * *fdp is -1 when there is no log. */
static int verify_open(dp_store *st, chain_head *head, off_t *size, dp_audit_verdict *v, int *fdp, dp_error **err)
{
	struct stat sb;
	int fd;

	*fdp = -1;
	*size = 0;
	fd = open_log_read(st, err);
	if (fd < 0 && err && *err)
		return -1;
	if (fd < 0) {
		/* no log: fine unless the head says records were written; the
		 * head moves only after the log exists, so look again after it */
		if (read_head(st, head, err) < 0)
			return -1;
		if (head->seq == 0)
			return 0;
		fd = open_log_read(st, err);
		if (fd < 0 && err && *err)
			return -1;
		if (fd < 0 && verdict_bad(v, 1,
					  "%s is missing but the store's chain head is record %" PRId64
					  ": all its records are gone",
					  LOG_NAME, head->seq) < 0)
			return dp_fail(err, ENOMEM, "audit verdict");
		if (fd < 0)
			return 0;
	}
	*fdp = fd;
	while (flock(fd, LOCK_SH) < 0)
		if (errno != EINTR)
			return dp_fail_errno(err, "lock %s/%s", st->root, LOG_NAME);
	if (read_head(st, head, err) < 0 || fstat(fd, &sb) < 0) {
		if (!(err && *err))
			dp_fail_errno(err, "stat %s/%s", st->root, LOG_NAME);
		return -1;
	}
	*size = sb.st_size;
	flock(fd, LOCK_UN);
	return 0;
}

int dp_audit_verify(dp_store *st, dp_audit_verdict *v, dp_error **err)
{
	cleanup_free char *line = NULL;
	char prev_hash[HEX_LEN + 1], head_line[HEX_LEN + 1] = "";
	size_t cap = 0;
	ssize_t n;
	chain_head head;
	off_t size, used = 0;
	bool partial = false;
	int fd;
	FILE *f;

	memset(v, 0, sizeof(*v));
	v->ok = true;
	if (sodium_init() < 0)
		return dp_fail(err, 0, "libsodium failed to initialise");
	if (verify_open(st, &head, &size, v, &fd, err) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (fd < 0)
		return 0; /* no log, and none expected; or the verdict says it is gone */
	f = fdopen(fd, "r");
	if (f == NULL) {
		close(fd);
		return dp_fail_errno(err, "read %s/%s", st->root, LOG_NAME);
	}
	memcpy(prev_hash, zero_hash, sizeof(prev_hash));
	while ((n = getline(&line, &cap, f)) > 0) {
		if (n > size - used)
			break; /* written after the head was read */
		if (line[n - 1] != '\n') {
			partial = true; /* a write cut short */
			break;
		}
		used += n;
		n--;
		if (check_line(v, v->records + 1, line, (size_t)n, prev_hash) < 0) {
			fclose(f);
			return dp_fail(err, ENOMEM, "verify %s", LOG_NAME);
		}
		if (!v->ok)
			break;
		v->records++;
		sha256_hex(line, (size_t)n, prev_hash);
		if (v->records == head.seq)
			memcpy(head_line, prev_hash, sizeof(head_line));
	}
	if (ferror(f)) {
		dp_fail_errno(err, "read %s/%s", st->root, LOG_NAME);
		fclose(f);
		return -1;
	}
	fclose(f);
	if (!v->ok)
		goto done;
	if (v->records < head.seq) {
		char missing[64];
		if (head.seq > v->records + 1)
			snprintf(missing, sizeof(missing), "records %" PRId64 "..%" PRId64 " are", v->records + 1, head.seq);
		else
			snprintf(missing, sizeof(missing), "record %" PRId64 " is", head.seq);
		if (verdict_bad(v, v->records + 1,
				"the log ends at record %" PRId64 " but the store's chain head is record %" PRId64
				": %s missing (truncated)",
				v->records, head.seq, missing) < 0)
			return dp_fail(err, ENOMEM, "audit verdict");
		goto done;
	}
	if (head.seq > 0 && strcmp(head_line, head.hash) != 0) {
		if (verdict_bad(v, head.seq,
				"record %" PRId64 " is not the one the store's chain head names (its line's SHA-256 "
				"differs): it was replaced, or the chain was recomputed after an edit before it",
				head.seq) < 0)
			return dp_fail(err, ENOMEM, "audit verdict");
		goto done;
	}
	memcpy(v->head_hash, prev_hash, sizeof(v->head_hash));
	if (v->records > head.seq) {
		if (asprintf(&v->note,
			     head.seq == 0 ? "the store has no chain head: records %" PRId64 "..%" PRId64
					     " are linked but not protected against truncation"
					   : "records %" PRId64 "..%" PRId64 " follow the store's chain head (a crash or a "
					     "failed head update after they were written); the next record adopts them",
			     head.seq + 1, v->records) < 0)
			v->note = NULL;
	} else if (partial) {
		if (asprintf(&v->note, "a partial line follows record %" PRId64 " (a write cut short); the next "
				       "record replaces it",
			     v->records) < 0)
			v->note = NULL;
	}
done:
	return 0;
}

void dp_audit_verdict_clear(dp_audit_verdict *v)
{
	free(v->why);
	free(v->note);
	v->why = NULL;
	v->note = NULL;
}

json_t *dp_audit_verdict_json(const dp_audit_verdict *v)
{
	json_t *j = json_pack("{sb sI}", "ok", v->ok, "records", (json_int_t)v->records);
	bool ok = j != NULL;

	if (ok && !v->ok)
		ok = json_object_set_new(j, "first_bad", json_integer(v->first_bad)) == 0 &&
		     json_object_set_new(j, "why", json_string(v->why ? v->why : "?")) == 0;
	if (ok && v->head_hash[0])
		ok = json_object_set_new(j, "head", json_string(v->head_hash)) == 0;
	if (ok && v->note)
		ok = json_object_set_new(j, "note", json_string(v->note)) == 0;
	if (!ok) {
		json_decref(j);
		return NULL;
	}
	return j;
}
