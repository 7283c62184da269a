/* libFuzzer target for doppeld's request checks (src/daemon/routes.c):
 * route matching on the raw URL, the path-name check, query parsing, the
 * strict JSON body validation of every route, and the run socket's request
 * parser. Built with clang -fsanitize=fuzzer by bench/fuzz-api;
 * run-corpus.c replays tests/fuzz/corpus-api in `meson test`.
 *
 * Input: method \0 url \0 body (missing fields empty). Besides "does not
 * crash", it checks what the handlers rely on: an accepted call's name
 * passes dp_check_name, its body is an object, and a run request that
 * parses survives its own round trip (what the daemon hands the runner is
 * what the runner accepts). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/routes.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz-api: invariant broken: %s\n", what);
		abort();
	}
}

static void run_round_trip(const char *body, size_t len)
{
	dpd_run_req a, b;
	dp_error *err = NULL;
	json_t *j;

	if (dpd_run_parse(body, len, &a, &err) < 0) {
		check(err != NULL && err->msg != NULL, "a refused run request has a message");
		dp_error_free(&err);
		return;
	}
	check(a.argv && a.argv[0], "a run request has a command");
	check(dp_check_name("sandbox", a.sandbox, NULL) == 0, "a run request's sandbox is a name");
	j = dpd_run_to_json(&a);
	check(j != NULL, "a run request converts to JSON");
	check(dpd_run_from_json(j, &b, &err) == 0, "the runner accepts what the daemon sends");
	check(strcmp(a.sandbox, b.sandbox) == 0 && a.tty == b.tty && a.n_env == b.n_env &&
		      a.mem_bytes == b.mem_bytes && a.pids == b.pids && a.millicpus == b.millicpus &&
		      a.net_none == b.net_none,
	      "the round trip keeps the request");
	for (size_t i = 0; a.argv[i] || b.argv[i]; i++)
		check(a.argv[i] && b.argv[i] && strcmp(a.argv[i], b.argv[i]) == 0, "the round trip keeps argv");
	json_decref(j);
	dpd_run_clear(&a);
	dpd_run_clear(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *f[3] = { "", "", "" };
	size_t len[3] = { 0, 0, 0 }, k = 0, start = 0;
	char *method, *url;
	dpd_call call;
	dpd_refusal why;
	dp_error *err = NULL;

	for (size_t i = 0; i <= size && k < 3; i++)
		if (i == size || (data[i] == 0 && k < 2)) {
			f[k] = (const char *)data + start;
			len[k++] = i - start;
			start = i + 1;
		}
	method = strndup(f[0], len[0]);
	url = strndup(f[1], len[1]);
	if (method == NULL || url == NULL)
		goto out;
	if (dpd_route(method, url, f[2], len[2], &call, &why, &err) == 0) {
		check(err == NULL, "an accepted call has no error");
		check(json_is_object(call.body), "an accepted call's body is an object");
		check(call.name[0] == '\0' || dp_check_name("name", call.name, NULL) == 0,
		      "an accepted call's name passes dp_check_name");
		check(strchr(call.name, '/') == NULL && strstr(call.name, "..") == NULL, "no path in a name");
		dpd_call_clear(&call);
	} else {
		check(err != NULL && err->msg != NULL, "a refusal has a message");
		check(why.status == 400 || why.status == 404 || why.status == 405 || why.status == 413,
		      "a refusal is 400, 404, 405 or 413");
		check(why.status != 405 || why.allow[0], "405 says what is allowed");
		dp_error_free(&err);
	}
	run_round_trip(f[2], len[2]);
out:
	free(method);
	free(url);
	return 0;
}
