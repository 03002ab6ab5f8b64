/*
 * test_xscan: rabbit/xscan.c, reading a server's stream by tags.
 * The stream header found after <?xml?>, waiting for more, and refused
 * when split (the firmware searches one read only); elements complete,
 * incomplete, nested, with '>' inside a quoted value, the stream's end
 * tag, attribute-less self-closing tags, entities and white space between
 * attributes flagged (the firmware misreads them), malformed input; and the
 * attribute, child-text and own-text lookups on raw bytes.
 */
#include <string.h>

#include "testutil.h"
#include "xscan.h"

#define S(s)	(s), (sizeof(s) - 1)

static void
test_header(void **state)
{
	static const char	h[] = "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:client' id='x'><stream:features>";

	assert_int_equal(xs_header(S(h)), (long)strlen(h) -
	    (long)strlen("<stream:features>"));
	assert_int_equal(xs_header(S("<?xml version='1.0'?>")), 0);
	assert_int_equal(xs_header(S("<?xml version='1.0'?><stream:str")), -1);
	assert_int_equal(xs_header(S("<stream:stream id='1'")), -1);
}

static void
test_element(void **state)
{
	static const char	nested[] = "<iq type='result' id='3'><bind "
	    "xmlns='b'><jid>a@b/c</jid></bind></iq><iq/>";
	static const char	quoted[] = "<message body='a>b'><x a='1'/>"
	    "</message>";
	int			flags;

	assert_int_equal(xs_element(S(nested), &flags),
	    (long)strlen(nested) - 5);
	assert_int_equal(flags, 0);
	assert_int_equal(xs_element(nested, 20, &flags), 0);
	assert_int_equal(xs_element(S(quoted), &flags), (long)strlen(quoted));
	assert_int_equal(flags, 0);
	assert_int_equal(xs_element(S("</stream:stream>"), &flags), -1);
	assert_int_equal(xs_element(S("text<a/>"), &flags), -2);
	assert_int_equal(xs_element(S("<a>x</a>text"), &flags), 8);
	assert_int_equal(xs_element(S("<a><required/></a>"), &flags), 18);
	assert_int_equal(flags, XS_BARE_EMPTY);
	assert_int_equal(xs_element(S("<a><!-- c --></a>"), &flags), 17);
	assert_int_equal(flags, XS_MARKUP);
	assert_int_equal(xs_element(S("<success xmlns='s'/>"), &flags), 20);
	assert_int_equal(flags, 0);
	assert_int_equal(xs_element(S("<a>x &amp; y</a>"), &flags), 16);
	assert_int_equal(flags, XS_ENTITY);
	assert_int_equal(xs_element(S("<a b='&apos;'/>"), &flags), 15);
	assert_int_equal(flags, XS_ENTITY);
	assert_int_equal(xs_element(S("<a\n b='1'></a>"), &flags), 14);
	assert_int_equal(flags, XS_TAG_WS);
	assert_int_equal(xs_element(S("<a b='1\n2'>\n</a>"), &flags), 16);
	assert_int_equal(flags, 0);	/* in a value or text: read right */
}

static void
test_lookups(void **state)
{
	static const char	el[] = "<iq type='result' id=\"3\" to='a/b'>"
	    "<bind xmlns='b'><jid>a@b/idle</jid><empty/></bind></iq>";
	static const char	ch[] = "<challenge xmlns='s'>bm9uY2U=</challenge>";
	char			out[64];

	assert_int_equal(xs_name(S(el), out, sizeof(out)), 2);
	assert_string_equal(out, "iq");
	assert_true(xs_attr(S(el), "type", out, sizeof(out)));
	assert_string_equal(out, "result");
	assert_true(xs_attr(S(el), "id", out, sizeof(out)));
	assert_string_equal(out, "3");
	assert_false(xs_attr(S(el), "xmlns", out, sizeof(out)));
	assert_false(xs_attr(S(el), "d", out, sizeof(out)));	/* not "id" */
	assert_true(xs_child_text(S(el), "jid", out, sizeof(out)));
	assert_string_equal(out, "a@b/idle");
	assert_true(xs_child_text(S(el), "empty", out, sizeof(out)));
	assert_string_equal(out, "");
	assert_false(xs_child_text(S(el), "resource", out, sizeof(out)));
	assert_true(xs_has_child(S(el), "bind"));
	assert_false(xs_has_child(S(el), "bin"));
	assert_false(xs_has_child(S(el), "iq"));	/* itself */
	xs_text(S(ch), out, sizeof(out));
	assert_string_equal(out, "bm9uY2U=");
	xs_text(S("<success xmlns='s'/>"), out, sizeof(out));
	assert_string_equal(out, "");
	xs_text(S(ch), out, 4);
	assert_string_equal(out, "bm9");		/* truncated */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_element),
		cmocka_unit_test(test_lookups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
