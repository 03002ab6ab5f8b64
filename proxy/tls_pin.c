/*
 * tls_pin: trust in a server key beyond the CA chain. Contract:
 *
 * - A key is the SHA-256 of the certificate's DER SubjectPublicKeyInfo,
 *   written "sha256:" and 64 hex digits, compared with CRYPTO_memcmp.
 * - upstream-verify = chain: the handshake itself verified chain and name
 *   (tls.c); pin: the key must be one of upstream-pin, chain ignored;
 *   tofu: a verified chain is enough, else the key must be the one pinned
 *   for this upstream (HOST:PORT), which is pinned now if there is none;
 *   no: anything goes and nothing is recorded.
 * - With verification on, the first TLS session with an upstream leaves
 *   its line in the store (state-dir/upstream-pins): the key, and that the
 *   server offered STARTTLS. From then on features without <starttls/>
 *   are a downgrade and refused (upstream-tls = starttls).
 * - The store is read at every check (a `nabproxy tls-pin forget` counts
 *   at once, no reload) and replaced atomically, mode 0600: a crash
 *   leaves the old file or the new one, never half of one.
 * - A refusal says which key was seen, which was expected and the exact
 *   command that trusts the new key.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "leg.h"
#include "log.h"
#include "proxy.h"
#include "tls_pin.h"

#define PIN_HEADER	"# nabproxy upstream pins: UPSTREAM KEY starttls" \
			" (see nabproxy tls-pin)"

static int	 hexval(int);
static int	 pin_read(const char *, char **, char *, size_t);
static char	*pin_next(char **);
static int	 pin_line(char *, const char **, unsigned char *);
static int	 pin_write(const char *, const char *, size_t, char *, size_t);
static int	 pin_key(SSL *, unsigned char *);
static int	 pin_configured(const struct proxy_opts *, const unsigned char *,
		    const char *, char *, size_t);
static int	 pin_tofu(const struct proxy_opts *, const char *, SSL *,
		    const unsigned char *, char *, size_t);
static void	 pin_forget_cmd(const struct proxy_opts *, const char *, char *,
		    size_t);

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
tls_pin_parse(const char *s, unsigned char pin[TLS_PIN_LEN])
{
	int	hi, lo;
	size_t	i;

	if (strncmp(s, "sha256:", 7) != 0 || strlen(s + 7) != 2 * TLS_PIN_LEN)
		return -1;
	for (i = 0, s += 7; i < TLS_PIN_LEN; i++, s += 2) {
		if ((hi = hexval(s[0])) == -1 || (lo = hexval(s[1])) == -1)
			return -1;
		pin[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

char *
tls_pin_format(const unsigned char pin[TLS_PIN_LEN], char out[TLS_PIN_TEXT])
{
	static const char	hex[] = "0123456789abcdef";
	size_t			i;

	memcpy(out, "sha256:", 7);
	for (i = 0; i < TLS_PIN_LEN; i++) {
		out[7 + 2 * i] = hex[pin[i] >> 4];
		out[8 + 2 * i] = hex[pin[i] & 15];
	}
	out[7 + 2 * TLS_PIN_LEN] = '\0';
	return out;
}

void
tls_pin_upstream(const char *host, unsigned short port, char *buf,
    size_t len)
{
	snprintf(buf, len, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
	    (unsigned)port);
}

/* The whole file, NUL-terminated, into *buf; a missing file is "". */
static int
pin_read(const char *file, char **buf, char *err, size_t errlen)
{
	FILE	*f;
	size_t	 n = 0, cap = 0;
	char	*b = NULL, *nb;

	if ((f = fopen(file, "r")) == NULL && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	do {
		if (n + 1024 > cap) {
			cap = cap ? 2 * cap : 4096;
			if ((nb = realloc(b, cap)) == NULL) {
				snprintf(err, errlen, "%s: out of memory", file);
				goto fail;
			}
			b = nb;
		}
		n += f ? fread(b + n, 1, cap - n - 1, f) : 0;
	} while (f != NULL && !feof(f) && !ferror(f));
	if (f != NULL && ferror(f)) {
		snprintf(err, errlen, "%s: read error", file);
		goto fail;
	}
	if (f != NULL)
		fclose(f);
	b[n] = '\0';
	*buf = b;
	return 0;
 fail:
	if (f != NULL)
		fclose(f);
	free(b);
	return -1;
}

/* The next line of *sp (its LF replaced by NUL), NULL at the end. */
static char *
pin_next(char **sp)
{
	char	*l = *sp, *nl;

	if (*l == '\0')
		return NULL;
	if ((nl = strchr(l, '\n')) != NULL) {
		*nl = '\0';
		*sp = nl + 1;
	} else
		*sp = l + strlen(l);
	return l;
}

/*
 * A copy of line split into its upstream and key: 1 if it is a record,
 * 0 for a comment, a blank or a malformed line.
 */
static int
pin_line(char *line, const char **up, unsigned char *pin)
{
	char	*save, *u, *k;

	if (line[0] == '#' || (u = strtok_r(line, " \t\r", &save)) == NULL ||
	    (k = strtok_r(NULL, " \t\r", &save)) == NULL ||
	    tls_pin_parse(k, pin) == -1)
		return 0;
	*up = u;
	return 1;
}

int
tls_pin_lookup(const char *file, const char *upstream,
    unsigned char pin[TLS_PIN_LEN], char *err, size_t errlen)
{
	char		*buf, *s, *l;
	const char	*up;
	unsigned char	 k[TLS_PIN_LEN];
	int		 found = 0;

	if (pin_read(file, &buf, err, errlen) == -1)
		return -1;
	for (s = buf; (l = pin_next(&s)) != NULL; )
		if (pin_line(l, &up, k) && strcmp(up, upstream) == 0) {
			memcpy(pin, k, TLS_PIN_LEN);
			found = 1;
		}
	free(buf);
	return found;
}

/* data replaces file: temp file beside it, 0600, fsync, rename. */
static int
pin_write(const char *file, const char *data, size_t len, char *err,
    size_t errlen)
{
	char	 tmp[4096];
	ssize_t	 w;
	size_t	 off = 0;
	int	 fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", file) >=
	    sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", file);
		return -1;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		snprintf(err, errlen, "cannot write %s: %s", file,
		    strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0600) == -1)
		goto fail;
	while (off < len) {
		if ((w = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, file) == -1)
		goto fail;
	return 0;
 fail:
	snprintf(err, errlen, "cannot write %s: %s", file, strerror(errno));
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

int
tls_pin_store(const char *file, const char *upstream,
    const unsigned char *pin, char *err, size_t errlen)
{
	char		*buf, *s, *l, *out = NULL, copy[1024], hex[TLS_PIN_TEXT];
	const char	*up;
	unsigned char	 k[TLS_PIN_LEN];
	size_t		 outlen = 0;
	FILE		*m;
	int		 rc, had = 0;

	if (pin_read(file, &buf, err, errlen) == -1)
		return -1;
	if ((m = open_memstream(&out, &outlen)) == NULL) {
		free(buf);
		snprintf(err, errlen, "%s: out of memory", file);
		return -1;
	}
	fprintf(m, "%s\n", PIN_HEADER);
	for (s = buf; (l = pin_next(&s)) != NULL; ) {
		snprintf(copy, sizeof(copy), "%s", l);
		if (pin_line(copy, &up, k) && strcmp(up, upstream) == 0)
			had = 1;
		else if (strcmp(l, PIN_HEADER) != 0 && *l != '\0')
			fprintf(m, "%s\n", l);
	}
	if (pin != NULL)
		fprintf(m, "%s %s starttls\n", upstream,
		    tls_pin_format(pin, hex));
	free(buf);
	if (fclose(m) != 0) {
		free(out);
		snprintf(err, errlen, "%s: out of memory", file);
		return -1;
	}
	rc = pin == NULL && !had ? 1 :
	    pin_write(file, out, outlen, err, errlen);
	free(out);
	return rc;
}

int
tls_pin_list(const char *file, FILE *out, char *err, size_t errlen)
{
	char		*buf, *s, *l, copy[1024];
	const char	*up;
	unsigned char	 k[TLS_PIN_LEN];

	if (pin_read(file, &buf, err, errlen) == -1)
		return -1;
	for (s = buf; (l = pin_next(&s)) != NULL; ) {
		snprintf(copy, sizeof(copy), "%s", l);
		if (pin_line(copy, &up, k))
			fprintf(out, "%s\n", l);
	}
	free(buf);
	return 0;
}

/* SHA-256 of the peer certificate's DER SubjectPublicKeyInfo. */
static int
pin_key(SSL *ssl, unsigned char *pin)
{
	X509		*x;
	unsigned char	*der = NULL;
	unsigned int	 mdlen = 0;
	int		 n, ok;

	if ((x = SSL_get0_peer_certificate(ssl)) == NULL ||
	    (n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) <= 0)
		return -1;
	ok = EVP_Digest(der, (size_t)n, pin, &mdlen, EVP_sha256(), NULL) == 1 &&
	    mdlen == TLS_PIN_LEN;
	OPENSSL_free(der);
	return ok ? 0 : -1;
}

/* "nabproxy tls-pin [-c CONF] forget UPSTREAM" into buf. */
static void
pin_forget_cmd(const struct proxy_opts *opt, const char *upstream, char *buf,
    size_t len)
{
	snprintf(buf, len, "nabproxy tls-pin%s%s forget %s",
	    opt->conf_path[0] ? " -c " : "", opt->conf_path, upstream);
}

/* upstream-verify = pin: the key must be one of upstream-pin. */
static int
pin_configured(const struct proxy_opts *opt, const unsigned char *key,
    const char *upstream, char *why, size_t len)
{
	char	seen[TLS_PIN_TEXT], want[TLS_PIN_TEXT];
	size_t	i;
	int	match = 0;

	for (i = 0; i < opt->nupstream_pins; i++)
		match |= CRYPTO_memcmp(opt->upstream_pins[i], key,
		    TLS_PIN_LEN) == 0;
	if (match)
		return 0;
	tls_pin_format(opt->upstream_pins[0], want);
	snprintf(why, len, "TLS with %s refused: the server's key %s is not an"
	    " upstream-pin (%s%s); if the server's key changed on purpose, set"
	    " upstream-pin = %s in %s", upstream, tls_pin_format(key, seen),
	    want, opt->nupstream_pins > 1 ? ", ..." : "", seen,
	    opt->conf_path[0] ? opt->conf_path : "nabproxy.conf");
	return -1;
}

/* upstream-verify = tofu, the chain did not verify: the pinned key. */
static int
pin_tofu(const struct proxy_opts *opt, const char *upstream, SSL *ssl,
    const unsigned char *key, char *why, size_t len)
{
	unsigned char	pinned[TLS_PIN_LEN];
	char		seen[TLS_PIN_TEXT], want[TLS_PIN_TEXT], err[512],
			cmd[700];
	int		r;

	if (opt->pin_file[0] == '\0') {
		snprintf(why, len, "TLS with %s refused: certificate "
		    "verification failed (%s) and there is no pin store",
		    upstream, X509_verify_cert_error_string(
		    SSL_get_verify_result(ssl)));
		return -1;
	}
	tls_pin_format(key, seen);
	if ((r = tls_pin_lookup(opt->pin_file, upstream, pinned, err,
	    sizeof(err))) == -1 || (r == 0 && tls_pin_store(opt->pin_file,
	    upstream, key, err, sizeof(err)) != 0)) {
		snprintf(why, len, "TLS with %s refused: cannot pin the "
		    "server's key %s: %s", upstream, seen, err);
		return -1;
	}
	if (r == 0) {
		log_info("TLS with %s: certificate not verified (%s), pinned the"
		    " server's key %s in %s (trust on first use)", upstream,
		    X509_verify_cert_error_string(SSL_get_verify_result(ssl)),
		    seen, opt->pin_file);
		return 0;
	}
	if (CRYPTO_memcmp(pinned, key, TLS_PIN_LEN) == 0)
		return 0;
	pin_forget_cmd(opt, upstream, cmd, sizeof(cmd));
	snprintf(why, len, "TLS with %s refused: the server's key %s is not "
	    "the key pinned in %s (%s); if the server's key changed on "
	    "purpose, run: %s", upstream, seen, opt->pin_file,
	    tls_pin_format(pinned, want), cmd);
	return -1;
}

int
tls_pin_check(struct leg *l, const struct proxy_opts *opt, char *why,
    size_t len)
{
	unsigned char	 key[TLS_PIN_LEN], old[TLS_PIN_LEN];
	char		 upstream[300], err[512];
	SSL		*ssl;
	int		 r;

	why[0] = '\0';
	if (opt->upstream_verify == TLS_VERIFY_NO)
		return 0;
	tls_pin_upstream(opt->upstream_host, opt->upstream_port, upstream,
	    sizeof(upstream));
	if (l->bev == NULL ||
	    (ssl = bufferevent_openssl_get_ssl(l->bev)) == NULL ||
	    pin_key(ssl, key) == -1) {
		snprintf(why, len, "TLS with %s refused: no server key",
		    upstream);
		return -1;
	}
	if (opt->upstream_verify == TLS_VERIFY_PIN &&
	    pin_configured(opt, key, upstream, why, len) == -1)
		return -1;
	if (opt->upstream_verify == TLS_VERIFY_TOFU &&
	    SSL_get_verify_result(ssl) != X509_V_OK)
		return pin_tofu(opt, upstream, ssl, key, why, len);
	/* Verified: remember that this upstream speaks TLS, and its key. */
	if (opt->pin_file[0] != '\0' && (r = tls_pin_lookup(opt->pin_file,
	    upstream, old, err, sizeof(err))) != 1 && (r == -1 ||
	    tls_pin_store(opt->pin_file, upstream, key, err, sizeof(err)) != 0))
		log_warnx("TLS with %s: cannot record its key: %s", upstream,
		    err);
	return 0;
}

int
tls_pin_stripped(const struct proxy_opts *opt, char *why, size_t len)
{
	unsigned char	pinned[TLS_PIN_LEN];
	char		upstream[300], err[512], cmd[700];
	int		r;

	if (opt->upstream_tls != UPSTREAM_TLS_STARTTLS ||
	    opt->upstream_verify == TLS_VERIFY_NO || opt->pin_file[0] == '\0')
		return 0;
	tls_pin_upstream(opt->upstream_host, opt->upstream_port, upstream,
	    sizeof(upstream));
	if ((r = tls_pin_lookup(opt->pin_file, upstream, pinned, err,
	    sizeof(err))) == 0)
		return 0;
	if (r == -1) {
		snprintf(why, len, "server %s does not offer STARTTLS and the "
		    "pin store cannot tell whether it did before: %s",
		    upstream, err);
		return 1;
	}
	pin_forget_cmd(opt, upstream, cmd, sizeof(cmd));
	snprintf(why, len, "server %s does not offer STARTTLS but did before "
	    "(%s): STARTTLS was stripped, refusing to go on in clear; if TLS "
	    "was switched off on purpose, run: %s", upstream, opt->pin_file,
	    cmd);
	return 1;
}

void
tls_pin_path(const char *state_dir, char *out, size_t cap)
{
	size_t	n = strlen(state_dir);

	snprintf(out, cap, "%s%s%s", state_dir,
	    n > 0 && state_dir[n - 1] == '/' ? "" : "/", TLS_PIN_FILE);
}
