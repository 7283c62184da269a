/* The live mapping table of stubs.h. Matching walks the stubs in matching
 * order and stops at the first hit, with the matcher's short-circuit verdict
 * (the near-miss distance is computed only for unmatched requests); a
 * scenario's state is checked and moved under one mutex, so two requests
 * cannot both take the same transition. */
#include "endpoints/stubs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "endpoints/match.h"
#include "endpoints/respond.h"
#include "util/cleanup.h"
#include "util/dl-mhd.h"

#define STARTED "Started"

static void stub_free(ep_stub *st)
{
	if (st->fixed)
		sym_MHD_destroy_response(st->fixed);
	ep_mapping_free(st->m);
	free(st);
}

void ep_stub_unref(ep_stub *st)
{
	if (st && atomic_fetch_sub_explicit(&st->refs, 1, memory_order_acq_rel) == 1)
		stub_free(st);
}

static ep_stub *stub_new(ep_mapping *m, dp_error **err)
{
	ep_stub *st = calloc(1, sizeof(*st));

	if (st == NULL) {
		dp_fail(err, ENOMEM, "%s", m->source);
		return NULL;
	}
	if (ep_resp_is_fixed(&m->resp)) {
		st->fixed = ep_resp_fixed(&m->resp, m->source, err);
		if (st->fixed == NULL) {
			free(st);
			return NULL;
		}
	}
	st->m = m;
	atomic_init(&st->refs, 1);
	return st;
}

/* Under the write lock (or before the table is shared). */
static ep_scenario *scenario_get(ep_stubs *s, const char *name)
{
	ep_scenario **v, *sc;

	for (size_t i = 0; i < s->n_scen; i++)
		if (strcmp(s->scen[i]->name, name) == 0)
			return s->scen[i];
	v = realloc(s->scen, (s->n_scen + 1) * sizeof(*v));
	if (v == NULL)
		return NULL;
	s->scen = v;
	sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return NULL;
	sc->name = strdup(name);
	sc->state = strdup(STARTED);
	if (sc->name == NULL || sc->state == NULL) {
		free(sc->name);
		free(sc->state);
		free(sc);
		return NULL;
	}
	s->scen[s->n_scen++] = sc;
	return sc;
}

static void scenario_free(ep_scenario *sc)
{
	free(sc->name);
	free(sc->state);
	free(sc);
}

/* Drops scenarios no mapping names any more (WireMock forgets them too). */
static void scenarios_prune(ep_stubs *s)
{
	size_t k = 0;

	for (size_t i = 0; i < s->n_scen; i++)
		s->scen[i]->used = false;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i]->scen)
			s->v[i]->scen->used = true;
	for (size_t i = 0; i < s->n_scen; i++) {
		if (s->scen[i]->used)
			s->scen[k++] = s->scen[i];
		else
			scenario_free(s->scen[i]);
	}
	s->n_scen = k;
}

static int stub_order(const void *a, const void *b)
{
	const ep_mapping *x = (*(ep_stub *const *)a)->m, *y = (*(ep_stub *const *)b)->m;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return x->seq > y->seq ? -1 : x->seq < y->seq ? 1 : 0;
}

static void sort_stubs(ep_stubs *s)
{
	qsort(s->v, s->n, sizeof(*s->v), stub_order);
}

/* Stubs for freshly loaded mappings (taken, freed on error); ids must not
 * repeat, as the admin API addresses mappings by id. */
static int build_stubs(ep_stubs *s, ep_mapping **ms, size_t n, ep_stub ***out, dp_error **err)
{
	ep_stub **v = calloc(n ? n : 1, sizeof(*v));
	size_t i;

	if (v == NULL) {
		for (i = 0; i < n; i++)
			ep_mapping_free(ms[i]);
		return dp_fail(err, ENOMEM, "%s", s->dir);
	}
	for (i = 0; i < n; i++) {
		for (size_t j = 0; j < i; j++)
			if (strcmp(ms[j]->id, ms[i]->id) == 0) {
				dp_usage(err, "%s: id %s is also the id of a mapping in %s", ms[i]->source, ms[i]->id,
					 ms[j]->source);
				goto fail;
			}
		v[i] = stub_new(ms[i], err);
		if (v[i] == NULL)
			goto fail;
	}
	*out = v;
	return 0;
fail:
	for (size_t j = 0; j < n; j++) {
		if (j < i)
			ep_stub_unref(v[j]);
		else
			ep_mapping_free(ms[j]);
	}
	free(v);
	return -1;
}

/* Installs v (n stubs) as the table; the caller holds the write lock. */
static int install(ep_stubs *s, ep_stub **v, size_t n, ep_stub ***old, size_t *n_old)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i]->m->seq > s->max_seq)
			s->max_seq = v[i]->m->seq;
		if (v[i]->m->scenario) {
			v[i]->scen = scenario_get(s, v[i]->m->scenario);
			if (v[i]->scen == NULL)
				return -1;
		}
	}
	*old = s->v;
	*n_old = s->n;
	s->v = v;
	s->n = n;
	sort_stubs(s);
	scenarios_prune(s);
	return 0;
}

static void unref_all(ep_stub **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ep_stub_unref(v[i]);
	free(v);
}

static int load(ep_stubs *s, ep_stub ***v, size_t *n, dp_error **err)
{
	ep_mapping **ms = NULL;
	size_t n_ms = 0;

	if (ep_mappings_load_dir(s->dir, &ms, &n_ms, err) < 0)
		return -1;
	if (build_stubs(s, ms, n_ms, v, err) < 0) {
		free(ms);
		return -1;
	}
	free(ms);
	*n = n_ms;
	return 0;
}

int ep_stubs_init(ep_stubs *s, const char *dir, dp_error **err)
{
	pthread_rwlockattr_t ra;
	ep_stub **v, **old;
	size_t n, n_old;
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->dir = strdup(dir);
	if (s->dir == NULL || asprintf(&s->files_dir, "%s/__files", dir) < 0) {
		free(s->dir);
		return dp_fail(err, ENOMEM, "%s", dir);
	}
	if (stat(s->files_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		free(s->files_dir);
		s->files_dir = NULL;
	}
	if (load(s, &v, &n, err) < 0) {
		free(s->dir);
		free(s->files_dir);
		return -1;
	}
	/* admin writes must not starve behind a steady stream of requests */
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&s->lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&s->scen_lock, NULL);
	if (install(s, v, n, &old, &n_old) < 0) {
		unref_all(v, n);
		ep_stubs_destroy(s);
		return dp_fail(err, ENOMEM, "%s", dir);
	}
	return 0;
}

void ep_stubs_destroy(ep_stubs *s)
{
	unref_all(s->v, s->n);
	s->v = NULL;
	s->n = 0;
	for (size_t i = 0; i < s->n_scen; i++)
		scenario_free(s->scen[i]);
	free(s->scen);
	pthread_rwlock_destroy(&s->lock);
	pthread_mutex_destroy(&s->scen_lock);
	free(s->dir);
	free(s->files_dir);
}

size_t ep_stubs_count(ep_stubs *s)
{
	size_t n;

	pthread_rwlock_rdlock(&s->lock);
	n = s->n;
	pthread_rwlock_unlock(&s->lock);
	return n;
}

static void set_state(ep_scenario *sc, const char *state)
{
	char *copy;

	if (strcmp(sc->state, state) == 0 || (copy = strdup(state)) == NULL)
		return;
	free(sc->state);
	sc->state = copy;
}

ep_stub *ep_stubs_match(ep_stubs *s, const ep_request *r)
{
	ep_stub *hit = NULL;
	bool scen;

	pthread_rwlock_rdlock(&s->lock);
	scen = s->n_scen > 0;
	if (scen)
		pthread_mutex_lock(&s->scen_lock);
	for (size_t i = 0; i < s->n; i++) {
		ep_stub *st = s->v[i];
		const ep_mapping *m = st->m;
		if (st->scen && m->required_state && strcmp(st->scen->state, m->required_state) != 0)
			continue;
		if (!ep_request_matches(&m->req, r))
			continue;
		if (st->scen && m->new_state)
			set_state(st->scen, m->new_state);
		atomic_fetch_add_explicit(&st->refs, 1, memory_order_relaxed);
		hit = st;
		break;
	}
	if (scen)
		pthread_mutex_unlock(&s->scen_lock);
	pthread_rwlock_unlock(&s->lock);
	return hit;
}

json_t *ep_stubs_near_miss(ep_stubs *s, const ep_request *r)
{
	char why[1024], best_why[1024] = "";
	double best = 2.0;
	const ep_mapping *bm = NULL;
	json_t *j;

	pthread_rwlock_rdlock(&s->lock);
	for (size_t i = 0; i < s->n; i++) {
		const ep_mapping *m = s->v[i]->m;
		double d;
		why[0] = '\0';
		d = ep_match_request(&m->req, r, why, sizeof(why));
		if (d == 0.0 && s->v[i]->scen) {
			/* matched everything but the scenario's state */
			pthread_mutex_lock(&s->scen_lock);
			snprintf(why, sizeof(why), "scenario %s: in state %s, this mapping needs %s", m->scenario,
				 s->v[i]->scen->state, m->required_state ? m->required_state : "(any)");
			pthread_mutex_unlock(&s->scen_lock);
			d = 0.01;
		}
		if (d < best) {
			best = d;
			bm = m;
			snprintf(best_why, sizeof(best_why), "%s", why);
		}
	}
	if (bm == NULL) {
		pthread_rwlock_unlock(&s->lock);
		return json_null();
	}
	j = json_pack("{s:s, s:s?, s:s, s:f, s:s}", "id", bm->id, "name", bm->name, "source", bm->source,
		      "distance", best, "why", best_why);
	pthread_rwlock_unlock(&s->lock);
	return j ? j : json_null();
}

static ssize_t find(ep_stubs *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i]->m->id, id) == 0)
			return (ssize_t)i;
	return -1;
}

/* Adds st under the write lock, replacing the stub at index at (-1: none). */
static int put(ep_stubs *s, ep_stub *st, ssize_t at, ep_stub **dropped)
{
	*dropped = NULL;
	if (st->m->scenario) {
		st->scen = scenario_get(s, st->m->scenario);
		if (st->scen == NULL)
			return -1;
	}
	if (at >= 0) {
		*dropped = s->v[at];
		s->v[at] = st;
	} else {
		ep_stub **v = realloc(s->v, (s->n + 1) * sizeof(*v));
		if (v == NULL)
			return -1;
		s->v = v;
		s->v[s->n++] = st;
	}
	sort_stubs(s);
	scenarios_prune(s);
	return 0;
}

static int add_or_replace(ep_stubs *s, const char *id, ep_mapping *m, bool must_exist, dp_error **err)
{
	ep_stub *st, *dropped = NULL;
	ssize_t at;
	int rc;

	pthread_rwlock_wrlock(&s->lock);
	at = find(s, id);
	if (at < 0 && must_exist) {
		pthread_rwlock_unlock(&s->lock);
		errno = ENOENT;
		return -1;
	}
	m->seq = ++s->max_seq;
	st = stub_new(m, err);
	if (st == NULL) {
		pthread_rwlock_unlock(&s->lock);
		ep_mapping_free(m);
		return -1;
	}
	rc = put(s, st, at, &dropped);
	pthread_rwlock_unlock(&s->lock);
	if (rc < 0) {
		ep_stub_unref(st);
		return dp_fail(err, ENOMEM, "add mapping");
	}
	ep_stub_unref(dropped);
	return 0;
}

int ep_stubs_add(ep_stubs *s, ep_mapping *m, dp_error **err)
{
	return add_or_replace(s, m->id, m, false, err);
}

int ep_stubs_replace(ep_stubs *s, const char *id, ep_mapping *m, dp_error **err)
{
	return add_or_replace(s, id, m, true, err);
}

int ep_stubs_remove(ep_stubs *s, const char *id)
{
	ep_stub *st;
	ssize_t at;

	pthread_rwlock_wrlock(&s->lock);
	at = find(s, id);
	if (at < 0) {
		pthread_rwlock_unlock(&s->lock);
		errno = ENOENT;
		return -1;
	}
	st = s->v[at];
	memmove(&s->v[at], &s->v[at + 1], (s->n - (size_t)at - 1) * sizeof(*s->v));
	s->n--;
	scenarios_prune(s);
	pthread_rwlock_unlock(&s->lock);
	ep_stub_unref(st);
	return 0;
}

void ep_stubs_remove_all(ep_stubs *s)
{
	ep_stub **old;
	size_t n;

	pthread_rwlock_wrlock(&s->lock);
	old = s->v;
	n = s->n;
	s->v = NULL;
	s->n = 0;
	scenarios_prune(s);
	pthread_rwlock_unlock(&s->lock);
	unref_all(old, n);
}

int ep_stubs_reload(ep_stubs *s, dp_error **err)
{
	ep_stub **v, **old = NULL;
	size_t n, n_old = 0;
	int rc;

	if (load(s, &v, &n, err) < 0)
		return -1;
	pthread_rwlock_wrlock(&s->lock);
	rc = install(s, v, n, &old, &n_old);
	pthread_rwlock_unlock(&s->lock);
	if (rc < 0) {
		unref_all(v, n);
		return dp_fail(err, ENOMEM, "%s", s->dir);
	}
	unref_all(old, n_old);
	return 0;
}

json_t *ep_stubs_list_json(ep_stubs *s)
{
	json_t *arr = json_array();

	if (arr == NULL)
		return NULL;
	pthread_rwlock_rdlock(&s->lock);
	for (size_t i = 0; i < s->n; i++)
		json_array_append(arr, s->v[i]->m->json);
	pthread_rwlock_unlock(&s->lock);
	return json_pack("{s:o, s:{s:I}}", "mappings", arr, "meta", "total", (json_int_t)json_array_size(arr));
}

json_t *ep_stubs_get_json(ep_stubs *s, const char *id)
{
	json_t *j = NULL;
	ssize_t at;

	pthread_rwlock_rdlock(&s->lock);
	at = find(s, id);
	if (at >= 0)
		j = json_incref(s->v[at]->m->json);
	pthread_rwlock_unlock(&s->lock);
	return j;
}

static void add_state(json_t *states, const char *state)
{
	size_t i;
	json_t *v;

	if (state == NULL)
		return;
	json_array_foreach(states, i, v)
		if (strcmp(json_string_value(v), state) == 0)
			return;
	json_array_append_new(states, json_string(state));
}

json_t *ep_stubs_scenarios_json(ep_stubs *s)
{
	json_t *arr = json_array();

	if (arr == NULL)
		return NULL;
	pthread_rwlock_rdlock(&s->lock);
	pthread_mutex_lock(&s->scen_lock);
	for (size_t i = 0; i < s->n_scen; i++) {
		ep_scenario *sc = s->scen[i];
		json_t *states = json_array();
		add_state(states, STARTED);
		for (size_t k = 0; k < s->n; k++)
			if (s->v[k]->scen == sc) {
				add_state(states, s->v[k]->m->required_state);
				add_state(states, s->v[k]->m->new_state);
			}
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o}", "id", sc->name, "name", sc->name,
						     "state", sc->state, "possibleStates", states));
	}
	pthread_mutex_unlock(&s->scen_lock);
	pthread_rwlock_unlock(&s->lock);
	return json_pack("{s:o}", "scenarios", arr);
}

void ep_stubs_scenarios_reset(ep_stubs *s)
{
	pthread_rwlock_rdlock(&s->lock);
	pthread_mutex_lock(&s->scen_lock);
	for (size_t i = 0; i < s->n_scen; i++)
		set_state(s->scen[i], STARTED);
	pthread_mutex_unlock(&s->scen_lock);
	pthread_rwlock_unlock(&s->lock);
}

int ep_stubs_scenario_set(ep_stubs *s, const char *name, const char *state)
{
	int rc = -1;

	errno = ENOENT;
	pthread_rwlock_rdlock(&s->lock);
	pthread_mutex_lock(&s->scen_lock);
	for (size_t i = 0; i < s->n_scen; i++)
		if (strcmp(s->scen[i]->name, name) == 0) {
			set_state(s->scen[i], state);
			rc = strcmp(s->scen[i]->state, state) == 0 ? 0 : -1;
			errno = ENOMEM;
			break;
		}
	pthread_mutex_unlock(&s->scen_lock);
	pthread_rwlock_unlock(&s->lock);
	return rc;
}

json_t *ep_stubs_scenarios_export(ep_stubs *s)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	pthread_rwlock_rdlock(&s->lock);
	pthread_mutex_lock(&s->scen_lock);
	for (size_t i = 0; i < s->n_scen; i++)
		json_object_set_new(o, s->scen[i]->name, json_string(s->scen[i]->state));
	pthread_mutex_unlock(&s->scen_lock);
	pthread_rwlock_unlock(&s->lock);
	return o;
}

void ep_stubs_scenarios_import(ep_stubs *s, json_t *states)
{
	const char *name;
	json_t *v;

	json_object_foreach(states, name, v)
		if (json_is_string(v))
			ep_stubs_scenario_set(s, name, json_string_value(v)); /* unknown ones: mapping gone */
}
