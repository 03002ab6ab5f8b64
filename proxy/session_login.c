/*
 * session_login: who may log in upstream on the session's behalf, and
 * the stream restarts around SASL.
 *
 * A filter's login runs on the session's own server stream (the upstream,
 * upstream.c: while it runs, server units go to it, not to the chain or
 * the rabbit, and the restarted header and features are hidden: the
 * rabbit keeps the stream it already has), or, after an in-band
 * registration (the server's result to a register set: a refused one
 * registered nothing), on another connection that the session adopts: the
 * login probe's that just proved this password if it was kept (probe.c),
 * else a fresh one. Only a connection that proved the account's password
 * may log in. Also here:
 * the restart after the rabbit's own SASL success, the profile chosen
 * by what the rabbit showed, and why the session ended (the reason its
 * chain's filters get in on_close).
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

static void	se_login_deadline(struct session *);
static void	se_login_expired(evutil_socket_t, short, void *);
static int	se_login_fresh(struct session *, const char *, const char *,
		    session_login_cb *, void *);
static void	se_fresh_done(void *, int, int, const char *, const char *);

int
session_upstream_authenticated(struct session *se)
{
	return se->authenticated;
}

/*
 * Acting on an account (logging in upstream, storing its password) needs
 * this connection's proof of that account's password.
 */
int
se_may_act(struct session *se, const char *localpart)
{
	char	jid[ID_JID_MAX];

	snprintf(jid, sizeof(jid), "%s@%s", localpart, se->who.domain);
	if (identity_is(&se->who, jid))
		return 1;
	session_log(se, LOG_LVL_WARN, "not acting for %s: this connection has "
	    "not proven its password%s%s", jid,
	    identity_proven(&se->who) ? "; it proved " : "",
	    identity_proven(&se->who) ? se->who.bare_jid : "");
	return 0;
}

/*
 * A jabber:iq:register set going upstream (the rabbit's, or one a filter
 * injected for violet:iq:register): remember its id. Only the server's
 * result to it means this stream registered an account (a 409 or any
 * other error registered nothing: se_note_register_answer).
 */
void
se_note_register_set(struct session *se, const struct st_node *st)
{
	const char	*type, *id;

	if (strcmp(st_local(st), "iq") != 0 ||
	    (type = st_attr(st, "type")) == NULL || strcmp(type, "set") != 0 ||
	    st_child(st, "query", "jabber:iq:register") == NULL)
		return;
	if ((id = st_attr(st, "id")) == NULL)
		id = "";
	if (strlen(id) >= sizeof(se->reg_id)) {
		/* Cannot match its answer: assume the worst (fresh login). */
		se->registered = 1;
		return;
	}
	memcpy(se->reg_id, id, strlen(id) + 1);
	se->reg_pending = 1;
}

/* The server's answer to the pending register set. */
void
se_note_register_answer(struct session *se, const struct xs_unit *u)
{
	const struct st_node	*root;
	const char		*type, *id;

	if (!se->reg_pending || u->kind != XS_STANZA || u->st == NULL)
		return;
	root = stanza_root(u->st);
	if (strcmp(root->name, "iq") != 0 ||
	    (type = st_attr(root, "type")) == NULL ||
	    (strcmp(type, "result") != 0 && strcmp(type, "error") != 0))
		return;
	if (strcmp((id = st_attr(root, "id")) != NULL ? id : "",
	    se->reg_id) != 0)
		return;
	se->reg_pending = 0;
	if (strcmp(type, "result") == 0)
		se->registered = 1;
}

int
session_upstream_login(struct session *se, const char *localpart,
    const char *password, session_login_cb *cb, void *arg)
{
	char	err[256];

	if (se->login_cb != NULL || upstream_busy(&se->up) ||
	    se->authenticated || se->features == NULL || se->s.bev == NULL ||
	    se->adopting)
		return -1;
	if (!se_may_act(se, localpart))
		return -1;
	if (se->registered)
		return se_login_fresh(se, localpart, password, cb, arg);
	/* Set first: a login that fails at once reports before return. */
	se->login_cb = cb;
	se->login_arg = arg;
	if (upstream_login(&se->up, localpart, password,
	    stanza_root(se->features), err, sizeof(err)) == -1) {
		se->login_cb = NULL;
		se->login_arg = NULL;
		session_log(se, LOG_LVL_WARN, "upstream login: %s", err);
		return -1;
	}
	if (se->up.login == NULL)	/* failed at once, reported */
		return 0;
	session_log(se, LOG_LVL_INFO, "upstream login as %s@%s with %s",
	    localpart, se->who.domain, se->up.mech);
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

	if (se->failing || se->login_cb == NULL || se->adopting)
		return;
	snprintf(why, sizeof(why), "server did not finish the login within "
	    "%u s", 3 * se->opt->connect_timeout);
	session_fail(se, "remote-connection-failed", "", why);
}

static void
se_login_deadline(struct session *se)
{
	struct timeval	tv = { 3 * se->opt->connect_timeout, 0 };

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
	session_log(se, LOG_LVL_INFO, "upstream login as %s@%s on a fresh "
	    "connection (this stream registered an account)", localpart,
	    se->who.domain);
	se->adopting = 1;
	/* The login probe that just proved this password kept its stream. */
	if (probe_take_kept(se, localpart, password, se_fresh_done, se))
		return 0;
	/* Set first: a connect that fails at once calls back before return. */
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
se_fresh_done(void *arg, int ok, int transient, const char *mech,
    const char *reason)
{
	struct session	*se = arg;

	se->adopting = 0;
	if (ok)
		se->we_authenticated = 1;
	se_login_done(se, ok, transient, mech, reason);
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
	se->we_authenticated = 1;
	se->up.tls = UP_TLS_DONE;
	se->up.tls_active = tls;
	if (se->chain != NULL)
		chain_restart(se->chain, NAB_FROM_SERVER);
	event_active(se->kick, 0, 0);
}

/* Our login ended: tell the filter. */
void
se_login_done(struct session *se, int ok, int transient, const char *mech,
    const char *reason)
{
	session_login_cb	*cb = se->login_cb;
	void			*arg = se->login_arg;
	char			 m[32], why[256];

	snprintf(m, sizeof(m), "%s", mech != NULL ? mech : "?");
	snprintf(why, sizeof(why), "%s", reason ? reason : "");
	se->login_cb = NULL;
	se->login_arg = NULL;
	if (se->login_timer != NULL)
		evtimer_del(se->login_timer);
	if (ok) {
		session_log(se, LOG_LVL_INFO, "upstream login succeeded (%s)",
		    m);
		probe_drop_kept(se);
	}
	else
		session_log(se, LOG_LVL_WARN, "upstream login failed (%s): %s",
		    m, why);
	if (cb != NULL)
		cb(arg, ok, transient, m, why);
	if (se->eof_deferred)	/* the rabbit's FIN may go now */
		event_active(se->kick, 0, 0);
}

void
se_login_free(struct session *se)
{
	upstream_clear(&se->up);
}

/*
 * The server accepted the rabbit's own SASL exchange: the connection
 * proved the password of the username it used (identity_note_sasl).
 */
static void
se_prove_by_server(struct session *se)
{
	const char	*user = identity_sasl_user(&se->who);

	if (*user == '\0' || identity_proven(&se->who))
		return;
	if (identity_prove(&se->who, user, "server") == 0)
		session_log(se, LOG_LVL_INFO, "%s proved its password: the "
		    "server accepted its own SASL login", se->who.bare_jid);
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
	probe_drop_kept(se);
	se->rabbit_has_header = 0;
	se->r_header_seen = 0;
	se_prove_by_server(se);
	if (se->chain != NULL) {
		chain_restart(se->chain, NAB_FROM_SERVER);
		chain_restart(se->chain, NAB_FROM_RABBIT);
	}
	se_reselect(se);
}

/*
 * The profile for what the rabbit has shown so far (MAC, JID, firmware).
 * "auto" (profile = auto, nothing matched) means: the bootcode profile
 * while only a Nabaztag header is known (the firmware's parser needs it
 * from the server's first bytes on), else passthrough.
 */
static const char *
se_want_profile(struct session *se)
{
	const char	*want;

	want = chainset_select(se->px->chains, se->who.mac, se->who.bare_jid,
	    se->who.firmware);
	if (strcmp(want, "auto") != 0)
		return want;
	if (se->nab_header && se->who.firmware[0] == '\0' &&
	    strcmp((want = chainset_select(se->px->chains, se->who.mac,
	    se->who.bare_jid, "bootcode-18673")), "auto") != 0)
		return want;
	return "passthrough";
}

/* Open the profile `want` in place of the current chain. */
static void
se_switch_chain(struct session *se, const char *want, const char *when)
{
	struct chain	*ch;

	if (se->chain != NULL && strcmp(want, chain_profile(se->chain)) == 0)
		return;
	if ((ch = chain_open(se->px->chains, want, se)) == NULL) {
		session_log(se, LOG_LVL_WARN, "cannot open profile %s, keeping "
		    "%s", want, se->chain ? chain_profile(se->chain) : "none");
		return;
	}
	session_log(se, LOG_LVL_INFO, "profile %s selected %s (mac=%s "
	    "firmware=%s)", want, when, se->who.mac[0] ? se->who.mac : "?",
	    se->who.firmware[0] ? se->who.firmware : "?");
	/*
	 * The old chain's pending callbacks die with it: chain_close() frees
	 * their wrappers, so nothing may call them afterwards.
	 */
	probe_cancel_filters(se);
	se->login_cb = NULL;
	se->login_arg = NULL;
	if (se->chain != NULL)
		chain_close(se->chain, "profile changed");
	se->chain = ch;
	/* Holds belonged to the old chain's filters: nobody would release them. */
	if (se->holds > 0) {
		se->holds = 1;
		session_release(se);
	}
}

/*
 * At a stream restart the profile may change: what the stream showed so
 * far can select another one. The new chain comes from the current
 * chainset, so a reload reaches open sessions here.
 */
void
se_reselect(struct session *se)
{
	if (se->px->chains == NULL)
		return;
	se_switch_chain(se, se_want_profile(se), "at stream restart");
}

/*
 * profile = auto: the rabbit's header or first stanza showed what it is,
 * before that unit reaches the chain.
 */
void
se_choose_profile(struct session *se, const char *by)
{
	char	when[96];

	if (se->px->chains == NULL)
		return;
	snprintf(when, sizeof(when), "by %s", by);
	se_switch_chain(se, se_want_profile(se), when);
}

/*
 * On a stream nabproxy authenticated with its own login, the rabbit must
 * not change the account (XEP-0077 password change or <remove/>, or a
 * violet:iq:register set): answer not-allowed, forward nothing. 1 if
 * refused.
 */
int
se_account_change(const struct st_node *st)
{
	const struct st_node	*c;
	const char		*type = st_attr(st, "type"), *ns;

	if (strcmp(st_local(st), "iq") != 0 || type == NULL ||
	    strcmp(type, "set") != 0)
		return 0;
	for (c = st->first; c != NULL; c = c->next) {
		if (c->name == NULL)
			continue;
		if ((ns = st_ns(c)) == NULL) {
			/* A prefix this unit does not declare: fail closed. */
			if (strchr(c->name, ':') != NULL)
				return 1;
			continue;
		}
		if (strcmp(ns, "jabber:iq:register") == 0 ||
		    strcmp(ns, "violet:iq:register") == 0)
			return 1;
	}
	return 0;
}

int
se_refuse_account_change(struct session *se, const struct st_node *st)
{
	struct stanza	*e;
	struct st_node	*iq, *err, *c;
	const char	*type = st_attr(st, "type"), *id = st_attr(st, "id");

	if (strcmp(st_local(st), "iq") != 0 || type == NULL ||
	    strcmp(type, "set") != 0)
		return 0;
	session_log(se, LOG_LVL_WARN, "refused an account change (register set "
	    "or remove) for %s on a stream nabproxy authenticated",
	    se->who.bare_jid);
	if ((e = stanza_new(4096)) == NULL ||
	    (iq = st_elem_new(e, "iq")) == NULL ||
	    st_attr_set(e, iq, "type", "error") == -1 ||
	    (id != NULL && st_attr_set(e, iq, "id", id) == -1) ||
	    (err = st_elem_new(e, "error")) == NULL ||
	    st_attr_set(e, err, "type", "cancel") == -1 ||
	    (c = st_elem_new(e, "not-allowed")) == NULL ||
	    st_attr_set(e, c, "xmlns", "urn:ietf:params:xml:ns:xmpp-stanzas")
	    == -1) {
		stanza_free(e);
		session_close_with(se, "internal-server-error", "out of memory");
		return 1;
	}
	stanza_set_root(e, iq);
	st_append(iq, err);
	st_append(err, c);
	(void)session_inject(se, NAB_FROM_SERVER, e);
	return 1;
}

/*
 * What a rabbit stanza shows about the rabbit (identity.c has the rules):
 * its MAC from a register username (a claim, for logs and profiles), its
 * firmware (first hit wins), and the username of its own SASL exchange.
 */
void
se_detect_firmware(struct session *se, const struct st_node *st)
{
	const char	*fw;
	char		 mac[13];

	if (se->who.mac[0] == '\0' && identity_register_mac(st, mac) == 0) {
		identity_claim(&se->who, mac, NULL, NULL);
		session_log(se, LOG_LVL_INFO, "MAC learned from the register "
		    "username: %s", se->who.mac);
	}
	if (se->who.firmware[0] != '\0' ||
	    (fw = identity_detect(st, se->nab_header)) == NULL)
		return;
	identity_claim(&se->who, NULL, NULL, fw);
	session_log(se, LOG_LVL_INFO, "firmware detected: %s", se->who.firmware);
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

void
session_end_reason(struct session *se, const char *category,
    const char *detail)
{
	char	buf[256];

	if (se->end_reason != NULL)
		return;
	snprintf(buf, sizeof(buf), "%s%s%s", category,
	    detail != NULL && *detail != '\0' ? ": " : "",
	    detail != NULL ? detail : "");
	se->end_reason = strdup(buf);	/* ENOMEM: on_close says "closed" */
}

/* session_fail()'s reason, unless a more precise one was given first. */
void
se_end_failed(struct session *se, const char *to_rabbit, const char *reason)
{
	char	d[240];

	if (to_rabbit != NULL && strcmp(to_rabbit, "connection-timeout") == 0)
		session_end_reason(se, "timeout", reason);
	else if (to_rabbit != NULL && *to_rabbit != '\0') {
		snprintf(d, sizeof(d), "%s: %s", to_rabbit, reason ? reason : "");
		session_end_reason(se, "stream error", d);
	} else
		session_end_reason(se, "closed", reason);
}

/* Remember what later stages need from headers: the rabbit's bytes, `to`. */
void
se_note_header(struct session *se, enum nab_dir d, const struct xs_unit *u,
    const char *bytes)
{
	const char	*to;

	if (d == NAB_FROM_RABBIT) {
		free(se->r_header);
		se->r_header_len = 0;
		/* Re-sent at every restart upstream: no header, no session. */
		if ((se->r_header = malloc(u->len)) == NULL) {
			session_fail(se, "internal-server-error", "",
			    "out of memory");
			return;
		}
		memcpy(se->r_header, bytes, u->len);
		se->r_header_len = u->len;
		if ((to = st_attr(stanza_root(u->st), "to")) != NULL)
			session_set_identity(se, NULL, to, NULL);
		if (!se->r_header_seen && !se->authenticated)
			se->nab_header = identity_nabaztag_header(bytes, u->len);
		se->r_header_seen = 1;
		se->r_has_decl = u->has_decl;
		if (se->profile_auto && se->nab_header)
			se_choose_profile(se, "a Nabaztag stream header");
		if (se->upstream_failed)
			session_fail(se, "remote-connection-failed", NULL,
			    se->upstream_failed);
	} else
		se->rabbit_has_header = 1;
}

/*
 * The profile a session starts with: with `profile = auto` (or a default
 * no profile matches) the rabbit has shown nothing yet, so passthrough
 * until its header or first stanza says more (se_choose_profile).
 */
const char *
se_profile_for(struct session *se)
{
	const char	*p = chainset_select(se->px->chains, "", "", "");

	se->profile_auto = strcmp(p, "auto") == 0;
	return se->profile_auto ? "passthrough" : p;
}

/*
 * A rabbit stanza before the chain: what it shows about the rabbit, the
 * profile auto-selection, and account changes refused on a stream
 * nabproxy authenticated (answered here: 1, the unit is consumed).
 */
int
se_rabbit_stanza(struct session *se, const struct st_node *st)
{
	se_detect_firmware(se, st);
	if (se->we_authenticated && se_account_change(st) &&
	    se_refuse_account_change(se, st))
		return 1;
	se_note_register_set(se, st);
	if (se->profile_auto) {
		se->profile_auto = 0;
		se_choose_profile(se, se->who.firmware[0] ? se->who.firmware :
		    "its first stanza");
	}
	return 0;
}
