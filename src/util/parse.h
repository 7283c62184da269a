/* Parsing of the small values users type on the command line and in
 * doppel.yaml (sizes, CPU shares, counts, ports), strictly: a value is either
 * exactly understood or refused with what was expected. */
#ifndef DOPPEL_UTIL_PARSE_H
#define DOPPEL_UTIL_PARSE_H

#include <stdint.h>

#include "util/error.h"

/* "512", "64K", "100M", "2G", "1T" (powers of 1024, optional trailing B or iB).
 * Refuses 0, negatives, overflow and anything above max. */
int dp_parse_size(const char *what, const char *s, uint64_t max, uint64_t *out, dp_error **err);
/* "1", "0.5", "2.25": CPUs as thousandths, 0.01 .. 1024. */
int dp_parse_cpus(const char *what, const char *s, uint32_t *millicpus, dp_error **err);
/* A decimal integer in [min, max]. */
int dp_parse_uint(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out, dp_error **err);
/* "HOSTPORT:SANDBOXPORT", both 1..65535. */
int dp_parse_publish(const char *what, const char *s, uint16_t *host, uint16_t *sandbox, dp_error **err);

#endif
