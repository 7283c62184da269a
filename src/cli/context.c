/* Shared start-up of the porcelain subcommands; see context.h. */
#include "cli/context.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dp_cli_open(const char *config, dp_cli *cli, dp_error **err)
{
	char *root = NULL;
	int r;

	memset(cli, 0, sizeof(*cli));
	if (config == NULL)
		config = getenv("DOPPEL_CONFIG");
	if (config == NULL || config[0] == '\0')
		config = "doppel.yaml";
	if (dp_spec_load(config, &cli->spec, err) < 0)
		return -1;
	if (dp_store_default_root(&root, err) < 0) {
		dp_cli_close(cli);
		return -1;
	}
	r = dp_store_open(root, &cli->store, err);
	free(root);
	if (r < 0)
		dp_cli_close(cli);
	return r;
}

void dp_cli_close(dp_cli *cli)
{
	dp_store_close(cli->store);
	dp_spec_free(cli->spec);
	memset(cli, 0, sizeof(*cli));
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
