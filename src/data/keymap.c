/* Original -> fake for unique columns; see keymap.h. Entries live packed in
 * one growing arena; two open-addressing tables of arena offsets index it,
 * one by (rule, original) and one by (rule, fake). */
#include "data/keymap.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE (2u << 20)

/* An entry: rule, then the original and the fake, each as type, length,
 * bytes (INT and REAL as their 8 bytes). */
/* A slot holds its entry's arena offset + 1 (0 is empty) and, beside it in
 * the same cache line, the entry's full hash: most probes and every rehash
 * touch no entry, and a probe costs one cache miss, not two. */

typedef struct slot {
	uint64_t off;
	uint64_t hash;
} slot;

typedef struct table {
	slot *s;
	size_t cap; /* a power of two */
} table;

struct dp_keymap {
	unsigned char *arena;
	size_t len, cap, n, n_moved;
	table by_orig, by_fake;
	unsigned char hkey[crypto_shorthash_KEYBYTES];
};

typedef struct bytes {
	unsigned char type;
	const unsigned char *p;
	uint32_t n;
	unsigned char num[8];
} bytes;

static void as_bytes(const dp_val *v, bytes *b)
{
	b->type = (unsigned char)v->type;
	if (v->type == DP_VAL_INT || v->type == DP_VAL_REAL) {
		memcpy(b->num, v->type == DP_VAL_INT ? (const void *)&v->i : (const void *)&v->r, 8);
		b->p = b->num;
		b->n = 8;
	} else {
		b->p = (const unsigned char *)v->p;
		b->n = (uint32_t)v->n;
	}
}

static uint64_t hash(const dp_keymap *m, uint32_t rule, const bytes *b)
{
	unsigned char out[crypto_shorthash_BYTES], head[5];
	uint64_t h;

	memcpy(head, &rule, 4);
	head[4] = b->type;
	/* SipHash over head || bytes without copying the value */
	{
		unsigned char stackbuf[256];
		unsigned char *msg = stackbuf;
		size_t n = 5 + (size_t)b->n;
		if (n > sizeof(stackbuf) && (msg = malloc(n)) == NULL)
			abort();
		memcpy(msg, head, 5);
		if (b->n)
			memcpy(msg + 5, b->p, b->n);
		crypto_shorthash(out, msg, n, m->hkey);
		if (msg != stackbuf)
			free(msg);
	}
	memcpy(&h, out, 8);
	return h;
}

/* Field accessors over an entry at offset o. */
static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void entry_side(const dp_keymap *m, size_t o, int side, uint32_t *rule, bytes *b)
{
	const unsigned char *p = m->arena + o;
	*rule = rd32(p);
	p += 4;
	if (side == 1)
		p += 5 + rd32(p + 1);
	b->type = p[0];
	b->n = rd32(p + 1);
	b->p = p + 5;
}

static bool same(const bytes *a, const bytes *b)
{
	return a->type == b->type && a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}

/* The slot holding (rule, b) on side, or the empty slot where it goes. */
static slot *find(dp_keymap *m, table *t, int side, uint32_t rule, const bytes *b, uint64_t h)
{
	size_t mask = t->cap - 1, i = (size_t)h & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t r;
		bytes e;
		if (t->s[i].off == 0)
			return &t->s[i];
		if (t->s[i].hash != h)
			continue;
		entry_side(m, (size_t)(t->s[i].off - 1), side, &r, &e);
		if (r == rule && same(&e, b))
			return &t->s[i];
	}
}

/* Slot arrays come zeroed from mmap. A big one is asked for in huge pages:
 * every probe lands on a random slot, and with 4 KiB pages each one was a
 * TLB miss as well as a cache miss (half of the key map's time on a million
 * keys, measured with perf on a VM). */
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
	table n = { .cap = cap };

	n.s = slots_alloc(n.cap);
	if (n.s == NULL)
		return -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->s[i].off) {
			size_t j;
			for (j = (size_t)t->s[i].hash & (n.cap - 1); n.s[j].off; j = (j + 1) & (n.cap - 1))
				;
			n.s[j] = t->s[i];
		}
	slots_free(t);
	*t = n;
	return 0;
}

static int grow(table *t)
{
	return grow_to(t, t->cap ? t->cap * 2 : 1024);
}

int dp_keymap_reserve(dp_keymap *m, size_t n)
{
	size_t cap = m->by_fake.cap;

	if (n > (size_t)1 << 32)
		n = (size_t)1 << 32; /* a hint, not a promise: growing still works past it */
	while (cap < 2 * (m->n + n))
		cap *= 2;
	return cap == m->by_fake.cap ? 0 : grow_to(&m->by_fake, cap);
}

dp_keymap *dp_keymap_new(void)
{
	dp_keymap *m = calloc(1, sizeof(*m));

	if (m == NULL || sodium_init() < 0 || grow(&m->by_orig) < 0 || grow(&m->by_fake) < 0) {
		dp_keymap_free(m);
		return NULL;
	}
	crypto_shorthash_keygen(m->hkey);
	return m;
}

void dp_keymap_free(dp_keymap *m)
{
	if (m == NULL)
		return;
	if (m->arena != NULL)
		munmap(m->arena, m->cap);
	slots_free(&m->by_orig);
	slots_free(&m->by_fake);
	free(m);
}

bool dp_keymap_get(dp_keymap *m, uint32_t rule, const dp_val *orig, dp_val *fake)
{
	bytes b, f;
	uint32_t r;
	slot *s;

	if (m->n_moved == 0)
		return false; /* the common case: nothing moved, no hashing */
	as_bytes(orig, &b);
	s = find(m, &m->by_orig, 0, rule, &b, hash(m, rule, &b));
	if (s->off == 0)
		return false;
	entry_side(m, (size_t)(s->off - 1), 1, &r, &f);
	memset(fake, 0, sizeof(*fake));
	fake->type = (dp_val_type)f.type;
	if (f.type == DP_VAL_INT)
		memcpy(&fake->i, f.p, 8);
	else if (f.type == DP_VAL_REAL)
		memcpy(&fake->r, f.p, 8);
	else {
		fake->p = (const char *)f.p;
		fake->n = f.n;
	}
	return true;
}

static int append(dp_keymap *m, uint32_t rule, const bytes *o, const bytes *f, size_t *off)
{
	size_t need = 4 + 5 + o->n + 5 + f->n;
	unsigned char *p;

	if (m->len + need > m->cap) {
		/* mapped, so growing moves page tables instead of copying the
		 * entries, and in huge pages: one fault per 2 MiB, not per 4 KiB
		 * (realloc's copies and faults were a third of the key map's
		 * time on a million keys) */
		size_t cap = m->cap ? m->cap : HUGE_PAGE;
		void *np;
		while (cap < m->len + need)
			cap *= 2;
		np = m->arena ? mremap(m->arena, m->cap, cap, MREMAP_MAYMOVE)
			      : mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (np == MAP_FAILED)
			return -1;
		(void)madvise(np, cap, MADV_HUGEPAGE); /* a hint: fine to be refused */
		m->arena = np;
		m->cap = cap;
	}
	*off = m->len;
	p = m->arena + *off;
	memcpy(p, &rule, 4);
	p += 4;
	*p++ = o->type;
	memcpy(p, &o->n, 4);
	p += 4;
	if (o->n)
		memcpy(p, o->p, o->n);
	p += o->n;
	*p++ = f->type;
	memcpy(p, &f->n, 4);
	p += 4;
	if (f->n)
		memcpy(p, f->p, f->n);
	m->len += need;
	return 0;
}

int dp_keymap_claim(dp_keymap *m, uint32_t rule, const dp_val *orig, const dp_val *fake)
{
	bytes o, f, e;
	uint32_t r;
	uint64_t hf;
	slot *sf;
	size_t off;

	as_bytes(orig, &o);
	as_bytes(fake, &f);
	/* at most half full */
	if ((m->n + 1) * 2 > m->by_fake.cap && grow(&m->by_fake) < 0)
		return -1;
	hf = hash(m, rule, &f);
	sf = find(m, &m->by_fake, 1, rule, &f, hf);
	if (sf->off) {
		entry_side(m, (size_t)(sf->off - 1), 0, &r, &e);
		return same(&e, &o) ? 1 : 0;
	}
	if (append(m, rule, &o, &f, &off) < 0)
		return -1;
	*sf = (slot){ .off = off + 1, .hash = hf };
	m->n++;
	return 1;
}

void dp_keymap_prefetch(const dp_keymap *m, uint32_t rule, const dp_val *fake)
{
	bytes f;

	as_bytes(fake, &f);
	__builtin_prefetch(&m->by_fake.s[(size_t)hash(m, rule, &f) & (m->by_fake.cap - 1)]);
}

int dp_keymap_put(dp_keymap *m, uint32_t rule, const dp_val *orig, const dp_val *fake)
{
	bytes o, f;
	uint64_t ho;
	slot *so, *sf;

	as_bytes(orig, &o);
	as_bytes(fake, &f);
	sf = find(m, &m->by_fake, 1, rule, &f, hash(m, rule, &f));
	if (sf->off == 0)
		return -1; /* claim first */
	if ((m->n_moved + 1) * 2 > m->by_orig.cap && grow(&m->by_orig) < 0)
		return -1;
	ho = hash(m, rule, &o);
	so = find(m, &m->by_orig, 0, rule, &o, ho);
	*so = (slot){ .off = sf->off, .hash = ho };
	m->n_moved++;
	return 0;
}
