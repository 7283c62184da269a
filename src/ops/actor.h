/* Who is acting: a Unix user (the CLI's caller, or a daemon client named by
 * SO_PEERCRED) or an API token acting for one. The policy decides from this,
 * the audit log records it; nothing else about the caller is trusted. */
#ifndef DOPPEL_OPS_ACTOR_H
#define DOPPEL_OPS_ACTOR_H

#include <sys/types.h>

#include "util/error.h"

typedef enum dp_source { DP_SOURCE_LOCAL, DP_SOURCE_SOCKET, DP_SOURCE_TOKEN } dp_source;

typedef struct dp_actor {
	uid_t uid;
	gid_t gid;
	char *user;     /* login name, or the uid in decimal when it has none */
	char **groups;  /* names of its groups, primary first, NULL-terminated */
	dp_source source;
	char *token;    /* the token's name when source is DP_SOURCE_TOKEN */
	pid_t pid;      /* the client's pid over the socket, else 0 */
} dp_actor;

/* The user with this uid: name and groups from the system databases. A uid
 * without a passwd entry is still an actor (named by its number, with the
 * one group gid) so the policy can deny it by name. */
int dp_actor_for_uid(uid_t uid, gid_t gid, dp_source source, dp_actor *out, dp_error **err);
/* The calling process's user (geteuid), source local. */
int dp_actor_self(dp_actor *out, dp_error **err);
/* The same without looking up its groups (groups is an empty list), for a
 * policy that binds no group: getgrouplist consults every group database
 * (loading libnss_systemd and libcap here), ~20 page faults of each
 * command. */
int dp_actor_self_nogroups(dp_actor *out, dp_error **err);
void dp_actor_clear(dp_actor *a);
/* "local", "socket", "token". */
const char *dp_source_name(dp_source s);

#endif
