/*
 * test_rabbitscript: rabbit/script.c, the bytes rabbits send. The seed
 * simulator's header and four stanzas with the seed's values are exactly
 * tests/golden/seed_rabbit.xml (the seed log's rabbit side); Table A's
 * register set for bootcode 18673 carries the password XORed with the
 * MAC; substitution keeps unknown braces and refuses a short buffer.
 */
#include <string.h>

#include "script.h"
#include "testutil.h"

static void
test_seed_golden(void **state)
{
	const struct script_var	v[] = { { "DOM", "almacska" },
	    { "MAC", "f81edfee27c1" }, { "PW", "83279de2ea5c" } };
	char			all[4096], part[1024];
	char			*golden;
	size_t			len, o;
	int			i, n;

	n = script_fill(script_a1, v, 3, all, sizeof(all));
	assert_true(n > 0);
	o = (size_t)n;
	for (i = 0; i < SCRIPT_SEED_PARTS; i++) {
		n = script_fill(script_seed[i], v, 3, part, sizeof(part));
		assert_true(n > 0 && o + (size_t)n < sizeof(all));
		memcpy(all + o, part, (size_t)n);
		o += (size_t)n;
	}
	golden = tu_slurp(NAB_SOURCE_DIR "/tests/golden/seed_rabbit.xml", &len);
	/* The golden file ends with a newline the rabbit never sent. */
	assert_int_equal(o + 1, len);
	assert_memory_equal(all, golden, o);
	free(golden);
}

static void
test_table_a(void **state)
{
	char			xpw[13], out[512];
	const struct script_var	v[] = { { "DOM", "almacska" }, { "N", "2" },
	    { "MAC", "0013d3000001" }, { "XPW", xpw } };

	assert_int_equal(script_xor_hex("0123456789ab", "0013d3000001", xpw),
	    0);
	assert_string_equal(xpw, "0130966789aa");
	assert_int_equal(script_xor_hex("0123456789ag", "0013d3000001", xpw),
	    -1);
	assert_int_equal(script_xor_hex("0123456789ab", "0013d3000001", xpw),
	    0);
	assert_true(script_fill(script_a3, v, 4, out, sizeof(out)) > 0);
	assert_string_equal(out, "<iq to='almacska' type='set' id='2'><query "
	    "xmlns=\"violet:iq:register\"><username>0013d3000001</username>"
	    "<password>0130966789aa</password></query></iq>");
	assert_true(script_fill("{X}-{DOM}", v, 4, out, sizeof(out)) > 0);
	assert_string_equal(out, "{X}-almacska");
	assert_int_equal(script_fill(script_a3, v, 4, out, 20), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_golden),
		cmocka_unit_test(test_table_a),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
