/*
 * test_sasl: unit tests of the SASL client core (proxy/sasl.c): base64
 * (RFC 4648 and the firmware's short padding), the choice of mechanism,
 * PLAIN (RFC 4616) and sasl_client_new()'s refusals. The mechanisms have
 * their own tests: test_sasl_scram.c, test_sasl_digest.c and, for the
 * DIGEST-MD5 server helper, test_sasl_digestsrv.c.
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

static void
test_b64_vectors(void **state UNUSED)
{
	static const char *const v[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	unsigned char	 dec[16];
	char		 enc[16];
	size_t		 i, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CHECK(sasl_b64_encode(v[i][0], strlen(v[i][0]), enc,
		    sizeof(enc)) == 0, "encode %s failed", v[i][0]);
		CHECK(strcmp(enc, v[i][1]) == 0, "encode %s gave %s",
		    v[i][0], enc);
		CHECK(sasl_b64_decode(v[i][1], strlen(v[i][1]), dec,
		    sizeof(dec), &n) == 0, "decode %s failed", v[i][1]);
		CHECK(n == strlen(v[i][0]) && memcmp(dec, v[i][0], n) == 0,
		    "decode %s gave wrong bytes", v[i][1]);
	}
	CHECK(sasl_b64_encode("foo", 3, enc, 4) == -1,
	    "encode into a buffer without room for the NUL succeeded");
	CHECK(sasl_b64_decode("Zm9vYmFy", 8, dec, 5, &n) == -1,
	    "decode into a short buffer succeeded");
}

static void
test_b64_roundtrip(void **state UNUSED)
{
	unsigned char	 in[100], dec[110];
	char		 enc[140];
	size_t		 len, i, n;
	uint32_t	 x = 12345;

	for (len = 0; len <= sizeof(in); len++) {
		for (i = 0; i < len; i++) {
			x = x * 1103515245 + 12345;
			in[i] = (unsigned char)(x >> 16);
		}
		CHECK(sasl_b64_encode(in, len, enc, sizeof(enc)) == 0,
		    "encode of %zu bytes failed", len);
		CHECK(strlen(enc) == sasl_b64_enclen(len),
		    "encoded length %zu for %zu bytes", strlen(enc), len);
		CHECK(sasl_b64_decode(enc, strlen(enc), dec, sizeof(dec),
		    &n) == 0 && n == len && memcmp(dec, in, len) == 0,
		    "strict round trip of %zu bytes failed", len);
		CHECK(sasl_b64_decode_lenient(enc, strlen(enc), dec,
		    sizeof(dec), &n) == 0 && n == len &&
		    memcmp(dec, in, len) == 0,
		    "lenient round trip of %zu bytes failed", len);
	}
}

static void
test_b64_strict_rejects(void **state UNUSED)
{
	static const char *const bad[] = {
		"Zm9", "Zm9v=", "Zg=", "Z===", "Zm 9v", "Zm9v\n", "Zm=v",
		"Zg==Zg==", "Zm9*", "====", "Zm9-", "Zm9_",
	};
	unsigned char	dec[16];
	size_t		i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(sasl_b64_decode(bad[i], strlen(bad[i]), dec,
		    sizeof(dec), &n) == -1, "strict decoder accepted \"%s\"",
		    bad[i]);
	CHECK(sasl_b64_decode("Zm\0v", 4, dec, sizeof(dec), &n) == -1,
	    "strict decoder accepted a NUL");
}

static void
test_b64_lenient_repair(void **state UNUSED)
{
	static const char *const good[][3] = {
		{ "Zg=", "f", "Zg==" }, { "Zg", "f", "Zg==" },
		{ "Zm8", "fo", "Zm8=" }, { "Zm9vYg=", "foob", "Zm9vYg==" },
		{ "Zm9vYmE=", "fooba", "Zm9vYmE=" },
	};
	static const char *const bad[] = {
		"Zm8==", "Zm9v=", "Z", "Zm9vY", "Zm9vY=", "Zm*v", "Z=g=",
	};
	unsigned char	 dec[16];
	char		 enc[16];
	size_t		 i, n;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CHECK(sasl_b64_decode_lenient(good[i][0], strlen(good[i][0]),
		    dec, sizeof(dec), &n) == 0, "lenient rejected %s",
		    good[i][0]);
		CHECK(n == strlen(good[i][1]) &&
		    memcmp(dec, good[i][1], n) == 0,
		    "lenient %s decoded wrongly", good[i][0]);
		CHECK(sasl_b64_encode(dec, n, enc, sizeof(enc)) == 0 &&
		    strcmp(enc, good[i][2]) == 0, "repair of %s gave %s",
		    good[i][0], enc);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(sasl_b64_decode_lenient(bad[i], strlen(bad[i]), dec,
		    sizeof(dec), &n) == -1, "lenient accepted \"%s\"", bad[i]);
	CHECK(sasl_b64_decode("Zm9vYg=", 7, dec, sizeof(dec), &n) == -1,
	    "strict decoder accepted the firmware's short padding");
}

static void
test_mech_choose(void **state UNUSED)
{
	const char *all[] = { "PLAIN", "DIGEST-MD5", "SCRAM-SHA-1",
	    "SCRAM-SHA-256", "CRAM-MD5" };
	const char *weak[] = { "ANONYMOUS", "CRAM-MD5", "PLAIN" };
	const char *mid[] = { "plain", "digest-md5", NULL, "X-OAUTH2" };
	const char *plus[] = { "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1" };

	CHECK(sasl_choose(all, 5, 1) == SASL_MECH_SCRAM_SHA_256,
	    "SCRAM-SHA-256 not preferred");
	CHECK(sasl_choose(all + 1, 2, 0) == SASL_MECH_SCRAM_SHA_1,
	    "SCRAM-SHA-1 not preferred over DIGEST-MD5");
	CHECK(sasl_choose(mid, 4, 1) == SASL_MECH_DIGEST_MD5,
	    "DIGEST-MD5 not preferred over PLAIN (case-insensitive)");
	CHECK(sasl_choose(weak, 3, 1) == SASL_MECH_PLAIN,
	    "PLAIN not chosen when allowed");
	CHECK(sasl_choose(weak, 3, 0) == SASL_MECH_NONE,
	    "CRAM-MD5/ANONYMOUS or refused PLAIN chosen");
	CHECK(sasl_choose(plus, 2, 0) == SASL_MECH_SCRAM_SHA_1,
	    "-PLUS variant confused with the plain one");
	CHECK(sasl_choose(NULL, 0, 1) == SASL_MECH_NONE, "empty list");
	CHECK(strcmp(sasl_mech_name(SASL_MECH_SCRAM_SHA_256),
	    "SCRAM-SHA-256") == 0, "name table wrong");
	CHECK(sasl_mech_name(SASL_MECH_NONE) == NULL, "NONE has a name");
	CHECK(sasl_mech_byname("Scram-Sha-1") == SASL_MECH_SCRAM_SHA_1 &&
	    sasl_mech_byname("CRAM-MD5") == SASL_MECH_NONE,
	    "sasl_mech_byname wrong");
}

static void
test_plain_and_new(void **state UNUSED)
{
	struct sasl_client	*c;
	unsigned char		*o;
	size_t			 ol;
	char			 err[128];

	c = sasl_client_new(SASL_MECH_PLAIN, "user", "pencil", "d", 0, err,
	    sizeof(err));
	CHECK(c != NULL, "sasl_client_new: %s", err);
	CHECK(sasl_client_start(c, &o, &ol) == SASL_CONTINUE && ol == 12 &&
	    memcmp(o, "\0user\0pencil", 12) == 0, "PLAIN initial response");
	CHECK(sasl_client_success(c, NULL, 0) == SASL_DONE, "PLAIN success");
	sasl_client_free(c);
	c = sasl_client_new(SASL_MECH_PLAIN, "user", "pencil", NULL, 0, NULL,
	    0);
	CHECK(c != NULL && sasl_client_start(c, &o, &ol) == SASL_CONTINUE,
	    "setup");
	su_expect_step(c, "x", SASL_FAIL, NULL);
	sasl_client_free(c);
	err[0] = '\0';
	CHECK(sasl_client_new(SASL_MECH_NONE, "u", "p", NULL, 0, err,
	    sizeof(err)) == NULL && err[0] != '\0', "NONE accepted");
	CHECK(sasl_client_new(SASL_MECH_PLAIN, "", "p", NULL, 0, err,
	    sizeof(err)) == NULL, "empty username accepted");
	CHECK(sasl_client_new(SASL_MECH_DIGEST_MD5, "u", "p", NULL, 0, err,
	    sizeof(err)) == NULL && strstr(err, "domain") != NULL,
	    "DIGEST-MD5 without domain accepted");
	CHECK(sasl_client_new(SASL_MECH_PLAIN, "u", NULL, NULL, 0, NULL,
	    0) == NULL, "NULL password accepted");
	sasl_client_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_vectors),
		cmocka_unit_test(test_b64_roundtrip),
		cmocka_unit_test(test_b64_strict_rejects),
		cmocka_unit_test(test_b64_lenient_repair),
		cmocka_unit_test(test_mech_choose),
		cmocka_unit_test(test_plain_and_new),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
