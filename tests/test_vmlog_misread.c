/*
 * Unit tests for vmlog_misread: each reason names its cause in one
 * escaped line (control bytes, bytes >= 0x7f, quote and backslash
 * escaped; peer bytes cut at 40), a clean stanza has none, and a short or absent reason
 * buffer truncates without losing the answer. The warning lines of the
 * [vm] log, which share these sentences, are checked in test_vmlog.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmlog.h"

#define S(lit)	lit, sizeof(lit) - 1

/* Reasons name the cause in one escaped line. */
static void
test_misread_reasons(void **state)
{
	static const struct {
		const char	*in;
		const char	*why;
	} cases[] = {
		{ "<p><x/></p>", "markup read as text: \"<x/>\"; write \"<x />\" "
		    "for \"<x/>\"" },
		{ "<iq\ttype='get'></iq>", "element \"iq\\ttype='get'\" can "
		    "never end" },
		{ "<a b = \"1\"/>", "attribute named \"b \", not an XML name" },
		{ "<a>&lt;</a>", "entity not decoded by the rabbit in \"&lt;\"" },
		{ "<q><x a=\"1\"/>t</x>u</q>", "bytes lost after a self-closing "
		    "tag (its first end tag of the same name bounds it): "
		    "\"</x>u\"" },
		{ "<a>&lt;\x01\x7f\xc3\xa9\"\\\r</a>", "entity not decoded by the "
		    "rabbit in \"&lt;\\x01\\x7f\\xc3\\xa9\\\"\\\\\\r\"" },
		{ "<a>&amp;0123456789012345678901234567890123456789</a>",
		    "entity not decoded by the rabbit in \"&amp;012345678901234"
		    "56789012345678901234...\"" },
		{ "<a b=\"1\">x</a>", "" },
	};
	char	why[VMLOG_WHY_SIZE];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(vmlog_misread(cases[i].in,
		    strlen(cases[i].in), why, sizeof(why)), cases[i].why[0] != 0);
		if (strstr(why, cases[i].why) == NULL)
			print_error("case %zu: %s\n", i, why);
		assert_non_null(strstr(why, cases[i].why));
	}
	/* A short buffer truncates, still NUL-terminated. */
	assert_int_equal(vmlog_misread(S("<p><x/></p>"), why, 8), 1);
	assert_string_equal(why, "markup ");
	assert_int_equal(vmlog_misread(S("<p><x/></p>"), NULL, 0), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_misread_reasons),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
