/*
 * test_sasl_scram: the SCRAM client (proxy/sasl_scram.c): Hi() against
 * the PBKDF2 vectors of RFC 6070, the exchanges of RFC 5802 (SHA-1) and
 * RFC 7677 (SHA-256), a server that cannot prove the password, the
 * iteration cap, malformed server messages, saslname escaping and nonces,
 * the Hi() result cache (only keys the server confirmed, as many as
 * there are accounts, hits give the bytes a fresh derivation would) and
 * the asynchronous derivation (PENDING, kdf, resume).
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
#include <openssl/hmac.h>

#include "sasl.h"
#include "saslutil.h"
#include "testutil.h"

#define S5802_CNONCE	"fyko+d2lbbFgONRv9qkxdawL"
#define S5802_FIRST	"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j," \
			"s=QSXCR+Q6sek8bf92,i=4096"
#define S5802_FINAL	"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j," \
			"p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
#define S5802_V		"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="

static struct sasl_client *scram_at_final(enum sasl_mech, unsigned);

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
		/* Hi() alone never fills the cache: only a verified server. */
		CHECK(sasl_scram_cache_hits() == hits, "round %d: %lu cache "
		    "hits", round, sasl_scram_cache_hits() - hits);
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
		"i=4097", "i=0", "i=-1", "i=0100", "i=", "i=12a", "i=4095",
		"i=1",
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
	c = sasl_client_new(SASL_MECH_SCRAM_SHA_1, "user", "pencil", NULL,
	    4096, NULL, 0);
	CHECK(c != NULL && sasl_client_set_nonce(c, "abc") == 0 &&
	    sasl_client_start(c, &o, &ol) == SASL_CONTINUE, "setup");
	su_expect_step(c, "r=abcdef,s=QSXCR+Q6sek8bf92,i=4095", SASL_FAIL,
	    NULL);
	CHECK(strstr(sasl_client_error(c), "4095 is below the minimum 4096")
	    != NULL, "reason: %s", sasl_client_error(c));
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
 * A SCRAM server for the tests: knows `pw` (salt, iter), answers the
 * client's first message with a server-first, checks the client's proof
 * and gives the server-final "v=...". SHA-1 or SHA-256.
 */
struct tsrv {
	enum sasl_mech	 mech;
	const char	*pw, *salt;
	unsigned	 iter;
	char		 first[512];	/* server-first-message */
	char		 cbare[256];	/* client-first-message-bare */
};

static void
tsrv_first(struct tsrv *t, const unsigned char *cfirst, size_t len)
{
	char	salt64[128];

	CHECK(len > 3 && len < sizeof(t->cbare) + 3, "client-first of %zu",
	    len);
	memcpy(t->cbare, cfirst + 3, len - 3);		/* past "n,," */
	t->cbare[len - 3] = '\0';
	CHECK(sasl_b64_encode(t->salt, strlen(t->salt), salt64,
	    sizeof(salt64)) == 0, "salt");
	(void)snprintf(t->first, sizeof(t->first), "r=%sSRV,s=%s,i=%u",
	    strstr(t->cbare, "r=") + 2, salt64, t->iter);
}

/* The server-final for the client-final `cfinal` (its proof unchecked). */
static void
tsrv_final(struct tsrv *t, const unsigned char *cfinal, size_t len,
    char *out, size_t cap)
{
	const EVP_MD	*md = t->mech == SASL_MECH_SCRAM_SHA_1 ? EVP_sha1() :
			    EVP_sha256();
	unsigned char	 salted[64], skey[64], sig[64];
	char		 am[1024], sig64[128];
	const char	*p;
	unsigned	 hl = (unsigned)EVP_MD_get_size(md), l;

	p = memmem(cfinal, len, ",p=", 3);
	CHECK(p != NULL, "client-final without a proof");
	(void)snprintf(am, sizeof(am), "%s,%s,%.*s", t->cbare, t->first,
	    (int)(p - (const char *)cfinal), (const char *)cfinal);
	CHECK(PKCS5_PBKDF2_HMAC(t->pw, (int)strlen(t->pw),
	    (const unsigned char *)t->salt, (int)strlen(t->salt),
	    (int)t->iter, md, (int)hl, salted) == 1 &&
	    HMAC(md, salted, (int)hl, (const unsigned char *)"Server Key", 10,
	    skey, &l) != NULL && HMAC(md, skey, (int)hl,
	    (const unsigned char *)am, strlen(am), sig, &l) != NULL &&
	    sasl_b64_encode(sig, hl, sig64, sizeof(sig64)) == 0,
	    "server signature");
	(void)snprintf(out, cap, "v=%s", sig64);
}

/*
 * One exchange of `user` with password `pw` against a server that knows
 * t->pw; async: Hi() through kdf()/resume(). Returns 1 if the client
 * accepted the server (SASL_DONE), and sets *pending if step() waited.
 */
static int
exchange(struct tsrv *t, const char *pw, int async, int *pending)
{
	struct sasl_client	*c;
	struct sasl_kdf		 k;
	unsigned char		*o, key[64];
	size_t			 ol;
	char			 fin[256];
	int			 r, done;

	c = sasl_client_new(t->mech, "user", pw, NULL, 0, NULL, 0);
	CHECK(c != NULL && sasl_client_start(c, &o, &ol) == SASL_CONTINUE,
	    "setup");
	sasl_client_set_async(c, async);
	tsrv_first(t, o, ol);
	r = sasl_client_step(c, (const unsigned char *)t->first,
	    strlen(t->first), &o, &ol);
	*pending = r == SASL_PENDING;
	if (r == SASL_PENDING) {
		CHECK(o == NULL && ol == 0, "output while pending");
		CHECK(sasl_client_kdf(c, &k) == 0, "no kdf inputs");
		CHECK(k.pwlen == strlen(pw) && memcmp(k.password, pw,
		    k.pwlen) == 0 && k.saltlen == strlen(t->salt) &&
		    memcmp(k.salt, t->salt, k.saltlen) == 0 &&
		    k.iterations == t->iter, "kdf inputs");
		CHECK(PKCS5_PBKDF2_HMAC(k.password, (int)k.pwlen, k.salt,
		    (int)k.saltlen, (int)k.iterations, strcmp(k.md, "SHA1") ?
		    EVP_sha256() : EVP_sha1(), (int)k.outlen, key) == 1,
		    "PBKDF2");
		r = sasl_client_resume(c, key, k.outlen, &o, &ol);
	}
	CHECK(r == SASL_CONTINUE, "step: %d %s", r, sasl_client_error(c));
	tsrv_final(t, o, ol, fin, sizeof(fin));
	done = sasl_client_success(c, (const unsigned char *)fin,
	    strlen(fin)) == SASL_DONE;
	sasl_client_free(c);
	return done;
}

/*
 * Only keys the server confirmed enter the cache: a wrong password (the
 * server's signature does not verify) leaves nothing, so a repeat misses
 * again; the right one is a hit the second time, async or not.
 */
static void
test_hi_cache_verified_only(void **state UNUSED)
{
	struct tsrv	t = { SASL_MECH_SCRAM_SHA_256, "right", "NaCl", 64,
			    "", "" };
	unsigned long	hits;
	int		pending;

	sasl_scram_cache_clear();
	sasl_scram_set_min_iterations(1);	/* fast PBKDF2 for the test */
	hits = sasl_scram_cache_hits();
	CHECK(!exchange(&t, "wrong", 0, &pending), "wrong password verified");
	CHECK(!exchange(&t, "wrong", 1, &pending) && pending,
	    "a wrong password's key was cached");
	CHECK(sasl_scram_cache_hits() == hits, "hits from a wrong password");
	CHECK(exchange(&t, "right", 1, &pending) && pending, "first login");
	CHECK(exchange(&t, "right", 1, &pending) && !pending,
	    "second login not served from the cache");
	CHECK(exchange(&t, "right", 0, &pending), "sync login");
	CHECK(sasl_scram_cache_hits() - hits == 2, "%lu hits",
	    sasl_scram_cache_hits() - hits);
	t.mech = SASL_MECH_SCRAM_SHA_1;
	CHECK(exchange(&t, "right", 1, &pending) && pending,
	    "SHA-1 served from SHA-256's entry");
	sasl_scram_cache_clear();
	t.mech = SASL_MECH_SCRAM_SHA_256;
	CHECK(exchange(&t, "right", 1, &pending) && pending,
	    "served after cache_clear");
	sasl_scram_set_min_iterations(0);
}

/*
 * As many accounts as a community server has rabbits stay cached: 2000
 * logins, then every one again from the cache (the old cache kept 64).
 */
static void
test_hi_cache_many(void **state UNUSED)
{
	struct tsrv	t = { SASL_MECH_SCRAM_SHA_1, NULL, "salt", 1, "", "" };
	char		pw[32];
	unsigned	i, misses = 0;
	int		pending;

	sasl_scram_cache_clear();
	sasl_scram_set_min_iterations(1);	/* fast PBKDF2 for the test */
	for (i = 0; i < 2000; i++) {
		(void)snprintf(pw, sizeof(pw), "pw-%u", i);
		t.pw = pw;
		CHECK(exchange(&t, pw, 1, &pending) && pending, "login %u", i);
	}
	for (i = 0; i < 2000; i++) {
		(void)snprintf(pw, sizeof(pw), "pw-%u", i);
		t.pw = pw;
		CHECK(exchange(&t, pw, 1, &pending), "again %u", i);
		misses += pending;
	}
	CHECK(misses == 0, "%u of 2000 accounts fell out of the cache",
	    misses);
	sasl_scram_cache_clear();
	sasl_scram_set_min_iterations(0);
}

/*
 * The async client gives RFC 5802's exact client-final once resumed
 * with the right key; a failed derivation fails the login; a challenge
 * while the key is derived is refused.
 */
static void
test_scram_async_rfc5802(void **state UNUSED)
{
	struct sasl_client	*c;
	struct sasl_kdf		 k;
	unsigned char		*o, key[20];
	size_t			 ol;
	int			 i;

	sasl_scram_cache_clear();
	for (i = 0; i < 3; i++) {
		c = sasl_client_new(SASL_MECH_SCRAM_SHA_1, "user", "pencil",
		    NULL, 0, NULL, 0);
		CHECK(c != NULL && sasl_client_set_nonce(c, S5802_CNONCE) ==
		    0 && sasl_client_start(c, &o, &ol) == SASL_CONTINUE,
		    "setup");
		sasl_client_set_async(c, 1);
		su_expect_step(c, S5802_FIRST, SASL_PENDING, NULL);
		CHECK(sasl_client_kdf(c, &k) == 0 && k.iterations == 4096 &&
		    k.outlen == 20 && strcmp(k.md, "SHA1") == 0, "kdf");
		CHECK(PKCS5_PBKDF2_HMAC("pencil", 6, k.salt, (int)k.saltlen,
		    4096, EVP_sha1(), 20, key) == 1, "PBKDF2");
		if (i == 0) {
			CHECK(sasl_client_resume(c, key, 20, &o, &ol) ==
			    SASL_CONTINUE && ol == strlen(S5802_FINAL) &&
			    memcmp(o, S5802_FINAL, ol) == 0, "resumed: %.*s",
			    (int)ol, o);
		} else if (i == 1) {
			CHECK(sasl_client_resume(c, NULL, 0, &o, &ol) ==
			    SASL_FAIL && strstr(sasl_client_error(c),
			    "derivation") != NULL, "failed derivation");
		} else
			su_expect_step(c, S5802_FIRST, SASL_FAIL, NULL);
		sasl_client_free(c);
	}
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
		cmocka_unit_test(test_hi_cache_verified_only),
		cmocka_unit_test(test_hi_cache_many),
		cmocka_unit_test(test_scram_async_rfc5802),
		cmocka_unit_test(test_hi_cache_scram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
