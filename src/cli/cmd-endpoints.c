/* `doppel endpoints NAME [--json]`, `doppel endpoints NAME journal [HOST]
 * [--json]`, `doppel endpoints NAME scenario HOST SCENARIO STATE`: a
 * sandbox's API stand-ins, the calls it made to them, and forcing a
 * scenario's state (ops/ops-endpoints.c does them, live through the
 * stand-ins' admin socket or on their saved state). `doppel endpoints
 * serve` is the standalone server (cmd-endpoints-serve.c). Local or through
 * doppeld (/v1/sandboxes/NAME/endpoints...), the text is printed from the
 * same JSON. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/remote.h"

#define USAGE "NAME [--json], NAME journal [HOST] [--json] or NAME scenario HOST SCENARIO STATE"

static void print_list(json_t *j)
{
	json_t *all = json_object_get(j, "endpoints");
	bool live = json_is_true(json_object_get(j, "running"));

	if (json_array_size(all) == 0)
		printf("sandbox %s has no stand-ins (tier %s: network is not 'endpoints', or no endpoints are "
		       "configured in doppel.yaml)\n",
		       json_string_value(json_object_get(j, "sandbox")), json_string_value(json_object_get(j, "tier")));
	for (size_t i = 0; i < json_array_size(all); i++) {
		json_t *e = json_array_get(all, i), *m;
		const char *name;
		json_t *state;
		size_t k;
		printf("%s%s  %s  %lld mapping%s  %s%s\n", i ? "\n" : "", json_string_value(json_object_get(e, "host")),
		       json_string_value(json_object_get(e, "address")),
		       (long long)json_integer_value(json_object_get(e, "count")),
		       json_integer_value(json_object_get(e, "count")) == 1 ? "" : "s",
		       json_string_value(json_object_get(e, "mappings_dir")), live ? "  (running)" : "");
		json_array_foreach(json_object_get(e, "mappings"), k, m) {
			const char *fault = json_string_value(json_object_get(m, "fault"));
			const char *mname = json_string_value(json_object_get(m, "name"));
			char status[32];
			if (fault)
				snprintf(status, sizeof(status), "%s", fault);
			else
				snprintf(status, sizeof(status), "%lld",
					 (long long)json_integer_value(json_object_get(m, "status")));
			printf("  %-7s %-40s %-5s %s\n", json_string_value(json_object_get(m, "method")),
			       json_string_value(json_object_get(m, "url")), status,
			       mname ? mname : json_string_value(json_object_get(m, "id")));
		}
		json_object_foreach(json_object_get(e, "scenarios"), name, state)
			printf("  scenario %s: %s\n", name, json_string_value(state));
	}
}

static void print_journal(json_t *j)
{
	json_t *out = json_object_get(j, "requests");

	if (json_array_size(out))
		printf("%-24s  %-24s  %-7s  %-30s  %-6s  %s\n", "TIME", "HOST", "METHOD", "PATH", "STATUS", "MAPPING");
	for (size_t i = 0; i < json_array_size(out); i++) {
		json_t *r = json_array_get(out, i);
		const char *mapping = json_string_value(json_object_get(r, "mapping"));
		printf("%-24s  %-24s  %-7s  %-30s  %-6lld  %s\n", json_string_value(json_object_get(r, "time")),
		       json_string_value(json_object_get(r, "host")), json_string_value(json_object_get(r, "method")),
		       json_string_value(json_object_get(r, "path")),
		       (long long)json_integer_value(json_object_get(r, "status")),
		       json_is_true(json_object_get(r, "matched")) ? (mapping ? mapping : "(matched)") : "unmatched");
	}
}

/* A host name goes into the journal's URL as it is (?host=HOST). */
static int url_word(const char *host, dp_error **err)
{
	for (const char *p = host; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '-' || *p == '_'))
			return dp_usage(err, "host '%.64s': expected a host name (letters, digits, '.', '-', '_')", host);
	return 0;
}

/* The same view through doppeld: GET .../endpoints, GET
 * .../endpoints/journal[?host=HOST], POST .../endpoints/scenario. */
static int remote_view(struct dp_remote *rem, const char *name, const char *verb, const char *host,
		       const char *scenario, const char *state, json_t **out, dp_error **err)
{
	char path[512];
	json_t *body = NULL;
	int r;

	if (verb == NULL)
		snprintf(path, sizeof(path), "/v1/sandboxes/%s/endpoints", name);
	else if (verb[0] == 'j')
		snprintf(path, sizeof(path), "/v1/sandboxes/%s/endpoints/journal%s%s", name, host ? "?host=" : "",
			 host ? host : "");
	else
		snprintf(path, sizeof(path), "/v1/sandboxes/%s/endpoints/scenario", name);
	if (verb && verb[0] == 's') {
		body = json_pack("{s:s, s:s, s:s}", "host", host, "scenario", scenario, "state", state);
		if (body == NULL)
			return dp_fail(err, ENOMEM, "endpoints");
	}
	r = dp_remote_call(rem, body ? "POST" : "GET", path, body, out, err);
	json_decref(body);
	return r;
}

int cmd_endpoints(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *pos[5] = { 0 };
	bool as_json = false;
	dp_cli_opt opts[] = { { "--json", &as_json, NULL }, { NULL, NULL, NULL } };
	const char *verb, *host = NULL;
	struct dp_remote *rem = NULL;
	json_t *j = NULL;
	int r;

	if (argc > 1 && strcmp(argv[1], "serve") == 0)
		return cmd_endpoints_serve(argc - 1, argv + 1, err);
	if (dp_cli_parse(argc, argv, opts, &config, pos, 1, 5, USAGE, err) < 0)
		return -1;
	verb = pos[1];
	if (dp_check_name("sandbox name", pos[0], err) < 0)
		return -1;
	if (verb == NULL) {
		if (pos[2])
			return dp_usage(err, "endpoints: expected %s", USAGE);
	} else if (strcmp(verb, "journal") == 0) {
		if (pos[3])
			return dp_usage(err, "endpoints %s journal: expected at most one HOST", pos[0]);
		host = pos[2];
	} else if (strcmp(verb, "scenario") == 0) {
		if (pos[4] == NULL)
			return dp_usage(err, "endpoints %s scenario: expected HOST SCENARIO STATE", pos[0]);
		if (as_json)
			return dp_usage(err, "endpoints %s scenario: --json is for listings", pos[0]);
		host = pos[2];
	} else {
		return dp_usage(err, "endpoints: unknown '%s'; expected %s", verb, USAGE);
	}
	/* the words themselves are checked by ops, for doppeld's callers too */
	if (dp_cli_remote(&rem, err) < 0)
		return -1;
	if (rem) {
		if (verb && verb[0] == 'j' && host && url_word(host, err) < 0) {
			dp_remote_close(rem);
			return -1;
		}
		r = remote_view(rem, pos[0], verb, host, pos[3], pos[4], &j, err);
		dp_remote_close(rem);
	} else {
		dp_cli cli;
		if (dp_cli_open(config, &cli, err) < 0)
			return -1;
		if (verb == NULL)
			r = dp_ops_endpoints_list(&cli.ops, &cli.actor, pos[0], &j, err);
		else if (verb[0] == 'j')
			r = dp_ops_endpoints_journal(&cli.ops, &cli.actor, pos[0], host, &j, err);
		else
			r = dp_ops_endpoints_scenario(&cli.ops, &cli.actor, pos[0], host, pos[3], pos[4], &j, err);
		dp_cli_close(&cli);
	}
	if (r < 0)
		return -1;
	if (verb && verb[0] == 's')
		printf("%s: scenario %s is now in state %s%s\n", json_string_value(json_object_get(j, "host")),
		       pos[3], pos[4], json_is_true(json_object_get(j, "running")) ? "" : " (from the next run on)");
	else if (as_json)
		dp_print_json(json_incref(j));
	else if (verb == NULL)
		print_list(j);
	else
		print_journal(j);
	json_decref(j);
	return 0;
}
