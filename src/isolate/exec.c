/* The command's own process, forked by init: it gets a new session (so
 * TIOCSTI has no host terminal to target), the pty if asked, a reduced
 * environment, the sandbox capability set, no_new_privs, no inherited fds and
 * the seccomp filter, in that order, and then becomes the command. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "isolate/isolate.h"
#include "isolate/runtime.h"
#include "isolate/seccomp.h"

extern char **environ;

/* Host variables that describe the terminal and locale, never secrets. */
static bool env_allowed(const char *kv)
{
	static const char *const names[] = { "TERM", "LANG", "LANGUAGE", "TZ", "COLORTERM", "NO_COLOR", NULL };
	size_t n = strcspn(kv, "=");

	if (strncmp(kv, "LC_", 3) == 0)
		return true;
	for (const char *const *a = names; *a; a++)
		if (strlen(*a) == n && strncmp(kv, *a, n) == 0)
			return true;
	return false;
}

static void env_set(char **env, size_t *n, char *kv)
{
	size_t klen = strcspn(kv, "=");
	for (size_t i = 0; i < *n; i++)
		if (strncmp(env[i], kv, klen) == 0 && env[i][klen] == '=') {
			env[i] = kv;
			return;
		}
	env[(*n)++] = kv;
}

static char **build_env(const dp_child_ctx *ctx)
{
	const dp_plan *plan = ctx->plan;
	size_t host = 0, n = 0;
	char **env;
	char *user = NULL;

	for (char **e = environ; *e; e++)
		host++;
	env = calloc(host + plan->n_env + 8, sizeof(char *));
	if (env == NULL)
		return NULL;
	for (char **e = environ; *e; e++)
		if (env_allowed(*e))
			env[n++] = *e;
	env_set(env, &n, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	env_set(env, &n, "HOME=/root");
	if (ctx->inner_uid == 0)
		user = "root";
	else if (asprintf(&user, "%s", getenv("USER") ? getenv("USER") : "user") < 0)
		user = "user";
	{
		char *u = NULL, *l = NULL;
		if (asprintf(&u, "USER=%s", user) >= 0)
			env_set(env, &n, u);
		if (asprintf(&l, "LOGNAME=%s", user) >= 0)
			env_set(env, &n, l);
	}
	for (size_t i = 0; i < plan->n_env; i++)
		env_set(env, &n, plan->env[i]);
	env[n] = NULL;
	return env;
}

__attribute__((noreturn)) static void die(const char *what)
{
	fprintf(stderr, "doppel: %s: %s\n", what, strerror(errno));
	_exit(DP_EXIT_SETUP);
}

void dp_exec_command(const dp_child_ctx *ctx, int tty_slave)
{
	const dp_plan *plan = ctx->plan;
	dp_error *err = NULL;
	sigset_t none;
	char **env;
	int saved;

	sigemptyset(&none);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		die("reset signal mask");
	if (setsid() < 0)
		die("setsid");
	if (tty_slave >= 0) {
		if (ioctl(tty_slave, TIOCSCTTY, 0) < 0)
			die("set controlling terminal");
		for (int fd = 0; fd <= 2; fd++)
			if (dup2(tty_slave, fd) < 0)
				die("attach terminal");
		if (tty_slave > 2)
			close(tty_slave);
	}
	if (chdir(plan->chdir ? plan->chdir : "/") < 0) {
		fprintf(stderr, "doppel: --chdir %s: %s inside the sandbox\n", plan->chdir, strerror(errno));
		_exit(DP_EXIT_SETUP);
	}
	env = build_env(ctx);
	if (env == NULL)
		die("build environment");
	if (dp_caps_restrict(ctx->inner_uid == 0 ? dp_caps_sandbox_default() : 0, &err) < 0) {
		fprintf(stderr, "doppel: %s\n", err->msg);
		_exit(DP_EXIT_SETUP);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("prctl(PR_SET_NO_NEW_PRIVS)");
	/* nothing the caller had open crosses over (CVE-2024-21626 class) */
	if (syscall(SYS_close_range, 3, ~0U, 0) < 0)
		die("close inherited file descriptors");
	if (dp_seccomp_load(&err) < 0) {
		fprintf(stderr, "doppel: %s\n", err->msg);
		_exit(DP_EXIT_SETUP);
	}
	environ = env;
	execvp(plan->argv[0], plan->argv);
	saved = errno;
	if (saved == ENOENT || saved == ENOTDIR) {
		fprintf(stderr, "doppel: %s: command not found in the sandbox\n", plan->argv[0]);
		_exit(127);
	}
	fprintf(stderr, "doppel: %s: cannot run: %s\n", plan->argv[0], strerror(saved));
	_exit(126);
}
