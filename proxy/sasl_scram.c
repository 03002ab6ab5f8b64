/*
 * sasl_scram: SCRAM-SHA-1 and SCRAM-SHA-256 client (RFC 5802, RFC 7677).
 *
 * No channel binding (gs2 header "n,,"), no authzid. The server's demands
 * are checked before any work is done: the iteration count must lie in
 * scram-min-iterations (4096, RFC 7677)..max_iterations, the combined nonce must extend ours, and the exchange
 * only succeeds once the server signature matched. Keys derived from the
 * password live on the stack of one function and are wiped there.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "sasl.h"
#include "sasl_impl.h"

#define SCRAM_SALTMAX	512	/* decoded salt bytes */
#define SCRAM_RAWNONCE	18	/* random bytes, 24 base64 characters */

/* The server-first-message, as views into the message. */
struct scram_first {
	const char	*sf_nonce;
	size_t		 sf_noncelen;
	unsigned char	 sf_salt[SCRAM_SALTMAX];
	size_t		 sf_saltlen;
	unsigned	 sf_iter;
};

static const EVP_MD	*scram_md(enum sasl_mech);
static int	 scram_attr(const char *, size_t, size_t *, char,
		    const char **, size_t *);
static int	 scram_parse_first(struct sasl_client *, const char *, size_t,
		    struct scram_first *);
static int	 scram_salt(struct sasl_client *, const struct scram_first *);
static int	 scram_iter(struct sasl_client *, const char *, size_t,
		    unsigned *);
static int	 scram_prove(struct sasl_client *, const char *, size_t,
		    const struct scram_first *);
static int	 scram_verify(struct sasl_client *, const unsigned char *,
		    size_t);
static int	 scram_server_error(struct sasl_client *, const char *,
		    size_t);
static void	 scram_saslname(struct sasl_buf *, const char *);

/*
 * The hashes and HMACs fetched once: an EVP_sha1() digest is looked up
 * again at every EVP_DigestInit, and HMAC() also fetches the MAC and the
 * digest each time (about 17,000 instructions per HMAC, 4 per login). A
 * proof takes a copy of the keyless HMAC context of its hash and keys it
 * for each of its HMACs (EVP_MAC_init with no parameters fetches nothing).
 */
static const char *const scram_hash_names[2] = { "SHA1", "SHA256" };
static EVP_MD		*scram_fetched[2];
static EVP_MAC_CTX	*scram_hmac_keyless[2];
static pthread_once_t	 scram_fetch_once = PTHREAD_ONCE_INIT;

/* A keyless HMAC context for the hash named; NULL on failure. */
static EVP_MAC_CTX *
scram_hmac_new(const char *hash)
{
	EVP_MAC		*mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX	*ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM	 p[2];

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)hash, 0);
	p[1] = OSSL_PARAM_construct_end();
	if (ctx != NULL && EVP_MAC_CTX_set_params(ctx, p) != 1) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	EVP_MAC_free(mac);
	return ctx;
}

static void
scram_fetch(void)
{
	int	i;

	for (i = 0; i < 2; i++) {
		scram_fetched[i] = EVP_MD_fetch(NULL, scram_hash_names[i], NULL);
		scram_hmac_keyless[i] = scram_hmac_new(scram_hash_names[i]);
	}
}

/* scram_md(), fetched if it could be (for the digest of scram_prove()). */
static const EVP_MD *
scram_md_fetched(enum sasl_mech mech)
{
	int	i = mech == SASL_MECH_SCRAM_SHA_256;

	(void)pthread_once(&scram_fetch_once, scram_fetch);
	if ((mech == SASL_MECH_SCRAM_SHA_1 || i) && scram_fetched[i] != NULL)
		return scram_fetched[i];
	return scram_md(mech);
}

/* A keyless HMAC context for md (the caller frees it); NULL on failure. */
static EVP_MAC_CTX *
scram_hmac_ctx(enum sasl_mech mech, const EVP_MD *md)
{
	int	i = mech == SASL_MECH_SCRAM_SHA_256;

	(void)pthread_once(&scram_fetch_once, scram_fetch);
	if ((mech == SASL_MECH_SCRAM_SHA_1 || i) &&
	    scram_hmac_keyless[i] != NULL)
		return EVP_MAC_CTX_dup(scram_hmac_keyless[i]);
	return scram_hmac_new(EVP_MD_get0_name(md));
}

/* HMAC of msg under key, in ctx (keyless or used), into out: hlen bytes. */
static int
scram_hmac(EVP_MAC_CTX *ctx, const unsigned char *key, size_t klen,
    const void *msg, size_t mlen, unsigned char *out, size_t hlen)
{
	size_t	l;

	return EVP_MAC_init(ctx, key, klen, NULL) == 1 &&
	    EVP_MAC_update(ctx, msg, mlen) == 1 &&
	    EVP_MAC_final(ctx, out, &l, hlen) == 1 && l == hlen ? 0 : -1;
}

/* Hash of a SCRAM mechanism; NULL for any other mechanism. */
static const EVP_MD *
scram_md(enum sasl_mech mech)
{
	if (mech == SASL_MECH_SCRAM_SHA_1)
		return EVP_sha1();
	if (mech == SASL_MECH_SCRAM_SHA_256)
		return EVP_sha256();
	return NULL;
}

/*
 * Hi(password, salt, i) of RFC 5802 (PBKDF2-HMAC with the mechanism's
 * hash) into outlen bytes of out. Returns 0, or -1 for a non-SCRAM mech,
 * iterations outside 1..INT_MAX, oversized lengths or an OpenSSL error.
 */
/*
 * A rabbit reconnects with the same password, salt and count again and
 * again: remember Hi() results. Entries are keyed by a SHA-256 of
 * everything that goes in, hold a password equivalent for one server (as
 * the credential store does), enter only once the server proved it knows
 * the password (so wrong guesses never evict right ones), and are wiped
 * on eviction and by sasl_scram_cache_clear(). An open-addressed table:
 * each key may sit in HI_WAYS slots from its hash, the least recently
 * used of them gives way. Loop thread only: no locking.
 */
#define HI_SLOTS	16384		/* a power of two */
#define HI_WAYS		8
#define HI_MAX		64

static struct hi_entry {
	unsigned char	key[32];
	unsigned char	out[HI_MAX];
	size_t		outlen;
	unsigned long	used;		/* 0: empty */
} hi_cache[HI_SLOTS];
static unsigned long	hi_tick, hi_hits;
static unsigned		scram_min_iter = SASL_SCRAM_MIN_ITER;

static int
hi_key(enum sasl_mech mech, const char *pw, size_t pwlen,
    const unsigned char *salt, size_t saltlen, unsigned iter, size_t outlen,
    unsigned char key[32])
{
	EVP_MD_CTX	*x;
	unsigned long	 v[5] = { (unsigned long)mech, iter, pwlen, saltlen,
			    outlen };
	int		 ok;

	if ((x = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(x, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(x, v, sizeof(v)) == 1 &&
	    EVP_DigestUpdate(x, pw, pwlen) == 1 &&
	    EVP_DigestUpdate(x, salt, saltlen) == 1 &&
	    EVP_DigestFinal_ex(x, key, NULL) == 1;
	EVP_MD_CTX_free(x);
	return ok ? 0 : -1;
}

static size_t
hi_slot(const unsigned char key[32], size_t way)
{
	size_t	h = (size_t)key[0] | (size_t)key[1] << 8 |
		    (size_t)key[2] << 16;

	return (h + way) & (HI_SLOTS - 1);
}

/* The cached Hi() for key into out, or 0 if absent. */
static int
hi_lookup(const unsigned char key[32], unsigned char *out, size_t outlen)
{
	struct hi_entry	*e;
	size_t		 w;

	for (w = 0; w < HI_WAYS; w++) {
		e = &hi_cache[hi_slot(key, w)];
		if (e->used != 0 && e->outlen == outlen &&
		    CRYPTO_memcmp(e->key, key, 32) == 0) {
			memcpy(out, e->out, outlen);
			e->used = ++hi_tick;
			hi_hits++;
			return 1;
		}
	}
	return 0;
}

static void
hi_store(const unsigned char key[32], const unsigned char *out, size_t outlen)
{
	struct hi_entry	*e, *victim = NULL;
	size_t		 w;

	if (outlen > HI_MAX)
		return;
	for (w = 0; w < HI_WAYS; w++) {
		e = &hi_cache[hi_slot(key, w)];
		if (e->used != 0 && CRYPTO_memcmp(e->key, key, 32) == 0) {
			victim = e;
			break;
		}
		if (victim == NULL || e->used < victim->used)
			victim = e;
	}
	explicit_bzero(victim, sizeof(*victim));
	memcpy(victim->key, key, 32);
	memcpy(victim->out, out, outlen);
	victim->outlen = outlen;
	victim->used = ++hi_tick;
}

void
sasl_scram_cache_clear(void)
{
	explicit_bzero(hi_cache, sizeof(hi_cache));
}

unsigned long
sasl_scram_cache_hits(void)
{
	return hi_hits;
}

int
sasl_scram_hi(enum sasl_mech mech, const char *password, size_t pwlen,
    const unsigned char *salt, size_t saltlen, unsigned iterations,
    unsigned char *out, size_t outlen)
{
	const EVP_MD	*md;
	unsigned char	 key[32];
	int		 cached, rv;

	if ((md = scram_md(mech)) == NULL || iterations < 1 ||
	    iterations > INT_MAX || pwlen > INT_MAX || saltlen > INT_MAX ||
	    outlen > INT_MAX || outlen == 0 || out == NULL)
		return -1;
	/* The key is a hash of the password: wiped on every way out. */
	cached = hi_key(mech, password, pwlen, salt, saltlen, iterations,
	    outlen, key) == 0;
	if (cached && hi_lookup(key, out, outlen))
		rv = 0;
	else if (PKCS5_PBKDF2_HMAC(password, (int)pwlen, salt, (int)saltlen,
	    (int)iterations, md, (int)outlen, out) != 1)
		rv = -1;
	else
		rv = 0;
	explicit_bzero(key, sizeof(key));
	return rv;
}

/*
 * Build client-first-message into c->sc_out and keep its bare part in
 * c->sc_cfirst for the AuthMessage. Returns SASL_CONTINUE or SASL_FAIL
 * (RNG failure, ENOMEM).
 */
int
sasl_scram_start(struct sasl_client *c)
{
	struct sasl_buf	bare = { NULL, 0, 0, 0 };
	unsigned char	raw[SCRAM_RAWNONCE];

	if (c->sc_nonce[0] == '\0') {
		if (RAND_bytes(raw, sizeof(raw)) != 1)
			return sasl_fail(c, "random generator failed");
		if (sasl_b64_encode(raw, sizeof(raw), c->sc_nonce,
		    sizeof(c->sc_nonce)) == -1)
			return sasl_fail(c, "nonce buffer too small");
	}
	sasl_buf_adds(&bare, "n=");
	scram_saslname(&bare, c->sc_authcid);
	sasl_buf_adds(&bare, ",r=");
	sasl_buf_adds(&bare, c->sc_nonce);
	if (bare.sb_err) {
		sasl_buf_free(&bare);
		return sasl_fail(c, "out of memory");
	}
	sasl_buf_adds(&c->sc_out, "n,,");
	sasl_buf_add(&c->sc_out, bare.sb_data, bare.sb_len);
	c->sc_cfirst = bare.sb_data;	/* c owns the string from here */
	return SASL_CONTINUE;
}

/*
 * A SCRAM challenge: the server-first-message right after start, or the
 * server-final-message sent as a challenge by servers that want an empty
 * response before <success/>. Output goes to c->sc_out. Returns
 * SASL_CONTINUE or SASL_FAIL.
 */
int
sasl_scram_step(struct sasl_client *c, const unsigned char *in, size_t inlen)
{
	struct scram_first	 sf;
	const char		*msg = (const char *)in;
	int			 rv;

	if (inlen == 0 || memchr(in, '\0', inlen) != NULL)
		return sasl_fail(c, "SCRAM challenge empty or holding NUL");
	if (c->sc_state == SASL_ST_FINAL) {
		if (scram_verify(c, in, inlen) == SASL_FAIL)
			return SASL_FAIL;
		return SASL_CONTINUE;	/* empty response */
	}
	if (c->sc_state != SASL_ST_STARTED)
		return sasl_fail(c, "unexpected SCRAM challenge");
	if (scram_parse_first(c, msg, inlen, &sf) == SASL_FAIL)
		return SASL_FAIL;
	rv = scram_salt(c, &sf);
	if (rv == SASL_CONTINUE)
		rv = scram_prove(c, msg, inlen, &sf);
	else if (rv == SASL_PENDING && (c->sc_sfm = malloc(inlen)) != NULL) {
		/* Kept for resume(), which parses it again. */
		memcpy(c->sc_sfm, msg, inlen);
		c->sc_sfmlen = inlen;
		c->sc_state = SASL_ST_KDF;
	} else if (rv == SASL_PENDING)
		rv = sasl_fail(c, "out of memory");
	explicit_bzero(&sf, sizeof(sf));
	if (rv != SASL_CONTINUE)
		return rv;
	c->sc_state = SASL_ST_FINAL;
	return SASL_CONTINUE;
}

/*
 * SaltedPassword into c->sc_salted: from the cache, else computed here,
 * else (async) left to the caller: SASL_CONTINUE, SASL_PENDING or
 * SASL_FAIL. The cache key is kept for scram_verify().
 */
static int
scram_salt(struct sasl_client *c, const struct scram_first *sf)
{
	const EVP_MD	*md = scram_md(c->sc_mech);
	size_t		 hlen = (size_t)EVP_MD_get_size(md);

	c->sc_saltedlen = hlen;
	c->sc_haskey = hi_key(c->sc_mech, c->sc_password, c->sc_pwlen,
	    sf->sf_salt, sf->sf_saltlen, sf->sf_iter, hlen, c->sc_hikey) == 0;
	if (c->sc_haskey && hi_lookup(c->sc_hikey, c->sc_salted, hlen))
		return SASL_CONTINUE;
	if (c->sc_async)
		return SASL_PENDING;
	if (PKCS5_PBKDF2_HMAC(c->sc_password, (int)c->sc_pwlen, sf->sf_salt,
	    (int)sf->sf_saltlen, (int)sf->sf_iter, md, (int)hlen,
	    c->sc_salted) != 1)
		return sasl_fail(c, "SCRAM key derivation failed");
	return SASL_CONTINUE;
}

void
sasl_client_set_async(struct sasl_client *c, int on)
{
	c->sc_async = on;
}

int
sasl_client_kdf(struct sasl_client *c, struct sasl_kdf *k)
{
	struct scram_first	sf;

	if (c->sc_state != SASL_ST_KDF || c->sc_sfm == NULL ||
	    scram_parse_first(c, c->sc_sfm, c->sc_sfmlen, &sf) == SASL_FAIL ||
	    sf.sf_saltlen > sizeof(k->salt))
		return -1;
	memset(k, 0, sizeof(*k));
	k->mech = c->sc_mech;
	k->md = c->sc_mech == SASL_MECH_SCRAM_SHA_256 ? "SHA256" : "SHA1";
	k->password = c->sc_password;
	k->pwlen = c->sc_pwlen;
	memcpy(k->salt, sf.sf_salt, sf.sf_saltlen);
	k->saltlen = sf.sf_saltlen;
	k->iterations = sf.sf_iter;
	k->outlen = c->sc_saltedlen;
	explicit_bzero(&sf, sizeof(sf));
	return 0;
}

int
sasl_client_resume(struct sasl_client *c, const unsigned char *salted,
    size_t len, unsigned char **out, size_t *outlen)
{
	struct scram_first	sf;
	int			rv;

	*out = NULL;
	*outlen = 0;
	if (c->sc_state == SASL_ST_FAILED)
		return SASL_FAIL;
	if (c->sc_state != SASL_ST_KDF)
		return sasl_fail(c, "SCRAM resumed without a pending key");
	if (salted == NULL || len != c->sc_saltedlen)
		return sasl_fail(c, "SCRAM key derivation failed");
	memcpy(c->sc_salted, salted, len);
	sasl_buf_reset(&c->sc_out);
	if (scram_parse_first(c, c->sc_sfm, c->sc_sfmlen, &sf) == SASL_FAIL)
		return SASL_FAIL;
	rv = scram_prove(c, c->sc_sfm, c->sc_sfmlen, &sf);
	explicit_bzero(&sf, sizeof(sf));
	sasl_wipefree(c->sc_sfm, c->sc_sfmlen);
	c->sc_sfm = NULL;
	if (rv == SASL_FAIL)
		return SASL_FAIL;
	if (c->sc_out.sb_err)
		return sasl_fail(c, "out of memory");
	c->sc_state = SASL_ST_FINAL;
	*out = (unsigned char *)c->sc_out.sb_data;
	*outlen = c->sc_out.sb_len;
	return SASL_CONTINUE;
}

/*
 * Additional data of <success>: the server-final-message. Returns
 * SASL_CONTINUE once verified (state VERIFIED) or SASL_FAIL.
 */
int
sasl_scram_final(struct sasl_client *c, const unsigned char *in,
    size_t inlen)
{
	if (c->sc_state != SASL_ST_FINAL && c->sc_state != SASL_ST_VERIFIED)
		return sasl_fail(c, "SCRAM success before the client proof");
	if (memchr(in, '\0', inlen) != NULL)
		return sasl_fail(c, "SCRAM success data holds NUL");
	return scram_verify(c, in, inlen);
}

/*
 * Read the attribute "k=value" starting at *off in msg (len bytes); the
 * value runs to the next ',' or the end. On 0, *off is past the ',' and
 * (val, vlen) views the value. -1 if the attribute is not k.
 */
static int
scram_attr(const char *msg, size_t len, size_t *off, char k,
    const char **val, size_t *vlen)
{
	const char	*p, *comma;

	if (*off + 2 > len || msg[*off] != k || msg[*off + 1] != '=')
		return -1;
	p = msg + *off + 2;
	comma = memchr(p, ',', len - (*off + 2));
	*val = p;
	*vlen = comma != NULL ? (size_t)(comma - p) : len - (*off + 2);
	*off += 2 + *vlen + (comma != NULL ? 1 : 0);
	return 0;
}

/*
 * Parse and check server-first-message = [m=...,] r=nonce,s=salt,i=count
 * [,ext]. Returns SASL_CONTINUE with sf filled or SASL_FAIL.
 */
static int
scram_parse_first(struct sasl_client *c, const char *msg, size_t len,
    struct scram_first *sf)
{
	const char	*v;
	size_t		 off = 0, vlen, i, cnlen = strlen(c->sc_nonce);

	if (len >= 2 && msg[0] == 'e' && msg[1] == '=')
		return scram_server_error(c, msg + 2, len - 2);
	if (len >= 2 && msg[0] == 'm' && msg[1] == '=')
		return sasl_fail(c, "server demands an unsupported SCRAM "
		    "extension (m=)");
	if (scram_attr(msg, len, &off, 'r', &sf->sf_nonce,
	    &sf->sf_noncelen) == -1)
		return sasl_fail(c, "malformed SCRAM server-first message: "
		    "no nonce");
	for (i = 0; i < sf->sf_noncelen; i++)
		if (sf->sf_nonce[i] < 0x21 || sf->sf_nonce[i] > 0x7e)
			return sasl_fail(c, "SCRAM server nonce holds "
			    "unprintable bytes");
	if (sf->sf_noncelen <= cnlen ||
	    memcmp(sf->sf_nonce, c->sc_nonce, cnlen) != 0)
		return sasl_fail(c, "SCRAM server nonce does not extend the "
		    "client nonce");
	if (scram_attr(msg, len, &off, 's', &v, &vlen) == -1)
		return sasl_fail(c, "malformed SCRAM server-first message: "
		    "no salt");
	if (vlen == 0 || sasl_b64_decode(v, vlen, sf->sf_salt,
	    sizeof(sf->sf_salt), &sf->sf_saltlen) == -1 ||
	    sf->sf_saltlen == 0)
		return sasl_fail(c, "SCRAM salt empty, too long or not "
		    "base64");
	if (scram_attr(msg, len, &off, 'i', &v, &vlen) == -1)
		return sasl_fail(c, "malformed SCRAM server-first message: "
		    "no iteration count");
	return scram_iter(c, v, vlen, &sf->sf_iter);
}

/*
 * Parse the iteration count (posit-number: no sign, no leading zero) and
 * hold it against scram_min_iter..c->sc_maxiter. SASL_CONTINUE or SASL_FAIL.
 */
void
sasl_scram_set_min_iterations(unsigned n)
{
	scram_min_iter = n == 0 ? SASL_SCRAM_MIN_ITER : n;
}

static int
scram_iter(struct sasl_client *c, const char *v, size_t vlen, unsigned *iter)
{
	unsigned long long	n = 0;
	size_t			i;

	if (vlen == 0 || v[0] == '0')
		return sasl_fail(c, "SCRAM iteration count must be at least "
		    "1");
	for (i = 0; i < vlen; i++) {
		if (v[i] < '0' || v[i] > '9')
			return sasl_fail(c, "SCRAM iteration count is not a "
			    "number");
		if (n <= c->sc_maxiter)
			n = n * 10 + (unsigned)(v[i] - '0');
	}
	if (n > c->sc_maxiter)
		return sasl_fail(c, "SCRAM iteration count %.*s exceeds the "
		    "limit %u", (int)(vlen > 20 ? 20 : vlen), v, c->sc_maxiter);
	/* RFC 7677 section 4: fewer makes a stolen SaltedPassword cheap. */
	if (n < scram_min_iter)
		return sasl_fail(c, "SCRAM iteration count %llu is below the "
		    "minimum %u (RFC 7677)", n, scram_min_iter);
	*iter = (unsigned)n;
	return SASL_CONTINUE;
}

/*
 * Derive the keys, write client-final-message to c->sc_out and remember
 * the server signature we expect. sfm/sfmlen is the server-first-message.
 * SASL_CONTINUE or SASL_FAIL; all derived keys are wiped either way.
 */
static int
scram_prove(struct sasl_client *c, const char *sfm, size_t sfmlen,
    const struct scram_first *sf)
{
	const EVP_MD	*md = scram_md_fetched(c->sc_mech);
	EVP_MAC_CTX	*ctx = scram_hmac_ctx(c->sc_mech, md);
	unsigned char	 salted[EVP_MAX_MD_SIZE], ckey[EVP_MAX_MD_SIZE];
	unsigned char	 skey[EVP_MAX_MD_SIZE], stored[EVP_MAX_MD_SIZE];
	unsigned char	 csig[EVP_MAX_MD_SIZE];
	char		 proof64[EVP_MAX_MD_SIZE * 2];
	struct sasl_buf	 am = { NULL, 0, 0, 0 };
	size_t		 hlen = (size_t)EVP_MD_get_size(md), i;
	unsigned	 l2;
	int		 rv = SASL_FAIL;

	sasl_buf_adds(&c->sc_out, "c=biws,r=");
	sasl_buf_add(&c->sc_out, sf->sf_nonce, sf->sf_noncelen);
	sasl_buf_adds(&am, c->sc_cfirst);
	sasl_buf_adds(&am, ",");
	sasl_buf_add(&am, sfm, sfmlen);
	sasl_buf_adds(&am, ",");
	sasl_buf_add(&am, c->sc_out.sb_data, c->sc_out.sb_len);
	if (am.sb_err || c->sc_out.sb_err || ctx == NULL) {
		(void)sasl_fail(c, "out of memory");
		goto done;
	}
	memcpy(salted, c->sc_salted, hlen);
	if (scram_hmac(ctx, salted, hlen, "Client Key", 10, ckey, hlen) == -1 ||
	    EVP_Digest(ckey, hlen, stored, &l2, md, NULL) != 1 ||
	    scram_hmac(ctx, stored, hlen, am.sb_data, am.sb_len, csig,
	    hlen) == -1 ||
	    scram_hmac(ctx, salted, hlen, "Server Key", 10, skey, hlen) == -1 ||
	    scram_hmac(ctx, skey, hlen, am.sb_data, am.sb_len, c->sc_expect,
	    hlen) == -1) {
		(void)sasl_fail(c, "SCRAM key derivation failed");
		goto done;
	}
	c->sc_expectlen = hlen;
	for (i = 0; i < hlen; i++)
		ckey[i] ^= csig[i];
	if (sasl_b64_encode(ckey, hlen, proof64, sizeof(proof64)) == -1) {
		(void)sasl_fail(c, "proof buffer too small");
		goto done;
	}
	sasl_buf_adds(&c->sc_out, ",p=");
	sasl_buf_adds(&c->sc_out, proof64);
	rv = SASL_CONTINUE;
 done:
	explicit_bzero(salted, sizeof(salted));
	explicit_bzero(ckey, sizeof(ckey));
	explicit_bzero(skey, sizeof(skey));
	explicit_bzero(stored, sizeof(stored));
	explicit_bzero(csig, sizeof(csig));
	EVP_MAC_CTX_free(ctx);
	sasl_buf_free(&am);
	return rv;
}

/*
 * Check a server-final-message "v=signature[,ext]" or report "e=error".
 * SASL_CONTINUE (state VERIFIED) or SASL_FAIL.
 */
static int
scram_verify(struct sasl_client *c, const unsigned char *in, size_t inlen)
{
	unsigned char	 sig[EVP_MAX_MD_SIZE + 3];
	const char	*msg = (const char *)in, *v;
	size_t		 off = 0, vlen, siglen;

	if (inlen >= 2 && msg[0] == 'e' && msg[1] == '=')
		return scram_server_error(c, msg + 2, inlen - 2);
	if (scram_attr(msg, inlen, &off, 'v', &v, &vlen) == -1)
		return sasl_fail(c, "malformed SCRAM server-final message");
	if (sasl_b64_decode(v, vlen, sig, sizeof(sig), &siglen) == -1 ||
	    siglen != c->sc_expectlen || c->sc_expectlen == 0 ||
	    CRYPTO_memcmp(sig, c->sc_expect, siglen) != 0)
		return sasl_fail(c, "SCRAM server signature mismatch: the "
		    "server does not know the password");
	/* The server knows the password: the derived key is worth keeping. */
	if (c->sc_haskey && c->sc_state != SASL_ST_VERIFIED)
		hi_store(c->sc_hikey, c->sc_salted, c->sc_saltedlen);
	c->sc_state = SASL_ST_VERIFIED;
	return SASL_CONTINUE;
}

/* Fail with the server's e= reason (escaped); returns SASL_FAIL. */
static int
scram_server_error(struct sasl_client *c, const char *v, size_t vlen)
{
	char		 why[80];
	const char	*comma;

	if ((comma = memchr(v, ',', vlen)) != NULL)
		vlen = (size_t)(comma - v);
	sasl_printable(why, sizeof(why), v, vlen);
	return sasl_fail(c, "SCRAM server error: %s", why);
}

/* Append name as a SCRAM saslname: ',' becomes "=2C", '=' becomes "=3D". */
static void
scram_saslname(struct sasl_buf *b, const char *name)
{
	for (; *name != '\0'; name++) {
		if (*name == ',')
			sasl_buf_adds(b, "=2C");
		else if (*name == '=')
			sasl_buf_adds(b, "=3D");
		else
			sasl_buf_add(b, name, 1);
	}
}
