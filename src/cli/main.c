/* doppel's command line front end: a table maps each subcommand to the file
 * that implements it (git's builtin/ idea). main() is the only place that
 * prints an error value and picks the exit status. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "store/store.h"
#include "util/error.h"

typedef struct command {
	const char *name;
	int (*fn)(int argc, char **argv, dp_error **err);
	const char *summary;
} command;

static const command commands[] = {
	{ "init", cmd_init, "write a commented doppel.yaml for a production tree" },
	{ "doctor", cmd_doctor, "check the host: user namespaces, overlayfs, seccomp, cgroups" },
	{ "sync", cmd_sync, "take a new snapshot of production (incremental)" },
	{ "snapshots", cmd_snapshots, "list snapshots" },
	{ "pii-check", cmd_pii_check, "list database columns that look personal and have no masking rule" },
	{ "create", cmd_create, "create a sandbox: NAME [--tier T] [--from SNAP]" },
	{ "ls", cmd_ls, "list sandboxes" },
	{ "run", cmd_run, "run a command in a sandbox: NAME [-- CMD]" },
	{ "shell", cmd_shell, "interactive shell in a sandbox" },
	{ "checkpoint", cmd_checkpoint, "freeze a sandbox's state: NAME LABEL" },
	{ "reset", cmd_reset, "back to the snapshot or a checkpoint: NAME [--to LABEL]" },
	{ "diff", cmd_diff, "what a sandbox changed" },
	{ "drift", cmd_drift, "what production changed since a sandbox's snapshot" },
	{ "rebase", cmd_rebase, "move a sandbox to the newest snapshot" },
	{ "scan", cmd_scan, "prove no masked production value is inside a sandbox" },
	{ "synth", cmd_synth, "fill a sandbox's table with generated rows: NAME DB.TABLE --rows N" },
	{ "endpoints", cmd_endpoints, "API stand-ins: NAME [journal|scenario], or serve --port P DIR" },
	{ "destroy", cmd_destroy, "remove a sandbox" },
	{ "audit", cmd_audit, "the tamper-evident action log: [--since T] [--json] | verify" },
	{ "token", cmd_token, "API tokens for doppeld: create|list|revoke" },
	{ "check", cmd_check, "verify the store and repair what is safe" },
	{ "postgres", cmd_postgres, "plumbing: the sandbox PostgreSQL cluster: status|start|stop" },
	{ "isolate", cmd_isolate, "plumbing: run a command under a mount plan, no store" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: doppel COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'doppel COMMAND --help' shows a command's options.\n");
}

int main(int argc, char **argv)
{
	dp_error *err = NULL;
	int status;

	if (argc >= 2 && strcmp(argv[1], DP_STORE_REMOVER_ARG) == 0)
		return dp_store_remover_main(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return DP_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return DP_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("doppel 0.1.0\n");
		return DP_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		status = commands[i].fn(argc - 1, argv + 1, &err);
		if (status < 0) {
			/* no terminal control from whatever the user typed into a
			 * value; newlines stay (the strict-masking list uses them) */
			for (char *c = err && err->msg ? err->msg : NULL; c && *c; c++)
				if ((unsigned char)*c < 0x20 && *c != '\n')
					*c = '?';
			fprintf(stderr, "doppel: %s\n", err && err->msg ? err->msg : "failed");
			status = err ? err->status : DP_EXIT_FAIL;
			dp_error_free(&err);
		}
		return status;
	}
	fprintf(stderr, "doppel: unknown command '%s'; see 'doppel --help'\n", argv[1]);
	return DP_EXIT_USAGE;
}
