/* Original -> fake for unique columns; see keymap.h.
 *
 * Values are kept as fingerprints: the first 64 bits of SipHash-2-4 with a
 * 128-bit output (libsodium's crypto_shorthash_siphashx24) under a per-map
 * random key, over rule (4 bytes) || type (1 byte) || bytes (INT and REAL as
 * their 8 bytes). by_fake is an open-addressing table of 16-byte slots,
 * (fake's fingerprint, its owner's fingerprint): a claim is one probe, no
 * entry elsewhere to compare. Two fakes that share a fingerprint (about
 * 3e-8 per million keys) only send the second original on to its next
 * attempt; two originals that share one (2^-64 for each collision of their
 * fakes) would be given one fake, which the copy's UNIQUE index refuses
 * loudly. Only the originals that moved to a later attempt (a few in a
 * thousand) keep their fake's bytes, in an arena indexed by by_orig, for get.
 * Earlier versions kept every original and fake in full: a million keys
 * were 112 MB of fresh memory, now 32 MB, whose page faults and zeroing
 * cost more than the probes (measured on a VM). */
#include "data/keymap.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE (2u << 20)

typedef uint64_t fp; /* never 0: 0 marks an empty slot */

/* by_fake: a fake and its owner; by_orig: a moved original and the arena
 * offset of its fake. */
typedef struct slot {
	fp key;
	uint64_t val;
} slot;

typedef struct table {
	slot *s;
	size_t cap; /* a power of two */
	size_t n;
} table;

struct dp_keymap {
	unsigned char *arena; /* moved originals' fakes: type, length (4 bytes), bytes */
	size_t len, cap;
	table by_fake, by_orig;
	unsigned char hkey[crypto_shorthash_siphashx24_KEYBYTES];
};

static fp fingerprint(const dp_keymap *m, uint32_t rule, const dp_val *v)
{
	unsigned char out[crypto_shorthash_siphashx24_BYTES], stackbuf[256], *msg = stackbuf;
	const void *p;
	size_t n, len;
	fp f;

	if (v->type == DP_VAL_INT || v->type == DP_VAL_REAL) {
		p = v->type == DP_VAL_INT ? (const void *)&v->i : (const void *)&v->r;
		n = 8;
	} else {
		p = v->p;
		n = v->p ? v->n : 0;
	}
	len = 5 + n;
	if (len > sizeof(stackbuf) && (msg = malloc(len)) == NULL)
		abort();
	memcpy(msg, &rule, 4);
	msg[4] = (unsigned char)v->type;
	if (n)
		memcpy(msg + 5, p, n);
	crypto_shorthash_siphashx24(out, msg, len, m->hkey);
	if (msg != stackbuf)
		free(msg);
	memcpy(&f, out, 8);
	return f | 1;
}

/* The slot holding key, or the empty slot where it goes. */
static slot *find(const table *t, fp key)
{
	size_t mask = t->cap - 1;

	for (size_t i = (size_t)key & mask;; i = (i + 1) & mask)
		if (t->s[i].key == 0 || t->s[i].key == key)
			return &t->s[i];
}

/* Slot arrays come zeroed from mmap. A big one is asked for in huge pages:
 * every probe lands on a random slot, and with 4 KiB pages each one was a
 * TLB miss as well as a cache miss. */
static slot *slots_alloc(size_t cap)
{
	size_t len = cap * sizeof(slot);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (len >= HUGE_PAGE)
		(void)madvise(p, len, MADV_HUGEPAGE); /* a hint: fine to be refused */
	return p;
}

static void slots_free(table *t)
{
	if (t->s != NULL)
		munmap(t->s, t->cap * sizeof(slot));
	t->s = NULL;
}

static int grow_to(table *t, size_t cap)
{
	table n = { .cap = cap, .n = t->n };

	n.s = slots_alloc(n.cap);
	if (n.s == NULL)
		return -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->s[i].key)
			*find(&n, t->s[i].key) = t->s[i];
	slots_free(t);
	*t = n;
	return 0;
}

/* Room for one more entry, the table at most half full. */
static int room(table *t)
{
	return (t->n + 1) * 2 <= t->cap ? 0 : grow_to(t, t->cap ? t->cap * 2 : 1024);
}

int dp_keymap_reserve(dp_keymap *m, size_t n)
{
	size_t cap = m->by_fake.cap;

	if (n > (size_t)1 << 32)
		n = (size_t)1 << 32; /* a hint, not a promise: growing still works past it */
	while (cap < 2 * (m->by_fake.n + n))
		cap *= 2;
	return cap == m->by_fake.cap ? 0 : grow_to(&m->by_fake, cap);
}

dp_keymap *dp_keymap_new(void)
{
	dp_keymap *m = calloc(1, sizeof(*m));

	if (m == NULL || sodium_init() < 0 || grow_to(&m->by_orig, 1024) < 0 || grow_to(&m->by_fake, 1024) < 0) {
		dp_keymap_free(m);
		return NULL;
	}
	randombytes_buf(m->hkey, sizeof(m->hkey));
	return m;
}

void dp_keymap_free(dp_keymap *m)
{
	if (m == NULL)
		return;
	free(m->arena);
	slots_free(&m->by_orig);
	slots_free(&m->by_fake);
	sodium_memzero(m->hkey, sizeof(m->hkey));
	free(m);
}

bool dp_keymap_get(dp_keymap *m, uint32_t rule, const dp_val *orig, dp_val *fake)
{
	const unsigned char *p;
	uint32_t n;
	slot *s;

	if (m->by_orig.n == 0)
		return false; /* the common case: nothing moved, no hashing */
	s = find(&m->by_orig, fingerprint(m, rule, orig));
	if (s->key == 0)
		return false;
	p = m->arena + s->val;
	memcpy(&n, p + 1, 4);
	memset(fake, 0, sizeof(*fake));
	fake->type = (dp_val_type)p[0];
	if (fake->type == DP_VAL_INT)
		memcpy(&fake->i, p + 5, 8);
	else if (fake->type == DP_VAL_REAL)
		memcpy(&fake->r, p + 5, 8);
	else {
		fake->p = (const char *)p + 5;
		fake->n = n;
	}
	return true;
}

int dp_keymap_claim(dp_keymap *m, uint32_t rule, const dp_val *orig, const dp_val *fake)
{
	fp f = fingerprint(m, rule, fake), o;
	slot *s = find(&m->by_fake, f);

	o = fingerprint(m, rule, orig);
	if (s->key)
		return s->val == o ? 1 : 0;
	if ((m->by_fake.n + 1) * 2 > m->by_fake.cap) {
		if (room(&m->by_fake) < 0)
			return -1;
		s = find(&m->by_fake, f);
	}
	*s = (slot){ .key = f, .val = o };
	m->by_fake.n++;
	return 1;
}

void dp_keymap_prefetch(const dp_keymap *m, uint32_t rule, const dp_val *fake)
{
	__builtin_prefetch(&m->by_fake.s[(size_t)fingerprint(m, rule, fake) & (m->by_fake.cap - 1)]);
}

int dp_keymap_put(dp_keymap *m, uint32_t rule, const dp_val *orig, const dp_val *fake)
{
	const void *p = fake->type == DP_VAL_INT ? (const void *)&fake->i
			: fake->type == DP_VAL_REAL ? (const void *)&fake->r
						    : (const void *)fake->p;
	uint32_t n = fake->type == DP_VAL_INT || fake->type == DP_VAL_REAL ? 8 : (uint32_t)fake->n;
	fp o = fingerprint(m, rule, orig);
	slot *s;

	if (find(&m->by_fake, fingerprint(m, rule, fake))->key == 0)
		return -1; /* claim first */
	if (m->len + 5 + n > m->cap) {
		size_t cap = m->cap ? m->cap : 1 << 16;
		unsigned char *np;
		while (cap < m->len + 5 + n)
			cap *= 2;
		np = realloc(m->arena, cap);
		if (np == NULL)
			return -1;
		m->arena = np;
		m->cap = cap;
	}
	if (room(&m->by_orig) < 0)
		return -1;
	s = find(&m->by_orig, o);
	if (s->key == 0)
		m->by_orig.n++;
	*s = (slot){ .key = o, .val = m->len };
	m->arena[m->len] = (unsigned char)fake->type;
	memcpy(m->arena + m->len + 1, &n, 4);
	if (n)
		memcpy(m->arena + m->len + 5, p, n);
	m->len += 5 + n;
	return 0;
}
