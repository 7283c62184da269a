/* The store's sandbox certificate authority, with GnuTLS; see ca.h.
 *
 * One ECDSA P-256 key and a self-signed CA certificate per store, in
 * <dir>/ca.key (0600, ours, never group/world readable: refused otherwise)
 * and <dir>/ca.crt. Both are written to temporary names and moved into
 * place; the key by link(), so of two racing creators exactly one key wins
 * and the loser reads it back. A key without a matching certificate (a
 * crash between the two) gets a new certificate for the same key. The CA
 * may only sign leaves (path length 0); leaves are short-lived and name one
 * host each. Key material read or exported here is wiped before it is freed. */
#include "endpoints/ca.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/dl-gnutls.h"

#define CA_FILE_MAX (64 * 1024)
#define CA_VALID_S (10ll * 365 * 86400)
#define LEAF_VALID_S (30ll * 86400)
#define BACKDATE_S 3600 /* clocks inside and outside may disagree a little */
#define CA_DN "CN=doppel sandbox CA,O=doppel"

struct ep_ca {
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	char *cert_pem;
	unsigned char key_id[64];
	size_t key_id_len;
};

static int tls_fail(dp_error **err, int rc, const char *what)
{
	return dp_fail(err, 0, "%s: %s", what, sym_gnutls_strerror(rc));
}

static void wipe_datum(gnutls_datum_t *d)
{
	if (d->data) {
		explicit_bzero(d->data, d->size);
		(*sym_gnutls_free)(d->data);
	}
	d->data = NULL;
	d->size = 0;
}

static int random_serial(gnutls_x509_crt_t crt, dp_error **err)
{
	unsigned char serial[16];
	int rc = sym_gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial));

	if (rc < 0)
		return tls_fail(err, rc, "certificate serial");
	serial[0] = (serial[0] & 0x7f) | 0x01; /* positive, and no leading zero byte */
	rc = sym_gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
	return rc < 0 ? tls_fail(err, rc, "certificate serial") : 0;
}

static int new_p256_key(gnutls_x509_privkey_t *key, dp_error **err)
{
	int rc = sym_gnutls_x509_privkey_init(key);

	if (rc < 0)
		return tls_fail(err, rc, "private key");
	rc = sym_gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	if (rc < 0) {
		sym_gnutls_x509_privkey_deinit(*key);
		*key = NULL;
		return tls_fail(err, rc, "generate an ECDSA P-256 key");
	}
	return 0;
}

static int pem_of_crt(gnutls_x509_crt_t crt, char **out, dp_error **err)
{
	gnutls_datum_t d = { 0 };
	int rc = sym_gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d);

	if (rc < 0)
		return tls_fail(err, rc, "export certificate");
	*out = strndup((const char *)d.data, d.size);
	(*sym_gnutls_free)(d.data);
	return *out ? 0 : dp_fail(err, ENOMEM, "export certificate");
}

/* PKCS#8 PEM, unencrypted (files are protected by their mode). */
static int pem_of_key(gnutls_x509_privkey_t key, char **out, dp_error **err)
{
	gnutls_datum_t d = { 0 };
	int rc = sym_gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &d);

	if (rc < 0)
		return tls_fail(err, rc, "export private key");
	*out = strndup((const char *)d.data, d.size);
	wipe_datum(&d);
	return *out ? 0 : dp_fail(err, ENOMEM, "export private key");
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Self-signs the CA certificate for ca->key. */
static int make_ca_cert(ep_ca *ca, dp_error **err)
{
	time_t now = time(NULL);
	const char *bad = NULL;
	int rc;

	if ((rc = sym_gnutls_x509_crt_init(&ca->crt)) < 0)
		return tls_fail(err, rc, "CA certificate");
	if ((rc = sym_gnutls_x509_crt_set_version(ca->crt, 3)) < 0 || (rc = sym_gnutls_x509_crt_set_key(ca->crt, ca->key)) < 0 ||
	    (rc = sym_gnutls_x509_crt_set_dn(ca->crt, CA_DN, &bad)) < 0 ||
	    (rc = sym_gnutls_x509_crt_set_activation_time(ca->crt, now - BACKDATE_S)) < 0 ||
	    (rc = sym_gnutls_x509_crt_set_expiration_time(ca->crt, now + CA_VALID_S)) < 0 ||
	    /* a CA that signs leaves only, never another CA */
	    (rc = sym_gnutls_x509_crt_set_basic_constraints(ca->crt, 1, 0)) < 0 ||
	    (rc = sym_gnutls_x509_crt_set_key_usage(ca->crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN |
								 GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (rc = sym_gnutls_x509_crt_set_subject_key_id(ca->crt, ca->key_id, ca->key_id_len)) < 0)
		return tls_fail(err, rc, "CA certificate");
	if (random_serial(ca->crt, err) < 0)
		return -1;
	if ((rc = sym_gnutls_x509_crt_sign2(ca->crt, ca->crt, ca->key, GNUTLS_DIG_SHA256, 0)) < 0)
		return tls_fail(err, rc, "sign the CA certificate");
	return 0;
}

/* A small file of ours below dirfd, read whole (NUL-terminated), never
 * through a symlink. want_private: refuse it unless only we can read it. */
static int read_small(int dirfd, const char *dir, const char *name, bool want_private, char **out, dp_error **err)
{
	cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	size_t got = 0;
	char *buf;

	*out = NULL;
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			return dp_fail(err, 0, "%s/%s is a symlink; refused", dir, name);
		return dp_fail_errno(err, "open %s/%s", dir, name);
	}
	if (fstat(fd, &st) < 0)
		return dp_fail_errno(err, "stat %s/%s", dir, name);
	if (!S_ISREG(st.st_mode) || st.st_size > CA_FILE_MAX)
		return dp_fail(err, 0, "%s/%s: not a regular file of at most %d bytes", dir, name, CA_FILE_MAX);
	if (want_private && st.st_uid != geteuid())
		return dp_fail(err, 0, "%s/%s is owned by uid %u, not by us (uid %u); refused", dir, name,
			       (unsigned)st.st_uid, (unsigned)geteuid());
	if (want_private && (st.st_mode & 077))
		return dp_fail(err, 0, "%s/%s has mode %04o: others may have read the sandbox CA's key; refused "
			       "(remove the directory %s to make a new CA)",
			       dir, name, (unsigned)(st.st_mode & 07777), dir);
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		return dp_fail(err, ENOMEM, "read %s/%s", dir, name);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0) {
			explicit_bzero(buf, got);
			free(buf);
			return n < 0 ? dp_fail_errno(err, "read %s/%s", dir, name)
				     : dp_fail(err, 0, "read %s/%s: file shrank", dir, name);
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	return 0;
}

/* Writes text to a fresh temporary file below dirfd, flushed to disk. */
static int write_tmp(int dirfd, const char *dir, const char *tmp, const char *text, mode_t mode, dp_error **err)
{
	cleanup_close int fd = -1;
	size_t n = strlen(text);

	unlinkat(dirfd, tmp, 0); /* a crashed attempt of a process with our pid */
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return dp_fail_errno(err, "create %s/%s", dir, tmp);
	if (fchmod(fd, mode) < 0 || write(fd, text, n) != (ssize_t)n || fsync(fd) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return dp_fail(err, e, "write %s/%s", dir, tmp);
	}
	return 0;
}

static int key_id(gnutls_x509_privkey_t key, unsigned char *id, size_t *len, dp_error **err)
{
	int rc;

	*len = 64;
	rc = sym_gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA1, id, len);
	return rc < 0 ? tls_fail(err, rc, "CA key id") : 0;
}

/* Does ca->crt carry ca->key's public key? */
static bool cert_matches_key(ep_ca *ca)
{
	unsigned char id[64];
	size_t len = sizeof(id);

	return sym_gnutls_x509_crt_get_key_id(ca->crt, GNUTLS_KEYID_USE_SHA1, id, &len) >= 0 && len == ca->key_id_len &&
	       memcmp(id, ca->key_id, len) == 0;
}

/* A new key and certificate, moved into place; returns 1 when another
 * process's key won the race (read it instead), 0 when ours is in place. */
static int create_ca(int dirfd, const char *dir, dp_error **err)
{
	ep_ca tmp = { 0 };
	char *key_pem = NULL;
	char tkey[64], tcrt[64];
	int r = -1;

	snprintf(tkey, sizeof(tkey), "ca.key.tmp-%d", (int)getpid());
	snprintf(tcrt, sizeof(tcrt), "ca.crt.tmp-%d", (int)getpid());
	if (new_p256_key(&tmp.key, err) < 0 || key_id(tmp.key, tmp.key_id, &tmp.key_id_len, err) < 0 ||
	    make_ca_cert(&tmp, err) < 0 || pem_of_key(tmp.key, &key_pem, err) < 0 ||
	    pem_of_crt(tmp.crt, &tmp.cert_pem, err) < 0)
		goto out;
	if (write_tmp(dirfd, dir, tcrt, tmp.cert_pem, 0644, err) < 0)
		goto out;
	if (write_tmp(dirfd, dir, tkey, key_pem, 0600, err) < 0) {
		unlinkat(dirfd, tcrt, 0);
		goto out;
	}
	if (linkat(dirfd, tkey, dirfd, "ca.key", 0) < 0) {
		int e = errno;
		unlinkat(dirfd, tkey, 0);
		unlinkat(dirfd, tcrt, 0);
		if (e == EEXIST)
			r = 1;
		else
			dp_fail(err, e, "create %s/ca.key", dir);
		goto out;
	}
	unlinkat(dirfd, tkey, 0);
	if (renameat(dirfd, tcrt, dirfd, "ca.crt") < 0) {
		dp_fail_errno(err, "create %s/ca.crt", dir);
		unlinkat(dirfd, tcrt, 0);
		goto out;
	}
	if (fsync(dirfd) < 0) {
		dp_fail_errno(err, "sync %s", dir);
		goto out;
	}
	r = 0;
out:
	wipe_free(key_pem);
	free(tmp.cert_pem);
	if (tmp.crt)
		sym_gnutls_x509_crt_deinit(tmp.crt);
	if (tmp.key)
		sym_gnutls_x509_privkey_deinit(tmp.key);
	return r;
}

/* A certificate for an existing key whose own certificate is missing or
 * does not match it. */
static int replace_cert(ep_ca *ca, int dirfd, const char *dir, dp_error **err)
{
	char tcrt[64];

	if (ca->crt) {
		sym_gnutls_x509_crt_deinit(ca->crt);
		ca->crt = NULL;
	}
	snprintf(tcrt, sizeof(tcrt), "ca.crt.tmp-%d", (int)getpid());
	if (make_ca_cert(ca, err) < 0 || pem_of_crt(ca->crt, &ca->cert_pem, err) < 0 ||
	    write_tmp(dirfd, dir, tcrt, ca->cert_pem, 0644, err) < 0)
		return -1;
	if (renameat(dirfd, tcrt, dirfd, "ca.crt") < 0) {
		int e = errno;
		unlinkat(dirfd, tcrt, 0);
		return dp_fail(err, e, "create %s/ca.crt", dir);
	}
	return 0;
}

static int load_ca(ep_ca *ca, int dirfd, const char *dir, const char *key_pem, dp_error **err)
{
	cleanup_free char *crt_pem = NULL;
	gnutls_datum_t d;
	int rc;

	if ((rc = sym_gnutls_x509_privkey_init(&ca->key)) < 0)
		return tls_fail(err, rc, "CA key");
	d = (gnutls_datum_t){ .data = (unsigned char *)key_pem, .size = (unsigned)strlen(key_pem) };
	if ((rc = sym_gnutls_x509_privkey_import2(ca->key, &d, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN)) < 0)
		return dp_fail(err, 0, "%s/ca.key: not a PEM private key: %s", dir, sym_gnutls_strerror(rc));
	if (key_id(ca->key, ca->key_id, &ca->key_id_len, err) < 0)
		return -1;
	if (read_small(dirfd, dir, "ca.crt", false, &crt_pem, err) < 0)
		return -1;
	if (crt_pem) {
		if ((rc = sym_gnutls_x509_crt_init(&ca->crt)) < 0)
			return tls_fail(err, rc, "CA certificate");
		d = (gnutls_datum_t){ .data = (unsigned char *)crt_pem, .size = (unsigned)strlen(crt_pem) };
		if (sym_gnutls_x509_crt_import(ca->crt, &d, GNUTLS_X509_FMT_PEM) >= 0 && cert_matches_key(ca)) {
			ca->cert_pem = dp_steal_ptr(&crt_pem);
			return 0;
		}
	}
	return replace_cert(ca, dirfd, dir, err);
}

int ep_ca_open(const char *dir, ep_ca **out, dp_error **err)
{
	cleanup_close int dirfd = -1;
	struct stat st;
	ep_ca *ca;

	*out = NULL;
	if (dp_dl_gnutls(err) < 0)
		return -1;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return dp_fail_errno(err, "create %s", dir);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0)
		return dp_fail_errno(err, "open %s", dir);
	if (fstat(dirfd, &st) < 0)
		return dp_fail_errno(err, "stat %s", dir);
	if (st.st_uid != geteuid() || (st.st_mode & 022))
		return dp_fail(err, 0, "%s: the sandbox CA's directory must be ours and writable by us only; refused",
			       dir);
	ca = calloc(1, sizeof(*ca));
	if (ca == NULL)
		return dp_fail(err, ENOMEM, "sandbox CA");
	for (int tries = 0; tries < 3; tries++) {
		char *key_pem = NULL;
		int r;
		if (read_small(dirfd, dir, "ca.key", true, &key_pem, err) < 0)
			break;
		if (key_pem) {
			r = load_ca(ca, dirfd, dir, key_pem, err);
			wipe_free(key_pem);
			if (r < 0)
				break;
			*out = ca;
			return 0;
		}
		r = create_ca(dirfd, dir, err);
		if (r < 0)
			break;
		/* ours or the winner's: read back whichever is in place */
	}
	if (err && *err == NULL)
		dp_fail(err, 0, "%s: the sandbox CA could not be created", dir);
	ep_ca_close(ca);
	return -1;
}

const char *ep_ca_cert_pem(const ep_ca *ca)
{
	return ca->cert_pem;
}

static bool plausible_host(const char *host)
{
	size_t n = strlen(host);

	if (n == 0 || n > 253)
		return false;
	for (const char *c = host; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
		      *c == '.'))
			return false;
	return true;
}

int ep_ca_issue(ep_ca *ca, const char *host, char **cert_pem, char **key_pem, dp_error **err)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	unsigned char id[64];
	size_t id_len;
	char dn[300];
	const char *bad = NULL;
	time_t now = time(NULL);
	int rc, r = -1;

	*cert_pem = *key_pem = NULL;
	if (!plausible_host(host))
		return dp_usage(err, "certificate for '%s': not a host name", host);
	/* the DN is text: a host name has no characters it would need escaped */
	snprintf(dn, sizeof(dn), "CN=%s", host);
	if (new_p256_key(&key, err) < 0 || key_id(key, id, &id_len, err) < 0)
		goto out;
	if ((rc = sym_gnutls_x509_crt_init(&crt)) < 0) {
		tls_fail(err, rc, "certificate");
		goto out;
	}
	if ((rc = sym_gnutls_x509_crt_set_version(crt, 3)) < 0 || (rc = sym_gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (rc = sym_gnutls_x509_crt_set_dn(crt, dn, &bad)) < 0 ||
	    (rc = sym_gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, host, (unsigned)strlen(host),
							 GNUTLS_FSAN_SET)) < 0 ||
	    (rc = sym_gnutls_x509_crt_set_activation_time(crt, now - BACKDATE_S)) < 0 ||
	    (rc = sym_gnutls_x509_crt_set_expiration_time(crt, now + LEAF_VALID_S)) < 0 ||
	    (rc = sym_gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (rc = sym_gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_AGREEMENT)) < 0 ||
	    (rc = sym_gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (rc = sym_gnutls_x509_crt_set_subject_key_id(crt, id, id_len)) < 0 ||
	    (rc = sym_gnutls_x509_crt_set_authority_key_id(crt, ca->key_id, ca->key_id_len)) < 0) {
		dp_fail(err, 0, "certificate for %s: %s", host, sym_gnutls_strerror(rc));
		goto out;
	}
	if (random_serial(crt, err) < 0)
		goto out;
	if ((rc = sym_gnutls_x509_crt_sign2(crt, ca->crt, ca->key, GNUTLS_DIG_SHA256, 0)) < 0) {
		dp_fail(err, 0, "sign the certificate for %s: %s", host, sym_gnutls_strerror(rc));
		goto out;
	}
	if (pem_of_crt(crt, cert_pem, err) < 0 || pem_of_key(key, key_pem, err) < 0) {
		free(*cert_pem);
		*cert_pem = NULL;
		goto out;
	}
	r = 0;
out:
	if (crt)
		sym_gnutls_x509_crt_deinit(crt);
	if (key)
		sym_gnutls_x509_privkey_deinit(key);
	return r;
}

void ep_ca_close(ep_ca *ca)
{
	if (ca == NULL)
		return;
	if (ca->crt)
		sym_gnutls_x509_crt_deinit(ca->crt);
	/* gnutls clears the key's numbers before freeing them */
	if (ca->key)
		sym_gnutls_x509_privkey_deinit(ca->key);
	free(ca->cert_pem);
	explicit_bzero(ca, sizeof(*ca));
	free(ca);
}
