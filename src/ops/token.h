/* API tokens for the daemon's TCP port: random from the OS, shown once,
 * stored only as a hash (table tokens), compared in constant time, with an
 * optional expiry. A token acts as the user it was made for; access.yaml may
 * bind it to its own roles instead (tokens: {NAME: [ROLES]}). */
#ifndef DOPPEL_OPS_TOKEN_H
#define DOPPEL_OPS_TOKEN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/store.h"
#include "util/error.h"

typedef struct dp_token_info {
	char *name;
	uid_t uid;      /* the user it acts as */
	int64_t created;
	int64_t expires; /* unix seconds, 0 for never */
	bool revoked;
} dp_token_info;

/* A new token named name (unique; dp_check_name rules) for uid; expires 0 for
 * never. *secret is the bearer string, "dpt_<id>_<random>", to show once. */
int dp_token_create(dp_store *st, const char *name, uid_t uid, int64_t expires, char **secret, dp_error **err);
/* All tokens, or those of uid when uid != (uid_t)-1, by name. */
int dp_token_list(dp_store *st, uid_t uid, dp_token_info **out, size_t *n, dp_error **err);
/* Revokes by name; only_uid != (uid_t)-1 restricts to that user's tokens
 * (a usage error names the token as not found otherwise). */
int dp_token_revoke(dp_store *st, const char *name, uid_t only_uid, dp_error **err);
/* The live token a bearer string names, or -1 with errnum EACCES and a
 * message that says unknown, expired or revoked (never which part of the
 * secret was wrong). */
int dp_token_authenticate(dp_store *st, const char *secret, dp_token_info *out, dp_error **err);
void dp_token_info_clear(dp_token_info *t);
void dp_token_infos_free(dp_token_info *v, size_t n);

#endif
