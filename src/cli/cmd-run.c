/* `doppel run NAME [LIMITS] [-- CMD ARGS]` and `doppel shell NAME`: run in a
 * sandbox. Tier settings apply; options may only tighten them. The sandbox
 * stays locked while the command runs, so reset and destroy wait or --force.
 * A tier with `network: endpoints` gets its API stand-ins for the run, and a
 * sandbox with PostgreSQL databases the sandbox cluster's socket (all of it
 * in ops/ops-run.c: dp_ops_run, which also writes the audit records). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "util/parse.h"

#define MAX_BYTES (1ull << 50)

static int run_common(int argc, char **argv, bool shell, dp_error **err)
{
	static char *default_cmd[] = { "/bin/sh", NULL };
	static char *shell_cmd[] = { "/bin/bash", "-l", NULL };
	const char *config = NULL, *name = NULL, *v;
	dp_plan cli_opts;
	dp_cli cli;
	int i, status = 0, r = -1;

	dp_plan_init(&cli_opts);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (dp_opt_is(a, "--config")) {
			if (dp_opt_value(argc, argv, &i, &config, err) < 0)
				goto out;
		} else if (dp_opt_is(a, "--mem")) {
			if (dp_opt_value(argc, argv, &i, &v, err) < 0 ||
			    dp_parse_size("--mem", v, MAX_BYTES, &cli_opts.mem_bytes, err) < 0)
				goto out;
		} else if (dp_opt_is(a, "--pids")) {
			if (dp_opt_value(argc, argv, &i, &v, err) < 0 ||
			    dp_parse_uint("--pids", v, 1, 4194304, &cli_opts.pids, err) < 0)
				goto out;
		} else if (dp_opt_is(a, "--cpus")) {
			if (dp_opt_value(argc, argv, &i, &v, err) < 0 ||
			    dp_parse_cpus("--cpus", v, &cli_opts.millicpus, err) < 0)
				goto out;
		} else if (dp_opt_is(a, "--net")) {
			if (dp_opt_value(argc, argv, &i, &v, err) < 0)
				goto out;
			if (strcmp(v, "none") != 0) {
				dp_usage(err, "--net: only 'none' can be asked for here (the tier sets the rest), got '%s'", v);
				goto out;
			}
			cli_opts.net = DP_NET_NONE;
		} else if (dp_opt_is(a, "--env")) {
			if (dp_opt_value(argc, argv, &i, &v, err) < 0)
				goto out;
			cli_opts.env = realloc(cli_opts.env, (cli_opts.n_env + 1) * sizeof(char *));
			cli_opts.env[cli_opts.n_env++] = strdup(v);
		} else if (dp_opt_is(a, "--chdir")) {
			if (dp_opt_value(argc, argv, &i, &v, err) < 0)
				goto out;
			free(cli_opts.chdir);
			cli_opts.chdir = strdup(v);
		} else if (a[0] == '-') {
			dp_usage(err, "%s: unknown option '%s'", argv[0], a);
			goto out;
		} else if (name == NULL) {
			name = a;
		} else {
			break; /* the command, without '--' */
		}
	}
	if (name == NULL) {
		dp_usage(err, "%s: expected a sandbox NAME", argv[0]);
		goto out;
	}
	if (shell && i < argc) {
		dp_usage(err, "shell: takes no command; use 'doppel run %s -- CMD'", name);
		goto out;
	}
	if (dp_check_name("sandbox name", name, err) < 0 || dp_cli_open(config, &cli, err) < 0)
		goto out;
	{
		bool tty = shell || (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && i >= argc);
		char **cmd = i < argc ? &argv[i]
			     : shell  ? (access("/bin/bash", X_OK) == 0 ? shell_cmd : default_cmd)
				      : default_cmd;
		if (dp_ops_run(&cli.ops, &cli.actor, name, &cli_opts, cmd, tty, &status, err) == 0)
			r = status;
	}
	dp_cli_close(&cli);
out:
	dp_plan_free(&cli_opts);
	return r;
}

int cmd_run(int argc, char **argv, dp_error **err)
{
	return run_common(argc, argv, false, err);
}

int cmd_shell(int argc, char **argv, dp_error **err)
{
	return run_common(argc, argv, true, err);
}
