/* A small JSONPath evaluator over jansson values, for matchesJsonPath and the
 * jsonPath template helper: $, .name, ['name'], [N], [*], .*, ..name and
 * filters [?(@.a == 'x')], [?(@.a > 3)], [?(@.a)]. */
#ifndef DOPPEL_ENDPOINTS_JSONPATH_H
#define DOPPEL_ENDPOINTS_JSONPATH_H

#include <jansson.h>
#include <stdbool.h>

#include "util/error.h"

/* Checks syntax only. */
int ep_jsonpath_check(const char *path, dp_error **err);
/* All values the path selects from doc, as a new JSON array (borrowed
 * elements are increfed); NULL on a syntax error. */
json_t *ep_jsonpath_eval(const char *path, json_t *doc);

#endif
