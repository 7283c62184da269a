/* `doppel scan NAME [--json] [--min-length N]`: prove that no value of a
 * masked production column is inside a sandbox. Every value of every masked
 * column is read from production (read-only) and searched for in every byte
 * of every layer of the sandbox: its snapshot, its checkpoints and its
 * writable layer, databases and all other files alike. Text is matched
 * case-insensitively; phone and card numbers by their digits, whatever the
 * separators. Leaks are reported by file, offset and column (never the value
 * itself, which would leak it into a log). A PostgreSQL database's files
 * are the sandbox's database's directory in the store's cluster, read after a
 * CHECKPOINT. Values shorter than --min-length
 * (default 5) and numbers of fewer than 7 digits are not searched: they turn
 * up by chance in any binary file. Exit 1 when anything is found. Runs
 * inside the ops frame (dp_ops_begin/dp_ops_end: policy check and audit
 * record) until its core moves under src/ops. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "data/matcher.h"
#include "data/postgres.h"
#include "data/scan.h"
#include "data/sqlite.h"
#include "sandbox/pgsandbox.h"
#include "sandbox/sandbox.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/parse.h"
#include "util/path.h"

typedef struct patterns {
	dp_matcher *m;
	char **columns; /* id -> "db.table.column" */
	size_t n_columns;
	const char *db;
	uint64_t min_len, added, short_skipped;
	dp_error *err;
} patterns;

typedef struct leaks {
	patterns *p;
	const char *layer;
	const char *root; /* production.root: paths are shown as the sandbox sees them */
	json_t *json;
	uint64_t n;
} leaks;

static uint32_t column_id(patterns *p, const dp_mask_rule *r)
{
	char *ref = NULL;

	if (asprintf(&ref, "%s.%s.%s", p->db, r->table, r->column) < 0)
		abort();
	for (size_t i = 0; i < p->n_columns; i++)
		if (strcmp(p->columns[i], ref) == 0) {
			free(ref);
			return (uint32_t)i;
		}
	p->columns = realloc(p->columns, (p->n_columns + 1) * sizeof(char *));
	if (p->columns == NULL)
		abort();
	p->columns[p->n_columns] = ref;
	return (uint32_t)p->n_columns++;
}

static int add_value(void *user, const dp_mask_rule *r, const char *text, size_t n)
{
	patterns *p = user;
	uint32_t id = column_id(p, r);
	size_t digits = 0, letters = 0;
	bool searched = false;

	for (size_t i = 0; i < n; i++) {
		digits += isdigit((unsigned char)text[i]) != 0;
		letters += isalpha((unsigned char)text[i]) != 0;
	}
	if ((r->kind == DP_MASK_PHONE || r->kind == DP_MASK_CARD || r->kind == DP_MASK_IBAN) && digits >= 7) {
		if (dp_matcher_add(p->m, text, n, DP_MATCH_DIGITS, id, &p->err) < 0)
			return -1;
		searched = true;
	}
	/* a short number (a postal code, an amount) turns up by chance in any
	 * binary file; below 7 digits it proves nothing */
	if (n >= p->min_len && (letters > 0 || digits >= 7)) {
		if (dp_matcher_add(p->m, text, n, DP_MATCH_TEXT, id, &p->err) < 0)
			return -1;
		searched = true;
	}
	if (searched)
		p->added++;
	else
		p->short_skipped++;
	return 0;
}

static int on_leak(void *user, const char *path, uint64_t offset, uint32_t id)
{
	leaks *l = user;
	const char *col = id < l->p->n_columns ? l->p->columns[id] : "?";

	l->n++;
	if (l->json)
		json_array_append_new(l->json, json_pack("{ss ss ss sI}", "layer", l->layer, "path", path, "column", col,
							 "offset", (json_int_t)offset));
	else
		printf("LEAK  %s/%s  offset %llu  value of %s  (layer %s)\n", l->root, path,
		       (unsigned long long)offset, col, l->layer);
	return 0;
}

/* The snapshot's masked copy of db, to tell fakes from leaks. */
static int open_copy(dp_cli *cli, const dp_sandbox *sb, const dp_db_spec *db, int *snapfd, dp_sqlite_src *copy)
{
	char rel[64];
	dp_error *e = NULL;

	dp_snapshot_dir(sb->snapshot, rel, sizeof(rel));
	*snapfd = openat(cli->store->rootfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*snapfd < 0 || dp_sqlite_src_open(*snapfd, rel, db->sqlite, copy, &e) < 0) {
		dp_error_free(&e);
		return -1;
	}
	return 0;
}

int cmd_scan(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *name = NULL, *min_s = NULL;
	bool json = false;
	cleanup_close int prodfd = -1;
	patterns p = { 0 };
	leaks l = { .p = &p };
	char **lowers = NULL;
	dp_scan_stats stats = { 0 };
	dp_sandbox sb = { 0 };
	dp_pgsb_dir *pgdirs = NULL;
	size_t n_pgdirs = 0;
	dp_ops_guard g;
	dp_cli cli;
	int r = -1;

	const dp_cli_opt opts[] = { { "--json", &json, NULL }, { "--min-length", NULL, &min_s }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, &name, 1, 1, "a sandbox NAME [--json] [--min-length N]", err) < 0)
		return -1;
	p.min_len = 5;
	if (min_s && dp_parse_uint("--min-length", min_s, 1, 4096, &p.min_len, err) < 0)
		return -1;
	if (dp_check_name("sandbox name", name, err) < 0 || dp_cli_open_production(config, &cli, err) < 0)
		return -1;
	/* the policy's word and the audit record around the whole scan */
	if (dp_ops_begin(&cli.ops, &cli.actor, DP_ACT_SCAN, name, json_pack("{s:I}", "min_length", (json_int_t)p.min_len),
			 &g, err) < 0) {
		dp_cli_close(&cli);
		return -1;
	}
	if (dp_sandbox_get(cli.store, name, &sb, err) < 0)
		goto out;
	prodfd = dp_path_open_nofollow("production.root", cli.spec->root, O_RDONLY | O_DIRECTORY, err);
	if (prodfd < 0)
		goto out;
	p.m = dp_matcher_new();
	if (p.m == NULL) {
		dp_fail(err, ENOMEM, "scan");
		goto out;
	}
	for (size_t i = 0; i < cli.spec->n_dbs; i++) {
		const dp_db_spec *db = &cli.spec->dbs[i];
		dp_sqlite_src src, copy;
		int snapfd = -1, cr;
		bool have_copy;

		if (db->postgres) {
			/* no fakes to leave out: the snapshot's template takes no
			 * connections, and the sandbox's own database is what is
			 * being judged */
			char *ci = NULL;
			p.db = db->name;
			cr = dp_pg_prod_conninfo(cli.spec, db, &ci, err);
			if (cr == 0)
				cr = dp_pg_masked_values(ci, NULL, cli.spec, db, add_value, &p, err);
			if (ci) {
				sodium_memzero(ci, strlen(ci));
				free(ci);
			}
			if (cr < 0) {
				if (p.err) {
					dp_error_free(err);
					*err = p.err;
					p.err = NULL;
				}
				goto out;
			}
			continue;
		}
		if (dp_sqlite_src_open(prodfd, cli.spec->root, db->sqlite, &src, err) < 0) {
			dp_sqlite_src_close(&src);
			goto out;
		}
		have_copy = open_copy(&cli, &sb, db, &snapfd, &copy) == 0;
		p.db = db->name;
		cr = dp_sqlite_masked_values(&src, have_copy ? &copy : NULL, cli.spec, db, add_value, &p, err);
		dp_sqlite_src_close(&src);
		if (have_copy)
			dp_sqlite_src_close(&copy);
		if (snapfd >= 0)
			close(snapfd);
		if (cr < 0) {
			if (p.err) {
				dp_error_free(err);
				*err = p.err;
				p.err = NULL;
			}
			goto out;
		}
	}
	if (dp_matcher_build(p.m, err) < 0)
		goto out;
	lowers = dp_sandbox_lowers(cli.store, &sb, err);
	if (lowers == NULL)
		goto out;
	if (dp_pgsb_dirs(cli.store, &sb, &pgdirs, &n_pgdirs, err) < 0)
		goto out;
	if (json)
		l.json = json_array();
	l.root = cli.spec->root;
	/* the sandbox's PostgreSQL databases: their files in the store's cluster */
	for (size_t i = 0; i < n_pgdirs; i++) {
		cleanup_close int fd = openat(cli.store->rootfd, pgdirs[i].rel,
					      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			dp_fail_errno(err, "%s/%s", cli.store->root, pgdirs[i].rel);
			goto out;
		}
		char pgroot[PATH_MAX];
		snprintf(pgroot, sizeof(pgroot), "%s/%s", cli.store->root, pgdirs[i].rel);
		l.layer = pgdirs[i].rel;
		l.root = pgroot;
		if (dp_scan_tree(fd, p.m, on_leak, &l, &stats, err) < 0)
			goto out;
	}
	l.root = cli.spec->root;
	/* the writable layer first, then each lower one, top to bottom */
	for (ssize_t i = -1; i < 0 || lowers[i]; i++) {
		char upper[600];
		const char *rel = lowers[i < 0 ? 0 : i];
		cleanup_close int fd = -1;
		if (i < 0) {
			snprintf(upper, sizeof(upper), "sandboxes/%s/%s", sb.name, sb.upper);
			rel = upper;
		}
		fd = openat(cli.store->rootfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			dp_fail_errno(err, "%s/%s", cli.store->root, rel);
			goto out;
		}
		l.layer = rel;
		if (dp_scan_tree(fd, p.m, on_leak, &l, &stats, err) < 0)
			goto out;
	}
	if (json) {
		json_t *cols = json_array();
		for (size_t i = 0; i < p.n_columns; i++)
			json_array_append_new(cols, json_string(p.columns[i]));
		dp_print_json(json_pack("{ss so so sI sI sI sI sI}", "sandbox", name, "columns", cols, "leaks", l.json,
					"values", (json_int_t)p.added, "values_too_short", (json_int_t)p.short_skipped,
					"files", (json_int_t)stats.files, "bytes", (json_int_t)stats.bytes, "unreadable",
					(json_int_t)stats.unreadable));
		l.json = NULL;
	} else {
		printf("%s: %llu leak%s; searched %llu values of %zu masked column%s in %llu files (%llu bytes)",
		       name, (unsigned long long)l.n, l.n == 1 ? "" : "s", (unsigned long long)p.added, p.n_columns,
		       p.n_columns == 1 ? "" : "s", (unsigned long long)stats.files, (unsigned long long)stats.bytes);
		if (p.short_skipped)
			printf("; %llu values too short to prove anything (under %llu characters, or numbers under 7 "
			       "digits) not searched", (unsigned long long)p.short_skipped, (unsigned long long)p.min_len);
		if (stats.unreadable)
			printf("; %llu entries unreadable", (unsigned long long)stats.unreadable);
		printf("\n");
	}
	r = l.n ? 1 : 0;
out:
	r = dp_ops_end(&g, r, err);
	json_decref(l.json);
	if (lowers)
		for (char **x = lowers; *x; x++)
			free(*x);
	free(lowers);
	for (size_t i = 0; i < p.n_columns; i++)
		free(p.columns[i]);
	free(p.columns);
	dp_error_free(&p.err);
	dp_matcher_free(p.m);
	dp_pgsb_dirs_free(pgdirs, n_pgdirs);
	dp_sandbox_clear(&sb);
	dp_cli_close(&cli);
	return r;
}
