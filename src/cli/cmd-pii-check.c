/* `doppel pii-check [--json]`: the strict-mode report without a sync. Lists
 * every database column that looks personal and has no masking rule, with the
 * rule to add. Reads production read-only, writes nothing (no store either).
 * Exit 1 when something is found, so CI can run it. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/context.h"
#include <sodium.h>
#include <string.h>

#include "data/postgres.h"
#include "data/sqlite.h"
#include "util/cleanup.h"
#include "util/path.h"

int cmd_pii_check(int argc, char **argv, dp_error **err)
{
	const char *config = NULL;
	bool json = false;
	cleanup_close int prodfd = -1;
	json_t *out = NULL;
	size_t total = 0;
	dp_cli cli;
	int r = -1;

	const dp_cli_opt opts[] = { { "--json", &json, NULL }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, NULL, 0, 0, "[--json]", err) < 0)
		return -1;
	if (dp_cli_open_spec(config, &cli, err) < 0)
		return -1;
	prodfd = dp_path_open_nofollow("production.root", cli.spec->root, O_RDONLY | O_DIRECTORY, err);
	if (prodfd < 0)
		goto out;
	out = json_array();
	for (size_t i = 0; i < cli.spec->n_dbs; i++) {
		const dp_db_spec *db = &cli.spec->dbs[i];
		dp_sqlite_src src;
		dp_pii_report rep;
		int cr;

		const char *where = db->sqlite ? db->sqlite : "postgres";

		if (db->postgres) {
			char *ci = NULL;
			memset(&rep, 0, sizeof(rep));
			cr = dp_pg_prod_conninfo(cli.spec, db, &ci, err);
			if (cr == 0 && dp_pg_pii_check(ci, cli.spec, db, &rep, err) < 0)
				cr = dp_wrap(err, "database %s", db->name);
			if (ci) {
				sodium_memzero(ci, strlen(ci));
				free(ci);
			}
		} else if ((cr = dp_sqlite_src_open(prodfd, cli.spec->root, db->sqlite, &src, err)) == 0) {
			cr = dp_sqlite_pii_check(&src, cli.spec, db, &rep, err);
			dp_sqlite_src_close(&src);
		} else {
			dp_sqlite_src_close(&src);
		}
		if (cr < 0)
			goto out;
		total += rep.n;
		if (json) {
			json_t *items = json_array();
			for (size_t j = 0; j < rep.n; j++)
				json_array_append_new(items, json_pack("{ss ss ss ss}", "table", rep.items[j].table, "column",
									 rep.items[j].column, "suggest", rep.items[j].suggest,
									 "why", rep.items[j].why));
			json_array_append_new(out, json_pack("{ss ss so}", "database", db->name, "path", where,
							     "unmasked_personal_columns", items));
		} else if (rep.n) {
			cleanup_free char *text = dp_pii_report_text(db->name, &rep);
			printf("%s (%s): %zu column%s look%s personal and %s no rule:\n%s", db->name, where, rep.n,
			       rep.n == 1 ? "" : "s", rep.n == 1 ? "s" : "", rep.n == 1 ? "has" : "have", text);
		} else {
			printf("%s (%s): every column that looks personal has a rule\n", db->name, where);
		}
		dp_pii_report_free(&rep);
	}
	if (json) {
		dp_print_json(json_pack("{sb so}", "strict", cli.spec->mask_strict, "databases", out));
		out = NULL;
	} else if (cli.spec->n_dbs == 0) {
		printf("no databases in production.databases\n");
	} else if (total) {
		printf("add each to masking.rules in %s (or, if it holds no personal data, to masking.allow)\n",
		       cli.spec->file);
	}
	r = total ? 1 : 0;
out:
	json_decref(out);
	dp_cli_close(&cli);
	return r;
}
