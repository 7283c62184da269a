/* `doppel ls [--json]`: sandboxes with tier, owner, snapshot, age, size of
 * their own changes and checkpoints. */
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "util/fs.h"

int cmd_ls(int argc, char **argv, dp_error **err)
{
	const char *config = NULL;
	bool json = false;
	sqlite3_stmt *q = NULL;
	json_t *arr = NULL;
	dp_cli cli;
	int64_t now = (int64_t)time(NULL);

	const dp_cli_opt opts[] = { { "--json", &json, NULL }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, NULL, 0, 0, "[--json]", err) < 0 ||
	    dp_cli_open(config, &cli, err) < 0)
		return -1;
	if (dp_store_prepare(cli.store,
			     "SELECT name, tier, owner, snapshot, created, upper, base,"
			     " (SELECT count(*) FROM checkpoints c WHERE c.sandbox = s.name) FROM sandboxes s ORDER BY name",
			     &q, err) < 0) {
		dp_cli_close(&cli);
		return -1;
	}
	if (json)
		arr = json_array();
	else
		printf("%-20s %-8s %-10s %8s %8s %12s %s\n", "NAME", "TIER", "OWNER", "SNAPSHOT", "AGE", "CHANGES", "CHECKPOINTS");
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(q, 0);
		uid_t owner = (uid_t)sqlite3_column_int64(q, 2);
		struct passwd *pw = getpwuid(owner);
		char rel[256], ownbuf[32];
		int64_t size;
		snprintf(rel, sizeof(rel), "sandboxes/%s/%s", name, (const char *)sqlite3_column_text(q, 5));
		size = dp_tree_usage_at(cli.store->rootfd, rel);
		snprintf(ownbuf, sizeof(ownbuf), "%u", (unsigned)owner);
		if (json)
			json_array_append_new(arr, json_pack("{ss ss ss sI sI sI sI}", "name", name, "tier",
							     (const char *)sqlite3_column_text(q, 1), "owner",
							     pw ? pw->pw_name : ownbuf, "snapshot",
							     (json_int_t)sqlite3_column_int64(q, 3), "created",
							     (json_int_t)sqlite3_column_int64(q, 4), "changes_bytes",
							     (json_int_t)(size < 0 ? 0 : size), "checkpoints",
							     (json_int_t)sqlite3_column_int64(q, 7)));
		else
			printf("%-20s %-8s %-10s %8lld %7llds %12lld %lld\n", name, (const char *)sqlite3_column_text(q, 1),
			       pw ? pw->pw_name : ownbuf, (long long)sqlite3_column_int64(q, 3),
			       (long long)(now - sqlite3_column_int64(q, 4)), (long long)(size < 0 ? 0 : size),
			       (long long)sqlite3_column_int64(q, 7));
	}
	sqlite3_finalize(q);
	if (json)
		dp_print_json(arr);
	dp_cli_close(&cli);
	return 0;
}
