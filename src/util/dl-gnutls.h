/* GnuTLS, the stand-ins' certificate authority and TLS, loaded on first use
 * (util/dl.h says why). Call dp_dl_gnutls() before the first sym_ call on a
 * path; it is cheap after the first time. */
#ifndef DOPPEL_UTIL_DL_GNUTLS_H
#define DOPPEL_UTIL_DL_GNUTLS_H

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "util/dl.h"

/* gnutls_free is a variable holding the free function, so sym_gnutls_free
 * points at it: call (*sym_gnutls_free)(p). */
#define DP_GNUTLS_SYMS(X) \
	X(gnutls_free) \
	X(gnutls_record_send) \
	X(gnutls_rnd) \
	X(gnutls_strerror) \
	X(gnutls_x509_crt_deinit) \
	X(gnutls_x509_crt_export2) \
	X(gnutls_x509_crt_get_key_id) \
	X(gnutls_x509_crt_import) \
	X(gnutls_x509_crt_init) \
	X(gnutls_x509_crt_set_activation_time) \
	X(gnutls_x509_crt_set_authority_key_id) \
	X(gnutls_x509_crt_set_basic_constraints) \
	X(gnutls_x509_crt_set_dn) \
	X(gnutls_x509_crt_set_expiration_time) \
	X(gnutls_x509_crt_set_key) \
	X(gnutls_x509_crt_set_key_purpose_oid) \
	X(gnutls_x509_crt_set_key_usage) \
	X(gnutls_x509_crt_set_serial) \
	X(gnutls_x509_crt_set_subject_alt_name) \
	X(gnutls_x509_crt_set_subject_key_id) \
	X(gnutls_x509_crt_set_version) \
	X(gnutls_x509_crt_sign2) \
	X(gnutls_x509_privkey_deinit) \
	X(gnutls_x509_privkey_export2_pkcs8) \
	X(gnutls_x509_privkey_generate) \
	X(gnutls_x509_privkey_get_key_id) \
	X(gnutls_x509_privkey_import2) \
	X(gnutls_x509_privkey_init)

DP_GNUTLS_SYMS(DP_DLSYM_EXTERN)

int dp_dl_gnutls(dp_error **err);

#endif
