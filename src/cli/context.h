/* What most subcommands start from: doppel.yaml (from --config, else
 * $DOPPEL_CONFIG, else ./doppel.yaml) and the store it describes. */
#ifndef DOPPEL_CLI_CONTEXT_H
#define DOPPEL_CLI_CONTEXT_H

#include <stdbool.h>

#include "ops/ops.h"
#include "spec/spec.h"
#include "store/store.h"
#include "util/error.h"

/* In local mode the CLI acts as its caller (actor) under the store's policy
 * (ops.h: dp_ops_load_policy); every action goes through ops. */
typedef struct dp_cli {
	dp_spec *spec;
	dp_store *store;
	dp_policy *policy;
	dp_actor actor;
	dp_ops ops;
} dp_cli;

/* config may be NULL for the default. */
int dp_cli_open(const char *config, dp_cli *cli, dp_error **err);
/* Same, but first proves production.root can be opened, so a command that
 * reads production fails before it creates anything (not even the store). */
int dp_cli_open_production(const char *config, dp_cli *cli, dp_error **err);
/* doppel.yaml and production only, no store (cli->store stays NULL). */
int dp_cli_open_spec(const char *config, dp_cli *cli, dp_error **err);
/* The store ($DOPPEL_HOME or the default) with its policy, no doppel.yaml
 * (cli->spec stays NULL): for plumbing on the store itself. */
int dp_cli_open_store(dp_cli *cli, dp_error **err);
void dp_cli_close(dp_cli *cli);

/* One option of a subcommand: a flag (value NULL) or an option with a value. */
typedef struct dp_cli_opt {
	const char *name;
	bool *flag;
	const char **value;
} dp_cli_opt;

/* Parses a porcelain subcommand's arguments: the options in 'opts' (a
 * NULL-name-terminated table, may be NULL), --config FILE always, and between
 * min_pos and max_pos positional arguments into pos[]. 'usage' completes the
 * error message ("expected ..."). */
int dp_cli_parse(int argc, char **argv, const dp_cli_opt *opts, const char **config, const char **pos, int min_pos,
		 int max_pos, const char *usage, dp_error **err);

/* --host HOST, taken by dp_cli_parse for every porcelain command (and by
 * the commands that parse by hand): where doppeld is, or "local". */
const char *dp_cli_host(void);
void dp_cli_set_host(const char *host);
/* Remote mode (cli/remote.h) per --host, $DOPPEL_HOST and the system
 * socket; *out is NULL in local mode. */
struct dp_remote;
int dp_cli_remote(struct dp_remote **out, dp_error **err);

/* Option helpers for the subcommands that parse by hand. */
bool dp_opt_is(const char *arg, const char *name);
int dp_opt_value(int argc, char **argv, int *i, const char **out, dp_error **err);
void dp_print_json(void *json_value); /* a json_t *, printed and freed */
/* A line for a change in `diff`/`drift` JSON: {path, change} prints as
 * "K path"; a schema change of database db (data/pgschema.h's JSON) as
 * dp_pgschema_line prints it. The same text local and remote. */
void dp_print_change(const char *db, void *change);

#endif
