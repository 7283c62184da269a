/* placeholder until the token change lands. */
#include "ops/token.h"

#include <stdlib.h>

int dp_token_create(dp_store *st, const char *name, uid_t uid, int64_t expires, char **secret, dp_error **err)
{
	(void)st, (void)name, (void)uid, (void)expires, (void)secret;
	return dp_fail(err, 0, "tokens: not built yet");
}

int dp_token_list(dp_store *st, uid_t uid, dp_token_info **out, size_t *n, dp_error **err)
{
	(void)st, (void)uid, (void)out, (void)n;
	return dp_fail(err, 0, "tokens: not built yet");
}

int dp_token_revoke(dp_store *st, const char *name, uid_t only_uid, dp_error **err)
{
	(void)st, (void)name, (void)only_uid;
	return dp_fail(err, 0, "tokens: not built yet");
}

int dp_token_authenticate(dp_store *st, const char *secret, dp_token_info *out, dp_error **err)
{
	(void)st, (void)secret, (void)out;
	return dp_fail(err, 0, "tokens: not built yet");
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
