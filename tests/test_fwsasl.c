/*
 * test_fwsasl: rabbit/fwsasl.c, the firmware's base64 and
 * DIGEST-MD5. The encoder's short padding, the decoder's '=' as a zero
 * sextet and its refusals, the challenge parser's one-byte skip after a
 * quoted value (", " makes " qop" a different key, so the firmware stays
 * silent), a repeated nonce, and the response and rspauth for two
 * challenges, byte for byte as tests/integration/firmware.py (the
 * project's other implementation of the firmware) computes them.
 */
#include <stdio.h>
#include <string.h>

#include "fwsasl.h"
#include "testutil.h"

static void
test_b64encode(void **state)
{
	char	out[16];

	assert_int_equal(fw_b64encode((const unsigned char *)"a", 1, out,
	    sizeof(out)), 3);
	assert_string_equal(out, "YQ=");	/* standard: YQ== */
	assert_int_equal(fw_b64encode((const unsigned char *)"ab", 2, out,
	    sizeof(out)), 3);
	assert_string_equal(out, "YWI");	/* standard: YWI= */
	assert_int_equal(fw_b64encode((const unsigned char *)"abc", 3, out,
	    sizeof(out)), 4);
	assert_string_equal(out, "YWJj");
	assert_int_equal(fw_b64encode((const unsigned char *)"abcd", 4, out,
	    4), -1);
}

static void
test_b64decode(void **state)
{
	unsigned char	out[16];

	assert_int_equal(fw_b64decode("YQ==", 4, out, sizeof(out)), 3);
	assert_memory_equal(out, "a\0\0", 3);	/* '=' is a zero sextet */
	assert_int_equal(fw_b64decode("YWJj", 4, out, sizeof(out)), 3);
	assert_memory_equal(out, "abc", 3);
	assert_int_equal(fw_b64decode("YQ=", 3, out, sizeof(out)), -1);
	assert_int_equal(fw_b64decode("Y Q=", 4, out, sizeof(out)), -1);
	assert_int_equal(fw_b64decode("YWJj", 4, out, 2), -1);
}

static void
parse(const char *s, struct fw_challenge *c, int want)
{
	assert_int_equal(fw_challenge_parse((const unsigned char *)s,
	    strlen(s), c), want);
}

static void
test_challenge(void **state)
{
	struct fw_challenge	c;
	static const unsigned char padded[] = "nonce=\"n1\",qop=\"auth\","
	    "charset=utf-8,algorithm=md5-sess\0\0";

	parse("realm=\"almacska\",nonce=\"OA6\",qop=\"auth\",charset=utf-8,"
	    "algorithm=md5-sess", &c, 0);
	assert_string_equal(c.realm, "almacska");
	assert_string_equal(c.nonce, "OA6");
	assert_string_equal(c.algorithm, "md5-sess");
	assert_int_equal(c.rspauth_len, -1);
	assert_true(fw_challenge_answerable(&c));
	/* The byte after a quoted value is skipped: ", qop" is " qop". */
	parse("nonce=\"x\", qop=\"auth\",charset=utf-8,algorithm=md5-sess",
	    &c, 0);
	assert_int_equal(c.qop_len, -1);
	assert_false(fw_challenge_answerable(&c));
	parse("nonce=\"x\",qop=\"auth-int\",charset=utf-8,algorithm=md5-sess",
	    &c, 0);
	assert_false(fw_challenge_answerable(&c));
	parse("nonce=\"x\",nonce=\"y\",qop=\"auth\"", &c, -1);
	parse("algorithm=md5-sess,algorithm=md5-sess", &c, -1);
	/* Trailing NULs (base64 padding) compare equal. */
	assert_int_equal(fw_challenge_parse(padded, sizeof(padded) - 1, &c),
	    0);
	assert_string_equal(c.algorithm, "md5-sess");
	assert_true(fw_challenge_answerable(&c));
	parse("rspauth=35b09ef5379300ff591c273057687cb9", &c, 0);
	assert_string_equal(c.rspauth, "35b09ef5379300ff591c273057687cb9");
}

static void
check_response(const char *challenge, const char *cn, const char *want,
    size_t wantlen, const char *want_rspauth)
{
	struct fw_challenge	c;
	unsigned char		out[512], cnonce[14];
	char			rspauth[33];
	int			n;

	memcpy(cnonce, cn, 13);
	cnonce[13] = '\0';
	parse(challenge, &c, 0);
	n = fw_digest_response("0013d3000001", "almacska", "0123456789ab", &c,
	    cnonce, out, sizeof(out), rspauth);
	assert_int_equal(n, (int)wantlen);
	assert_memory_equal(out, want, wantlen);
	assert_string_equal(rspauth, want_rspauth);
	assert_int_equal(fw_digest_response("0013d3000001", "almacska",
	    "0123456789ab", &c, cnonce, out, 40, rspauth), -1);
}

static void
test_response(void **state)
{
	static const char	r1[] = "username=\"0013d3000001\",realm=\"almacska\","
	    "nonce=\"OA6MG9tEQGm2hh\",cnonce=\"1234567890123\0\",nc=00000001,"
	    "qop=auth,digest-uri=\"xmpp/almacska\",response="
	    "c4ab0e55014bf60e0e9a3f0f7d266eac,charset=utf-8";
	static const char	r2[] = "username=\"0013d3000001\",nonce=\"abc\","
	    "cnonce=\"5555555555555\0\",nc=00000001,qop=auth,digest-uri="
	    "\"xmpp/almacska\",response=dddd734a37bce5e38abcd4a7e262538b,"
	    "charset=utf-8";
	char			b64[512];

	check_response("realm=\"almacska\",nonce=\"OA6MG9tEQGm2hh\","
	    "qop=\"auth\",charset=utf-8,algorithm=md5-sess", "1234567890123",
	    r1, sizeof(r1) - 1, "35b09ef5379300ff591c273057687cb9");
	/* No realm in the challenge: none in the response. */
	check_response("nonce=\"abc\",qop=\"auth\",charset=utf-8,"
	    "algorithm=md5-sess", "5555555555555", r2, sizeof(r2) - 1,
	    "9ee6ada2654a38e7f53c31a165601414");
	/* Its length is 2 mod 3: the firmware's base64 has no '='. */
	assert_int_equal((sizeof(r1) - 1) % 3, 2);
	fw_b64encode((const unsigned char *)r1, sizeof(r1) - 1, b64,
	    sizeof(b64));
	assert_string_equal(b64, "dXNlcm5hbWU9IjAwMTNkMzAwMDAwMSIscmVhbG09"
	    "ImFsbWFjc2thIixub25jZT0iT0E2TUc5dEVRR20yaGgiLGNub25jZT0iMTIzNDU2"
	    "Nzg5MDEyMwAiLG5jPTAwMDAwMDAxLHFvcD1hdXRoLGRpZ2VzdC11cmk9InhtcHAv"
	    "YWxtYWNza2EiLHJlc3BvbnNlPWM0YWIwZTU1MDE0YmY2MGUwZTlhM2YwZjdkMjY2"
	    "ZWFjLGNoYXJzZXQ9dXRmLTg");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64encode),
		cmocka_unit_test(test_b64decode),
		cmocka_unit_test(test_challenge),
		cmocka_unit_test(test_response),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
