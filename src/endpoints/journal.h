/* The request journal of one endpoint: a bounded ring (entries and bytes),
 * newest replacing oldest, the fix for the peers' most common memory
 * complaint. Recording copies the request into one packed block; the
 * WireMock JSON shape is built only when the admin API asks. */
#ifndef DOPPEL_ENDPOINTS_JOURNAL_H
#define DOPPEL_ENDPOINTS_JOURNAL_H

#include <jansson.h>
#include <stddef.h>

#include "endpoints/mapping.h"
#include "endpoints/request.h"
#include "endpoints/stubs.h"
#include "util/error.h"

/* A journalled body keeps its first 64 KiB; the whole journal at most
 * 64 MiB (oldest entries go first). */
#define EP_JOURNAL_BODY_MAX (64u * 1024)
#define EP_JOURNAL_BYTES_MAX ((size_t)64 * 1024 * 1024)

typedef struct ep_journal ep_journal;

int ep_journal_new(size_t max_entries, ep_journal **out, dp_error **err);
void ep_journal_free(ep_journal *j);

/* stub_id: the matched mapping, NULL when unmatched; fault: what it
 * injected instead of an answer. */
void ep_journal_record(ep_journal *j, const ep_request *r, unsigned status, const char *stub_id,
		       enum ep_fault fault);
void ep_journal_clear(ep_journal *j);
/* Requests the pattern matches. */
size_t ep_journal_count(ep_journal *j, const ep_request_pattern *p);

/* GET /__admin/requests: newest first, at most limit (0: all). */
json_t *ep_journal_json(ep_journal *j, ep_stubs *stubs, size_t limit);
/* The saved form: WireMock entries, oldest first, and back. */
json_t *ep_journal_export(ep_journal *j, ep_stubs *stubs);
int ep_journal_import(ep_journal *j, json_t *requests, const char *where, dp_error **err);

#endif
