/* The service layer's actions on a sandbox's API stand-ins (`doppel
 * endpoints NAME [journal [HOST] | scenario HOST SCENARIO STATE]`, and
 * doppeld's /v1/sandboxes/NAME/endpoints routes): what they hold, the calls
 * the sandbox made to them, and forcing a scenario's state. Reading and
 * changing them is the policy's "endpoints" action on the sandbox, checked
 * and recorded by the ops frame (ops.c) around the whole action.
 * `doppel endpoints serve`, the standalone server, is no sandbox action
 * (cli/cmd-endpoints-serve.c).
 *
 * While the sandbox runs, its stand-ins are asked through their admin socket
 * (WireMock's admin API, over libcurl), so a change takes effect at once.
 * Otherwise the saved state is read (files are replaced whole, so as they
 * are, without a lock a starting run would trip over) or written under the
 * sandbox's lock, so no run starts in between and the next one starts from
 * it. */
#include "ops/ops.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "endpoints/mapping.h"
#include "endpoints/server.h"
#include "sandbox/endpoints.h"
#include "sandbox/sandbox.h"
#include "util/cleanup.h"
#include "util/curlbuf.h"
#include "util/dl-curl.h"

#define ADMIN_REPLY_MAX (64u << 20)
#define ADMIN_TIMEOUT_S 10L

typedef struct ep_ctx {
	dp_ops *ops;
	dp_sandbox sb;
	const dp_endpoint_spec **eps;
	size_t n;
	bool live;             /* its stand-ins answer on the admin socket */
	int lock;              /* held while the saved state is written */
	int sandbox_dir;       /* for a long socket path */
	char sock[108];
	char state_dir[4096];
} ep_ctx;

/* --- the running server's admin API ----------------------------------- */

/* One admin call; a JSON reply goes to *out when out is not NULL. The Host
 * header picks the stand-in. */
static int admin(ep_ctx *c, const char *host, const char *method, const char *path, const char *body, json_t **out,
		 dp_error **err)
{
	CURL *h;
	struct curl_slist *hdr = NULL;
	dp_curlbuf rep = { .max = ADMIN_REPLY_MAX };
	char url[512], cerr[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;
	int r = -1;

	if (dp_dl_curl(err) < 0)
		return -1;
	h = sym_curl_easy_init();
	if (h == NULL)
		return dp_fail(err, ENOMEM, "endpoints: libcurl");
	snprintf(url, sizeof(url), "http://%s%s", host, path);
	hdr = sym_curl_slist_append(hdr, "Content-Type: application/json");
	sym_curl_easy_setopt(h, CURLOPT_URL, url);
	sym_curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->sock);
	sym_curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	sym_curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	sym_curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, dp_curlbuf_write);
	sym_curl_easy_setopt(h, CURLOPT_WRITEDATA, &rep);
	sym_curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	sym_curl_easy_setopt(h, CURLOPT_TIMEOUT, ADMIN_TIMEOUT_S);
	sym_curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	sym_curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
#else
	sym_curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
	if (body)
		sym_curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	rc = sym_curl_easy_perform(h);
	if (rc != CURLE_OK) {
		dp_fail(err, 0, "sandbox %s: its stand-ins do not answer on %s: %s", c->sb.name, c->sock,
			cerr[0] ? cerr : sym_curl_easy_strerror(rc));
		goto out;
	}
	sym_curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status == 404 && strncmp(path, "/__admin/scenarios/", 19) == 0) {
		dp_usage(err, "%s: %s", host, rep.data && rep.data[0] ? rep.data : "no such scenario");
		goto out;
	}
	if (status >= 400) {
		dp_fail(err, 0, "%s %s%s: HTTP %ld: %.300s", method, host, path, status, rep.data ? rep.data : "");
		goto out;
	}
	if (out) {
		json_error_t je;
		*out = rep.data ? json_loads(rep.data, 0, &je) : NULL;
		if (*out == NULL) {
			dp_fail(err, 0, "%s %s%s: the answer is not JSON", method, host, path);
			goto out;
		}
	}
	r = 0;
out:
	sym_curl_slist_free_all(hdr);
	sym_curl_easy_cleanup(h);
	free(rep.data);
	return r;
}

/* --- what a stand-in holds, live or saved ------------------------------ */

/* Its mappings as WireMock JSON objects (a new array). */
static int host_mappings(ep_ctx *c, size_t i, json_t **out, dp_error **err)
{
	ep_mapping **v = NULL;
	size_t n = 0;

	if (c->live) {
		json_t *j = NULL, *arr;
		if (admin(c, c->eps[i]->host, "GET", "/__admin/mappings", NULL, &j, err) < 0)
			return -1;
		arr = json_object_get(j, "mappings");
		*out = json_is_array(arr) ? json_incref(arr) : json_array();
		json_decref(j);
		return 0;
	}
	if (ep_mappings_load_dir(c->eps[i]->mappings, &v, &n, err) < 0)
		return dp_wrap(err, "endpoints.%s", c->eps[i]->host);
	*out = json_array();
	for (size_t k = 0; k < n; k++)
		json_array_append(*out, v[k]->json);
	ep_mappings_free(v, n);
	return 0;
}

static int host_state(ep_ctx *c, size_t i, json_t **out, dp_error **err)
{
	return ep_state_load(c->state_dir, c->eps[i]->host, out, err);
}

/* {SCENARIO: state}: every scenario the mappings name, in its current state. */
static int host_scenarios(ep_ctx *c, size_t i, json_t *mappings, json_t **out, dp_error **err)
{
	json_t *saved = NULL, *m;
	size_t k;

	*out = json_object();
	json_array_foreach(mappings, k, m) {
		const char *name = json_string_value(json_object_get(m, "scenarioName"));
		if (name)
			json_object_set_new(*out, name, json_string("Started"));
	}
	if (c->live) {
		json_t *j = NULL, *s;
		if (admin(c, c->eps[i]->host, "GET", "/__admin/scenarios", NULL, &j, err) < 0)
			return -1;
		json_array_foreach(json_object_get(j, "scenarios"), k, s) {
			const char *name = json_string_value(json_object_get(s, "name"));
			const char *state = json_string_value(json_object_get(s, "state"));
			if (name && state)
				json_object_set_new(*out, name, json_string(state));
		}
		json_decref(j);
		return 0;
	}
	if (host_state(c, i, &saved, err) < 0)
		return -1;
	{
		const char *name;
		json_t *state;
		json_object_foreach(json_object_get(saved, "scenarios"), name, state)
			if (json_is_string(state) && json_object_get(*out, name))
				json_object_set(*out, name, state);
	}
	json_decref(saved);
	return 0;
}

static const char *mapping_url(json_t *m)
{
	static const char *const keys[] = { "url", "urlPath", "urlPattern", "urlPathPattern", NULL };
	json_t *req = json_object_get(m, "request");

	for (const char *const *k = keys; *k; k++)
		if (json_is_string(json_object_get(req, *k)))
			return json_string_value(json_object_get(req, *k));
	return "(any)";
}

static json_t *mapping_summary(json_t *m)
{
	json_t *resp = json_object_get(m, "response");
	const char *method = json_string_value(json_object_get(json_object_get(m, "request"), "method"));
	json_t *status = json_object_get(resp, "status");
	json_t *s = json_pack("{s:s, s:s, s:s?, s:s?}", "method", method ? method : "ANY", "url", mapping_url(m), "name",
			      json_string_value(json_object_get(m, "name")), "id",
			      json_string_value(json_object_get(m, "id")));

	if (json_is_string(json_object_get(resp, "fault")))
		json_object_set(s, "fault", json_object_get(resp, "fault"));
	json_object_set_new(s, "status", json_integer(json_is_integer(status) ? json_integer_value(status) : 200));
	if (json_is_string(json_object_get(m, "scenarioName")))
		json_object_set(s, "scenario", json_object_get(m, "scenarioName"));
	return s;
}

static void addr_text(size_t i, char *buf, size_t n)
{
	uint32_t a = dp_sandbox_endpoint_addr(i);
	snprintf(buf, n, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/* --- the three views ---------------------------------------------------- */

static int list_json(ep_ctx *c, json_t **out, dp_error **err)
{
	json_t *all = json_array();

	for (size_t i = 0; i < c->n; i++) {
		json_t *maps = NULL, *scen = NULL, *sums = json_array(), *m;
		char addr[16];
		size_t k;
		if (host_mappings(c, i, &maps, err) < 0 || host_scenarios(c, i, maps, &scen, err) < 0) {
			json_decref(maps);
			json_decref(sums);
			json_decref(all);
			return -1;
		}
		json_array_foreach(maps, k, m)
			json_array_append_new(sums, mapping_summary(m));
		addr_text(i, addr, sizeof(addr));
		json_array_append_new(all, json_pack("{s:s, s:s, s:s, s:I, s:o, s:o}", "host", c->eps[i]->host,
						     "address", addr, "mappings_dir", c->eps[i]->mappings, "count",
						     (json_int_t)json_array_size(maps), "mappings", sums, "scenarios",
						     scen));
		json_decref(maps);
	}
	*out = json_pack("{s:s, s:s, s:b, s:o}", "sandbox", c->sb.name, "tier", c->sb.tier, "running", c->live,
			 "endpoints", all);
	return *out ? 0 : dp_fail(err, ENOMEM, "endpoints");
}

static json_t *journal_row(const char *host, json_t *e)
{
	json_t *req = json_object_get(e, "request"), *stub = json_object_get(e, "stubMapping");
	const char *time_s = json_string_value(json_object_get(req, "loggedDateString"));
	const char *mapping = json_string_value(json_object_get(stub, "name"));
	bool matched = json_is_true(json_object_get(e, "wasMatched"));
	json_t *status = json_object_get(json_object_get(e, "responseDefinition"), "status");

	if (mapping == NULL)
		mapping = json_string_value(json_object_get(stub, "id"));
	return json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:b, s:s?}", "time", time_s ? time_s : "", "logged_ms",
			 json_integer_value(json_object_get(req, "loggedDate")), "host", host, "method",
			 json_string_value(json_object_get(req, "method")) ? json_string_value(json_object_get(req, "method"))
									   : "?",
			 "path", json_string_value(json_object_get(req, "url")) ? json_string_value(json_object_get(req, "url"))
									      : "?",
			 "status", json_integer_value(status), "matched", matched, "mapping", matched ? mapping : NULL);
}

static int cmp_rows(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "logged_ms"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "logged_ms"));
	json_int_t ix = json_integer_value(json_object_get(*(json_t *const *)a, "seq"));
	json_int_t iy = json_integer_value(json_object_get(*(json_t *const *)b, "seq"));

	if (x != y)
		return x < y ? -1 : 1;
	return ix < iy ? -1 : ix > iy;
}

static int journal_json(ep_ctx *c, const char *only, json_t **out_json, dp_error **err)
{
	json_t *rows = json_array(), *out;
	json_t **v;
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++) {
		json_t *j = NULL, *reqs, *e;
		size_t k, count;
		if (only && strcmp(only, c->eps[i]->host) != 0)
			continue;
		if ((c->live ? admin(c, c->eps[i]->host, "GET", "/__admin/requests", NULL, &j, err)
				 : host_state(c, i, &j, err)) < 0) {
			json_decref(rows);
			return -1;
		}
		reqs = json_object_get(j, "requests");
		count = json_array_size(reqs);
		/* WireMock lists newest first; keep that order as a tie-break */
		json_array_foreach(reqs, k, e) {
			json_t *row = journal_row(c->eps[i]->host, e);
			json_object_set_new(row, "seq", json_integer((json_int_t)(count - k)));
			json_array_append_new(rows, row);
		}
		json_decref(j);
	}
	n = json_array_size(rows);
	v = calloc(n ? n : 1, sizeof(*v));
	if (v == NULL) {
		json_decref(rows);
		return dp_fail(err, ENOMEM, "journal");
	}
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(rows, i);
	qsort(v, n, sizeof(*v), cmp_rows);
	out = json_array();
	for (size_t i = 0; i < n; i++) {
		json_object_del(v[i], "seq");
		json_array_append(out, v[i]);
	}
	free(v);
	json_decref(rows);
	*out_json = json_pack("{s:s, s:b, s:o}", "sandbox", c->sb.name, "running", c->live, "requests", out);
	return *out_json ? 0 : dp_fail(err, ENOMEM, "journal");
}

/* The states a scenario can be in: Started and every state its mappings
 * require or move to. */
static bool scenario_knows(json_t *mappings, const char *scenario, const char *state, bool *exists)
{
	json_t *m;
	size_t k;
	bool ok = strcmp(state, "Started") == 0;

	*exists = false;
	json_array_foreach(mappings, k, m) {
		const char *name = json_string_value(json_object_get(m, "scenarioName"));
		const char *req = json_string_value(json_object_get(m, "requiredScenarioState"));
		const char *next = json_string_value(json_object_get(m, "newScenarioState"));
		if (name == NULL || strcmp(name, scenario) != 0)
			continue;
		*exists = true;
		ok |= (req && strcmp(req, state) == 0) || (next && strcmp(next, state) == 0);
	}
	return ok;
}

/* WireMock's PUT /__admin/scenarios/NAME/state {"state": STATE}. */
static int put_scenario(ep_ctx *c, size_t i, const char *scenario, const char *state, dp_error **err)
{
	cleanup_free char *path = NULL;
	char *esc, *text;
	json_t *body;
	int r;

	if (dp_dl_curl(err) < 0)
		return -1;
	esc = sym_curl_easy_escape(NULL, scenario, 0);
	body = json_pack("{s:s}", "state", state);
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (esc == NULL || text == NULL || asprintf(&path, "/__admin/scenarios/%s/state", esc) < 0) {
		sym_curl_free(esc);
		free(text);
		return dp_fail(err, ENOMEM, "scenario");
	}
	sym_curl_free(esc);
	r = admin(c, c->eps[i]->host, "PUT", path, text, NULL, err);
	free(text);
	return r;
}

static int set_scenario(ep_ctx *c, size_t i, const char *scenario, const char *state, dp_error **err)
{
	json_t *maps = NULL, *saved = NULL, *scen;
	bool exists;
	int r = -1;

	/* the same rule live and saved, whatever the server would accept */
	if (host_mappings(c, i, &maps, err) < 0)
		return -1;
	if (!scenario_knows(maps, scenario, state, &exists)) {
		if (!exists)
			dp_usage(err, "%s: no mapping names scenario '%s'; see 'doppel endpoints %s'", c->eps[i]->host,
				 scenario, c->sb.name);
		else
			dp_usage(err, "%s: scenario '%s' has no state '%s' (Started, or a requiredScenarioState or "
				 "newScenarioState of its mappings)",
				 c->eps[i]->host, scenario, state);
		goto out;
	}
	if (c->live) {
		r = put_scenario(c, i, scenario, state, err);
		goto out;
	}
	if (mkdir(c->state_dir, 0700) < 0 && errno != EEXIST) {
		dp_fail_errno(err, "create %s", c->state_dir);
		goto out;
	}
	if (host_state(c, i, &saved, err) < 0)
		goto out;
	scen = json_object_get(saved, "scenarios");
	if (!json_is_object(scen)) {
		scen = json_object();
		json_object_set_new(saved, "scenarios", scen);
	}
	json_object_set_new(scen, scenario, json_string(state));
	r = ep_state_save(c->state_dir, c->eps[i]->host, saved, err);
out:
	json_decref(maps);
	json_decref(saved);
	return r;
}

/* Scenario names and states travel in URLs and file contents: printable,
 * no path separators, no '..'. */
static int check_word(const char *what, const char *s, dp_error **err)
{
	size_t n = strlen(s);

	if (n == 0 || n > 200)
		return dp_usage(err, "%s: expected 1 to 200 characters, got '%.40s'", what, s);
	if (strchr(s, '/') || strstr(s, ".."))
		return dp_usage(err, "%s '%s': may not contain '/' or '..'", what, s);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return dp_usage(err, "%s: contains a control character", what);
	return 0;
}

static int find_host(ep_ctx *c, const char *host, size_t *idx, dp_error **err)
{
	char known[512] = "";

	for (size_t i = 0; i < c->n; i++) {
		if (strcasecmp(c->eps[i]->host, host) == 0) {
			*idx = i;
			return 0;
		}
		if (strlen(known) + strlen(c->eps[i]->host) + 3 < sizeof(known)) {
			if (known[0])
				strcat(known, ", ");
			strcat(known, c->eps[i]->host);
		}
	}
	if (c->n == 0)
		return dp_usage(err, "sandbox %s has no stand-ins (tier %s)", c->sb.name, c->sb.tier);
	return dp_usage(err, "sandbox %s has no stand-in for '%s'; it has: %s", c->sb.name, host, known);
}

static bool answers(const ep_ctx *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memcpy(sa.sun_path, c->sock, sizeof(sa.sun_path) < sizeof(c->sock) ? sizeof(sa.sun_path) : sizeof(c->sock));
	return fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

/* Live (the admin socket answers) or saved; a change to the saved state
 * takes the sandbox's lock, which a run holds for its whole length. */
static int attach(ep_ctx *c, const char *name, bool change, dp_error **err)
{
	char rel[192], lk[96];
	dp_error *busy = NULL;

	if (dp_sandbox_get(c->ops->store, name, &c->sb, err) < 0)
		return -1;
	if (dp_sandbox_endpoint_list(c->ops->spec, &c->sb, &c->eps, &c->n, err) < 0)
		return -1;
	dp_sandbox_endpoints_state_dir(name, rel, sizeof(rel));
	snprintf(c->state_dir, sizeof(c->state_dir), "%s/%s", c->ops->store->root, rel);
	if (c->n == 0)
		return 0;
	snprintf(rel, sizeof(rel), "sandboxes/%s", name);
	c->sandbox_dir = openat(c->ops->store->rootfd, rel, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c->sandbox_dir < 0)
		return dp_fail_errno(err, "open %s/%s", c->ops->store->root, rel);
	dp_sandbox_endpoints_socket_addr(c->ops->store->root, name, c->sandbox_dir, c->sock, sizeof(c->sock));
	c->live = answers(c);
	if (c->live || !change)
		goto out;
	snprintf(lk, sizeof(lk), "sandbox-%s", name);
	c->lock = dp_store_lock(c->ops->store, lk, false, &busy);
	dp_error_free(&busy);
	/* held by a run that is still starting (its socket comes in a moment)
	 * or by another short command */
	for (int tries = 0; c->lock < 0 && !c->live && tries < 40; tries++) {
		struct timespec ts = { 0, 50000000 };
		nanosleep(&ts, NULL);
		c->live = answers(c);
		if (!c->live) {
			c->lock = dp_store_lock(c->ops->store, lk, false, &busy);
			dp_error_free(&busy);
		}
	}
	if (c->lock < 0 && !c->live) {
		dp_usage(err, "sandbox %s is busy (another doppel command changes it) and its stand-ins are not "
			      "running; try again",
			 name);
		(*err)->errnum = EBUSY; /* the daemon answers 409 */
		return -1;
	}
out:
	if (c->live) {
		if (dp_dl_curl(err) < 0)
			return -1;
		sym_curl_global_init(CURL_GLOBAL_DEFAULT);
	}
	return 0;
}

enum view { V_LIST, V_JOURNAL, V_SCENARIO };

/* One action in the ops frame: the words are checked first (a bad one is
 * a usage error, before the policy is asked), then the sandbox is attached
 * and the view made. */
static int endpoints_op(dp_ops *o, const dp_actor *a, const char *name, enum view view, const char *host,
			const char *scenario, const char *state, json_t **out, dp_error **err)
{
	static const char *const views[] = { "stand-ins", "journal", "scenario" };
	ep_ctx c = { .ops = o, .lock = -1, .sandbox_dir = -1 };
	dp_ops_guard g;
	size_t idx = 0;
	int r = -1;

	*out = NULL;
	if (view == V_SCENARIO && (host == NULL || scenario == NULL || state == NULL))
		return dp_usage(err, "endpoints %s scenario: expected HOST SCENARIO STATE", name);
	if (view == V_SCENARIO && (check_word("scenario", scenario, err) < 0 || check_word("state", state, err) < 0))
		return -1;
	if (host && check_word("host", host, err) < 0)
		return -1;
	if (dp_ops_begin(o, a, DP_ACT_ENDPOINTS, name,
			 json_pack("{s:s, s:s?, s:s?, s:s?}", "view", views[view], "host", host, "scenario", scenario,
				   "state", state),
			 &g, err) < 0)
		return -1;
	if (attach(&c, name, view == V_SCENARIO, err) < 0)
		goto out;
	if (host && find_host(&c, host, &idx, err) < 0)
		goto out;
	if (view == V_LIST)
		r = list_json(&c, out, err);
	else if (view == V_JOURNAL)
		r = journal_json(&c, host ? c.eps[idx]->host : NULL, out, err);
	else if ((r = set_scenario(&c, idx, scenario, state, err)) == 0) {
		*out = json_pack("{s:s, s:s, s:s, s:s, s:b}", "sandbox", c.sb.name, "host", c.eps[idx]->host, "scenario",
				 scenario, "state", state, "running", c.live);
		if (*out == NULL)
			r = dp_fail(err, ENOMEM, "scenario");
	}
out:
	r = dp_ops_end(&g, r, err);
	if (r < 0) {
		json_decref(*out);
		*out = NULL;
	}
	if (c.lock >= 0)
		close(c.lock);
	if (c.sandbox_dir >= 0)
		close(c.sandbox_dir);
	free(c.eps);
	dp_sandbox_clear(&c.sb);
	return r;
}

int dp_ops_endpoints_list(dp_ops *o, const dp_actor *a, const char *name, json_t **out, dp_error **err)
{
	return endpoints_op(o, a, name, V_LIST, NULL, NULL, NULL, out, err);
}

int dp_ops_endpoints_journal(dp_ops *o, const dp_actor *a, const char *name, const char *host, json_t **out,
			     dp_error **err)
{
	return endpoints_op(o, a, name, V_JOURNAL, host, NULL, NULL, out, err);
}

int dp_ops_endpoints_scenario(dp_ops *o, const dp_actor *a, const char *name, const char *host,
			      const char *scenario, const char *state, json_t **out, dp_error **err)
{
	return endpoints_op(o, a, name, V_SCENARIO, host, scenario, state, out, err);
}
