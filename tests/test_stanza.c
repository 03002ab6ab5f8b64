/*
 * test_stanza: the capped stanza arena and the tree API of proxy/stanza.c.
 * Every allocating call is driven until it fails and the arena is checked
 * never to pass its cap; edits (text growth, attribute order, unlink),
 * lookups (prefixed names, inherited xmlns), deep copies and the exact
 * serialised bytes are asserted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "stanza.h"
#include "testutil.h"

static char	*ser(const struct st_node *, int);
static struct st_node *elem(struct stanza *, struct st_node *, const char *);
static void	 attr(struct stanza *, struct st_node *, const char *,
		    const char *);
static void	 text(struct stanza *, struct st_node *, const char *);
static void	 check_tree_sane(const struct st_node *);

/* Serialise n into a new NUL-terminated string (caller frees). */
static char *
ser(const struct st_node *n, int open_only)
{
	struct evbuffer	*b = evbuffer_new();
	size_t		 len;
	char		*s;

	CHECK(b != NULL, "evbuffer_new");
	CHECK(st_serialize(n, b, open_only) == 0, "st_serialize failed");
	len = evbuffer_get_length(b);
	s = malloc(len + 1);
	CHECK(s != NULL, "malloc");
	CHECK(evbuffer_remove(b, s, len) == (int)len, "evbuffer_remove");
	s[len] = '\0';
	evbuffer_free(b);
	return s;
}

/* New element name appended to parent (parent NULL: detached). */
static struct st_node *
elem(struct stanza *s, struct st_node *parent, const char *name)
{
	struct st_node	*n = st_elem_new(s, name);

	CHECK(n != NULL, "st_elem_new(%s) failed below the cap", name);
	if (parent != NULL)
		st_append(parent, n);
	return n;
}

static void
attr(struct stanza *s, struct st_node *n, const char *k, const char *v)
{
	CHECK(st_attr_set(s, n, k, v) == 0, "st_attr_set(%s) failed", k);
}

static void
text(struct stanza *s, struct st_node *n, const char *t)
{
	CHECK(st_text_append(s, n, t, strlen(t)) == 0,
	    "st_text_append(%s) failed", t);
}

/* Every node in the tree is linked consistently and has usable strings. */
static void
check_tree_sane(const struct st_node *n)
{
	const struct st_node	*c, *prev = NULL;
	size_t			 i;

	if (n->name == NULL) {
		CHECK(n->text != NULL, "text node with a NULL text pointer");
		CHECK(strlen(n->text) == n->textlen,
		    "text node length %zu but strlen %zu", n->textlen,
		    strlen(n->text));
		CHECK(n->first == NULL, "text node with children");
		return;
	}
	for (i = 0; i < n->nattrs; i++)
		CHECK(n->attrs[i].name != NULL && n->attrs[i].value != NULL,
		    "attribute %zu of <%s> has a NULL string", i, n->name);
	for (c = n->first; c != NULL; prev = c, c = c->next) {
		CHECK(c->parent == n, "child of <%s> has the wrong parent",
		    n->name);
		check_tree_sane(c);
	}
	CHECK(n->last == prev, "<%s>: last child is not the end of the list",
	    n->name);
}

/* st_alloc: uniform aligned requests fill the cap exactly, never past. */
static void
test_alloc_cap(void **state)
{
	static const size_t	caps[] = { 1000, 4096, 10000, 70000 };
	struct stanza		*s;
	unsigned char		*p, *prev = NULL;
	size_t			 i, k, n;

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		s = stanza_new(caps[i]);
		CHECK(s != NULL, "stanza_new");
		CHECK(stanza_used(s) == 0, "fresh arena uses %zu bytes",
		    stanza_used(s));
		for (n = 0; n < caps[i]; n++) {
			if ((p = st_alloc(s, 16)) == NULL)
				break;
			CHECK(stanza_used(s) <= caps[i],
			    "cap %zu: arena at %zu bytes after %zu allocations",
			    caps[i], stanza_used(s), n + 1);
			for (k = 0; k < 16; k++)
				CHECK(p[k] == 0, "st_alloc memory not zeroed");
			CHECK(((uintptr_t)p & 15) == 0, "allocation not aligned");
			memset(p, 0xa5, 16);
			/* The previous block keeps its bytes: no overlap. */
			if (prev != NULL)
				for (k = 0; k < 16; k++)
					CHECK(prev[k] == 0xa5,
					    "allocation %zu overlaps the previous",
					    n);
			prev = p;
		}
		CHECK(n > 0 && n < caps[i], "cap %zu: %zu allocations", caps[i],
		    n);
		/* Equal 16-byte requests leave no hole: the cap is all used. */
		CHECK(caps[i] - stanza_used(s) < 16,
		    "cap %zu: refused at %zu bytes used, %zu still free",
		    caps[i], stanza_used(s), caps[i] - stanza_used(s));
		CHECK(n * 16 <= caps[i], "cap %zu: %zu bytes handed out",
		    caps[i], n * 16);
		CHECK(st_alloc(s, 16) == NULL, "allocation after the cap");
		CHECK(st_alloc(s, 1) == NULL, "1-byte allocation past the cap");
		stanza_free(s);
		prev = NULL;
	}
	/* Requests larger than the cap, and overflowing sizes. */
	s = stanza_new(4096);
	CHECK(s != NULL, "stanza_new");
	CHECK(st_alloc(s, 4097) == NULL, "st_alloc above the cap succeeded");
	CHECK(st_alloc(s, SIZE_MAX) == NULL, "st_alloc(SIZE_MAX) succeeded");
	CHECK(st_alloc(s, SIZE_MAX - 8) == NULL, "st_alloc(SIZE_MAX-8)");
	CHECK(st_strndup(s, "x", SIZE_MAX) == NULL, "st_strndup(SIZE_MAX)");
	CHECK(stanza_used(s) == 0, "failed requests used %zu bytes",
	    stanza_used(s));
	/* A request of exactly the cap fits when it is aligned. */
	CHECK(st_alloc(s, 4096) != NULL, "st_alloc(cap) failed");
	CHECK(stanza_used(s) == 4096, "used %zu", stanza_used(s));
	CHECK(st_alloc(s, 1) == NULL, "allocation in a full arena");
	stanza_free(s);
	stanza_free(NULL);
}

/* st_strndup and st_elem_new until NULL; the cap holds throughout. */
static void
test_strndup_elem_cap(void **state)
{
	struct stanza	*s = stanza_new(3000);
	struct st_node	*root, *n;
	char		*d, name[32];
	size_t		 i, ok = 0;

	CHECK(s != NULL, "stanza_new");
	d = st_strndup(s, "hello world", 5);
	CHECK(d != NULL && strcmp(d, "hello") == 0, "st_strndup copy '%s'",
	    d ? d : "(null)");
	for (i = 0; i < 10000; i++) {
		if (st_strndup(s, "0123456789abcdefghij", 20) == NULL)
			break;
		CHECK(stanza_used(s) <= 3000, "strndup pushed arena to %zu",
		    stanza_used(s));
	}
	CHECK(i > 0 && i < 10000, "strndup never hit the cap (%zu)", i);
	stanza_free(s);

	s = stanza_new(3000);
	CHECK(s != NULL, "stanza_new");
	root = elem(s, NULL, "root");
	stanza_set_root(s, root);
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "e%zu", i);
		if ((n = st_elem_new(s, name)) == NULL)
			break;
		CHECK(stanza_used(s) <= 3000, "st_elem_new pushed arena to %zu",
		    stanza_used(s));
		CHECK(strcmp(n->name, name) == 0 && n->parent == NULL &&
		    n->first == NULL && n->nattrs == 0, "fresh element state");
		st_append(root, n);
		ok++;
	}
	CHECK(ok > 0 && i < 10000, "st_elem_new never hit the cap");
	/* The tree built before the failure is intact. */
	for (i = 0, n = root->first; n != NULL; n = n->next, i++) {
		snprintf(name, sizeof(name), "e%zu", i);
		CHECK(strcmp(n->name, name) == 0, "child %zu is <%s>", i,
		    n->name);
	}
	CHECK(i == ok, "%zu children, %zu appended", i, ok);
	check_tree_sane(root);
	CHECK(stanza_root(s) == root, "stanza_root");
	stanza_free(s);
}

/* Text growth: many small appends, amortised buffers, exact content. */
static void
test_text_growth(void **state)
{
	struct stanza	*s = stanza_new(1 << 20);
	struct st_node	*e, *b;
	const char	*prevbuf = NULL;
	char		 want[2001];
	size_t		 i, moves = 0;

	CHECK(s != NULL, "stanza_new");
	e = elem(s, NULL, "body");
	for (i = 0; i < 2000; i++) {
		want[i] = (char)('a' + i % 26);
		CHECK(st_text_append(s, e, &want[i], 1) == 0, "append %zu", i);
		if (e->first->text != prevbuf) {
			moves++;
			prevbuf = e->first->text;
		}
	}
	want[2000] = '\0';
	CHECK(e->first == e->last && e->first->name == NULL,
	    "2000 appends made more than one text node");
	CHECK(e->first->textlen == 2000 && strcmp(e->first->text, want) == 0,
	    "text content differs after 2000 appends");
	/* Doubling: 32, 64, ..., 2048 is 7 buffers; linear growth is 2000. */
	CHECK(moves <= 8, "text buffer moved %zu times for 2000 appends", moves);
	CHECK(e->first->textcap >= 2001 && e->first->textcap <= 4096,
	    "textcap %zu", e->first->textcap);
	CHECK(stanza_used(s) <= 3 * 4096, "2000 text bytes used %zu arena bytes",
	    stanza_used(s));

	/* An element child splits the text; appends after it add a node. */
	b = elem(s, e, "b");
	text(s, e, "xy");
	text(s, e, "z");
	CHECK(e->last->name == NULL && strcmp(e->last->text, "xyz") == 0 &&
	    e->last != e->first, "text after <b> is '%s'", e->last->text);
	CHECK(st_next_elem(e->first) == b, "st_next_elem skips text");
	CHECK(st_next_elem(b) == NULL, "st_next_elem at the end");
	/* A zero-length append is allowed and changes nothing. */
	CHECK(st_text_append(s, e, "", 0) == 0, "empty append");
	CHECK(strcmp(e->last->text, "xyz") == 0, "empty append changed text");
	/* Appending NUL-free bytes that are not NUL-terminated. */
	CHECK(st_text_append(s, b, "inner-junk", 5) == 0, "append 5 of 10");
	CHECK(strcmp(b->first->text, "inner") == 0, "partial append '%s'",
	    b->first->text);
	check_tree_sane(e);
	stanza_free(s);
}

/* st_text_append at the cap: -1, the tree is left exactly as it was. */
static void
test_text_cap(void **state)
{
	struct stanza	*s;
	struct st_node	*e, *b, *last;
	char		*before, *after;
	size_t		 cap, i, len = 0, used;
	int		 fails = 0;

	for (cap = 200; cap <= 9000; cap += 97) {
		s = stanza_new(cap);
		CHECK(s != NULL, "stanza_new");
		if ((e = st_elem_new(s, "m")) == NULL) {
			stanza_free(s);
			continue;
		}
		len = 0;
		for (i = 0; i < 100000; i++) {
			if (st_text_append(s, e, "abcdefg", 7) == -1)
				break;
			len += 7;
			CHECK(stanza_used(s) <= cap, "cap %zu: text pushed arena "
			    "to %zu", cap, stanza_used(s));
		}
		CHECK(i < 100000, "cap %zu: text never hit the cap", cap);
		check_tree_sane(e);
		if (e->first != NULL)
			CHECK(e->first->textlen == len && strlen(e->first->text) ==
			    len, "cap %zu: text %zu bytes after failure, want %zu",
			    cap, e->first->textlen, len);
		CHECK(stanza_used(s) <= cap, "cap %zu", cap);
		check_tree_sane(e);
		/*
		 * After an element child the next append needs a new text
		 * node; when that cannot be completed nothing may be left
		 * behind (no empty text node with a NULL buffer).
		 */
		if ((b = st_elem_new(s, "b")) != NULL) {
			st_append(e, b);
			before = ser(e, 0);
			last = e->last;
			used = stanza_used(s);
			if (st_text_append(s, e, "tail", 4) == -1) {
				fails++;
				CHECK(e->last == last && last->next == NULL,
				    "cap %zu: failed append left a node behind",
				    cap);
				after = ser(e, 0);
				CHECK(strcmp(before, after) == 0, "serialisation "
				    "changed by a failed append");
				free(after);
			} else
				CHECK(strcmp(e->last->text, "tail") == 0,
				    "tail text");
			CHECK(stanza_used(s) <= cap && stanza_used(s) >= used,
			    "cap %zu", cap);
			check_tree_sane(e);
			free(before);
		}
		stanza_free(s);
	}
	CHECK(fails > 0, "no cap made the tail append fail");

	/*
	 * The exact case: room for the text node but not for its buffer.
	 * sizeof(struct st_node) rounded to 16, the name, the node again.
	 */
	cap = ((sizeof(struct st_node) + 15) & ~(size_t)15) * 2 + 16 + 8;
	s = stanza_new(cap);
	CHECK(s != NULL, "stanza_new");
	e = elem(s, NULL, "m");
	CHECK(st_text_append(s, e, "abc", 3) == -1, "cap %zu: append fit", cap);
	CHECK(e->first == NULL && e->last == NULL,
	    "failed first append left a child in <m>");
	check_tree_sane(e);
	stanza_free(s);
}

/* Attributes: set keeps order, replace in place, delete keeps order. */
static void
test_attrs(void **state)
{
	struct stanza	*s = stanza_new(65536);
	struct st_node	*e;
	char		*x, name[16];
	int		 i;

	CHECK(s != NULL, "stanza_new");
	e = elem(s, NULL, "iq");
	attr(s, e, "type", "get");
	attr(s, e, "id", "1");
	attr(s, e, "to", "almacska");
	attr(s, e, "from", "rabbit");
	attr(s, e, "xml:lang", "en");	/* grows the array past 4 */
	x = ser(e, 0);
	CHECK(strcmp(x, "<iq type='get' id='1' to='almacska' from='rabbit' "
	    "xml:lang='en'></iq>") == 0, "attribute order: %s", x);
	free(x);
	attr(s, e, "id", "2");		/* replace keeps the position */
	CHECK(e->nattrs == 5, "replace added an attribute (%zu)", e->nattrs);
	CHECK(strcmp(st_attr(e, "id"), "2") == 0, "replaced value");
	CHECK(st_attr_del(e, "to") == 1, "delete present attribute");
	CHECK(st_attr_del(e, "to") == 0, "delete it twice");
	CHECK(st_attr_del(e, "nope") == 0, "delete absent attribute");
	CHECK(st_attr(e, "to") == NULL, "deleted attribute still found");
	CHECK(st_attr(e, "ID") == NULL, "attribute names are case-sensitive");
	x = ser(e, 0);
	CHECK(strcmp(x, "<iq type='get' id='2' from='rabbit' xml:lang='en'>"
	    "</iq>") == 0, "after replace and delete: %s", x);
	free(x);
	CHECK(st_attr_del(e, "xml:lang") == 1 && st_attr_del(e, "type") == 1,
	    "delete last and first");
	attr(s, e, "type", "set");	/* re-added at the end */
	x = ser(e, 0);
	CHECK(strcmp(x, "<iq id='2' from='rabbit' type='set'></iq>") == 0,
	    "re-added attribute goes last: %s", x);
	free(x);
	/* Many attributes keep their order through array growth. */
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "a%d", i);
		attr(s, e, name, name);
	}
	CHECK(e->nattrs == 43, "nattrs %zu", e->nattrs);
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "a%d", i);
		CHECK(strcmp(e->attrs[3 + i].name, name) == 0 &&
		    strcmp(e->attrs[3 + i].value, name) == 0,
		    "attribute %d out of order", i);
	}
	CHECK(st_attr(e, "id") != NULL && strcmp(st_attr(e, "id"), "2") == 0,
	    "id survived the growth");
	/* An empty value is a value, not an absence. */
	attr(s, e, "empty", "");
	CHECK(st_attr(e, "empty") != NULL && *st_attr(e, "empty") == '\0',
	    "empty value");
	stanza_free(s);
}

/* st_attr_set at the cap: -1 and the element is unchanged. */
static void
test_attr_cap(void **state)
{
	struct stanza	*s;
	struct st_node	*e;
	char		 name[16], *before, *after;
	size_t		 cap, i, n;
	int		 replace_failed = 0;

	for (cap = 300; cap < 3000; cap += 61) {
		s = stanza_new(cap);
		CHECK(s != NULL, "stanza_new");
		e = elem(s, NULL, "x");
		for (i = 0; i < 1000; i++) {
			snprintf(name, sizeof(name), "k%zu", i);
			n = e->nattrs;
			if (st_attr_set(s, e, name, "value") == -1) {
				CHECK(e->nattrs == n, "failed set changed nattrs");
				CHECK(st_attr(e, name) == NULL,
				    "failed set left %s", name);
				break;
			}
			CHECK(stanza_used(s) <= cap, "cap %zu: attrs pushed arena "
			    "to %zu", cap, stanza_used(s));
		}
		CHECK(i < 1000 && i == e->nattrs, "cap %zu: %zu sets, %zu attrs",
		    cap, i, e->nattrs);
		for (i = 0; i < e->nattrs; i++) {
			snprintf(name, sizeof(name), "k%zu", i);
			CHECK(strcmp(e->attrs[i].name, name) == 0 &&
			    strcmp(e->attrs[i].value, "value") == 0,
			    "attribute %zu after the cap", i);
		}
		/* A replacement needing more room than is left keeps the old. */
		if (e->nattrs > 0) {
			before = ser(e, 0);
			if (st_attr_set(s, e, "k0", "a-much-longer-value-than-"
			    "there-is-room-for-in-this-arena-now") == -1) {
				replace_failed = 1;
				CHECK(strcmp(st_attr(e, "k0"), "value") == 0,
				    "failed replace changed the value");
				after = ser(e, 0);
				CHECK(strcmp(before, after) == 0,
				    "failed replace changed the element");
				free(after);
			}
			free(before);
		}
		CHECK(stanza_used(s) <= cap, "cap %zu", cap);
		stanza_free(s);
	}
	CHECK(replace_failed, "no cap made a replacement fail");
}

/* st_child: prefixed names as written, own and inherited xmlns. */
static void
test_child_xmlns(void **state)
{
	struct stanza	*s = stanza_new(65536);
	struct st_node	*f, *mechs, *sess, *bind, *err, *x, *deep, *t;

	CHECK(s != NULL, "stanza_new");
	f = elem(s, NULL, "stream:features");
	attr(s, f, "xmlns:stream", "http://etherx.jabber.org/streams");
	attr(s, f, "xmlns", "jabber:client");
	text(s, f, "\n");
	mechs = elem(s, f, "mechanisms");
	attr(s, mechs, "xmlns", "urn:ietf:params:xml:ns:xmpp-sasl");
	sess = elem(s, f, "session");		/* inherits jabber:client */
	bind = elem(s, f, "bind");
	attr(s, bind, "xmlns", "urn:ietf:params:xml:ns:xmpp-bind");
	err = elem(s, f, "stream:error");
	x = elem(s, f, "session");		/* second, other namespace */
	attr(s, x, "xmlns", "urn:other");
	deep = elem(s, mechs, "mechanism");	/* inherits from mechanisms */

	CHECK(st_child(f, "mechanisms", NULL) == mechs, "by name");
	CHECK(st_child(f, NULL, NULL) == mechs, "first element, text skipped");
	CHECK(st_child(f, "mechanisms", "urn:ietf:params:xml:ns:xmpp-sasl") ==
	    mechs, "by name and own xmlns");
	CHECK(st_child(f, "mechanisms", "jabber:client") == NULL,
	    "own xmlns overrides the parent's");
	CHECK(st_child(f, "session", "jabber:client") == sess,
	    "inherited xmlns");
	CHECK(st_child(f, "session", "urn:other") == x,
	    "second element with that name, by namespace");
	CHECK(st_child(f, NULL, "urn:ietf:params:xml:ns:xmpp-bind") == bind,
	    "any name, by namespace");
	CHECK(st_child(f, "stream:error", NULL) == err, "prefixed name");
	CHECK(st_child(f, "error", NULL) == NULL,
	    "local name matched a prefixed element");
	CHECK(st_child(f, "features", NULL) == NULL && st_child(f, "nope",
	    NULL) == NULL, "absent names");
	CHECK(st_child(mechs, "mechanism",
	    "urn:ietf:params:xml:ns:xmpp-sasl") == deep,
	    "namespace inherited one level down");
	CHECK(strcmp(st_xmlns(deep), "urn:ietf:params:xml:ns:xmpp-sasl") == 0,
	    "st_xmlns of the grandchild");
	CHECK(strcmp(st_xmlns(err), "jabber:client") == 0,
	    "st_xmlns ignores xmlns:prefix declarations");
	/* Without any xmlns up the tree there is no namespace. */
	t = elem(s, NULL, "lonely");
	elem(s, t, "c");
	CHECK(st_xmlns(t) == NULL, "st_xmlns of a tree without xmlns");
	CHECK(st_child(t, "c", "jabber:client") == NULL,
	    "namespace matched where none is declared");
	CHECK(st_child(t, "c", NULL) == t->first, "no namespace asked");
	/* Unlinking drops the inheritance. */
	st_unlink(sess);
	CHECK(sess->parent == NULL && sess->next == NULL, "unlinked node");
	CHECK(st_xmlns(sess) == NULL, "unlinked node still inherits");
	CHECK(st_child(f, "session", NULL) == x, "unlinked child still found");
	stanza_free(s);
}

/* st_unlink from the front, middle, back and of the only child. */
static void
test_unlink(void **state)
{
	struct stanza	*s = stanza_new(65536);
	struct st_node	*r, *a, *b, *c, *d;
	char		*x;

	CHECK(s != NULL, "stanza_new");
	r = elem(s, NULL, "r");
	a = elem(s, r, "a");
	b = elem(s, r, "b");
	c = elem(s, r, "c");
	d = elem(s, r, "d");
	st_unlink(b);
	x = ser(r, 0);
	CHECK(strcmp(x, "<r><a></a><c></c><d></d></r>") == 0, "middle: %s", x);
	free(x);
	st_unlink(a);
	CHECK(r->first == c, "front: first is not <c>");
	st_unlink(d);
	CHECK(r->last == c && c->next == NULL, "back: last is not <c>");
	st_unlink(c);
	CHECK(r->first == NULL && r->last == NULL, "only child");
	st_unlink(c);		/* already detached: a no-op */
	x = ser(r, 0);
	CHECK(strcmp(x, "<r></r>") == 0, "emptied: %s", x);
	free(x);
	/* A detached node can be appended elsewhere. */
	st_append(a, b);
	st_append(r, a);
	x = ser(r, 0);
	CHECK(strcmp(x, "<r><a><b></b></a></r>") == 0, "re-appended: %s", x);
	free(x);
	check_tree_sane(r);
	stanza_free(s);
}

/* st_text: concatenated direct text only, into any arena; NULL at cap. */
static void
test_st_text(void **state)
{
	struct stanza	*s = stanza_new(65536), *o = stanza_new(65536);
	struct stanza	*tiny = stanza_new(16);
	struct st_node	*e, *c;
	const char	*t;

	CHECK(s != NULL && o != NULL && tiny != NULL, "stanza_new");
	e = elem(s, NULL, "jid");
	text(s, e, "almacska");
	c = elem(s, e, "x");
	text(s, c, "NOT-MINE");
	text(s, e, "/d4379d2a");
	t = st_text(s, e);
	CHECK(t != NULL && strcmp(t, "almacska/d4379d2a") == 0,
	    "st_text '%s'", t ? t : "(null)");
	t = st_text(o, e);
	CHECK(t != NULL && strcmp(t, "almacska/d4379d2a") == 0,
	    "st_text into another arena");
	CHECK(stanza_used(o) > 0, "st_text into o did not use o");
	t = st_text(s, elem(s, NULL, "empty"));
	CHECK(t != NULL && *t == '\0', "st_text of an empty element");
	/* 17 bytes plus NUL cannot fit in a 16-byte arena. */
	CHECK(st_text(tiny, e) == NULL, "st_text past the cap");
	CHECK(stanza_used(tiny) == 0, "failed st_text used %zu",
	    stanza_used(tiny));
	t = st_text(tiny, c);
	CHECK(t != NULL && strcmp(t, "NOT-MINE") == 0, "st_text that fits");
	stanza_free(s);
	stanza_free(o);
	stanza_free(tiny);
}

/* st_copy: deep, independent of the source, same bytes; NULL at cap. */
static void
test_copy(void **state)
{
	struct stanza	*src = stanza_new(65536), *dst = stanza_new(65536);
	struct stanza	*small;
	struct st_node	*iq, *q, *cp, *tc;
	char		*a, *b;
	size_t		 cap;
	int		 failed = 0, fit = 0;

	CHECK(src != NULL && dst != NULL, "stanza_new");
	iq = elem(src, NULL, "iq");
	attr(src, iq, "type", "set");
	attr(src, iq, "id", "2");
	q = elem(src, iq, "query");
	attr(src, q, "xmlns", "jabber:iq:register");
	text(src, elem(src, q, "username"), "f81edfee27c1");
	text(src, q, " & <more> ");
	elem(src, q, "empty");
	a = ser(iq, 0);
	cp = st_copy(dst, q);
	CHECK(cp != NULL, "st_copy");
	CHECK(cp->parent == NULL && cp->next == NULL, "copy is detached");
	CHECK(strcmp(st_xmlns(cp), "jabber:iq:register") == 0, "copy xmlns");
	cp = st_copy(dst, iq);
	CHECK(cp != NULL, "st_copy of the root");
	/* Edits to the source do not reach the copy. */
	attr(src, iq, "type", "CHANGED");
	text(src, q->first, "CHANGED");
	stanza_free(src);
	b = ser(cp, 0);
	CHECK(strcmp(a, b) == 0, "copy serialises differently:\n%s\n%s", a, b);
	CHECK(strcmp(b, "<iq type='set' id='2'><query xmlns='jabber:iq:register'>"
	    "<username>f81edfee27c1</username> &amp; &lt;more&gt; "
	    "<empty></empty></query></iq>") == 0, "copy bytes: %s", b);
	check_tree_sane(cp);
	/* The copy is editable like any tree of dst. */
	text(dst, st_child(st_child(cp, "query", NULL), "username", NULL), "X");
	tc = st_copy(dst, cp->first->first->first);	/* a text node */
	CHECK(tc != NULL && tc->name == NULL && strcmp(tc->text,
	    "f81edfee27c1X") == 0, "copy of a text node");
	free(b);

	/* Copies into small arenas fail cleanly, never past the cap. */
	for (cap = 16; cap < 4096; cap += 16) {
		small = stanza_new(cap);
		CHECK(small != NULL, "stanza_new");
		if (st_copy(small, cp) == NULL)
			failed = 1;
		else
			fit = 1;
		CHECK(stanza_used(small) <= cap, "st_copy pushed cap %zu to %zu",
		    cap, stanza_used(small));
		stanza_free(small);
	}
	CHECK(failed && fit, "copy never failed (%d) or never fit (%d)",
	    failed, fit);
	free(a);
	stanza_free(dst);
}

/*
 * st_escape: the five characters, in every position, and the white space
 * a parser would normalise (TAB, LF, CR) as character references.
 */
static void
test_escape(void **state)
{
	static const struct {
		const char	*in;
		const char	*out;
	} cases[] = {
		{ "", "" },
		{ "plain text", "plain text" },
		{ "&", "&amp;" },
		{ "a&b<c>d'e\"f", "a&amp;b&lt;c&gt;d&apos;e&quot;f" },
		{ "<<>>", "&lt;&lt;&gt;&gt;" },
		{ "'x'", "&apos;x&apos;" },
		{ "&amp;", "&amp;amp;" },
		{ "\t\n\r;#", "&#9;&#10;&#13;;#" },
		{ " a b ", " a b " },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },
	};
	struct evbuffer	*b;
	size_t		 i, len;
	char		 got[64];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b = evbuffer_new();
		CHECK(b != NULL, "evbuffer_new");
		CHECK(st_escape(b, cases[i].in, strlen(cases[i].in)) == 0,
		    "st_escape");
		len = evbuffer_get_length(b);
		CHECK(len < sizeof(got), "too long");
		evbuffer_remove(b, got, len);
		got[len] = '\0';
		CHECK(strcmp(got, cases[i].out) == 0, "escape '%s': '%s'",
		    cases[i].in, got);
		evbuffer_free(b);
	}
	/* Text keeps TAB and LF, quotes too; CR would read back as LF. */
	b = evbuffer_new();
	CHECK(b != NULL && st_escape_text(b, "\t\n\r'\"<", 6) == 0,
	    "st_escape_text");
	CHECK(evbuffer_get_length(b) == 13 &&
	    memcmp(evbuffer_pullup(b, -1), "\t\n&#13;'\"&lt;", 13) == 0,
	    "text white space");
	evbuffer_free(b);
	/* Only n bytes are read: a NUL inside goes out as is. */
	b = evbuffer_new();
	CHECK(b != NULL && st_escape(b, "a\0<", 3) == 0, "st_escape with NUL");
	CHECK(evbuffer_get_length(b) == 6 &&
	    memcmp(evbuffer_pullup(b, -1), "a\0&lt;", 6) == 0,
	    "NUL handling");
	evbuffer_free(b);
}

/* Serialisation: quotes, escaping, never self-closing, open_only. */
static void
test_serialize(void **state)
{
	struct stanza	*s = stanza_new(65536);
	struct st_node	*st, *m, *body, *e;
	char		*x;

	CHECK(s != NULL, "stanza_new");
	st = elem(s, NULL, "stream:stream");
	attr(s, st, "xmlns:stream", "http://etherx.jabber.org/streams");
	attr(s, st, "xmlns", "jabber:client");
	attr(s, st, "to", "almacska");
	attr(s, st, "version", "1.0");
	m = elem(s, st, "message");
	attr(s, m, "to", "a'b\"c<d>e&f");
	body = elem(s, m, "body");
	text(s, body, "1 < 2 && 3 > 2, \"quoted\" 'single'");
	e = elem(s, m, "x");
	attr(s, e, "xmlns", "jabber:x:event");
	elem(s, e, "composing");

	x = ser(st, 1);
	CHECK(strcmp(x, "<stream:stream xmlns:stream='http://etherx.jabber.org/"
	    "streams' xmlns='jabber:client' to='almacska' version='1.0'>") == 0,
	    "open_only: %s", x);
	free(x);
	x = ser(m, 0);
	CHECK(strcmp(x, "<message to='a&apos;b&quot;c&lt;d&gt;e&amp;f'><body>"
	    "1 &lt; 2 &amp;&amp; 3 &gt; 2, \"quoted\" 'single'"
	    "</body><x xmlns='jabber:x:event'><composing></composing></x>"
	    "</message>") == 0, "message: %s", x);
	free(x);
	x = ser(m, 1);
	CHECK(strcmp(x, "<message to='a&apos;b&quot;c&lt;d&gt;e&amp;f'>") == 0,
	    "open_only of an element with children: %s", x);
	free(x);
	x = ser(elem(s, NULL, "presence"), 0);
	CHECK(strcmp(x, "<presence></presence>") == 0, "empty element: %s", x);
	free(x);
	/* A text node alone serialises as its escaped text. */
	x = ser(body->first, 0);
	CHECK(strcmp(x, "1 &lt; 2 &amp;&amp; 3 &gt; 2, \"quoted\" "
	    "'single'") == 0, "text node: %s", x);
	free(x);
	/* No '/>' anywhere in a whole serialised stream. */
	x = ser(st, 0);
	CHECK(strstr(x, "/>") == NULL, "self-closing tag in %s", x);
	CHECK(strcmp(x + strlen(x) - 16, "</stream:stream>") == 0,
	    "stream end: %s", x);
	free(x);
	stanza_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_cap),
		cmocka_unit_test(test_strndup_elem_cap),
		cmocka_unit_test(test_text_growth),
		cmocka_unit_test(test_text_cap),
		cmocka_unit_test(test_attrs),
		cmocka_unit_test(test_attr_cap),
		cmocka_unit_test(test_child_xmlns),
		cmocka_unit_test(test_unlink),
		cmocka_unit_test(test_st_text),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_serialize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
