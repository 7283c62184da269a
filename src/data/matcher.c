/* The leak scan's many-pattern search (see matcher.h): two Aho-Corasick
 * automata, one over ASCII case-folded bytes (TEXT), one over digits only
 * (DIGITS), run side by side over one stream. Millions of patterns are
 * searched for in gigabytes, so memory is spent with care and laid out for
 * the cache, which is what bounds the scan speed:
 *
 * Adding copies the pattern's bytes (folded, or its digits) to an arena; no
 * trie yet. Building sorts the patterns and makes a trie of them in one pass
 * (sorted, every new node is its parent's last child), then lays it out:
 *
 * Nodes are 16 bytes plus one byte of label: first child (a node's children
 * are consecutive), fail link, output link, child count and the bytes of up
 * to three children (most nodes have one; more are found in label[], the
 * byte on the edge into each node). No 256-wide rows per node. The array has
 * three regions, in the order of how often a scan visits them:
 *   1. breadth first, the shallowest nodes, which get a dense row each: the
 *      next state, fail links folded in, for each class of byte (the bytes
 *      used by patterns; a row is 64 entries for typical text patterns, 16
 *      for digits), DENSE_BYTES per automaton;
 *   2. depth first, the other nodes shared by two patterns or more: the
 *      prefixes that text resembling the patterns (fake names) walks;
 *   3. the tails, chains of single children down to one pattern's end, each
 *      consecutive; their first nodes are in 2.
 * A build peaks near 35 bytes a node (trie and layout at once). Measured:
 * 1.3M patterns (emails, names, phones, cards), 11M nodes: 0.4 s to add,
 * 3.5 s to build, 320 MB at the peak.
 *
 * Reporting. Patterns ending at the same node share a terminal holding their
 * ids, sorted; a node's output link is the first terminal on its suffix chain
 * and each terminal links to the next (the dictionary suffix link). Every id
 * of a string is reported: the same string added with two ids is reported
 * twice at each place; added twice with the same id (including "ABC" and
 * "abc" in TEXT mode), once. The two automata are independent: a value added
 * in both modes may be reported by each, at the same offset. Matches come
 * in the order of their last byte. A callback that stops the scan ends the
 * stream: the other matches ending at that byte are not reported, and the
 * state is to be reset before it is used again.
 *
 * DIGITS. Digits advance the digits automaton; separators (any of " -()./+",
 * in runs of any length) are skipped; any other byte resets it to the root.
 * A ring of the stream offsets of the last L digits (L: the longest DIGITS
 * pattern) gives a match's offset, that of its first digit. A match inside a
 * longer run of digits is reported too: "15550109999" inside "0015550109999"
 * is still the leaked number. */
#include "data/matcher.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Dense rows per automaton. Measured on a 133 MB SQLite table of fake
 * people, 100k patterns, best of 5: 256 KiB ~100 MB/s, 1 MiB ~140, 4 MiB ~95
 * (the rows themselves stop fitting in the cache). */
#define DENSE_BYTES (1024u << 10)
/* Node and terminal indexes take 31 bits: a state's top bit says whether
 * its node has an output, so the scan loop need not load the node to know. */
#define MAX_INDEX 0x7ffffffeu
#define OUT_FLAG 0x80000000u
#define INDEX(s) ((s) & ~OUT_FLAG)

typedef struct pattern {
	uint64_t key; /* first 8 bytes, big-endian: most comparisons end here */
	size_t off;   /* of its bytes in the arena */
	uint32_t len, id;
} pattern;

/* The trie made at build time, before its layout. */
typedef struct trie {
	uint32_t *child;   /* first child (lowest byte); 0: none */
	uint32_t *sibling; /* next sibling, higher byte; 0: none */
	uint32_t *term;	   /* terminal ending here; 0: none */
	uint8_t *label;	   /* byte on the edge into the node */
	uint32_t n;
	uint32_t root[256]; /* the root's children by byte; 0: none */
} trie;

typedef struct ac_node {
	uint32_t first; /* first child; the others follow it */
	uint32_t fail;
	uint32_t out;	/* first terminal on the suffix chain; 0: none */
	uint8_t n;	/* children: at most 230 (TEXT) or 10 (DIGITS) */
	uint8_t lab[3]; /* their bytes when n <= 3, else see label[] */
} ac_node;

typedef struct ac_term {
	uint32_t depth; /* the pattern's length: its first byte is depth-1 back */
	uint32_t ids;	/* start in ids[]; the next terminal's start ends it */
	uint32_t next;	/* next terminal on the suffix chain; 0: none */
} ac_term;

typedef struct ac {
	/* while adding */
	uint8_t *bytes;
	size_t n_bytes, cap_bytes;
	pattern *pats;
	size_t n_pats, cap_pats;
	uint32_t max_depth;
	/* while building */
	trie t;
	/* once built */
	ac_node *node;
	uint8_t *label;	 /* byte on the edge into each node */
	uint32_t *delta; /* n_dense rows by byte class: states, with OUT_FLAG */
	uint32_t n_nodes, n_dense;
	unsigned shift;	  /* rows are 1 << shift wide */
	uint8_t cls[256]; /* byte -> class */
	ac_term *term;	  /* [0] means none; a sentinel follows the last */
	uint32_t n_terms;
	uint32_t *ids;
} ac;

struct dp_matcher {
	ac text, digits;
	size_t count;
	bool built;
	bool broken; /* a build failed halfway: nothing more can be done */
};

struct dp_match_state {
	const dp_matcher *m;
	uint32_t text, digits; /* automaton states, with OUT_FLAG */
	uint64_t pos;	       /* stream offset of the next byte */
	uint64_t n_digits;     /* digits seen so far in the stream */
	uint64_t *ring;	       /* their offsets, the last mask + 1 of them */
	uint64_t mask;
};

enum { BYTE_OTHER, BYTE_SEP, BYTE_DIGIT };
/* DIGITS classes: others reset, separators are skipped, then the digits */
enum { DCLS_OTHER, DCLS_SEP, DCLS_DIGIT0 };

static const uint8_t byte_class[256] = {
	[' '] = BYTE_SEP,   ['-'] = BYTE_SEP,	['('] = BYTE_SEP,   [')'] = BYTE_SEP,	['.'] = BYTE_SEP,
	['/'] = BYTE_SEP,   ['+'] = BYTE_SEP,	['0'] = BYTE_DIGIT, ['1'] = BYTE_DIGIT, ['2'] = BYTE_DIGIT,
	['3'] = BYTE_DIGIT, ['4'] = BYTE_DIGIT, ['5'] = BYTE_DIGIT, ['6'] = BYTE_DIGIT, ['7'] = BYTE_DIGIT,
	['8'] = BYTE_DIGIT, ['9'] = BYTE_DIGIT,
};

/* ASCII letters only: bytes >= 0x80 are compared exactly. */
static inline uint8_t fold(uint8_t c)
{
	return (uint8_t)(c - 'A') < 26 ? (uint8_t)(c | 0x20) : c;
}

/* Makes room for need elements; grows by half, so a big array does not
 * double. */
static int reserve(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap;
	void *q;

	if (need <= c)
		return 0;
	c = c + c / 2 > need ? c + c / 2 : need;
	if (c < 64)
		c = 64;
	if (c > SIZE_MAX / size)
		return -1;
	q = realloc(*p, c * size);
	if (q == NULL)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

static void trie_free(trie *t)
{
	free(t->child);
	free(t->sibling);
	free(t->term);
	free(t->label);
	memset(t, 0, sizeof(*t));
}

static void ac_free(ac *a)
{
	free(a->bytes);
	free(a->pats);
	trie_free(&a->t);
	free(a->node);
	free(a->label);
	free(a->delta);
	free(a->term);
	free(a->ids);
	memset(a, 0, sizeof(*a));
}

/* Returns 1 when added, 0 when there was nothing to add, -1 on error. */
static int ac_add(ac *a, const uint8_t *key, size_t n, bool digits, uint32_t id, dp_error **err)
{
	size_t len = 0;
	uint8_t *b;
	uint64_t k = 0;

	if (digits) {
		for (size_t i = 0; i < n; i++)
			len += byte_class[key[i]] == BYTE_DIGIT;
	} else {
		len = n;
	}
	if (len == 0)
		return 0;
	if (len > MAX_INDEX)
		return dp_fail(err, E2BIG, "pattern matcher: a pattern of %zu bytes", len);
	if (a->n_pats >= MAX_INDEX - 1)
		return dp_fail(err, E2BIG, "pattern matcher: %zu patterns", a->n_pats);
	if (reserve((void **)&a->bytes, &a->cap_bytes, a->n_bytes + len, 1) < 0 ||
	    reserve((void **)&a->pats, &a->cap_pats, a->n_pats + 1, sizeof(pattern)) < 0)
		return dp_fail(err, ENOMEM, "pattern matcher: %zu patterns", a->n_pats + 1);
	b = a->bytes + a->n_bytes;
	for (size_t i = 0, j = 0; i < n; i++) {
		if (digits && byte_class[key[i]] != BYTE_DIGIT)
			continue;
		b[j++] = digits ? key[i] : fold(key[i]);
	}
	for (size_t i = 0; i < 8; i++)
		k = k << 8 | (i < len ? b[i] : 0);
	a->pats[a->n_pats++] = (pattern){ k, a->n_bytes, (uint32_t)len, id };
	a->n_bytes += len;
	if (len > a->max_depth)
		a->max_depth = (uint32_t)len;
	return 1;
}

/* Bytes in order, a prefix first, then ids. */
static int cmp_pattern(const void *x, const void *y, void *arena)
{
	const pattern *p = x, *q = y;
	const uint8_t *bytes = arena;
	uint32_t n = p->len < q->len ? p->len : q->len;
	int r;

	if (p->key != q->key)
		return p->key < q->key ? -1 : 1;
	if (n > 8 && (r = memcmp(bytes + p->off + 8, bytes + q->off + 8, n - 8)) != 0)
		return r;
	if (p->len != q->len)
		return p->len < q->len ? -1 : 1;
	return (p->id > q->id) - (p->id < q->id);
}

static uint32_t common_prefix(const ac *a, const pattern *p, const pattern *q)
{
	uint32_t n = p->len < q->len ? p->len : q->len, i = 0;

	while (i < n && a->bytes[p->off + i] == a->bytes[q->off + i])
		i++;
	return i;
}

/* The sorted patterns into a trie, terminals and id lists. After sorting,
 * a pattern shares its longest common prefix with the one before it, and
 * each new node is its parent's last child so far. pats[i].key is reused
 * for that prefix's length. */
static int ac_trie(ac *a, dp_error **err)
{
	trie *t = &a->t;
	uint32_t *path = NULL; /* the previous pattern's nodes, by depth */
	size_t nodes = 1;
	uint32_t n_ids = 0;

	if (a->n_pats > 1) /* none: pats is NULL, which qsort_r must not get */
		qsort_r(a->pats, a->n_pats, sizeof(pattern), cmp_pattern, a->bytes);
	for (size_t i = 0; i < a->n_pats; i++) {
		a->pats[i].key = i == 0 ? 0 : common_prefix(a, &a->pats[i - 1], &a->pats[i]);
		nodes += a->pats[i].len - a->pats[i].key;
	}
	if (nodes > MAX_INDEX)
		return dp_fail(err, E2BIG, "pattern matcher: %zu nodes", nodes);
	t->child = malloc(nodes * sizeof(uint32_t));
	t->sibling = malloc(nodes * sizeof(uint32_t));
	t->term = malloc(nodes * sizeof(uint32_t));
	t->label = malloc(nodes);
	path = malloc(((size_t)a->max_depth + 1) * sizeof(uint32_t));
	a->term = malloc((a->n_pats + 2) * sizeof(ac_term)); /* at most */
	a->ids = malloc((a->n_pats + 1) * sizeof(uint32_t));
	if (t->child == NULL || t->sibling == NULL || t->term == NULL || t->label == NULL || path == NULL ||
	    a->term == NULL || a->ids == NULL) {
		free(path);
		return dp_fail(err, ENOMEM, "pattern matcher: %zu nodes", nodes);
	}
	t->n = 1;
	t->child[0] = t->sibling[0] = t->term[0] = 0;
	t->label[0] = 0;
	path[0] = 0;
	a->term[0] = (ac_term){ 0 };
	for (size_t i = 0; i < a->n_pats; i++) {
		const pattern *p = &a->pats[i];
		const uint8_t *b = a->bytes + p->off;
		uint32_t common = (uint32_t)p->key, v;
		for (uint32_t d = common; d < p->len; d++) {
			v = t->n++;
			t->child[v] = t->sibling[v] = t->term[v] = 0;
			t->label[v] = b[d];
			if (d == 0)
				t->root[b[d]] = v;
			else if (d == common && i > 0 && a->pats[i - 1].len > common)
				t->sibling[path[d + 1]] = v; /* after the previous one's child */
			else
				t->child[path[d]] = v;
			path[d + 1] = v;
		}
		v = path[p->len];
		if (t->term[v] == 0) { /* a new string */
			t->term[v] = ++a->n_terms;
			a->term[a->n_terms] = (ac_term){ .depth = p->len, .ids = n_ids };
		}
		if (a->term[a->n_terms].ids == n_ids || a->ids[n_ids - 1] != p->id)
			a->ids[n_ids++] = p->id; /* sorted: a duplicate is the last one */
	}
	assert(t->n == nodes);
	a->term[a->n_terms + 1] = (ac_term){ .ids = n_ids };
	free(path);
	free(a->bytes);
	free(a->pats);
	a->bytes = NULL;
	a->pats = NULL;
	a->n_bytes = a->cap_bytes = a->n_pats = a->cap_pats = 0;
	return 0;
}

/* Which trie nodes have two or more patterns ending at or below them; the
 * others are tails, chains down to one pattern's end. A child is made after
 * its parent, so counting backwards sees children first. */
static uint8_t *shared_nodes(const trie *t)
{
	uint8_t *below = malloc(t->n);

	if (below == NULL)
		return NULL;
	for (uint32_t v = t->n; v-- > 1;) {
		unsigned k = t->term[v] != 0;
		for (uint32_t w = t->child[v]; w != 0 && k < 2; w = t->sibling[w])
			k += below[w];
		below[v] = (uint8_t)(k < 2 ? k : 2);
	}
	below[0] = 2;
	for (uint32_t v = 0; v < t->n; v++)
		below[v] = below[v] >= 2;
	return below;
}

/* Gives node v (trie node order[v]) its children, as the nodes from next on;
 * returns the new next. */
static uint32_t lay_out(ac *a, uint32_t *order, uint32_t v, uint32_t next)
{
	const trie *t = &a->t;
	uint32_t o = order[v], first = next;
	ac_node *x = &a->node[v];

	if (o == 0) {
		for (unsigned c = 0; c < 256; c++)
			if (t->root[c] != 0)
				order[next++] = t->root[c];
	} else {
		for (uint32_t w = t->child[o]; w != 0; w = t->sibling[w])
			order[next++] = w;
	}
	assert(next - first <= 255);
	x->first = first;
	x->n = (uint8_t)(next - first);
	x->out = t->term[o]; /* its own terminal for now; chained later */
	for (uint32_t w = first; w < next; w++) {
		a->label[w] = t->label[order[w]];
		if (w - first < 3)
			x->lab[w - first] = a->label[w];
	}
	return next;
}

/* The trie into the node array's three regions (see the top); the first
 * dense nodes are region 1. */
static int ac_layout(ac *a, uint32_t dense, dp_error **err)
{
	typedef struct range {
		uint32_t cur, end;
	} range;
	uint32_t n = a->t.n, next = 1, i, sp = 0, end2;
	uint32_t *order = malloc((size_t)n * sizeof(uint32_t)); /* node -> trie node */
	range *stack = malloc(((size_t)a->max_depth + 2) * sizeof(range));
	uint8_t *shared = shared_nodes(&a->t);

	a->node = calloc(n, sizeof(ac_node));
	a->label = malloc(n);
	if (a->node == NULL || a->label == NULL || order == NULL || stack == NULL || shared == NULL) {
		free(order);
		free(stack);
		free(shared);
		return dp_fail(err, ENOMEM, "pattern matcher: %u nodes", n);
	}
	order[0] = 0;
	a->label[0] = 0;
	for (i = 0; i < n && i < dense; i++)
		next = lay_out(a, order, i, next);
	a->n_dense = i;
	/* the nodes placed but not expanded are one or two levels deep; each
	 * push is one level deeper */
	if (i < next)
		stack[sp++] = (range){ i, next };
	while (sp > 0) {
		range *r = &stack[sp - 1];
		uint32_t first = next, v;
		if (r->cur == r->end) {
			sp--;
			continue;
		}
		v = r->cur++;
		if (!shared[order[v]])
			continue;
		next = lay_out(a, order, v, next);
		if (next > first) {
			assert(sp < a->max_depth + 2);
			stack[sp++] = (range){ first, next };
		}
	}
	end2 = next;
	for (uint32_t v = a->n_dense; v < end2; v++)
		if (!shared[order[v]])
			for (uint32_t u = v;; u = a->node[u].first) {
				next = lay_out(a, order, u, next);
				if (a->node[u].n == 0)
					break;
			}
	assert(next == n);
	a->n_nodes = n;
	free(order);
	free(stack);
	free(shared);
	trie_free(&a->t);
	return 0;
}

/* The child of node x on byte c; 0 (the root is nobody's child): none. */
static inline uint32_t find_child(const ac *a, const ac_node *x, uint8_t c)
{
	uint32_t b, e;

	if (x->n <= 3) { /* most nodes: no second cache line */
		for (unsigned k = 0; k < x->n; k++)
			if (x->lab[k] == c)
				return x->first + k;
		return 0;
	}
	b = x->first;
	e = b + x->n;
	while (e - b > 8) {
		uint32_t mid = b + (e - b) / 2;
		if (a->label[mid] <= c)
			b = mid;
		else
			e = mid;
	}
	for (; b < e; b++)
		if (a->label[b] >= c)
			return a->label[b] == c ? b : 0;
	return 0;
}

static inline uint32_t flagged(const ac *a, uint32_t v)
{
	return a->node[v].out != 0 ? v | OUT_FLAG : v;
}

/* The transition from node s, which has no dense row, on byte c (folded in
 * TEXT) of class k. */
static inline uint32_t sparse_step(const ac *a, uint32_t s, uint8_t c, uint8_t k)
{
	if (k == 0) /* TEXT: a byte on no edge (binary data) leads to the root */
		return 0;
	for (;;) {
		uint32_t w = find_child(a, &a->node[s], c);
		if (w != 0)
			return flagged(a, w);
		s = a->node[s].fail; /* shallower: ends in the dense rows */
		if (s < a->n_dense)
			return a->delta[(size_t)s << a->shift | k];
	}
}

/* Fail and output links, breadth first: a node's fail target is shallower,
 * so its own links are final when the node's are made. */
static int ac_links(ac *a, dp_error **err)
{
	uint32_t *queue = malloc((size_t)a->n_nodes * sizeof(uint32_t));
	uint32_t head = 0, tail = 1;

	if (queue == NULL)
		return dp_fail(err, ENOMEM, "pattern matcher: %u nodes", a->n_nodes);
	queue[0] = 0;
	while (head < tail) {
		uint32_t p = queue[head++];
		const ac_node *x = &a->node[p];
		for (uint32_t v = x->first; v < x->first + x->n; v++) {
			uint8_t c = a->label[v];
			uint32_t f = 0, own = a->node[v].out;
			if (p != 0)
				for (f = x->fail;;) {
					uint32_t w = find_child(a, &a->node[f], c);
					if (w != 0) {
						f = w;
						break;
					}
					if (f == 0)
						break;
					f = a->node[f].fail;
				}
			a->node[v].fail = f;
			if (own != 0)
				a->term[own].next = a->node[f].out;
			else
				a->node[v].out = a->node[f].out;
			queue[tail++] = v;
		}
	}
	free(queue);
	return 0;
}

/* Byte classes: TEXT bytes on no edge are one class (they lead to the root),
 * each other folded byte is its own; DIGITS bytes are a digit, a separator
 * or other. Rows are as wide as the classes, rounded up to a power of two:
 * for text patterns usually 64 instead of 256, so four times as many rows
 * fit in the cache. rep[] gets a byte of each class. */
static unsigned ac_classes(ac *a, bool digits, uint8_t *rep)
{
	unsigned k, shift = 0;

	memset(a->cls, 0, sizeof(a->cls));
	if (digits) {
		for (unsigned c = 0; c < 256; c++)
			a->cls[c] = byte_class[c] == BYTE_DIGIT ? (uint8_t)(DCLS_DIGIT0 + c - '0')
				  : byte_class[c] == BYTE_SEP  ? DCLS_SEP
							       : DCLS_OTHER;
		for (unsigned d = 0; d < 10; d++)
			rep[DCLS_DIGIT0 + d] = (uint8_t)('0' + d);
		k = DCLS_DIGIT0 + 10;
	} else {
		bool used[256] = { false };
		for (uint32_t v = 1; v < a->t.n; v++) /* before the layout */
			used[a->t.label[v]] = true;
		k = 1;
		for (unsigned c = 0; c < 256; c++)
			if (used[c]) {
				rep[k] = (uint8_t)c;
				a->cls[c] = (uint8_t)k++;
			}
		for (unsigned c = 'A'; c <= 'Z'; c++)
			a->cls[c] = a->cls[c | 0x20];
	}
	while ((1u << shift) < k)
		shift++;
	a->shift = shift;
	return k;
}

/* Full rows for the first n_dense nodes, fail links folded in. */
static int ac_rows(ac *a, bool digits, const uint8_t *rep, unsigned k, dp_error **err)
{
	unsigned width = 1u << a->shift;

	a->delta = calloc((size_t)a->n_dense * width, sizeof(uint32_t));
	if (a->delta == NULL)
		return dp_fail(err, ENOMEM, "pattern matcher: transition rows");
	for (uint32_t s = 0; s < a->n_dense; s++) {
		uint32_t *row = a->delta + (size_t)s * width;
		/* breadth first: fail[s] < s, its row is complete */
		const uint32_t *frow = a->delta + (size_t)a->node[s].fail * width;
		for (unsigned c = digits ? DCLS_DIGIT0 : 1; c < k; c++) {
			uint32_t w = find_child(a, &a->node[s], rep[c]);
			row[c] = w != 0 ? flagged(a, w) : s == 0 ? 0 : frow[c];
		}
		row[0] = 0; /* TEXT: no edge; DIGITS: other bytes reset */
		if (digits)
			row[DCLS_SEP] = flagged(a, s);
	}
	return 0;
}

static int ac_compile(ac *a, bool digits, dp_error **err)
{
	uint8_t rep[256];
	unsigned k;

	if (ac_trie(a, err) < 0)
		return -1;
	k = ac_classes(a, digits, rep);
	if (ac_layout(a, DENSE_BYTES / (sizeof(uint32_t) << a->shift), err) < 0 || ac_links(a, err) < 0)
		return -1;
	return ac_rows(a, digits, rep, k, err);
}

dp_matcher *dp_matcher_new(void)
{
	return calloc(1, sizeof(dp_matcher));
}

void dp_matcher_free(dp_matcher *m)
{
	if (m == NULL)
		return;
	ac_free(&m->text);
	ac_free(&m->digits);
	free(m);
}

int dp_matcher_add(dp_matcher *m, const char *pat, size_t n, enum dp_match_mode mode, uint32_t id, dp_error **err)
{
	int r;

	if (m->built || m->broken)
		return dp_fail(err, EINVAL, "pattern matcher: adding a pattern after the build");
	if (mode != DP_MATCH_TEXT && mode != DP_MATCH_DIGITS)
		return dp_fail(err, EINVAL, "pattern matcher: unknown mode %d", (int)mode);
	r = ac_add(mode == DP_MATCH_DIGITS ? &m->digits : &m->text, (const uint8_t *)pat, n, mode == DP_MATCH_DIGITS,
		   id, err);
	if (r < 0)
		return -1;
	m->count += (size_t)r;
	return 0;
}

int dp_matcher_build(dp_matcher *m, dp_error **err)
{
	if (m->built)
		return 0;
	if (m->broken)
		return dp_fail(err, EINVAL, "pattern matcher: an earlier build failed");
	if (ac_compile(&m->text, false, err) < 0 || ac_compile(&m->digits, true, err) < 0) {
		/* half-built: only freeing is safe from here */
		ac_free(&m->text);
		ac_free(&m->digits);
		m->broken = true;
		return -1;
	}
	m->built = true;
	return 0;
}

size_t dp_matcher_count(const dp_matcher *m)
{
	return m->count;
}

dp_match_state *dp_match_state_new(const dp_matcher *m)
{
	dp_match_state *s;
	uint64_t size = 1;

	if (!m->built) /* nothing to match with yet: better fail than find nothing */
		return NULL;
	while (size < m->digits.max_depth)
		size *= 2;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->ring = calloc(size, sizeof(uint64_t));
	if (s->ring == NULL) {
		free(s);
		return NULL;
	}
	s->m = m;
	s->mask = size - 1;
	return s;
}

void dp_match_state_free(dp_match_state *s)
{
	if (s == NULL)
		return;
	free(s->ring);
	free(s);
}

void dp_match_state_reset(dp_match_state *s)
{
	s->text = s->digits = 0;
	s->pos = s->n_digits = 0;
}

/* Every id on the suffix chain from terminal t; a match ends at byte end
 * (TEXT) or at the n_digits-th digit (DIGITS, ring given). Rare: kept out of
 * the scan loop. */
__attribute__((noinline)) static int report(const ac *a, uint32_t t, uint64_t end, const dp_match_state *s,
					    uint64_t n_digits, dp_match_fn fn, void *user)
{
	for (; t != 0; t = a->term[t].next) {
		uint32_t depth = a->term[t].depth;
		uint64_t off = s == NULL ? end + 1 - depth : s->ring[(n_digits - depth) & s->mask];
		for (uint32_t i = a->term[t].ids; i < a->term[t + 1].ids; i++) {
			int r = fn(user, a->ids[i], off);
			if (r != 0)
				return r;
		}
	}
	return 0;
}

/* The scan loop, specialised by the compiler for the automata in use. On a
 * dense state (the usual case) a byte costs one row load per automaton. */
__attribute__((always_inline)) static inline int feed(const dp_matcher *m, dp_match_state *s, const uint8_t *p,
						      size_t n, dp_match_fn fn, void *user, bool text, bool digits)
{
	const ac *tx = &m->text, *dg = &m->digits;
	uint32_t ts = s->text, ds = s->digits;
	uint64_t pos = s->pos, nd = s->n_digits, *ring = s->ring, mask = s->mask;
	int r = 0;

	for (size_t i = 0; i < n; i++, pos++) {
		uint8_t c = p[i];
		bool digit = false;
		if (text) {
			uint32_t v = INDEX(ts);
			uint8_t k = tx->cls[c];
			ts = v < tx->n_dense ? tx->delta[(size_t)v << tx->shift | k] : sparse_step(tx, v, fold(c), k);
		}
		if (digits) {
			uint32_t v = INDEX(ds);
			uint8_t k = dg->cls[c];
			digit = k >= DCLS_DIGIT0;
			ring[nd & mask] = pos; /* a free slot unless c is a digit */
			nd += digit;
			if (v < dg->n_dense)
				ds = dg->delta[(size_t)v << dg->shift | k];
			else if (digit)
				ds = sparse_step(dg, v, c, k);
			else if (k == DCLS_OTHER)
				ds = 0;
		}
		/* a DIGITS state keeps its output over separators: report on digits */
		if (((text ? ts : 0) | (digit ? ds : 0)) < OUT_FLAG)
			continue;
		if (text && ts >= OUT_FLAG &&
		    (r = report(tx, tx->node[INDEX(ts)].out, pos, NULL, 0, fn, user)) != 0)
			goto stop;
		if (digit && ds >= OUT_FLAG && (r = report(dg, dg->node[INDEX(ds)].out, pos, s, nd, fn, user)) != 0)
			goto stop;
	}
	goto out;
stop:
	pos++; /* this byte was seen; after a stop the stream is abandoned anyway */
out:
	s->text = ts;
	s->digits = ds;
	s->pos = pos;
	s->n_digits = nd;
	return r;
}

int dp_matcher_feed(const dp_matcher *m, dp_match_state *s, const void *buf, size_t n, dp_match_fn fn, void *user)
{
	bool text = m->text.n_terms > 0, digits = m->digits.n_terms > 0;

	assert(s->m == m);
	if (text && digits)
		return feed(m, s, buf, n, fn, user, true, true);
	if (text)
		return feed(m, s, buf, n, fn, user, true, false);
	if (digits)
		return feed(m, s, buf, n, fn, user, false, true);
	s->pos += n;
	return 0;
}
