/* One endpoint's live mappings and scenario states: the table the request
 * path reads (under a read lock, in matching order) and the admin API
 * changes (under the write lock). A stub is reference counted, so a request
 * that is still delaying or dribbling keeps its mapping while the admin API
 * deletes it. */
#ifndef DOPPEL_ENDPOINTS_STUBS_H
#define DOPPEL_ENDPOINTS_STUBS_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "endpoints/mapping.h"
#include "endpoints/request.h"
#include "util/error.h"

struct MHD_Response;

typedef struct ep_scenario {
	char *name;
	char *state; /* "Started" at first */
	bool used;   /* scratch for pruning */
} ep_scenario;

typedef struct ep_stub {
	ep_mapping *m;
	atomic_uint refs;
	ep_scenario *scen;          /* m->scenario's entry, or NULL */
	struct MHD_Response *fixed; /* built once when nothing depends on the request */
} ep_stub;

typedef struct ep_stubs {
	pthread_rwlock_t lock;
	ep_stub **v; /* matching order: priority ascending, then newest (highest seq) first */
	size_t n;
	uint64_t max_seq;
	pthread_mutex_t scen_lock; /* scenario states; taken inside the read lock */
	ep_scenario **scen;
	size_t n_scen;
	char *dir;       /* mappings as loaded from here: the reset target */
	char *files_dir; /* dir/__files when it exists, for admin-added bodyFileName */
} ep_stubs;

/* Loads dir (all or nothing). */
int ep_stubs_init(ep_stubs *s, const char *dir, dp_error **err);
void ep_stubs_destroy(ep_stubs *s);
size_t ep_stubs_count(ep_stubs *s);

/* The mapping that answers r, with a reference the caller drops with
 * ep_stub_unref; moves its scenario on. NULL: nothing matches. */
ep_stub *ep_stubs_match(ep_stubs *s, const ep_request *r);
void ep_stub_unref(ep_stub *st);
/* The closest mapping and why it missed (WireMock's near miss):
 * {"id","name","source","distance","why"}, or JSON null without mappings. */
json_t *ep_stubs_near_miss(ep_stubs *s, const ep_request *r);

/* Admin operations. Added mappings are the newest; one with an id that
 * exists replaces it. */
int ep_stubs_add(ep_stubs *s, ep_mapping *m, dp_error **err);
/* 0, or -1 with ENOENT when id is unknown (m is then not taken). */
int ep_stubs_replace(ep_stubs *s, const char *id, ep_mapping *m, dp_error **err);
int ep_stubs_remove(ep_stubs *s, const char *id);
void ep_stubs_remove_all(ep_stubs *s);
/* Back to the files in dir; on error nothing changes. */
int ep_stubs_reload(ep_stubs *s, dp_error **err);
json_t *ep_stubs_list_json(ep_stubs *s);
/* A new reference to the mapping's JSON, or NULL. */
json_t *ep_stubs_get_json(ep_stubs *s, const char *id);

/* {"scenarios":[{"id","name","state","possibleStates"}]} */
json_t *ep_stubs_scenarios_json(ep_stubs *s);
void ep_stubs_scenarios_reset(ep_stubs *s);
/* -1 with ENOENT: no such scenario; ENOMEM. */
int ep_stubs_scenario_set(ep_stubs *s, const char *name, const char *state);
/* {NAME: STATE} for the saved state, and back. */
json_t *ep_stubs_scenarios_export(ep_stubs *s);
void ep_stubs_scenarios_import(ep_stubs *s, json_t *states);

#endif
