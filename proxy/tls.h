/*
 * tls: STARTTLS toward the server (RFC 6120 section 5). Rabbits never
 * speak TLS, so TLS lives only on server legs: a client SSL_CTX built from
 * the config, and the switch of a leg to an OpenSSL filter bufferevent at
 * the byte after <proceed/> (the flush point: nothing else is in flight
 * because the rabbit's stanzas are held while STARTTLS runs).
 */
#ifndef NAB_TLS_H
#define NAB_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "attrib.h"

struct leg;
struct st_node;

#define TLS_NS		"urn:ietf:params:xml:ns:xmpp-tls"
#define TLS_STARTTLS	"<starttls xmlns='" TLS_NS "'/>"

/*
 * Client context: TLS 1.2 or later. verify is an enum tls_verify
 * (tls_pin.h): chain, the peer certificate must chain to ca_file (or the
 * system store when ca_file is "" or NULL) or the handshake fails; tofu,
 * the same check but only recorded, for tls_pin_check(); pin, no chain
 * check; no, nothing. NULL with a reason in err.
 */
SSL_CTX	*tls_client_ctx(const char *ca_file, int verify, char *err,
	    size_t errlen) WUNRES;

/*
 * Does this <stream:features> offer STARTTLS? 0 no, 1 offered, 2 required
 * by the server.
 */
int	 tls_offered(const struct st_node *features);

/*
 * Wrap the leg's connection in a TLS client for `name` (SNI, and the host
 * name checked against the certificate when verify is chain or tofu). The leg keeps
 * its callbacks; its `connected` callback runs again when the handshake
 * is done, its `error` callback if it fails (tls_error() says why).
 * -1 with err set; the leg is unchanged then.
 */
int	 tls_wrap(struct leg *, SSL_CTX *, const char *name, int verify,
	    char *err, size_t errlen) WUNRES;

/*
 * The handshake is done: from now on a close without close_notify is an
 * ordinary end of stream, not an error.
 */
void	 tls_established(struct leg *);

/*
 * Why the TLS layer of a leg failed, "" if it did not. The certificate is
 * blamed only when the leg verifies it.
 */
const char *tls_error(struct leg *, char *buf, size_t len);

#endif /* NAB_TLS_H */
