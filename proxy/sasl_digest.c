/*
 * sasl_digest: DIGEST-MD5 (RFC 2831) directive parser, hash computation
 * and client, qop=auth only.
 *
 * The parser takes (pointer, length) input and keeps quoted values as raw
 * bytes, NULs included, because the hash must see exactly what the peer
 * sent. The client answers one challenge and then insists on a matching
 * rspauth, from a second challenge or from the <success> data.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "sasl.h"
#include "sasl_impl.h"

#define DG_REALMMAX	255
#define DG_RAWCNONCE	12	/* random bytes, 16 base64 characters */

/* What the client keeps from the first challenge. */
struct dg_chal {
	char	ch_realm[DG_REALMMAX + 1];
	size_t	ch_realmlen;
	int	ch_nrealm;
	char	ch_nonce[SASL_DG_VALMAX + 1];
	size_t	ch_noncelen;
	int	ch_qop;		/* qop-options seen */
	int	ch_qopauth;	/* "auth" offered */
	int	ch_charset;
	int	ch_algorithm;
	int	ch_seen_stale;
	int	ch_seen_maxbuf;
};

static int	dg_istoken(unsigned char);
static int	dg_isvalue(unsigned char);
static const char *dg_lws(const char *, const char *);
static int	dg_update(EVP_MD_CTX *, const char *, size_t, int);
static int	dg_latin1(const char *, size_t, unsigned char *, size_t *);
static int	dg_hash_hex(EVP_MD_CTX *, char [SASL_DIGEST_HEXSIZE]);
static int	dg_parse_chal(struct sasl_client *, const char *, size_t,
		    struct dg_chal *);
static int	dg_chal_kv(struct sasl_client *, const struct sasl_dg_kv *,
		    struct dg_chal *);
static int	dg_qop_list(const char *, size_t);
static int	dg_respond(struct sasl_client *, const struct dg_chal *);
static int	dg_rspauth(struct sasl_client *, const unsigned char *,
		    size_t);

/* RFC 2616 token character. */
static int
dg_istoken(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && strchr("()<>@,;:\\\"/[]?={}", ch) ==
	    NULL;
}

/*
 * Character of an unquoted value. Wider than a token on purpose: servers
 * write things like digest-uri=xmpp/host unquoted.
 */
static int
dg_isvalue(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && ch != ',' && ch != '"';
}

/* Skip linear white space; returns the first other position or end. */
static const char *
dg_lws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' ||
	    *p == '\n'))
		p++;
	return p;
}

/*
 * Read the next directive name=value from [*pp, end), skipping empty list
 * elements (",,") and white space around separators. Quoted values are
 * unescaped (backslash quotes the next byte) and may hold any byte, NUL
 * included; kv->kv_val is NUL-terminated after kv_vallen bytes. Returns 1
 * with *pp advanced, 0 at the end of input, -1 on malformed input or a
 * name or value over its cap.
 */
int
sasl_dg_next(const char **pp, const char *end, struct sasl_dg_kv *kv)
{
	const char	*p = *pp;
	size_t		 n = 0;

	while (p < end && (*p == ',' || *p == ' ' || *p == '\t' ||
	    *p == '\r' || *p == '\n'))
		p++;
	if (p == end) {
		*pp = p;
		return 0;
	}
	while (p < end && dg_istoken((unsigned char)*p)) {
		if (n == SASL_DG_NAMEMAX)
			return -1;
		kv->kv_name[n++] = *p++;
	}
	kv->kv_name[n] = '\0';
	p = dg_lws(p, end);
	if (n == 0 || p == end || *p++ != '=')
		return -1;
	p = dg_lws(p, end);
	n = 0;
	if (p < end && *p == '"') {
		for (p++; ; p++) {
			if (p == end)
				return -1;
			if (*p == '"')
				break;
			if (*p == '\\' && ++p == end)
				return -1;
			if (n == SASL_DG_VALMAX)
				return -1;
			kv->kv_val[n++] = *p;
		}
		p++;
	} else {
		while (p < end && dg_isvalue((unsigned char)*p)) {
			if (n == SASL_DG_VALMAX)
				return -1;
			kv->kv_val[n++] = *p++;
		}
		if (n == 0)
			return -1;
	}
	kv->kv_val[n] = '\0';
	kv->kv_vallen = n;
	p = dg_lws(p, end);
	if (p < end && *p != ',')
		return -1;
	*pp = p;
	return 1;
}

/* Append s as a quoted-string, escaping '"' and '\\'. */
void
sasl_dg_quoted(struct sasl_buf *b, const char *s, size_t n)
{
	size_t	i;

	sasl_buf_add(b, "\"", 1);
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			sasl_buf_add(b, "\\", 1);
		sasl_buf_add(b, s + i, 1);
	}
	sasl_buf_add(b, "\"", 1);
}

/*
 * If s (n bytes) is valid UTF-8 and every code point is below 256, write
 * its ISO 8859-1 form to out (n bytes suffice) and return 1; else 0.
 */
static int
dg_latin1(const char *s, size_t n, unsigned char *out, size_t *outlen)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, o = 0;

	for (i = 0; i < n; i++) {
		if (p[i] < 0x80)
			out[o++] = p[i];
		else if ((p[i] == 0xc2 || p[i] == 0xc3) && i + 1 < n &&
		    (p[i + 1] & 0xc0) == 0x80) {
			out[o++] = (unsigned char)((p[i] & 0x03) << 6 |
			    (p[i + 1] & 0x3f));
			i++;
		} else
			return 0;
	}
	*outlen = o;
	return 1;
}

/*
 * Hash n bytes of s; with utf8 (charset=utf-8 given) a string that fits
 * ISO 8859-1 is hashed in that form, as RFC 2831 2.1.2.1 requires.
 * Returns 0 or -1.
 */
static int
dg_update(EVP_MD_CTX *ctx, const char *s, size_t n, int utf8)
{
	unsigned char	*tmp;
	size_t		 tlen;
	int		 rv = 0;

	if (n == 0)
		return 0;
	if (!utf8)
		return EVP_DigestUpdate(ctx, s, n) == 1 ? 0 : -1;
	if ((tmp = malloc(n)) == NULL)
		return -1;
	if (dg_latin1(s, n, tmp, &tlen))
		rv = EVP_DigestUpdate(ctx, tmp, tlen) == 1 ? 0 : -1;
	else
		rv = EVP_DigestUpdate(ctx, s, n) == 1 ? 0 : -1;
	sasl_wipefree(tmp, n);
	return rv;
}

/* Finish ctx as lowercase hex MD5 and restart it. Returns 0 or -1. */
static int
dg_hash_hex(EVP_MD_CTX *ctx, char hex[SASL_DIGEST_HEXSIZE])
{
	unsigned char	h[16];
	unsigned	hl;

	if (EVP_DigestFinal_ex(ctx, h, &hl) != 1 || hl != sizeof(h) ||
	    EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1)
		return -1;
	sasl_hex(h, sizeof(h), hex);
	explicit_bzero(h, sizeof(h));
	return 0;
}

/*
 * The response value (rspauth == 0) or the rspauth value (rspauth == 1)
 * of RFC 2831 2.1.2.1 / 2.1.3 for qop=auth, as 32 lowercase hex digits
 * and a NUL in hex. Returns 0, or -1 on an OpenSSL or allocation error.
 */
int
sasl_dg_compute(const struct sasl_dg_in *in, int rspauth,
    char hex[SASL_DIGEST_HEXSIZE])
{
	EVP_MD_CTX	*ctx;
	unsigned char	 urp[16];
	char		 ha1[SASL_DIGEST_HEXSIZE], ha2[SASL_DIGEST_HEXSIZE];
	unsigned	 hl;
	int		 rv = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1 ||
	    dg_update(ctx, in->di_user, in->di_userlen, in->di_utf8) == -1 ||
	    EVP_DigestUpdate(ctx, ":", 1) != 1 ||
	    dg_update(ctx, in->di_realm, in->di_realmlen, in->di_utf8) == -1 ||
	    EVP_DigestUpdate(ctx, ":", 1) != 1 ||
	    dg_update(ctx, in->di_pass, in->di_passlen, in->di_utf8) == -1 ||
	    EVP_DigestFinal_ex(ctx, urp, &hl) != 1 ||
	    EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1)
		goto done;
	/* A1 = H(user:realm:pass) ":" nonce ":" cnonce [":" authzid] */
	if (EVP_DigestUpdate(ctx, urp, sizeof(urp)) != 1 ||
	    EVP_DigestUpdate(ctx, ":", 1) != 1 ||
	    EVP_DigestUpdate(ctx, in->di_nonce, in->di_noncelen) != 1 ||
	    EVP_DigestUpdate(ctx, ":", 1) != 1 ||
	    EVP_DigestUpdate(ctx, in->di_cnonce, in->di_cnoncelen) != 1 ||
	    (in->di_authzid != NULL &&
	    (EVP_DigestUpdate(ctx, ":", 1) != 1 ||
	    EVP_DigestUpdate(ctx, in->di_authzid, in->di_authzidlen) != 1)) ||
	    dg_hash_hex(ctx, ha1) == -1)
		goto done;
	/* A2 = ["AUTHENTICATE"] ":" digest-uri */
	if ((!rspauth && EVP_DigestUpdate(ctx, "AUTHENTICATE", 12) != 1) ||
	    EVP_DigestUpdate(ctx, ":", 1) != 1 ||
	    EVP_DigestUpdate(ctx, in->di_uri, in->di_urilen) != 1 ||
	    dg_hash_hex(ctx, ha2) == -1)
		goto done;
	/* KD(HEX(H(A1)), nonce:nc:cnonce:qop:HEX(H(A2))) */
	if (EVP_DigestUpdate(ctx, ha1, 32) != 1 ||
	    EVP_DigestUpdate(ctx, ":", 1) != 1 ||
	    EVP_DigestUpdate(ctx, in->di_nonce, in->di_noncelen) != 1 ||
	    EVP_DigestUpdate(ctx, ":", 1) != 1 ||
	    EVP_DigestUpdate(ctx, in->di_nc, 8) != 1 ||
	    EVP_DigestUpdate(ctx, ":", 1) != 1 ||
	    EVP_DigestUpdate(ctx, in->di_cnonce, in->di_cnoncelen) != 1 ||
	    EVP_DigestUpdate(ctx, ":auth:", 6) != 1 ||
	    EVP_DigestUpdate(ctx, ha2, 32) != 1 ||
	    dg_hash_hex(ctx, hex) == -1)
		goto done;
	rv = 0;
 done:
	explicit_bzero(urp, sizeof(urp));
	explicit_bzero(ha1, sizeof(ha1));
	EVP_MD_CTX_free(ctx);
	return rv;
}

/*
 * A DIGEST-MD5 challenge: the digest-challenge after start, or the
 * "rspauth=" challenge after our response (answered with an empty
 * response). Output goes to c->sc_out. SASL_CONTINUE or SASL_FAIL.
 */
int
sasl_digest_step(struct sasl_client *c, const unsigned char *in,
    size_t inlen)
{
	struct dg_chal	*ch;
	int		 rv;

	if (c->sc_state == SASL_ST_FINAL)
		return dg_rspauth(c, in, inlen);
	if (c->sc_state != SASL_ST_STARTED)
		return sasl_fail(c, "unexpected DIGEST-MD5 challenge");
	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		return sasl_fail(c, "out of memory");
	rv = dg_parse_chal(c, (const char *)in, inlen, ch);
	if (rv != SASL_FAIL)
		rv = dg_respond(c, ch);
	free(ch);
	if (rv == SASL_FAIL)
		return SASL_FAIL;
	c->sc_state = SASL_ST_FINAL;
	return SASL_CONTINUE;
}

/*
 * <success> data "rspauth=...". SASL_CONTINUE once verified (state
 * VERIFIED) or SASL_FAIL.
 */
int
sasl_digest_final(struct sasl_client *c, const unsigned char *in,
    size_t inlen)
{
	if (c->sc_state != SASL_ST_FINAL && c->sc_state != SASL_ST_VERIFIED)
		return sasl_fail(c, "DIGEST-MD5 success before our response");
	return dg_rspauth(c, in, inlen);
}

/* Parse a digest-challenge into ch. SASL_CONTINUE or SASL_FAIL. */
static int
dg_parse_chal(struct sasl_client *c, const char *msg, size_t len,
    struct dg_chal *ch)
{
	struct sasl_dg_kv	*kv;
	const char		*p = msg, *end = msg + len;
	int			 r;

	if ((kv = malloc(sizeof(*kv))) == NULL)
		return sasl_fail(c, "out of memory");
	while ((r = sasl_dg_next(&p, end, kv)) == 1)
		if (dg_chal_kv(c, kv, ch) == SASL_FAIL)
			break;
	free(kv);
	if (c->sc_state == SASL_ST_FAILED)
		return SASL_FAIL;
	if (r == -1)
		return sasl_fail(c, "malformed DIGEST-MD5 challenge");
	if (ch->ch_noncelen == 0)
		return sasl_fail(c, "DIGEST-MD5 challenge without a nonce");
	if (!ch->ch_algorithm)
		return sasl_fail(c, "DIGEST-MD5 challenge without "
		    "algorithm=md5-sess");
	if (ch->ch_qop && !ch->ch_qopauth)
		return sasl_fail(c, "DIGEST-MD5 server does not offer "
		    "qop=auth");
	return SASL_CONTINUE;
}

/* Take one challenge directive into ch. SASL_CONTINUE or SASL_FAIL. */
static int
dg_chal_kv(struct sasl_client *c, const struct sasl_dg_kv *kv,
    struct dg_chal *ch)
{
	const char	*n = kv->kv_name;
	int		 dup = 0;

	if (strcasecmp(n, "realm") == 0) {
		if (kv->kv_vallen > DG_REALMMAX ||
		    memchr(kv->kv_val, '\0', kv->kv_vallen) != NULL)
			return sasl_fail(c, "DIGEST-MD5 realm too long or "
			    "holding NUL");
		if (ch->ch_nrealm++ == 0) {
			(void)memcpy(ch->ch_realm, kv->kv_val,
			    kv->kv_vallen + 1);
			ch->ch_realmlen = kv->kv_vallen;
		}
	} else if (strcasecmp(n, "nonce") == 0) {
		if ((dup = ch->ch_noncelen > 0) == 0) {
			if (kv->kv_vallen == 0 || memchr(kv->kv_val, '\0',
			    kv->kv_vallen) != NULL)
				return sasl_fail(c, "DIGEST-MD5 nonce empty "
				    "or holding NUL");
			(void)memcpy(ch->ch_nonce, kv->kv_val,
			    kv->kv_vallen + 1);
			ch->ch_noncelen = kv->kv_vallen;
		}
	} else if (strcasecmp(n, "qop") == 0) {
		if ((dup = ch->ch_qop++) == 0)
			ch->ch_qopauth = dg_qop_list(kv->kv_val,
			    kv->kv_vallen);
	} else if (strcasecmp(n, "charset") == 0) {
		if ((dup = ch->ch_charset++) == 0 &&
		    strcasecmp(kv->kv_val, "utf-8") != 0)
			return sasl_fail(c, "DIGEST-MD5 charset is not "
			    "utf-8");
	} else if (strcasecmp(n, "algorithm") == 0) {
		if ((dup = ch->ch_algorithm++) == 0 &&
		    strcasecmp(kv->kv_val, "md5-sess") != 0)
			return sasl_fail(c, "DIGEST-MD5 algorithm is not "
			    "md5-sess");
	} else if (strcasecmp(n, "stale") == 0)
		dup = ch->ch_seen_stale++;
	else if (strcasecmp(n, "maxbuf") == 0)
		dup = ch->ch_seen_maxbuf++;
	else if (strcasecmp(n, "rspauth") == 0)
		return sasl_fail(c, "DIGEST-MD5 rspauth before our response");
	if (dup)
		return sasl_fail(c, "DIGEST-MD5 challenge repeats %s", n);
	return SASL_CONTINUE;
}

/* 1 if the qop-options list (n bytes) names "auth", else 0. */
static int
dg_qop_list(const char *s, size_t n)
{
	const char	*end = s + n, *tok;

	while (s < end) {
		while (s < end && (*s == ',' || *s == ' ' || *s == '\t'))
			s++;
		tok = s;
		while (s < end && *s != ',' && *s != ' ' && *s != '\t')
			s++;
		if (s - tok == 4 && strncasecmp(tok, "auth", 4) == 0)
			return 1;
	}
	return 0;
}

/*
 * Write the digest-response for ch to c->sc_out and remember the rspauth
 * we expect in c->sc_expect. SASL_CONTINUE or SASL_FAIL.
 */
static int
dg_respond(struct sasl_client *c, const struct dg_chal *ch)
{
	struct sasl_dg_in	 in;
	struct sasl_buf		 uri = { NULL, 0, 0, 0 };
	struct sasl_buf		*o = &c->sc_out;
	unsigned char		 raw[DG_RAWCNONCE];
	char			 resp[SASL_DIGEST_HEXSIZE];
	int			 rv = SASL_FAIL;

	if (c->sc_nonce[0] == '\0' && (RAND_bytes(raw, sizeof(raw)) != 1 ||
	    sasl_b64_encode(raw, sizeof(raw), c->sc_nonce,
	    sizeof(c->sc_nonce)) == -1))
		return sasl_fail(c, "random generator failed");
	sasl_buf_adds(&uri, c->sc_service);
	sasl_buf_adds(&uri, "/");
	sasl_buf_adds(&uri, c->sc_domain);
	if (uri.sb_err)
		return sasl_fail(c, "out of memory");
	memset(&in, 0, sizeof(in));
	in.di_user = c->sc_authcid;
	in.di_userlen = strlen(c->sc_authcid);
	in.di_realm = ch->ch_realm;
	in.di_realmlen = ch->ch_realmlen;
	in.di_pass = c->sc_password;
	in.di_passlen = c->sc_pwlen;
	in.di_nonce = ch->ch_nonce;
	in.di_noncelen = ch->ch_noncelen;
	in.di_cnonce = c->sc_nonce;
	in.di_cnoncelen = strlen(c->sc_nonce);
	in.di_nc = "00000001";
	in.di_uri = uri.sb_data;
	in.di_urilen = uri.sb_len;
	in.di_utf8 = ch->ch_charset;
	if (sasl_dg_compute(&in, 0, resp) == -1 ||
	    sasl_dg_compute(&in, 1, (char *)c->sc_expect) == -1) {
		(void)sasl_fail(c, "DIGEST-MD5 hash computation failed");
		goto done;
	}
	c->sc_expectlen = 32;
	if (ch->ch_charset)
		sasl_buf_adds(o, "charset=utf-8,");
	sasl_buf_adds(o, "username=");
	sasl_dg_quoted(o, in.di_user, in.di_userlen);
	if (ch->ch_nrealm > 0) {
		sasl_buf_adds(o, ",realm=");
		sasl_dg_quoted(o, ch->ch_realm, ch->ch_realmlen);
	}
	sasl_buf_adds(o, ",nonce=");
	sasl_dg_quoted(o, ch->ch_nonce, ch->ch_noncelen);
	sasl_buf_adds(o, ",nc=00000001,cnonce=");
	sasl_dg_quoted(o, in.di_cnonce, in.di_cnoncelen);
	sasl_buf_adds(o, ",digest-uri=");
	sasl_dg_quoted(o, uri.sb_data, uri.sb_len);
	sasl_buf_adds(o, ",response=");
	sasl_buf_adds(o, resp);
	sasl_buf_adds(o, ",qop=auth");
	rv = SASL_CONTINUE;
 done:
	explicit_bzero(resp, sizeof(resp));
	sasl_buf_free(&uri);
	return rv;
}

/*
 * Check "rspauth=<hex>" (other directives are ignored, a repeated rspauth
 * is malformed). SASL_CONTINUE (state VERIFIED) or SASL_FAIL.
 */
static int
dg_rspauth(struct sasl_client *c, const unsigned char *in, size_t inlen)
{
	struct sasl_dg_kv	*kv;
	const char		*p = (const char *)in, *end = p + inlen;
	char			 got[SASL_DIGEST_HEXSIZE];
	size_t			 i;
	int			 r, n = 0, bad = 0;

	if ((kv = malloc(sizeof(*kv))) == NULL)
		return sasl_fail(c, "out of memory");
	while ((r = sasl_dg_next(&p, end, kv)) == 1) {
		if (strcasecmp(kv->kv_name, "rspauth") != 0)
			continue;
		if (n++ > 0 || kv->kv_vallen != 32) {
			bad = 1;
			break;
		}
		for (i = 0; i < 32; i++)
			got[i] = (char)(kv->kv_val[i] >= 'A' &&
			    kv->kv_val[i] <= 'F' ? kv->kv_val[i] + 32 :
			    kv->kv_val[i]);
	}
	free(kv);
	if (r == -1 || bad || n == 0)
		return sasl_fail(c, "malformed DIGEST-MD5 rspauth");
	if (c->sc_expectlen != 32 || CRYPTO_memcmp(got, c->sc_expect, 32) != 0)
		return sasl_fail(c, "DIGEST-MD5 rspauth mismatch: the server "
		    "does not know the password");
	c->sc_state = SASL_ST_VERIFIED;
	return SASL_CONTINUE;
}
