/*
 * Unit tests for xmlstream's light framing (xs_set_light): the units are
 * those of the normal mode on the same bytes under every way of reading
 * them, with and without dozes; which stanzas go light (plain, a light
 * name, whole in one read, nothing of the stream inside expat); a dozing
 * stream stays asleep across light units; only UTF-8 streams; a bad
 * stanza after light ones fails with the normal mode's error class.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsdrive.h"

/* Plain and not, light names and not, white space of every kind. */
static const char mixed[] =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams'>\n"
    "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
    "</stream:features>\r\n<r/> <message to='a' type=\"chat\"><body>x &amp; "
    "y &gt; z</body></message>\n<presence/>\t<message><body>caf\xc3\xa9"
    "</body></message><iq type='get' id='1'/><iq><x a='&#65;'/></iq>"
    "<presence><status>]]</status></presence>\r\n \r\n<message><![CDATA[x]]>"
    "</message><iq id='2' ><query\nxmlns='q'/></iq ><presence/></stream:stream>";

/*
 * Light framing changes no unit: kinds, lengths and bytes are those of
 * the normal mode on the same bytes and reads, white space unit by unit
 * (and, runs merged, those of one read), whatever the reads (every size,
 * every 2-read split, 1-byte reads, the peer's unit boundaries), with and
 * without a doze at every boundary; the seed streams and a mixed one.
 */
static void
test_light_same_units(void **state)
{
	static const char *const files[] = { "seed_server.xml",
	    "seed_rabbit.xml" };
	static const unsigned	 sets[] = { XS_LIGHT_MESSAGE | XS_LIGHT_PRESENCE |
	    XS_LIGHT_IQ, XS_LIGHT_MESSAGE, XS_LIGHT_PRESENCE | XS_LIGHT_IQ };
	enum xs_error		 err;
	size_t			 len, k, j, b[1024], nb;
	char			*in, *ref, *s;

	brief = 1;
	for (k = 0; k < 3; k++) {
		if (k < 2)
			in = slurp(files[k], &len);
		else {
			len = sizeof(mixed) - 1;
			in = malloc(len);
			memcpy(in, mixed, len);
		}
		light_names = 0;
		ref = run(in, len, NULL, 0, &err);
		assert_non_null(ref);
		nb = nbounds;
		memcpy(b, bounds, sizeof(b));
		for (j = 0; j < sizeof(sets) / sizeof(sets[0]); j++) {
			light_names = sets[j];
			light_units = 0;
			s = run(in, len, NULL, 0, &err);
			assert_non_null(s);
			assert_string_equal(s, ref);
			free(s);
			check_every_chunk(in, len, j == 0 ? NULL : ref);
			check_unit_reads(in, len, NULL, b, nb);
			/* The seed streams hold no message. */
			assert_true(light_units > 0 || (k < 2 && j == 1));
		}
		s = check_every_split(in, len);
		assert_string_equal(s, ref);
		free(s);
		doze_mode = 1;
		light_names = sets[0];
		check_every_chunk(in, len, NULL);
		check_unit_reads(in, len, NULL, b, nb);
		doze_mode = 0;
		light_names = 0;
		free(ref);
		free(in);
	}
	brief = 0;
}

/*
 * One more read of a stream (the bytes not yet in a unit are kept in
 * `pend`, reset by a new xs): its units as "kind:len:L|T|-" (light,
 * tree, neither) strings, in order.
 */
static struct {
	const struct xmlstream	*xs;
	char			 buf[1024];
	size_t			 len;
} pend;

static char *
units(struct xmlstream *xs, const char *p, size_t n)
{
	struct evbuffer	*out = evbuffer_new();
	struct xs_unit	 u;
	size_t		 k;
	char		*s;
	int		 r;

	if (pend.xs != xs)
		pend.len = 0;
	pend.xs = xs;
	assert_true(pend.len + n <= sizeof(pend.buf));
	memcpy(pend.buf + pend.len, p, n);
	pend.len += n;
	while (xs_buffered(xs) < pend.len) {
		k = pend.len - xs_buffered(xs);
		if (xs_feed(xs, pend.buf + xs_buffered(xs), k) == -1) {
			const char	*why;
			enum xs_error	 e = xs_error(xs, &why);

			fail_msg("xs_feed: %d, %s", (int)e, why);
		}
		while ((r = xs_next(xs, &u)) == 1) {
			evbuffer_add_printf(out, "%d:%zu:%s ", (int)u.kind,
			    u.len, u.light ? "L" : u.st != NULL ? "T" : "-");
			memmove(pend.buf, pend.buf + u.len, pend.len - u.len);
			pend.len -= u.len;
			stanza_free(u.st);
		}
		assert_int_equal(r, 0);
	}
	evbuffer_add(out, "", 1);
	s = strdup((char *)evbuffer_pullup(out, -1));
	evbuffer_free(out);
	return s;
}

#define UNITS(xs, lit, want) do {					\
	char	*u_ = units((xs), (lit), sizeof(lit) - 1);		\
	assert_string_equal(u_, (want));				\
	free(u_);							\
} while (0)

/*
 * Which stanzas go light in one read: only the plain ones with a light
 * name, until a stanza expat must read; a later read is light again.
 * Non-light names keep their trees; the stream's end ends the stream.
 */
static void
test_light_which(void **state)
{
	struct xmlstream	*xs = xs_new(&lim);
	struct xs_unit		 u;

	assert_non_null(xs);
	xs_set_light(xs, XS_LIGHT_MESSAGE | XS_LIGHT_IQ);
	UNITS(xs, "<stream:stream>", "0:15:T ");
	UNITS(xs, "<message/> <iq>x</iq>", "1:10:L 2:1:- 1:10:L ");
	UNITS(xs, "<r/><stream:features/><presence/>",
	    "1:4:T 1:18:T 1:11:T ");
	/* A light name after a non-light one in the same read. */
	UNITS(xs, "<r/><message/>", "1:4:T 1:10:T ");
	/* The first not plain: the rest of the read is expat's. */
	UNITS(xs, "<message>&#65;</message><iq/>", "1:24:T 1:5:T ");
	UNITS(xs, "<iq/><message>\xc3\xa9</message><iq/>",
	    "1:5:L 1:21:T 1:5:T ");
	/* Next read: light again. */
	UNITS(xs, "<iq/>\n", "1:5:L 2:1:- ");
	/* A stanza split across reads is expat's, and the one after too. */
	UNITS(xs, "<iq>", "");
	UNITS(xs, "</iq><iq/>", "1:9:T 1:5:T ");
	/* A whole read of light stanzas, more than the unit queue holds. */
	UNITS(xs, "<iq/><iq/><iq/><iq/><iq/><iq/>",
	    "1:5:L 1:5:L 1:5:L 1:5:L 1:5:L 1:5:L ");
	UNITS(xs, " </stream:stream>", "2:1:- 3:16:- ");
	/* After the end: nothing more is a stanza. */
	assert_int_equal(xs_feed(xs, "<iq/>", 5), -1);
	assert_int_equal(xs_next(xs, &u), -1);
	assert_int_equal(xs_error(xs, NULL), XS_ERR_NOT_WELL_FORMED);
	xs_free(xs);
}

/*
 * A dozing stream stays asleep across light units (no parser is made for
 * them) and wakes, in the right state, for a stanza expat must read; the
 * light units after the wake-up need no parser either, but it stays.
 */
static void
test_light_doze(void **state)
{
	struct xmlstream	*xs = xs_new(&lim);

	assert_non_null(xs);
	xs_set_light(xs, XS_LIGHT_MESSAGE | XS_LIGHT_PRESENCE | XS_LIGHT_IQ);
	UNITS(xs, "<stream:stream xmlns='jabber:client'>", "0:37:T ");
	assert_int_equal(xs_doze(xs), 1);
	UNITS(xs, "<message><body>x</body></message>\n<presence/>",
	    "1:33:L 2:1:- 1:11:L ");
	assert_int_equal(xs_dozing(xs), 1);
	UNITS(xs, " ", "2:1:- ");
	assert_int_equal(xs_dozing(xs), 1);
	/* Not plain: wakes up inside the stream element. */
	UNITS(xs, "<iq>\xc3\xa9</iq>", "1:11:T ");
	assert_int_equal(xs_dozing(xs), 0);
	UNITS(xs, "<iq/>", "1:5:L ");
	assert_int_equal(xs_dozing(xs), 0);
	assert_int_equal(xs_doze(xs), 1);
	/* A non-light name wakes it too; the tree is whole. */
	UNITS(xs, "<r a='1'><s/></r>", "1:17:T ");
	assert_int_equal(xs_dozing(xs), 0);
	/* Dozing with a stanza half read is refused; it goes on. */
	UNITS(xs, "<iq>", "");
	assert_int_equal(xs_doze(xs), 0);
	UNITS(xs, "</iq>", "1:9:T ");
	assert_int_equal(xs_doze(xs), 1);
	UNITS(xs, "</stream:stream>", "3:16:- ");
	assert_int_equal(xs_dozing(xs), 0);
	xs_free(xs);
}

/* Units of a whole stream in one read after its header's read. */
static char *
two_reads(const char *head, const char *rest, size_t restlen)
{
	struct xmlstream	*xs = xs_new(&lim);
	char			*a, *b, *s;

	assert_non_null(xs);
	xs_set_light(xs, XS_LIGHT_MESSAGE | XS_LIGHT_PRESENCE | XS_LIGHT_IQ);
	a = units(xs, head, strlen(head));
	b = units(xs, rest, restlen);
	s = malloc(strlen(a) + strlen(b) + 1);
	strcpy(s, a);
	strcat(s, b);
	free(a);
	free(b);
	xs_free(xs);
	return s;
}

/* A UTF-16 stream with light framing asked for: expat cuts every unit. */
static void
u16_stream(const char *head, size_t hlen, const char *want_head,
    const char *body, size_t blen)
{
	struct xmlstream	*xs = xs_new(&lim);
	char			*a, *b;

	assert_non_null(xs);
	xs_set_light(xs, XS_LIGHT_IQ);
	a = units(xs, head, hlen);
	assert_string_equal(a, want_head);
	b = units(xs, body, blen);
	assert_string_equal(b, "2:2:- 1:10:T ");
	free(a);
	free(b);
	xs_free(xs);
}

/*
 * Light framing only in a UTF-8 stream: a declared encoding other than
 * UTF-8 (any case) turns it off, and the stanzas are parsed by expat in
 * that encoding; so does a UTF-16 stream, declared or not.
 */
static void
test_light_encoding(void **state)
{
	static const char body[] = "<iq/> <message>caf\xe9</message>";
	/* UTF-16LE, no declaration: <stream:stream> <iq/> */
	static const char u16[] = "<\0s\0t\0r\0e\0a\0m\0:\0s\0t\0r\0e\0a\0m\0>\0";
	static const char u16body[] = " \0<\0i\0q\0/\0>\0";
	static const char bom[] = "\xff\xfe<\0s\0:\0s\0t\0r\0e\0a\0m\0>\0";
	char	*s;

	s = two_reads("<?xml version='1.0' encoding='ISO-8859-1'?>"
	    "<stream:stream>", body, sizeof(body) - 1);
	assert_string_equal(s, "0:58:T 1:5:T 2:1:- 1:23:T ");
	free(s);
	s = two_reads("<?xml version='1.0' encoding='US-ASCII'?>"
	    "<stream:stream>", "<iq/>", 5);
	assert_string_equal(s, "0:56:T 1:5:T ");
	free(s);
	s = two_reads("<?xml version='1.0' encoding='UTF-8'?>"
	    "<stream:stream>", "<iq/>", 5);
	assert_string_equal(s, "0:53:T 1:5:L ");
	free(s);
	s = two_reads("<?xml version='1.0' encoding='utf-8'?>"
	    "<stream:stream>", "<iq/>", 5);
	assert_string_equal(s, "0:53:T 1:5:L ");
	free(s);
	s = two_reads("<?xml version='1.0'?><stream:stream>", "<iq/>", 5);
	assert_string_equal(s, "0:36:T 1:5:L ");
	free(s);
	s = two_reads("\xef\xbb\xbf<stream:stream>", "<iq/>", 5);
	assert_string_equal(s, "0:18:T 1:5:L ");
	free(s);
	u16_stream(u16, sizeof(u16) - 1, "0:30:T ", u16body,
	    sizeof(u16body) - 1);
	/* The same with a byte order mark. */
	u16_stream(bom, sizeof(bom) - 1, "0:22:T ", u16body,
	    sizeof(u16body) - 1);
}

/*
 * A bad stanza after light ones fails the stream with the class the
 * normal mode gives, whatever the reads.
 */
static void
test_light_errors(void **state)
{
	static const struct {
		const char	*body;
		enum xs_error	 want;
	} cases[] = {
		{ "<iq></message>", XS_ERR_NOT_WELL_FORMED },
		{ "<message a='1' a='2'/>", XS_ERR_NOT_WELL_FORMED },
		{ "<iq>]]></iq>", XS_ERR_NOT_WELL_FORMED },
		{ "hello", XS_ERR_NOT_WELL_FORMED },
		{ " <iq/>x", XS_ERR_NOT_WELL_FORMED },
		{ "<iq>\x01</iq>", XS_ERR_NOT_WELL_FORMED },
		{ "<iq/></stream:stream><iq/>", XS_ERR_NOT_WELL_FORMED },
		{ "<message><!-- x --></message>", XS_ERR_RESTRICTED },
		{ "<iq>&foo;</iq>", XS_ERR_RESTRICTED },
		{ "<?pi?>", XS_ERR_RESTRICTED },
		{ "<presence a='1' b='2' c='3'/>", XS_ERR_POLICY },
		{ "<iq><a><b><c/></b></a></iq>", XS_ERR_POLICY },
		{ "<message>0123456789012345678901234567890123456789"
		    "0123456789</message>", XS_ERR_POLICY },
	};
	static const struct xs_limits	small = { 60, 3, 2 };
	struct xs_limits		saved = lim;
	enum xs_error			err, e0;
	char				buf[256];
	size_t				i, k, len, n, cuts[256];
	char				*s;

	lim = small;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = (size_t)snprintf(buf, sizeof(buf), "<stream:stream>"
		    "<iq/><message><b>x</b></message> %s", cases[i].body);
		light_names = 0;
		s = run(buf, len, NULL, 0, &e0);
		assert_null(s);
		assert_int_equal(e0, cases[i].want);
		light_names = XS_LIGHT_MESSAGE | XS_LIGHT_PRESENCE |
		    XS_LIGHT_IQ;
		light_units = 0;
		for (k = 1; k <= len; k++) {
			for (n = 0; n * k + k < len; n++)
				cuts[n] = n * k + k;
			s = run(buf, len, cuts, n, &err);
			assert_null(s);
			if (err != e0)
				fail_msg("%s in reads of %zu: %d, not %d",
				    cases[i].body, k, (int)err, (int)e0);
		}
		assert_true(light_units > 0);
	}
	light_names = 0;
	lim = saved;
}

/*
 * A CDATA section between stanzas holding only white space so far: expat
 * has reported every byte (one XS_WS unit), yet it is still inside the
 * section, where "<iq/>" is text, not a stanza. Neither light framing
 * nor a doze may forget that; once the section ends, both may go on.
 */
static void
test_light_cdata(void **state)
{
	struct xmlstream	*xs;
	struct xs_unit		 u;
	char			*s;
	int			 doze;

	for (doze = 0; doze < 2; doze++) {
		xs = xs_new(&lim);
		assert_non_null(xs);
		xs_set_light(xs, doze ? 0 : XS_LIGHT_IQ);
		s = units(xs, "<stream:stream><![CDATA[ ", 25);
		assert_string_equal(s, "0:15:T 2:10:- ");
		free(s);
		assert_int_equal(xs_doze(xs), 0);
		assert_int_equal(xs_feed(xs, "<iq/>", 5), -1);
		assert_int_equal(xs_next(xs, &u), -1);
		assert_int_equal(xs_error(xs, NULL), XS_ERR_NOT_WELL_FORMED);
		xs_free(xs);
	}
	xs = xs_new(&lim);
	assert_non_null(xs);
	xs_set_light(xs, XS_LIGHT_IQ);
	UNITS(xs, "<stream:stream><![CDATA[ ", "0:15:T 2:10:- ");
	/* The section's end is not character data: the next unit has it. */
	UNITS(xs, " ]]>", "2:1:- ");
	assert_int_equal(xs_doze(xs), 0);
	UNITS(xs, "<iq/>", "2:3:- 1:5:T ");
	assert_int_equal(xs_doze(xs), 1);
	UNITS(xs, "<iq/>", "1:5:L ");
	xs_free(xs);
}

/*
 * White space over the unit cap in one read: expat keeps a trailing CR
 * back (it may start a CRLF), so max_stanza spaces and a CR make a unit
 * of max_stanza bytes and no error, one more space a policy violation;
 * light framing must agree on both, and on white space that expat reads
 * as one unit with a CDATA section after it.
 */
static void
test_light_ws_cap(void **state)
{
	static const struct xs_limits	small = { 64, 32, 64 };
	struct xs_limits		saved = lim;
	enum xs_error			err;
	char				buf[128], *s;
	/* The header, then the white space and CR, then the rest. */
	size_t				cuts[2] = { 15, 80 };

	lim = small;
	brief = 1;
	memcpy(buf, "<stream:stream>", 15);
	memset(buf + 15, ' ', 64);
	memcpy(buf + 79, "\r\n<iq/>", 7);
	for (light_names = 0; light_names <= XS_LIGHT_IQ;
	    light_names += XS_LIGHT_IQ) {
		s = run(buf, 86, cuts, 2, &err);
		assert_non_null(s);
		assert_string_equal(s, "0:15:<stream:stream>|\n2:"
		    "                                "
		    "                                \r\n|\n1:5:<iq/>|\n");
		free(s);
		buf[79] = ' ';
		assert_null(run(buf, 86, cuts, 2, &err));
		assert_int_equal(err, XS_ERR_POLICY);
		buf[79] = '\r';
	}
	/*
	 * White space and then a CDATA section of white space: expat makes
	 * them one unit, 65 bytes, over the cap; so must light framing.
	 */
	memset(buf + 15, ' ', 55);
	memcpy(buf + 70, "<![CDATA[ ]]><iq/>", 18);
	for (light_names = 0; light_names <= XS_LIGHT_IQ;
	    light_names += XS_LIGHT_IQ) {
		assert_null(run(buf, 88, cuts, 1, &err));
		assert_int_equal(err, XS_ERR_POLICY);
	}
	light_names = 0;
	brief = 0;
	lim = saved;
}

/*
 * A stream in UTF-16 (undeclared, or declared) does not doze: the new
 * parser is primed with "<stream:stream>" in bytes of one byte each,
 * which is not what such a stream holds.
 */
static void
test_doze_utf16(void **state)
{
	static const char u16[] = "<\0s\0:\0s\0t\0r\0e\0a\0m\0>\0";
	static const char decl[] = "<\0?\0x\0m\0l\0 \0v\0e\0r\0s\0i\0o\0n\0"
	    "=\0'\0001\0.\0000\0'\0 \0e\0n\0c\0o\0d\0i\0n\0g\0=\0'\0U\0T\0F\0"
	    "-\0001\0006\0'\0?\0>\0<\0s\0:\0s\0t\0r\0e\0a\0m\0>\0";
	static const char body[] = " \0<\0i\0q\0/\0>\0";
	struct xmlstream	*xs;
	char			*s;

	xs = xs_new(&lim);
	assert_non_null(xs);
	s = units(xs, u16, sizeof(u16) - 1);
	assert_string_equal(s, "0:20:T ");
	free(s);
	assert_int_equal(xs_doze(xs), 0);
	UNITS(xs, body, "2:2:- 1:10:T ");
	xs_free(xs);
	xs = xs_new(&lim);
	assert_non_null(xs);
	s = units(xs, decl, sizeof(decl) - 1);
	assert_string_equal(s, "0:98:T ");
	free(s);
	assert_int_equal(xs_doze(xs), 0);
	UNITS(xs, body, "2:2:- 1:10:T ");
	xs_free(xs);
}

/* Each test starts from run()'s defaults, whatever one before it left. */
static int
defaults(void **state)
{
	static const struct xs_limits	def = { 65536, 32, 64 };

	lim = def;
	light_names = 0;
	brief = exact_ws = doze_mode = 0;
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_light_same_units, defaults),
		cmocka_unit_test_setup(test_light_which, defaults),
		cmocka_unit_test_setup(test_light_doze, defaults),
		cmocka_unit_test_setup(test_light_encoding, defaults),
		cmocka_unit_test_setup(test_light_errors, defaults),
		cmocka_unit_test_setup(test_light_cdata, defaults),
		cmocka_unit_test_setup(test_light_ws_cap, defaults),
		cmocka_unit_test_setup(test_doze_utf16, defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
