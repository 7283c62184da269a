/* `doppel snapshots [--json]`: list snapshots with their age; those older
 * than sync.every are marked stale. */
#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/context.h"

static void age(char *buf, size_t n, int64_t secs)
{
	if (secs < 120)
		snprintf(buf, n, "%llds", (long long)secs);
	else if (secs < 7200)
		snprintf(buf, n, "%lldm", (long long)secs / 60);
	else if (secs < 172800)
		snprintf(buf, n, "%lldh", (long long)secs / 3600);
	else
		snprintf(buf, n, "%lldd", (long long)secs / 86400);
}

int cmd_snapshots(int argc, char **argv, dp_error **err)
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
			     "SELECT id, created, files, bytes, (SELECT count(*) FROM sandboxes WHERE snapshot = s.id)"
			     " FROM snapshots s ORDER BY id",
			     &q, err) < 0) {
		dp_cli_close(&cli);
		return -1;
	}
	if (json)
		arr = json_array();
	else
		printf("%-8s %-8s %10s %14s %9s %s\n", "ID", "AGE", "FILES", "BYTES", "SANDBOXES", "");
	while (sqlite3_step(q) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(q, 0), created = sqlite3_column_int64(q, 1);
		bool stale = cli.spec->sync_every_s && (uint64_t)(now - created) > cli.spec->sync_every_s;
		char a[32];
		age(a, sizeof(a), now - created);
		if (json)
			json_array_append_new(arr, json_pack("{sI sI sI sI sI sb}", "id", (json_int_t)id, "created",
							     (json_int_t)created, "files",
							     (json_int_t)sqlite3_column_int64(q, 2), "bytes",
							     (json_int_t)sqlite3_column_int64(q, 3), "sandboxes",
							     (json_int_t)sqlite3_column_int64(q, 4), "stale", stale));
		else
			printf("%-8lld %-8s %10lld %14lld %9lld %s\n", (long long)id, a,
			       (long long)sqlite3_column_int64(q, 2), (long long)sqlite3_column_int64(q, 3),
			       (long long)sqlite3_column_int64(q, 4), stale ? "stale: older than sync.every" : "");
	}
	sqlite3_finalize(q);
	if (json)
		dp_print_json(arr);
	dp_cli_close(&cli);
	return 0;
}
