/*
 * test_sasl_digest: the DIGEST-MD5 client (proxy/sasl_digest.c) against
 * the RFC 2831 example exchange, lenient but exact challenge parsing, and
 * malformed or hostile challenges. The server helper is tested in
 * test_sasl_digestsrv.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sasl.h"
#include "saslutil.h"
#include "testutil.h"

#define D2831_CHAL	"realm=\"elwood.innosoft.com\"," \
			"nonce=\"OA6MG9tEQGm2hh\"," \
			"qop=\"auth\",algorithm=md5-sess,charset=utf-8"
#define D2831_RESP	"charset=utf-8,username=\"chris\"," \
			"realm=\"elwood.innosoft.com\"," \
			"nonce=\"OA6MG9tEQGm2hh\"," \
			"nc=00000001,cnonce=\"OA6MHXh6VqTrRk\"," \
			"digest-uri=\"imap/elwood.innosoft.com\"," \
			"response=d388dad90d4bbd760a152321f2143af7,qop=auth"
#define D2831_RSPAUTH	"rspauth=ea40f60335c427b5527b84dbabcdfffd"

static struct sasl_client *digest_rfc(void);

/* DIGEST-MD5 client set up for the RFC 2831 example, before the challenge. */
static struct sasl_client *
digest_rfc(void)
{
	struct sasl_client	*c;
	unsigned char		*o;
	size_t			 ol;
	char			 err[128];

	c = sasl_client_new(SASL_MECH_DIGEST_MD5, "chris", "secret",
	    "elwood.innosoft.com", 0, err, sizeof(err));
	CHECK(c != NULL, "sasl_client_new: %s", err);
	CHECK(sasl_client_set_service(c, "imap") == 0, "set_service");
	CHECK(sasl_client_set_nonce(c, "OA6MHXh6VqTrRk") == 0, "set_nonce");
	CHECK(sasl_client_start(c, &o, &ol) == SASL_CONTINUE && o == NULL,
	    "DIGEST-MD5 must have no initial response");
	return c;
}

static void
test_digest_rfc2831(void **state UNUSED)
{
	struct sasl_client	*c = digest_rfc();

	su_expect_step(c, D2831_CHAL, SASL_CONTINUE, D2831_RESP);
	su_expect_step(c, D2831_RSPAUTH, SASL_CONTINUE, "");
	CHECK(sasl_client_success(c, NULL, 0) == SASL_DONE, "success: %s",
	    sasl_client_error(c));
	sasl_client_free(c);
	c = digest_rfc();
	su_expect_step(c, D2831_CHAL, SASL_CONTINUE, D2831_RESP);
	CHECK(sasl_client_success(c, (const unsigned char *)D2831_RSPAUTH,
	    strlen(D2831_RSPAUTH)) == SASL_DONE, "rspauth in success: %s",
	    sasl_client_error(c));
	sasl_client_free(c);
	c = digest_rfc();
	su_expect_step(c, D2831_CHAL, SASL_CONTINUE, D2831_RESP);
	CHECK(sasl_client_success(c, NULL, 0) == SASL_FAIL,
	    "success without rspauth accepted");
	sasl_client_free(c);
	c = digest_rfc();
	su_expect_step(c, D2831_CHAL, SASL_CONTINUE, D2831_RESP);
	su_expect_step(c, "rspauth=ea40f60335c427b5527b84dbabcdfff0", SASL_FAIL,
	    NULL);
	CHECK(strstr(sasl_client_error(c), "rspauth mismatch") != NULL,
	    "reason: %s", sasl_client_error(c));
	sasl_client_free(c);
}

static void
test_digest_challenge_parsing(void **state UNUSED)
{
	struct sasl_client	*c = digest_rfc();

	/* Spaces, empty elements, several realms, escapes, qop list. */
	su_expect_step(c, " realm=\"elwood.innosoft.com\", ,realm=\"other\", "
	    "nonce = \"OA6MG9tEQGm2\\hh\" , qop=\"auth-int, auth\", "
	    "maxbuf=65536, charset=UTF-8 , stale=false, "
	    "algorithm=\"md5-sess\", x-ext=\"a,\\\"b\"", SASL_CONTINUE,
	    D2831_RESP);
	sasl_client_free(c);
	c = digest_rfc();
	su_expect_step(c, "nonce=\"n\",algorithm=md5-sess", SASL_CONTINUE,
	    NULL);
	sasl_client_free(c);
}

static void
test_digest_malformed(void **state UNUSED)
{
	static const char *const bad[] = {
		"realm=\"r\",qop=\"auth\",algorithm=md5-sess",
		"nonce=\"n\",qop=\"auth\"",
		"nonce=\"n\",algorithm=md5",
		"nonce=\"n\",qop=\"auth-int,auth-conf\",algorithm=md5-sess",
		"nonce=\"n\",nonce=\"m\",algorithm=md5-sess",
		"nonce=\"n,algorithm=md5-sess",
		"nonce",
		"nonce=\"n\",algorithm=md5-sess,charset=iso-8859-1",
		"nonce=\"n\",algorithm=md5-sess,rspauth=00",
		"nonce=\"n\" x,algorithm=md5-sess",
		"=\"n\",algorithm=md5-sess",
		"nonce=,algorithm=md5-sess",
		"nonce=\"\",algorithm=md5-sess",
		"nonce=\"n\",algorithm=md5-sess,algorithm=md5-sess",
	};
	struct sasl_client	*c;
	char			*big;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = digest_rfc();
		su_expect_step(c, bad[i], SASL_FAIL, NULL);
		sasl_client_free(c);
	}
	big = malloc(2100);
	CHECK(big != NULL, "malloc");
	(void)memcpy(big, "nonce=\"", 7);
	(void)memset(big + 7, 'a', 2000);
	(void)strcpy(big + 2007, "\",algorithm=md5-sess");
	c = digest_rfc();
	su_expect_step(c, big, SASL_FAIL, NULL);
	sasl_client_free(c);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_rfc2831),
		cmocka_unit_test(test_digest_challenge_parsing),
		cmocka_unit_test(test_digest_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
