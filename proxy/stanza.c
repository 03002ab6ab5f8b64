/*
 * stanza: element trees built in one capped arena.
 *
 * The arena is a list of chunks; nothing is freed before the whole stanza
 * goes. Every allocation is checked against the cap first, so a peer can
 * make the tree at most `cap` bytes big whatever it sends.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "stanza.h"

#define ST_CHUNK	4096
#define ST_ALIGN	16

struct st_chunk {
	struct st_chunk	*next;
	size_t		 size;
	size_t		 used;
	/* data follows, aligned */
};

/*
 * One spare ST_CHUNK chunk per thread: a stanza a second costs no
 * malloc/free pair for its first chunk, and no heap churn between the
 * longer-lived blocks of idle sessions.
 */
static _Thread_local struct st_chunk	*st_spare;

struct stanza {
	struct st_chunk	*chunks;
	size_t		 cap;
	size_t		 used;
	struct st_node	*root;
};

static size_t	chunk_hdr(void);
static void	*st_regrow(struct stanza *, void *, size_t, size_t);

static size_t
chunk_hdr(void)
{
	return (sizeof(struct st_chunk) + ST_ALIGN - 1) & ~(size_t)(ST_ALIGN - 1);
}

struct stanza *
stanza_new(size_t cap)
{
	struct stanza	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->cap = cap;
	return s;
}

void
stanza_free(struct stanza *s)
{
	struct st_chunk	*c, *n;

	if (s == NULL)
		return;
	for (c = s->chunks; c != NULL; c = n) {
		n = c->next;
		if (c->size == ST_CHUNK && st_spare == NULL)
			st_spare = c;
		else
			free(c);
	}
	free(s);
}

size_t
stanza_used(const struct stanza *s)
{
	return s->used;
}

struct st_node *
stanza_root(const struct stanza *s)
{
	return s->root;
}

void
stanza_set_root(struct stanza *s, struct st_node *n)
{
	s->root = n;
}

void *
st_alloc(struct stanza *s, size_t n)
{
	struct st_chunk	*c = s->chunks;
	size_t		 want, csize;
	char		*p;

	if (n > s->cap)
		return NULL;
	want = (n + ST_ALIGN - 1) & ~(size_t)(ST_ALIGN - 1);
	if (c == NULL || c->size - c->used < want) {
		csize = want > ST_CHUNK ? want : ST_CHUNK;
		if (s->used + csize > s->cap && s->used + want > s->cap)
			return NULL;
		if (s->used + csize > s->cap)
			csize = want;
		if (csize == ST_CHUNK && st_spare != NULL) {
			c = st_spare;
			st_spare = NULL;
		} else if ((c = malloc(chunk_hdr() + csize)) == NULL)
			return NULL;
		c->size = csize;
		c->used = 0;
		c->next = s->chunks;
		s->chunks = c;
		s->used += csize;
	}
	p = (char *)c + chunk_hdr() + c->used;
	c->used += want;
	memset(p, 0, n);
	return p;
}

/*
 * Grow p (old bytes) to n bytes: in place when p is the newest allocation
 * and its chunk has room, by resizing the chunk when p is alone in it,
 * else by a copy. Growing text so wastes nothing, and a tree's arena
 * stays close to its content (the cap counts what is really held).
 */
static void *
st_regrow(struct stanza *s, void *p, size_t old, size_t n)
{
	struct st_chunk	*c = s->chunks, *nc;
	size_t		 wold, wnew;
	char		*base, *q;

	if (n > s->cap)
		return NULL;
	wold = (old + ST_ALIGN - 1) & ~(size_t)(ST_ALIGN - 1);
	wnew = (n + ST_ALIGN - 1) & ~(size_t)(ST_ALIGN - 1);
	if (c != NULL && p != NULL) {
		base = (char *)c + chunk_hdr();
		if ((char *)p + wold == base + c->used &&
		    c->size - c->used >= wnew - wold) {
			c->used += wnew - wold;
			return p;
		}
		if ((char *)p == base && c->used == wold) {
			if (s->used - c->size + wnew > s->cap)
				return NULL;
			if ((nc = realloc(c, chunk_hdr() + wnew)) == NULL)
				return NULL;
			s->used = s->used - nc->size + wnew;
			nc->size = nc->used = wnew;
			s->chunks = nc;
			return (char *)nc + chunk_hdr();
		}
	}
	if ((q = st_alloc(s, n)) == NULL)
		return NULL;
	if (old > 0)
		memcpy(q, p, old);
	return q;
}

char *
st_strndup(struct stanza *s, const char *str, size_t n)
{
	char	*p;

	if (n == SIZE_MAX || (p = st_alloc(s, n + 1)) == NULL)
		return NULL;
	memcpy(p, str, n);
	p[n] = '\0';
	return p;
}

struct st_node *
st_elem_new(struct stanza *s, const char *name)
{
	struct st_node	*n;

	if ((n = st_alloc(s, sizeof(*n))) == NULL)
		return NULL;
	if ((n->name = st_strndup(s, name, strlen(name))) == NULL)
		return NULL;
	return n;
}

void
st_append(struct st_node *parent, struct st_node *child)
{
	child->parent = parent;
	child->next = NULL;
	if (parent->last != NULL)
		parent->last->next = child;
	else
		parent->first = child;
	parent->last = child;
}

void
st_unlink(struct st_node *n)
{
	struct st_node	*p = n->parent, *c, *prev = NULL;

	if (p == NULL)
		return;
	for (c = p->first; c != NULL; prev = c, c = c->next) {
		if (c != n)
			continue;
		if (prev != NULL)
			prev->next = c->next;
		else
			p->first = c->next;
		if (p->last == c)
			p->last = prev;
		break;
	}
	n->parent = n->next = NULL;
}

int
st_text_append(struct stanza *s, struct st_node *parent, const char *str,
    size_t n)
{
	struct st_node	*t = parent->last;
	size_t		 ncap;
	char		*buf;
	int		 fresh = 0;

	/*
	 * A new text node is linked only once its buffer exists: a failure
	 * leaves the tree as it was, never with a NULL text node in it.
	 */
	if (t == NULL || t->name != NULL) {
		if ((t = st_alloc(s, sizeof(*t))) == NULL)
			return -1;
		fresh = 1;
	}
	if (n > s->cap || t->textlen + n + 1 > s->cap)
		return -1;
	if (t->textlen + n + 1 > t->textcap) {
		ncap = t->textcap ? t->textcap * 2 : 32;
		while (ncap < t->textlen + n + 1)
			ncap *= 2;
		if ((buf = st_regrow(s, t->text, t->textcap, ncap)) == NULL &&
		    (buf = st_regrow(s, t->text, t->textcap,
		    ncap = t->textlen + n + 1)) == NULL)
			return -1;
		t->text = buf;
		t->textcap = ncap;
	}
	memcpy(t->text + t->textlen, str, n);
	t->textlen += n;
	t->text[t->textlen] = '\0';
	if (fresh)
		st_append(parent, t);
	return 0;
}

int
st_attr_set(struct stanza *s, struct st_node *n, const char *name,
    const char *value)
{
	struct st_attr	*na;
	const char	*v;
	size_t		 i, ncap;

	if ((v = st_strndup(s, value, strlen(value))) == NULL)
		return -1;
	for (i = 0; i < n->nattrs; i++) {
		if (strcmp(n->attrs[i].name, name) == 0) {
			n->attrs[i].value = v;
			return 0;
		}
	}
	if (n->nattrs == n->attrcap) {
		ncap = n->attrcap ? n->attrcap * 2 : 4;
		if ((na = st_alloc(s, ncap * sizeof(*na))) == NULL)
			return -1;
		if (n->nattrs)
			memcpy(na, n->attrs, n->nattrs * sizeof(*na));
		n->attrs = na;
		n->attrcap = ncap;
	}
	if ((n->attrs[n->nattrs].name = st_strndup(s, name, strlen(name))) == NULL)
		return -1;
	n->attrs[n->nattrs++].value = v;
	return 0;
}

int
st_attr_del(struct st_node *n, const char *name)
{
	size_t	i;

	for (i = 0; i < n->nattrs; i++) {
		if (strcmp(n->attrs[i].name, name) != 0)
			continue;
		memmove(&n->attrs[i], &n->attrs[i + 1],
		    (n->nattrs - i - 1) * sizeof(n->attrs[0]));
		n->nattrs--;
		return 1;
	}
	return 0;
}

const char *
st_attr(const struct st_node *n, const char *name)
{
	size_t	i;

	for (i = 0; i < n->nattrs; i++)
		if (strcmp(n->attrs[i].name, name) == 0)
			return n->attrs[i].value;
	return NULL;
}

const char *
st_xmlns(const struct st_node *n)
{
	const char	*ns;

	for (; n != NULL; n = n->parent)
		if (n->name != NULL && (ns = st_attr(n, "xmlns")) != NULL)
			return ns;
	return NULL;
}

const char *
st_local(const struct st_node *n)
{
	const char	*c = strchr(n->name, ':');

	return c != NULL ? c + 1 : n->name;
}

const char *
st_ns(const struct st_node *n)
{
	const char	*c = strchr(n->name, ':'), *ns;
	char		 attr[128];

	if (c == NULL)
		return st_xmlns(n);
	if ((size_t)(c - n->name) + 7 > sizeof(attr))
		return NULL;
	(void)snprintf(attr, sizeof(attr), "xmlns:%.*s", (int)(c - n->name),
	    n->name);
	for (; n != NULL; n = n->parent)
		if (n->name != NULL && (ns = st_attr(n, attr)) != NULL)
			return ns;
	return NULL;
}

struct st_node *
st_child(const struct st_node *n, const char *name, const char *xmlns)
{
	struct st_node	*c;
	const char	*ns;

	for (c = n->first; c != NULL; c = c->next) {
		if (c->name == NULL)
			continue;
		if (name != NULL && strcmp(c->name, name) != 0)
			continue;
		if (xmlns != NULL &&
		    ((ns = st_xmlns(c)) == NULL || strcmp(ns, xmlns) != 0))
			continue;
		return c;
	}
	return NULL;
}

struct st_node *
st_next_elem(const struct st_node *n)
{
	for (n = n->next; n != NULL; n = n->next)
		if (n->name != NULL)
			return (struct st_node *)n;
	return NULL;
}

const char *
st_text(struct stanza *s, const struct st_node *n)
{
	const struct st_node	*c;
	size_t			 len = 0, off = 0;
	char			*buf;

	for (c = n->first; c != NULL; c = c->next)
		if (c->name == NULL)
			len += c->textlen;
	if ((buf = st_alloc(s, len + 1)) == NULL)
		return NULL;
	for (c = n->first; c != NULL; c = c->next) {
		if (c->name != NULL)
			continue;
		memcpy(buf + off, c->text, c->textlen);
		off += c->textlen;
	}
	buf[off] = '\0';
	return buf;
}

struct st_node *
st_copy(struct stanza *s, const struct st_node *n)
{
	struct st_node		*r, *cc;
	const struct st_node	*c;
	size_t			 i;

	if (n->name == NULL) {
		if ((r = st_alloc(s, sizeof(*r))) == NULL ||
		    (r->text = st_strndup(s, n->text, n->textlen)) == NULL)
			return NULL;
		r->textlen = r->textcap = n->textlen;
		return r;
	}
	if ((r = st_elem_new(s, n->name)) == NULL)
		return NULL;
	for (i = 0; i < n->nattrs; i++)
		if (st_attr_set(s, r, n->attrs[i].name, n->attrs[i].value) == -1)
			return NULL;
	for (c = n->first; c != NULL; c = c->next) {
		if ((cc = st_copy(s, c)) == NULL)
			return NULL;
		st_append(r, cc);
	}
	return r;
}

/*
 * Escape n bytes of s; quotes too only when `quotes` (attribute values).
 * White space a parser would normalise is written as a character
 * reference, as in Canonical XML: CR everywhere (it reads back as LF),
 * and TAB and LF in attribute values (they read back as spaces). So a
 * rewritten stanza reads back as the tree it came from.
 */
static int
escape(struct evbuffer *out, const char *s, size_t n, int quotes)
{
	size_t		 i, run = 0;
	const char	*rep;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '\'': rep = quotes ? "&apos;" : NULL; break;
		case '"': rep = quotes ? "&quot;" : NULL; break;
		case '\r': rep = "&#13;"; break;
		case '\t': rep = quotes ? "&#9;" : NULL; break;
		case '\n': rep = quotes ? "&#10;" : NULL; break;
		default: continue;
		}
		if (rep == NULL)
			continue;
		if (evbuffer_add(out, s + run, i - run) == -1 ||
		    evbuffer_add(out, rep, strlen(rep)) == -1)
			return -1;
		run = i + 1;
	}
	return evbuffer_add(out, s + run, n - run);
}

int
st_escape(struct evbuffer *out, const char *s, size_t n)
{
	return escape(out, s, n, 1);
}

int
st_escape_text(struct evbuffer *out, const char *s, size_t n)
{
	return escape(out, s, n, 0);
}

int
st_serialize(const struct st_node *n, struct evbuffer *out, int open_only)
{
	const struct st_node	*c;
	size_t			 i;

	if (n->name == NULL)
		return st_escape_text(out, n->text, n->textlen);
	if (evbuffer_add_printf(out, "<%s", n->name) == -1)
		return -1;
	for (i = 0; i < n->nattrs; i++) {
		if (evbuffer_add_printf(out, " %s='", n->attrs[i].name) == -1 ||
		    st_escape(out, n->attrs[i].value,
		    strlen(n->attrs[i].value)) == -1 ||
		    evbuffer_add(out, "'", 1) == -1)
			return -1;
	}
	if (evbuffer_add(out, ">", 1) == -1)
		return -1;
	if (open_only)
		return 0;
	for (c = n->first; c != NULL; c = c->next)
		if (st_serialize(c, out, 0) == -1)
			return -1;
	return evbuffer_add_printf(out, "</%s>", n->name) == -1 ? -1 : 0;
}
