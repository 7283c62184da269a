/* doppel.yaml loading: good files load with their values; every kind of bad
 * input is refused with file:line:col, the key and what was expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "spec/spec.h"

static char path[64];

static dp_spec *load(const char *text, dp_error **err)
{
	FILE *f;
	dp_spec *s = NULL;
	int fd;

	strcpy(path, "/tmp/doppel-spec-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	if (dp_spec_load(path, &s, err) < 0)
		s = NULL;
	unlink(path);
	return s;
}

static void expect_error(const char *text, const char *needle)
{
	dp_error *err = NULL;
	dp_spec *s = load(text, &err);
	assert_null(s);
	assert_non_null(err);
	if (strstr(err->msg, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err->msg, needle);
	assert_int_equal(err->status, DP_EXIT_USAGE);
	assert_non_null(strstr(err->msg, path));
	dp_error_free(&err);
}

static void full_file_loads(void **state)
{
	dp_error *err = NULL;
	dp_spec *s = load("version: 1\n"
			  "production:\n"
			  "  root: /srv/shop\n"
			  "  exclude: [logs/**, \"*.tmp\"]\n"
			  "  secrets: {API_KEY: sk_test}\n"
			  "tiers:\n"
			  "  dev: {memory: 1G, pids: 512, cpus: 0.5, network: none, data: subset}\n"
			  "sync: {every: 7d, keep: 4}\n",
			  &err);
	(void)state;
	assert_null(err);
	assert_non_null(s);
	assert_string_equal(s->root, "/srv/shop");
	assert_int_equal(s->n_exclude, 2);
	assert_string_equal(s->exclude[0], "logs/**");
	assert_int_equal(s->n_secrets, 1);
	assert_string_equal(s->secrets[0].value, "sk_test");
	assert_int_equal(s->n_tiers, 1);
	assert_int_equal(s->tiers[0].mem_bytes, 1ull << 30);
	assert_int_equal(s->tiers[0].pids, 512);
	assert_int_equal(s->tiers[0].millicpus, 500);
	assert_int_equal(s->tiers[0].network, DP_TIER_NET_NONE);
	assert_int_equal(s->tiers[0].data, DP_TIER_DATA_SUBSET);
	assert_int_equal(s->sync_every_s, 7 * 86400);
	assert_int_equal(s->sync_keep, 4);
	dp_spec_free(s);
}

static void default_tiers(void **state)
{
	dp_error *err = NULL;
	dp_spec *s = load("version: 1\nproduction: {root: /srv/x}\n", &err);
	(void)state;
	assert_non_null(s);
	assert_int_equal(s->n_tiers, 3);
	assert_non_null(dp_spec_tier(s, "dev"));
	assert_non_null(dp_spec_tier(s, "qa"));
	assert_non_null(dp_spec_tier(s, "staging"));
	assert_null(dp_spec_tier(s, "prod"));
	dp_spec_free(s);
}

static void bad_inputs(void **state)
{
	(void)state;
	expect_error("version: 1\nproduction: {root: /srv/x}\ntiers:\n  qa: {memroy: 2G}\n", ":4:8: tiers.qa: unknown key 'memroy'; did you mean 'memory'?");
	expect_error("version: 1\nproduction: {root: /srv/x}\ntiers: {dev: {memory: 12Q}}\n", "tiers.dev.memory: expected a size");
	expect_error("version: 1\nproduction: {root: /srv/x}\nsync: {every: 7x}\n", "sync.every: expected a duration");
	expect_error("version: 1\nproduction: {exclude: [a]}\n", "production.root: missing");
	expect_error("version: 1\nproduction: {root: srv/x}\n", "production.root: expected an absolute path");
	expect_error("version: 1\nproduction: {root: /srv/../etc}\n", "'..'");
	expect_error("version: 1\nproduction: {root: /}\n", "whole host");
	expect_error("version: 1\nproduction: {root: /srv/x\n", "not valid YAML");
	expect_error("version: 2\nproduction: {root: /srv/x}\n", "version: expected 1");
	expect_error("production: {root: /srv/x}\n", "version: missing");
	expect_error("version: 1\nproduction: {root: /srv/x}\ntiers: {dev: 3}\n", "tiers.dev: expected a mapping");
	expect_error("version: 1\nproduction: {root: /srv/x}\nsynthetic: {}\n", "not supported by this version");
	expect_error("version: 1\nproduction: {root: /srv/x}\nmasking: {rules: {a.b.c: email}}\n",
		     "masking.rules.a.b.c: no database named 'a'");
	expect_error("version: 1\nproduction: {root: /srv/x, databases: [{name: m, sqlite: x.db}]}\n"
		     "masking: {rules: {m.t.c: {partial: {keep_first: x}}}}\n",
		     "masking.rules.m.t.c.partial.keep_first: ");
	expect_error("version: 1\nproduction: {root: /srv/x, databases: [{name: m, sqlite: x.db}]}\n"
		     "masking: {rules: {m.t.c: {date: {days: 0}}}}\n",
		     "masking.rules.m.t.c.date.days");
	expect_error("version: 1\nproduction: {root: /srv/x, databases: [{name: m, sqlite: x.db}]}\n"
		     "masking: {rules: {m.t.c: {email: 3}}}\n",
		     "email takes no options");
	expect_error("version: 1\nproduction: {root: /srv/x, databases: [{name: m, sqlite: x.db}]}\n"
		     "masking: {rules: {m.t.c: constant}}\n",
		     "constant needs a value");
	expect_error("version: 1\nproduction: {root: /srv/x, databases: [{name: m, sqlite: x.db}]}\n"
		     "masking: {rules: {m.t.c: email, m.t.c: name}}\n",
		     "");
	expect_error("version: 1\nproduction: {root: /srv/x, databases: [{name: m, sqlite: x.db}]}\n"
		     "subset: {dev: {m.t: \"id > 1; DROP TABLE t\"}}\n",
		     "without ';'");
	expect_error("version: 1\nproduction: {root: /srv/x, databases: [{name: m, sqlite: x.db}]}\n"
		     "subset: {prod: {m.t: \"id > 1\"}}\n",
		     "no tier named 'prod'");
	expect_error("version: 1\nproduction: {root: /srv/x, exclude: [../x]}\n", "without '..'");
	expect_error("version: 1\nproduction: {root: /srv/x}\nfoo: 1\n", "unknown key 'foo'");
	expect_error("version: 1\nproduction: {root: /srv/x}\ntiers: {dev: {network: wifi}}\n", "expected loopback, none or endpoints");
	expect_error("version: 1\nproduction: {root: /srv/x}\nsync: {keep: 0}\n", "sync.keep");
}

static void masking_loads(void **state)
{
	dp_error *err = NULL;
	dp_spec *s = load("version: 1\n"
			  "production:\n"
			  "  root: /srv/shop\n"
			  "  databases: [{name: main, sqlite: data/shop.db}]\n"
			  "masking:\n"
			  "  strict: false\n"
			  "  rules:\n"
			  "    main.customers.email: email\n"
			  "    main.customers.name: {name: first}\n"
			  "    main.customers.phone: {partial: {keep_last: 2, keep_first: 1}}\n"
			  "    main.customers.dob: {date: 90}\n"
			  "    main.customers.salary: {number: {percent: 2.5}}\n"
			  "    main.customers.note: {constant: \"\"}\n"
			  "    main.customers.login: {template: \"user-{id}@example.test\"}\n"
			  "  allow: [main.products.name]\n"
			  "subset:\n"
			  "  dev: {main.customers: \"id % 10 = 0\"}\n",
			  &err);
	const dp_mask_rule *r;

	(void)state;
	if (s == NULL)
		fail_msg("%s", err->msg);
	assert_false(s->mask_strict);
	assert_int_equal(s->n_rules, 7);
	r = dp_spec_mask_rule(s, "main", "CUSTOMERS", "Email");
	assert_non_null(r);
	assert_int_equal(r->kind, DP_MASK_EMAIL);
	assert_int_equal(dp_spec_mask_rule(s, "main", "customers", "name")->part, DP_NAME_FIRST);
	r = dp_spec_mask_rule(s, "main", "customers", "phone");
	assert_int_equal(r->keep_last, 2);
	assert_int_equal(r->keep_first, 1);
	assert_int_equal(dp_spec_mask_rule(s, "main", "customers", "dob")->days, 90);
	assert_true(dp_spec_mask_rule(s, "main", "customers", "salary")->percent == 2.5);
	assert_string_equal(dp_spec_mask_rule(s, "main", "customers", "note")->text, "");
	assert_string_equal(dp_spec_mask_rule(s, "main", "customers", "login")->text, "user-{id}@example.test");
	assert_null(dp_spec_mask_rule(s, "main", "customers", "city"));
	assert_true(dp_spec_mask_allowed(s, "main", "products", "name"));
	assert_false(dp_spec_mask_allowed(s, "main", "products", "price"));
	assert_int_equal(s->n_subsets, 1);
	assert_string_equal(s->subsets[0].where, "id % 10 = 0");
	assert_string_equal(dp_mask_kind_name(DP_MASK_POSTAL_CODE), "postal_code");
	dp_spec_free(s);
}

static void missing_file(void **state)
{
	dp_error *err = NULL;
	dp_spec *s = NULL;
	(void)state;
	assert_int_equal(dp_spec_load("/nonexistent/doppel.yaml", &s, &err), -1);
	assert_non_null(strstr(err->msg, "doppel init"));
	dp_error_free(&err);
}

static void durations(void **state)
{
	uint64_t s = 0;
	dp_error *err = NULL;
	(void)state;
	assert_int_equal(dp_parse_duration("d", "30m", &s, &err), 0);
	assert_int_equal(s, 1800);
	assert_int_equal(dp_parse_duration("d", "2w", &s, &err), 0);
	assert_int_equal(s, 14 * 86400);
	assert_int_equal(dp_parse_duration("d", "0d", &s, &err), -1);
	dp_error_free(&err);
	assert_int_equal(dp_parse_duration("d", "99999999d", &s, &err), -1);
	dp_error_free(&err);
}

/* The mappings directories the endpoint tests name: relative ones resolve
 * against the doppel.yaml's directory (/tmp for these). */
static char mocks_a[64], mocks_b[64];

static int make_mocks(void **state)
{
	(void)state;
	snprintf(mocks_a, sizeof(mocks_a), "/tmp/doppel-spec-mocks-a-%d", (int)getpid());
	snprintf(mocks_b, sizeof(mocks_b), "/tmp/doppel-spec-mocks-b-%d", (int)getpid());
	return mkdir(mocks_a, 0755) < 0 || mkdir(mocks_b, 0755) < 0;
}

static int remove_mocks(void **state)
{
	(void)state;
	rmdir(mocks_a);
	rmdir(mocks_b);
	return 0;
}

static void endpoints_load(void **state)
{
	char text[1024];
	dp_error *err = NULL;
	dp_spec *s;
	const dp_endpoint_spec **eps = NULL;
	size_t n = 0;
	(void)state;

	snprintf(text, sizeof(text),
		 "version: 1\n"
		 "production: {root: /srv/x}\n"
		 "endpoints:\n"
		 "  API.Social.Example: {mappings: %s}\n"
		 "  api.payments.example: {mappings: %s}\n"
		 "tiers:\n"
		 "  dev: {network: endpoints, endpoints: {api.payments.example: {mappings: %s}}}\n"
		 "  qa: {network: endpoints, endpoints: {api.social.example: none}}\n"
		 "  staging: {network: endpoints}\n",
		 strrchr(mocks_a, '/') + 1, mocks_a, mocks_b);
	s = load(text, &err);
	if (s == NULL)
		fail_msg("%s", err->msg);
	assert_int_equal(s->n_endpoints, 2);
	assert_string_equal(s->endpoints[0].host, "api.social.example");
	assert_string_equal(s->endpoints[0].mappings, mocks_a); /* relative, resolved */
	assert_int_equal(s->endpoints[0].line, 4);

	assert_int_equal(dp_spec_tier_endpoints(s, dp_spec_tier(s, "dev"), &eps, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(eps[0]->host, "api.payments.example"); /* sorted */
	assert_string_equal(eps[0]->mappings, mocks_b);              /* the tier's */
	assert_string_equal(eps[1]->host, "api.social.example");
	free(eps);
	assert_int_equal(dp_spec_tier_endpoints(s, dp_spec_tier(s, "qa"), &eps, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(eps[0]->host, "api.payments.example");
	assert_string_equal(eps[0]->mappings, mocks_a);
	free(eps);
	assert_int_equal(dp_spec_tier_endpoints(s, dp_spec_tier(s, "staging"), &eps, &n, &err), 0);
	assert_int_equal(n, 2);
	free(eps);
	dp_spec_free(s);
}

static void endpoints_bad(void **state)
{
	char text[1024];
	static const struct {
		const char *yaml, *needle;
	} cases[] = {
		{ "endpoints: [a]\n", "endpoints: expected a mapping {HOST: {mappings: DIR}}" },
		{ "endpoints: {127.0.0.1: {mappings: @}}\n", ":3:13: endpoints.127.0.0.1: expected a DNS host name" },
		{ "endpoints: {localhost: {mappings: @}}\n", "endpoints.localhost: expected a DNS host name" },
		{ "endpoints: {api_x.example: {mappings: @}}\n", "expected a DNS host name" },
		{ "endpoints: {-a.example: {mappings: @}}\n", "expected a DNS host name" },
		{ "endpoints: {a..example: {mappings: @}}\n", "expected a DNS host name" },
		{ "endpoints: {a.example: {mapings: @}}\n", "endpoints.a.example: unknown key 'mapings'; did you mean 'mappings'?" },
		{ "endpoints: {a.example: {}}\n", "endpoints.a.example: missing 'mappings: DIR'" },
		{ "endpoints: {a.example: none}\n", "endpoints.a.example: expected {mappings: DIR}" },
		{ "endpoints: {a.example: {mappings: /nonexistent/mocks}}\n", "endpoints.a.example.mappings: mappings directory '/nonexistent/mocks'" },
		{ "endpoints: {a.example: {mappings: /etc/hostname}}\n", "is not a directory" },
		{ "endpoints: {a.example: {mappings: @}, A.example: {mappings: @}}\n", "endpoints.a.example: host given twice" },
		{ "endpoints: {a.example: {mappings: @}}\ntiers: {dev: {endpoints: {b.example: none}}}\n",
		  ":4: tiers.dev.endpoints.b.example: none removes a host of the top-level endpoints" },
		{ "tiers: {dev: {endpoints: {a.example: {mappings: }}}}\n", "tiers.dev.endpoints.a.example.mappings: expected a value" },
		{ "tiers: {dev: {endpoints: 3}}\n", "tiers.dev.endpoints: expected a mapping" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* '@' stands for an existing mappings directory */
		size_t n = (size_t)snprintf(text, sizeof(text), "version: 1\nproduction: {root: /srv/x}\n");
		for (const char *y = cases[i].yaml; *y && n + sizeof(mocks_a) < sizeof(text); y++)
			if (*y == '@')
				n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", mocks_a);
			else
				text[n++] = *y;
		text[n] = '\0';
		expect_error(text, cases[i].needle);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_file_loads), cmocka_unit_test(default_tiers), cmocka_unit_test(bad_inputs),
		cmocka_unit_test(missing_file), cmocka_unit_test(masking_loads),    cmocka_unit_test(durations),
		cmocka_unit_test(endpoints_load), cmocka_unit_test(endpoints_bad),
	};
	return cmocka_run_group_tests(tests, make_mocks, remove_mocks);
}
