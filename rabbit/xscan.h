/*
 * xscan: cuts what a server sends into its stream header and top-level
 * elements the way a rabbit reads it: by tags, with no namespace
 * processing and no entity decoding (the firmware decodes none). Pure
 * functions over byte buffers; they never allocate.
 */
#ifndef NAB_RABBIT_XSCAN_H
#define NAB_RABBIT_XSCAN_H

#include <stddef.h>

/* xs_element() flags: what the firmware's parser would choke on. */
#define XS_BARE_EMPTY	0x1	/* <x/> without attributes: read as "x/" */
#define XS_MARKUP	0x2	/* comment, CDATA or processing instruction */
#define XS_ENTITY	0x4	/* '&': the firmware decodes no entity */
#define XS_TAG_WS	0x8	/* tab, CR or LF between a tag's attributes:
				   the firmware splits them at spaces only */

/*
 * Finds the stream header in buf[0..n): "<stream:stream" up to its '>'.
 * Returns the offset just past the '>', 0 if it has not fully arrived,
 * or -1 if buf ends with a proper prefix of the tag or the tag itself
 * lacks its '>' (split: the firmware never opens such a stream).
 */
long	xs_header(const char *buf, size_t n);
/*
 * The next top-level element at buf[0] (which must be '<'). Returns its
 * length, 0 if it has not fully arrived, -1 if buf starts with an end tag
 * (</stream:stream>), -2 if it is malformed. *flags gets XS_* bits.
 */
long	xs_element(const char *buf, size_t n, int *flags);
/* The element's name into out (NUL-terminated, truncated); its length. */
size_t	xs_name(const char *el, size_t n, char *out, size_t outlen);
/*
 * The value of attribute `name` of the element's first tag (first
 * occurrence, raw) into out. Returns 1 found, 0 absent.
 */
int	xs_attr(const char *el, size_t n, const char *name, char *out,
	    size_t outlen);
/*
 * The text of the first descendant element named `name` (up to the next
 * '<'), raw, into out. Returns 1 found, 0 absent (or self-closing: "").
 */
int	xs_child_text(const char *el, size_t n, const char *name, char *out,
	    size_t outlen);
/*
 * The element's own text up to its first child or end tag, raw, into out
 * (the firmware's "text": its first child if that is text).
 */
void	xs_text(const char *el, size_t n, char *out, size_t outlen);
/* 1 if the element holds a start tag named `name`, else 0. */
int	xs_has_child(const char *el, size_t n, const char *name);

#endif /* NAB_RABBIT_XSCAN_H */
