/*
 * test_rabbitlive: rabbit/rabbit_live.c's pure parts. Events scripts:
 * good ones (clicks with and without an event, ears, waits, an empty
 * script) accepted, bad steps refused naming the step; a Violet packet
 * rendered as the JSON line nabrabbit prints, malformed ones refused.
 */
#include <string.h>

#include "testutil.h"
#include "rabbit.h"

static void
test_check(void **state)
{
	char	err[256];

	(void)state;
	assert_int_equal(rabbit_events_check("click 1; click 2 v; ears 3 12;"
	    " wait 0.5", err, sizeof(err)), 0);
	assert_int_equal(rabbit_events_check("", err, sizeof(err)), 0);
	assert_int_equal(rabbit_events_check("click 3", err, sizeof(err)), -1);
	assert_string_equal(err, "--events: bad step 'click 3' (click 1|2 "
	    "[EVENT], ears L R, wait SEC)");
	assert_int_equal(rabbit_events_check("click 1 <x>", err,
	    sizeof(err)), -1);
	assert_int_equal(rabbit_events_check("ears 3", err, sizeof(err)), -1);
	assert_int_equal(rabbit_events_check("ears 3 256", err,
	    sizeof(err)), -1);
	assert_int_equal(rabbit_events_check("wait -1", err, sizeof(err)), -1);
	assert_int_equal(rabbit_events_check("jump", err, sizeof(err)), -1);
}

static void
test_json(void **state)
{
	char	out[128];

	(void)state;
	assert_int_equal(rabbit_packet_json("0013d3000001", (const unsigned
	    char *)"\x7f\x0b\x00\x00\x01\x01\x09\x00\x00\x00\xff", 11, out,
	    sizeof(out)), 50);
	assert_string_equal(out, "{\"mac\":\"0013d3000001\",\"packet\":"
	    "[[11,\"01\"],[9,\"\"]]}");
	assert_int_equal(rabbit_packet_json("m", (const unsigned char *)
	    "\x7f\x0b\x00\x00\x05\x01\xff", 7, out, sizeof(out)), -1);
	assert_int_equal(rabbit_packet_json("m", (const unsigned char *)
	    "\x7e\xff", 2, out, sizeof(out)), -1);
	assert_int_equal(rabbit_packet_json("m", (const unsigned char *)
	    "\x7f\x0b\x00\x00\x01\x01", 6, out, sizeof(out)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
