/*
 * webauth: the token that guards the HTTP listener (http-listen) when it
 * is not on loopback: `http-token = TOKEN` in the config, or
 * `http-token-file = PATH` (a regular file of mode 0600 or stricter, not
 * a symbolic link, holding the token on its first line). A request
 * carries it as `Authorization: Bearer TOKEN` or as the password of HTTP
 * basic auth (any user name), so a browser can open the page and its
 * event stream after one prompt.
 *
 * Only a SHA-256 digest of the token is kept, and a request's credential
 * is compared digest to digest with CRYPTO_memcmp: the time taken says
 * nothing about how much of it was right, or about the token's length.
 */
#ifndef NAB_WEBAUTH_H
#define NAB_WEBAUTH_H

#include <stddef.h>

#include "attrib.h"

#define WEBAUTH_TOKEN_MIN	16	/* characters */
#define WEBAUTH_TOKEN_MAX	256
#define WEBAUTH_DIGEST		32

struct config;

/*
 * The token the config asks for into tok (tok[0] == '\0': none), read
 * from http-token-file if that is set, and checked: 16 to 256 printable
 * ASCII characters without spaces; a file of mode 0600 or stricter. 0,
 * or -1 with err set. Both keys set is an error too.
 */
int	webauth_token(const struct config *, char *tok, size_t toklen,
	    char *err, size_t errlen) WUNRES;
/* Check a token's form alone (see webauth_token): 0, or -1 with err. */
int	webauth_token_check(const char *tok, char *err, size_t errlen) WUNRES;
/* The digest webauth_check compares against. */
void	webauth_digest(const char *tok, unsigned char out[WEBAUTH_DIGEST]);
/*
 * 1 if the Authorization header value hdr (NULL: none) carries the token
 * whose digest is given, as Bearer or as a basic auth password; else 0.
 */
int	webauth_check(const unsigned char digest[WEBAUTH_DIGEST],
	    const char *hdr);

#endif /* NAB_WEBAUTH_H */
