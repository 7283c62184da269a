/* Request matching: does a request satisfy a mapping's request pattern, and
 * if not, how far off is it (WireMock's near-miss idea), so an unmatched
 * request can be answered with the closest mapping and why it missed. */
#ifndef DOPPEL_ENDPOINTS_MATCH_H
#define DOPPEL_ENDPOINTS_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "endpoints/mapping.h"
#include "endpoints/request.h"

/* 0.0 when every part matches; otherwise the fraction of parts that did not
 * (in (0, 1]). When why is not NULL and the request does not match, writes a
 * one-line reason into it ("method: expected POST, got GET; header
 * Authorization: absent"). */
double ep_match_request(const ep_request_pattern *p, const ep_request *r, char *why, size_t why_len);

/* Whether every part matches, stopping at the first that does not (cheap
 * parts first, the body last): the per-request fast path. Same verdict as
 * ep_match_request(...) == 0.0, which is then needed only for near misses. */
bool ep_request_matches(const ep_request_pattern *p, const ep_request *r);

/* One string matcher against a value (NULL: the value is absent). */
bool ep_match_value(const ep_pattern *p, const char *value, size_t len);

#endif
