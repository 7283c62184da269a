/* Does a column look personal? Two cheap, database-independent judges for
 * strict mode (see pii.h): one reads the column's name as words, one counts
 * how many sampled values have the shape of an email address, phone number,
 * payment card, IBAN or IP address. Both err on the side of flagging: a false
 * alarm costs the user one line in masking.allow, a miss leaks production
 * data into every sandbox. Nothing here allocates. */
#include "data/pii.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "data/checksum.h"

/* ---- by name ------------------------------------------------------------- */

/* Longer names are judged by their first NAME_MAX_LEN bytes: identifiers that
 * long do not happen in practice, and a fixed buffer keeps this allocation
 * free. */
#define NAME_MAX_LEN 255

typedef struct words {
	char buf[2 * NAME_MAX_LEN + 2]; /* lower-case words, each NUL-terminated */
	const char *w[NAME_MAX_LEN]; /* each word has a letter */
	size_t n;
} words;

/* Splits on anything that is not a letter (so '_', '-', ' ' and digits) and
 * on camelCase boundaries: "customerEmail" -> customer email, "IPAddress" ->
 * ip address, while an all-capitals "DOB" stays one word. */
static void split_words(const char *s, words *ws)
{
	size_t len = strnlen(s, NAME_MAX_LEN), o = 0;
	bool in_word = false;

	ws->n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool boundary;

		if (!isalpha(c)) {
			if (in_word)
				ws->buf[o++] = '\0';
			in_word = false;
			continue;
		}
		boundary = in_word && isupper(c) &&
			   (islower((unsigned char)s[i - 1]) ||
			    (i + 1 < len && isupper((unsigned char)s[i - 1]) && islower((unsigned char)s[i + 1])));
		if (boundary)
			ws->buf[o++] = '\0';
		if (!in_word || boundary)
			ws->w[ws->n++] = &ws->buf[o];
		ws->buf[o++] = (char)tolower(c);
		in_word = true;
	}
	if (in_word)
		ws->buf[o] = '\0';
}

enum how { WORD, SUB, PHRASE };

/* One way a name can mention something personal. WORD: a whole word; SUB: a
 * substring of one word, for the families people glue to other words
 * ("lastname", "telephone", "birthdate"); PHRASE: two consecutive words. */
typedef struct name_rule {
	enum how how;
	const char *a, *b;
	const char *suggest, *why;
} name_rule;

#define W_EMAIL "column name mentions email"
#define W_IP "column name mentions an IP address"
#define W_PHONE "column name mentions a phone number"
#define W_CITY "column name mentions a city"
#define W_POSTAL "column name mentions a postal code"
#define W_ADDRESS "column name mentions an address"
#define W_NAME "column name mentions a name"
#define W_IDDOC "column name mentions a social security or passport number"
#define W_TAXID "column name mentions a national or tax id"
#define W_BIRTH "column name mentions a birth date"
#define W_CARD "column name mentions a payment card"
#define W_CVV "column name mentions a card security code"
#define W_BANK "column name mentions a bank account"
#define W_SECRET "column name mentions a secret"
#define W_CONTACT "column name mentions a contact"

/* First match wins, so the order settles names that mention two things:
 * "email_address" is an email, "ip_address" an IP, "address_city" a city,
 * "street_name" an address, and "cardholder_name" or "birth_name" a name
 * (the card and date transformers would refuse a person's name). "contact"
 * comes last: "contact_email" and "contact_phone" say more. */
static const name_rule name_rules[] = {
	{ SUB, "email", NULL, "email", W_EMAIL },
	{ WORD, "mail", NULL, "email", W_EMAIL }, /* also "e-mail", "eMail" */

	/* whole words only: "description", "shipping" and "tip" contain "ip" */
	{ WORD, "ip", NULL, "ip", W_IP },
	{ WORD, "ipv", NULL, "ip", W_IP }, /* "ipv4", "ipv6": digits split words */
	{ WORD, "ipaddr", NULL, "ip", W_IP },
	{ WORD, "ipaddress", NULL, "ip", W_IP },
	{ WORD, "remoteaddr", NULL, "ip", W_IP },
	{ PHRASE, "remote", "addr", "ip", W_IP },
	{ PHRASE, "remote", "address", "ip", W_IP },

	{ SUB, "phone", NULL, "phone", W_PHONE },
	{ WORD, "mobile", NULL, "phone", W_PHONE },
	{ WORD, "tel", NULL, "phone", W_PHONE },
	{ WORD, "fax", NULL, "phone", W_PHONE },
	{ WORD, "msisdn", NULL, "phone", W_PHONE },

	{ WORD, "city", NULL, "city", W_CITY },
	{ WORD, "town", NULL, "city", W_CITY },

	{ WORD, "zip", NULL, "postal_code", W_POSTAL },
	{ WORD, "zipcode", NULL, "postal_code", W_POSTAL },
	{ WORD, "postcode", NULL, "postal_code", W_POSTAL },
	{ WORD, "postal", NULL, "postal_code", W_POSTAL },
	{ WORD, "postalcode", NULL, "postal_code", W_POSTAL },

	{ SUB, "address", NULL, "address", W_ADDRESS },
	{ WORD, "addr", NULL, "address", W_ADDRESS },
	{ WORD, "street", NULL, "address", W_ADDRESS },

	/* firstname, lastname, surname, forename, fullname, username, and a
	 * column called just "name"; "filename" too, which masking.allow fixes */
	{ SUB, "name", NULL, "name", W_NAME },

	/* "partial" keeps the last digits people use to tell records apart */
	{ SUB, "ssn", NULL, "partial", W_IDDOC },
	{ SUB, "socialsecurity", NULL, "partial", W_IDDOC },
	{ PHRASE, "social", "security", "partial", W_IDDOC },
	{ SUB, "passport", NULL, "partial", W_IDDOC },

	{ WORD, "nationalid", NULL, "hash", W_TAXID },
	{ PHRASE, "national", "id", "hash", W_TAXID },
	{ WORD, "taxid", NULL, "hash", W_TAXID },
	{ PHRASE, "tax", "id", "hash", W_TAXID },
	{ PHRASE, "tax", "number", "hash", W_TAXID },

	{ SUB, "birth", NULL, "date", W_BIRTH }, /* birthday, birthdate, date_of_birth */
	{ WORD, "dob", NULL, "date", W_BIRTH },

	{ WORD, "card", NULL, "card", W_CARD },
	{ WORD, "cardnumber", NULL, "card", W_CARD },
	{ WORD, "creditcard", NULL, "card", W_CARD },
	{ WORD, "ccnum", NULL, "card", W_CARD },
	{ WORD, "ccnumber", NULL, "card", W_CARD },
	{ PHRASE, "cc", "num", "card", W_CARD },
	{ PHRASE, "cc", "number", "card", W_CARD },
	{ WORD, "pan", NULL, "card", W_CARD },
	{ WORD, "cvv", NULL, "redact", W_CVV },
	{ WORD, "cvc", NULL, "redact", W_CVV },

	{ WORD, "iban", NULL, "iban", W_BANK },
	{ WORD, "accountnumber", NULL, "iban", W_BANK },
	{ PHRASE, "account", "number", "iban", W_BANK },
	{ WORD, "bankaccount", NULL, "iban", W_BANK },
	{ PHRASE, "bank", "account", "iban", W_BANK },

	{ SUB, "password", NULL, "hash", W_SECRET }, /* also "passwordhash" */
	{ WORD, "passwd", NULL, "hash", W_SECRET },
	{ WORD, "pwd", NULL, "hash", W_SECRET },
	{ WORD, "secret", NULL, "hash", W_SECRET },
	{ WORD, "token", NULL, "hash", W_SECRET },
	{ WORD, "apikey", NULL, "hash", W_SECRET },
	{ PHRASE, "api", "key", "hash", W_SECRET },

	{ WORD, "contact", NULL, "name", W_CONTACT },
};

static bool rule_matches(const name_rule *r, const words *ws)
{
	for (size_t i = 0; i < ws->n; i++) {
		switch (r->how) {
		case WORD:
			if (strcmp(ws->w[i], r->a) == 0)
				return true;
			break;
		case SUB:
			if (strstr(ws->w[i], r->a) != NULL)
				return true;
			break;
		case PHRASE:
			if (i + 1 < ws->n && strcmp(ws->w[i], r->a) == 0 && strcmp(ws->w[i + 1], r->b) == 0)
				return true;
			break;
		}
	}
	return false;
}

const char *dp_pii_by_name(const char *column, const char **why)
{
	words ws;

	if (why != NULL)
		*why = NULL;
	if (column == NULL)
		return NULL;
	split_words(column, &ws);
	for (size_t i = 0; i < sizeof(name_rules) / sizeof(name_rules[0]); i++)
		if (rule_matches(&name_rules[i], &ws)) {
			if (why != NULL)
				*why = name_rules[i].why;
			return name_rules[i].suggest;
		}
	return NULL;
}

/* ---- by value ------------------------------------------------------------ */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* 13 to 19 digits, optionally in groups split by single spaces or dashes,
 * passing Luhn. A leading 0 is no card (and rules out all-zero fillers). */
static bool looks_card(const char *p, size_t n)
{
	char d[19];
	size_t nd = 0;

	if (n < 13 || n > 2 * 19 - 1 || !is_digit(p[0]) || !is_digit(p[n - 1]) || p[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (is_digit(p[i])) {
			if (nd == sizeof(d))
				return false;
			d[nd++] = p[i];
		} else if ((p[i] != ' ' && p[i] != '-') || !is_digit(p[i - 1])) {
			return false; /* neither digit nor a single separator */
		}
	}
	return nd >= 13 && dp_luhn_valid(d, nd);
}

/* An IBAN, compact or grouped by single spaces ("DE89 3704 0044 ..."). */
static bool looks_iban(const char *p, size_t n)
{
	char c[34];
	size_t nc = 0;

	if (n < 15 || n > 2 * 34 - 1 || !isalnum((unsigned char)p[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (isalnum((unsigned char)p[i])) {
			if (nc == sizeof(c))
				return false;
			c[nc++] = p[i];
		} else if (p[i] != ' ' || i == 0 || p[i - 1] == ' ') {
			return false;
		}
	}
	return dp_iban_valid(c, nc);
}

/* local@domain.tld: one '@', no spaces, a domain of two or more labels and
 * a top-level label of letters. Bytes >= 0x80 pass, for internationalised
 * addresses. Deliberately looser than RFC 5322, tighter than "has an @". */
static bool looks_email(const char *p, size_t n)
{
	const char *at = memchr(p, '@', n), *dom, *end = p + n, *label;
	size_t labels = 0;

	if (at == NULL || at == p || at - p > 64 || n > 254 || memchr(at + 1, '@', (size_t)(end - at - 1)))
		return false;
	for (const char *q = p; q < at; q++) {
		unsigned char c = (unsigned char)*q;
		if (c <= ' ' || c == 0x7f || strchr("()<>[]:;,\\\"", c) != NULL)
			return false;
	}
	if (p[0] == '.' || at[-1] == '.')
		return false;
	dom = at + 1;
	label = dom;
	for (const char *q = dom; q <= end; q++) {
		if (q == end || *q == '.') {
			if (q == label || q - label > 63)
				return false; /* empty or oversized label */
			labels++;
			label = q + 1;
			continue;
		}
		if (!(isalnum((unsigned char)*q) || *q == '-' || (unsigned char)*q >= 0x80))
			return false;
	}
	if (labels < 2)
		return false;
	/* the top-level label: two or more letters */
	for (label = end; label > dom && label[-1] != '.'; label--)
		;
	if (end - label < 2)
		return false;
	for (const char *q = label; q < end; q++)
		if (!isalpha((unsigned char)*q) && (unsigned char)*q < 0x80)
			return false;
	return true;
}

static bool looks_ip(const char *p, size_t n)
{
	char buf[INET6_ADDRSTRLEN];
	unsigned char addr[sizeof(struct in6_addr)];

	if (n < 2 || n >= sizeof(buf) || memchr(p, '\0', n) != NULL)
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return inet_pton(memchr(p, ':', n) ? AF_INET6 : AF_INET, buf, addr) == 1;
}

/* Three digit groups joined by one kind of separator, shaped like a date
 * (2024-01-05, 05.01.2024, 1/5/2024): eight digits and dashes, but no phone. */
static bool looks_date(const char *p, size_t n)
{
	unsigned g[3] = { 0 }, len[3] = { 0 };
	size_t k = 0;
	char sep = 0;

	for (size_t i = 0; i < n; i++) {
		if (is_digit(p[i])) {
			if (len[k]++ == 4)
				return false;
			g[k] = g[k] * 10 + (unsigned)(p[i] - '0');
		} else if (strchr("-./ ", p[i]) != NULL && (sep == 0 || sep == p[i]) && len[k] > 0 && k < 2) {
			sep = p[i];
			k++;
		} else {
			return false;
		}
	}
	if (k != 2 || len[2] == 0)
		return false;
	if (len[0] == 4 && len[1] <= 2 && len[2] <= 2) /* year, month, day */
		return g[1] >= 1 && g[1] <= 12 && g[2] >= 1 && g[2] <= 31;
	if (len[0] <= 2 && len[1] <= 2 && len[2] == 4) /* day and month, either order */
		return g[0] >= 1 && g[0] <= 31 && g[1] >= 1 && g[1] <= 31 && (g[0] <= 12 || g[1] <= 12);
	return false;
}

/* An optional '+', then 7 to 15 digits split by single spaces, dashes or
 * dots, with at most one parenthesised group ("(555) 010-9999",
 * "+49 (0) 151 1234567"). A bare run of digits only counts when it starts
 * with '+' or a trunk/international prefix 0, since ids, amounts and
 * timestamps are bare digits too; decimals and dates are turned away. */
static bool looks_phone(const char *p, size_t n)
{
	const char *q = p, *end = p + n;
	size_t digits = 0, seps = 0, dots = 0;
	bool plus = false, in_paren = false, had_paren = false, prev_sep = false;

	if (n == 0 || n > 32)
		return false;
	if (*q == '+') {
		plus = true;
		q++;
	}
	if (q == end || !(is_digit(*q) || *q == '('))
		return false;
	if (!is_digit(end[-1]))
		return false;
	for (const char *s = q; s < end; s++) {
		char c = *s;
		if (is_digit(c)) {
			digits++;
			prev_sep = false;
		} else if (c == ' ' || c == '-' || c == '.') {
			if (prev_sep)
				return false;
			prev_sep = true;
			seps++;
			dots += c == '.';
		} else if (c == '(' && !had_paren) {
			had_paren = in_paren = true;
			prev_sep = false;
		} else if (c == ')' && in_paren && is_digit(s[-1])) {
			in_paren = false;
			prev_sep = false;
		} else {
			return false;
		}
	}
	if (in_paren || digits < 7 || digits > 15)
		return false;
	if (!plus && !had_paren) {
		if (seps == 0 && (q[0] != '0' || (n >= 3 && q[1] == '0' && q[2] == '0')))
			return false; /* a plain number; "000..." is zero padding */
		if (seps == 1 && dots == 1)
			return false; /* a decimal number */
		if (looks_date(q, (size_t)(end - q)))
			return false;
	}
	return true;
}

void dp_pii_sample_add(dp_pii_sample *s, const char *text, size_t n)
{
	s->seen++;
	if (text == NULL)
		return;
	while (n > 0 && is_space(text[0])) {
		text++;
		n--;
	}
	while (n > 0 && is_space(text[n - 1]))
		n--;
	if (n == 0)
		return;
	/* each value counts once, in the most specific shape it has: an IP
	 * address is also digits and dots, a card number digits and spaces */
	if (looks_card(text, n))
		s->card++;
	else if (looks_iban(text, n))
		s->iban++;
	else if (looks_email(text, n))
		s->email++;
	else if (looks_ip(text, n))
		s->ip++;
	else if (looks_phone(text, n))
		s->phone++;
}

const char *dp_pii_sample_verdict(const dp_pii_sample *s, char *why_buf, size_t why_sz)
{
	/* priority order, for a sample split evenly between two shapes */
	const struct {
		uint32_t count;
		const char *suggest, *what;
	} cats[] = {
		{ s->card, "card", "payment card numbers" },
		{ s->iban, "iban", "IBANs" },
		{ s->email, "email", "email addresses" },
		{ s->ip, "ip", "IP addresses" },
		{ s->phone, "phone", "phone numbers" },
	};

	if (s->seen == 0)
		return NULL;
	for (size_t i = 0; i < sizeof(cats) / sizeof(cats[0]); i++) {
		if (cats[i].count == 0 || 2 * (uint64_t)cats[i].count < s->seen)
			continue;
		if (why_buf != NULL && why_sz > 0)
			snprintf(why_buf, why_sz, "%lu of %lu sampled values look like %s",
				 (unsigned long)cats[i].count, (unsigned long)s->seen, cats[i].what);
		return cats[i].suggest;
	}
	return NULL;
}
