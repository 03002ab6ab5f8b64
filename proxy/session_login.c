/*
 * session_login: SASL on the rabbit's behalf on the session's own server
 * stream, and stream restarts the server announces.
 *
 * While a login runs, server units go to the login state machine, not to
 * the chain or the rabbit. On success the proxy re-sends the rabbit's own
 * header upstream, resets the server-side parser at the byte after
 * <success/>, and swallows the new header and features: the rabbit keeps
 * the stream it already has.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sys/socket.h>

#include "chain.h"
#include "leg.h"
#include "log.h"
#include "login.h"
#include "session-int.h"
#include "stanza.h"
#include "xmlstream.h"

#define NS_SASL		"urn:ietf:params:xml:ns:xmpp-sasl"

static void	se_login_done(struct session *, int, const char *);
static void	se_login_deadline(struct session *);
static void	se_login_expired(evutil_socket_t, short, void *);
static int	se_login_fresh(struct session *, const char *, const char *,
		    session_login_cb *, void *);
static void	se_fresh_done(void *, int, const char *, const char *);

int
session_upstream_authenticated(struct session *se)
{
	return se->authenticated;
}

int
session_upstream_login(struct session *se, const char *localpart,
    const char *password, session_login_cb *cb, void *arg)
{
	struct login_opts	 o;
	struct st_node		*mechs;
	char			 err[256];

	if (se->login != NULL || se->swallow != SWALLOW_NONE ||
	    se->authenticated || se->features == NULL || se->s.bev == NULL ||
	    se->adopting)
		return -1;
	if (se->registered)
		return se_login_fresh(se, localpart, password, cb, arg);
	mechs = st_child(stanza_root(se->features), "mechanisms", NS_SASL);
	if (mechs == NULL)
		return -1;
	memset(&o, 0, sizeof(o));
	o.max_iterations = se->opt.scram_max_iterations;
	o.allow_plain_cleartext = se->opt.allow_plain_cleartext;
	o.tls_active = se->tls_active;
	if ((se->login = login_new(localpart, se->domain, password, &o, err,
	    sizeof(err))) == NULL) {
		session_log(se, LOG_LVL_WARN, "upstream login: %s", err);
		return -1;
	}
	se->login_cb = cb;
	se->login_arg = arg;
	if (login_features(se->login, stanza_root(se->features),
	    leg_output(&se->s)) != LOGIN_CONTINUE) {
		/* Report asynchronously-shaped: the caller gets its callback. */
		se_login_done(se, 0, login_error(se->login));
		return 0;
	}
	snprintf(se->login_mech, sizeof(se->login_mech), "%s",
	    login_mech(se->login));
	session_log(se, LOG_LVL_INFO, "upstream login as %s@%s with %s",
	    localpart, se->domain, se->login_mech);
	se_login_deadline(se);
	return 0;
}

/*
 * A server that never finishes the SASL exchange (or never restarts the
 * stream after it) must not keep the rabbit's stanzas held forever, even
 * while keep-alives keep the idle timer happy.
 */
static void
se_login_expired(evutil_socket_t fd, short what, void *arg)
{
	struct session	*se = arg;
	char		 why[128];

	if (se->failing || (se->login == NULL && se->swallow == SWALLOW_NONE))
		return;
	snprintf(why, sizeof(why), "server did not finish the login within "
	    "%u s", 3 * se->opt.connect_timeout);
	session_fail(se, "remote-connection-failed", "", why);
}

static void
se_login_deadline(struct session *se)
{
	struct timeval	tv = { 3 * se->opt.connect_timeout, 0 };

	if (se->login_timer == NULL &&
	    (se->login_timer = evtimer_new(se->px->base, se_login_expired,
	    se)) == NULL)
		return;
	evtimer_add(se->login_timer, &tv);
}

/*
 * After an in-band registration some servers (jabberd2 2.7) never answer
 * a bind on that stream, even after SASL: log in on a fresh connection
 * instead and adopt it as the session's server leg.
 */
static int
se_login_fresh(struct session *se, const char *localpart,
    const char *password, session_login_cb *cb, void *arg)
{
	se->login_cb = cb;
	se->login_arg = arg;
	snprintf(se->login_mech, sizeof(se->login_mech), "?");
	session_log(se, LOG_LVL_INFO, "upstream login as %s@%s on a fresh "
	    "connection (this stream registered an account)", localpart,
	    se->domain);
	/* Set first: a connect that fails at once calls back before return. */
	se->adopting = 1;
	if (probe_start_adopt(se, localpart, password, se_fresh_done,
	    se) == -1) {
		se->adopting = 0;
		se->login_cb = NULL;
		se->login_arg = NULL;
		return -1;
	}
	return 0;
}

static void
se_fresh_done(void *arg, int ok, const char *mech, const char *reason)
{
	struct session	*se = arg;

	se->adopting = 0;
	snprintf(se->login_mech, sizeof(se->login_mech), "%s", mech);
	se_login_done(se, ok, reason);
}

void
se_adopt_upstream(struct session *se, struct leg *leg, struct xmlstream **xs,
    struct stanza *features, int tls)
{
	int	fd;

	/*
	 * The old stream has nothing in flight (the rabbit's stanzas are
	 * held): end it with a best-effort </stream:stream> and close.
	 */
	if (se->s.bev != NULL && (fd = bufferevent_getfd(se->s.bev)) != -1 &&
	    leg_pending(&se->s) == 0)
		(void)send(fd, "</stream:stream>", 16, MSG_NOSIGNAL |
		    MSG_DONTWAIT);
	leg_free(&se->s);
	leg_move(&se->s, leg, &se_leg_cbs, se);
	xs_free(se->xs[NAB_FROM_SERVER]);
	se->xs[NAB_FROM_SERVER] = *xs;
	*xs = NULL;
	se_keep_features(se, features);
	se->authenticated = 1;
	se->tls_active = tls;
	if (se->chain != NULL)
		chain_restart(se->chain, NAB_FROM_SERVER);
	event_active(se->kick, 0, 0);
}

/* Finish a login attempt and tell the filter; the login object goes. */
static void
se_login_done(struct session *se, int ok, const char *reason)
{
	session_login_cb	*cb = se->login_cb;
	void			*arg = se->login_arg;
	char			 mech[32], why[256];

	snprintf(mech, sizeof(mech), "%s",
	    se->login ? login_mech(se->login) : se->login_mech);
	snprintf(why, sizeof(why), "%s", reason ? reason : "");
	login_free(se->login);
	se->login = NULL;
	se->login_cb = NULL;
	se->login_arg = NULL;
	if (se->login_timer != NULL)
		evtimer_del(se->login_timer);
	if (ok)
		session_log(se, LOG_LVL_INFO, "upstream login succeeded (%s)",
		    mech);
	else
		session_log(se, LOG_LVL_WARN, "upstream login failed (%s): %s",
		    mech, why);
	if (cb != NULL)
		cb(arg, ok, mech, why);
	if (se->eof_deferred)	/* the rabbit's FIN may go now */
		event_active(se->kick, 0, 0);
}

void
se_login_free(struct session *se)
{
	login_free(se->login);
	se->login = NULL;
}

/* Swallowing the restarted stream's header and features. */
static int
se_swallow_unit(struct session *se, struct xs_unit *u)
{
	if (u->kind == XS_WS)
		return 1;
	if (se->swallow == SWALLOW_HEADER && u->kind == XS_HEADER) {
		se->swallow = SWALLOW_FEATURES;
		return 1;
	}
	if (se->swallow == SWALLOW_FEATURES && u->kind == XS_STANZA &&
	    strcmp(stanza_root(u->st)->name, "stream:features") == 0) {
		se_keep_features(se, u->st);
		se->swallow = SWALLOW_NONE;
		se->authenticated = 1;
		if (se->chain != NULL)
			chain_restart(se->chain, NAB_FROM_SERVER);
		se->login_cb = se->pending_cb;
		se->login_arg = se->pending_arg;
		se->pending_cb = NULL;
		se_login_done(se, 1, NULL);
		return 1;
	}
	/* Anything else: stop hiding and let the chain see it. */
	se->swallow = SWALLOW_NONE;
	se->login_cb = se->pending_cb;
	se->login_arg = se->pending_arg;
	se->pending_cb = NULL;
	se_login_done(se, 0, "server did not restart the stream after success");
	return 0;
}

int
se_login_unit(struct session *se, struct xs_unit *u, const char *bytes)
{
	int	r;

	if (se->swallow != SWALLOW_NONE)
		return se_swallow_unit(se, u);
	if (se->login == NULL)
		return 0;
	if (u->kind == XS_WS)
		return 1;
	if (u->kind != XS_STANZA)
		return 0;
	r = login_input(se->login, stanza_root(u->st), leg_output(&se->s));
	if (r == LOGIN_CONTINUE)
		return 1;
	if (r == LOGIN_FAIL) {
		se_login_done(se, 0, login_error(se->login));
		/* A stream error is the server's word to the rabbit too. */
		return strcmp(stanza_root(u->st)->name, "stream:error") != 0;
	}
	/* Success: restart our stream at the byte after </success>. */
	if (xs_reset(se->xs[NAB_FROM_SERVER]) == -1) {
		session_fail(se, "internal-server-error", "", "out of memory");
		return 1;
	}
	evbuffer_add(leg_output(&se->s), se->r_header, se->r_header_len);
	se->swallow = SWALLOW_HEADER;
	se->pending_cb = se->login_cb;
	se->pending_arg = se->login_arg;
	login_free(se->login);
	se->login = NULL;
	return 1;
}

/*
 * The rabbit ran SASL itself and the server said <success/>: both
 * directions start new streams after this unit.
 */
void
se_check_restart(struct session *se, const struct xs_unit *u)
{
	const struct st_node	*root;
	const char		*ns;

	if (u->kind != XS_STANZA)
		return;
	root = stanza_root(u->st);
	if (strcmp(root->name, "success") != 0 ||
	    (ns = st_xmlns(root)) == NULL || strcmp(ns, NS_SASL) != 0)
		return;
	if (xs_reset(se->xs[NAB_FROM_SERVER]) == -1 ||
	    xs_reset(se->xs[NAB_FROM_RABBIT]) == -1) {
		session_fail(se, "internal-server-error", "", "out of memory");
		return;
	}
	se->authenticated = 1;
	se->rabbit_has_header = 0;
	se->r_header_seen = 0;
	if (se->chain != NULL) {
		chain_restart(se->chain, NAB_FROM_SERVER);
		chain_restart(se->chain, NAB_FROM_RABBIT);
	}
	se_reselect(se);
}

/*
 * At a stream restart the profile may change: what the stream showed so
 * far (MAC, JID, firmware) can select another one. The new chain comes
 * from the current chainset, so a reload reaches open sessions here.
 */
void
se_reselect(struct session *se)
{
	const char	*want;
	struct chain	*ch;

	if (se->px->chains == NULL)
		return;
	want = chainset_select(se->px->chains, se->mac, se->bare_jid,
	    se->firmware);
	if (se->chain != NULL && strcmp(want, chain_profile(se->chain)) == 0)
		return;
	if ((ch = chain_open(se->px->chains, want, se)) == NULL) {
		session_log(se, LOG_LVL_WARN, "cannot open profile %s, keeping "
		    "%s", want, se->chain ? chain_profile(se->chain) : "none");
		return;
	}
	session_log(se, LOG_LVL_INFO, "profile %s selected at stream restart "
	    "(mac=%s firmware=%s)", want, se->mac[0] ? se->mac : "?",
	    se->firmware[0] ? se->firmware : "?");
	/*
	 * The old chain's pending callbacks die with it: chain_close() frees
	 * their wrappers, so nothing may call them afterwards.
	 */
	probe_cancel_filters(se);
	se->login_cb = se->pending_cb = NULL;
	se->login_arg = se->pending_arg = NULL;
	if (se->chain != NULL)
		chain_close(se->chain);
	se->chain = ch;
	/* Holds belonged to the old chain's filters: nobody would release them. */
	if (se->holds > 0) {
		se->holds = 1;
		session_release(se);
	}
}

/*
 * The MAC from the username of the rabbit's register set (jabber:iq:register
 * or violet:iq:register): both firmwares register as their MAC. Only 12 hex
 * digits count, stored in lower case like the match-mac patterns; only
 * while no MAC is known, so what a filter set with set_identity() stays.
 */
static void
se_learn_mac(struct session *se, const struct st_node *st)
{
	const struct st_node	*q, *u, *t;
	const char		*type;
	char			 mac[13];
	size_t			 i, n = 0;

	if (se->mac[0] != '\0' || (type = st_attr(st, "type")) == NULL ||
	    strcmp(type, "set") != 0)
		return;
	if ((q = st_child(st, "query", "jabber:iq:register")) == NULL &&
	    (q = st_child(st, "query", "violet:iq:register")) == NULL)
		return;
	if ((u = st_child(q, "username", NULL)) == NULL)
		return;
	for (t = u->first; t != NULL; t = t->next) {
		if (t->name != NULL)
			return;
		for (i = 0; i < t->textlen; i++) {
			if (n == 12 || !isxdigit((unsigned char)t->text[i]))
				return;
			mac[n++] = (char)tolower((unsigned char)t->text[i]);
		}
	}
	if (n != 12)
		return;
	mac[n] = '\0';
	session_set_identity(se, mac, NULL, NULL);
	session_log(se, LOG_LVL_INFO, "MAC learned from the register username: "
	    "%s", se->mac);
}

/*
 * Recognise the firmware from what the rabbit sends (first hit wins), and
 * its MAC from its registration: what se_reselect() selects by.
 */
void
se_detect_firmware(struct session *se, const struct st_node *st)
{
	const struct st_node	*q, *b;
	const char		*from;
	size_t			 n;

	if (strcmp(st->name, "iq") != 0)
		return;
	se_learn_mac(se, st);
	if (se->firmware[0] != '\0')
		return;
	if (st_child(st, "query", "violet:iq:register") != NULL) {
		session_set_identity(se, NULL, NULL, "bootcode-18673");
	} else if ((q = st_child(st, "query", "jabber:iq:register")) != NULL &&
	    (st_child(q, "name", NULL) != NULL ||
	    st_child(q, "email", NULL) != NULL)) {
		session_set_identity(se, NULL, NULL, "simulator");
	} else if ((b = st_child(st, "bind",
	    "urn:ietf:params:xml:ns:xmpp-bind")) != NULL &&
	    (from = st_attr(st, "from")) != NULL && strchr(from, '@') != NULL) {
		n = strlen(from);
		session_set_identity(se, NULL, NULL, from[n - 1] == '/' ?
		    "bootcode-18673" : "simulator");
	} else
		return;
	session_log(se, LOG_LVL_INFO, "firmware detected: %s", se->firmware);
}

int
session_login_probe(struct session *se, const char *localpart,
    const char *password, session_login_cb *cb, void *arg)
{
	return probe_start(se, localpart, password, cb, arg);
}

const struct st_node *
session_server_features(struct session *se)
{
	return se->features != NULL ? stanza_root(se->features) : NULL;
}

/*
 * A filter answered the rabbit's own SASL: the rabbit's next bytes are a
 * new stream. Reset now unless a rabbit unit is being handled, in which
 * case se_unit() resets after it.
 */
void
session_restart_rabbit(struct session *se)
{
	if (se->in_process[NAB_FROM_RABBIT]) {
		se->restart_rabbit = 1;
		return;
	}
	if (xs_reset(se->xs[NAB_FROM_RABBIT]) == -1)
		session_close_with(se, "internal-server-error", "out of memory");
	se->r_header_seen = 0;
}
