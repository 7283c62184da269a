/* Unit tests of src/data/pii.h, the judge behind strict mode: which column
 * names read as personal (and which transformer they suggest), which values
 * have the shape of an email, phone, card, IBAN or IP address, and when a
 * sample as a whole looks personal. Misses leak data, false alarms annoy:
 * both directions are tested. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "data/pii.h"

typedef struct name_case {
	const char *column, *suggest; /* suggest NULL: impersonal */
} name_case;

static void check_names(const name_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *why = "untouched";
		const char *got = dp_pii_by_name(cases[i].column, &why);

		if (cases[i].suggest == NULL) {
			if (got != NULL)
				fail_msg("'%s' judged personal (%s: %s)", cases[i].column, got, why ? why : "?");
			assert_null(why);
			continue;
		}
		if (got == NULL)
			fail_msg("'%s' not judged personal, want %s", cases[i].column, cases[i].suggest);
		if (strcmp(got, cases[i].suggest) != 0)
			fail_msg("'%s' suggests %s, want %s", cases[i].column, got, cases[i].suggest);
		assert_non_null(why);
		assert_non_null(strstr(why, "column name mentions"));
	}
}

#define CHECK_NAMES(a) check_names((a), sizeof(a) / sizeof((a)[0]))

static void test_name_email(void **state)
{
	static const name_case c[] = {
		{ "email", "email" },	      { "EMAIL", "email" },	       { "customer_email", "email" },
		{ "customerEmail", "email" }, { "CustomerEMail", "email" },   { "e-mail", "email" },
		{ "e_mail", "email" },	      { "mail", "email" },	       { "email_address", "email" },
		{ "emailAddress", "email" },  { "contact_email", "email" },   { "billing email 2", "email" },
		{ "user2email", "email" },    { "work_emails", "email" },
	};
	(void)state;
	CHECK_NAMES(c);
}

static void test_name_phone(void **state)
{
	static const name_case c[] = {
		{ "phone", "phone" },	      { "phone_number", "phone" },  { "phoneNumber", "phone" },
		{ "PHONE", "phone" },	      { "telephone", "phone" },	    { "mobile", "phone" },
		{ "mobile_no", "phone" },     { "tel", "phone" },	    { "tel_1", "phone" },
		{ "fax", "phone" },	      { "msisdn", "phone" },	    { "cellphone", "phone" },
		{ "contact_phone", "phone" }, { "HomePhone2", "phone" },
	};
	(void)state;
	CHECK_NAMES(c);
}

static void test_name_name(void **state)
{
	static const name_case c[] = {
		{ "name", "name" },	       { "NAME", "name" },	     { "first_name", "name" },
		{ "firstname", "name" },       { "firstName", "name" },	     { "lastName", "name" },
		{ "last-name", "name" },       { "surname", "name" },	     { "full_name", "name" },
		{ "fullname", "name" },	       { "given_name", "name" },     { "forename", "name" },
		{ "username", "name" },	       { "UserName", "name" },	     { "contact", "name" },
		{ "contact_person", "name" },  { "cardholder_name", "name" }, { "birth_name", "name" },
		{ "filename", "name" }, /* accepted: masking.allow is the way out */
	};
	(void)state;
	CHECK_NAMES(c);
}

static void test_name_places(void **state)
{
	static const name_case c[] = {
		{ "address", "address" },	  { "street_address", "address" }, { "streetAddress", "address" },
		{ "billing_address", "address" }, { "address_line_1", "address" }, { "addr", "address" },
		{ "street", "address" },	  { "street_name", "address" },    { "HomeAddress", "address" },
		{ "city", "city" },		  { "City", "city" },		   { "billing_city", "city" },
		{ "town", "city" },		  { "city_name", "city" },	   { "address_city", "city" },
		{ "zip", "postal_code" },	  { "zip_code", "postal_code" },   { "zipCode", "postal_code" },
		{ "ZIPCode", "postal_code" },	  { "zipcode", "postal_code" },	   { "postcode", "postal_code" },
		{ "postal_code", "postal_code" }, { "postalCode", "postal_code" }, { "address_zip", "postal_code" },
	};
	(void)state;
	CHECK_NAMES(c);
}

static void test_name_ids_and_dates(void **state)
{
	static const name_case c[] = {
		{ "date_of_birth", "date" },	{ "dateOfBirth", "date" },    { "dob", "date" },
		{ "DOB", "date" },		{ "birthday", "date" },	      { "birthdate", "date" },
		{ "birth_date", "date" },	{ "ssn", "partial" },	      { "SSN", "partial" },
		{ "customer_ssn", "partial" },	{ "social_security_number", "partial" },
		{ "socialSecurityNumber", "partial" },
		{ "passport", "partial" },	{ "passport_no", "partial" }, { "national_id", "hash" },
		{ "nationalId", "hash" },	{ "tax_id", "hash" },	      { "taxid", "hash" },
		{ "tax_number", "hash" },	{ "password", "hash" },	      { "password_hash", "hash" },
		{ "passwordHash", "hash" },	{ "passwd", "hash" },	      { "api_key", "hash" },
		{ "client_secret", "hash" },	{ "refresh_token", "hash" },
	};
	(void)state;
	CHECK_NAMES(c);
}

static void test_name_money_and_net(void **state)
{
	static const name_case c[] = {
		{ "card", "card" },	      { "card_number", "card" },    { "cardNumber", "card" },
		{ "credit_card", "card" },    { "creditcard", "card" },	    { "cc_number", "card" },
		{ "ccnum", "card" },	      { "pan", "card" },	    { "cvv", "redact" },
		{ "iban", "iban" },	      { "IBAN", "iban" },	    { "payout_iban", "iban" },
		{ "account_number", "iban" }, { "accountNumber", "iban" },  { "bank_account", "iban" },
		{ "ip", "ip" },		      { "IP", "ip" },		    { "ip_address", "ip" },
		{ "ipAddress", "ip" },	      { "IPAddress", "ip" },	    { "ipaddr", "ip" },
		{ "ipv4", "ip" },	      { "ipv6_addr", "ip" },	    { "remote_addr", "ip" },
		{ "remoteAddress", "ip" },    { "client_ip", "ip" },	    { "clientIP", "ip" },
		{ "last_login_ip", "ip" },
	};
	(void)state;
	CHECK_NAMES(c);
}

static void test_name_impersonal(void **state)
{
	static const name_case c[] = {
		{ "id", NULL },		     { "ID", NULL },		   { "price", NULL },
		{ "quantity", NULL },	     { "description", NULL },	   { "shipping_cost", NULL },
		{ "shippingCost", NULL },    { "created_at", NULL },	   { "updated_at", NULL },
		{ "tip", NULL },	     { "tip_amount", NULL },	   { "sku", NULL },
		{ "status", NULL },	     { "total", NULL },		   { "order_id", NULL },
		{ "is_active", NULL },	     { "zipper", NULL },	   { "hotel_rating", NULL },
		{ "telemetry", NULL },	     { "panel", NULL },		   { "cardinality", NULL },
		{ "ipo_date", NULL },	     { "recipe", NULL },	   { "membership", NULL },
		{ "business_unit", NULL },   { "tax_rate", NULL },	   { "account_type", NULL },
		{ "", NULL },		     { "_", NULL },		   { "42", NULL },
		{ "x1", NULL },
	};
	(void)state;
	CHECK_NAMES(c);
}

/* why may be NULL; column may be NULL; long and odd names are judged safely */
static void test_name_edges(void **state)
{
	char longname[600], camel[300];
	const char *why = "untouched";

	(void)state;
	assert_string_equal(dp_pii_by_name("customer_email", NULL), "email");
	assert_null(dp_pii_by_name(NULL, &why));
	assert_null(why);

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_null(dp_pii_by_name(longname, &why));
	memcpy(longname + 10, "_email_", 7);
	assert_string_equal(dp_pii_by_name(longname, &why), "email");
	assert_string_equal(why, "column name mentions email");

	/* "EFg" repeated makes two words of every three letters */
	for (size_t i = 0; i + 1 < sizeof(camel); i++)
		camel[i] = "EFg"[i % 3];
	camel[sizeof(camel) - 1] = '\0';
	assert_null(dp_pii_by_name(camel, &why));
	for (size_t i = 0; i + 1 < sizeof(camel); i++)
		camel[i] = i % 2 ? '_' : 'a';
	assert_null(dp_pii_by_name(camel, &why));
}

/* ---- values ---------------------------------------------------------------- */

/* The one shape a single value is counted as: "card", "iban", "email", "ip",
 * "phone" or "none". */
static const char *shape(const char *v)
{
	dp_pii_sample s = { 0 };

	dp_pii_sample_add(&s, v, strlen(v));
	assert_int_equal(s.seen, 1);
	assert_true(s.card + s.iban + s.email + s.ip + s.phone <= 1);
	return s.card ? "card" : s.iban ? "iban" : s.email ? "email" : s.ip ? "ip" : s.phone ? "phone" : "none";
}

typedef struct value_case {
	const char *value, *shape;
} value_case;

static void check_values(const value_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *got = shape(cases[i].value);
		if (strcmp(got, cases[i].shape) != 0)
			fail_msg("'%s' looks like %s, want %s", cases[i].value, got, cases[i].shape);
	}
}

#define CHECK_VALUES(a) check_values((a), sizeof(a) / sizeof((a)[0]))

static void test_value_email(void **state)
{
	static const value_case c[] = {
		{ "alice@example.com", "email" },
		{ "Alice.Smith+news@mail.example.co.uk", "email" },
		{ "  bob@example.org\n", "email" }, /* trimmed */
		{ "x@y.io", "email" },
		{ "jörg@müller.de", "email" },
		{ "o'brien@example.ie", "email" },
		{ "alice@example", "none" },	    /* no dot in the domain */
		{ "alice@@example.com", "none" },
		{ "alice@ex@ample.com", "none" },
		{ "@example.com", "none" },
		{ "alice@", "none" },
		{ "alice smith@example.com", "none" },
		{ "alice@exa mple.com", "none" },
		{ "alice@example.c", "none" },	    /* one-letter top level */
		{ "alice@example.123", "none" },
		{ "alice@.example.com", "none" },
		{ "alice@example..com", "none" },
		{ "alice@example.com.", "none" },
		{ ".alice@example.com", "none" },
		{ "Alice <alice@example.com>", "none" },
		{ "see example.com", "none" },
		{ "@", "none" },
	};
	(void)state;
	CHECK_VALUES(c);
}

static void test_value_phone(void **state)
{
	static const value_case c[] = {
		{ "+4915112345678", "phone" },
		{ "(555) 010-9999", "phone" },
		{ "0151 1234567", "phone" },
		{ "01511234567", "phone" },
		{ "+1 555 010 9999", "phone" },
		{ "+1-555-010-9999", "phone" },
		{ "555-010-9999", "phone" },
		{ "555.010.9999", "phone" },
		{ "+49 (0) 151 1234567", "phone" },
		{ "+44 20 7946 0958", "phone" },
		{ "0049 151 1234567", "phone" },
		{ "123-4567", "phone" },	      /* 7 digits, the minimum */
		{ " +33 6 12 34 56 78 ", "phone" },
		{ "+123456789012345", "phone" },      /* 15 digits, the maximum */
		{ "12345678", "none" },		      /* a plain number */
		{ "1704412800", "none" },	      /* a timestamp */
		{ "0001234567", "none" },	      /* zero padding */
		{ "+1234567890123456", "none" },      /* 16 digits */
		{ "123-456", "none" },		      /* 6 digits */
		{ "2024-01-05", "none" },	      /* dates */
		{ "2024-12-31", "none" },
		{ "05.01.2024", "none" },
		{ "12/31/2024", "none" },
		{ "2024 01 05", "none" },
		{ "2024-01-05 12:30:00", "none" },
		{ "12:30:45", "none" },
		{ "1234567.89", "none" },	      /* a decimal */
		{ "0.12345678", "none" },
		{ "-1234567", "none" },
		{ "555--010-9999", "none" },
		{ "555-010-9999-", "none" },
		{ "(555 010-9999", "none" },
		{ "555) 010-9999", "none" },
		{ "(555) (010) 9999", "none" },
		{ "+", "none" },
		{ "++4915112345678", "none" },
		{ "call 0151 1234567", "none" },
		{ "0151 1234567 ext", "none" },
		{ "ABC-1234-567", "none" },
	};
	(void)state;
	CHECK_VALUES(c);
}

static void test_value_card(void **state)
{
	static const value_case c[] = {
		{ "4111111111111111", "card" },
		{ "4111 1111 1111 1111", "card" },
		{ "4111-1111-1111-1111", "card" },
		{ "5555555555554444", "card" },
		{ "378282246310005", "card" },	     /* Amex, 15 digits */
		{ "3782 822463 10005", "card" },
		{ "6011000990139424", "card" },
		{ "4222222222222", "card" },	     /* 13 digits */
		{ "4111111111111112", "none" },	     /* Luhn fails */
		{ "4111 1111 1111 1112", "none" },
		{ "4111  1111 1111 1111", "none" },  /* double space */
		{ "4111 1111 1111 1111 ", "card" },  /* trailing space is trimmed */
		{ "4111_1111_1111_1111", "none" },
		{ "0000000000000000", "none" },	     /* filler, though Luhn-valid */
		{ "411111111111", "none" },	     /* 12 digits */
		{ "41111111111111111111", "none" },  /* 20 digits */
		{ "4111111111111111a", "none" },
	};
	(void)state;
	CHECK_VALUES(c);
}

static void test_value_iban(void **state)
{
	static const value_case c[] = {
		{ "DE89370400440532013000", "iban" },
		{ "DE89 3704 0044 0532 0130 00", "iban" },
		{ "GB82WEST12345698765432", "iban" },
		{ "GB82 WEST 1234 5698 7654 32", "iban" },
		{ "gb82west12345698765432", "iban" },
		{ "FR1420041010050500013M02606", "iban" },
		{ "DE89370400440532013001", "none" }, /* check digits wrong */
		{ "DE89  3704 0044 0532 0130 00", "none" },
		{ "DE89-3704-0044-0532-0130-00", "none" },
		{ "DE8937040044", "none" },
		{ "XX00000000000000000000", "none" },
	};
	(void)state;
	CHECK_VALUES(c);
}

static void test_value_ip(void **state)
{
	static const value_case c[] = {
		{ "192.168.1.10", "ip" },
		{ "8.8.8.8", "ip" },
		{ "10.0.0.1\n", "ip" },
		{ "::1", "ip" },
		{ "2001:db8::1", "ip" },
		{ "fe80::1ff:fe23:4567:890a", "ip" },
		{ "::ffff:192.0.2.128", "ip" },
		{ "256.1.1.1", "none" },
		{ "1.2.3", "none" },
		{ "1.2.3.4.5", "none" },
		{ "2001:db8::1::2", "none" },
		{ "12:30", "none" },
		{ "localhost", "none" },
		{ "1111:2222:3333:4444:5555:6666:7777:8888:9999", "none" },
		{ "0000:0000:0000:0000:0000:ffff:192.168.100.228x", "none" }, /* too long */
	};
	(void)state;
	CHECK_VALUES(c);
}

static void test_value_impersonal(void **state)
{
	static const value_case c[] = {
		{ "", "none" },
		{ "   ", "none" },
		{ "hello world", "none" },
		{ "Alice", "none" },
		{ "42", "none" },
		{ "-17", "none" },
		{ "3.14159", "none" },
		{ "true", "none" },
		{ "123e4567-e89b-12d3-a456-426614174000", "none" },
		{ "https://example.com/a?b=c", "none" },
		{ "SKU-000123", "none" },
		{ "2024-01-05T10:00:00Z", "none" },
		{ "{\"a\": 1}", "none" },
	};
	(void)state;
	CHECK_VALUES(c);
}

/* values are n bytes, not NUL-terminated; NULL counts as seen */
static void test_value_bounds(void **state)
{
	dp_pii_sample s = { 0 };
	const char email[] = "a@b.cdXXXX@", card[] = "41111111111111119999", ip[] = "10.0.0.12345";

	(void)state;
	dp_pii_sample_add(&s, email, 6);
	assert_int_equal(s.email, 1);
	dp_pii_sample_add(&s, card, 16);
	assert_int_equal(s.card, 1);
	dp_pii_sample_add(&s, ip, 9);
	assert_int_equal(s.ip, 1);
	dp_pii_sample_add(&s, ip, 10); /* 10.0.0.123 */
	assert_int_equal(s.ip, 2);
	assert_int_equal(s.seen, 4);
	dp_pii_sample_add(&s, NULL, 0);
	dp_pii_sample_add(&s, "x", 0);
	assert_int_equal(s.seen, 6);
	assert_int_equal(s.email + s.card + s.ip + s.iban + s.phone, 4);
}

/* ---- verdicts ---------------------------------------------------------------- */

static void add_n(dp_pii_sample *s, const char *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		dp_pii_sample_add(s, v, strlen(v));
}

static void test_verdict_threshold(void **state)
{
	dp_pii_sample s = { 0 };
	char why[160];

	(void)state;
	strcpy(why, "untouched");
	assert_null(dp_pii_sample_verdict(&s, why, sizeof(why)));

	add_n(&s, "alice@example.com", 9);
	add_n(&s, "n/a", 1);
	assert_string_equal(dp_pii_sample_verdict(&s, why, sizeof(why)), "email");
	assert_string_equal(why, "9 of 10 sampled values look like email addresses");

	s = (dp_pii_sample){ 0 };
	add_n(&s, "alice@example.com", 4);
	add_n(&s, "nothing", 6);
	assert_null(dp_pii_sample_verdict(&s, why, sizeof(why))); /* 40% */
	add_n(&s, "bob@example.com", 1);
	assert_null(dp_pii_sample_verdict(&s, why, sizeof(why))); /* 5 of 11 */
	add_n(&s, "carol@example.com", 1);
	assert_string_equal(dp_pii_sample_verdict(&s, why, sizeof(why)), "email"); /* 6 of 12: half is enough */
	assert_string_equal(why, "6 of 12 sampled values look like email addresses");

	s = (dp_pii_sample){ 0 };
	add_n(&s, "nothing", 20);
	assert_null(dp_pii_sample_verdict(&s, why, sizeof(why)));

	s = (dp_pii_sample){ 0 };
	add_n(&s, "+4915112345678", 1);
	assert_string_equal(dp_pii_sample_verdict(&s, why, sizeof(why)), "phone");
	assert_string_equal(why, "1 of 1 sampled values look like phone numbers");
}

/* mixed shapes: none alone reaches half, so nothing is said */
static void test_verdict_mixed(void **state)
{
	dp_pii_sample s = { 0 };
	char why[160];

	(void)state;
	add_n(&s, "alice@example.com", 3);
	add_n(&s, "+4915112345678", 3);
	add_n(&s, "10.0.0.1", 3);
	add_n(&s, "4111111111111111", 1);
	assert_int_equal(s.seen, 10);
	assert_null(dp_pii_sample_verdict(&s, why, sizeof(why)));
}

/* two shapes at exactly half each: card > iban > email > ip > phone */
static void test_verdict_priority(void **state)
{
	static const struct {
		const char *a, *b, *want;
	} c[] = {
		{ "alice@example.com", "4111111111111111", "card" },
		{ "DE89370400440532013000", "4111111111111111", "card" },
		{ "alice@example.com", "DE89370400440532013000", "iban" },
		{ "10.0.0.1", "alice@example.com", "email" },
		{ "+4915112345678", "10.0.0.1", "ip" },
		{ "+4915112345678", "nothing", "phone" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		dp_pii_sample s = { 0 };
		char why[160];
		const char *got;
		add_n(&s, c[i].a, 5);
		add_n(&s, c[i].b, 5);
		got = dp_pii_sample_verdict(&s, why, sizeof(why));
		if (got == NULL || strcmp(got, c[i].want) != 0)
			fail_msg("'%s' + '%s' gives %s, want %s", c[i].a, c[i].b, got ? got : "NULL", c[i].want);
		assert_non_null(strstr(why, "5 of 10 sampled values look like"));
	}
}

static void test_verdict_why_buffer(void **state)
{
	dp_pii_sample s = { 0 };
	char why[8];

	(void)state;
	add_n(&s, "4111 1111 1111 1111", 3);
	add_n(&s, "DE89 3704 0044 0532 0130 00", 2);
	memset(why, 'z', sizeof(why));
	assert_string_equal(dp_pii_sample_verdict(&s, why, sizeof(why)), "card");
	assert_string_equal(why, "3 of 5 "); /* truncated, terminated */
	assert_string_equal(dp_pii_sample_verdict(&s, NULL, 0), "card");
	memset(why, 'z', sizeof(why));
	assert_string_equal(dp_pii_sample_verdict(&s, why, 0), "card");
	assert_int_equal(why[0], 'z');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_email),
		cmocka_unit_test(test_name_phone),
		cmocka_unit_test(test_name_name),
		cmocka_unit_test(test_name_places),
		cmocka_unit_test(test_name_ids_and_dates),
		cmocka_unit_test(test_name_money_and_net),
		cmocka_unit_test(test_name_impersonal),
		cmocka_unit_test(test_name_edges),
		cmocka_unit_test(test_value_email),
		cmocka_unit_test(test_value_phone),
		cmocka_unit_test(test_value_card),
		cmocka_unit_test(test_value_iban),
		cmocka_unit_test(test_value_ip),
		cmocka_unit_test(test_value_impersonal),
		cmocka_unit_test(test_value_bounds),
		cmocka_unit_test(test_verdict_threshold),
		cmocka_unit_test(test_verdict_mixed),
		cmocka_unit_test(test_verdict_priority),
		cmocka_unit_test(test_verdict_why_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
