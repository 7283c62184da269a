/* `doppel run NAME [LIMITS] [-- CMD ARGS]` and `doppel shell NAME`: run in a
 * sandbox. Tier settings apply; options may only tighten them. The sandbox
 * stays locked while the command runs, so reset and destroy wait or --force.
 * A tier with `network: endpoints` gets its API stand-ins for the run, and a
 * sandbox with PostgreSQL databases the sandbox cluster's socket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "isolate/isolate.h"
#include "sandbox/endpoints.h"
#include "sandbox/pgsandbox.h"
#include "sandbox/sandbox.h"
#include "util/parse.h"

#define MAX_BYTES (1ull << 50)

static int run_common(int argc, char **argv, bool shell, dp_error **err)
{
	static char *default_cmd[] = { "/bin/sh", NULL };
	static char *shell_cmd[] = { "/bin/bash", "-l", NULL };
	const char *config = NULL, *name = NULL, *v;
	dp_plan cli_opts, plan;
	dp_sandbox sb;
	dp_cli cli;
	int i, lock = -1, status = 0, r = -1;

	dp_plan_init(&cli_opts);
	dp_plan_init(&plan);
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
	lock = dp_sandbox_lock_run(cli.store, name, err);
	if (lock >= 0 && dp_sandbox_get(cli.store, name, &sb, err) == 0) {
		dp_sandbox_endpoints *eps = NULL;
		if (dp_sandbox_plan(cli.store, cli.spec, &sb, &cli_opts, &plan, err) == 0 &&
		    dp_pgsb_plan(cli.store, cli.spec, &sb, &plan, err) == 0 &&
		    dp_sandbox_endpoints_plan(cli.store, cli.spec, &sb, &plan, &eps, err) == 0) {
			plan.tty = shell || (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && i >= argc);
			plan.argv = i < argc ? &argv[i] : shell ? (access("/bin/bash", X_OK) == 0 ? shell_cmd : default_cmd)
								: default_cmd;
			if (dp_isolate_run(&plan, &status, err) == 0)
				r = status;
			/* the stand-ins save their state while the sandbox is still locked */
			dp_sandbox_endpoints_end(eps);
		}
		dp_sandbox_clear(&sb);
	}
	if (lock >= 0) {
		/* the runner is gone: nothing for reset --force to stop */
		int rc_trunc = ftruncate(lock, 0);
		(void)rc_trunc;
		close(lock);
	}
	dp_cli_close(&cli);
out:
	dp_plan_free(&cli_opts);
	plan.argv = NULL;
	dp_plan_free(&plan);
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
