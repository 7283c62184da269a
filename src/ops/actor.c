/* Actors from uids: names and groups come from the system's user and group
 * databases (getpwuid_r, getgrouplist, getgrgid_r), never from the client. */
#include "ops/actor.h"

#include <errno.h>
#include <stdbool.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"

#define MAX_GROUPS 1024

static char *group_name(gid_t gid)
{
	struct group gr, *res = NULL;
	char buf[4096], num[24];

	if (getgrgid_r(gid, &gr, buf, sizeof(buf), &res) == 0 && res)
		return strdup(res->gr_name);
	snprintf(num, sizeof(num), "%u", (unsigned)gid);
	return strdup(num);
}

static int actor_for_uid(uid_t uid, gid_t gid, dp_source source, bool with_groups, dp_actor *out, dp_error **err)
{
	struct passwd pw, *res = NULL;
	cleanup_free char *buf = NULL;
	gid_t gids[MAX_GROUPS];
	int ng = MAX_GROUPS;
	char num[24];
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	out->uid = uid;
	out->gid = gid;
	out->source = source;
	buf = malloc(16384);
	if (buf == NULL)
		return dp_fail(err, ENOMEM, "look up uid %u", (unsigned)uid);
	if (getpwuid_r(uid, &pw, buf, 16384, &res) == 0 && res) {
		out->user = strdup(res->pw_name);
		/* the primary group is the passwd entry's, the login's view */
		if (!with_groups)
			ng = 0;
		else if (getgrouplist(res->pw_name, gid, gids, &ng) < 0)
			ng = MAX_GROUPS; /* more than fit: keep those that did */
	} else {
		snprintf(num, sizeof(num), "%u", (unsigned)uid);
		out->user = strdup(num);
		gids[0] = gid;
		ng = with_groups ? 1 : 0;
	}
	out->groups = calloc((size_t)ng + 1, sizeof(char *));
	if (out->user == NULL || out->groups == NULL)
		goto nomem;
	for (int i = 0; i < ng; i++) {
		bool dup = false;
		for (int j = 0; j < i; j++)
			dup |= gids[j] == gids[i];
		if (dup)
			continue;
		if ((out->groups[n] = group_name(gids[i])) == NULL)
			goto nomem;
		n++;
	}
	return 0;
nomem:
	dp_actor_clear(out);
	return dp_fail(err, ENOMEM, "look up uid %u", (unsigned)uid);
}

int dp_actor_for_uid(uid_t uid, gid_t gid, dp_source source, dp_actor *out, dp_error **err)
{
	return actor_for_uid(uid, gid, source, true, out, err);
}

int dp_actor_self(dp_actor *out, dp_error **err)
{
	return actor_for_uid(geteuid(), getegid(), DP_SOURCE_LOCAL, true, out, err);
}

int dp_actor_self_nogroups(dp_actor *out, dp_error **err)
{
	return actor_for_uid(geteuid(), getegid(), DP_SOURCE_LOCAL, false, out, err);
}

void dp_actor_clear(dp_actor *a)
{
	if (a == NULL)
		return;
	free(a->user);
	for (char **g = a->groups; g && *g; g++)
		free(*g);
	free(a->groups);
	free(a->token);
	memset(a, 0, sizeof(*a));
}

const char *dp_source_name(dp_source s)
{
	switch (s) {
	case DP_SOURCE_SOCKET:
		return "socket";
	case DP_SOURCE_TOKEN:
		return "token";
	default:
		return "local";
	}
}
