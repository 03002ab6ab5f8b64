/*
 * test_events_packet: filters/events_packet.c, the events filter's bytes.
 * Violet packets as OpenJabNab encodes them (ears as ambient services 4
 * and 5 after 7f ff ff fe, ambient pairs sorted by service, mode 11 with
 * one byte, reboot 9 empty), out-of-range values refused, framing
 * validation; base64 both ways (strict decoding); the JSON reader on
 * good and bad commands, and JSON string quoting.
 */
#include <string.h>

#include "testutil.h"
#include "events-int.h"

static void
test_packets(void **state)
{
	unsigned char	p[64];
	int		svc[3] = { 8, 1, 8 }, val[3] = { 1, 2, 2 };

	(void)state;
	assert_int_equal(ev_pkt_ears(p, sizeof(p), 3, 10), 14);
	assert_memory_equal(p, "\x7f\x04\x00\x00\x08\x7f\xff\xff\xfe\x04\x03"
	    "\x05\x0a\xff", 14);
	assert_int_equal(ev_pkt_ears(p, sizeof(p), 17, 0), -1);
	assert_int_equal(ev_pkt_ears(p, sizeof(p), 0, -1), -1);
	/* sorted by service; the last value of a repeated service wins */
	assert_int_equal(ev_pkt_ambient(p, sizeof(p), svc, val, 3), 14);
	assert_memory_equal(p, "\x7f\x04\x00\x00\x08\x7f\xff\xff\xfe\x01\x02"
	    "\x08\x02\xff", 14);
	val[0] = 256;
	assert_int_equal(ev_pkt_ambient(p, sizeof(p), svc, val, 1), -1);
	assert_int_equal(ev_pkt_mode(p, sizeof(p), 1), 7);
	assert_memory_equal(p, "\x7f\x0b\x00\x00\x01\x01\xff", 7);
	assert_int_equal(ev_pkt_mode(p, sizeof(p), 0), 7);
	assert_memory_equal(p, "\x7f\x0b\x00\x00\x01\x00\xff", 7);
	assert_int_equal(ev_pkt_reboot(p, sizeof(p)), 6);
	assert_memory_equal(p, "\x7f\x09\x00\x00\x00\xff", 6);
	assert_int_equal(ev_pkt_ears(p, 13, 1, 1), -1);		/* too small */
	assert_int_equal(ev_pkt_valid((const unsigned char *)
	    "\x7f\x0b\x00\x00\x01\x00\xff", 7), 1);
	assert_int_equal(ev_pkt_valid((const unsigned char *)"\x7f\xff", 2), 1);
	assert_int_equal(ev_pkt_valid((const unsigned char *)
	    "\x7f\x0b\x00\x00\x02\x00\xff", 7), 0);		/* overruns */
	assert_int_equal(ev_pkt_valid((const unsigned char *)
	    "\x7f\x0b\x00\x00\x01\x00\xff\x00", 8), 0);	/* trailing */
	assert_int_equal(ev_pkt_valid((const unsigned char *)"\x7e\xff", 2), 0);
}

static void
test_base64(void **state)
{
	char		out[32];
	unsigned char	raw[32];

	(void)state;
	assert_int_equal(ev_b64enc((const unsigned char *)"\x7f\x0b\x00\x00"
	    "\x01\x01\xff", 7, out, sizeof(out)), 12);
	assert_string_equal(out, "fwsAAAEB/w==");
	assert_int_equal(ev_b64dec("fwsAAAEB/w==", 12, raw, sizeof(raw)), 7);
	assert_memory_equal(raw, "\x7f\x0b\x00\x00\x01\x01\xff", 7);
	assert_int_equal(ev_b64dec("fwsAAAEB/w=", 11, raw, sizeof(raw)), -1);
	assert_int_equal(ev_b64dec("fw=AAAEB", 8, raw, sizeof(raw)), -1);
	assert_int_equal(ev_b64dec("fw sAAEB", 8, raw, sizeof(raw)), -1);
	assert_int_equal(ev_b64dec("YWJj", 4, raw, 2), -1);	/* too small */
	assert_int_equal(ev_b64enc((const unsigned char *)"ab", 2, out, 4), -1);
}

static int
sum_cb(const char *key, long v, void *arg)
{
	long	*sum = arg;

	if (strcmp(key, "bad") == 0)
		return -1;
	*sum += v;
	return 0;
}

static void
test_json(void **state)
{
	static const char	ok[] = " { \"left\" : 3, \"right\":-10 ,"
	    "\"led\":\"n\\u0041\\\"se\" } ";
	char			s[16];
	long			v, sum = 0;

	(void)state;
	assert_int_equal(ev_json_int(ok, strlen(ok), "left", &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(ev_json_int(ok, strlen(ok), "right", &v), 0);
	assert_int_equal(v, -10);
	assert_int_equal(ev_json_int(ok, strlen(ok), "led", &v), -1);
	assert_int_equal(ev_json_int(ok, strlen(ok), "none", &v), -1);
	assert_int_equal(ev_json_str(ok, strlen(ok), "led", s, sizeof(s)), 0);
	assert_string_equal(s, "nA\"se");
	assert_int_equal(ev_json_str(ok, strlen(ok), "led", s, 4), -1);
	/* not a flat object of integers and strings */
	assert_int_equal(ev_json_int("{\"left\":3", 9, "left", &v), -1);
	assert_int_equal(ev_json_int("{\"left\":3.5}", 12, "left", &v), -1);
	assert_int_equal(ev_json_int("{\"left\":03}", 11, "left", &v), -1);
	assert_int_equal(ev_json_int("{\"left\":[3]}", 12, "left", &v), -1);
	assert_int_equal(ev_json_int("{\"left\":3}x", 11, "left", &v), -1);
	assert_int_equal(ev_json_int("{left:3}", 8, "left", &v), -1);
	assert_int_equal(ev_json_int("{\"a\":\"\\u0000\"}", 14, "a", &v), -1);
	assert_int_equal(ev_json_int("", 0, "left", &v), -1);
	assert_int_equal(ev_json_each_int("{\"1\":2,\"nose\":3}", 16, sum_cb,
	    &sum), 0);
	assert_int_equal(sum, 5);
	assert_int_equal(ev_json_each_int("{\"1\":\"x\"}", 9, sum_cb, &sum), -1);
	assert_int_equal(ev_json_each_int("{\"bad\":1}", 9, sum_cb, &sum), -1);
	assert_int_equal(ev_json_each_int("{}", 2, sum_cb, &sum), 0);
}

static void
test_quote(void **state)
{
	char	out[32] = "{\"e\":";

	(void)state;
	assert_int_equal(ev_json_quote(out, sizeof(out), "a\"b\\c\n"), 0);
	assert_string_equal(out, "{\"e\":\"a\\\"b\\\\c\\u000a\"");
	out[0] = '\0';
	assert_int_equal(ev_json_quote(out, 6, "abcdef"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_packets),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_quote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
