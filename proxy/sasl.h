/*
 * sasl: client SASL mechanisms and a DIGEST-MD5 server helper.
 *
 * Pure functions over byte strings: no sockets, no event loop, no XML.
 * The client side speaks SCRAM-SHA-256, SCRAM-SHA-1 (RFC 5802, RFC 7677,
 * no channel binding), DIGEST-MD5 (RFC 2831, qop=auth only) and PLAIN
 * (RFC 4616, empty authzid). The server helper terminates the Nabaztag
 * firmware's DIGEST-MD5 exchange. Secrets are wiped when an object is freed;
 * error strings never contain a password.
 *
 * No SASLprep (RFC 4013) is applied: names and passwords are hashed as the
 * UTF-8 bytes given, which is exact for printable ASCII.
 */
#ifndef NAB_SASL_H
#define NAB_SASL_H

#include <stddef.h>

#include "attrib.h"

enum sasl_mech {
	SASL_MECH_NONE = 0,
	SASL_MECH_PLAIN = 1,
	SASL_MECH_DIGEST_MD5 = 2,
	SASL_MECH_SCRAM_SHA_1 = 3,
	SASL_MECH_SCRAM_SHA_256 = 4
};

/* Results of the client calls. */
enum sasl_result {
	SASL_FAIL = -1,		/* reason in sasl_client_error() */
	SASL_CONTINUE = 0,	/* send *out, await the server's next message */
	SASL_DONE = 1,		/* authenticated, server verified if possible */
	SASL_PENDING = 2	/* SCRAM: derive the key, then resume */
};

/* Verdicts of sasl_digest_server_verify(); see sasl_digest_strerror(). */
enum sasl_digest_verdict {
	SASL_DIGEST_OK = 0,
	SASL_DIGEST_MALFORMED = -1,
	SASL_DIGEST_USERNAME = -2,
	SASL_DIGEST_NONCE = -3,
	SASL_DIGEST_NC = -4,
	SASL_DIGEST_QOP = -5,
	SASL_DIGEST_URI = -6,
	SASL_DIGEST_AUTHZID = -7,
	SASL_DIGEST_PASSWORD = -8,
	SASL_DIGEST_INTERNAL = -9
};

/* Iteration cap callers use unless configured otherwise. */
#define SASL_SCRAM_DEFAULT_MAX_ITER	100000u
/* Fewer SCRAM iterations are refused by default (RFC 7677 section 4). */
#define SASL_SCRAM_MIN_ITER		4096u
/* Lowercase hex MD5 plus NUL: the size of an rspauth buffer. */
#define SASL_DIGEST_HEXSIZE		33
/* Longest nonce sasl_digest_server_challenge() accepts. */
#define SASL_DIGEST_NONCEMAX		128

struct sasl_client;

/*
 * Base64 (RFC 4648, standard alphabet, padded), into caller buffers.
 * enclen: encoded length without NUL. encode: 0, or -1 if outcap <
 * enclen + 1. declen: upper bound of decoded bytes. decode: strict (length
 * a multiple of 4, '=' only as final padding, alphabet only); 0 with
 * *outlen set, or -1 on malformed input or a short out. decode_lenient:
 * also accepts missing '=' (the Nabaztag's "xx=" for "xx=="); re-encode
 * its result to repair the text.
 */
size_t		 sasl_b64_enclen(size_t n);
int		 sasl_b64_encode(const void *in, size_t n, char *out,
		    size_t outcap) WUNRES;
size_t		 sasl_b64_declen(size_t n);
int		 sasl_b64_decode(const char *in, size_t n, unsigned char *out,
		    size_t outcap, size_t *outlen) WUNRES NONNULL(5);
int		 sasl_b64_decode_lenient(const char *in, size_t n,
		    unsigned char *out, size_t outcap, size_t *outlen)
		    WUNRES NONNULL(5);

/*
 * Mechanism names: name (NULL for NONE), lookup (case-insensitive, NONE
 * if unsupported) and the choice among offered names: SCRAM-SHA-256,
 * SCRAM-SHA-1, DIGEST-MD5, then PLAIN only if allow_plain; never
 * CRAM-MD5, ANONYMOUS or -PLUS; SASL_MECH_NONE if nothing fits.
 */
const char	*sasl_mech_name(enum sasl_mech);
enum sasl_mech	 sasl_mech_byname(const char *) NONNULL(1);
enum sasl_mech	 sasl_choose(const char *const *offered, size_t n,
		    int allow_plain);

/*
 * Client mechanism object.
 * new: copies its strings; domain is the digest-uri host (service
 *   "xmpp"), needed for DIGEST-MD5 only; max_iterations caps SCRAM's i=
 *   (0 = SASL_SCRAM_DEFAULT_MAX_ITER). NULL with a reason in err.
 * set_nonce: tests only, before start: fixed SCRAM nonce / DIGEST cnonce.
 * set_service: before start, digest-uri service other than "xmpp".
 * start: initial response; *out NULL = none (DIGEST-MD5), else *outlen
 *   bytes, possibly 0 (send "=").
 * step: one decoded challenge; on SASL_CONTINUE send *out (never NULL,
 *   maybe empty). Never returns SASL_DONE.
 * success: <success> data (len 0 = none). SASL_DONE only once the server
 *   proved it knows the password (SCRAM v=, DIGEST rspauth, here or in an
 *   earlier challenge); PLAIN cannot check and is SASL_DONE.
 * *out belongs to the client and lives until the next call on it. After
 * SASL_FAIL every call fails; error() gives the reason ("" if none),
 * escaped, never the password. free() wipes every secret; NULL is fine.
 */
struct sasl_client *sasl_client_new(enum sasl_mech, const char *authcid,
		    const char *password, const char *domain,
		    unsigned max_iterations, char *err, size_t errlen) WUNRES;
int		 sasl_client_set_nonce(struct sasl_client *, const char *)
		    WUNRES NONNULL(1, 2);
int		 sasl_client_set_service(struct sasl_client *, const char *)
		    WUNRES NONNULL(1, 2);
int		 sasl_client_start(struct sasl_client *, unsigned char **out,
		    size_t *outlen) WUNRES NONNULL(1, 2, 3);
int		 sasl_client_step(struct sasl_client *, const unsigned char *in,
		    size_t inlen, unsigned char **out, size_t *outlen)
		    WUNRES NONNULL(1, 4, 5);
int		 sasl_client_success(struct sasl_client *,
		    const unsigned char *additional_data, size_t len)
		    WUNRES NONNULL(1);
enum sasl_mech	 sasl_client_mech(const struct sasl_client *) NONNULL(1);
const char	*sasl_client_error(const struct sasl_client *) NONNULL(1);
void		 sasl_client_free(struct sasl_client *);

/*
 * SCRAM Hi() = PBKDF2-HMAC with the mechanism's hash (SHA-1 or SHA-256),
 * outlen bytes. 0, or -1 for another mech, 0 iterations or an error.
 * Results the server confirmed are cached (16384 slots, keyed by a hash
 * of all inputs), so a rabbit that reconnects never pays PBKDF2 again.
 */
int		 sasl_scram_hi(enum sasl_mech, const char *password,
		    size_t pwlen, const unsigned char *salt, size_t saltlen,
		    unsigned iterations, unsigned char *out, size_t outlen)
		    WUNRES;
/*
 * SCRAM's key derivation done by the caller, off the event loop. With
 * set_async on, step() on the server-first message returns SASL_PENDING
 * (and no *out) when Hi() is not cached; kdf() then gives its inputs
 * (the password is borrowed until resume or free), the caller derives
 * Hi() and calls resume() with it, which returns what step() would have
 * (SASL_CONTINUE with the client-final message, or SASL_FAIL; salted
 * NULL fails). A derived key enters the cache only once the server
 * proved it knows the password: wrong passwords never evict right ones.
 */
struct sasl_kdf {
	enum sasl_mech	 mech;
	const char	*md;		/* "SHA1" or "SHA256" */
	const char	*password;
	size_t		 pwlen;
	unsigned char	 salt[512];
	size_t		 saltlen;
	unsigned	 iterations;
	size_t		 outlen;
};
void		 sasl_client_set_async(struct sasl_client *, int on) NONNULL(1);
int		 sasl_client_kdf(struct sasl_client *, struct sasl_kdf *)
		    WUNRES NONNULL(1, 2);
int		 sasl_client_resume(struct sasl_client *,
		    const unsigned char *salted, size_t len, unsigned char **out,
		    size_t *outlen) WUNRES NONNULL(1, 4, 5);
/* Wipe the Hi() cache (at exit). */
void		 sasl_scram_cache_clear(void);
/* Cache hits so far (for tests and benchmarks). */
unsigned long	 sasl_scram_cache_hits(void);

/*
 * DIGEST-MD5 server side, to terminate the Nabaztag's login.
 * nonce: 32 random hex digits + NUL (outcap >= 33); 0 or -1.
 * challenge: exactly nonce="N",qop="auth",charset=utf-8,algorithm=md5-sess;
 *   its length, or -1 for a bad nonce or short out.
 * username: the response's username (no password needed), 0 or -1.
 * verify: checks username, nonce, nc=00000001, qop, digest-uri
 *   "xmpp/domain", response; values hashed as sent (NULs included). On
 *   SASL_DIGEST_OK writes the rspauth value (32 hex + NUL) to rspauth_out;
 *   otherwise the enum sasl_digest_verdict of the first failed check.
 * strerror: text for a verdict.
 */
int		 sasl_digest_server_nonce(char *out, size_t outcap) WUNRES;
int		 sasl_digest_server_challenge(const char *nonce, char *out,
		    size_t outcap) WUNRES NONNULL(1);
int		 sasl_digest_server_username(const char *resp, size_t len,
		    char *user, size_t usercap) WUNRES;
int		 sasl_digest_server_verify(const char *resp, size_t len,
		    const char *username_expected, const char *password,
		    const char *nonce, const char *domain, char *rspauth_out,
		    size_t rspauthcap) WUNRES NONNULL(3, 4, 5, 6);
const char	*sasl_digest_strerror(int verdict);

/*
 * DIGEST-MD5 relayed between the Nabaztag and a server that offers it
 * (sasl_digestrelay.c states the contract): rewrite the server's base64
 * challenge into the form the firmware parses, or re-pad the firmware's
 * short base64. Both write NUL-terminated canonical base64 into out and
 * return its length, or -1 (input refused, or out too small).
 */
int		 sasl_digest_relay_challenge(const char *b64, size_t len,
		    char *out, size_t outcap) WUNRES;
int		 sasl_digest_repad(const char *b64, size_t len, char *out,
		    size_t outcap) WUNRES;

/*
 * The fewest SCRAM iterations a server may ask for, for every client made
 * after the call (scram-min-iterations; SASL_SCRAM_MIN_ITER until set,
 * 0 restores it). Loop thread only.
 */
void	sasl_scram_set_min_iterations(unsigned);

#endif /* NAB_SASL_H */
