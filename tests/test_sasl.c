/*
 * test_sasl: unit tests of the SASL client (proxy/sasl.c, sasl_scram.c,
 * sasl_digest.c) against the RFC examples (RFC 4648, 5802, 6070, 7677,
 * 2831) and hostile or malformed server messages. The DIGEST-MD5 server
 * helper is tested in test_sasl_digestsrv.c.
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
#include "testutil.h"

#define S5802_CNONCE	"fyko+d2lbbFgONRv9qkxdawL"
#define S5802_FIRST	"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j," \
			"s=QSXCR+Q6sek8bf92,i=4096"
#define S5802_FINAL	"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j," \
			"p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
#define S5802_V		"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="

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

static void	 expect_step(struct sasl_client *, const char *, int,
		    const char *);
static struct sasl_client *scram_at_final(enum sasl_mech, unsigned);
static struct sasl_client *digest_rfc(void);

/* Feed challenge s; check the result and, for CONTINUE, the output. */
static void
expect_step(struct sasl_client *c, const char *s, int want, const char *out)
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
	CHECK(o != NULL, "CONTINUE without output buffer");
	if (out != NULL)
		CHECK(ol == strlen(out) && memcmp(o, out, ol) == 0,
		    "step output %.*s, want %s", (int)ol, o, out);
}

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
test_pbkdf2_rfc6070(void **state UNUSED)
{
	static const struct {
		const char	*p, *s;
		size_t		 plen, slen;
		unsigned	 c;
		size_t		 dklen;
		const char	*hex;
	} v[] = {
		{ "password", "salt", 8, 4, 1, 20,
		  "0c60c80f961f0e71f3a9b524af6012062fe037a6" },
		{ "password", "salt", 8, 4, 2, 20,
		  "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957" },
		{ "password", "salt", 8, 4, 4096, 20,
		  "4b007901b765489abead49d926f721d065a429c1" },
		{ "passwordPASSWORDpassword",
		  "saltSALTsaltSALTsaltSALTsaltSALTsalt", 24, 36, 4096, 25,
		  "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038" },
		{ "pass\0word", "sa\0lt", 9, 5, 4096, 16,
		  "56fa6aa75548099dcc37d7f03425e0c3" },
	};
	unsigned char	out[32];
	char		hex[65];
	size_t		i, j;
	unsigned long	hits;
	int		round;

	/*
	 * Twice: the second round is served by the Hi() cache and must give
	 * the same vectors (and count as hits); inputs that differ only in
	 * length (the NUL vector) must not collide with their prefixes.
	 */
	sasl_scram_cache_clear();
	for (round = 0; round < 2; round++) {
		hits = sasl_scram_cache_hits();
		for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
			memset(out, 0, sizeof(out));
			CHECK(sasl_scram_hi(SASL_MECH_SCRAM_SHA_1, v[i].p,
			    v[i].plen, (const unsigned char *)v[i].s,
			    v[i].slen, v[i].c, out, v[i].dklen) == 0,
			    "Hi failed for vector %zu", i);
			for (j = 0; j < v[i].dklen; j++)
				(void)snprintf(hex + 2 * j, 3, "%02x", out[j]);
			CHECK(strcmp(hex, v[i].hex) == 0, "round %d vector "
			    "%zu: %s, want %s", round, i, hex, v[i].hex);
		}
		CHECK(sasl_scram_cache_hits() - hits == (round == 0 ? 0 :
		    sizeof(v) / sizeof(v[0])), "round %d: %lu cache hits",
		    round, sasl_scram_cache_hits() - hits);
	}
	/* Another mechanism with the same inputs is another entry. */
	hits = sasl_scram_cache_hits();
	CHECK(sasl_scram_hi(SASL_MECH_SCRAM_SHA_256, "password", 8,
	    (const unsigned char *)"salt", 4, 1, out, 20) == 0 &&
	    sasl_scram_cache_hits() == hits, "SHA-256 served from SHA-1's entry");
	CHECK(sasl_scram_hi(SASL_MECH_SCRAM_SHA_1, "p", 1,
	    (const unsigned char *)"s", 1, 0, out, 20) == -1,
	    "Hi accepted 0 iterations");
	CHECK(sasl_scram_hi(SASL_MECH_PLAIN, "p", 1,
	    (const unsigned char *)"s", 1, 1, out, 20) == -1,
	    "Hi accepted a non-SCRAM mechanism");
}

static void
test_scram_sha1_rfc5802(void **state UNUSED)
{
	struct sasl_client	*c;
	unsigned char		*o;
	size_t			 ol;
	char			 err[128];

	c = sasl_client_new(SASL_MECH_SCRAM_SHA_1, "user", "pencil", NULL,
	    0, err, sizeof(err));
	CHECK(c != NULL, "sasl_client_new: %s", err);
	CHECK(sasl_client_set_nonce(c, S5802_CNONCE) == 0, "set_nonce");
	CHECK(sasl_client_start(c, &o, &ol) == SASL_CONTINUE, "start");
	CHECK(ol == strlen("n,,n=user,r=" S5802_CNONCE) &&
	    memcmp(o, "n,,n=user,r=" S5802_CNONCE, ol) == 0,
	    "client-first %.*s", (int)ol, o);
	expect_step(c, S5802_FIRST, SASL_CONTINUE, S5802_FINAL);
	CHECK(sasl_client_success(c, (const unsigned char *)S5802_V,
	    strlen(S5802_V)) == SASL_DONE, "v= rejected: %s",
	    sasl_client_error(c));
	CHECK(sasl_client_success(c, NULL, 0) == SASL_FAIL,
	    "second success accepted");
	sasl_client_free(c);
}

static void
test_scram_sha256_rfc7677(void **state UNUSED)
{
	struct sasl_client	*c;
	unsigned char		*o;
	size_t			 ol;
	const char		*v =
	    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

	c = sasl_client_new(SASL_MECH_SCRAM_SHA_256, "user", "pencil", NULL,
	    4096, NULL, 0);
	CHECK(c != NULL, "sasl_client_new failed");
	CHECK(sasl_client_set_nonce(c, "rOprNGfwEbeRWgbNEkqO") == 0,
	    "set_nonce");
	CHECK(sasl_client_start(c, &o, &ol) == SASL_CONTINUE, "start");
	CHECK(ol == strlen("n,,n=user,r=rOprNGfwEbeRWgbNEkqO") &&
	    memcmp(o, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", ol) == 0,
	    "client-first %.*s", (int)ol, o);
	expect_step(c, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	    "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", SASL_CONTINUE,
	    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
	CHECK(sasl_client_success(c, (const unsigned char *)v, strlen(v)) ==
	    SASL_DONE, "v= rejected: %s", sasl_client_error(c));
	sasl_client_free(c);
}

/* A SCRAM-SHA-1 client past the RFC 5802 server-first message. */
static struct sasl_client *
scram_at_final(enum sasl_mech mech, unsigned maxiter)
{
	struct sasl_client	*c;
	unsigned char		*o;
	size_t			 ol;

	c = sasl_client_new(mech, "user", "pencil", NULL, maxiter, NULL, 0);
	CHECK(c != NULL, "sasl_client_new failed");
	CHECK(sasl_client_set_nonce(c, S5802_CNONCE) == 0, "set_nonce");
	CHECK(sasl_client_start(c, &o, &ol) == SASL_CONTINUE, "start");
	expect_step(c, S5802_FIRST, SASL_CONTINUE, NULL);
	return c;
}

static void
test_scram_final_in_challenge(void **state UNUSED)
{
	struct sasl_client	*c = scram_at_final(SASL_MECH_SCRAM_SHA_1, 0);

	expect_step(c, S5802_V, SASL_CONTINUE, "");
	CHECK(sasl_client_success(c, NULL, 0) == SASL_DONE,
	    "success after verified challenge: %s", sasl_client_error(c));
	sasl_client_free(c);
}

static void
test_scram_bad_signature(void **state UNUSED)
{
	struct sasl_client	*c;
	const char		*bad = "v=rmF9pqV8S7suAoZWja4dJRkFsKA=";

	c = scram_at_final(SASL_MECH_SCRAM_SHA_1, 0);
	CHECK(sasl_client_success(c, (const unsigned char *)bad,
	    strlen(bad)) == SASL_FAIL, "wrong server signature accepted");
	CHECK(strstr(sasl_client_error(c), "signature") != NULL,
	    "reason: %s", sasl_client_error(c));
	CHECK(sasl_client_success(c, (const unsigned char *)S5802_V,
	    strlen(S5802_V)) == SASL_FAIL, "failed client recovered");
	sasl_client_free(c);
	c = scram_at_final(SASL_MECH_SCRAM_SHA_1, 0);
	CHECK(sasl_client_success(c, NULL, 0) == SASL_FAIL,
	    "success without v= accepted");
	sasl_client_free(c);
	c = scram_at_final(SASL_MECH_SCRAM_SHA_1, 0);
	expect_step(c, "e=invalid-proof", SASL_FAIL, NULL);
	CHECK(strstr(sasl_client_error(c), "invalid-proof") != NULL,
	    "e= reason lost: %s", sasl_client_error(c));
	sasl_client_free(c);
	c = scram_at_final(SASL_MECH_SCRAM_SHA_1, 0);
	expect_step(c, "v=AAAA", SASL_FAIL, NULL);
	sasl_client_free(c);
}

static void
test_scram_iteration_cap(void **state UNUSED)
{
	static const char *const bad[] = {
		"i=4097", "i=0", "i=-1", "i=0100", "i=", "i=12a",
		"i=99999999999999999999999999",
	};
	struct sasl_client	*c;
	unsigned char		*o;
	size_t			 ol, i;
	char			 msg[128];

	c = sasl_client_new(SASL_MECH_SCRAM_SHA_1, "user", "pencil", NULL,
	    4095, NULL, 0);
	CHECK(c != NULL && sasl_client_set_nonce(c, S5802_CNONCE) == 0 &&
	    sasl_client_start(c, &o, &ol) == SASL_CONTINUE, "setup");
	expect_step(c, S5802_FIRST, SASL_FAIL, NULL);
	CHECK(strstr(sasl_client_error(c), "4096 exceeds the limit 4095") !=
	    NULL, "reason: %s", sasl_client_error(c));
	sasl_client_free(c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = sasl_client_new(SASL_MECH_SCRAM_SHA_1, "user", "pencil",
		    NULL, 4096, NULL, 0);
		CHECK(c != NULL && sasl_client_set_nonce(c, "abc") == 0 &&
		    sasl_client_start(c, &o, &ol) == SASL_CONTINUE, "setup");
		(void)snprintf(msg, sizeof(msg), "r=abcdef,s=QSXCR+Q6sek8bf92,"
		    "%s", bad[i]);
		expect_step(c, msg, SASL_FAIL, NULL);
		sasl_client_free(c);
	}
}

static void
test_scram_malformed(void **state UNUSED)
{
	static const char *const bad[] = {
		"r=XXXX+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4096",
		"r=" S5802_CNONCE ",s=QSXCR+Q6sek8bf92,i=4096",
		"r=fyko+d2lbbFgONRv9qkxdawLx,i=4096",
		"r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXC*,i=4096",
		"r=fyko+d2lbbFgONRv9qkxdawLx,s=,i=4096",
		"r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92",
		"m=ext,r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=1",
		"s=QSXCR+Q6sek8bf92,r=fyko+d2lbbFgONRv9qkxdawLx,i=4096",
		"e=other-error", "", "garbage",
	};
	struct sasl_client	*c;
	unsigned char		*o;
	size_t			 ol, i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = sasl_client_new(SASL_MECH_SCRAM_SHA_256, "user", "pencil",
		    NULL, 0, NULL, 0);
		CHECK(c != NULL && sasl_client_set_nonce(c, S5802_CNONCE) ==
		    0 && sasl_client_start(c, &o, &ol) == SASL_CONTINUE,
		    "setup");
		expect_step(c, bad[i], SASL_FAIL, NULL);
		sasl_client_free(c);
	}
	c = sasl_client_new(SASL_MECH_SCRAM_SHA_1, "user", "pencil", NULL, 0,
	    NULL, 0);
	CHECK(c != NULL && sasl_client_start(c, &o, &ol) == SASL_CONTINUE,
	    "setup");
	CHECK(sasl_client_success(c, (const unsigned char *)S5802_V,
	    strlen(S5802_V)) == SASL_FAIL, "success before client-final");
	sasl_client_free(c);
	c = scram_at_final(SASL_MECH_SCRAM_SHA_1, 0);
	CHECK(sasl_client_step(c, (const unsigned char *)"v=\0", 3, &o,
	    &ol) == SASL_FAIL, "NUL in server-final accepted");
	sasl_client_free(c);
}

static void
test_scram_names_and_nonce(void **state UNUSED)
{
	struct sasl_client	*a, *b;
	unsigned char		*o;
	size_t			 ol;
	char			 first[64];

	a = sasl_client_new(SASL_MECH_SCRAM_SHA_1, "a,b=c", "pw", NULL, 0,
	    NULL, 0);
	CHECK(a != NULL && sasl_client_set_nonce(a, "xyz") == 0 &&
	    sasl_client_start(a, &o, &ol) == SASL_CONTINUE, "setup");
	CHECK(ol == strlen("n,,n=a=2Cb=3Dc,r=xyz") &&
	    memcmp(o, "n,,n=a=2Cb=3Dc,r=xyz", ol) == 0,
	    "saslname escaping: %.*s", (int)ol, o);
	CHECK(sasl_client_set_nonce(a, "late") == -1,
	    "nonce accepted after start");
	sasl_client_free(a);
	a = sasl_client_new(SASL_MECH_SCRAM_SHA_1, "u", "pw", NULL, 0, NULL,
	    0);
	b = sasl_client_new(SASL_MECH_SCRAM_SHA_1, "u", "pw", NULL, 0, NULL,
	    0);
	CHECK(a != NULL && b != NULL, "sasl_client_new failed");
	CHECK(sasl_client_set_nonce(a, "a,b") == -1 &&
	    sasl_client_set_nonce(a, "") == -1, "bad nonce accepted");
	CHECK(sasl_client_start(a, &o, &ol) == SASL_CONTINUE && ol == 33,
	    "random nonce client-first has length %zu", ol);
	(void)memcpy(first, o, ol);
	CHECK(sasl_client_start(b, &o, &ol) == SASL_CONTINUE && ol == 33 &&
	    memcmp(first, o, ol) != 0, "two random nonces are equal");
	sasl_client_free(a);
	sasl_client_free(b);
}

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

	expect_step(c, D2831_CHAL, SASL_CONTINUE, D2831_RESP);
	expect_step(c, D2831_RSPAUTH, SASL_CONTINUE, "");
	CHECK(sasl_client_success(c, NULL, 0) == SASL_DONE, "success: %s",
	    sasl_client_error(c));
	sasl_client_free(c);
	c = digest_rfc();
	expect_step(c, D2831_CHAL, SASL_CONTINUE, D2831_RESP);
	CHECK(sasl_client_success(c, (const unsigned char *)D2831_RSPAUTH,
	    strlen(D2831_RSPAUTH)) == SASL_DONE, "rspauth in success: %s",
	    sasl_client_error(c));
	sasl_client_free(c);
	c = digest_rfc();
	expect_step(c, D2831_CHAL, SASL_CONTINUE, D2831_RESP);
	CHECK(sasl_client_success(c, NULL, 0) == SASL_FAIL,
	    "success without rspauth accepted");
	sasl_client_free(c);
	c = digest_rfc();
	expect_step(c, D2831_CHAL, SASL_CONTINUE, D2831_RESP);
	expect_step(c, "rspauth=ea40f60335c427b5527b84dbabcdfff0", SASL_FAIL,
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
	expect_step(c, " realm=\"elwood.innosoft.com\", ,realm=\"other\", "
	    "nonce = \"OA6MG9tEQGm2\\hh\" , qop=\"auth-int, auth\", "
	    "maxbuf=65536, charset=UTF-8 , stale=false, "
	    "algorithm=\"md5-sess\", x-ext=\"a,\\\"b\"", SASL_CONTINUE,
	    D2831_RESP);
	sasl_client_free(c);
	c = digest_rfc();
	expect_step(c, "nonce=\"n\",algorithm=md5-sess", SASL_CONTINUE,
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
		expect_step(c, bad[i], SASL_FAIL, NULL);
		sasl_client_free(c);
	}
	big = malloc(2100);
	CHECK(big != NULL, "malloc");
	(void)memcpy(big, "nonce=\"", 7);
	(void)memset(big + 7, 'a', 2000);
	(void)strcpy(big + 2007, "\",algorithm=md5-sess");
	c = digest_rfc();
	expect_step(c, big, SASL_FAIL, NULL);
	sasl_client_free(c);
	free(big);
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
	expect_step(c, "x", SASL_FAIL, NULL);
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
		cmocka_unit_test(test_pbkdf2_rfc6070),
		cmocka_unit_test(test_scram_sha1_rfc5802),
		cmocka_unit_test(test_scram_sha256_rfc7677),
		cmocka_unit_test(test_scram_final_in_challenge),
		cmocka_unit_test(test_scram_bad_signature),
		cmocka_unit_test(test_scram_iteration_cap),
		cmocka_unit_test(test_scram_malformed),
		cmocka_unit_test(test_scram_names_and_nonce),
		cmocka_unit_test(test_digest_rfc2831),
		cmocka_unit_test(test_digest_challenge_parsing),
		cmocka_unit_test(test_digest_malformed),
		cmocka_unit_test(test_plain_and_new),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
