/*
 * session_tls: STARTTLS on the session's server stream.
 *
 * The rabbit never sees it. When the server's first features offer
 * STARTTLS (and upstream-tls allows it), they are kept from the rabbit,
 * the rabbit's stanzas are held, <starttls/> goes up, and after <proceed/>
 * the server leg gets a TLS layer and the rabbit's own header again. The
 * server's second header is hidden (the rabbit has the first one); its
 * features, the first the rabbit sees, pass on as they are.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "leg.h"
#include "log.h"
#include "session-int.h"
#include "stanza.h"
#include "tls.h"
#include "tls_pin.h"
#include "xmlstream.h"

static int	se_tls_start(struct session *, const struct st_node *);


/* The server's first features: start STARTTLS if we should. 1 if consumed. */
static int
se_tls_start(struct session *se, const struct st_node *features)
{
	int	offer = tls_offered(features);
	char	why[1024];

	if (offer == 0 || se->opt.upstream_tls == UPSTREAM_TLS_NO ||
	    se->px->tls_ctx == NULL) {
		if (se->opt.upstream_tls == UPSTREAM_TLS_REQUIRED) {
			snprintf(why, sizeof(why), "server %s:%u does not offer "
			    "STARTTLS and upstream-tls = required",
			    se->opt.upstream_host, se->opt.upstream_port);
			session_fail(se, "remote-connection-failed", "", why);
			return 1;
		}
		if (offer == 0 && tls_pin_stripped(&se->opt, why, sizeof(why))) {
			session_fail(se, "remote-connection-failed", "", why);
			return 1;
		}
		se->tls_state = SE_TLS_DONE;
		return 0;
	}
	evbuffer_add(leg_output(&se->s), TLS_STARTTLS, strlen(TLS_STARTTLS));
	session_hold(se);
	se->tls_state = SE_TLS_WAIT;
	log_debug("session %llu: STARTTLS with the server",
	    (unsigned long long)se->id);
	return 1;
}

/*
 * Consumed units leave the input before anything else happens: the TLS
 * layer reads what follows <proceed/> from the same buffer.
 */
int
se_tls_unit(struct session *se, struct xs_unit *u, struct evbuffer *in)
{
	const struct st_node	*root;
	const char		*ns;
	char			 err[256];

	switch (se->tls_state) {
	case SE_TLS_NONE:
		if (u->kind != XS_STANZA || strcmp(stanza_root(u->st)->name,
		    "stream:features") != 0)
			return 0;
		if (!se_tls_start(se, stanza_root(u->st)))
			return 0;
		evbuffer_drain(in, u->len);
		return 1;
	case SE_TLS_WAIT:
		evbuffer_drain(in, u->len);
		if (u->kind == XS_WS)
			return 1;
		root = u->st != NULL ? stanza_root(u->st) : NULL;
		if (root == NULL || strcmp(root->name, "proceed") != 0 ||
		    (ns = st_xmlns(root)) == NULL || strcmp(ns, TLS_NS) != 0) {
			session_fail(se, "remote-connection-failed", "",
			    "server refused STARTTLS");
			return 1;
		}
		/*
		 * After this unit the bytes are TLS: new layer, new parser.
		 * The state is set first: the handshake may report at once.
		 */
		se->tls_state = SE_TLS_HANDSHAKE;
		if (xs_reset(se->xs[NAB_FROM_SERVER]) == -1 ||
		    tls_wrap(&se->s, se->px->tls_ctx, se->opt.upstream_tls_name[0] ?
		    se->opt.upstream_tls_name : se->who.domain, se->opt.upstream_verify,
		    err, sizeof(err)) == -1) {
			session_fail(se, "remote-connection-failed", "", err);
			return 1;
		}
		return 1;
	case SE_TLS_HEADER:
		evbuffer_drain(in, u->len);
		if (u->kind == XS_WS)
			return 1;
		if (u->kind == XS_HEADER) {
			se->tls_state = SE_TLS_DONE;
			session_release(se);
			return 1;
		}
		session_fail(se, "remote-connection-failed", "",
		    "server did not restart the stream after STARTTLS");
		return 1;
	default:
		return 0;
	}
}

/* The handshake finished (the leg's second `connected`). */
void
se_tls_connected(struct session *se)
{
	char	why[1536];

	if (se->tls_state != SE_TLS_HANDSHAKE)
		return;
	if (tls_pin_check(&se->s, &se->opt, why, sizeof(why)) == -1) {
		se->tls_state = SE_TLS_DONE;
		session_fail(se, "remote-connection-failed", NULL, why);
		return;
	}
	se->tls_active = 1;
	se->tls_state = SE_TLS_HEADER;
	tls_established(&se->s);
	evbuffer_add(leg_output(&se->s), se->r_header, se->r_header_len);
	log_info("session %llu: TLS with the server established",
	    (unsigned long long)se->id);
}

/* An error on the server leg: was it the TLS handshake? 1 if handled. */
int
se_tls_failed(struct session *se)
{
	char	why[256], reason[320];

	if (se->tls_state != SE_TLS_HANDSHAKE)
		return 0;
	tls_error(&se->s, why, sizeof(why));
	snprintf(reason, sizeof(reason), "TLS with %s:%u failed: %s",
	    se->opt.upstream_host, se->opt.upstream_port,
	    why[0] ? why : "handshake error");
	session_fail(se, "remote-connection-failed", NULL, reason);
	return 1;
}
