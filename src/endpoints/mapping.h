/* WireMock-format stub mappings: parsed and validated from JSON once, at load
 * time, so matching never meets a bad regex or an unknown key. Anything we do
 * not support is a load error naming the file and the key path (never
 * silently ignored). See docs/endpoints.md for the supported subset. */
#ifndef DOPPEL_ENDPOINTS_MAPPING_H
#define DOPPEL_ENDPOINTS_MAPPING_H

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "endpoints/request.h"
#include "util/error.h"

/* One string matcher: {"equalTo": "x", "caseInsensitive": true} and friends. */
enum ep_op {
	EP_OP_ANY,              /* matches everything (no pattern given) */
	EP_OP_EQUAL_TO,
	EP_OP_CONTAINS,
	EP_OP_DOES_NOT_CONTAIN,
	EP_OP_MATCHES,          /* POSIX extended regex, whole value (WireMock anchors) */
	EP_OP_DOES_NOT_MATCH,
	EP_OP_ABSENT,           /* the header/parameter/cookie is not present */
	EP_OP_EQUAL_TO_JSON,
	EP_OP_MATCHES_JSON_PATH,
};

typedef struct ep_pattern {
	enum ep_op op;
	char *operand;            /* EQUAL_TO, CONTAINS, ..., MATCHES source, JSON path */
	bool case_insensitive;
	bool has_re;
	regex_t re;               /* MATCHES, DOES_NOT_MATCH */
	json_t *json;             /* EQUAL_TO_JSON */
	bool ignore_array_order, ignore_extra_elements;
	struct ep_pattern *sub;   /* MATCHES_JSON_PATH with {"expression", "equalTo"...} */
	size_t operand_len;       /* strlen(operand), so matching need not measure it */
} ep_pattern;

typedef struct ep_named_pattern {
	char *name;
	ep_pattern p;
} ep_named_pattern;

enum ep_url_kind {
	EP_URL_ANY,
	EP_URL_EQUAL,      /* url: path and query, exactly */
	EP_URL_PATH,       /* urlPath: path only, exactly */
	EP_URL_REGEX,      /* urlPattern: path and query, regex */
	EP_URL_PATH_REGEX, /* urlPathPattern: path only, regex */
};

typedef struct ep_request_pattern {
	char *method;              /* NULL or "ANY": any method */
	enum ep_url_kind url_kind;
	char *url;
	bool has_url_re;
	regex_t url_re;
	ep_named_pattern *query;   /* queryParameters */
	size_t n_query;
	ep_named_pattern *headers;
	size_t n_headers;
	ep_named_pattern *cookies;
	size_t n_cookies;
	ep_pattern *body;          /* bodyPatterns: all must match */
	size_t n_body;
	char *basic_user, *basic_pass; /* basicAuthCredentials */
} ep_request_pattern;

enum ep_fault {
	EP_FAULT_NONE,
	EP_FAULT_CONNECTION_RESET_BY_PEER,
	EP_FAULT_EMPTY_RESPONSE,
	EP_FAULT_MALFORMED_RESPONSE_CHUNK,
	EP_FAULT_RANDOM_DATA_THEN_CLOSE,
};

enum ep_delay_kind { EP_DELAY_NONE, EP_DELAY_UNIFORM, EP_DELAY_LOGNORMAL };

typedef struct ep_response {
	unsigned status;             /* default 200 */
	char *status_message;        /* NULL: the standard reason phrase */
	ep_kv *headers;              /* values as given (a JSON array value: one header each) */
	size_t n_headers;
	char *body;                  /* body, jsonBody (serialised) or bodyFileName's bytes */
	size_t body_len;
	bool templated;              /* transformers: ["response-template"] */
	uint32_t fixed_delay_ms;     /* fixedDelayMilliseconds */
	enum ep_delay_kind delay;    /* delayDistribution */
	double delay_a, delay_b;     /* uniform: lower, upper ms; lognormal: median ms, sigma */
	uint32_t dribble_chunks;     /* chunkedDribbleDelay.numberOfChunks (0: none) */
	uint32_t dribble_total_ms;   /* chunkedDribbleDelay.totalDuration */
	enum ep_fault fault;
} ep_response;

typedef struct ep_mapping {
	char *id;                    /* "id"/"uuid" or a generated UUID */
	char *name;                  /* optional */
	int priority;                /* 1 is highest; WireMock's default is 5 */
	uint64_t seq;                /* load order: among equal priorities the newest wins */
	char *scenario;              /* scenarioName, or NULL */
	char *required_state;        /* requiredScenarioState ("Started" is the initial state) */
	char *new_state;             /* newScenarioState */
	ep_request_pattern req;
	ep_response resp;
	char *source;                /* file it came from, or "(admin API)" */
	json_t *json;                /* as given (with id filled in), for GET /__admin/mappings */
} ep_mapping;

/* Parses one mapping object. source names it in errors ("mocks/pay.json",
 * "mocks/pay.json: mappings[3]"); files_dir is where bodyFileName is looked up
 * (WireMock's __files), NULL to refuse bodyFileName. Errors are usage errors:
 * "SOURCE: request.bodyPatterns[0].matches: regex does not compile: ..." */
int ep_mapping_parse(json_t *j, const char *source, const char *files_dir, ep_mapping **out, dp_error **err);
void ep_mapping_free(ep_mapping *m);
/* Frees n mappings and the array holding them (as ep_mappings_load_dir made). */
void ep_mappings_free(ep_mapping **v, size_t n);

/* Loads every *.json file under dir/mappings (or dir itself when it has no
 * mappings/ subdirectory), sorted by name, each holding one mapping or
 * {"mappings": [...]}; bodyFileName is read from dir/__files. Symlinks out
 * of dir, files over 16 MiB and more than 100,000 mappings are refused.
 * All or nothing: on error *out is untouched. */
int ep_mappings_load_dir(const char *dir, ep_mapping ***out, size_t *n_out, dp_error **err);

#endif
