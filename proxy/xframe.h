/*
 * xframe: where a plain top-level element ends, found without a parser.
 *
 * Almost every stanza after login is "plain": ASCII, elements, attributes
 * in quotes, text, and no entity but the five predefined ones. For such a
 * stanza a byte scan finds the same span an XML parser would, and checks
 * everything that makes it well-formed: names, quotes, the white space
 * between attributes, duplicate attributes, end tags matching their start
 * tags, "]]>" in text, characters XML forbids. xmlstream uses it to frame
 * the stanzas no reader needs as a tree, so they never reach expat.
 *
 * The scan is conservative: anything outside the plain grammar (a byte
 * >= 0x7f, a character reference, a comment, CDATA, a PI, a stanza cut
 * short, more nesting or attributes than the limits) is answered 0, and
 * the caller lets expat read the same bytes, which gives the authoritative
 * verdict (a unit or a stream error). So xf_frame() never accepts what
 * expat would refuse, and never cuts elsewhere than expat would:
 * tests/fuzz/fuzz_xframe.c checks exactly that against xmlstream.
 */
#ifndef NAB_XFRAME_H
#define NAB_XFRAME_H

#include <stddef.h>

/* Deepest nesting and most attributes per element the scan handles. */
#define XF_MAX_DEPTH	32
#define XF_MAX_ATTRS	32

struct xf_limits {
	size_t		max_len;	/* longest element accepted */
	unsigned	max_depth;	/* nesting, the element itself is 1 */
	unsigned	max_attrs;	/* attributes on one element */
};

/*
 * Leading XML white space (space, tab, CR, LF) in p[0..n): its length.
 */
size_t	xf_ws(const char *p, size_t n);

/*
 * If p[0..n) begins with one complete plain element: 1, its length in
 * *len and its root element's name in *name / *name_len (pointing into
 * p). Otherwise 0 (not plain, over a limit, or incomplete).
 */
int	xf_frame(const char *p, size_t n, const struct xf_limits *lim,
	    size_t *len, const char **name, size_t *name_len);

#endif /* NAB_XFRAME_H */
