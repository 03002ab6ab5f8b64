/*
 * fwsasl: the firmware's base64 and DIGEST-MD5 (see fwsasl.h). Mirrors the
 * bootcode's own code path by path, so that a server or proxy that accepts
 * what this produces accepts the real rabbit.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "fwsasl.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void	md5(const unsigned char *, size_t, unsigned char[16]);
static void	md5hex(const unsigned char *, size_t, char[33]);
static int	put(unsigned char *, size_t, size_t *, const void *, size_t);

int
fw_b64encode(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	size_t		i, o = 0;
	unsigned long	v;

	if (outlen < (n + 2) / 3 * 4 + 1)
		return -1;
	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned long)in[i] << 16 | in[i + 1] << 8 | in[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = b64[v >> 6 & 63];
		out[o++] = b64[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned long)in[i] << 16;
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = '=';		/* the firmware's one '=' short */
	} else if (n - i == 2) {
		v = (unsigned long)in[i] << 16 | in[i + 1] << 8;
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = b64[v >> 6 & 63];	/* and no '=' at all */
	}
	out[o] = '\0';
	return (int)o;
}

int
fw_b64decode(const char *in, size_t n, unsigned char *out, size_t outlen)
{
	size_t		i, k, o = 0;
	unsigned long	v;
	const char	*p;

	if (n % 4 != 0 || outlen < n / 4 * 3)
		return -1;
	for (i = 0; i < n; i += 4) {
		v = 0;
		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=') {
				v <<= 6;
				continue;
			}
			if (in[i + k] == '\0' ||
			    (p = strchr(b64, in[i + k])) == NULL)
				return -1;
			v = v << 6 | (unsigned long)(p - b64);
		}
		out[o++] = v >> 16 & 255;
		out[o++] = v >> 8 & 255;
		out[o++] = v & 255;
	}
	return (int)o;
}

/* Store one value (trailing NULs dropped); -1 if it does not fit. */
static int
store(char *dst, int *dlen, const unsigned char *v, size_t n)
{
	while (n > 0 && v[n - 1] == '\0')
		n--;
	if (n >= FW_VAL_MAX)
		return -1;
	memcpy(dst, v, n);
	dst[n] = '\0';
	*dlen = (int)n;
	return 0;
}

int
fw_challenge_parse(const unsigned char *d, size_t n, struct fw_challenge *c)
{
	const unsigned char	*eq, *close, *comma, *val;
	size_t			 i = 0, j, klen, vlen;
	char			*dst;
	int			*dlen;

	memset(c, 0, sizeof(*c));
	c->nonce_len = c->realm_len = c->qop_len = c->charset_len = -1;
	c->algorithm_len = c->rspauth_len = -1;
	while (i < n) {
		if ((eq = memchr(d + i, '=', n - i)) == NULL)
			break;
		klen = (size_t)(eq - (d + i));
		j = (size_t)(eq - d) + 1;
		if (j < n && d[j] == '"') {
			val = d + j + 1;
			close = memchr(val, '"', n - j - 1);
			vlen = close ? (size_t)(close - val) : n - j - 1;
			i = close ? (size_t)(close - d) + 2 : n;  /* one skipped */
		} else {
			val = d + j;
			comma = memchr(val, ',', n - j);
			vlen = comma ? (size_t)(comma - val) : n - j;
			i = comma ? (size_t)(comma - d) + 1 : n;
		}
#define KEY(s) (klen == sizeof(s) - 1 && memcmp(d + (eq - d) - klen, s, klen) == 0)
		if (KEY("nonce")) {
			if (c->nonce_len != -1)
				return -1;
			dst = c->nonce, dlen = &c->nonce_len;
		} else if (KEY("algorithm")) {
			if (c->algorithm_len != -1)
				return -1;
			dst = c->algorithm, dlen = &c->algorithm_len;
		} else if (KEY("realm"))
			dst = c->realm, dlen = &c->realm_len;
		else if (KEY("qop"))
			dst = c->qop, dlen = &c->qop_len;
		else if (KEY("charset"))
			dst = c->charset, dlen = &c->charset_len;
		else if (KEY("rspauth"))
			dst = c->rspauth, dlen = &c->rspauth_len;
		else
			continue;
#undef KEY
		if (store(dst, dlen, val, vlen) == -1)
			return -1;
	}
	return 0;
}

int
fw_challenge_answerable(const struct fw_challenge *c)
{
	return c->nonce_len >= 0 && strcmp(c->algorithm, "md5-sess") == 0 &&
	    c->algorithm_len >= 0 && c->qop_len >= 0 &&
	    strcmp(c->qop, "auth") == 0 && c->charset_len >= 0 &&
	    strcmp(c->charset, "utf-8") == 0;
}

static void
md5(const unsigned char *d, size_t n, unsigned char out[16])
{
	unsigned int	len = 16;

	(void)EVP_Digest(d, n, out, &len, EVP_md5(), NULL);
}

static void
md5hex(const unsigned char *d, size_t n, char out[33])
{
	unsigned char	h[16];
	int		i;

	md5(d, n, h);
	for (i = 0; i < 16; i++) {
		out[2 * i] = "0123456789abcdef"[h[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[h[i] & 15];
	}
	out[32] = '\0';
}

/* Append n bytes to out (size cap) at *o; -1 once it would overflow. */
static int
put(unsigned char *out, size_t cap, size_t *o, const void *s, size_t n)
{
	if (*o + n > cap)
		return -1;
	memcpy(out + *o, s, n);
	*o += n;
	return 0;
}

#define PUTS(s)		put(buf, sizeof(buf), &o, (s), strlen(s))
#define PUTN(s, n)	put(buf, sizeof(buf), &o, (s), (n))

/* KD(): hex MD5 of HA1:nonce:00000001:cnonce:auth:hex(MD5(a2)). */
static void
kd(const char ha1[33], const struct fw_challenge *c,
    const unsigned char cnonce[14], const char *a2, char out[33])
{
	unsigned char	buf[1024];
	char		h2[33];
	size_t		o = 0;

	md5hex((const unsigned char *)a2, strlen(a2), h2);
	(void)(PUTN(ha1, 32) | PUTS(":") | PUTS(c->nonce) |
	    PUTS(":00000001:") | PUTN(cnonce, 14) | PUTS(":auth:") |
	    PUTN(h2, 32));
	md5hex(buf, o, out);
}

int
fw_digest_response(const char *mac, const char *dom, const char *pw,
    const struct fw_challenge *c, const unsigned char cnonce[14],
    unsigned char *out, size_t outlen, char rspauth[33])
{
	unsigned char	buf[1024];
	char		ha1[33], resp[33], a2[300];
	size_t		o = 0;
	int		bad;
	const char	*realm = c->realm_len > 0 ? c->realm : "";

	/* A1 = MD5(mac:realm:pw) ":" nonce ":" cnonce (NUL included). */
	(void)(PUTS(mac) | PUTS(":") | PUTS(realm) | PUTS(":") | PUTS(pw));
	md5(buf, o, (unsigned char *)a2);
	o = 0;
	(void)(PUTN(a2, 16) | PUTS(":") | PUTS(c->nonce) | PUTS(":") |
	    PUTN(cnonce, 14));
	md5hex(buf, o, ha1);
	snprintf(a2, sizeof(a2), "AUTHENTICATE:xmpp/%s", dom);
	kd(ha1, c, cnonce, a2, resp);
	snprintf(a2, sizeof(a2), ":xmpp/%s", dom);
	kd(ha1, c, cnonce, a2, rspauth);

	o = 0;
	bad = PUTS("username=\"") | PUTS(mac) | PUTS("\",");
	if (c->realm_len > 0)
		bad |= PUTS("realm=\"") | PUTS(realm) | PUTS("\",");
	bad |= PUTS("nonce=\"") | PUTS(c->nonce) | PUTS("\",cnonce=\"") |
	    PUTN(cnonce, 14) | PUTS("\",nc=00000001,qop=auth,digest-uri=\"xmpp/") |
	    PUTS(dom) | PUTS("\",response=") | PUTS(resp) |
	    PUTS(",charset=utf-8");
	if (bad || o > outlen)
		return -1;
	memcpy(out, buf, o);
	return (int)o;
}
