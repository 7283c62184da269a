/* `doppel run NAME [LIMITS] [-- CMD ARGS]` and `doppel shell NAME`: run in a
 * sandbox. Tier settings apply; options may only tighten them. The sandbox
 * stays locked while the command runs, so reset and destroy wait or --force.
 * A tier with `network: endpoints` gets its API stand-ins for the run, and a
 * sandbox with PostgreSQL databases the sandbox cluster's socket (all of it
 * in ops/ops-run.c: dp_ops_run, which also writes the audit records). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/remote.h"
#include "util/parse.h"

#define MAX_BYTES (1ull << 50)

static int run_common(int argc, char **argv, bool shell, dp_error **err)
{
	static char *default_cmd[] = { "/bin/sh", NULL };
	static char *shell_cmd[] = { "/bin/bash", "-l", NULL };
	const char *config = NULL, *name = NULL, *v, *mem_s = NULL, *pids_s = NULL, *cpus_s = NULL;
	dp_remote *rem = NULL;
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
		} else if (dp_opt_is(a, "--host")) {
			if (dp_opt_value(argc, argv, &i, &v, err) < 0)
				goto out;
			dp_cli_set_host(v);
		} else if (dp_opt_is(a, "--mem")) {
			if (dp_opt_value(argc, argv, &i, &mem_s, err) < 0 ||
			    dp_parse_size("--mem", mem_s, MAX_BYTES, &cli_opts.mem_bytes, err) < 0)
				goto out;
		} else if (dp_opt_is(a, "--pids")) {
			if (dp_opt_value(argc, argv, &i, &pids_s, err) < 0 ||
			    dp_parse_uint("--pids", pids_s, 1, 4194304, &cli_opts.pids, err) < 0)
				goto out;
		} else if (dp_opt_is(a, "--cpus")) {
			if (dp_opt_value(argc, argv, &i, &cpus_s, err) < 0 ||
			    dp_parse_cpus("--cpus", cpus_s, &cli_opts.millicpus, err) < 0)
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
	if (dp_check_name("sandbox name", name, err) < 0 || dp_cli_remote(&rem, err) < 0)
		goto out;
	if (rem) {
		/* the daemon picks the default command, as ops would here */
		bool tty = shell || (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && i >= argc);
		json_t *req = json_pack("{ss sb}", "sandbox", name, "tty", tty), *a = json_array(), *e = json_array();
		bool text = true;
		/* JSON carries text: a word that is not UTF-8 would be lost, not sent */
		for (int k = i; k < argc; k++)
			text &= json_array_append_new(a, json_string(argv[k])) == 0;
		for (size_t k = 0; k < cli_opts.n_env; k++)
			text &= json_array_append_new(e, json_string(cli_opts.env[k])) == 0;
		if (!text) {
			dp_usage(err, "%s: through doppeld every argument and --env must be valid UTF-8", argv[0]);
			json_decref(a);
			json_decref(e);
			json_decref(req);
			dp_remote_close(rem);
			goto out;
		}
		json_object_set_new(req, "argv", a);
		json_object_set_new(req, "env", e);
		if (cli_opts.chdir)
			json_object_set_new(req, "chdir", json_string(cli_opts.chdir));
		if (mem_s)
			json_object_set_new(req, "mem", json_string(mem_s));
		if (pids_s)
			json_object_set_new(req, "pids", json_string(pids_s));
		if (cpus_s)
			json_object_set_new(req, "cpus", json_string(cpus_s));
		if (cli_opts.net == DP_NET_NONE)
			json_object_set_new(req, "net", json_string("none"));
		if (dp_remote_run(rem, req, &status, err) == 0)
			r = status;
		json_decref(req);
		dp_remote_close(rem);
		goto out;
	}
	if (dp_cli_open(config, &cli, err) < 0)
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
