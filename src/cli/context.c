/* Shared start-up of the porcelain subcommands; see context.h. */
#include "cli/context.h"

#include "cli/remote.h"
#include "util/path.h"

#include <fcntl.h>
#include <jansson.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Is path 'inner' the directory 'outer' or below it? Both absolute, without
 * '.', '..' or symlinks (dp_path_check and the no-symlink opens see to that). */
static bool path_within(const char *inner, const char *outer)
{
	size_t n = strlen(outer);
	while (n > 1 && outer[n - 1] == '/')
		n--;
	if (n == 1)
		return true;
	return strncmp(inner, outer, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

/* doppel.yaml, and proof that production.root opens when need_production. */
static int open_spec(const char *config, dp_cli *cli, bool need_production, dp_error **err)
{
	if (config == NULL)
		config = getenv("DOPPEL_CONFIG");
	if (config == NULL || config[0] == '\0')
		config = "doppel.yaml";
	if (dp_spec_load(config, &cli->spec, err) < 0)
		return -1;
	if (need_production) {
		int fd = dp_path_open_nofollow("production.root", cli->spec->root, O_RDONLY | O_DIRECTORY, err);
		if (fd < 0)
			return dp_wrap(err, "%s", cli->spec->file);
		close(fd);
	}
	return 0;
}

/* with_spec: open_spec; with_store: the store, its policy and the caller as
 * actor. */
static int open_cli(const char *config, dp_cli *cli, bool with_spec, bool need_production, bool with_store,
		    dp_error **err)
{
	char *root = NULL;
	int r;

	memset(cli, 0, sizeof(*cli));
	if (with_spec && open_spec(config, cli, need_production, err) < 0) {
		dp_cli_close(cli);
		return -1;
	}
	if (!with_store)
		return 0;
	if (dp_store_default_root(&root, err) < 0) {
		dp_cli_close(cli);
		return -1;
	}
	/* a store inside production would be copied into each snapshot (into
	 * itself, while being written) and written into production */
	if (cli->spec && (path_within(root, cli->spec->root) || path_within(cli->spec->root, root))) {
		dp_usage(err, "%s: production.root %s and the store %s overlap; set DOPPEL_HOME to a directory "
			      "outside production",
			 cli->spec->file, cli->spec->root, root);
		free(root);
		dp_cli_close(cli);
		return -1;
	}
	r = dp_store_open(root, &cli->store, err);
	free(root);
	/* the policy first: the caller's groups are looked up only when it binds one */
	if (r == 0 && (r = dp_ops_load_policy(cli->store, NULL, &cli->policy, err)) == 0 &&
	    (r = dp_policy_binds_groups(cli->policy) ? dp_actor_self(&cli->actor, err)
						      : dp_actor_self_nogroups(&cli->actor, err)) == 0) {
		cli->ops.spec = cli->spec;
		cli->ops.store = cli->store;
		cli->ops.policy = cli->policy;
	}
	if (r < 0)
		dp_cli_close(cli);
	return r;
}

int dp_cli_open(const char *config, dp_cli *cli, dp_error **err)
{
	return open_cli(config, cli, true, false, true, err);
}

int dp_cli_open_production(const char *config, dp_cli *cli, dp_error **err)
{
	return open_cli(config, cli, true, true, true, err);
}

int dp_cli_open_spec(const char *config, dp_cli *cli, dp_error **err)
{
	return open_cli(config, cli, true, true, false, err);
}

int dp_cli_open_store(dp_cli *cli, dp_error **err)
{
	return open_cli(NULL, cli, false, false, true, err);
}

void dp_cli_close(dp_cli *cli)
{
	dp_policy_free(cli->policy);
	dp_actor_clear(&cli->actor);
	dp_store_close(cli->store);
	dp_spec_free(cli->spec);
	memset(cli, 0, sizeof(*cli));
}

int dp_cli_parse(int argc, char **argv, const dp_cli_opt *opts, const char **config, const char **pos, int min_pos,
		 int max_pos, const char *usage, dp_error **err)
{
	int npos = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const dp_cli_opt *o = NULL;

		if (strcmp(a, "--config") == 0) {
			if (dp_opt_value(argc, argv, &i, config, err) < 0)
				return -1;
			continue;
		}
		if (strcmp(a, "--host") == 0) {
			const char *h = NULL;
			if (dp_opt_value(argc, argv, &i, &h, err) < 0)
				return -1;
			dp_cli_set_host(h);
			continue;
		}
		for (const dp_cli_opt *k = opts; k && k->name; k++)
			if (strcmp(a, k->name) == 0)
				o = k;
		if (o && o->flag) {
			*o->flag = true;
		} else if (o) {
			if (dp_opt_value(argc, argv, &i, o->value, err) < 0)
				return -1;
		} else if (a[0] == '-' || npos == max_pos) {
			return dp_usage(err, "%s: unexpected argument '%s'; expected %s", argv[0], a, usage);
		} else {
			pos[npos++] = a;
		}
	}
	if (npos < min_pos)
		return dp_usage(err, "%s: expected %s", argv[0], usage);
	return 0;
}

/* One process runs one command: its --host is process state like argv. */
static const char *cli_host;

const char *dp_cli_host(void)
{
	return cli_host;
}

void dp_cli_set_host(const char *host)
{
	cli_host = host;
}

int dp_cli_remote(struct dp_remote **out, dp_error **err)
{
	return dp_remote_open(cli_host, out, err);
}

bool dp_opt_is(const char *arg, const char *name)
{
	return strcmp(arg, name) == 0;
}

int dp_opt_value(int argc, char **argv, int *i, const char **out, dp_error **err)
{
	if (*i + 1 >= argc)
		return dp_usage(err, "%s: expected a value", argv[*i]);
	*out = argv[++*i];
	return 0;
}

/* The letter of a change word: added, modified, deleted/removed, replaced. */
static char change_letter(const char *w)
{
	if (w == NULL)
		return '?';
	if (strcmp(w, "deleted") == 0 || strcmp(w, "removed") == 0)
		return 'D';
	return (char)(w[0] >= 'a' && w[0] <= 'z' ? w[0] - 'a' + 'A' : '?');
}

void dp_print_change(const char *db, void *change)
{
	json_t *c = change;
	const char *k = json_string_value(json_object_get(c, "change"));
	const char *what = json_string_value(json_object_get(c, "object"));
	const char *name = json_string_value(json_object_get(c, "name"));
	const char *attr = json_string_value(json_object_get(c, "attribute"));
	const char *old = json_string_value(json_object_get(c, "old"));
	const char *new = json_string_value(json_object_get(c, "new"));

	if (db == NULL)
		printf("%c %s\n", change_letter(k), json_string_value(json_object_get(c, "path")) ?: "?");
	else if (change_letter(k) == 'M')
		printf("M %s %s.%s: %s %s -> %s\n", what ?: "?", db, name ?: "?", attr ?: "?", old ?: "none", new ?: "none");
	else if (old || new)
		printf("%c %s %s.%s: %s\n", change_letter(k), what ?: "?", db, name ?: "?", old ? old : new);
	else
		printf("%c %s %s.%s\n", change_letter(k), what ?: "?", db, name ?: "?");
}

void dp_print_json(void *v)
{
	json_t *j = v;
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (s) {
		puts(s);
		free(s);
	}
	json_decref(j);
}
