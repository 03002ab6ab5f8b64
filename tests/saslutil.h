/*
 * saslutil.h: what the SASL client tests (test_sasl.c, test_sasl_scram.c,
 * test_sasl_digest.c) share: one step of a client against a server
 * message, its result and output checked. Header-only; every function is
 * static and may go unused in one test file, hence SU_FN.
 *
 * It includes testutil.h (and so <cmocka.h>) and sasl.h. Every assertion
 * carries a message.
 */
#ifndef NAB_SASLUTIL_H
#define NAB_SASLUTIL_H

#include <string.h>

#include "sasl.h"
#include "testutil.h"

#define SU_FN	__attribute__((unused)) static

/*
 * Feed challenge s to c; check the result is want and, for CONTINUE, that
 * the output is exactly out (any output if out is NULL); PENDING has none. A failure must
 * give a reason, and the reason must not hold the tests' password
 * "pencil".
 */
SU_FN void
su_expect_step(struct sasl_client *c, const char *s, int want,
    const char *out)
{
	unsigned char	*o;
	size_t		 ol;
	int		 rv;

	rv = sasl_client_step(c, (const unsigned char *)s, strlen(s), &o, &ol);
	CHECK(rv == want, "step(%s) returned %d, want %d (error: %s)", s, rv,
	    want, sasl_client_error(c));
	if (want == SASL_FAIL) {
		CHECK(*sasl_client_error(c) != '\0', "failure without reason");
		CHECK(strstr(sasl_client_error(c), "pencil") == NULL,
		    "error leaks the password: %s", sasl_client_error(c));
		return;
	}
	if (want == SASL_PENDING) {
		CHECK(o == NULL && ol == 0, "output while PENDING");
		return;
	}
	CHECK(o != NULL, "CONTINUE without output buffer");
	if (out != NULL)
		CHECK(ol == strlen(out) && memcmp(o, out, ol) == 0,
		    "step output %.*s, want %s", (int)ol, o, out);
}

#endif /* NAB_SASLUTIL_H */
