/* `doppel token create NAME [--user U] [--expires 30d|DATE] [--json]`,
 * `doppel token list [--all | --user U] [--json]`, `doppel token revoke
 * NAME`: API tokens for doppeld's TCP port (ops/token.h), through the ops
 * layer so each call is checked and recorded. The secret is printed once,
 * alone on stdout; doppel keeps only its hash.
 *
 * Tokens live in the store ($DOPPEL_HOME or the default), not in a project,
 * so these commands need no doppel.yaml. Arguments are checked before the
 * store is opened: bad input changes nothing, not even by creating it. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "spec/spec.h"
#include "util/cleanup.h"

#define USAGE "create NAME [--user U] [--expires 30d|2h|DATE] [--json], list [--all | --user U] [--json] or revoke NAME"
#define DATE_FORMS "a duration such as 30d, 12h or 2w, or a UTC date YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z"

/* The store with the caller as actor under its policy; no spec. */
static int open_store(dp_cli *cli, dp_error **err)
{
	cleanup_free char *root = NULL;

	memset(cli, 0, sizeof(*cli));
	if (dp_store_default_root(&root, err) < 0 || dp_store_open(root, &cli->store, err) < 0 ||
	    dp_actor_self(&cli->actor, err) < 0 || dp_ops_load_policy(cli->store, NULL, &cli->policy, err) < 0) {
		dp_cli_close(cli);
		return -1;
	}
	cli->ops.store = cli->store;
	cli->ops.policy = cli->policy;
	return 0;
}

static int user_uid(const char *name, uid_t *out, dp_error **err)
{
	struct passwd pw, *res = NULL;
	cleanup_free char *buf = malloc(16384);
	int e;

	if (buf == NULL)
		return dp_fail(err, ENOMEM, "look up user");
	if (name[0] == '\0' || strlen(name) > 255)
		return dp_usage(err, "--user '%s': expected a user name", name);
	e = getpwnam_r(name, &pw, buf, 16384, &res);
	if (e != 0 && e != ENOENT && e != ESRCH)
		return dp_fail(err, e, "look up user %s", name);
	if (res == NULL)
		return dp_usage(err, "--user '%s': no such user", name);
	*out = res->pw_uid;
	return 0;
}

static void fmt_time(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, n, "%lld", (long long)t);
}

/* n decimal digits at s, as a number; -1 if any is not a digit */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* YYYY-MM-DD, then optionally T HH:MM, :SS and Z; always UTC. Fields out of
 * range (2025-02-30, 24:00) are refused, not rolled over. */
static int parse_date(const char *s, int64_t *out)
{
	struct tm tm = { 0 }, back;
	size_t n = strnlen(s, 32);
	time_t t;

	if (n < 10 || s[4] != '-' || s[7] != '-')
		return -1;
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	s += 10;
	if (*s == 'T') {
		if (strnlen(s, 7) < 6 || s[3] != ':')
			return -1;
		tm.tm_hour = digits(s + 1, 2);
		tm.tm_min = digits(s + 4, 2);
		s += 6;
		if (*s == ':') {
			if ((tm.tm_sec = digits(s + 1, 2)) < 0)
				return -1; /* before stepping over what may be the end */
			s += 3;
		}
		if (*s++ != 'Z')
			return -1;
	}
	if (*s != '\0' || tm.tm_year < 70 || tm.tm_year > 8099 || tm.tm_mon < 0 || tm.tm_mday < 0 || tm.tm_hour < 0 ||
	    tm.tm_min < 0 || tm.tm_sec < 0)
		return -1;
	back = tm;
	t = timegm(&tm);
	if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL || tm.tm_year != back.tm_year || tm.tm_mon != back.tm_mon ||
	    tm.tm_mday != back.tm_mday || tm.tm_hour != back.tm_hour || tm.tm_min != back.tm_min ||
	    tm.tm_sec != back.tm_sec)
		return -1;
	*out = (int64_t)t;
	return 0;
}

/* digits and one unit letter */
static bool looks_like_duration(const char *s)
{
	size_t n = strspn(s, "0123456789");
	return n > 0 && s[n] && strchr("smhdw", s[n]) && s[n + 1] == '\0';
}

static bool looks_like_date(const char *s)
{
	return strnlen(s, 5) == 5 && digits(s, 4) >= 0 && s[4] == '-';
}

static int parse_expires(const char *s, int64_t now, int64_t *out, dp_error **err)
{
	uint64_t secs;
	char when[32];

	if (looks_like_duration(s)) {
		/* its own errors: zero, or longer than ten years */
		if (dp_parse_duration("--expires", s, &secs, err) < 0)
			return -1;
		*out = now + (int64_t)secs;
		return 0;
	}
	if (!looks_like_date(s) || parse_date(s, out) < 0)
		return dp_usage(err, "--expires '%s': expected " DATE_FORMS, s);
	if (*out <= now) {
		fmt_time(*out, when, sizeof(when));
		return dp_usage(err, "--expires '%s': %s is in the past", s, when);
	}
	return 0;
}

static int token_create(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *user = NULL, *expires_s = NULL, *pos[1] = { NULL };
	bool json = false;
	int64_t expires = 0;
	uid_t uid;
	char *secret = NULL;
	char when[32], uname[256];
	dp_cli cli;
	int r;

	const dp_cli_opt opts[] = { { "--user", NULL, &user },
				    { "--expires", NULL, &expires_s },
				    { "--json", &json, NULL },
				    { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, pos, 1, 1, "NAME [--user U] [--expires 30d|2h|DATE] [--json]",
			 err) < 0 ||
	    dp_check_name("token name", pos[0], err) < 0 ||
	    (expires_s && parse_expires(expires_s, (int64_t)time(NULL), &expires, err) < 0))
		return -1;
	uid = geteuid();
	if (user && user_uid(user, &uid, err) < 0)
		return -1;
	if (open_store(&cli, err) < 0)
		return -1;
	r = dp_ops_token_create(&cli.ops, &cli.actor, pos[0], uid, expires, &secret, err);
	dp_cli_close(&cli);
	if (r < 0)
		return -1;
	if (expires)
		fmt_time(expires, when, sizeof(when));
	else
		snprintf(when, sizeof(when), "never");
	if (user)
		snprintf(uname, sizeof(uname), "%s", user);
	else if (getpwuid(uid))
		snprintf(uname, sizeof(uname), "%s", getpwuid(uid)->pw_name);
	else
		snprintf(uname, sizeof(uname), "%u", (unsigned)uid);
	if (json) {
		json_t *j = json_pack("{s:s, s:s, s:I, s:o, s:s}", "name", pos[0], "user", uname, "uid", (json_int_t)uid,
				      "expires", expires ? json_integer(expires) : json_null(), "secret", secret);
		char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
		if (s) {
			puts(s);
			sodium_memzero(s, strlen(s));
			free(s);
		}
		/* jansson's copy of the secret goes with j; it is not wiped */
		json_decref(j);
	} else {
		puts(secret);
	}
	fflush(stdout);
	fprintf(stderr,
		"doppel: token %s for %s, expires %s. Store the secret above now: it cannot be shown again "
		"(doppel keeps only its hash).\n",
		pos[0], uname, when);
	sodium_memzero(secret, strlen(secret));
	free(secret);
	return 0;
}

static int token_list(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *user = NULL;
	bool json = false, all = false;
	uid_t uid;
	json_t *arr = NULL;
	dp_cli cli;

	const dp_cli_opt opts[] = { { "--all", &all, NULL },
				    { "--user", NULL, &user },
				    { "--json", &json, NULL },
				    { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, NULL, 0, 0, "[--all | --user U] [--json]", err) < 0)
		return -1;
	if (all && user)
		return dp_usage(err, "list: --all and --user U exclude each other");
	uid = all ? (uid_t)-1 : geteuid();
	if (user && user_uid(user, &uid, err) < 0)
		return -1;
	if (open_store(&cli, err) < 0)
		return -1;
	if (dp_ops_token_list(&cli.ops, &cli.actor, uid, &arr, err) < 0) {
		dp_cli_close(&cli);
		return -1;
	}
	dp_cli_close(&cli);
	if (json) {
		dp_print_json(arr);
		return 0;
	}
	printf("%-24s %-16s %-20s %-20s %s\n", "NAME", "USER", "CREATED", "EXPIRES", "STATE");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *t = json_array_get(arr, i), *ex = json_object_get(t, "expires");
		char created[32], expires[32];
		fmt_time(json_integer_value(json_object_get(t, "created")), created, sizeof(created));
		if (json_is_integer(ex))
			fmt_time(json_integer_value(ex), expires, sizeof(expires));
		else
			snprintf(expires, sizeof(expires), "never");
		printf("%-24s %-16s %-20s %-20s %s\n", json_string_value(json_object_get(t, "name")),
		       json_string_value(json_object_get(t, "user")), created, expires,
		       json_string_value(json_object_get(t, "state")));
	}
	json_decref(arr);
	return 0;
}

static int token_revoke(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *pos[1] = { NULL };
	dp_cli cli;
	int r;

	if (dp_cli_parse(argc, argv, NULL, &config, pos, 1, 1, "NAME", err) < 0 ||
	    dp_check_name("token name", pos[0], err) < 0 || open_store(&cli, err) < 0)
		return -1;
	r = dp_ops_token_revoke(&cli.ops, &cli.actor, pos[0], err);
	dp_cli_close(&cli);
	if (r < 0)
		return -1;
	printf("token %s revoked\n", pos[0]);
	return 0;
}

int cmd_token(int argc, char **argv, dp_error **err)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: doppel token %s\n", USAGE);
		return 0;
	}
	if (argc < 2)
		return dp_usage(err, "token: expected %s", USAGE);
	static const struct {
		const char *name, *full;
		int (*fn)(int, char **, dp_error **);
	} subs[] = { { "create", "token create", token_create },
		     { "list", "token list", token_list },
		     { "revoke", "token revoke", token_revoke } };

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i].name) == 0) {
			/* named in full in dp_cli_parse's messages */
			argv[1] = (char *)subs[i].full;
			return subs[i].fn(argc - 1, argv + 1, err);
		}
	return dp_usage(err, "token: unknown subcommand '%s'; expected %s", argv[1], USAGE);
}
