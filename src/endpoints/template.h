/* Response templating, the subset of WireMock's Handlebars helpers that stub
 * files use most: {{request.url}}, {{request.path}}, {{request.path.[N]}},
 * {{request.query.NAME}}, {{request.headers.NAME}}, {{request.cookies.NAME}},
 * {{request.method}}, {{request.body}}, {{jsonPath request.body '$.x'}},
 * {{randomValue type='UUID'}} / length=N type='ALPHANUMERIC'|'NUMERIC'|...,
 * {{now}}. Anything else is left as an error at load time (ep_template_check). */
#ifndef DOPPEL_ENDPOINTS_TEMPLATE_H
#define DOPPEL_ENDPOINTS_TEMPLATE_H

#include <stddef.h>

#include "endpoints/request.h"
#include "util/error.h"

/* Refuses a template that uses something unsupported or is unbalanced;
 * "where" prefixes the message ("pay.json: response.body"). */
int ep_template_check(const char *tmpl, size_t len, const char *where, dp_error **err);
/* Renders tmpl for request r into a malloc'd buffer. */
int ep_template_render(const char *tmpl, size_t len, const ep_request *r, char **out, size_t *out_len,
		       dp_error **err);

#endif
