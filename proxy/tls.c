/*
 * tls: the client side of STARTTLS on server legs, on OpenSSL 3 and
 * libevent's OpenSSL filter bufferevents. The filter sits on top of the
 * socket bufferevent (the onion: the newest layer nearest the XML), and
 * the leg's callbacks move to it, so the session above never notices
 * anything but a second `connected` event.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "leg.h"
#include "stanza.h"
#include "tls.h"
#include "tls_pin.h"

/*
 * The first error of OpenSSL's queue (the cause; later ones only wrap it),
 * and an empty queue after: an error left behind would be reported by the
 * next failure, after a reload say.
 */
static const char *
tls_pop_error(char *buf, size_t len)
{
	unsigned long	 e = ERR_get_error();
	const char	*r;

	if (e == 0)
		snprintf(buf, len, "unknown error");
	else if (ERR_GET_LIB(e) == ERR_LIB_SYS)
		snprintf(buf, len, "%s", strerror(ERR_GET_REASON(e)));
	else if ((r = ERR_reason_error_string(e)) != NULL)
		snprintf(buf, len, "%s", r);
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/*
 * pin and tofu: the handshake goes on whatever the chain; the verdict
 * stays in SSL_get_verify_result() and tls_pin_check() decides after.
 */
static int
tls_verify_later(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1;
}

SSL_CTX *
tls_client_ctx(const char *ca_file, int verify, char *err, size_t errlen)
{
	char	 why[256];

	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "cannot create a TLS context: %s",
		    tls_pop_error(why, sizeof(why)));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (verify == TLS_VERIFY_CHAIN || verify == TLS_VERIFY_TOFU) {
		/* tofu: the chain's verdict is kept for tls_pin_check(). */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER,
		    verify == TLS_VERIFY_TOFU ? tls_verify_later : NULL);
		if (ca_file != NULL && *ca_file != '\0' ?
		    SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1 :
		    SSL_CTX_set_default_verify_paths(ctx) != 1) {
			snprintf(err, errlen, "upstream-ca %s: %s",
			    ca_file && *ca_file ? ca_file : "(system store)",
			    tls_pop_error(why, sizeof(why)));
			SSL_CTX_free(ctx);
			return NULL;
		}
	} else if (verify == TLS_VERIFY_PIN)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tls_verify_later);
	else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

int
tls_offered(const struct st_node *features)
{
	const struct st_node	*st;

	if ((st = st_child(features, "starttls", TLS_NS)) == NULL)
		return 0;
	return st_child(st, "required", NULL) != NULL ? 2 : 1;
}

int
tls_wrap(struct leg *l, SSL_CTX *ctx, const char *name, int verify,
    char *err, size_t errlen)
{
	struct bufferevent	*tb;
	SSL			*ssl;

	if ((ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_tlsext_host_name(ssl, name) != 1 ||
	    ((verify == TLS_VERIFY_CHAIN || verify == TLS_VERIFY_TOFU) &&
	    SSL_set1_host(ssl, name) != 1)) {
		snprintf(err, errlen, "cannot set up TLS for %s", name);
		SSL_free(ssl);
		return -1;
	}
	tb = bufferevent_openssl_filter_new(bufferevent_get_base(l->bev),
	    l->bev, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (tb == NULL) {
		snprintf(err, errlen, "cannot set up TLS for %s", name);
		SSL_free(ssl);
		return -1;
	}
	leg_rebind(l, tb);
	return 0;
}

void
tls_established(struct leg *l)
{
	/*
	 * Servers often close without close_notify after </stream:stream>;
	 * during the handshake the same close stays an error, with a reason.
	 */
	if (l->bev != NULL && bufferevent_openssl_get_ssl(l->bev) != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(l->bev, 1);
}

const char *
tls_error(struct leg *l, char *buf, size_t len)
{
	unsigned long	e;
	long		vr;
	SSL		*ssl;

	buf[0] = '\0';
	if (l->bev == NULL || (ssl = bufferevent_openssl_get_ssl(l->bev)) == NULL)
		return buf;
	if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) &&
	    SSL_get_verify_callback(ssl) == NULL &&
	    (vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		snprintf(buf, len, "certificate verification failed: %s",
		    X509_verify_cert_error_string(vr));
		return buf;
	}
	while ((e = bufferevent_get_openssl_error(l->bev)) != 0)
		ERR_error_string_n(e, buf, len);
	if (buf[0] == '\0' && !SSL_is_init_finished(ssl))
		snprintf(buf, len, "connection lost during the handshake (%s)",
		    SSL_state_string_long(ssl));
	return buf;
}
