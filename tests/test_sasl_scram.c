/*
 * test_sasl_scram: the SCRAM client (proxy/sasl_scram.c): Hi() against
 * the PBKDF2 vectors of RFC 6070, the exchanges of RFC 5802 (SHA-1) and
 * RFC 7677 (SHA-256), a server that cannot prove the password, the
 * iteration cap, malformed server messages, saslname escaping and nonces,
 * and the Hi() result cache: what it keeps, for how long, and that a hit
 * gives the bytes a fresh derivation would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "sasl.h"
#include "saslutil.h"
#include "testutil.h"

/*
 * Hi() results the cache keeps (sasl.h), and the longest result it keeps
 * (HI_MAX in sasl_scram.c; SCRAM itself needs at most 32 bytes).
 */
#define HI_CACHED	64
#define HI_KEPTMAX	64

#define S5802_CNONCE	"fyko+d2lbbFgONRv9qkxdawL"
#define S5802_FIRST	"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j," \
			"s=QSXCR+Q6sek8bf92,i=4096"
#define S5802_FINAL	"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j," \
			"p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
#define S5802_V		"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="

static struct sasl_client *scram_at_final(enum sasl_mech, unsigned);
static void	 hi_expect(enum sasl_mech, const char *, const char *,
		    unsigned, size_t, int);
static void	 hi_nth(unsigned, int);

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
	    sasl_scram_cache_hits() == hits,
	    "SHA-256 served from SHA-1's entry");
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
	su_expect_step(c, S5802_FIRST, SASL_CONTINUE, S5802_FINAL);
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
	su_expect_step(c,
	    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
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
	su_expect_step(c, S5802_FIRST, SASL_CONTINUE, NULL);
	return c;
}

static void
test_scram_final_in_challenge(void **state UNUSED)
{
	struct sasl_client	*c = scram_at_final(SASL_MECH_SCRAM_SHA_1, 0);

	su_expect_step(c, S5802_V, SASL_CONTINUE, "");
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
	su_expect_step(c, "e=invalid-proof", SASL_FAIL, NULL);
	CHECK(strstr(sasl_client_error(c), "invalid-proof") != NULL,
	    "e= reason lost: %s", sasl_client_error(c));
	sasl_client_free(c);
	c = scram_at_final(SASL_MECH_SCRAM_SHA_1, 0);
	su_expect_step(c, "v=AAAA", SASL_FAIL, NULL);
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
	su_expect_step(c, S5802_FIRST, SASL_FAIL, NULL);
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
		su_expect_step(c, msg, SASL_FAIL, NULL);
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
		su_expect_step(c, bad[i], SASL_FAIL, NULL);
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

/*
 * Hi(pw, salt, iter) into outlen bytes through sasl_scram_hi(): the bytes
 * must be PBKDF2's, computed here by OpenSSL without the cache, nothing
 * past outlen may be written, and the call must have been a cache hit
 * (hit 1) or a miss (hit 0).
 */
static void
hi_expect(enum sasl_mech mech, const char *pw, const char *salt,
    unsigned iter, size_t outlen, int hit)
{
	unsigned char	 out[80], want[80];
	unsigned long	 hits = sasl_scram_cache_hits();
	const EVP_MD	*md = mech == SASL_MECH_SCRAM_SHA_1 ? EVP_sha1() :
			    EVP_sha256();

	CHECK(outlen < sizeof(out), "output of %zu bytes", outlen);
	CHECK(PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw),
	    (const unsigned char *)salt, (int)strlen(salt), (int)iter, md,
	    (int)outlen, want) == 1, "reference PBKDF2 failed");
	memset(out, 0xa5, sizeof(out));
	CHECK(sasl_scram_hi(mech, pw, strlen(pw), (const unsigned char *)salt,
	    strlen(salt), iter, out, outlen) == 0, "Hi(%s, %s, %u) failed",
	    pw, salt, iter);
	CHECK(memcmp(out, want, outlen) == 0, "Hi(%s, %s, %u), %zu bytes, "
	    "differs from PBKDF2", pw, salt, iter, outlen);
	CHECK(out[outlen] == 0xa5, "Hi(%s, %s, %u) wrote past %zu bytes", pw,
	    salt, iter, outlen);
	CHECK(sasl_scram_cache_hits() - hits == (unsigned long)hit,
	    "Hi(%s, %s, %u), %zu bytes: %lu cache hits, want %d", pw, salt,
	    iter, outlen, sasl_scram_cache_hits() - hits, hit);
}

/*
 * A repeat with the same inputs is a hit with the same bytes; any input
 * that differs (the mechanism, the output length, the count, the salt,
 * the password, or only where password ends and salt begins) is a miss;
 * results longer than the cache keeps are derived every time; and
 * sasl_scram_cache_clear() forgets everything.
 */
static void
test_hi_cache_repeat(void **state UNUSED)
{
	enum sasl_mech	s1 = SASL_MECH_SCRAM_SHA_1;
	enum sasl_mech	s256 = SASL_MECH_SCRAM_SHA_256;

	sasl_scram_cache_clear();
	hi_expect(s1, "pencil", "salt", 4096, 20, 0);
	hi_expect(s1, "pencil", "salt", 4096, 20, 1);
	hi_expect(s1, "pencil", "salt", 4096, 16, 0);
	hi_expect(s1, "pencil", "salt", 4096, 16, 1);
	hi_expect(s1, "pencil", "salt", 4095, 20, 0);
	hi_expect(s1, "pencil", "SALT", 4096, 20, 0);
	hi_expect(s1, "Pencil", "salt", 4096, 20, 0);
	hi_expect(s256, "pencil", "salt", 4096, 20, 0);
	hi_expect(s1, "pencils", "alt", 4096, 20, 0);
	hi_expect(s1, "pencil", "salt", 4096, 20, 1);
	hi_expect(s256, "pencil", "salt", 4096, HI_KEPTMAX + 1, 0);
	hi_expect(s256, "pencil", "salt", 4096, HI_KEPTMAX + 1, 0);
	hi_expect(s256, "pencil", "salt", 4096, HI_KEPTMAX, 0);
	hi_expect(s256, "pencil", "salt", 4096, HI_KEPTMAX, 1);
	sasl_scram_cache_clear();
	hi_expect(s1, "pencil", "salt", 4096, 20, 0);
	hi_expect(s1, "pencil", "salt", 4096, 20, 1);
	hi_expect(s256, "pencil", "salt", 4096, HI_KEPTMAX, 0);
}

/* Hi() of the n-th of many salts (SHA-256, one iteration): hit or miss. */
static void
hi_nth(unsigned n, int hit)
{
	char	salt[16];

	(void)snprintf(salt, sizeof(salt), "salt-%u", n);
	hi_expect(SASL_MECH_SCRAM_SHA_256, "pencil", salt, 1, 32, hit);
}

/*
 * The cache is bounded: it keeps the HI_CACHED most recently used
 * results, and a new one evicts the least recently used, a hit counting
 * as a use.
 */
static void
test_hi_cache_bounded(void **state UNUSED)
{
	unsigned	i;

	sasl_scram_cache_clear();
	for (i = 0; i < HI_CACHED; i++)
		hi_nth(i, 0);
	for (i = 0; i < HI_CACHED; i++)
		hi_nth(i, 1);
	/* One more evicts #0, whose return evicts #1, now the oldest. */
	hi_nth(HI_CACHED, 0);
	hi_nth(0, 0);
	for (i = 2; i <= HI_CACHED; i++)
		hi_nth(i, 1);
	hi_nth(0, 1);
	hi_nth(1, 0);
	/* #1 evicted #2; using #3 first makes #4 the next to go. */
	hi_nth(3, 1);
	hi_nth(2, 0);
	hi_nth(3, 1);
	hi_nth(4, 0);
	sasl_scram_cache_clear();
}

/*
 * Through the client: a second RFC 5802 exchange with the same password,
 * salt and count takes Hi() from the cache and sends the same proof; one
 * with another password misses and cannot verify the server's signature.
 */
static void
test_hi_cache_scram(void **state UNUSED)
{
	struct sasl_client	*c;
	unsigned char		*o;
	size_t			 ol;
	unsigned long		 hits;
	int			 round;

	sasl_scram_cache_clear();
	for (round = 0; round < 2; round++) {
		hits = sasl_scram_cache_hits();
		c = sasl_client_new(SASL_MECH_SCRAM_SHA_1, "user", "pencil",
		    NULL, 0, NULL, 0);
		CHECK(c != NULL && sasl_client_set_nonce(c, S5802_CNONCE) ==
		    0 && sasl_client_start(c, &o, &ol) == SASL_CONTINUE,
		    "setup");
		su_expect_step(c, S5802_FIRST, SASL_CONTINUE, S5802_FINAL);
		CHECK(sasl_client_success(c, (const unsigned char *)S5802_V,
		    strlen(S5802_V)) == SASL_DONE, "round %d: v= rejected: %s",
		    round, sasl_client_error(c));
		CHECK(sasl_scram_cache_hits() - hits == (unsigned long)round,
		    "round %d: %lu cache hits", round,
		    sasl_scram_cache_hits() - hits);
		sasl_client_free(c);
	}
	hits = sasl_scram_cache_hits();
	c = sasl_client_new(SASL_MECH_SCRAM_SHA_1, "user", "Pencil", NULL, 0,
	    NULL, 0);
	CHECK(c != NULL && sasl_client_set_nonce(c, S5802_CNONCE) == 0 &&
	    sasl_client_start(c, &o, &ol) == SASL_CONTINUE, "setup");
	su_expect_step(c, S5802_FIRST, SASL_CONTINUE, NULL);
	CHECK(sasl_scram_cache_hits() == hits,
	    "another password served from the cache");
	CHECK(sasl_client_success(c, (const unsigned char *)S5802_V,
	    strlen(S5802_V)) == SASL_FAIL &&
	    strstr(sasl_client_error(c), "signature") != NULL,
	    "the wrong password verified the server: %s",
	    sasl_client_error(c));
	sasl_client_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pbkdf2_rfc6070),
		cmocka_unit_test(test_scram_sha1_rfc5802),
		cmocka_unit_test(test_scram_sha256_rfc7677),
		cmocka_unit_test(test_scram_final_in_challenge),
		cmocka_unit_test(test_scram_bad_signature),
		cmocka_unit_test(test_scram_iteration_cap),
		cmocka_unit_test(test_scram_malformed),
		cmocka_unit_test(test_scram_names_and_nonce),
		cmocka_unit_test(test_hi_cache_repeat),
		cmocka_unit_test(test_hi_cache_bounded),
		cmocka_unit_test(test_hi_cache_scram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
