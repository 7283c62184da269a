/* `doppel audit [--since WHEN] [--json]`: the audit log's records, oldest
 * first; `doppel audit verify [--json]`: walks the hash chain and exits 1
 * naming the first bad record when the log was edited, cut or reordered.
 * Both go through ops (locally, or in doppeld when remote.h says so), so
 * reading and verifying are recorded too. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/remote.h"
#include "util/parse.h"

#define WHEN_HELP                                                                                                  \
	"expected unix seconds (1714567890), an ISO-8601 date or time in UTC unless it says otherwise "           \
	"(2024-05-01, 2024-05-01T12:00:00Z, 2024-05-01T14:00+02:00) or an age (90s, 10m, 2h, 7d, 2w)"
#define WHEN_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

/* n decimal digits at *p into *out, advancing p; false if not there. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/* YYYY-MM-DD[(T| )HH:MM[:SS[.frac]]][Z|(+|-)HH[:]MM] */
static bool parse_iso(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const char *p = s;

	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' || !digits(&p, 2, &d))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
		return false;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
			return false;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &sec))
				return false;
			if (*p == '.' || *p == ',') {
				p++;
				if (!isdigit((unsigned char)*p))
					return false;
				while (isdigit((unsigned char)*p))
					p++; /* whole seconds are what is compared */
			}
		}
		if (h > 23 || mi > 59 || sec > 60)
			return false;
		if (*p == 'Z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p++ == '+' ? 1 : -1;
			if (!digits(&p, 2, &oh))
				return false;
			if (*p == ':')
				p++;
			if (!digits(&p, 2, &om) || oh > 23 || om > 59)
				return false;
		}
	}
	if (*p != '\0')
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = (int64_t)timegm(&tm) - sign * (oh * 3600 + om * 60);
	/* timegm normalizes Feb 29 of a common year into March */
	return tm.tm_mday == d;
}

/* WHEN as unix seconds: see WHEN_HELP. */
static int parse_when(const char *s, int64_t now, int64_t *out, dp_error **err)
{
	size_t n = strlen(s);
	uint64_t v;

	if (n > 0 && n <= 20 && strspn(s, "0123456789") == n) {
		if (dp_parse_uint("--since", s, 0, (uint64_t)WHEN_MAX, &v, NULL) < 0)
			return dp_usage(err, "--since '%s': later than year 9999; " WHEN_HELP, s);
		*out = (int64_t)v;
		return 0;
	}
	if (n >= 2 && n <= 12 && strspn(s, "0123456789") == n - 1 && strchr("smhdw", s[n - 1])) {
		static const struct {
			char c;
			int64_t secs;
		} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 } };
		int64_t unit = 1;
		char num[16];
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (units[i].c == s[n - 1])
				unit = units[i].secs;
		memcpy(num, s, n - 1);
		num[n - 1] = '\0';
		if (dp_parse_uint("--since", num, 0, (uint64_t)(WHEN_MAX / unit), &v, NULL) < 0 ||
		    (int64_t)v * unit > now)
			return dp_usage(err, "--since '%s': an age before 1970; " WHEN_HELP, s);
		*out = now - (int64_t)v * unit;
		return 0;
	}
	if (n <= 40 && parse_iso(s, out) && *out >= 0 && *out <= WHEN_MAX)
		return 0;
	return dp_usage(err, "--since '%s': " WHEN_HELP, s);
}

/* A field shown on a terminal: control characters (C0, DEL, C1) become '?'
 * so a name or message cannot move the cursor or retitle the window. */
static void put_clean(const char *s, int width)
{
	int w = 0;

	for (const unsigned char *c = (const unsigned char *)(s ? s : "-"); *c; c++) {
		if (*c < 0x20 || *c == 0x7f) {
			putchar('?');
		} else if (c[0] == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f) {
			putchar('?');
			c++;
		} else {
			putchar(*c);
			if ((*c & 0xc0) == 0x80)
				continue; /* a continuation byte adds no column */
		}
		w++;
	}
	for (; w < width; w++)
		putchar(' ');
}

static const char *str(json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

static void print_table(json_t *recs)
{
	size_t i;
	json_t *rec;

	printf("%-24s %-12s %-12s %-10s %-24s %s\n", "TIME", "ACTOR", "SOURCE", "ACTION", "TARGET", "RESULT");
	json_array_foreach (recs, i, rec) {
		const char *result = str(rec, "result"), *source = str(rec, "source"), *token = str(rec, "token");
		put_clean(str(rec, "time"), 24);
		putchar(' ');
		put_clean(str(rec, "user"), 12);
		putchar(' ');
		if (token && source && strcmp(source, "token") == 0) {
			fputs("token:", stdout);
			put_clean(token, 6);
		} else {
			put_clean(source, 12);
		}
		putchar(' ');
		put_clean(str(rec, "action"), 10);
		putchar(' ');
		put_clean(str(rec, "target"), 24);
		putchar(' ');
		put_clean(result, 0);
		if (str(rec, "message") && result && strcmp(result, "ok") != 0) {
			fputs(": ", stdout);
			put_clean(str(rec, "message"), 0);
		}
		putchar('\n');
	}
}

/* The verdict as `--json` shows it, or in words; exit 1 when not ok. */
static int show_verdict(json_t *v, bool json)
{
	bool ok = json_is_true(json_object_get(v, "ok"));
	json_int_t records = json_integer_value(json_object_get(v, "records"));
	const char *head = str(v, "head"), *note = str(v, "note");

	if (json) {
		dp_print_json(json_incref(v));
	} else if (ok) {
		if (records)
			printf("audit log ok: %" JSON_INTEGER_FORMAT " record%s; the last is %" JSON_INTEGER_FORMAT
			       ", its line's SHA-256 %s\n",
			       records, records == 1 ? "" : "s", records, head ? head : "?");
		else
			printf("audit log ok: no records yet\n");
		if (note)
			printf("note: %s\n", note);
	} else {
		printf("audit log NOT ok: first bad record %" JSON_INTEGER_FORMAT ": ",
		       json_integer_value(json_object_get(v, "first_bad")));
		put_clean(str(v, "why"), 0);
		putchar('\n');
	}
	return ok ? 0 : DP_EXIT_FAIL;
}

static int audit_verify(int argc, char **argv, dp_error **err)
{
	const char *config = NULL;
	bool json = false;
	dp_audit_verdict v;
	dp_remote *rem = NULL;
	json_t *j = NULL;
	dp_cli cli;
	int r;
	const dp_cli_opt opts[] = { { "--json", &json, NULL }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, NULL, 0, 0, "[--json] [--host HOST]", err) < 0 ||
	    dp_cli_remote(&rem, err) < 0)
		return -1;
	if (rem) {
		r = dp_remote_call(rem, "GET", "/v1/audit/verify", NULL, &j, err);
		dp_remote_close(rem);
		if (r < 0)
			return -1;
	} else {
		if (dp_cli_open(config, &cli, err) < 0)
			return -1;
		r = dp_ops_audit_verify(&cli.ops, &cli.actor, &v, err);
		dp_cli_close(&cli);
		if (r < 0)
			return -1;
		j = dp_audit_verdict_json(&v);
		dp_audit_verdict_clear(&v);
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return dp_fail(err, 0, "audit verify: no verdict (%s)", rem ? "the daemon's answer is not one" : "out of memory");
	}
	r = show_verdict(j, json);
	json_decref(j);
	return r;
}

int cmd_audit(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *since_s = NULL;
	bool json = false;
	int64_t since = 0;
	json_t *recs = NULL;
	dp_remote *rem = NULL;
	dp_cli cli;
	int r;
	const dp_cli_opt opts[] = { { "--json", &json, NULL },
				    { "--since", NULL, &since_s },
				    { NULL, NULL, NULL } };

	if (argc > 1 && strcmp(argv[1], "verify") == 0) {
		char *name = "audit verify";
		argv[1] = name;
		return audit_verify(argc - 1, argv + 1, err);
	}
	if (dp_cli_parse(argc, argv, opts, &config, NULL, 0, 0, "[--since WHEN] [--json] [--host HOST], or verify", err) <
		    0 ||
	    (since_s && parse_when(since_s, (int64_t)time(NULL), &since, err) < 0) || dp_cli_remote(&rem, err) < 0)
		return -1;
	if (rem) {
		char path[64];
		snprintf(path, sizeof(path), "/v1/audit?since=%" PRId64, since);
		r = dp_remote_call(rem, "GET", path, NULL, &recs, err);
		dp_remote_close(rem);
		if (r == 0 && !json_is_array(recs)) {
			json_decref(recs);
			return dp_fail(err, 0, "audit: the daemon's answer is not a list of records");
		}
	} else {
		if (dp_cli_open(config, &cli, err) < 0)
			return -1;
		r = dp_ops_audit(&cli.ops, &cli.actor, since, &recs, err);
		dp_cli_close(&cli);
	}
	if (r < 0)
		return -1;
	if (json) {
		dp_print_json(recs);
	} else {
		print_table(recs);
		json_decref(recs);
	}
	return 0;
}
