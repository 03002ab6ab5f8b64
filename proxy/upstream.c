/*
 * upstream: the server side's protocol up to an open stream (STARTTLS,
 * SASL on the rabbit's behalf, the restart after it). See upstream.h.
 *
 * STARTTLS: when the server's first features offer it (and upstream-tls
 * allows it), they are consumed, <starttls/> goes up and the owner holds
 * its rabbit's stanzas; after <proceed/> the leg gets a TLS layer, the
 * parser starts over, the pin is checked once the handshake is done, and
 * the rabbit's own header goes up again. The server's second header is
 * consumed; its features, the first the owner sees, pass on. A server
 * that stops offering STARTTLS after a pin was taken is refused.
 *
 * SASL: login.c picks the mechanism and answers the exchange; units are
 * consumed until <success/> or <failure/>. On success (with restart) the
 * rabbit's header goes up again, the parser starts over at the byte
 * after <success/>, and the new header and features are consumed: the
 * owner gets the features with login_done. A stream error ends the
 * login and is passed on: it is the server's word to the rabbit too.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "leg.h"
#include "log.h"
#include "login.h"
#include "proxy.h"
#include "stanza.h"
#include "tls.h"
#include "tls_pin.h"
#include "upstream.h"
#include "xmlstream.h"

void
upstream_init(struct upstream *up, struct leg *leg, struct xmlstream **xs,
    const struct proxy_opts *opt, struct ssl_ctx_st *tls_ctx,
    const char *domain, char * const *header, const size_t *header_len,
    const struct upstream_ops *ops, void *arg, int restart)
{
	memset(up, 0, sizeof(*up));
	up->leg = leg;
	up->xs = xs;
	up->opt = opt;
	up->tls_ctx = tls_ctx;
	up->domain = domain;
	up->header = header;
	up->header_len = header_len;
	up->ops = ops;
	up->arg = arg;
	up->restart = restart;
	snprintf(up->mech, sizeof(up->mech), "none");
}

static void	up_tls_fail(struct upstream *, const char *, int);
static void
up_send_header(struct upstream *up)
{
	if (*up->header != NULL)
		evbuffer_add(leg_output(up->leg), *up->header,
		    *up->header_len);
}

static int
is_named(const struct xs_unit *u, const char *name)
{
	return u->kind == XS_STANZA && u->st != NULL &&
	    strcmp(stanza_root(u->st)->name, name) == 0;
}

/* The server's first features: start STARTTLS if we should. 1 if consumed. */
static int
up_tls_start(struct upstream *up, const struct st_node *features)
{
	const struct proxy_opts	*o = up->opt;
	int			 offer = tls_offered(features);
	char			 why[1024];

	if (offer == 0 || o->upstream_tls == UPSTREAM_TLS_NO ||
	    up->tls_ctx == NULL) {
		up->tls = UP_TLS_DONE;
		if (o->upstream_tls == UPSTREAM_TLS_REQUIRED) {
			snprintf(why, sizeof(why), "server %s:%u does not offer "
			    "STARTTLS and upstream-tls = required",
			    o->upstream_host, o->upstream_port);
			up_tls_fail(up, why, 1);
			return 1;
		}
		if (offer == 0 && tls_pin_stripped(o, why, sizeof(why))) {
			up_tls_fail(up, why, 1);
			return 1;
		}
		return 0;
	}
	evbuffer_add(leg_output(up->leg), TLS_STARTTLS, strlen(TLS_STARTTLS));
	up->tls = UP_TLS_WAIT;
	up->ops->tls_begin(up->arg);
	return 1;
}

/* TLS could not be set up: counted once per connection, then fail. */
static void
up_tls_fail(struct upstream *up, const char *why, int clean)
{
	if (up->cnt != NULL && !up->tls_counted)
		up->cnt->upstream_tls_failed++;
	up->tls_counted = 1;
	up->ops->fail(up->arg, why, clean);
}

/* STARTTLS in progress; the unit is already drained. 1 (consumed). */
static int
up_tls_unit(struct upstream *up, struct xs_unit *u)
{
	const struct st_node	*root;
	const char		*ns;
	char			 err[256];

	if (u->kind == XS_WS)
		return 1;
	if (up->tls == UP_TLS_HEADER) {
		if (u->kind != XS_HEADER) {
			up_tls_fail(up, "server did not restart the "
			    "stream after STARTTLS", 1);
			return 1;
		}
		up->tls = UP_TLS_DONE;
		up->ops->tls_open(up->arg);
		return 1;
	}
	root = u->st != NULL ? stanza_root(u->st) : NULL;
	if (root == NULL || strcmp(root->name, "proceed") != 0 ||
	    (ns = st_xmlns(root)) == NULL || strcmp(ns, TLS_NS) != 0) {
		up_tls_fail(up, "server refused STARTTLS", 1);
		return 1;
	}
	/*
	 * After this unit the bytes are TLS: new layer, new parser. The
	 * state is set first: the handshake may report at once.
	 */
	up->tls = UP_TLS_HANDSHAKE;
	if (xs_reset(*up->xs) == -1 || tls_wrap(up->leg, up->tls_ctx,
	    up->opt->upstream_tls_name[0] ? up->opt->upstream_tls_name :
	    up->domain, up->opt->upstream_verify, err, sizeof(err)) == -1)
		up_tls_fail(up, err, 1);
	return 1;
}

/* End the login (the login object goes) and tell the owner. */
static void
up_login_done(struct upstream *up, int ok, int transient, const char *reason,
    struct stanza *features)
{
	char	why[256];

	if (up->login != NULL)
		snprintf(up->mech, sizeof(up->mech), "%s",
		    login_mech(up->login));
	snprintf(why, sizeof(why), "%s", reason != NULL ? reason : "");
	if (up->cnt != NULL && (ok || !transient))
		counters_auth(up->cnt, CNT_NABPROXY, up->mech, NULL, ok);
	login_free(up->login);
	up->login = NULL;
	up->swallow = UP_SWALLOW_NONE;
	up->ops->login_done(up->arg, ok, transient, up->mech, why, features);
}

/*
 * A unit while SASL runs. 1 if consumed: drained from `in` before the
 * owner hears of it (an adopting owner takes the leg and its input).
 */
static int
up_login_unit(struct upstream *up, struct xs_unit *u, struct evbuffer *in)
{
	int	r, stream_error;

	if (u->kind == XS_WS) {
		evbuffer_drain(in, u->len);
		return 1;
	}
	if (u->kind != XS_STANZA)
		return 0;
	r = login_input(up->login, stanza_root(u->st), leg_output(up->leg));
	stream_error = is_named(u, "stream:error");
	if (r != LOGIN_FAIL || !stream_error)
		evbuffer_drain(in, u->len);
	if (r == LOGIN_CONTINUE || r == LOGIN_PENDING)
		return 1;
	if (r == LOGIN_FAIL) {
		up_login_done(up, 0, !login_rejected(up->login),
		    login_error(up->login), NULL);
		return !stream_error;
	}
	if (!up->restart) {
		up_login_done(up, 1, 0, NULL, NULL);
		return 1;
	}
	/* Success: restart our stream at the byte after </success>. */
	if (xs_reset(*up->xs) == -1) {
		up->ops->fail(up->arg, "out of memory", 1);
		return 1;
	}
	snprintf(up->mech, sizeof(up->mech), "%s", login_mech(up->login));
	login_free(up->login);
	up->login = NULL;
	up_send_header(up);
	up->swallow = UP_SWALLOW_HEADER;
	return 1;
}

/* The restarted stream's header and features. 1 if consumed (drained). */
static int
up_swallow_unit(struct upstream *up, struct xs_unit *u, struct evbuffer *in)
{
	if (u->kind == XS_WS || (up->swallow == UP_SWALLOW_HEADER &&
	    u->kind == XS_HEADER)) {
		evbuffer_drain(in, u->len);
		if (u->kind == XS_HEADER)
			up->swallow = UP_SWALLOW_FEATURES;
		return 1;
	}
	if (up->swallow == UP_SWALLOW_FEATURES && is_named(u,
	    "stream:features")) {
		evbuffer_drain(in, u->len);
		up_login_done(up, 1, 0, NULL, u->st);
		return 1;
	}
	/* Anything else: stop hiding and let the owner see it. */
	up_login_done(up, 0, 1, "server did not restart the stream after "
	    "success", NULL);
	return 0;
}

int
upstream_unit(struct upstream *up, struct xs_unit *u, struct evbuffer *in)
{
	if (up->tls == UP_TLS_NONE) {
		if (!is_named(u, "stream:features"))
			return 0;
		if (!up_tls_start(up, stanza_root(u->st)))
			return 0;
		evbuffer_drain(in, u->len);
		return 1;
	}
	if (up->tls == UP_TLS_WAIT || up->tls == UP_TLS_HEADER) {
		/* Drained first: the TLS layer reads what follows. */
		evbuffer_drain(in, u->len);
		return up_tls_unit(up, u);
	}
	if (up->swallow != UP_SWALLOW_NONE)
		return up_swallow_unit(up, u, in);
	if (up->login != NULL)
		return up_login_unit(up, u, in);
	return 0;
}

/* The login's key is derived (kdf.c, on the loop): answer the server. */
static void
up_resume(void *arg)
{
	struct upstream	*up = arg;

	if (up->login != NULL &&
	    login_resume(up->login, leg_output(up->leg)) == LOGIN_FAIL)
		up_login_done(up, 0, !login_rejected(up->login),
		    login_error(up->login), NULL);
}

int
upstream_login(struct upstream *up, const char *localpart,
    const char *password, const struct st_node *features, char *err,
    size_t errlen)
{
	struct login_opts	o;

	if (up->login != NULL || up->swallow != UP_SWALLOW_NONE ||
	    up->tls != UP_TLS_DONE) {
		snprintf(err, errlen, "a login or STARTTLS is under way");
		return -1;
	}
	if (st_child(features, "mechanisms", LOGIN_NS_SASL) == NULL) {
		snprintf(err, errlen, "the server offers no SASL mechanisms");
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.max_iterations = up->opt->scram_max_iterations;
	o.allow_plain_cleartext = up->opt->allow_plain_cleartext;
	o.tls_active = up->tls_active;
	o.kdf = up->kdf;
	o.resume = up_resume;
	o.resume_arg = up;
	if ((up->login = login_new(localpart, up->domain, password, &o, err,
	    errlen)) == NULL)
		return -1;
	snprintf(up->mech, sizeof(up->mech), "none");
	if (login_features(up->login, features, leg_output(up->leg)) !=
	    LOGIN_CONTINUE)
		up_login_done(up, 0, !login_rejected(up->login),
		    login_error(up->login), NULL);
	else
		snprintf(up->mech, sizeof(up->mech), "%s",
		    login_mech(up->login));
	return 0;
}

int
upstream_connected(struct upstream *up)
{
	char	why[1536];

	if (up->tls != UP_TLS_HANDSHAKE)
		return 0;
	if (tls_pin_check(up->leg, up->opt, why, sizeof(why)) == -1) {
		up->tls = UP_TLS_DONE;
		up_tls_fail(up, why, 0);
		return 1;
	}
	up->tls_active = 1;
	up->tls = UP_TLS_HEADER;
	tls_established(up->leg);
	up_send_header(up);
	return 1;
}

int
upstream_error(struct upstream *up)
{
	char	why[256], reason[320];

	if (up->tls != UP_TLS_HANDSHAKE)
		return 0;
	tls_error(up->leg, why, sizeof(why));
	snprintf(reason, sizeof(reason), "TLS with %s:%u failed: %s",
	    up->opt->upstream_host, up->opt->upstream_port,
	    why[0] ? why : "handshake error");
	/* The state stays: the layer may report its failure more than once. */
	up_tls_fail(up, reason, 0);
	return 1;
}

int
upstream_busy(const struct upstream *up)
{
	return up->login != NULL || up->swallow != UP_SWALLOW_NONE ||
	    up->tls == UP_TLS_WAIT || up->tls == UP_TLS_HANDSHAKE ||
	    up->tls == UP_TLS_HEADER;
}

int
upstream_tls_pending(const struct upstream *up)
{
	return up->tls == UP_TLS_WAIT || up->tls == UP_TLS_HANDSHAKE;
}

void
upstream_clear(struct upstream *up)
{
	login_free(up->login);
	up->login = NULL;
}
