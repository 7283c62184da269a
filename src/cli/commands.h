/* The subcommand table's entries. Each parses its own arguments (argv[0] is
 * the subcommand's name) and returns an exit status, or -1 with *err set;
 * only main() prints errors and exits. */
#ifndef DOPPEL_CLI_COMMANDS_H
#define DOPPEL_CLI_COMMANDS_H

#include "util/error.h"

int cmd_isolate(int argc, char **argv, dp_error **err);
int cmd_doctor(int argc, char **argv, dp_error **err);
int cmd_init(int argc, char **argv, dp_error **err);
int cmd_sync(int argc, char **argv, dp_error **err);
int cmd_snapshots(int argc, char **argv, dp_error **err);
int cmd_create(int argc, char **argv, dp_error **err);
int cmd_ls(int argc, char **argv, dp_error **err);
int cmd_run(int argc, char **argv, dp_error **err);
int cmd_shell(int argc, char **argv, dp_error **err);
int cmd_checkpoint(int argc, char **argv, dp_error **err);
int cmd_reset(int argc, char **argv, dp_error **err);
int cmd_diff(int argc, char **argv, dp_error **err);
int cmd_destroy(int argc, char **argv, dp_error **err);
int cmd_check(int argc, char **argv, dp_error **err);
int cmd_drift(int argc, char **argv, dp_error **err);
int cmd_rebase(int argc, char **argv, dp_error **err);
int cmd_pii_check(int argc, char **argv, dp_error **err);
int cmd_scan(int argc, char **argv, dp_error **err);
int cmd_synth(int argc, char **argv, dp_error **err);
int cmd_endpoints(int argc, char **argv, dp_error **err);
int cmd_postgres(int argc, char **argv, dp_error **err);
int cmd_audit(int argc, char **argv, dp_error **err);
int cmd_token(int argc, char **argv, dp_error **err);
/* `doppel endpoints serve`: called by cmd_endpoints (cmd-endpoints-serve.c). */
int cmd_endpoints_serve(int argc, char **argv, dp_error **err);

#endif
