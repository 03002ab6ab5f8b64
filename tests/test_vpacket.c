/*
 * test_vpacket: proxy/vpacket.c. Exact lines for every block type, every
 * malformed framing and base64, the rabbit's button and ears events, the
 * stanzas that hold a packet (message, sources iq) and the ones that do
 * not (the rabbit's empty request, another xmlns), escaping of peer bytes
 * and truncation to the caller's buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vpacket.h"

#define S(s)	(s), strlen(s)

static void
test_blocks(void **state)
{
	static const struct {
		const char	*b64;
		const char	*line;
	} cases[] = {
		{ "fwsAAAEA/w==", "packet: wake" },
		{ "fwsAAAEB/w==", "packet: sleep" },
		{ "fwQAAAh////+CAEEBQkAAAD/",
		    "packet: ambient(nose=1, left ear=5) reboot" },
		{ "fwQAAAZ////+AA7/", "packet: ambient(disable=taichi)" },
		{ "fwoAAA0AHltPpsU/+0+ilYgk/w==",
		    "packet: program(\"ID 7\\nPL 3\\nMW\")" },
		{ "fwQAAAd////+AQID/w==",
		    "packet: ambient(weather=2, [odd byte 03])" },
		{ "fwMAAAEFKgAAAqvN/w==",
		    "packet: ping-delay(05) type-42(abcd)" },
		{ "fwsAAAEC/w==", "packet: mode(02)" },
		/* Malformed framing, each said where it is found. */
		{ "fwsAAAEA", "packet: wake [no 0xff]" },
		/* Each '=' is a zero byte to the firmware: 4 bytes, not 2. */
		{ "fwoAABABAg==", "packet: [block type 10 cut: 4 of 16 bytes]" },
		{ "CwAAAQD/", "packet: [no 0x7f] wake" },
		{ "fwkAAAD/QUI=", "packet: reboot [3 bytes after 0xff]" },
		{ "fwkA", "packet: [block header cut: 2 of 4 bytes]" },
		{ "", "packet: [empty]" },
		{ "fwQAAAKqu/8=", "packet: ambient([header cut: 2 of 4 bytes])" },
		/* Bytes outside the alphabet are skipped and counted. */
		{ "fwsA AAEA/w==\n", "packet: wake [2 bytes outside base64]" },
		{ "fws*AAAEA/w==", "packet: wake [1 byte outside base64]" },
	};
	char	line[VPACKET_LINE_MAX];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vpacket_decode(S(cases[i].b64), line, sizeof(line));
		if (strcmp(line, cases[i].line) != 0)
			print_error("case %zu: %s\n", i, line);
		assert_string_equal(line, cases[i].line);
	}
	vpacket_decode(NULL, 0, line, sizeof(line));
	assert_string_equal(line, "packet: [empty]");
}

static void
test_truncation(void **state)
{
	char	line[VPACKET_LINE_MAX], small[16];
	char	big[4 * 4096];
	size_t	i;

	(void)state;
	/* A line cut by the caller's size ends in "...". */
	vpacket_decode(S("fwQAAAh////+CAEEBQkAAAD/"), small, sizeof(small));
	assert_string_equal(small, "packet: ambi...");
	vpacket_decode(S("fwsAAAEA/w=="), small, 1);
	assert_string_equal(small, "");
	/* A payload past the decoder's buffer is said so. */
	memset(big, 'A', sizeof(big));
	vpacket_decode(big, sizeof(big), line, sizeof(line));
	assert_int_equal(strlen(line), sizeof(line) - 1);
	assert_memory_equal(line, "packet: [no 0x7f] type-0() type-0() ", 36);
	assert_string_equal(line + sizeof(line) - 4, "...");
	for (i = 0; i < sizeof(big); i += 4)
		memcpy(big + i, "fwsA", 4);
	vpacket_decode(big, sizeof(big), line, sizeof(line));
	assert_non_null(strstr(line, "[payload longer than 3072 bytes]"));
	assert_true(strlen(line) < sizeof(line));
}

static void
test_describe(void **state)
{
	static const struct {
		const char	*in;
		const char	*line;
	} cases[] = {
		{ "<message from='net.violet.platform@almacska/sources' "
		    "to='0013d3c70001@almacska/idle' id='1'><packet "
		    "xmlns='violet:packet' format='1.0' ttl='604800'>"
		    "fwsAAAEB/w==</packet></message>", "packet: sleep" },
		{ "<iq from='net.violet.platform@almacska/sources' to='x@a/boot'"
		    " type='result' id='3'><query xmlns='violet:iq:sources'>"
		    "<packet xmlns='violet:packet' format='1.0' ttl='604800'>"
		    "fwsAAAEA/w==</packet></query></iq>", "packet: wake" },
		{ "<message from='a@b/idle' to='int@xmpp.objects.violet.net/int'"
		    " id='8'><button xmlns=\"violet:nabaztag:button\"><clic>1"
		    "</clic></button></message>", "button: 1 click" },
		{ "<message from='a@b/idle' to='int@xmpp.objects.violet.net/int'"
		    " id='9'><button xmlns=\"violet:nabaztag:button\"><clic>2"
		    "</clic><event>v</event></button></message>",
		    "button: 2 clicks, event v" },
		{ "<message from='a@b/idle' to='int@x/int' id='9'><button "
		    "xmlns=\"violet:nabaztag:button\"><clic>1</clic><event/>"
		    "</button></message>", "button: 1 click" },
		{ "<message from='a@b/idle' to='int@x/int' id='9'><button "
		    "xmlns=\"violet:nabaztag:button\"><clic>3\x1b\"</clic>"
		    "</button></message>", "button: clic \"3\\x1b\\\"\"" },
		{ "<message from='a@b/idle' to='int@xmpp.objects.violet.net/int'"
		    " id='10'><ears xmlns=\"violet:nabaztag:ears\"><left>4"
		    "</left><right>12</right></ears></message>",
		    "ears: left=4 right=12" },
		{ "<message to='a' id='2'><ears xmlns=\"violet:nabaztag:ears\">"
		    "<right>0</right></ears></message>", "ears: left=- right=0" },
		/* Two packets in one stanza, one line. */
		{ "<message to='a' id='2'><packet xmlns='violet:packet' "
		    "format='1.0'>fwkAAAD/</packet><packet xmlns='violet:packet'"
		    " format='1.0'>fwsAAAEB/w==</packet></message>",
		    "packet: reboot; packet: sleep" },
		/* Nothing to describe. */
		{ "<iq from='a@b/boot' to='net.violet.platform@b/sources' "
		    "type='get' id='3'><query xmlns=\"violet:iq:sources\">"
		    "<packet xmlns=\"violet:packet\" format=\"1.0\"/></query>"
		    "</iq>", "" },
		{ "<message to='a'><packet xmlns='violet:other'>fwkAAAD/"
		    "</packet></message>", "" },
		{ "<message to='a'><body>violet:packet <clic></body></message>",
		    "" },
		{ "<message to='a'><packet xmlns='violet:packet'>fwkAAAD/",
		    "" },
		{ "hello <ears>", "" },
	};
	char	line[VPACKET_LINE_MAX];
	size_t	i;
	int	rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = vpacket_describe(S(cases[i].in), line, sizeof(line));
		if (strcmp(line, cases[i].line) != 0)
			print_error("case %zu: %s\n", i, line);
		assert_string_equal(line, cases[i].line);
		assert_int_equal(rc, cases[i].line[0] != '\0');
	}
	assert_int_equal(vpacket_describe(NULL, 0, line, sizeof(line)), 0);
	assert_string_equal(line, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
