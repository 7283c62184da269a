/* Strict parsers for user-typed values; see parse.h. */
#include "util/parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int dp_parse_uint(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out, dp_error **err)
{
	char *end = NULL;
	unsigned long long v;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return dp_usage(err, "%s: expected a whole number from %llu to %llu, got '%s'", what,
				(unsigned long long)min, (unsigned long long)max, s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return dp_usage(err, "%s: expected a whole number from %llu to %llu, got '%s'", what,
				(unsigned long long)min, (unsigned long long)max, s);
	*out = v;
	return 0;
}

int dp_parse_size(const char *what, const char *s, uint64_t max, uint64_t *out, dp_error **err)
{
	char *end = NULL;
	unsigned long long v;
	unsigned shift = 0;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		goto bad;
	switch (toupper((unsigned char)*end)) {
	case '\0': break;
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	case 'B': break; /* plain bytes, "512B" */
	default: goto bad;
	}
	if (shift && (*end == 'i' || *end == 'I'))
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || v == 0)
		goto bad;
	if (v > (UINT64_MAX >> shift) || (v << shift) > max)
		return dp_usage(err, "%s: '%s' is too large (at most %llu bytes)", what, s, (unsigned long long)max);
	*out = (uint64_t)v << shift;
	return 0;
bad:
	return dp_usage(err, "%s: expected a size such as 512K, 256M or 2G, got '%s'", what, s ? s : "");
}

int dp_parse_cpus(const char *what, const char *s, uint32_t *millicpus, dp_error **err)
{
	uint64_t whole = 0, frac = 0;
	int digits = 0;
	const char *p = s;

	if (s == NULL || !isdigit((unsigned char)*p))
		goto bad;
	while (isdigit((unsigned char)*p)) {
		whole = whole * 10 + (uint64_t)(*p++ - '0');
		if (whole > 1024)
			goto bad;
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			goto bad;
		while (isdigit((unsigned char)*p)) {
			if (digits < 3) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				digits++;
			}
			p++;
		}
		while (digits < 3) {
			frac *= 10;
			digits++;
		}
	}
	if (*p != '\0')
		goto bad;
	whole = whole * 1000 + frac;
	if (whole < 10 || whole > 1024 * 1000)
		goto bad;
	*millicpus = (uint32_t)whole;
	return 0;
bad:
	return dp_usage(err, "%s: expected a number of CPUs from 0.01 to 1024 such as 1 or 0.5, got '%s'", what,
			s ? s : "");
}

int dp_parse_publish(const char *what, const char *s, uint16_t *host, uint16_t *sandbox, dp_error **err)
{
	const char *colon = s ? strchr(s, ':') : NULL;
	char hostpart[8];
	uint64_t h, b;
	size_t n;

	if (colon == NULL || (n = (size_t)(colon - s)) == 0 || n >= sizeof(hostpart))
		return dp_usage(err, "%s: expected HOSTPORT:SANDBOXPORT such as 8080:80, got '%s'", what, s ? s : "");
	memcpy(hostpart, s, n);
	hostpart[n] = '\0';
	if (dp_parse_uint(what, hostpart, 1, 65535, &h, NULL) < 0 || dp_parse_uint(what, colon + 1, 1, 65535, &b, NULL) < 0)
		return dp_usage(err, "%s: expected HOSTPORT:SANDBOXPORT with ports from 1 to 65535, got '%s'", what, s);
	*host = (uint16_t)h;
	*sandbox = (uint16_t)b;
	return 0;
}
