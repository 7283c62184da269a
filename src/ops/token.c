/* API tokens (token.h): made from the OS's randomness, kept in table tokens
 * as a SHA-256 hash only, found by their public id and compared in constant
 * time. The bearer string is "dpt_" ID "_" KEY: ID is 8 random bytes in hex
 * (the row's key, so a lookup needs no scan and no secret), KEY 32 random
 * bytes in URL-safe base64 without padding. */
#include "ops/token.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "util/cleanup.h"

#define ID_BYTES 8
#define ID_LEN (ID_BYTES * 2)
#define KEY_BYTES 32
#define KEY_LEN 43 /* base64 of 32 bytes, no padding */
#define PREFIX "dpt_"
#define PREFIX_LEN 4
#define SECRET_LEN (PREFIX_LEN + ID_LEN + 1 + KEY_LEN)

/* A plain SHA-256, not a slow password KDF: the secret is 256 random bits,
 * so nobody can guess it from its hash however fast the hash is; a KDF only
 * helps low-entropy secrets and would cost every API request its time. */
static void secret_hash(const char *secret, unsigned char out[crypto_hash_sha256_BYTES])
{
	crypto_hash_sha256(out, (const unsigned char *)secret, strlen(secret));
}

static int denied(dp_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int denied(dp_error **err, const char *fmt, ...)
{
	char msg[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dp_fail(err, 0, "%s", msg);
	(*err)->errnum = EACCES;
	return -1;
}

static int store_init(dp_error **err)
{
	if (sodium_init() < 0)
		return dp_fail(err, 0, "libsodium failed to initialise");
	return 0;
}

/* UTC, the form the CLI prints and accepts */
static void format_time(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, n, "%lld", (long long)t);
}

int dp_token_create(dp_store *st, const char *name, uid_t uid, int64_t expires, char **secret, dp_error **err)
{
	unsigned char id_raw[ID_BYTES], key_raw[KEY_BYTES], hash[crypto_hash_sha256_BYTES];
	char id[ID_LEN + 1], key[KEY_LEN + 1];
	char *s = NULL;
	sqlite3_stmt *q = NULL;
	int64_t now = (int64_t)time(NULL);
	int rc = SQLITE_ERROR;

	*secret = NULL;
	if (dp_check_name("token name", name, err) < 0)
		return -1;
	if (uid == (uid_t)-1)
		return dp_usage(err, "token %s: expected a user to act as", name);
	if (expires < 0 || (expires != 0 && expires <= now)) {
		char when[32];
		format_time(expires, when, sizeof(when));
		return dp_usage(err, "token %s: expiry %s is in the past", name, when);
	}
	if (store_init(err) < 0)
		return -1;
	if ((s = malloc(SECRET_LEN + 1)) == NULL)
		return dp_fail(err, ENOMEM, "token %s", name);
	if (dp_store_begin(st, err) < 0)
		goto fail;
	/* inside the transaction, so a concurrent create of the same name
	 * waits and then sees this one */
	if (dp_store_prepare(st, "SELECT 1 FROM tokens WHERE name = ?1", &q, err) < 0)
		goto fail;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	q = NULL;
	if (rc == SQLITE_ROW) {
		dp_usage(err, "token %s already exists; revoke it or pick another name", name);
		goto fail;
	}
	if (rc != SQLITE_DONE) {
		dp_store_sql_error(st, "look up token", err);
		goto fail;
	}
	if (dp_store_prepare(st, "INSERT INTO tokens (id, name, uid, hash, created, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			     &q, err) < 0)
		goto fail;
	/* the id is random too; a clash with an existing one (64 bits: not in
	 * practice) just draws again */
	for (int tries = 0; tries < 4; tries++) {
		randombytes_buf(id_raw, sizeof(id_raw));
		randombytes_buf(key_raw, sizeof(key_raw));
		sodium_bin2hex(id, sizeof(id), id_raw, sizeof(id_raw));
		sodium_bin2base64(key, sizeof(key), key_raw, sizeof(key_raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		snprintf(s, SECRET_LEN + 1, PREFIX "%s_%s", id, key);
		secret_hash(s, hash);
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, (sqlite3_int64)uid);
		sqlite3_bind_blob(q, 4, hash, sizeof(hash), SQLITE_STATIC);
		sqlite3_bind_int64(q, 5, now);
		sqlite3_bind_int64(q, 6, expires);
		rc = sqlite3_step(q);
		if (rc != SQLITE_CONSTRAINT)
			break;
	}
	sqlite3_finalize(q);
	q = NULL;
	sodium_memzero(key_raw, sizeof(key_raw));
	sodium_memzero(key, sizeof(key));
	if (rc != SQLITE_DONE) {
		dp_store_sql_error(st, "add token", err);
		goto fail;
	}
	if (dp_store_commit(st, err) < 0)
		goto fail;
	*secret = s;
	return 0;
fail:
	dp_store_rollback(st);
	sodium_memzero(s, SECRET_LEN + 1);
	free(s);
	/* a usage error already names the token */
	return err && *err && (*err)->status == DP_EXIT_USAGE ? -1 : dp_wrap(err, "create token %s", name);
}

static int info_from_row(sqlite3_stmt *q, int col, dp_token_info *t)
{
	t->name = strdup((const char *)sqlite3_column_text(q, col));
	t->uid = (uid_t)sqlite3_column_int64(q, col + 1);
	t->created = sqlite3_column_int64(q, col + 2);
	t->expires = sqlite3_column_int64(q, col + 3);
	t->revoked = sqlite3_column_int64(q, col + 4) != 0;
	return t->name ? 0 : -1;
}

int dp_token_list(dp_store *st, uid_t uid, dp_token_info **out, size_t *n, dp_error **err)
{
	sqlite3_stmt *q = NULL;
	dp_token_info *v = NULL;
	size_t k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (dp_store_prepare(st,
			     "SELECT name, uid, created, expires, revoked FROM tokens"
			     " WHERE ?1 IS NULL OR uid = ?1 ORDER BY name",
			     &q, err) < 0)
		return -1;
	if (uid != (uid_t)-1)
		sqlite3_bind_int64(q, 1, (sqlite3_int64)uid);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		dp_token_info *g = realloc(v, (k + 1) * sizeof(*v));
		if (g == NULL)
			goto nomem;
		v = g;
		memset(&v[k], 0, sizeof(v[k]));
		if (info_from_row(q, 0, &v[k++]) < 0)
			goto nomem;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		dp_token_infos_free(v, k);
		return dp_store_sql_error(st, "list tokens", err);
	}
	*out = v;
	*n = k;
	return 0;
nomem:
	sqlite3_finalize(q);
	dp_token_infos_free(v, k);
	return dp_fail(err, ENOMEM, "list tokens");
}

int dp_token_revoke(dp_store *st, const char *name, uid_t only_uid, dp_error **err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (dp_check_name("token name", name, err) < 0)
		return -1;
	/* revoking twice is fine: the row stays, flagged, for list and audit */
	if (dp_store_prepare(st, "UPDATE tokens SET revoked = 1 WHERE name = ?1 AND (?2 IS NULL OR uid = ?2)", &q, err) < 0)
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	if (only_uid != (uid_t)-1)
		sqlite3_bind_int64(q, 2, (sqlite3_int64)only_uid);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return dp_store_sql_error(st, "revoke token", err);
	if (sqlite3_changes(st->db) == 0) {
		if (only_uid == (uid_t)-1)
			dp_usage(err, "token %s not found", name);
		else
			dp_usage(err, "token %s not found among your tokens", name);
		(*err)->errnum = ENOENT; /* the daemon answers 404 */
		return -1;
	}
	return 0;
}

static bool is_hex_lower(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* The exact shape create makes, or false; reads at most SECRET_LEN + 1
 * bytes of s, so a huge or unterminated-looking input costs nothing. */
static bool well_formed(const char *s)
{
	if (s == NULL || strnlen(s, SECRET_LEN + 1) != SECRET_LEN || memcmp(s, PREFIX, PREFIX_LEN) != 0)
		return false;
	for (size_t i = 0; i < ID_LEN; i++)
		if (!is_hex_lower(s[PREFIX_LEN + i]))
			return false;
	if (s[PREFIX_LEN + ID_LEN] != '_')
		return false;
	for (size_t i = PREFIX_LEN + ID_LEN + 1; i < SECRET_LEN; i++)
		if (!is_b64url(s[i]))
			return false;
	return true;
}

int dp_token_authenticate(dp_store *st, const char *secret, dp_token_info *out, dp_error **err)
{
	unsigned char want[crypto_hash_sha256_BYTES], have[crypto_hash_sha256_BYTES];
	char id[ID_LEN + 1];
	sqlite3_stmt *q = NULL;
	dp_token_info t = { 0 };
	bool found = false;
	int rc;

	memset(out, 0, sizeof(*out));
	/* malformed, unknown id and wrong key all read the same to the caller */
	if (!well_formed(secret))
		return denied(err, "token unknown");
	if (store_init(err) < 0)
		return -1;
	memcpy(id, secret + PREFIX_LEN, ID_LEN);
	id[ID_LEN] = '\0';
	secret_hash(secret, have);
	if (dp_store_prepare(st, "SELECT hash, name, uid, created, expires, revoked FROM tokens WHERE id = ?1", &q, err) < 0)
		return -1;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(q, 0) == (int)sizeof(want)) {
		memcpy(want, sqlite3_column_blob(q, 0), sizeof(want));
		found = true;
		if (info_from_row(q, 1, &t) < 0) {
			sqlite3_finalize(q);
			dp_token_info_clear(&t);
			return dp_fail(err, ENOMEM, "token");
		}
	} else {
		memset(want, 0, sizeof(want));
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dp_store_sql_error(st, "look up token", err);
	/* compared even when no row matched, so both take the same time */
	if (sodium_memcmp(want, have, sizeof(want)) != 0 || !found) {
		dp_token_info_clear(&t);
		return denied(err, "token unknown");
	}
	if (t.revoked) {
		dp_token_info_clear(&t);
		return denied(err, "token revoked");
	}
	if (t.expires != 0 && t.expires <= (int64_t)time(NULL)) {
		char when[32];
		format_time(t.expires, when, sizeof(when));
		dp_token_info_clear(&t);
		return denied(err, "token expired on %s", when);
	}
	*out = t;
	return 0;
}

void dp_token_info_clear(dp_token_info *t)
{
	free(t->name);
	t->name = NULL;
}

void dp_token_infos_free(dp_token_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dp_token_info_clear(&v[i]);
	free(v);
}
