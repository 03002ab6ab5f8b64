/*
 * webauth: reading, checking and comparing the HTTP listener's token (see
 * webauth.h). Nothing here logs a token or a credential; buffers that
 * held one are wiped before they are released.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "config.h"
#include "sasl.h"
#include "webauth.h"

static int	token_file(const char *, char *, size_t, char *, size_t);
static int	matches(const unsigned char *, const char *, size_t);

int
webauth_token_check(const char *tok, char *err, size_t errlen)
{
	size_t	i, n = strlen(tok);

	if (n < WEBAUTH_TOKEN_MIN || n > WEBAUTH_TOKEN_MAX) {
		snprintf(err, errlen, "the token has %zu characters, it needs "
		    "%d to %d (e.g. openssl rand -hex 24)", n,
		    WEBAUTH_TOKEN_MIN, WEBAUTH_TOKEN_MAX);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (tok[i] <= ' ' || tok[i] > '~') {
			snprintf(err, errlen, "the token may hold printable "
			    "ASCII characters only, no spaces (character %zu "
			    "is not)", i + 1);
			return -1;
		}
	return 0;
}

/* Read the first line of path into tok: 0, or -1 with err. */
static int
token_file(const char *path, char *tok, size_t toklen, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		 buf[WEBAUTH_TOKEN_MAX + 64];
	ssize_t		 n;
	int		 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "http-token-file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		snprintf(err, errlen, "http-token-file %s: not a regular file",
		    path);
	else if ((st.st_mode & 077) != 0)
		snprintf(err, errlen, "http-token-file %s: mode %04o, it must "
		    "be readable by its owner only (chmod 600)", path,
		    (unsigned)(st.st_mode & 07777));
	else if ((n = read(fd, buf, sizeof(buf) - 1)) == -1)
		snprintf(err, errlen, "http-token-file %s: %s", path,
		    strerror(errno));
	else {
		buf[n] = '\0';
		buf[strcspn(buf, "\r\n")] = '\0';
		if (strlen(buf) >= toklen)
			snprintf(err, errlen, "http-token-file %s: the token is "
			    "longer than %d characters", path,
			    WEBAUTH_TOKEN_MAX);
		else {
			snprintf(tok, toklen, "%s", buf);
			rc = 0;
		}
	}
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

int
webauth_token(const struct config *cfg, char *tok, size_t toklen, char *err,
    size_t errlen)
{
	const char	*key = "http-token", *inl, *file;
	char		 why[160];

	inl = cfg->http_token != NULL ? cfg->http_token : "";
	file = cfg->http_token_file != NULL ? cfg->http_token_file : "";
	tok[0] = '\0';
	if (inl[0] != '\0' && file[0] != '\0') {
		snprintf(err, errlen, "http-token and http-token-file are both "
		    "set: keep one");
		return -1;
	}
	if (file[0] != '\0') {
		key = "http-token-file";
		if (token_file(file, tok, toklen, err, errlen) == -1)
			return -1;
	} else if (inl[0] == '\0')
		return 0;		/* no token */
	else if (strlen(inl) >= toklen) {
		snprintf(err, errlen, "http-token: longer than %d characters",
		    WEBAUTH_TOKEN_MAX);
		return -1;
	} else
		snprintf(tok, toklen, "%s", inl);
	if (webauth_token_check(tok, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", key, why);
		explicit_bzero(tok, toklen);
		tok[0] = '\0';
		return -1;
	}
	return 0;
}

void
webauth_digest(const char *tok, unsigned char out[WEBAUTH_DIGEST])
{
	SHA256((const unsigned char *)tok, strlen(tok), out);
}

/* 1 if the n bytes at s hash to digest (constant time in the digest). */
static int
matches(const unsigned char *digest, const char *s, size_t n)
{
	unsigned char	d[WEBAUTH_DIGEST];
	int		ok;

	SHA256((const unsigned char *)s, n, d);
	ok = CRYPTO_memcmp(d, digest, WEBAUTH_DIGEST) == 0;
	explicit_bzero(d, sizeof(d));
	return ok;
}

int
webauth_check(const unsigned char digest[WEBAUTH_DIGEST], const char *hdr)
{
	unsigned char	 buf[3 * WEBAUTH_TOKEN_MAX];
	const char	*p, *colon;
	size_t		 n, len;
	int		 ok = 0;

	if (hdr == NULL)
		return 0;
	hdr += strspn(hdr, " \t");
	if (strncasecmp(hdr, "Bearer ", 7) == 0) {
		p = hdr + 7 + strspn(hdr + 7, " \t");
		return matches(digest, p, strcspn(p, " \t"));
	}
	if (strncasecmp(hdr, "Basic ", 6) != 0)
		return 0;
	p = hdr + 6 + strspn(hdr + 6, " \t");
	n = strcspn(p, " \t");
	if (n > 4 * (sizeof(buf) - 1) / 3 ||
	    sasl_b64_decode(p, n, buf, sizeof(buf) - 1, &len) == -1)
		return 0;
	buf[len] = '\0';
	/* user:password; the password is what counts. */
	if ((colon = memchr(buf, ':', len)) != NULL)
		ok = matches(digest, colon + 1, len - (size_t)(colon + 1 -
		    (const char *)buf));
	explicit_bzero(buf, sizeof(buf));
	return ok;
}
