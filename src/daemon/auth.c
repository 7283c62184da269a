/* Client identity; see auth.h. */
#include "daemon/auth.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ops/token.h"

#define TOKEN_MAX 512 /* longer is not one of ours */

int dpd_peer_cred(int fd, struct ucred *out, dp_error **err)
{
	socklen_t len = sizeof(*out);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, out, &len) < 0)
		return dp_fail_errno(err, "who is the client (SO_PEERCRED)");
	if (len != sizeof(*out))
		return dp_fail(err, 0, "who is the client: SO_PEERCRED answered %u bytes", (unsigned)len);
	return 0;
}

int dpd_actor_socket(const struct ucred *c, dp_actor *out, dp_error **err)
{
	if (dp_actor_for_uid(c->uid, c->gid, DP_SOURCE_SOCKET, out, err) < 0)
		return -1;
	out->pid = c->pid;
	return 0;
}

static int unauthorized(dp_error **err, const char *why)
{
	dp_fail(err, 0, "%s", why);
	(*err)->errnum = EACCES;
	return -1;
}

/* The user's primary group; a uid without a passwd entry gets the
 * overflow group, so it is in no real group by accident. */
static gid_t primary_gid(uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[16384];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		return res->pw_gid;
	return 65534;
}

int dpd_actor_token(dp_store *st, const char *authorization, dp_actor *out, dp_error **err)
{
	dp_token_info t = { 0 };
	const char *secret;
	int r;

	memset(out, 0, sizeof(*out));
	if (authorization == NULL)
		return unauthorized(err, "this port needs an API token: Authorization: Bearer dpt_...");
	if (strncasecmp(authorization, "Bearer ", 7) != 0)
		return unauthorized(err, "Authorization: expected 'Bearer <token>'");
	secret = authorization + 7;
	while (*secret == ' ')
		secret++;
	if (*secret == '\0' || strlen(secret) > TOKEN_MAX || strpbrk(secret, " \t\r\n"))
		return unauthorized(err, "Authorization: expected 'Bearer <token>'");
	if (dp_token_authenticate(st, secret, &t, err) < 0)
		return -1;
	r = dp_actor_for_uid(t.uid, primary_gid(t.uid), DP_SOURCE_TOKEN, out, err);
	if (r == 0) {
		out->token = t.name;
		t.name = NULL;
	}
	dp_token_info_clear(&t);
	return r;
}
