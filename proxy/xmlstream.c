/*
 * xmlstream: expat in non-namespace mode, suspended after every unit.
 *
 * Offsets are absolute positions in the direction's byte stream. `mark` is
 * where the next unit starts; units are queued (at most three at a time:
 * whitespace, then a stanza or end) and popped by xs_next(). Expat copies
 * what it is fed (XML_CONTEXT_BYTES), so resuming a suspended parse needs
 * no caller buffer; a reset simply refeeds from the unit boundary.
 */

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <expat.h>

#include "stanza.h"
#include "xframe.h"
#include "xmlstream.h"
#include "xsmem.h"

/* Expat calls that may allocate or free run with the parser's slab. */
#define XS_ENTER(xs)	struct xs_slab *xs_prev_ = xsmem_enter((xs)->slab)
#define XS_LEAVE()	xsmem_leave(xs_prev_)

#define XS_QUEUE	4
/*
 * Tree arena cap as a multiple of max_stanza. The tree's node overhead
 * counts against the stanza budget: a stanza of tiny tags (28 KB of
 * <a/>, some 25 bytes of tree per byte) runs into the cap, while text
 * and ordinary markup take 1-1.5 bytes of tree per byte (stanza.c grows
 * text without leaving copies behind). So one direction holds at most
 * max_stanza of input plus 2 x max_stanza + XS_ARENA_MIN of tree
 * (docs/limits); the constant keeps a tiny max_stanza able to hold a
 * header's namespaces and a small stanza's nodes.
 */
#define XS_ARENA_MULT	2
#define XS_ARENA_MIN	4096
/*
 * A dozing stream's new parser is primed with "<" + the stream element's
 * name as the header spelt it + ">" (no unit is made), so that its end tag
 * matches whatever prefix the peer chose (or none).
 */
#define XS_SNAME_MAX	64
#define XS_SNAME_CHARS	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
			"0123456789:_-."

struct xmlstream {
	XML_Parser	 p;
	struct xs_limits lim;
	size_t		 pbase;		/* stream offset of expat's byte 0 */
	size_t		 fed;		/* stream offset after the last feed */
	size_t		 mark;		/* end of the last queued unit */
	size_t		 popped;	/* end of the last popped unit */
	size_t		 ws_end;	/* end of depth-1 character data */
	unsigned	 depth;		/* 0 before header, 1 in stream */
	int		 suspended;
	int		 has_decl;
	int		 dozing;	/* parser freed while idle */
	unsigned	 light;		/* XS_LIGHT_* names framed by xframe */
	int		 onebyte;	/* the header was in a 1-byte encoding */
	int		 cdata;		/* inside a CDATA section */
	struct xs_slab	*slab;		/* the parser's memory, first */
	int		 priming;	/* feeding the primer to a new parser */
	char		 enc[32];	/* encoding the header declared, or "" */
	char		 sname[XS_SNAME_MAX];	/* stream element's name, or "" */
	struct stanza	*cur;		/* stanza being built */
	struct st_node	*node;		/* its current element */
	struct xs_unit	 q[XS_QUEUE];
	unsigned	 qhead, qlen;
	enum xs_error	 err;
	const char	*why;
};

static void	drop_stanzas(struct xmlstream *);
static void	parser_free(struct xmlstream *);

static int	parser_create(struct xmlstream *);
static void	fail(struct xmlstream *, enum xs_error, const char *);
static size_t	ev_start(struct xmlstream *);
static size_t	ev_end(struct xmlstream *);
static int	queue(struct xmlstream *, enum xs_kind, size_t, struct stanza *);
static int	queue_gap(struct xmlstream *, size_t);
static struct st_node *make_elem(struct xmlstream *, struct stanza *,
		    const XML_Char *, const XML_Char **);
static void	on_start(void *, const XML_Char *, const XML_Char **);
static void	on_end(void *, const XML_Char *);
static void	on_chars(void *, const XML_Char *, int);
static void	on_decl(void *, const XML_Char *, const XML_Char *, int);
static void	on_comment(void *, const XML_Char *);
static void	on_pi(void *, const XML_Char *, const XML_Char *);
static void	on_cdata_start(void *);
static void	on_cdata_end(void *);
static void	on_doctype(void *, const XML_Char *, const XML_Char *,
		    const XML_Char *, int);
static void	on_entity(void *, const XML_Char *, int, const XML_Char *,
		    int, const XML_Char *, const XML_Char *, const XML_Char *,
		    const XML_Char *);
static int	onebyte(struct xmlstream *, const XML_Char *);
static int	parse_status(struct xmlstream *, enum XML_Status);
static int	xs_wake(struct xmlstream *);
static void	take(struct xmlstream *, enum xs_kind, size_t, unsigned);
static size_t	feed_light(struct xmlstream *, const char *, size_t);

struct xmlstream *
xs_new(const struct xs_limits *lim)
{
	struct xmlstream	*xs;

	if ((xs = calloc(1, sizeof(*xs))) == NULL)
		return NULL;
	xs->lim = *lim;
	if (parser_create(xs) == -1) {
		free(xs);
		return NULL;
	}
	return xs;
}

void
xs_free(struct xmlstream *xs)
{
	if (xs == NULL)
		return;
	drop_stanzas(xs);
	parser_free(xs);
	free(xs);
}

/* Free the parser and its slab (none is fine). */
static void
parser_free(struct xmlstream *xs)
{
	if (xs->p != NULL) {
		XS_ENTER(xs);
		XML_ParserFree(xs->p);
		XS_LEAVE();
	}
	xsmem_free(xs->slab);
	xs->slab = NULL;
	xs->p = NULL;
}

/*
 * Free the queued stanzas and the one being built; the queue is left
 * empty and xs->cur NULL. xs->node, which points into xs->cur, is the
 * caller's to clear.
 */
static void
drop_stanzas(struct xmlstream *xs)
{
	while (xs->qlen > 0) {
		stanza_free(xs->q[xs->qhead].st);
		xs->qhead = (xs->qhead + 1) % XS_QUEUE;
		xs->qlen--;
	}
	stanza_free(xs->cur);
	xs->cur = NULL;
}

/*
 * Bookworm's expat gained reparse deferral in a security update without a
 * version bump (2.5.0-1+deb12u2), and it would stall tags split across
 * reads. A binary built against older headers may run on the newer
 * library: look the switch up at run time too, once (loop thread only).
 * Every expat parser nabproxy makes goes through here (logsafe.c too).
 */
void
xs_expat_nodefer(XML_Parser p)
{
#ifdef HAVE_XML_SETREPARSEDEFERRALENABLED
	XML_SetReparseDeferralEnabled(p, XML_FALSE);
#else
	static XML_Bool	(*fn)(XML_Parser, XML_Bool);
	static int	 looked;
	void		*sym;

	if (!looked) {
		looked = 1;
		if ((sym = dlsym(RTLD_DEFAULT,
		    "XML_SetReparseDeferralEnabled")) != NULL)
			memcpy(&fn, &sym, sizeof(fn));
	}
	if (fn != NULL)
		fn(p, XML_FALSE);
#endif
}

/* Fresh expat parser at offset `popped`; -1 on ENOMEM. */
static int
parser_create(struct xmlstream *xs)
{
	XML_Parser	p;

	if ((xs->slab = xsmem_new()) == NULL)
		return -1;
	{
		XS_ENTER(xs);
		p = XML_ParserCreate_MM(xs->enc[0] != '\0' ? xs->enc : NULL,
		    &xsmem_suite, NULL);
		XS_LEAVE();
	}
	if (p == NULL) {
		xsmem_free(xs->slab);
		xs->slab = NULL;
		return -1;
	}
	xs_expat_nodefer(p);
	XML_SetHashSalt(p, xsmem_salt());
	XML_SetUserData(p, xs);
	XML_SetElementHandler(p, on_start, on_end);
	XML_SetCharacterDataHandler(p, on_chars);
	XML_SetXmlDeclHandler(p, on_decl);
	XML_SetCommentHandler(p, on_comment);
	XML_SetProcessingInstructionHandler(p, on_pi);
	XML_SetCdataSectionHandler(p, on_cdata_start, on_cdata_end);
	XML_SetStartDoctypeDeclHandler(p, on_doctype);
	XML_SetEntityDeclHandler(p, on_entity);
	XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
	xs->p = p;
	xs->pbase = xs->fed = xs->mark = xs->ws_end = xs->popped;
	xs->depth = 0;
	xs->suspended = 0;
	xs->has_decl = 0;
	xs->cdata = 0;
	return 0;
}

int
xs_reset(struct xmlstream *xs)
{
	if (xs->err != XS_ERR_NONE)
		return -1;
	drop_stanzas(xs);
	xs->node = NULL;
	parser_free(xs);
	xs->dozing = 0;
	xs->enc[0] = '\0';
	xs->sname[0] = '\0';
	if (parser_create(xs) == -1) {
		fail(xs, XS_ERR_NOMEM, "out of memory");
		return -1;
	}
	return 0;
}

static void
fail(struct xmlstream *xs, enum xs_error e, const char *why)
{
	if (xs->err == XS_ERR_NONE) {
		xs->err = e;
		xs->why = why;
	}
	if (xs->p != NULL)
		XML_StopParser(xs->p, XML_FALSE);
}

/* Stream offset where the current expat event starts / ends. */
static size_t
ev_start(struct xmlstream *xs)
{
	return xs->pbase + (size_t)XML_GetCurrentByteIndex(xs->p);
}

static size_t
ev_end(struct xmlstream *xs)
{
	return ev_start(xs) + (size_t)XML_GetCurrentByteCount(xs->p);
}

/* Queue a unit ending at `end`; takes st. -1 (and error set) on a cap. */
static int
queue(struct xmlstream *xs, enum xs_kind kind, size_t end, struct stanza *st)
{
	struct xs_unit	*u;

	if (end - xs->mark > xs->lim.max_stanza) {
		stanza_free(st);
		fail(xs, XS_ERR_POLICY, "stanza exceeds the size limit");
		return -1;
	}
	if (xs->qlen == XS_QUEUE) {
		stanza_free(st);
		fail(xs, XS_ERR_NOMEM, "unit queue overflow");
		return -1;
	}
	u = &xs->q[(xs->qhead + xs->qlen++) % XS_QUEUE];
	memset(u, 0, sizeof(*u));
	u->kind = kind;
	u->len = end - xs->mark;
	u->st = st;
	u->has_decl = kind == XS_HEADER ? xs->has_decl : 0;
	xs->mark = end;
	return 0;
}

/* Queue the character data between mark and `upto` as one XS_WS unit. */
static int
queue_gap(struct xmlstream *xs, size_t upto)
{
	if (upto <= xs->mark)
		return 0;
	return queue(xs, XS_WS, upto, NULL);
}

static struct st_node *
make_elem(struct xmlstream *xs, struct stanza *st, const XML_Char *name,
    const XML_Char **atts)
{
	struct st_node	*n;
	unsigned	 i;

	if ((n = st_elem_new(st, name)) == NULL)
		return NULL;
	for (i = 0; atts[i] != NULL; i += 2) {
		if (i / 2 >= xs->lim.max_attrs) {
			fail(xs, XS_ERR_POLICY, "too many attributes");
			return NULL;
		}
		if (st_attr_set(st, n, atts[i], atts[i + 1]) == -1)
			return NULL;
	}
	return n;
}

static void
on_start(void *arg, const XML_Char *name, const XML_Char **atts)
{
	struct xmlstream	*xs = arg;
	struct stanza		*st;
	struct st_node		*n;
	const char		*local;

	if (xs->err != XS_ERR_NONE)
		return;
	if (xs->depth == 0 && xs->priming) {
		/* A dozing stream wakes up inside its stream element. */
		xs->depth = 1;
		return;
	}
	if (xs->depth == 0) {
		local = strchr(name, ':');
		local = local != NULL ? local + 1 : name;
		if (strcmp(local, "stream") != 0) {
			fail(xs, XS_ERR_NOT_WELL_FORMED,
			    "stream does not begin with <stream:stream>");
			return;
		}
		if ((st = stanza_new(xs->lim.max_stanza * XS_ARENA_MULT +
		    XS_ARENA_MIN)) == NULL ||
		    (n = make_elem(xs, st, name, atts)) == NULL) {
			stanza_free(st);
			fail(xs, XS_ERR_POLICY, "stream header too large");
			return;
		}
		stanza_set_root(st, n);
		xs->depth = 1;
		xs->onebyte = onebyte(xs, name);
		/* For a doze's primer; not ASCII or too long: no doze. */
		xs->sname[0] = '\0';
		if (strlen(name) < sizeof(xs->sname) &&
		    strspn(name, XS_SNAME_CHARS) == strlen(name))
			memcpy(xs->sname, name, strlen(name) + 1);
		if (queue(xs, XS_HEADER, ev_end(xs), st) == 0)
			XML_StopParser(xs->p, XML_TRUE);
		xs->ws_end = xs->mark;
		return;
	}
	if (xs->depth - 1 >= xs->lim.max_depth) {
		fail(xs, XS_ERR_POLICY, "stanza nesting exceeds the depth limit");
		return;
	}
	if (xs->depth == 1) {
		if (queue_gap(xs, ev_start(xs)) == -1)
			return;
		if ((xs->cur = stanza_new(xs->lim.max_stanza * XS_ARENA_MULT +
		    XS_ARENA_MIN)) == NULL) {
			fail(xs, XS_ERR_NOMEM, "out of memory");
			return;
		}
	}
	if ((n = make_elem(xs, xs->cur, name, atts)) == NULL) {
		fail(xs, XS_ERR_POLICY, "stanza exceeds the memory limit");
		return;
	}
	if (xs->depth == 1)
		stanza_set_root(xs->cur, n);
	else
		st_append(xs->node, n);
	xs->node = n;
	xs->depth++;
}

/*
 * The stream element's start tag is '<' and then its name's first byte
 * as expat passes it (UTF-8): the stream is in a one-byte encoding, not
 * in UTF-16, which expat also detects without any declaration (from a
 * BOM, or from "<\0"). 0 when it cannot tell (no XML_CONTEXT_BYTES).
 * Light framing and a doze's primer both need one byte per character.
 */
static int
onebyte(struct xmlstream *xs, const XML_Char *name)
{
	const char	*ctx;
	int		 off = 0, size = 0;

	ctx = XML_GetInputContext(xs->p, &off, &size);
	return ctx != NULL && off >= 0 && size - off >= 2 && ctx[off] == '<' &&
	    ctx[off + 1] == name[0];
}

static void
on_end(void *arg, const XML_Char *name)
{
	struct xmlstream	*xs = arg;
	struct stanza		*st;

	if (xs->err != XS_ERR_NONE || xs->depth == 0)
		return;
	xs->depth--;
	if (xs->depth == 0) {
		if (queue_gap(xs, ev_start(xs)) == 0 &&
		    queue(xs, XS_END, ev_end(xs), NULL) == 0)
			XML_StopParser(xs->p, XML_TRUE);
		return;
	}
	if (xs->depth > 1) {
		xs->node = xs->node->parent;
		return;
	}
	st = xs->cur;
	xs->cur = NULL;
	xs->node = NULL;
	if (queue(xs, XS_STANZA, ev_end(xs), st) == 0)
		XML_StopParser(xs->p, XML_TRUE);
	xs->ws_end = xs->mark;
}

static void
on_chars(void *arg, const XML_Char *s, int len)
{
	struct xmlstream	*xs = arg;
	int			 i;

	if (xs->err != XS_ERR_NONE)
		return;
	if (xs->depth == 1) {
		for (i = 0; i < len; i++) {
			if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
			    s[i] != '\n') {
				fail(xs, XS_ERR_NOT_WELL_FORMED,
				    "text between stanzas");
				return;
			}
		}
		xs->ws_end = ev_end(xs);
		return;
	}
	if (xs->depth < 2)
		return;
	if (st_text_append(xs->cur, xs->node, s, (size_t)len) == -1)
		fail(xs, XS_ERR_POLICY, "stanza exceeds the memory limit");
}

static void
on_decl(void *arg, const XML_Char *version, const XML_Char *encoding,
    int standalone)
{
	struct xmlstream	*xs = arg;

	xs->has_decl = 1;
	/* Kept for the parser that replaces this one after a doze. */
	if (encoding != NULL && strlen(encoding) < sizeof(xs->enc))
		memcpy(xs->enc, encoding, strlen(encoding) + 1);
}

static void
on_comment(void *arg, const XML_Char *data)
{
	fail(arg, XS_ERR_RESTRICTED, "XML comment");
}

/*
 * A CDATA section between stanzas that holds only white space so far has
 * been reported to the last byte, yet expat is still inside it: the
 * stream is at no unit boundary a byte scan or a new parser could start
 * from (feed_light, xs_doze).
 */
static void
on_cdata_start(void *arg)
{
	((struct xmlstream *)arg)->cdata = 1;
}

static void
on_cdata_end(void *arg)
{
	((struct xmlstream *)arg)->cdata = 0;
}

static void
on_pi(void *arg, const XML_Char *target, const XML_Char *data)
{
	fail(arg, XS_ERR_RESTRICTED, "processing instruction");
}

static void
on_doctype(void *arg, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal_subset)
{
	fail(arg, XS_ERR_RESTRICTED, "DOCTYPE");
}

static void
on_entity(void *arg, const XML_Char *name, int is_param,
    const XML_Char *value, int value_len, const XML_Char *base,
    const XML_Char *sysid, const XML_Char *pubid, const XML_Char *notation)
{
	fail(arg, XS_ERR_RESTRICTED, "entity declaration");
}

/* Map an expat status after parse/resume to our state. */
static int
parse_status(struct xmlstream *xs, enum XML_Status rc)
{
	enum XML_Error	e;

	if (xs->err != XS_ERR_NONE)
		return -1;
	if (rc == XML_STATUS_SUSPENDED) {
		xs->suspended = 1;
		return 0;
	}
	xs->suspended = 0;
	if (rc == XML_STATUS_ERROR) {
		e = XML_GetErrorCode(xs->p);
		if (e == XML_ERROR_UNDEFINED_ENTITY ||
		    e == XML_ERROR_EXTERNAL_ENTITY_HANDLING ||
		    e == XML_ERROR_MISPLACED_XML_PI)
			fail(xs, XS_ERR_RESTRICTED, XML_ErrorString(e));
		else if (e == XML_ERROR_NO_MEMORY)
			fail(xs, XS_ERR_NOMEM, "out of memory");
		else
			fail(xs, XS_ERR_NOT_WELL_FORMED, XML_ErrorString(e));
		return -1;
	}
	/* All input parsed: flush keep-alive whitespace now, not later. */
	if (xs->depth == 1 && xs->cur == NULL && queue_gap(xs, xs->ws_end) == -1)
		return -1;
	if (xs->fed - xs->mark > xs->lim.max_stanza) {
		fail(xs, XS_ERR_POLICY, "stanza exceeds the size limit");
		return -1;
	}
	return 0;
}

int
xs_feed(struct xmlstream *xs, const char *p, size_t n)
{
	if (xs->err != XS_ERR_NONE)
		return -1;
	if (n > XS_FEED_MAX || xs->suspended || xs->qlen > 0) {
		fail(xs, XS_ERR_NOMEM, "xs_feed misuse");
		return -1;
	}
	if (n == 0)
		return 0;
	if (xs->light != 0 && feed_light(xs, p, n) > 0)
		return xs->err != XS_ERR_NONE ? -1 : 0;
	if (xs->err != XS_ERR_NONE)
		return -1;
	if (xs->dozing && xs_wake(xs) == -1)
		return -1;
	xs->fed += n;
	{
		enum XML_Status	st;
		XS_ENTER(xs);

		st = XML_Parse(xs->p, p, (int)n, XML_FALSE);
		XS_LEAVE();
		return parse_status(xs, st);
	}
}

int
xs_next(struct xmlstream *xs, struct xs_unit *u)
{
	for (;;) {
		if (xs->err != XS_ERR_NONE)
			return -1;
		if (xs->qlen > 0) {
			*u = xs->q[xs->qhead];
			xs->qhead = (xs->qhead + 1) % XS_QUEUE;
			xs->qlen--;
			xs->popped += u->len;
			return 1;
		}
		if (!xs->suspended)
			return 0;
		{
			enum XML_Status	st;
			XS_ENTER(xs);

			st = XML_ResumeParser(xs->p);
			XS_LEAVE();
			if (parse_status(xs, st) == -1)
				return -1;
		}
	}
}

void
xs_set_light(struct xmlstream *xs, unsigned names)
{
	xs->light = names;
}

/* The XS_LIGHT_* bit for a root name, 0 for any other name. */
static unsigned
light_bit(const char *name, size_t len)
{
	if (len == 7 && memcmp(name, "message", 7) == 0)
		return XS_LIGHT_MESSAGE;
	if (len == 8 && memcmp(name, "presence", 8) == 0)
		return XS_LIGHT_PRESENCE;
	if (len == 2 && memcmp(name, "iq", 2) == 0)
		return XS_LIGHT_IQ;
	return 0;
}

/*
 * The XS_LIGHT_* bit of the start tag p begins with, if it is one of
 * `want`, else 0: an iq or the features are not scanned first only to go
 * to expat anyway.
 */
static unsigned
light_named(const char *p, size_t n, unsigned want)
{
	size_t	k;
	char	c;

	if (n < 2 || p[0] != '<')
		return 0;
	for (k = 1; k < n && k <= sizeof("presence"); k++) {
		c = p[k];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '/' ||
		    c == '>')
			return light_bit(p + 1, k - 1) & want;
	}
	return 0;
}

/* Queue len bytes taken by feed_light() as one unit; they skip expat. */
static void
take(struct xmlstream *xs, enum xs_kind kind, size_t len, unsigned bit)
{
	/* Cannot fail: len <= max_stanza, and the caller checked the room. */
	if (queue(xs, kind, xs->mark + len, NULL) == -1)
		return;
	xs->q[(xs->qhead + xs->qlen - 1) % XS_QUEUE].light = bit;
	xs->fed += len;
	xs->pbase += len;
	xs->ws_end = xs->mark;
}

/*
 * Frame whole plain stanzas and the white space before them from the
 * front of p without expat, while the stream stands at a unit boundary
 * inside the stream element with nothing in expat. Returns the bytes
 * taken as units (0: expat reads all of p). Skipped bytes never reach
 * expat, so its byte 0 moves along with them (pbase).
 *
 * The units are exactly expat's: white space is taken only before a
 * light stanza (expat cuts it at the stanza's start) or up to the end of
 * p (expat yields it when its input ends) but for a final CR, which
 * expat keeps back as it may begin a CRLF. White space before anything
 * else (a CDATA section, a character reference, text) is left to expat,
 * which may make it part of a longer unit, and so is white space over
 * the cap, which expat refuses.
 */
static size_t
feed_light(struct xmlstream *xs, const char *p, size_t n)
{
	struct xf_limits	 lim;
	size_t			 took = 0, ws, len, nlen;
	const char		*name;
	unsigned		 bit;

	if (xs->depth != 1 || xs->qlen != 0 || xs->suspended ||
	    xs->cur != NULL || xs->fed != xs->popped || !xs->onebyte ||
	    xs->cdata || (xs->enc[0] != '\0' &&
	    strcasecmp(xs->enc, "UTF-8") != 0))
		return 0;
	lim.max_len = xs->lim.max_stanza;
	lim.max_depth = xs->lim.max_depth;
	lim.max_attrs = xs->lim.max_attrs;
	while (took < n && xs->qlen + 2 <= XS_QUEUE) {
		ws = xf_ws(p + took, n - took);
		if (took + ws == n) {
			if (p[n - 1] == '\r')
				ws--;
			if (ws > 0 && ws <= xs->lim.max_stanza) {
				take(xs, XS_WS, ws, 0);
				took += ws;
			}
			break;
		}
		/* xf_frame() reads the same start tag: its name is bit's. */
		if (ws > xs->lim.max_stanza || (bit = light_named(p + took + ws,
		    n - took - ws, xs->light)) == 0 ||
		    xf_frame(p + took + ws, n - took - ws, &lim, &len, &name,
		    &nlen) != 1)
			break;
		if (ws > 0)
			take(xs, XS_WS, ws, 0);
		take(xs, XS_STANZA, len, bit);
		took += ws + len;
	}
	return took;
}

size_t
xs_buffered(const struct xmlstream *xs)
{
	return xs->fed - xs->popped;
}

enum xs_error
xs_error(const struct xmlstream *xs, const char **why)
{
	if (why != NULL)
		*why = xs->why;
	return xs->err;
}

const char *
xs_error_condition(enum xs_error e)
{
	switch (e) {
	case XS_ERR_NOT_WELL_FORMED:
		return "not-well-formed";
	case XS_ERR_RESTRICTED:
		return "restricted-xml";
	case XS_ERR_POLICY:
		return "policy-violation";
	case XS_ERR_NOMEM:
		return "internal-server-error";
	case XS_ERR_NONE:
		break;
	}
	return "undefined-condition";
}

int
xs_doze(struct xmlstream *xs)
{
	if (xs->dozing)
		return 1;
	if (xs->err != XS_ERR_NONE || xs->p == NULL || xs->qlen > 0 ||
	    xs->suspended || xs->cur != NULL || xs->fed != xs->popped ||
	    xs->depth > 1 || xs->cdata || (xs->depth == 1 && (!xs->onebyte ||
	    xs->sname[0] == '\0')))
		return 0;
	parser_free(xs);
	xs->dozing = 1;
	return 1;
}

int
xs_dozing(const struct xmlstream *xs)
{
	return xs->dozing;
}

/*
 * A fresh parser for a dozing stream, in the state the old one was left
 * in: before the header (depth 0), or inside the stream element, which
 * the primer opens without making a unit. Element names keep their
 * prefixes and no namespace processing is done, so a stanza parses the
 * same whatever the stream header declared; the header's encoding is
 * kept (xs->enc). Offsets stay absolute: expat's byte 0 is the primer's.
 */
static int
xs_wake(struct xmlstream *xs)
{
	unsigned	depth = xs->depth;
	char		primer[XS_SNAME_MAX + 2];
	int		ok, plen;

	xs->dozing = 0;
	if (parser_create(xs) == -1) {
		fail(xs, XS_ERR_NOMEM, "out of memory");
		return -1;
	}
	if (depth == 0)
		return 0;
	xs->priming = 1;
	{
		enum XML_Status	st;
		XS_ENTER(xs);

		plen = snprintf(primer, sizeof(primer), "<%s>", xs->sname);
		st = XML_Parse(xs->p, primer, plen, XML_FALSE);
		XS_LEAVE();
		ok = st == XML_STATUS_OK && xs->depth == 1;
	}
	if (!ok) {
		xs->priming = 0;
		fail(xs, XS_ERR_NOMEM, "cannot restore the stream context");
		return -1;
	}
	xs->priming = 0;
	xs->pbase = xs->popped - (size_t)plen;
	return 0;
}
