/* Check digits of the identifiers people leak most: payment card numbers
 * (Luhn) and IBANs (ISO 13616, mod 97). Used to make fakes that validate and
 * to recognise real ones in PII detection. */
#ifndef DOPPEL_DATA_CHECKSUM_H
#define DOPPEL_DATA_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>

/* s: n ASCII digits. The digit that, appended, makes s Luhn-valid. */
int dp_luhn_digit(const char *s, size_t n);
/* s: n ASCII digits (n >= 2) including the check digit. */
bool dp_luhn_valid(const char *s, size_t n);
/* s: a compact IBAN (no spaces), e.g. "DE89370400440532013000"; letters in
 * either case. Computes the two check digits for s (ignoring s[2..3]). */
int dp_iban_check(const char *s, size_t n);
bool dp_iban_valid(const char *s, size_t n);

#endif
