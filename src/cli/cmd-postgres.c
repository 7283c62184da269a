/* `doppel postgres status|start|stop [--json]`: plumbing for the store's
 * sandbox PostgreSQL cluster (data/pgcluster.h). Other commands start it
 * on demand and leave it running; stop ends it (tests, upgrades, before
 * removing a store). Needs no doppel.yaml: the store is $DOPPEL_HOME or the
 * default. Runs inside the ops frame (the policy's tierless "postgres"
 * action, checked and recorded). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "data/pgcluster.h"
#include "store/store.h"

static int status(const char *root, bool json, dp_error **err)
{
	bool exists = dp_pgc_exists(root), running = exists && dp_pgc_running(root);
	json_t *dbs = json_array();
	char sock[4096];

	snprintf(sock, sizeof(sock), "%s/pg/run", root);
	if (running) {
		dp_pgc c;
		PGconn *conn;
		PGresult *res;
		if (dp_pgc_open(root, &c, err) < 0)
			goto fail;
		conn = dp_pgc_connect(&c, "postgres", err);
		dp_pgc_clear(&c);
		if (conn == NULL)
			goto fail;
		res = dp_pgc_query(conn,
				   "SELECT datname, coalesce(shobj_description(oid, 'pg_database'), ''),"
				   " pg_database_size(oid), datistemplate FROM pg_database"
				   " WHERE datname LIKE 'doppel\\_%' ORDER BY datname",
				   0, NULL, err);
		sym_PQfinish(conn);
		if (res == NULL)
			goto fail;
		for (int i = 0; i < sym_PQntuples(res); i++)
			json_array_append_new(dbs, json_pack("{s:s, s:s, s:I, s:b}", "name", sym_PQgetvalue(res, i, 0), "comment",
							     sym_PQgetvalue(res, i, 1), "bytes",
							     (json_int_t)strtoll(sym_PQgetvalue(res, i, 2), NULL, 10),
							     "template", sym_PQgetvalue(res, i, 3)[0] == 't'));
		sym_PQclear(res);
	}
	if (json) {
		dp_print_json(json_pack("{s:s, s:b, s:b, s:s, s:i, s:o}", "state",
					running ? "running" : exists ? "stopped" : "none", "exists", exists, "running",
					running, "socket_dir", sock, "port", DP_PGC_PORT, "databases", dbs));
		return 0;
	}
	printf("sandbox PostgreSQL cluster: %s\n", running ? "running" : exists ? "stopped" : "not created yet");
	if (exists)
		printf("socket: %s/.s.PGSQL.%d\n", sock, DP_PGC_PORT);
	for (size_t i = 0; i < json_array_size(dbs); i++) {
		json_t *d = json_array_get(dbs, i);
		printf("  %-40s %8lld kB  %s\n", json_string_value(json_object_get(d, "name")),
		       (long long)json_integer_value(json_object_get(d, "bytes")) / 1024,
		       json_string_value(json_object_get(d, "comment")));
	}
	json_decref(dbs);
	return 0;
fail:
	json_decref(dbs);
	return -1;
}

int cmd_postgres(int argc, char **argv, dp_error **err)
{
	bool json = false;
	const dp_cli_opt opts[] = { { "--json", &json, NULL }, { NULL, NULL, NULL } };
	const char *config = NULL, *pos[1] = { NULL };
	dp_ops_guard g;
	dp_cli cli;
	int r = -1;

	if (dp_cli_parse(argc, argv, opts, &config, pos, 1, 1, "status|start|stop [--json]", err) < 0)
		return -1;
	if (strcmp(pos[0], "status") != 0 && strcmp(pos[0], "start") != 0 && strcmp(pos[0], "stop") != 0)
		return dp_usage(err, "postgres: expected status, start or stop, got '%s'", pos[0]);
	/* the store (its directories, locks/, come with opening it) and its policy */
	if (dp_cli_open_store(&cli, err) < 0)
		return -1;
	if (dp_ops_begin(&cli.ops, &cli.actor, DP_ACT_POSTGRES, NULL, json_pack("{s:s}", "verb", pos[0]), &g, err) < 0) {
		dp_cli_close(&cli);
		return -1;
	}
	if (strcmp(pos[0], "status") == 0) {
		r = status(cli.store->root, json, err);
	} else if (strcmp(pos[0], "start") == 0) {
		dp_pgc c;
		if (dp_pgc_open(cli.store->root, &c, err) == 0) {
			dp_pgc_clear(&c);
			r = 0;
		}
	} else {
		r = dp_pgc_stop(cli.store->root, err);
	}
	r = dp_ops_end(&g, r, err);
	dp_cli_close(&cli);
	return r;
}
