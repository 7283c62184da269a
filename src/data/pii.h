/* Does a column look personal? Strict masking (the default) refuses to sync
 * a database with such a column unless it has a rule or is allowed; this file
 * only judges, by the column's name and by a sample of its values, and says
 * which transformer would fit. */
#ifndef DOPPEL_DATA_PII_H
#define DOPPEL_DATA_PII_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* By name alone ("customer_email", "lastName", "date_of_birth", ...). NULL
 * when the name says nothing; else the transformer to suggest ("email",
 * "name", "phone", "address", "date", "partial", ...) and *why, a short
 * phrase such as "column name mentions email". */
const char *dp_pii_by_name(const char *column, const char **why);

/* A sample of one column's values (the caller feeds up to a few thousand
 * non-NULL TEXT values). */
typedef struct dp_pii_sample {
	uint32_t seen, email, phone, card, iban, ip;
} dp_pii_sample;

void dp_pii_sample_add(dp_pii_sample *s, const char *text, size_t n);
/* NULL when the sample looks impersonal; else the transformer to suggest
 * and *why ("12 of 20 sampled values are email addresses"), formatted into
 * why_buf. */
const char *dp_pii_sample_verdict(const dp_pii_sample *s, char *why_buf, size_t why_sz);

#endif
