/*
 * Unit tests for xframe: exact lengths and root names for plain
 * elements, 0 for everything the scan must leave to expat, the limits at
 * and past their values, and every incomplete prefix. Every case is also
 * put to expat (xmlstream, normal mode, after "<stream:stream>"), so each
 * one states what the authority says of the same bytes: an accepted
 * element must be exactly the stanza expat cuts, and a refused one is
 * either refused by expat too (the class is checked) or plain only in a
 * way the scan does not handle (non-ASCII, references, CDATA).
 * Inputs are copied to buffers of their exact size, so ASan catches a
 * read past p[0..n).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stanza.h"
#include "testutil.h"
#include "xframe.h"
#include "xmlstream.h"

#define HDR	"<stream:stream>"
#define HDRLEN	(sizeof(HDR) - 1)

/* What expat makes of an input after a header. */
enum verdict {
	V_STANZA = 0,		/* one stanza, of the whole input's length */
	V_NWF,			/* not-well-formed */
	V_RESTRICTED,		/* restricted-xml */
	V_POLICY,		/* a cap */
	V_MORE,			/* no unit yet: expat wants more bytes */
	V_OTHER			/* another unit (the stream's end) */
};

static const struct xf_limits big = { 65536, XF_MAX_DEPTH, XF_MAX_ATTRS };
static const struct xs_limits xbig = { 65536, 64, 64 };

/* xf_frame on an exact-size copy of p[0..n). */
static int
frame(const char *p, size_t n, const struct xf_limits *lim, size_t *len,
    size_t *noff, size_t *nlen)
{
	char		*c = malloc(n > 0 ? n : 1);
	const char	*name = NULL;
	int		 r;

	assert_non_null(c);
	memcpy(c, p, n);
	*len = *nlen = 0;
	r = xf_frame(c, n, lim, len, &name, nlen);
	if (r == 1) {
		assert_non_null(name);
		assert_true(name > c && name + *nlen <= c + *len);
		*noff = (size_t)(name - c);
	}
	free(c);
	return r;
}

/*
 * Feed HDR + p[0..n) to a normal-mode xmlstream in XS_FEED_MAX chunks.
 * V_STANZA only if the header and then one stanza of exactly n bytes
 * come out.
 */
static enum verdict
expat(const char *p, size_t n, const struct xs_limits *lim)
{
	struct xmlstream	*xs = xs_new(lim);
	struct xs_unit		 u;
	char			*buf = malloc(HDRLEN + n);
	size_t			 total = HDRLEN + n, front = 0, k;
	enum verdict		 v = V_MORE;
	int			 r, units = 0;

	assert_non_null(xs);
	memcpy(buf, HDR, HDRLEN);
	memcpy(buf + HDRLEN, p, n);
	while (v == V_MORE && front + xs_buffered(xs) < total) {
		k = total - front - xs_buffered(xs);
		if (k > XS_FEED_MAX)
			k = XS_FEED_MAX;
		if ((r = xs_feed(xs, buf + front + xs_buffered(xs), k)) == 0)
			r = 1;
		while (r == 1 && (r = xs_next(xs, &u)) == 1) {
			stanza_free(u.st);
			front += u.len;
			if (units++ == 0)
				assert_int_equal(u.kind, XS_HEADER);
			else if (u.kind == XS_STANZA && u.len == n)
				v = V_STANZA;
			else
				v = V_OTHER;
		}
		if (r == -1) {
			switch (xs_error(xs, NULL)) {
			case XS_ERR_NOT_WELL_FORMED: v = V_NWF; break;
			case XS_ERR_RESTRICTED: v = V_RESTRICTED; break;
			case XS_ERR_POLICY: v = V_POLICY; break;
			default: fail_msg("unexpected error class");
			}
		}
	}
	xs_free(xs);
	free(buf);
	return v;
}

/*
 * p[0..n) begins with a plain element of want bytes named name (NULL:
 * any): xf_frame
 * says so on p and on its first `want` bytes, and 0 on every shorter
 * prefix; expat cuts the same stanza.
 */
static void
yes_n(const char *p, size_t n, size_t want, const char *name)
{
	size_t	len, noff, nlen, k;

	if (frame(p, n, &big, &len, &noff, &nlen) != 1)
		fail_msg("xf_frame refused \"%.*s\"", (int)n, p);
	assert_int_equal(len, want);
	if (name != NULL) {
		assert_int_equal(nlen, strlen(name));
		assert_memory_equal(p + noff, name, nlen);
	}
	assert_int_equal(noff, 1);
	assert_int_equal(frame(p, want, &big, &len, &noff, &nlen), 1);
	assert_int_equal(len, want);
	for (k = 0; k < want; k++)
		if (frame(p, k, &big, &len, &noff, &nlen) != 0)
			fail_msg("prefix %zu of \"%s\" framed", k, p);
	assert_int_equal(expat(p, want, &xbig), V_STANZA);
}

#define yes(s, name)		yes_n((s), strlen(s), strlen(s), (name))
#define yes_then(s, t, name)	yes_n(s t, strlen(s t), strlen(s), (name))

/* p[0..n) is refused by the scan, and by expat as v says. */
static void
no_n(const char *p, size_t n, enum verdict v)
{
	size_t		len, noff, nlen;
	enum verdict	got;

	if (frame(p, n, &big, &len, &noff, &nlen) != 0)
		fail_msg("xf_frame took %zu bytes of \"%.*s\"", len, (int)n, p);
	if ((got = expat(p, n, &xbig)) != v)
		fail_msg("expat: %d, not %d, for \"%.*s\"", (int)got, (int)v,
		    (int)n, p);
}

#define no(s, v)	no_n((s), strlen(s), (v))

static void
test_plain(void **state)
{
	yes("<iq/>", "iq");
	yes("<iq></iq>", "iq");
	yes("<presence\n/>", "presence");
	yes("<iq type='get' id=\"1\"/>", "iq");
	yes("<message to='a@b/c' type='chat'><body>hi</body>"
	    "<x xmlns='jabber:x:event'><composing/></x></message>", "message");
	yes("<a><b><c><d/></c></b><b/></a>", "a");
	/* Each quote kind inside the other. */
	yes("<a b='\"' c=\"'\"/>", "a");
	yes("<a b='' c=\"\"/>", "a");
	/* '>' in values and text, "]]>" in a value. */
	yes("<a b='>' c=\">>\">x > y<e f='a>b'/>></a>", "a");
	yes("<a b=']]>'/>", "a");
	yes("<a>]]</a>", "a");
	yes("<a>] ]></a>", "a");
	yes("<a>]]x></a>", "a");
	yes("<a>]]&gt;</a>", "a");
	/* The five entities, in text and in values. */
	yes("<a b='&amp;&lt;&gt;&quot;&apos;'>&amp;&lt;&gt;&quot;&apos;</a>",
	    "a");
	yes("<a b=\"&quot;\">x&amp;y</a>", "a");
	/* White space around '=', before '>' and "/>", in end tags. */
	yes("<a b = 'c'\t\r\n/>", "a");
	yes("<a b\n=\n'c' >t</a >", "a");
	yes("<a\n>x</a\t\r\n>", "a");
	yes("<a\t b='1'  c='2'\t/>", "a");
	/* White space, tab, CR, LF in text and values. */
	yes("<a b='x\ty\r\nz'>\r\n\t x \n</a>", "a");
	/* Names: letters, digits, '-', '.', '_', ':' after the first. */
	yes("<a-b.c_d:e9 x-1.y_z:w='v'/>", "a-b.c_d:e9");
	yes("<_x/>", "_x");
	yes("<stream:features><bind xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-bind'/></stream:features>", "stream:features");
	yes("<s:x></s:x>", "s:x");
	/* Attributes that only share a prefix are distinct. */
	yes("<a b='1' bb='2' b:b='3' xmlns='x' xmlns:b='y'/>", "a");
	/* Printable ASCII in text and values. */
	yes("<a b='!#$%()*+,-./09:;=?@AZ[\\]^_`az{|}~'>"
	    "!\"#$%'()*+,-./09:;=?@AZ[\\]^_`az{|}~</a>", "a");
	/* What follows the element is not part of it. */
	yes_then("<iq/>", "<iq/>", "iq");
	yes_then("<a>x</a>", " \n", "a");
	yes_then("<a>x</a>", "</stream:stream>", "a");
	yes_then("<a/>", "\xff\x00", "a");
	yes_then("<message><body>x</body></message>", "<", "message");
}

static void
test_not_plain_but_xml(void **state)
{
	/* Well-formed, but outside the scan's grammar: expat decides. */
	no("<a>caf\xc3\xa9</a>", V_STANZA);
	no("<a b='\xc3\xa9'/>", V_STANZA);
	no("<\xc3\xa9/>", V_STANZA);
	no("<a \xc3\xa9='x'/>", V_STANZA);
	no("<a>\x7f</a>", V_STANZA);
	no("<a b='\x7f'/>", V_STANZA);
	no("<a>&#65;</a>", V_STANZA);
	no("<a>&#x41;</a>", V_STANZA);
	no("<a b='&#9;'/>", V_STANZA);
	no("<a b='&#x3c;'/>", V_STANZA);
	no("<a><![CDATA[x]]></a>", V_STANZA);
	no("<a><![CDATA[<&>]]></a>", V_STANZA);
}

static void
test_restricted(void **state)
{
	no("<a>&foo;</a>", V_RESTRICTED);
	no("<a b='&foo;'/>", V_RESTRICTED);
	no("<a>&AMP;</a>", V_RESTRICTED);
	no("<a>&ampx;</a>", V_RESTRICTED);
	no("<a><!-- x --></a>", V_RESTRICTED);
	no("<!-- x --><a/>", V_RESTRICTED);
	no("<a><?p x?></a>", V_RESTRICTED);
	no("<?p x?><a/>", V_RESTRICTED);
	no("<?xml version='1.0'?><a/>", V_RESTRICTED);
	no("<!DOCTYPE a><a/>", V_NWF);
}

static void
test_not_well_formed(void **state)
{
	char	nul[] = "<a>x\0y</a>";

	no("<a>\x01</a>", V_NWF);
	no("<a>\x0b</a>", V_NWF);
	no("<a>\x0c</a>", V_NWF);
	no("<a>\x1f</a>", V_NWF);
	no("<a b='\x08'/>", V_NWF);
	no_n(nul, sizeof(nul) - 1, V_NWF);
	no("<a>&amp</a>", V_NWF);
	no("<a>&;</a>", V_NWF);
	no("<a>&</a>", V_NWF);
	no("<a>a & b</a>", V_NWF);
	no("<a b='&'/>", V_NWF);
	no("<a b='<'/>", V_NWF);
	no("<a b=\"x<y\"/>", V_NWF);
	/* Attributes: separation, duplicates, quotes, '='. */
	no("<a b='1'c='2'/>", V_NWF);
	no("<a b=\"1\"c=\"2\"/>", V_NWF);
	no("<a b='1' b='2'/>", V_NWF);
	no("<a x:b='1' c='' x:b='2'/>", V_NWF);
	no("<a b=c/>", V_NWF);
	no("<a b/>", V_NWF);
	no("<a b 'c'/>", V_NWF);
	no("<a b='c\"/>", V_MORE);
	no("<a b='c\"/><b/>", V_NWF);
	no("<a ='c'/>", V_NWF);
	/* Tags. */
	no("<a></b>", V_NWF);
	no("<a></ab>", V_NWF);
	no("<ab></a>", V_NWF);
	no("<a><b></a></b>", V_NWF);
	no("<a></a:>", V_NWF);
	no("<a></ a>", V_NWF);
	no("< a/>", V_NWF);
	no("<a/ >", V_NWF);
	no("<a / >", V_NWF);
	no("<a></a x='1'>", V_NWF);
	no("<>", V_NWF);
	no("<a></>", V_NWF);
	/* "]]>" in text, alone and after other characters. */
	no("<a>]]></a>", V_NWF);
	no("<a>x]]>y</a>", V_NWF);
	no("<a><b/>]]></a>", V_NWF);
	no("<a>]]]></a>", V_NWF);
	/* Names starting with a digit, '-' or '.'. */
	no("<1a/>", V_NWF);
	no("<-a/>", V_NWF);
	no("<.a/>", V_NWF);
	no("<a 1b='x'/>", V_NWF);
	no("<a -b='x'/>", V_NWF);
	no("<a><.b/></a>", V_NWF);
	no("<a></1a>", V_NWF);
	/* Not an element at the front. */
	no("hello", V_NWF);
	no("x<a/>", V_NWF);
}

static void
test_not_an_element(void **state)
{
	size_t	len, noff, nlen;

	/* The stream's end is expat's: an end tag at depth 0. */
	no("</stream:stream>", V_OTHER);
	no("</a>", V_NWF);
	/* White space first is xf_ws's, not xf_frame's. */
	no(" <a/>", V_OTHER);
	assert_int_equal(frame("", 0, &big, &len, &noff, &nlen), 0);
	assert_int_equal(frame("<", 1, &big, &len, &noff, &nlen), 0);
	assert_int_equal(frame("<a", 2, &big, &len, &noff, &nlen), 0);
}

/* The limits: accepted exactly at each, refused one past it. */
static void
at_limits(const char *s, size_t max_len, unsigned depth, unsigned attrs)
{
	struct xf_limits	lim = { max_len, depth, attrs };
	size_t			len, noff, nlen, n = strlen(s);

	assert_int_equal(frame(s, n, &lim, &len, &noff, &nlen), 1);
	assert_int_equal(len, n);
	lim.max_len = max_len - 1;
	assert_int_equal(frame(s, n, &lim, &len, &noff, &nlen), 0);
	lim.max_len = max_len;
	lim.max_depth = depth - 1;
	assert_int_equal(frame(s, n, &lim, &len, &noff, &nlen), 0);
	lim.max_depth = depth;
	if (attrs > 0) {
		lim.max_attrs = attrs - 1;
		assert_int_equal(frame(s, n, &lim, &len, &noff, &nlen), 0);
	}
}

/* n nested <d> elements, the innermost holding an attribute list. */
static char *
nest(unsigned n, const char *inner)
{
	char		*s = calloc(1, 8 * n + strlen(inner) + 8);
	unsigned	 i;

	assert_non_null(s);
	for (i = 0; i < n; i++)
		strcat(s, "<d>");
	strcat(s, inner);
	for (i = 0; i < n; i++)
		strcat(s, "</d>");
	return s;
}

/* One element with n attributes a0='0' ... */
static char *
attrs(unsigned n)
{
	char		*s = calloc(1, 16 * n + 8);
	unsigned	 i;

	assert_non_null(s);
	strcpy(s, "<e");
	for (i = 0; i < n; i++)
		sprintf(s + strlen(s), " a%u='%u'", i, i);
	strcat(s, "/>");
	return s;
}

static void
test_limits(void **state)
{
	struct xf_limits	 lim = { 65536, 1000, 1000 };
	size_t			 len, noff, nlen;
	char			*s;

	at_limits("<a/>", 4, 1, 0);
	at_limits("<a b='1'/>", 10, 1, 1);
	at_limits("<a><b c='1' d='2'/></a>", 23, 2, 2);
	at_limits("<a x='1'><b><c/></b><b y='1' z='2'>t</b></a>", 44, 3, 2);
	/* An empty element counts as a level of its own. */
	at_limits("<a><b><c/></b></a>", 18, 3, 0);
	/* No level at all: nothing is plain. */
	lim.max_depth = 0;
	assert_int_equal(frame("<a/>", 4, &lim, &len, &noff, &nlen), 0);
	lim.max_depth = 1000;
	/* The scan's own bounds, whatever the caller allows. */
	s = nest(XF_MAX_DEPTH - 1, "<x/>");
	assert_int_equal(frame(s, strlen(s), &lim, &len, &noff, &nlen), 1);
	assert_int_equal(len, strlen(s));
	assert_int_equal(expat(s, strlen(s), &xbig), V_STANZA);
	free(s);
	s = nest(XF_MAX_DEPTH, "<x/>");
	assert_int_equal(frame(s, strlen(s), &lim, &len, &noff, &nlen), 0);
	assert_int_equal(expat(s, strlen(s), &xbig), V_STANZA);
	free(s);
	s = attrs(XF_MAX_ATTRS);
	assert_int_equal(frame(s, strlen(s), &lim, &len, &noff, &nlen), 1);
	assert_int_equal(len, strlen(s));
	assert_int_equal(expat(s, strlen(s), &xbig), V_STANZA);
	free(s);
	s = attrs(XF_MAX_ATTRS + 1);
	assert_int_equal(frame(s, strlen(s), &lim, &len, &noff, &nlen), 0);
	assert_int_equal(expat(s, strlen(s), &xbig), V_STANZA);
	free(s);
	/* The limits mean what xmlstream's caps mean: at them, accepted. */
	{
		struct xs_limits	xl = { 44, 3, 2 };
		const char		*t =
		    "<a x='1'><b><c/></b><b y='1' z='2'>t</b></a>";

		assert_int_equal(expat(t, strlen(t), &xl), V_STANZA);
		xl.max_stanza = 43;
		assert_int_equal(expat(t, strlen(t), &xl), V_POLICY);
		xl.max_stanza = 44;
		xl.max_depth = 2;
		assert_int_equal(expat(t, strlen(t), &xl), V_POLICY);
		xl.max_depth = 3;
		xl.max_attrs = 1;
		assert_int_equal(expat(t, strlen(t), &xl), V_POLICY);
	}
}

/*
 * The seed conversation's streams (tests/golden/seed_*.xml), cut by
 * expat: the scan frames each of their stanzas, from its first byte to
 * the end of the file, exactly as expat did, and refuses every shorter
 * prefix. Then the shapes of a presence and a violet:packet message.
 */
static void
test_seed_stanzas(void **state)
{
	static const char *const files[] = {
		NAB_SOURCE_DIR "/tests/golden/seed_server.xml",
		NAB_SOURCE_DIR "/tests/golden/seed_rabbit.xml",
	};
	struct xmlstream	*xs;
	struct xs_unit		 u;
	size_t			 n, front, k, len, noff, nlen, stanzas = 0;
	char			*in;

	for (k = 0; k < 2; k++) {
		in = tu_slurp(files[k], &n);
		assert_true(n <= XS_FEED_MAX);
		xs = xs_new(&xbig);
		assert_non_null(xs);
		assert_int_equal(xs_feed(xs, in, n), 0);
		for (front = 0; xs_next(xs, &u) == 1; front += u.len) {
			if (u.kind == XS_STANZA) {
				assert_int_equal(frame(in + front, n - front,
				    &big, &len, &noff, &nlen), 1);
				assert_int_equal(len, u.len);
				yes_n(in + front, n - front, u.len,
				    stanza_root(u.st)->name);
				stanzas++;
			}
			stanza_free(u.st);
		}
		assert_int_equal(front, n);
		xs_free(xs);
		free(in);
	}
	assert_true(stanzas >= 8);
	yes("<presence from='f81edfee27c1@almacska/idle' id='5'><status>"
	    "Connected</status><priority>0</priority></presence>",
	    "presence");
	yes("<message from='net.violet.platform@almacska/sources' "
	    "to='0013d3c70001@almacska/idle' id='1'><packet "
	    "xmlns='violet:packet' format='1.0' ttl='604800'>"
	    "fwQAAAh////+CAEEBQsAAAEB/w==</packet></message>", "message");
}

static void
test_ws(void **state)
{
	assert_int_equal(xf_ws("", 0), 0);
	assert_int_equal(xf_ws(" \t\r\n<a/>", 9), 4);
	assert_int_equal(xf_ws("    ", 2), 2);
	assert_int_equal(xf_ws("\n\n", 2), 2);
	assert_int_equal(xf_ws("x ", 2), 0);
	assert_int_equal(xf_ws("\x0b ", 2), 0);
	assert_int_equal(xf_ws("\x0c ", 2), 0);
	assert_int_equal(xf_ws("\xa0 ", 2), 0);
	assert_int_equal(xf_ws("\0 ", 2), 0);
	assert_int_equal(xf_ws(" \0 ", 3), 1);
	assert_int_equal(xf_ws("\xc2\xa0", 2), 0);
}

/*
 * Generated plain elements: a fixed-seed generator writes elements of
 * the plain grammar (names with every kind of name character, both
 * quotes, '>' and the five entities in values and text, "]]" not
 * followed by '>', white space wherever it may go), each framed whole,
 * as expat frames it. Then single-byte changes of each (a byte replaced
 * by one that matters to the grammar, removed, or doubled): whatever the
 * scan still frames, expat frames the same way.
 */
static uint32_t	rnd_state = 12345;

static unsigned
rnd(unsigned n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 16) % n;
}

static void
put(char **w, const char *s)
{
	size_t	n = strlen(s);

	memcpy(*w, s, n);
	*w += n;
}

static void
gen_ws(char **w, int must)
{
	static const char *const ws[] = { " ", "\t", "\r\n", "\n", "  " };

	if (must || rnd(3) == 0)
		put(w, ws[rnd(5)]);
}

/* Text or an attribute value (q: its quote, or 0 for text). */
static void
gen_chars(char **w, char q)
{
	static const char *const bits[] = {
		"a", "Z", "0", "-", " ", "\t", "\n", ">", "]]", "]", "&amp;",
		"&lt;", "&gt;", "&quot;", "&apos;", "/", "=", "?", "!", "#",
		";", "x y", "{}", "~", "\"", "'", "]] >"
	};
	unsigned	i = rnd(6);
	const char	*b;

	while (i-- > 0) {
		b = bits[rnd(sizeof(bits) / sizeof(bits[0]))];
		if (q != 0 && strchr(b, q) != NULL)
			continue;
		/* Text never has "]]>": no '>' right after a ']'. */
		if (q == 0 && b[0] == '>' && (*w)[-1] == ']')
			continue;
		put(w, b);
	}
}

static void
gen_name(char *name)
{
	static const char first[] = "abcxyzABZ_:";
	static const char next[] = "abz09-._:";
	unsigned	n = 1 + rnd(4), i;

	name[0] = first[rnd(sizeof(first) - 1)];
	for (i = 1; i < n; i++)
		name[i] = next[rnd(sizeof(next) - 1)];
	name[n] = '\0';
}

static void
gen_elem(char **w, unsigned depth)
{
	char		name[8], an[4][8];
	unsigned	na = rnd(4), i, j, nk;
	char		q;

	gen_name(name);
	put(w, "<");
	put(w, name);
	for (i = 0; i < na; i++) {
		do {
			gen_name(an[i]);
			for (j = 0; j < i && strcmp(an[j], an[i]) != 0; j++)
				;
		} while (j < i);
		gen_ws(w, 1);
		put(w, an[i]);
		gen_ws(w, 0);
		put(w, "=");
		gen_ws(w, 0);
		q = rnd(2) ? '\'' : '"';
		*(*w)++ = q;
		gen_chars(w, q);
		*(*w)++ = q;
	}
	gen_ws(w, 0);
	if (depth >= 4 || rnd(4) == 0) {
		put(w, "/>");
		return;
	}
	put(w, ">");
	for (nk = rnd(4), i = 0; i < nk; i++) {
		gen_chars(w, 0);
		if (rnd(2))
			gen_elem(w, depth + 1);
	}
	gen_chars(w, 0);
	put(w, "</");
	put(w, name);
	gen_ws(w, 0);
	put(w, ">");
}

/* Whatever xf_frame frames of p[0..n), expat frames the same way. */
static unsigned
agree(const char *p, size_t n)
{
	size_t	len, noff, nlen;

	if (frame(p, n, &big, &len, &noff, &nlen) != 1)
		return 0;
	if (expat(p, len, &xbig) != V_STANZA)
		fail_msg("xf_frame took %zu bytes of \"%.*s\", expat did not",
		    len, (int)n, p);
	return 1;
}

static void
test_generated(void **state)
{
	static const char	 hot[] = "<>&;'\"/=]! \t\x01\x80:-.9#x";
	char			 buf[8192], mut[8200], *w;
	size_t			 n, i, k, took = 0, muts = 0;

	for (i = 0; i < 1500; i++) {
		w = buf;
		gen_elem(&w, 1);
		n = (size_t)(w - buf);
		assert_true(n < sizeof(buf) / 2);
		buf[n] = '\0';
		yes_n(buf, n, n, NULL);
		for (k = 0; k < 12; k++) {
			size_t	at = rnd((unsigned)n);

			memcpy(mut, buf, n);
			switch (rnd(3)) {
			case 0:
				mut[at] = hot[rnd(sizeof(hot) - 1)];
				took += agree(mut, n);
				break;
			case 1:
				memmove(mut + at, mut + at + 1, n - at - 1);
				took += agree(mut, n - 1);
				break;
			default:
				memmove(mut + at + 1, mut + at, n - at);
				took += agree(mut, n + 1);
				break;
			}
			muts++;
		}
	}
	/* Many changes stay plain (text, values); many do not. */
	assert_true(took > muts / 10 && took < muts);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_not_plain_but_xml),
		cmocka_unit_test(test_restricted),
		cmocka_unit_test(test_not_well_formed),
		cmocka_unit_test(test_not_an_element),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_seed_stanzas),
		cmocka_unit_test(test_ws),
		cmocka_unit_test(test_generated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
