/* The command's own process, forked by init: it gets a new session (so
 * TIOCSTI has no host terminal to target), the pty if asked, a reduced
 * environment, the sandbox capability set, no_new_privs, no inherited fds and
 * the seccomp filter, in that order, and then becomes the command. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
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

/* The command's environment, built by init before vfork so the command's
 * process, which borrows init's memory and thread state, allocates
 * nothing (run.c). One allocation: the array and the strings made here. */
struct dp_cmd_env {
	char user[80], logname[80];
	char *vars[];
};

dp_cmd_env *dp_exec_env_new(const dp_child_ctx *ctx)
{
	const dp_plan *plan = ctx->plan;
	const char *user = "root";
	size_t host = 0, n = 0;
	dp_cmd_env *e;

	for (char **v = environ; *v; v++)
		host++;
	e = calloc(1, sizeof(*e) + (host + plan->n_env + 8) * sizeof(char *));
	if (e == NULL)
		return NULL;
	for (char **v = environ; *v; v++)
		if (env_allowed(*v))
			e->vars[n++] = *v;
	env_set(e->vars, &n, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	env_set(e->vars, &n, "HOME=/root");
	if (ctx->inner_uid != 0)
		user = getenv("USER") && strlen(getenv("USER")) < 64 ? getenv("USER") : "user";
	snprintf(e->user, sizeof(e->user), "USER=%s", user);
	snprintf(e->logname, sizeof(e->logname), "LOGNAME=%s", user);
	env_set(e->vars, &n, e->user);
	env_set(e->vars, &n, e->logname);
	for (size_t i = 0; i < plan->n_env; i++)
		env_set(e->vars, &n, plan->env[i]);
	e->vars[n] = NULL;
	return e;
}

void dp_exec_env_free(dp_cmd_env *e)
{
	free(e);
}

static const char *env_get(char *const *env, const char *name)
{
	size_t n = strlen(name);

	for (; *env; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

/* execvp, with the sandbox's environment: its PATH, and env passed to the
 * program rather than set in environ, which init's memory shares with the
 * monitor (run.c). Returns with errno as execvp would. */
static void exec_path(char *const argv[], char *const env[])
{
	const char *file = argv[0], *path = env_get(env, "PATH");
	bool denied = false;
	char buf[PATH_MAX];

	if (strchr(file, '/')) {
		execve(file, argv, env);
		return;
	}
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		int len = (int)(end - p);
		/* an empty entry is the working directory, as for execvp */
		if (snprintf(buf, sizeof(buf), "%.*s%s%s", len, p, len ? "/" : "", file) < (int)sizeof(buf)) {
			execve(buf, argv, env);
			if (errno == ENOEXEC) {
				/* no #! line: a script for /bin/sh, as execvp runs it */
				size_t n = 0;
				while (argv[n])
					n++;
				char *sh[n + 2];
				sh[0] = "/bin/sh";
				sh[1] = buf;
				for (size_t i = 1; i <= n; i++)
					sh[i + 1] = argv[i];
				execve(sh[0], sh, env);
				errno = ENOEXEC;
				return;
			}
			if (errno == EACCES)
				denied = true;
			else if (errno != ENOENT && errno != ENOTDIR && errno != ENAMETOOLONG && errno != ELOOP)
				return;
		}
		if (*end == '\0')
			break;
		p = end;
	}
	errno = denied ? EACCES : ENOENT;
}

/* A message on stderr without stdio: this process borrows init's thread
 * state and the monitor's memory (run.c), and must not take stdio's locks. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	if (n > 0)
		(void)!write(STDERR_FILENO, buf, (size_t)n);
}

__attribute__((noreturn)) static void die(const char *what)
{
	say("doppel: %s: %s\n", what, strerror(errno));
	_exit(DP_EXIT_SETUP);
}

void dp_exec_command(const dp_child_ctx *ctx, const dp_cmd_env *env, int tty_slave)
{
	const dp_plan *plan = ctx->plan;
	dp_error *err = NULL;
	sigset_t none;
	int saved;

	sigemptyset(&none);
	/* before unblocking: nothing of the monitor's may run here, and nothing
	 * the caller ignored stays ignored across exec */
	for (int s = 1; s < NSIG && s <= 64; s++)
		if (s != SIGKILL && s != SIGSTOP && (ctx->sig_reset & (1ull << (s - 1))))
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
		say("doppel: --chdir %s: %s inside the sandbox\n", plan->chdir, strerror(errno));
		_exit(DP_EXIT_SETUP);
	}
	if (dp_caps_restrict(ctx->inner_uid == 0 ? dp_caps_sandbox_default() : 0, &err) < 0) {
		say("doppel: %s\n", err->msg);
		_exit(DP_EXIT_SETUP);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("prctl(PR_SET_NO_NEW_PRIVS)");
	/* nothing the caller had open crosses over (CVE-2024-21626 class) */
	if (syscall(SYS_close_range, 3, ~0U, 0) < 0)
		die("close inherited file descriptors");
	if (dp_seccomp_load(&err) < 0) {
		say("doppel: %s\n", err->msg);
		_exit(DP_EXIT_SETUP);
	}
	exec_path(plan->argv, env->vars);
	saved = errno;
	if (saved == ENOENT || saved == ENOTDIR) {
		say("doppel: %s: command not found in the sandbox\n", plan->argv[0]);
		_exit(127);
	}
	say("doppel: %s: cannot run: %s\n", plan->argv[0], strerror(saved));
	_exit(126);
}
