/*
 * stanza: one XML element tree in one arena.
 *
 * A stanza owns a single arena; every node, name, attribute and text
 * belongs to it and is freed with stanza_free() in one go (jabberd2's nad,
 * nginx pools). The arena has a hard byte cap fixed at creation, so a tree
 * built from peer data can never grow past it: every allocating call fails
 * cleanly with -1/NULL when the cap would be exceeded.
 *
 * Names keep their prefix as written ("stream:features"); there is no
 * namespace processing, "xmlns" and "xmlns:x" are ordinary attributes.
 * st_xmlns() resolves the default namespace by walking up the tree.
 */
#ifndef NAB_STANZA_H
#define NAB_STANZA_H

#include <stddef.h>

#include "attrib.h"

struct evbuffer;

struct st_attr {
	const char	*name;
	const char	*value;
};

struct st_node {
	struct st_node	*parent;
	struct st_node	*next;		/* next sibling */
	struct st_node	*first;		/* first child */
	struct st_node	*last;		/* last child */
	const char	*name;		/* NULL for a text node */
	struct st_attr	*attrs;
	size_t		 nattrs;
	size_t		 attrcap;
	char		*text;		/* text node: decoded bytes, NUL-terminated */
	size_t		 textlen;
	size_t		 textcap;
};

struct stanza;

/* New empty stanza whose arena may hold at most cap bytes. NULL on ENOMEM. */
struct stanza	*stanza_new(size_t cap) WUNRES;
void		 stanza_free(struct stanza *);
/* Bytes the arena holds now (for caps and memory accounting). */
size_t		 stanza_used(const struct stanza *);
/* Root element, NULL until st_set_root(). */
struct st_node	*stanza_root(const struct stanza *);
void		 stanza_set_root(struct stanza *, struct st_node *);

/* Arena allocation; NULL when the cap is reached. */
void		*st_alloc(struct stanza *, size_t) WUNRES;
char		*st_strndup(struct stanza *, const char *, size_t) WUNRES;

/* New detached element (name copied). NULL when the cap is reached. */
struct st_node	*st_elem_new(struct stanza *, const char *name) WUNRES;
/* Append child to parent's children. */
void		 st_append(struct st_node *parent, struct st_node *child);
/* Unlink a node from its parent; it stays in the arena. */
void		 st_unlink(struct st_node *);
/*
 * Append text to parent: extends the last child if it is a text node,
 * else adds one. Amortised O(n) growth. -1 when the cap is reached.
 */
int		 st_text_append(struct stanza *, struct st_node *parent,
		    const char *s, size_t n) WUNRES;
/* Set (replace or add, keeping order) an attribute. -1 at the cap. */
int		 st_attr_set(struct stanza *, struct st_node *,
		    const char *name, const char *value) WUNRES;
/* Remove an attribute; 1 if it was there, 0 if not. */
int		 st_attr_del(struct st_node *, const char *name);
/* Attribute value or NULL. */
const char	*st_attr(const struct st_node *, const char *name);
/* Effective default namespace (own or inherited xmlns), NULL if none. */
const char	*st_xmlns(const struct st_node *);
/*
 * An element's own namespace, its prefix resolved: "p:name" looks for
 * xmlns:p on the element and its ancestors, "name" for xmlns. NULL if
 * nothing in the unit declares it (it may come from the stream header).
 */
const char	*st_ns(const struct st_node *);
/* The element's name without its prefix. */
const char	*st_local(const struct st_node *);
/*
 * First direct child element with this name (prefix included, NULL =
 * any) and, if xmlns is not NULL, this effective namespace.
 */
struct st_node	*st_child(const struct st_node *, const char *name,
		    const char *xmlns);
/* Next sibling element after n (skipping text), NULL at the end. */
struct st_node	*st_next_elem(const struct st_node *);
/*
 * Concatenated direct text of an element, in the arena of s (the node may
 * belong to s or not). "" if none, NULL at the cap.
 */
const char	*st_text(struct stanza *s, const struct st_node *);
/* Deep copy of node n (from any stanza) into s. NULL at the cap. */
struct st_node	*st_copy(struct stanza *s, const struct st_node *n) WUNRES;

/*
 * Canonical serialisation: attributes in order, values in single quotes
 * with & < > ' " TAB LF CR escaped, text with & < > CR escaped (so the
 * bytes parse back to the same tree), and never
 * self-closing ("<x></x>"), since the Nabaztag parser misreads "<x/>".
 * With open_only, only the start tag is written (for stream headers).
 * -1 on evbuffer ENOMEM.
 */
int		 st_serialize(const struct st_node *, struct evbuffer *out,
		    int open_only) WUNRES;

/*
 * Escape s for an attribute value (& < > ' " and TAB LF CR, which a
 * parser would turn into spaces) into out. -1 on ENOMEM.
 */
int		 st_escape(struct evbuffer *out, const char *s, size_t n) WUNRES;
/*
 * Escape s for text (& < > and CR, which a parser would read as LF): the
 * Nabaztag firmware decodes no entity, so quotes in text stay quotes.
 * -1 on ENOMEM.
 */
int		 st_escape_text(struct evbuffer *out, const char *s, size_t n)
		    WUNRES;

#endif /* NAB_STANZA_H */
