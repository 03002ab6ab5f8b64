/*
 * xmlstream: one direction of an XMPP stream, cut into units.
 *
 * The caller keeps the bytes (normally in a bufferevent's input) and feeds
 * them in; xmlstream yields units that tile the input exactly: the stream
 * header (with any XML declaration and leading whitespace), each top-level
 * stanza, the whitespace between stanzas, and the stream end. Each unit
 * gives its byte length, so the caller forwards an untouched unit by moving
 * exactly that many bytes from the front of its buffer.
 *
 * Whitespace between stanzas is yielded as soon as it is read, because
 * keep-alives must reach the other side without waiting for the next
 * stanza; so a run of whitespace split across reads comes as several
 * XS_WS units. Every other unit is the same whatever the read sizes.
 *
 * Restarts (after SASL success, STARTTLS proceed, compressed) are never
 * done inside an expat callback: the parser suspends after every unit, the
 * caller decides, and xs_reset() starts a fresh parser at the unit boundary.
 *
 * Hostile input: everything the peer controls is capped before memory grows
 * (unit bytes, tree arena, depth, attributes); DOCTYPE, comments, PIs and
 * entities are refused (RFC 6120 4.9.3.18 restricted-xml).
 */
#ifndef NAB_XMLSTREAM_H
#define NAB_XMLSTREAM_H

#include <stddef.h>

#include "attrib.h"

struct stanza;

/* The most bytes xs_feed() takes in one call; keeps expat's copy bounded. */
#define XS_FEED_MAX	4096

enum xs_kind {
	XS_HEADER = 0,		/* <?xml?> and <stream:stream ...> */
	XS_STANZA,		/* one top-level element */
	XS_WS,			/* character data between top-level elements */
	XS_END			/* </stream:stream> */
};

enum xs_error {
	XS_ERR_NONE = 0,
	XS_ERR_NOT_WELL_FORMED,	/* <not-well-formed/> */
	XS_ERR_RESTRICTED,	/* <restricted-xml/> */
	XS_ERR_POLICY,		/* <policy-violation/>: a cap was hit */
	XS_ERR_NOMEM		/* <internal-server-error/> */
};

struct xs_limits {
	size_t		max_stanza;	/* bytes of one unit */
	unsigned	max_depth;	/* element nesting inside a stanza */
	unsigned	max_attrs;	/* attributes on one element */
};

struct xs_unit {
	enum xs_kind	 kind;
	size_t		 len;		/* exact input bytes of the unit */
	/*
	 * XS_HEADER: root is the stream element, no children.
	 * XS_STANZA: the tree. NULL for the other kinds.
	 * Owned by the caller after xs_next(); free with stanza_free().
	 */
	struct stanza	*st;
	int		 has_decl;	/* XS_HEADER: bytes hold <?xml ...?> */
	/*
	 * XS_STANZA framed without a parser (xs_set_light): the XS_LIGHT_*
	 * bit of its root name, and st is NULL. 0 for every other unit.
	 */
	unsigned	 light;
};

struct xmlstream;

/* New stream parser. NULL on ENOMEM. Limits are copied. */
struct xmlstream *xs_new(const struct xs_limits *) WUNRES;
void		 xs_free(struct xmlstream *);

/*
 * Feed n (<= XS_FEED_MAX) new bytes, which must directly follow the bytes
 * fed before. Returns 0, or -1 once the stream is in error (see
 * xs_error(); every later call fails too). Call xs_next() until it returns
 * 0 before feeding again. With light framing on (xs_set_light) only the
 * first units of the bytes may be taken: feed again from xs_buffered().
 */
int		 xs_feed(struct xmlstream *, const char *p, size_t n) WUNRES;

/*
 * Next complete unit: 1 and *u filled, 0 when more input is needed, -1 on
 * error. Units come in input order and tile it without gaps.
 */
int		 xs_next(struct xmlstream *, struct xs_unit *u) WUNRES;

/*
 * Bytes fed but not yet returned in a unit: the caller's unfed input
 * starts this far into its buffer (after draining returned units).
 */
size_t		 xs_buffered(const struct xmlstream *);

/*
 * Start a new stream at the end of the last unit xs_next() returned: the
 * next unit is a header again. Bytes fed beyond that point are forgotten;
 * xs_buffered() becomes 0 and the caller feeds them again. -1 on ENOMEM.
 */
int		 xs_reset(struct xmlstream *) WUNRES;

/*
 * Stanzas nobody needs as a tree: a top-level element named in `names`
 * (XS_LIGHT_* bits, 0 = none, the default) that is plain (xframe.h) and
 * arrives whole within one xs_feed() chunk is cut by a byte scan instead
 * of expat, and comes as an XS_STANZA unit with st NULL and `light` set
 * (the whitespace around it as XS_WS units). Anything else, and every
 * stanza while a fed byte is still inside expat, is parsed as before.
 * Only in a UTF-8 stream, inside the stream element (not inside a CDATA
 * section between stanzas). The units, white space included, and the
 * errors are those of the normal mode for the same reads (of at most
 * XS_FEED_MAX bytes each): only the trees are missing, and with them the
 * tree's memory cap (a light stanza is bounded by max_stanza alone)
 * (tests/fuzz/fuzz_xframe.c checks that). The caller may
 * change the set before any xs_feed(); xs_feed() may then take only the
 * first units of its chunk (xs_buffered() says where the rest starts).
 */
#define XS_LIGHT_MESSAGE	0x1u
#define XS_LIGHT_PRESENCE	0x2u
#define XS_LIGHT_IQ		0x4u
void		 xs_set_light(struct xmlstream *, unsigned names);

/*
 * Idle: free the parser (and with it all of expat's buffers and tables)
 * if the stream stands at a unit boundary with nothing fed and not yet
 * returned (not inside a CDATA section between stanzas, not in a stream
 * of two-byte characters, UTF-16, and not when the stream element's name
 * is not ASCII or over 63 bytes); the next xs_feed() makes a new one in
 * the same state (before the header, or inside the stream element, with
 * the header's declared encoding and the element's name as the header
 * spelt it, prefix or none), so the units that follow, the stream's end
 * tag included, are exactly those an undisturbed parser would have made.
 * 1 if the stream dozes now, 0 if it cannot.
 */
int		 xs_doze(struct xmlstream *);
/* 1 while dozing (tests, memory accounting). */
int		 xs_dozing(const struct xmlstream *);

/* Error class and a short human reason (static or owned by xs). */
enum xs_error	 xs_error(const struct xmlstream *, const char **why);

/* RFC 6120 condition element name for an error class. */
const char	*xs_error_condition(enum xs_error);

/*
 * Turn expat's reparse deferral off on p (an XML_Parser), whether the
 * headers this was built with know the switch or only the library does.
 */
struct XML_ParserStruct;
void		 xs_expat_nodefer(struct XML_ParserStruct *p);

#endif /* NAB_XMLSTREAM_H */
