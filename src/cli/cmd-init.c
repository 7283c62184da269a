/* `doppel init [--root DIR] [--output FILE] [--force]`: write a commented
 * doppel.yaml for a production tree, listing the SQLite databases found in it.
 * Writes nothing inside production; refuses to overwrite without --force. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "data/sqlite.h"
#include "util/cleanup.h"
#include "util/path.h"

#define MAX_DBS 32
#define MAX_SCAN 20000

typedef struct scan {
	char *dbs[MAX_DBS];
	size_t n_dbs, seen;
} scan;

static bool is_sqlite(int dirfd, const char *name)
{
	char head[16];
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	bool r = false;
	if (fd >= 0) {
		r = read(fd, head, 16) == 16 && memcmp(head, "SQLite format 3", 16) == 0;
		close(fd);
	}
	return r;
}

static void find_dbs(int dirfd, const char *base, int depth, scan *s)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL && s->seen++ < MAX_SCAN && s->n_dbs < MAX_DBS) {
		char rel[4096];
		struct stat st;
		if (de->d_name[0] == '.' && (de->d_name[1] == 0 || (de->d_name[1] == '.' && de->d_name[2] == 0)))
			continue;
		snprintf(rel, sizeof(rel), "%s%s%s", base, base[0] ? "/" : "", de->d_name);
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < 8) {
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				find_dbs(sub, rel, depth + 1, s);
				close(sub);
			}
		} else if (S_ISREG(st.st_mode) && st.st_size >= 512 && is_sqlite(dirfd, de->d_name)) {
			s->dbs[s->n_dbs++] = strdup(rel);
		}
	}
	closedir(d);
}

static void db_name(const char *rel, char *out, size_t n)
{
	const char *b = strrchr(rel, '/');
	size_t k = 0;
	b = b ? b + 1 : rel;
	for (; *b && *b != '.' && k + 1 < n; b++)
		out[k++] = (*b >= 'A' && *b <= 'Z') ? (char)(*b - 'A' + 'a')
			   : ((*b >= 'a' && *b <= 'z') || (*b >= '0' && *b <= '9')) ? *b : '-';
	if (k == 0)
		{ out[k++] = 'd'; out[k++] = 'b'; }
	out[k] = '\0';
	if (out[0] == '-')
		out[0] = 'd';
}

/* Masking rules for the columns strict mode would stop on, as a start: the
 * user reviews them (an impersonal column goes to masking.allow). A database
 * that cannot be read gets a comment, not a failure. */
static void suggest_masking(FILE *f, int rootfd, const char *root, scan *s, char names[][64])
{
	dp_db_spec dbs[MAX_DBS];
	dp_spec spec = { .file = (char *)"doppel.yaml", .mask_strict = true, .dbs = dbs, .n_dbs = s->n_dbs };
	size_t total = 0;

	for (size_t i = 0; i < s->n_dbs; i++)
		dbs[i] = (dp_db_spec){ .name = names[i], .sqlite = s->dbs[i] };
	fprintf(f, "\n# Personal data never reaches a sandbox as it is. With strict on, a sync stops\n"
		   "# on any column that looks personal and has no rule. The rules below were\n"
		   "# suggested by `doppel init` from column names and sampled values: review\n"
		   "# them, and move impersonal columns to allow. `doppel pii-check` re-checks.\n"
		   "masking:\n"
		   "  strict: true\n"
		   "  rules:\n");
	for (size_t i = 0; i < s->n_dbs; i++) {
		dp_error *e = NULL;
		dp_sqlite_src src;
		dp_pii_report rep = { 0 };
		int r = dp_sqlite_src_open(rootfd, root, s->dbs[i], &src, &e);
		if (r == 0)
			r = dp_sqlite_pii_check(&src, &spec, &dbs[i], &rep, &e);
		dp_sqlite_src_close(&src);
		if (r < 0) {
			fprintf(f, "    # %s: could not be read: %s\n", names[i], e ? e->msg : "?");
			dp_error_free(&e);
			continue;
		}
		for (size_t j = 0; j < rep.n; j++, total++)
			fprintf(f, "    %s.%s.%s: %-12s # %s\n", names[i], rep.items[j].table, rep.items[j].column,
				rep.items[j].suggest, rep.items[j].why);
		dp_pii_report_free(&rep);
	}
	if (total == 0)
		fprintf(f, "    {}\n");
	fprintf(f, "  allow: []\n");
}

int cmd_init(int argc, char **argv, dp_error **err)
{
	const char *root = NULL, *output = "doppel.yaml";
	bool force = false;
	cleanup_close int rootfd = -1;
	cleanup_fclose FILE *f = NULL;
	scan s = { .n_dbs = 0 };
	char cwd[4096], names[MAX_DBS][64];

	for (int i = 1; i < argc; i++) {
		if (dp_opt_is(argv[i], "--root")) {
			if (dp_opt_value(argc, argv, &i, &root, err) < 0)
				return -1;
		} else if (dp_opt_is(argv[i], "--output")) {
			if (dp_opt_value(argc, argv, &i, &output, err) < 0)
				return -1;
		} else if (dp_opt_is(argv[i], "--force")) {
			force = true;
		} else {
			return dp_usage(err, "init: unknown argument '%s'; expected --root DIR, --output FILE, --force", argv[i]);
		}
	}
	if (root == NULL) {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return dp_fail_errno(err, "init: current directory");
		root = cwd;
	}
	rootfd = dp_path_open_nofollow("--root", root, O_RDONLY | O_DIRECTORY, err);
	if (rootfd < 0)
		return -1;
	if (strcmp(root, "/") == 0)
		return dp_usage(err, "--root: the whole host cannot be production; name its directory");
	if (!force && access(output, F_OK) == 0)
		return dp_usage(err, "%s exists already; use --force to overwrite it", output);
	find_dbs(rootfd, "", 0, &s);
	for (size_t i = 0; i < s.n_dbs; i++)
		db_name(s.dbs[i], names[i], sizeof(names[i]));
	for (size_t i = 0; i < s.n_dbs; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0) /* two data.db in different dirs */
				snprintf(names[i], sizeof(names[i]), "db%zu", i + 1);
	f = fopen(output, force ? "we" : "wxe");
	if (f == NULL)
		return dp_fail_errno(err, "write %s", output);
	fprintf(f,
		"# doppel.yaml: what production is and what its sandboxes look like.\n"
		"# Every key is described in docs/doppel.yaml.md.\n"
		"version: 1\n\n"
		"production:\n"
		"  # Production's directory. doppel only ever reads it (doppel sync);\n"
		"  # inside every sandbox the snapshot appears at this same path.\n"
		"  root: %s\n"
		"  # Left out of snapshots: globs relative to root, '**' crosses directories.\n"
		"  exclude: [\"logs/**\", \"*.log\", \"*.tmp\", \".env\"",
		root);
	fprintf(f, "]\n");
	if (s.n_dbs) {
		fprintf(f, "  # SQLite databases found under root: copied consistently and masked\n"
			   "  # (never as plain files; their -wal and -journal never at all).\n"
			   "  databases:\n");
		for (size_t i = 0; i < s.n_dbs; i++) {
			/* double-quoted, so no character of the path is YAML syntax */
			fprintf(f, "    - {name: %s, sqlite: \"", names[i]);
			for (const char *c = s.dbs[i]; *c; c++)
				fprintf(f, (*c == '"' || *c == '\\') ? "\\%c" : "%c", *c);
			fprintf(f, "\"}\n");
		}
	}
	fprintf(f, "  # What sandboxes see instead of production's secrets (as environment).\n"
		   "  # secrets: {PAYMENT_API_KEY: sk_test_sandbox}\n\n"
		   "# Stand-ins for the external APIs production calls (WireMock-format\n"
		   "# mappings): inside a sandbox whose tier has network: endpoints, each HOST\n"
		   "# resolves to its stand-in, over HTTP and HTTPS. See docs/endpoints.md.\n"
		   "# endpoints:\n"
		   "#   api.payments.example: {mappings: mocks/payments}\n\n"
		   "# Sandbox tiers: limits (memory, pids, cpus, disk), network (endpoints:\n"
		   "# loopback plus the stand-ins above; loopback; or none), data: full, or\n"
		   "# subset (the rows a subset: section selects for the tier, and every row\n"
		   "# they reference; without one the tier gets everything).\n"
		   "tiers:\n"
		   "  dev:     {memory: 1G, pids: 512, cpus: 1, network: endpoints, data: subset}\n"
		   "  qa:      {memory: 2G, pids: 1024, cpus: 2, network: endpoints, data: full}\n"
		   "  staging: {memory: 4G, pids: 2048, cpus: 2, network: endpoints, data: full}\n\n"
		   "# Snapshots older than 'every' are marked stale; only the newest 'keep' are kept.\n"
		   "sync: {every: 7d, keep: 4}\n");
	if (s.n_dbs)
		suggest_masking(f, rootfd, root, &s, names);
	for (size_t i = 0; i < s.n_dbs; i++)
		free(s.dbs[i]);
	if (fflush(f) != 0)
		return dp_fail_errno(err, "write %s", output);
	printf("wrote %s for production at %s (%zu SQLite database%s found)\n", output, root, s.n_dbs,
	       s.n_dbs == 1 ? "" : "s");
	return 0;
}
