/*
 * xsmem: the memory of each expat parser, in a slab of its own (see
 * xsmem.h), and the salt of its hash tables.
 */
#include <sys/mman.h>
#include <sys/random.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "xsmem.h"

/* The slab: a size header before each block, bump-allocated. */
#define XS_SLAB_BYTES	12288		/* the mapping: header and data */
#define XS_SLAB		(XS_SLAB_BYTES - 16)
#define XS_MM_HDR	16		/* size header, keeps 16-byte alignment */
#define XS_MM_NONE	((size_t)-1)
struct xs_slab {
	size_t		used;
	size_t		last;		/* header offset of the newest block */
	_Alignas(16) char data[XS_SLAB];
};
_Static_assert(sizeof(struct xs_slab) == XS_SLAB_BYTES, "slab is 3 pages");
static struct xs_slab	*xs_mm;		/* the slab of the parser called */

static void	*mm_malloc(size_t);
static void	*mm_realloc(void *, size_t);
static void	 mm_free(void *);

const XML_Memory_Handling_Suite xsmem_suite = {
	mm_malloc, mm_realloc, mm_free
};

struct xs_slab *
xsmem_enter(struct xs_slab *s)
{
	struct xs_slab	*prev = xs_mm;

	xs_mm = s;
	return prev;
}

void
xsmem_leave(struct xs_slab *prev)
{
	xs_mm = prev;
}

static int
in_slab(const struct xs_slab *s, const void *p)
{
	return s != NULL && (const char *)p >= s->data &&
	    (const char *)p < s->data + XS_SLAB;
}

static void *
mm_malloc(size_t n)
{
	struct xs_slab	*s = xs_mm;
	size_t		 w = XS_MM_HDR + ((n + 15) & ~(size_t)15);
	char		*h;

	if (s == NULL || n > XS_SLAB || XS_SLAB - s->used < w)
		return malloc(n);
	h = s->data + s->used;
	memcpy(h, &n, sizeof(n));
	s->last = s->used;
	s->used += w;
	return h + XS_MM_HDR;
}

static void
mm_free(void *p)
{
	struct xs_slab	*s = xs_mm;

	if (p == NULL)
		return;
	if (!in_slab(s, p)) {
		free(p);
		return;
	}
	/* The newest block gives its room back; others wait for the slab. */
	if (s->last != XS_MM_NONE && (char *)p - XS_MM_HDR == s->data + s->last) {
		s->used = s->last;
		s->last = XS_MM_NONE;
	}
}

static void *
mm_realloc(void *p, size_t n)
{
	struct xs_slab	*s = xs_mm;
	size_t		 old, w;
	char		*q;

	if (p == NULL)
		return mm_malloc(n);
	if (!in_slab(s, p))
		return realloc(p, n);
	memcpy(&old, (char *)p - XS_MM_HDR, sizeof(old));
	w = XS_MM_HDR + ((n + 15) & ~(size_t)15);
	if (s->last != XS_MM_NONE &&
	    (char *)p - XS_MM_HDR == s->data + s->last && n <= XS_SLAB &&
	    XS_SLAB - s->last >= w) {
		memcpy((char *)p - XS_MM_HDR, &n, sizeof(n));
		s->used = s->last + w;
		return p;
	}
	if ((q = mm_malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	mm_free(p);
	return q;
}

/* Freed slabs kept for the next parsers (xsmem.h). */
#define XS_SLAB_KEEP	32
static struct xs_slab	*slab_kept[XS_SLAB_KEEP];
static unsigned		 nslab_kept;

struct xs_slab *
xsmem_new(void)
{
	void	*m;

	struct xs_slab	*s;

	if (nslab_kept > 0)
		s = slab_kept[--nslab_kept];
	else if ((m = mmap(NULL, sizeof(struct xs_slab), PROT_READ |
	    PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
		return NULL;
	else
		s = m;
	s->used = 0;
	s->last = XS_MM_NONE;
	return s;
}

void
xsmem_free(struct xs_slab *s)
{
	if (s == NULL)
		return;
	if (nslab_kept < XS_SLAB_KEEP)
		slab_kept[nslab_kept++] = s;
	else
		munmap(s, sizeof(*s));
}

/*
 * Expat salts its hash tables (against collision floods) with getrandom()
 * per parser unless given a salt: one system call per session and per
 * wake. Here: one process secret from getrandom(), stepped per parser
 * (splitmix64), as unpredictable to a peer (loop thread only).
 */
unsigned long
xsmem_salt(void)
{
	static uint64_t	state;
	static int	seeded;
	uint64_t	z;

	if (!seeded) {
		if (getrandom(&state, sizeof(state), 0) != sizeof(state))
			return 0;	/* 0: expat salts it itself */
		seeded = 1;
	}
	z = (state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (unsigned long)(z != 0 ? z : 1);
}
