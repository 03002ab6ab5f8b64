/*
 * Unit tests for xmlstream: exact tiling of the input by units under every
 * split, restarts at the exact byte, and each bad-input class.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsdrive.h"

static const char seed_server[] =
    "<?xml version='1.0' encoding='UTF-8'?><stream:stream xmlns:stream=\"http://etherx.jabber.org/streams\" xmlns=\"jabber:client\" from=\"almacska\" id=\"d4379d2a\" xml:lang=\"en\" version=\"1.0\">"
    "<stream:features><mechanisms xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\"><mechanism>DIGEST-MD5</mechanism><mechanism>PLAIN</mechanism></mechanisms><register xmlns=\"http://jabber.org/features/iq-register\"/></stream:features>"
    "<iq type=\"error\" id=\"2\" from=\"almacska\" to=\"almacska/d4379d2a\">\n\t<query xmlns=\"jabber:iq:register\">\n\t\t<username>f81edfee27c1</username>\n\t</query>\n\t<error code=\"409\" type=\"cancel\">\n\t\t<conflict xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/>\n\t</error>\n</iq>\n"
    "<iq type=\"result\" id=\"3\" from=\"almacska\" to=\"almacska/d4379d2a\">\n\t<bind xmlns=\"urn:ietf:params:xml:ns:xmpp-bind\">\n\t\t<jid>almacska/d4379d2a</jid>\n\t</bind>\n</iq> "
    "<message to='a&amp;b' id='&#x41;'><body>caf\xc3\xa9 &lt;3</body></message>"
    "</stream:stream>";

static void
test_whole_stream(void **state)
{
	enum xs_error	 err;
	char		*s = run(seed_server, sizeof(seed_server) - 1, NULL, 0, &err);

	assert_non_null(s);
	/* header, features, iq, ws, iq, ws, message, end */
	assert_non_null(strstr(s, "0:"));
	assert_non_null(strstr(s, "|<message to='a&amp;b' id='A'><body>caf\xc3\xa9 &lt;3</body></message>"));
	assert_non_null(strstr(s, "\n2:\n|\n"));
	assert_non_null(strstr(s, "\n2: |\n"));
	assert_non_null(strstr(s, "\n3:16:</stream:stream>|\n"));
	free(s);
}
static void
test_every_split(void **state)
{
	free(check_every_split(seed_server, sizeof(seed_server) - 1));
}

/*
 * The seed's full server stream and rabbit stream: every 2-chunk split
 * and 1-byte chunks yield the same units with the same bytes as one read.
 */
static void
test_seed_every_split(void **state)
{
	static const char *const files[] = { "seed_server.xml",
	    "seed_rabbit.xml" };
	size_t		 len, k;
	char		*in, *ref;

	for (k = 0; k < 2; k++) {
		in = slurp(files[k], &len);
		ref = check_every_split(in, len);
		/* header, 4 stanzas, whitespace between: at least 5 units */
		assert_non_null(strstr(ref, "\n1:"));
		free(ref);
		free(in);
	}
}

/*
 * A stream that dozes (parser freed) at every unit boundary and wakes on
 * the next byte yields exactly the units, bytes and trees of one that
 * never dozed, under every 2-chunk split and 1-byte chunks: whitespace
 * between stanzas, stanzas across reads, the header, the end.
 */
static void
test_doze_every_split(void **state)
{
	static const char *const files[] = { "seed_server.xml",
	    "seed_rabbit.xml" };
	size_t		 len, k;
	char		*in, *ref, *dz;

	for (k = 0; k < 3; k++) {
		if (k < 2)
			in = slurp(files[k], &len);
		else {
			len = sizeof(seed_server) - 1;
			in = malloc(len);
			memcpy(in, seed_server, len);
		}
		ref = check_every_split(in, len);
		doze_mode = 1;
		dozes = 0;
		dz = check_every_split(in, len);
		doze_mode = 0;
		assert_string_equal(dz, ref);
		/* 1-byte chunks alone doze once per unit boundary at least. */
		assert_true(dozes > len);
		free(dz);
		free(ref);
		free(in);
	}
}

/*
 * The stream context survives a doze: an encoding declared in the header
 * still decodes the bytes after it, and a stream dozing before its
 * header still wants the header first.
 */
static void
test_doze_context(void **state)
{
	static const char latin[] =
	    "<?xml version='1.0' encoding='ISO-8859-1'?>"
	    "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>";
	struct xmlstream	*xs = xs_new(&lim);
	struct xs_unit		 u;
	struct evbuffer		*out = evbuffer_new();
	char			 body[] = "<m>caf\xe9</m>";

	assert_non_null(xs);
	/* Before any byte: dozing is allowed and changes nothing. */
	assert_int_equal(xs_doze(xs), 1);
	assert_int_equal(xs_feed(xs, latin, sizeof(latin) - 1), 0);
	assert_int_equal(xs_next(xs, &u), 1);
	assert_int_equal(u.kind, XS_HEADER);
	assert_int_equal(u.len, sizeof(latin) - 1);
	stanza_free(u.st);
	assert_int_equal(xs_next(xs, &u), 0);
	assert_int_equal(xs_doze(xs), 1);
	assert_int_equal(xs_feed(xs, body, strlen(body)), 0);
	assert_int_equal(xs_next(xs, &u), 1);
	assert_int_equal(u.kind, XS_STANZA);
	assert_int_equal(u.len, strlen(body));
	assert_int_equal(st_serialize(stanza_root(u.st), out, 0), 0);
	evbuffer_add(out, "", 1);
	/* e-acute in Latin-1 (0xe9) comes out as UTF-8 (c3 a9). */
	assert_string_equal((char *)evbuffer_pullup(out, -1),
	    "<m>caf\xc3\xa9</m>");
	stanza_free(u.st);
	assert_int_equal(xs_next(xs, &u), 0);
	/* Mid-stanza there is nothing to doze on. */
	assert_int_equal(xs_feed(xs, "<m>", 3), 0);
	assert_int_equal(xs_next(xs, &u), 0);
	assert_int_equal(xs_doze(xs), 0);
	xs_free(xs);
	/* A restart (SASL, STARTTLS, compression), a doze, a new header. */
	xs = xs_new(&lim);
	assert_int_equal(xs_feed(xs, "<stream:stream><success/>", 25), 0);
	assert_int_equal(xs_next(xs, &u), 1);
	stanza_free(u.st);
	assert_int_equal(xs_next(xs, &u), 1);
	assert_string_equal(stanza_root(u.st)->name, "success");
	stanza_free(u.st);
	assert_int_equal(xs_reset(xs), 0);
	assert_int_equal(xs_doze(xs), 1);
	assert_int_equal(xs_feed(xs, "<?xml version='1.0'?><stream:stream "
	    "id='2'>", 43), 0);
	assert_int_equal(xs_next(xs, &u), 1);
	assert_int_equal(u.kind, XS_HEADER);
	assert_int_equal(u.len, 43);
	assert_int_equal(u.has_decl, 1);
	assert_string_equal(st_attr(stanza_root(u.st), "id"), "2");
	stanza_free(u.st);
	xs_free(xs);
	/* A stream that dozed before its header refuses a stanza first. */
	xs = xs_new(&lim);
	assert_int_equal(xs_doze(xs), 1);
	assert_int_equal(xs_feed(xs, "<iq/>", 5), -1);
	assert_int_equal(xs_error(xs, NULL), XS_ERR_NOT_WELL_FORMED);
	xs_free(xs);
	evbuffer_free(out);
}

/*
 * A doze keeps the stream element's name as the header spelt it: a peer
 * whose header has no prefix, or another one than "stream:", still ends
 * its stream cleanly after a doze (the end tag matches). A name that is
 * not ASCII cannot be primed byte for byte: that stream does not doze.
 */
static void
test_doze_stream_name(void **state)
{
	static const char *const hdr[] = {
	    "<stream xmlns='http://etherx.jabber.org/streams'>",
	    "<s:stream xmlns:s='http://etherx.jabber.org/streams'>" };
	static const char *const end[] = { "</stream>", "</s:stream>" };
	struct xmlstream	*xs;
	struct xs_unit		 u;
	size_t			 k;

	for (k = 0; k < 2; k++) {
		assert_non_null(xs = xs_new(&lim));
		assert_int_equal(xs_feed(xs, hdr[k], strlen(hdr[k])), 0);
		assert_int_equal(xs_next(xs, &u), 1);
		assert_int_equal(u.kind, XS_HEADER);
		stanza_free(u.st);
		assert_int_equal(xs_next(xs, &u), 0);
		assert_int_equal(xs_doze(xs), 1);
		assert_int_equal(xs_feed(xs, "<m/>", 4), 0);
		assert_int_equal(xs_next(xs, &u), 1);
		assert_int_equal(u.kind, XS_STANZA);
		stanza_free(u.st);
		assert_int_equal(xs_next(xs, &u), 0);
		assert_int_equal(xs_doze(xs), 1);
		assert_int_equal(xs_feed(xs, end[k], strlen(end[k])), 0);
		assert_int_equal(xs_next(xs, &u), 1);
		assert_int_equal(u.kind, XS_END);
		assert_int_equal(u.len, strlen(end[k]));
		xs_free(xs);
	}
	assert_non_null(xs = xs_new(&lim));
	assert_int_equal(xs_feed(xs, "<\xc3\xa9:stream>", 11), 0);
	assert_int_equal(xs_next(xs, &u), 1);
	stanza_free(u.st);
	assert_int_equal(xs_doze(xs), 0);
	xs_free(xs);
}

/*
 * Per-session memory bound: the tree of one stanza may hold at most
 * max_stanza bytes, whatever the nesting or the tag sizes. 28 KB of <a/>
 * children (about 24 bytes of tree per input byte) is refused with
 * policy-violation, and every tree that is yielded stays under the cap.
 */
static void
test_arena_bound(void **state)
{
	static const struct xs_limits small = { 32768, 32, 64 };
	struct xmlstream	*xs;
	struct xs_unit		 u;
	char			*buf;
	size_t			 i, n, off, step;
	int			 r, refused = 0;

	buf = malloc(40000);
	strcpy(buf, "<stream:stream><x>");
	for (i = strlen(buf); i + 4 < 28000; i += 4)
		memcpy(buf + i, "<a/>", 4);
	n = i;
	/* Unterminated: the tree alone must hit the cap, not the size. */
	xs = xs_new(&small);
	for (off = 0; off < n && !refused; off += step) {
		step = n - off < 4096 ? n - off : 4096;
		if (xs_feed(xs, buf + off, step) == -1) {
			refused = 1;
			break;
		}
		while ((r = xs_next(xs, &u)) == 1)
			stanza_free(u.st);
		if (r == -1)
			refused = 1;
	}
	assert_true(refused);
	assert_int_equal(xs_error(xs, NULL), XS_ERR_POLICY);
	xs_free(xs);

	/* A terminated stanza of many <a/> under the cap: tree <= cap. */
	strcpy(buf, "<stream:stream><x>");
	for (i = strlen(buf); i < 1000; i += 4)
		memcpy(buf + i, "<a/>", 4);
	memcpy(buf + i, "</x>", 5);
	xs = xs_new(&small);
	assert_int_equal(xs_feed(xs, buf, strlen(buf)), 0);
	assert_int_equal(xs_next(xs, &u), 1);
	stanza_free(u.st);
	assert_int_equal(xs_next(xs, &u), 1);
	assert_int_equal(u.kind, XS_STANZA);
	assert_true(stanza_used(u.st) <= small.max_stanza);
	stanza_free(u.st);
	xs_free(xs);
	free(buf);
}

static void
test_restart(void **state)
{
	static const char in[] =
	    "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'>"
	    "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
	    "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' id='2'>"
	    "<stream:features/>";
	size_t		 len = sizeof(in) - 1, split;

	for (split = 1; split <= len; split++) {
		struct xmlstream	*xs = xs_new(&lim);
		struct xs_unit		 u;
		size_t			 front = 0, have = split;
		int			 nunits = 0, r;

		for (;;) {
			while (front + xs_buffered(xs) < have) {
				size_t n = have - front - xs_buffered(xs);
				assert_int_equal(xs_feed(xs, in + front + xs_buffered(xs), n), 0);
				while ((r = xs_next(xs, &u)) == 1) {
					nunits++;
					if (nunits == 3) {
						assert_int_equal(u.kind, XS_HEADER);
						assert_int_equal(u.has_decl, 1);
						assert_memory_equal(in + front, "<?xml", 5);
						assert_string_equal(st_attr(stanza_root(u.st), "id"), "2");
					}
					front += u.len;
					if (u.kind == XS_STANZA && nunits == 2) {
						assert_string_equal(stanza_root(u.st)->name, "success");
						assert_int_equal(xs_reset(xs), 0);
						assert_int_equal(xs_buffered(xs), 0);
					}
					stanza_free(u.st);
					if (xs_buffered(xs) == 0 && front < have)
						break;
				}
				assert_int_not_equal(r, -1);
			}
			if (have == len)
				break;
			have = len;
		}
		assert_int_equal(nunits, 4);
		assert_int_equal(front, len);
		xs_free(xs);
	}
}

static enum xs_error
bad(const char *body)
{
	char		 buf[8192];
	enum xs_error	 err;
	char		*s;

	snprintf(buf, sizeof(buf), "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>%s", body);
	s = run(buf, strlen(buf), NULL, 0, &err);
	free(s);
	return s == NULL ? err : XS_ERR_NONE;
}

static void
test_bad_input(void **state)
{
	char		*big, *deep;
	size_t		 i;
	enum xs_error	 err;

	assert_int_equal(bad("<a></b>"), XS_ERR_NOT_WELL_FORMED);
	assert_int_equal(bad("<a x='1' x='2'/>"), XS_ERR_NOT_WELL_FORMED);
	assert_int_equal(bad("hello"), XS_ERR_NOT_WELL_FORMED);
	assert_int_equal(bad("<!-- hi -->"), XS_ERR_RESTRICTED);
	assert_int_equal(bad("<?pi x?>"), XS_ERR_RESTRICTED);
	assert_int_equal(bad("<a>&foo;</a>"), XS_ERR_RESTRICTED);
	assert_int_equal(bad("<a/>"), XS_ERR_NONE);
	err = XS_ERR_NONE;
	free(run("<!DOCTYPE x [<!ENTITY a 'b'>]><stream:stream>", 45, NULL, 0, &err));
	assert_int_equal(err, XS_ERR_RESTRICTED);
	free(run("<iq/>", 5, NULL, 0, &err));
	assert_int_equal(err, XS_ERR_NOT_WELL_FORMED);

	/* Size cap: 70000 bytes of text in one stanza, fed in 4 KiB. */
	big = malloc(70100);
	strcpy(big, "<stream:stream><a>");
	for (i = strlen(big); i < 70050; i++)
		big[i] = 'x';
	strcpy(big + i, "</a>");
	free(run(big, strlen(big), NULL, 0, &err));
	assert_int_equal(err, XS_ERR_POLICY);
	/* An unterminated attribute value is capped too. */
	strcpy(big, "<stream:stream><a b='");
	memset(big + 21, 'y', 70000);
	big[70021] = '\0';
	free(run(big, strlen(big), NULL, 0, &err));
	assert_int_equal(err, XS_ERR_POLICY);
	free(big);

	/* Depth cap: 33 nested elements. */
	deep = calloc(1, 4096);
	for (i = 0; i < 33; i++)
		strcat(deep, "<d>");
	assert_int_equal(bad(deep), XS_ERR_POLICY);
	free(deep);
	deep = calloc(1, 4096);
	for (i = 0; i < 32; i++)
		strcat(deep, "<d>");
	for (i = 0; i < 32; i++)
		strcat(deep, "</d>");
	assert_int_equal(bad(deep), XS_ERR_NONE);
	free(deep);

	/* Attribute cap. */
	deep = calloc(1, 4096);
	strcat(deep, "<a");
	for (i = 0; i < 65; i++)
		sprintf(deep + strlen(deep), " a%zu='1'", i);
	strcat(deep, "/>");
	assert_int_equal(bad(deep), XS_ERR_POLICY);
	free(deep);
}
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_stream),
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_seed_every_split),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_doze_every_split),
		cmocka_unit_test(test_doze_context),
		cmocka_unit_test(test_doze_stream_name),
		cmocka_unit_test(test_arena_bound),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
