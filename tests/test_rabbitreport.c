/*
 * test_rabbitreport: rabbit/report.c, nabrabbit's JSON lines. An idle
 * rabbit and a failed one, byte for byte (a skipped step, a reason with a
 * quote, a backslash, a control and a non-ASCII byte escaped); a line
 * that does not fit; the summary's counts, failures by step and
 * nearest-rank percentiles.
 */
#include <string.h>

#include "report.h"
#include "testutil.h"

static void
fill(struct report_rabbit *r, int idle)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->rr_mac, sizeof(r->rr_mac), "0013d3000001");
	r->rr_firmware = "18673";
	r->rr_idle = idle;
	r->rr_ms = 12.25;
	r->rr_registered = idle;
	r->rr_steps[0] = (struct report_step){ "connect", REPORT_OK, 0.5 };
	r->rr_steps[1] = (struct report_step){ "register", REPORT_SKIPPED, 1 };
	r->rr_steps[2] = (struct report_step){ "sasl", idle ? REPORT_OK :
	    REPORT_FAILED, 12.25 };
	r->rr_nsteps = 3;
	if (idle)
		snprintf(r->rr_jid, sizeof(r->rr_jid), "0013d3000001@a/idle");
	else
		snprintf(r->rr_reason, sizeof(r->rr_reason),
		    "SASL \"failure\" \\ \x01\xe9");
}

static void
test_rabbit(void **state)
{
	struct report_rabbit	r;
	char			out[2048];
	int			n;

	fill(&r, 1);
	n = report_rabbit_json(&r, out, sizeof(out));
	assert_int_equal(n, (int)strlen(out));
	assert_string_equal(out, "{\"mac\":\"0013d3000001\",\"firmware\":"
	    "\"18673\",\"idle\":true,\"ms\":12.2,\"jid\":\"0013d3000001@a/idle\","
	    "\"registered\":true,\"steps\":[{\"step\":\"connect\",\"outcome\":"
	    "\"ok\",\"ms\":0.5},{\"step\":\"register\",\"outcome\":\"skipped\","
	    "\"ms\":1.0},{\"step\":\"sasl\",\"outcome\":\"ok\",\"ms\":12.2}],"
	    "\"failed\":null,\"reason\":null}");
	fill(&r, 0);
	n = report_rabbit_json(&r, out, sizeof(out));
	assert_int_equal(n, (int)strlen(out));
	assert_string_equal(out, "{\"mac\":\"0013d3000001\",\"firmware\":"
	    "\"18673\",\"idle\":false,\"ms\":12.2,\"jid\":null,"
	    "\"registered\":false,\"steps\":[{\"step\":\"connect\",\"outcome\":"
	    "\"ok\",\"ms\":0.5},{\"step\":\"register\",\"outcome\":\"skipped\","
	    "\"ms\":1.0},{\"step\":\"sasl\",\"outcome\":\"failed\",\"ms\":12.2}],"
	    "\"failed\":\"sasl\",\"reason\":\"SASL \\\"failure\\\" \\\\ "
	    "\\u0001\\u00e9\"}");
	assert_int_equal(report_rabbit_json(&r, out, 100), -1);
}

static void
test_summary(void **state)
{
	struct report_summary	s;
	struct report_rabbit	r;
	double			v[] = { 5, 1, 4, 2, 3 };
	char			out[1024];
	int			i, n;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < 100; i++) {
		fill(&r, i % 10 != 0);
		r.rr_ms = i + 1;
		if (i == 50)
			r.rr_nsteps = 1;	/* failed at connect */
		assert_int_equal(report_summary_add(&s, &r), 0);
	}
	s.su_elapsed_ms = 2000;
	n = report_summary_json(&s, out, sizeof(out));
	assert_int_equal(n, (int)strlen(out));
	/* Idle: ms 2..10, 12..20, .., 92..100: the 45th of 90 is 50. */
	assert_string_equal(out, "{\"summary\":true,\"rabbits\":100,"
	    "\"idle\":90,\"failed\":10,\"failed_by_step\":{\"sasl\":9,"
	    "\"connect\":1},\"p50_ms\":50.0,\"p99_ms\":100.0,"
	    "\"elapsed_ms\":2000.0}");
	report_summary_free(&s);
	assert_true(report_percentile(v, 5, 50) == 3);
	assert_true(report_percentile(v, 5, 99) == 5);
	assert_true(report_percentile(v, 5, 0) == 1);
	assert_true(report_percentile(v, 0, 50) == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rabbit),
		cmocka_unit_test(test_summary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
