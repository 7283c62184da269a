/* Luhn and IBAN check digits; see checksum.h. */
#include "data/checksum.h"

#include <ctype.h>

int dp_luhn_digit(const char *s, size_t n)
{
	unsigned sum = 0;
	bool dbl = true; /* the rightmost payload digit is doubled */

	for (size_t i = n; i-- > 0;) {
		unsigned d = (unsigned)(s[i] - '0');
		if (dbl) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
		dbl = !dbl;
	}
	return (int)((10 - sum % 10) % 10);
}

bool dp_luhn_valid(const char *s, size_t n)
{
	if (n < 2)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return dp_luhn_digit(s, n - 1) == s[n - 1] - '0';
}

/* IBAN value mod 97 with the check digits taken as "00". */
static int iban_mod(const char *s, size_t n)
{
	unsigned rem = 0;

	for (size_t k = 0; k < n; k++) {
		size_t i = (k + 4) % n; /* country and check digits move to the end */
		unsigned char c = (unsigned char)s[i];
		if (i == 2 || i == 3)
			c = '0';
		if (isdigit(c))
			rem = (rem * 10 + (c - '0')) % 97;
		else if (isalpha(c))
			rem = (rem * 100 + (unsigned)(toupper(c) - 'A' + 10)) % 97;
		else
			return -1;
	}
	return (int)rem;
}

int dp_iban_check(const char *s, size_t n)
{
	int m;

	if (n < 5 || n > 34)
		return -1;
	m = iban_mod(s, n);
	return m < 0 ? -1 : 98 - m;
}

bool dp_iban_valid(const char *s, size_t n)
{
	int c;

	if (n < 15 || n > 34 || !isalpha((unsigned char)s[0]) || !isalpha((unsigned char)s[1]) ||
	    !isdigit((unsigned char)s[2]) || !isdigit((unsigned char)s[3]))
		return false;
	c = dp_iban_check(s, n);
	return c >= 0 && c == (s[2] - '0') * 10 + (s[3] - '0');
}
