/*
 * sasl: base64, the mechanism table and the generic client object.
 *
 * This file owns the client's life cycle (new, start, step, success, free)
 * and the PLAIN mechanism; SCRAM lives in sasl_scram.c and DIGEST-MD5 in
 * sasl_digest.c. Every failure goes through sasl_fail(), so the object is
 * left FAILED with one human reason, and every buffer that held a secret is
 * wiped before it is freed.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sasl.h"
#include "sasl_impl.h"

static int	b64_val(unsigned char);
static int	b64_core(const char *, size_t, unsigned char *, size_t,
		    size_t *);
static void	set_err(char *, size_t, const char *, ...) PRINTF(3, 4);
static int	client_args(enum sasl_mech, const char *, const char *,
		    const char *, char *, size_t);
static void	buf_grow(struct sasl_buf *, size_t);
static int	set_token(const struct sasl_client *, char *, size_t,
		    const char *, const char *);

static const char b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Known mechanisms, in order of preference for sasl_choose(). */
static const struct {
	enum sasl_mech	 m_mech;
	const char	*m_name;
} sasl_mechs[] = {
	{ SASL_MECH_SCRAM_SHA_256,	"SCRAM-SHA-256" },
	{ SASL_MECH_SCRAM_SHA_1,	"SCRAM-SHA-1" },
	{ SASL_MECH_DIGEST_MD5,		"DIGEST-MD5" },
	{ SASL_MECH_PLAIN,		"PLAIN" },
};
#define NMECHS	(sizeof(sasl_mechs) / sizeof(sasl_mechs[0]))

/*
 * Length of the padded base64 encoding of n bytes, without the NUL.
 * Callers keep n far below SIZE_MAX / 2 (peer data is capped long before).
 */
size_t
sasl_b64_enclen(size_t n)
{
	return (n + 2) / 3 * 4;
}

/*
 * Encode n bytes of in as padded base64 into out, NUL-terminated.
 * Returns 0, or -1 when outcap < sasl_b64_enclen(n) + 1 (out untouched).
 */
int
sasl_b64_encode(const void *in, size_t n, char *out, size_t outcap)
{
	const unsigned char	*p = in;
	size_t			 i, o = 0;
	unsigned long		 v;

	if (out == NULL || outcap < sasl_b64_enclen(n) + 1)
		return -1;
	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 |
		    p[i + 2];
		out[o++] = b64_alpha[v >> 18 & 63];
		out[o++] = b64_alpha[v >> 12 & 63];
		out[o++] = b64_alpha[v >> 6 & 63];
		out[o++] = b64_alpha[v & 63];
	}
	if (i < n) {
		v = (unsigned long)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned long)p[i + 1] << 8;
		out[o++] = b64_alpha[v >> 18 & 63];
		out[o++] = b64_alpha[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64_alpha[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return 0;
}

/* Upper bound of the bytes decoded from n base64 characters. */
size_t
sasl_b64_declen(size_t n)
{
	return n / 4 * 3 + 3;
}

/*
 * Strict base64 decoder: n must be a multiple of 4, only the alphabet is
 * accepted, '=' only as the final one or two characters. Non-zero bits in
 * the last character are tolerated. On 0, *outlen bytes were written to
 * out (out may be NULL when nothing decodes, e.g. n == 0). Returns -1 on
 * malformed input or when outcap is too small; out is then unspecified.
 */
int
sasl_b64_decode(const char *in, size_t n, unsigned char *out, size_t outcap,
    size_t *outlen)
{
	size_t	pad = 0;

	*outlen = 0;
	if (n % 4 != 0)
		return -1;
	while (pad < 2 && pad < n && in[n - 1 - pad] == '=')
		pad++;
	return b64_core(in, n - pad, out, outcap, outlen);
}

/*
 * Lenient decoder for peers that pad short: like sasl_b64_decode(), but
 * missing '=' characters are tolerated (the Nabaztag firmware writes one
 * '=' where two are due). Too many '=' and any other fault are still -1.
 * Re-encode the result with sasl_b64_encode() to repair the text.
 */
int
sasl_b64_decode_lenient(const char *in, size_t n, unsigned char *out,
    size_t outcap, size_t *outlen)
{
	size_t	pad = 0, need;

	*outlen = 0;
	while (pad < n && in[n - 1 - pad] == '=')
		pad++;
	need = (4 - (n - pad) % 4) % 4;
	if (pad > need)
		return -1;
	return b64_core(in, n - pad, out, outcap, outlen);
}

/* Value of a base64 alphabet character, -1 for anything else. */
static int
b64_val(unsigned char ch)
{
	const char	*p;

	if (ch == '\0' || (p = strchr(b64_alpha, ch)) == NULL)
		return -1;
	return (int)(p - b64_alpha);
}

/*
 * Decode n alphabet characters (no padding). n % 4 == 1 cannot encode
 * whole bytes and is -1, as is any non-alphabet byte or a short out.
 */
static int
b64_core(const char *in, size_t n, unsigned char *out, size_t outcap,
    size_t *outlen)
{
	size_t		 i, o = 0, need;
	unsigned long	 v = 0;
	int		 d;

	if (n % 4 == 1)
		return -1;
	need = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
	if (need > 0 && (out == NULL || outcap < need))
		return -1;
	for (i = 0; i < n; i++) {
		if ((d = b64_val((unsigned char)in[i])) == -1)
			return -1;
		v = v << 6 | (unsigned long)d;
		if (i % 4 == 3) {
			out[o++] = v >> 16 & 0xff;
			out[o++] = v >> 8 & 0xff;
			out[o++] = v & 0xff;
			v = 0;
		}
	}
	if (n % 4 == 2)
		out[o++] = v >> 4 & 0xff;
	else if (n % 4 == 3) {
		out[o++] = v >> 10 & 0xff;
		out[o++] = v >> 2 & 0xff;
	}
	*outlen = o;
	return 0;
}

/* IANA name of a mechanism; NULL for SASL_MECH_NONE and unknown values. */
const char *
sasl_mech_name(enum sasl_mech mech)
{
	size_t	i;

	for (i = 0; i < NMECHS; i++)
		if (sasl_mechs[i].m_mech == mech)
			return sasl_mechs[i].m_name;
	return NULL;
}

/* Mechanism for a name (case-insensitive); SASL_MECH_NONE if unsupported. */
enum sasl_mech
sasl_mech_byname(const char *name)
{
	size_t	i;

	for (i = 0; i < NMECHS; i++)
		if (strcasecmp(sasl_mechs[i].m_name, name) == 0)
			return sasl_mechs[i].m_mech;
	return SASL_MECH_NONE;
}

/*
 * Best mechanism among the n names offered (NULL entries skipped), in the
 * order SCRAM-SHA-256, SCRAM-SHA-1, DIGEST-MD5, PLAIN; PLAIN only when
 * allow_plain. Anything else (CRAM-MD5, ANONYMOUS, *-PLUS) is never chosen.
 * SASL_MECH_NONE if nothing usable is offered.
 */
enum sasl_mech
sasl_choose(const char *const *offered, size_t n, int allow_plain)
{
	size_t	i, j;

	for (i = 0; i < NMECHS; i++) {
		if (sasl_mechs[i].m_mech == SASL_MECH_PLAIN && !allow_plain)
			continue;
		for (j = 0; j < n; j++)
			if (offered[j] != NULL &&
			    strcasecmp(offered[j], sasl_mechs[i].m_name) == 0)
				return sasl_mechs[i].m_mech;
	}
	return SASL_MECH_NONE;
}

/*
 * New client for mech, authenticating authcid with password; domain is
 * the digest-uri host (service "xmpp") and may be NULL except for
 * DIGEST-MD5. max_iterations caps the SCRAM iteration count the server may
 * demand (0 = SASL_SCRAM_DEFAULT_MAX_ITER). All strings are copied; the
 * caller may wipe its password afterwards. Returns the object, to be
 * released with sasl_client_free(), or NULL with a reason in err.
 */
struct sasl_client *
sasl_client_new(enum sasl_mech mech, const char *authcid,
    const char *password, const char *domain, unsigned max_iterations,
    char *err, size_t errlen)
{
	struct sasl_client	*c;

	if (client_args(mech, authcid, password, domain, err, errlen) == -1)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto nomem;
	c->sc_mech = mech;
	c->sc_state = SASL_ST_INIT;
	c->sc_pwlen = strlen(password);
	(void)strcpy(c->sc_service, "xmpp");
	if (max_iterations == 0)
		max_iterations = SASL_SCRAM_DEFAULT_MAX_ITER;
	c->sc_maxiter = max_iterations > INT_MAX ? INT_MAX : max_iterations;
	if ((c->sc_authcid = strdup(authcid)) == NULL ||
	    (c->sc_password = strdup(password)) == NULL ||
	    (c->sc_domain = strdup(domain != NULL ? domain : "")) == NULL)
		goto nomem;
	sasl_buf_add(&c->sc_out, "", 0);
	if (c->sc_out.sb_err)
		goto nomem;
	return c;
 nomem:
	sasl_client_free(c);
	set_err(err, errlen, "out of memory");
	return NULL;
}

/* Argument checks of sasl_client_new(); 0 or -1 with a reason in err. */
static int
client_args(enum sasl_mech mech, const char *authcid, const char *password,
    const char *domain, char *err, size_t errlen)
{
	if (sasl_mech_name(mech) == NULL) {
		set_err(err, errlen, "unsupported SASL mechanism");
		return -1;
	}
	if (authcid == NULL || *authcid == '\0' ||
	    strlen(authcid) > SASL_NAMEMAX) {
		set_err(err, errlen, "username empty or longer than %d bytes",
		    SASL_NAMEMAX);
		return -1;
	}
	if (password == NULL || strlen(password) > SASL_PASSMAX) {
		set_err(err, errlen, "password missing or longer than %d "
		    "bytes", SASL_PASSMAX);
		return -1;
	}
	if (domain != NULL && strlen(domain) > SASL_NAMEMAX) {
		set_err(err, errlen, "domain longer than %d bytes",
		    SASL_NAMEMAX);
		return -1;
	}
	if (mech == SASL_MECH_DIGEST_MD5 &&
	    (domain == NULL || *domain == '\0')) {
		set_err(err, errlen, "DIGEST-MD5 needs a domain");
		return -1;
	}
	return 0;
}

/*
 * Copy token s into dst (room for max + 1 bytes) while c has not started.
 * Returns 0, or -1 if started already or s is empty, longer than max or
 * holds a byte outside 0x21..0x7e or one in bad.
 */
static int
set_token(const struct sasl_client *c, char *dst, size_t max, const char *s,
    const char *bad)
{
	size_t	i, n = strlen(s);

	if (c->sc_state != SASL_ST_INIT || n == 0 || n > max)
		return -1;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || strchr(bad, s[i]) != NULL)
			return -1;
	(void)memcpy(dst, s, n + 1);
	return 0;
}

/*
 * For tests only: use nonce as the SCRAM client nonce or DIGEST-MD5 cnonce
 * instead of a random one. Must be called before sasl_client_start().
 * Returns 0, or -1 if started already or the nonce is empty, too long or
 * holds bytes outside 0x21..0x7e other than ',', '"' and '\\'.
 */
int
sasl_client_set_nonce(struct sasl_client *c, const char *nonce)
{
	return set_token(c, c->sc_nonce, SASL_NONCEMAX, nonce, ",\"\\");
}

/*
 * Set the DIGEST-MD5 digest-uri service (default "xmpp"); tests use
 * "imap" for the RFC 2831 example. Returns 0, or -1 if started already or
 * the name is empty, too long or not a plain token.
 */
int
sasl_client_set_service(struct sasl_client *c, const char *service)
{
	return set_token(c, c->sc_service, SASL_SERVMAX, service, "/\"");
}

/*
 * Produce the initial response. On SASL_CONTINUE, *out is NULL when the
 * mechanism has no initial response (DIGEST-MD5: send <auth/> empty), else
 * it points at *outlen bytes (possibly 0: send "="). *out belongs to c and
 * stays valid until the next call on c. SASL_FAIL if called twice or on
 * ENOMEM / RNG failure.
 */
int
sasl_client_start(struct sasl_client *c, unsigned char **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (c->sc_state == SASL_ST_FAILED)
		return SASL_FAIL;
	if (c->sc_state != SASL_ST_INIT)
		return sasl_fail(c, "SASL exchange started twice");
	sasl_buf_reset(&c->sc_out);
	switch (c->sc_mech) {
	case SASL_MECH_PLAIN:
		sasl_buf_add(&c->sc_out, "", 1);
		sasl_buf_adds(&c->sc_out, c->sc_authcid);
		sasl_buf_add(&c->sc_out, "", 1);
		sasl_buf_add(&c->sc_out, c->sc_password, c->sc_pwlen);
		break;
	case SASL_MECH_DIGEST_MD5:
		c->sc_state = SASL_ST_STARTED;
		return SASL_CONTINUE;
	case SASL_MECH_SCRAM_SHA_1:
	case SASL_MECH_SCRAM_SHA_256:
		if (sasl_scram_start(c) == SASL_FAIL)
			return SASL_FAIL;
		break;
	default:
		return sasl_fail(c, "unsupported SASL mechanism");
	}
	if (c->sc_out.sb_err)
		return sasl_fail(c, "out of memory");
	c->sc_state = SASL_ST_STARTED;
	*out = (unsigned char *)c->sc_out.sb_data;
	*outlen = c->sc_out.sb_len;
	return SASL_CONTINUE;
}

/*
 * Answer one decoded server challenge (in may be NULL when inlen is 0).
 * SASL_CONTINUE: send the *outlen bytes at *out (never NULL, possibly
 * empty: an empty <response/>); they belong to c until the next call.
 * SASL_FAIL: malformed or hostile challenge, or the server failed to
 * prove itself; c stays failed. SASL_DONE is never returned here: the
 * exchange ends with sasl_client_success().
 */
int
sasl_client_step(struct sasl_client *c, const unsigned char *in,
    size_t inlen, unsigned char **out, size_t *outlen)
{
	int	rv;

	*out = NULL;
	*outlen = 0;
	if (c->sc_state == SASL_ST_FAILED)
		return SASL_FAIL;
	if (in == NULL && inlen > 0)
		return sasl_fail(c, "challenge without data");
	if (inlen > SASL_MSGMAX)
		return sasl_fail(c, "server challenge longer than %d bytes",
		    SASL_MSGMAX);
	if (c->sc_state == SASL_ST_INIT || c->sc_state == SASL_ST_DONE)
		return sasl_fail(c, "challenge %s", c->sc_state ==
		    SASL_ST_INIT ? "before the exchange started" :
		    "after success");
	sasl_buf_reset(&c->sc_out);
	switch (c->sc_mech) {
	case SASL_MECH_SCRAM_SHA_1:
	case SASL_MECH_SCRAM_SHA_256:
		rv = sasl_scram_step(c, in, inlen);
		break;
	case SASL_MECH_DIGEST_MD5:
		rv = sasl_digest_step(c, in, inlen);
		break;
	default:
		return sasl_fail(c, "%s expects no challenge",
		    sasl_mech_name(c->sc_mech));
	}
	if (rv == SASL_FAIL || rv == SASL_PENDING)
		return rv;
	if (c->sc_out.sb_err)
		return sasl_fail(c, "out of memory");
	*out = (unsigned char *)c->sc_out.sb_data;
	*outlen = c->sc_out.sb_len;
	return SASL_CONTINUE;
}

/*
 * The server reported success, with len bytes of decoded additional data
 * (len 0: none). SCRAM and DIGEST-MD5 return SASL_DONE only once the server
 * has proved it knows the password, here or in an earlier challenge;
 * PLAIN cannot check the server and returns SASL_DONE. SASL_FAIL otherwise.
 */
int
sasl_client_success(struct sasl_client *c, const unsigned char *data,
    size_t len)
{
	int	rv = SASL_CONTINUE;

	if (c->sc_state == SASL_ST_FAILED)
		return SASL_FAIL;
	if (data == NULL && len > 0)
		return sasl_fail(c, "success data missing");
	if (len > SASL_MSGMAX)
		return sasl_fail(c, "success data longer than %d bytes",
		    SASL_MSGMAX);
	if (c->sc_state == SASL_ST_INIT || c->sc_state == SASL_ST_DONE)
		return sasl_fail(c, "success %s", c->sc_state ==
		    SASL_ST_INIT ? "before the exchange started" : "twice");
	if (c->sc_mech == SASL_MECH_PLAIN)
		c->sc_state = SASL_ST_VERIFIED;
	else if (len > 0 && c->sc_mech == SASL_MECH_DIGEST_MD5)
		rv = sasl_digest_final(c, data, len);
	else if (len > 0)
		rv = sasl_scram_final(c, data, len);
	if (rv == SASL_FAIL)
		return SASL_FAIL;
	if (c->sc_state != SASL_ST_VERIFIED)
		return sasl_fail(c, "server reported success without proving "
		    "it knows the password");
	c->sc_state = SASL_ST_DONE;
	sasl_buf_reset(&c->sc_out);
	return SASL_DONE;
}

/* Mechanism of c. */
enum sasl_mech
sasl_client_mech(const struct sasl_client *c)
{
	return c->sc_mech;
}

/*
 * Reason of the failure, "" if none. Peer bytes in it are escaped; it
 * never holds the password. Owned by c.
 */
const char *
sasl_client_error(const struct sasl_client *c)
{
	return c->sc_err;
}

/* Wipe every secret in c and free it. NULL is accepted. */
void
sasl_client_free(struct sasl_client *c)
{
	if (c == NULL)
		return;
	sasl_wipefree(c->sc_password, c->sc_pwlen);
	c->sc_password = NULL;
	free(c->sc_authcid);
	free(c->sc_domain);
	if (c->sc_cfirst != NULL)
		sasl_wipefree(c->sc_cfirst, strlen(c->sc_cfirst));
	if (c->sc_sfm != NULL)
		sasl_wipefree(c->sc_sfm, c->sc_sfmlen);
	sasl_buf_free(&c->sc_out);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

/*
 * Mark c failed with a formatted reason (the first reason wins) and return
 * SASL_FAIL, so mechanisms can "return sasl_fail(c, ...)". Callers pass
 * peer bytes only through sasl_printable().
 */
int
sasl_fail(struct sasl_client *c, const char *fmt, ...)
{
	va_list	ap;

	if (c->sc_state != SASL_ST_FAILED) {
		va_start(ap, fmt);
		(void)vsnprintf(c->sc_err, sizeof(c->sc_err), fmt, ap);
		va_end(ap);
	}
	c->sc_state = SASL_ST_FAILED;
	sasl_buf_reset(&c->sc_out);
	return SASL_FAIL;
}

/* Wipe len bytes at p and free p. NULL is accepted. */
void
sasl_wipefree(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

/* Lowercase hex of n bytes into out, which holds 2 * n + 1 bytes. */
void
sasl_hex(const unsigned char *in, size_t n, char *out)
{
	static const char	hexd[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hexd[in[i] >> 4];
		out[2 * i + 1] = hexd[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * Copy n peer bytes into dst (cap bytes, NUL-terminated) for an error
 * message: printable ASCII stays, everything else becomes '?', and a
 * truncated copy ends in "...".
 */
void
sasl_printable(char *dst, size_t cap, const char *src, size_t n)
{
	size_t	i;

	if (cap == 0)
		return;
	for (i = 0; i < n && i + 1 < cap; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
	if (i < n && cap >= 4)
		(void)memcpy(dst + cap - 4, "...", 4);
}

/* Empty b, wiping what it held; the storage is kept. */
void
sasl_buf_reset(struct sasl_buf *b)
{
	if (b->sb_data != NULL)
		explicit_bzero(b->sb_data, b->sb_cap);
	b->sb_len = 0;
}

/* Wipe and free b's storage; b is empty and reusable afterwards. */
void
sasl_buf_free(struct sasl_buf *b)
{
	sasl_wipefree(b->sb_data, b->sb_cap);
	b->sb_data = NULL;
	b->sb_len = b->sb_cap = 0;
	b->sb_err = 0;
}

/*
 * Append n bytes (the buffer stays NUL-terminated). On ENOMEM the sticky
 * sb_err is set and later appends do nothing; callers check it once.
 */
void
sasl_buf_add(struct sasl_buf *b, const void *p, size_t n)
{
	if (b->sb_err)
		return;
	buf_grow(b, n + 1);
	if (b->sb_err)
		return;
	if (n > 0)
		(void)memcpy(b->sb_data + b->sb_len, p, n);
	b->sb_len += n;
	b->sb_data[b->sb_len] = '\0';
}

/* Append a C string. */
void
sasl_buf_adds(struct sasl_buf *b, const char *s)
{
	sasl_buf_add(b, s, strlen(s));
}

/*
 * Make room for more bytes after sb_len. Growing copies into a new block
 * and wipes the old one, so no stale secret stays on the heap.
 */
static void
buf_grow(struct sasl_buf *b, size_t more)
{
	size_t	 ncap;
	char	*np;

	if (more > SIZE_MAX / 2 - b->sb_len) {
		b->sb_err = 1;
		return;
	}
	if (b->sb_len + more <= b->sb_cap)
		return;
	ncap = b->sb_cap < 64 ? 64 : b->sb_cap;
	while (ncap < b->sb_len + more)
		ncap *= 2;
	if ((np = malloc(ncap)) == NULL) {
		b->sb_err = 1;
		return;
	}
	if (b->sb_data != NULL)
		(void)memcpy(np, b->sb_data, b->sb_len);
	sasl_wipefree(b->sb_data, b->sb_cap);
	b->sb_data = np;
	b->sb_cap = ncap;
}

/* snprintf into a caller's error buffer, which may be NULL. */
static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
