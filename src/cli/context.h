/* What most subcommands start from: doppel.yaml (from --config, else
 * $DOPPEL_CONFIG, else ./doppel.yaml) and the store it describes. */
#ifndef DOPPEL_CLI_CONTEXT_H
#define DOPPEL_CLI_CONTEXT_H

#include <stdbool.h>

#include "spec/spec.h"
#include "store/store.h"
#include "util/error.h"

typedef struct dp_cli {
	dp_spec *spec;
	dp_store *store;
} dp_cli;

/* config may be NULL for the default. */
int dp_cli_open(const char *config, dp_cli *cli, dp_error **err);
void dp_cli_close(dp_cli *cli);

/* Option helpers for the subcommands' small hand-written parsers. */
bool dp_opt_is(const char *arg, const char *name);
int dp_opt_value(int argc, char **argv, int *i, const char **out, dp_error **err);
void dp_print_json(void *json_value); /* a json_t *, printed and freed */

#endif
