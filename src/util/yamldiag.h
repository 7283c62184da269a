/* libfyaml's diagnostics captured as one line (the first error) instead of
 * printed, so a YAML loader can put it in an error value naming file:line. */
#ifndef DOPPEL_UTIL_YAMLDIAG_H
#define DOPPEL_UTIL_YAMLDIAG_H

#include <libfyaml.h>

#define DP_YAML_DIAG_MAX 512

/* A diag that writes the first error's first line into first (which must
 * start empty and outlive the diag); NULL when out of memory. */
struct fy_diag *dp_yaml_diag_new(char first[DP_YAML_DIAG_MAX]);

#endif
