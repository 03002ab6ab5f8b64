/*
 * xframe: the plain-element scan (see xframe.h). One pass over the bytes,
 * a class table per byte, a stack of open element names as offsets into
 * the input; nothing is allocated and nothing outside p[0..n) is read.
 */
#include <string.h>

#include "xframe.h"

#define C_TEXT	1	/* a character XML allows, other than '<' and '&' */
#define C_NAME	2	/* may continue a name */
#define C_START	4	/* may start a name */
#define C_WS	8	/* white space */
#define C_PLAIN	16	/* C_TEXT but '>': text that needs no second look */
#define C_VAL	32	/* C_TEXT but the quotes: the same in a value */

/* ASCII only: bytes >= 0x7f and the controls XML forbids are 0. */
static const unsigned char cls[256] = {
	 0,  0,  0,  0,  0,  0,  0,  0,  0, 57, 57,  0,  0, 57,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	57, 49, 17, 49, 49, 49,  0, 17, 49, 49, 49, 49, 49, 51, 51, 49,
	51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 55, 49,  0, 49, 33, 49,
	49, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55,
	55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 49, 49, 49, 49, 55,
	49, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55,
	55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 49, 49, 49, 49,  0,
	/* 0x80 .. 0xff: not plain */
};

struct scan {
	const unsigned char	*p;
	size_t			 n;	/* bytes that may be read */
	size_t			 i;	/* next byte */
};

/* Where the run of bytes of class `want` from s->i ends. */
static inline size_t
run(const struct scan *s, unsigned char want)
{
	const unsigned char	*p = s->p;
	size_t			 i = s->i, n = s->n;

	while (i < n && (cls[p[i]] & want))
		i++;
	return i;
}

static size_t
skip_ws(struct scan *s)
{
	size_t	b = s->i;

	s->i = run(s, C_WS);
	return s->i - b;
}

/* A name at s->i: its length, or 0 (none, or it may go on past n). */
static size_t
scan_name(struct scan *s)
{
	size_t	b = s->i;

	if (b >= s->n || !(cls[s->p[b]] & C_START))
		return 0;
	s->i = run(s, C_NAME);
	return s->i < s->n ? s->i - b : 0;
}

/* One of the five predefined entities at s->i ('&'): 1 and past it. */
static int
scan_ref(struct scan *s)
{
	const unsigned char	*q = s->p + s->i + 1;
	size_t			 left = s->n - s->i - 1, len;

	if (left >= 3 && (q[0] == 'l' || q[0] == 'g') && q[1] == 't' &&
	    q[2] == ';')
		len = 3;
	else if (left >= 4 && memcmp(q, "amp;", 4) == 0)
		len = 4;
	else if (left >= 5 && (memcmp(q, "quot;", 5) == 0 ||
	    memcmp(q, "apos;", 5) == 0))
		len = 5;
	else
		return 0;
	s->i += 1 + len;
	return 1;
}

/*
 * Characters up to `end`: an attribute value's closing quote (consumed;
 * want C_VAL), or the '<' after text (not consumed; want C_PLAIN, and
 * "]]>" is refused). 1, or 0 if they are not plain or run out.
 */
static int
scan_chars(struct scan *s, unsigned char want, unsigned char end)
{
	size_t		start = s->i;
	unsigned char	c;

	for (;;) {
		s->i = run(s, want);
		if (s->i >= s->n)
			return 0;
		if ((c = s->p[s->i]) == end) {
			s->i += end != '<';
			return 1;
		}
		if (c == '>' && end == '<' && s->i - start >= 2 &&
		    s->p[s->i - 1] == ']' && s->p[s->i - 2] == ']')
			return 0;
		if (cls[c] & C_TEXT)
			s->i++;
		else if (c != '&' || !scan_ref(s))
			return 0;
	}
}

/* One attribute at s->i, unless it repeats one of the na before it. */
static int
scan_attr(struct scan *s, size_t *off, size_t *len, unsigned na)
{
	size_t		b = s->i, l, k;
	unsigned char	q;

	if ((l = scan_name(s)) == 0)
		return 0;
	for (k = 0; k < na; k++)
		if (len[k] == l && memcmp(s->p + off[k], s->p + b, l) == 0)
			return 0;
	off[na] = b;
	len[na] = l;
	skip_ws(s);
	if (s->i >= s->n || s->p[s->i] != '=')
		return 0;
	s->i++;
	skip_ws(s);
	if (s->i >= s->n || (s->p[s->i] != '"' && s->p[s->i] != '\''))
		return 0;
	q = s->p[s->i++];
	return scan_chars(s, C_VAL, q);
}

/*
 * A start tag whose name begins at s->i (after '<'), through '>' or "/>":
 * 1 with the name's length in *nlen and *empty set for "/>", else 0.
 */
static int
scan_stag(struct scan *s, unsigned max_attrs, size_t *nlen, int *empty)
{
	size_t		aoff[XF_MAX_ATTRS], alen[XF_MAX_ATTRS], ws;
	unsigned	na = 0;

	if ((*nlen = scan_name(s)) == 0)
		return 0;
	for (;;) {
		ws = skip_ws(s);
		if (s->i >= s->n)
			return 0;
		if (s->p[s->i] == '>' || s->p[s->i] == '/') {
			*empty = s->p[s->i] == '/';
			if (*empty && (s->i + 1 >= s->n || s->p[s->i + 1] != '>'))
				return 0;
			s->i += *empty ? 2 : 1;
			return 1;
		}
		/* Attributes are separated by white space. */
		if (ws == 0 || na == max_attrs ||
		    !scan_attr(s, aoff, alen, na))
			return 0;
		na++;
	}
}

size_t
xf_ws(const char *p, size_t n)
{
	size_t	i = 0;

	while (i < n && (cls[(unsigned char)p[i]] & C_WS))
		i++;
	return i;
}

int
xf_frame(const char *p, size_t n, const struct xf_limits *lim, size_t *len,
    const char **name, size_t *name_len)
{
	struct scan	s;
	size_t		off[XF_MAX_DEPTH], nl[XF_MAX_DEPTH], l;
	unsigned	depth = 0, maxd, maxa;
	int		empty;

	maxd = lim->max_depth < XF_MAX_DEPTH ? lim->max_depth : XF_MAX_DEPTH;
	maxa = lim->max_attrs < XF_MAX_ATTRS ? lim->max_attrs : XF_MAX_ATTRS;
	s.p = (const unsigned char *)p;
	s.n = n < lim->max_len ? n : lim->max_len;
	s.i = 0;
	for (;;) {
		if (s.i + 1 >= s.n || s.p[s.i] != '<')
			return 0;
		if (s.p[s.i + 1] == '/') {
			/* An end tag closes the innermost open element. */
			if (depth == 0)
				return 0;
			s.i += 2;
			l = s.i;
			if (scan_name(&s) != nl[depth - 1] ||
			    memcmp(s.p + l, s.p + off[depth - 1], nl[depth - 1]))
				return 0;
			skip_ws(&s);
			if (s.i >= s.n || s.p[s.i] != '>')
				return 0;
			s.i++;
			depth--;
		} else {
			if (depth == maxd)
				return 0;
			off[depth] = ++s.i;
			if (!scan_stag(&s, maxa, &nl[depth], &empty))
				return 0;
			if (!empty)
				depth++;
		}
		if (depth == 0) {
			*len = s.i;
			*name = p + off[0];
			*name_len = nl[0];
			return 1;
		}
		if (!scan_chars(&s, C_PLAIN, '<'))
			return 0;
	}
}
