/*
 * probe: a login probe, i.e. a complete SASL login on a separate server
 * connection, used to prove a password before trusting it (register
 * repair, credential learning). The probe sends the rabbit's own stream
 * header, logs in with the best mechanism the server offers, reports
 * success or failure once, and closes. Nothing on the server changes.
 *
 * A probe belongs to its session: if the session goes first, the probe is
 * cancelled and its callback never runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "leg.h"
#include "log.h"
#include "login.h"
#include "session-int.h"
#include "stanza.h"
#include "tls.h"
#include "tls_pin.h"
#include "xmlstream.h"

struct probe {
	struct probe		*next;
	struct session		*se;
	struct leg		 leg;
	struct xmlstream	*xs;
	struct login		*login;
	struct event		*timer;
	struct event		*reaper;
	session_login_cb	*cb;
	void			*arg;
	char			 mech[32];
	int			 done;
	int			 adopt;		/* hand the stream to the session */
	int			 tls;		/* 1 starttls sent, 2 handshake, 3 on */
	int			 swallow;	/* 1 header, 2 features, after success */
	int			 guarded;	/* counted by the proxy's idguard */
	char			 jid[ID_JID_MAX];
};

static void	pr_read(struct leg *, void *);
static void	pr_drained(struct leg *, void *);
static void	pr_connected(struct leg *, void *);
static void	pr_eof(struct leg *, void *);
static void	pr_error(struct leg *, void *, const char *, int);
static void	pr_closed(struct leg *, void *);
static void	pr_timeout(evutil_socket_t, short, void *);
static void	pr_reap(evutil_socket_t, short, void *);
static void	pr_finish(struct probe *, int, const char *);
static int	pr_unit(struct probe *, struct xs_unit *);
static int	pr_adopt_unit(struct probe *, struct xs_unit *);
static int	pr_tls_proceed(struct probe *, const struct st_node *);
static int	probe_run(struct session *, const char *, const char *, int,
		    session_login_cb *, void *);
static int	pr_guard(struct session *, const char *);

static const struct leg_cbs pr_cbs = {
	pr_read, pr_drained, pr_connected, pr_eof, pr_error, pr_closed
};

int
probe_start(struct session *se, const char *localpart, const char *password,
    session_login_cb *cb, void *arg)
{
	return probe_run(se, localpart, password, 0, cb, arg);
}

int
probe_start_adopt(struct session *se, const char *localpart,
    const char *password, session_login_cb *cb, void *arg)
{
	return probe_run(se, localpart, password, 1, cb, arg);
}

static int
probe_run(struct session *se, const char *localpart, const char *password,
    int adopt, session_login_cb *cb, void *arg)
{
	struct probe		*pr;
	struct login_opts	 o;
	struct xs_limits	 lim = { se->opt.max_stanza, se->opt.max_depth, 64 };
	struct timeval		 tv = { se->opt.connect_timeout * 3, 0 };
	char			 err[256];

	if (se->r_header == NULL || (pr = calloc(1, sizeof(*pr))) == NULL)
		return -1;
	snprintf(pr->jid, sizeof(pr->jid), "%s@%s", localpart, se->who.domain);
	if (!adopt && pr_guard(se, pr->jid) == -1) {
		free(pr);
		cb(arg, 0, 1, "?", "login probes for this account or address "
		    "are backing off");
		return 0;
	}
	pr->guarded = !adopt && se->px->guard != NULL;
	se->px->nprobes++;
	memset(&o, 0, sizeof(o));
	o.max_iterations = se->opt.scram_max_iterations;
	o.allow_plain_cleartext = se->opt.allow_plain_cleartext;
	pr->se = se;
	pr->cb = cb;
	pr->arg = arg;
	pr->adopt = adopt;
	if ((pr->xs = xs_new(&lim)) == NULL ||
	    (pr->login = login_new(localpart, se->who.domain, password, &o, err,
	    sizeof(err))) == NULL ||
	    (pr->timer = evtimer_new(se->px->base, pr_timeout, pr)) == NULL ||
	    (pr->reaper = event_new(se->px->base, -1, 0, pr_reap, pr)) == NULL)
		goto fail;
	pr->next = se->probes;
	se->probes = pr;
	evtimer_add(pr->timer, &tv);
	if (leg_connect(&pr->leg, se->px->base, se->px->dns,
	    se->opt.upstream_host, se->opt.upstream_port, &pr_cbs, pr) == -1) {
		pr_finish(pr, 0, "cannot start the probe connection");
		return 0;
	}
	if (!pr->done)
		evbuffer_add(leg_output(&pr->leg), se->r_header,
		    se->r_header_len);
	return 0;
fail:
	se->px->nprobes--;
	if (pr->guarded)
		idguard_end(se->px->guard, pr->jid, se->peer_ip, -1, time(NULL));
	xs_free(pr->xs);
	login_free(pr->login);
	if (pr->timer)
		event_free(pr->timer);
	free(pr);
	return -1;
}

/*
 * Probes other than a proven session's own fresh login pass the proxy's
 * guard: backoff per account and per source, a cap on running probes.
 */
static int
pr_guard(struct session *se, const char *jid)
{
	unsigned	wait;

	if (se->px->guard == NULL)
		return 0;
	if (idguard_begin(se->px->guard, jid, se->peer_ip, time(NULL),
	    &wait) == 0) {
		session_log(se, LOG_LVL_INFO, "login probe for %s started", jid);
		return 0;
	}
	if (wait > 0)
		session_log(se, LOG_LVL_WARN, "login probe for %s refused: "
		    "backing off after failed probes for this account or from "
		    "%s (%u s left)", jid, se->peer_ip, wait);
	else
		session_log(se, LOG_LVL_WARN, "login probe for %s refused: %u "
		    "probes running (the limit)", jid,
		    idguard_running(se->px->guard));
	return -1;
}

/* Report once, unlink from the session, free from a deferred event. */
static void
pr_finish(struct probe *pr, int ok, const char *why)
{
	struct probe	**pp;
	int		  transient;

	if (pr->done)
		return;
	pr->done = 1;
	transient = !ok && (pr->login == NULL || !login_rejected(pr->login));
	pr->se->px->nprobes--;
	if (pr->guarded)
		idguard_end(pr->se->px->guard, pr->jid, pr->se->peer_ip,
		    ok ? 1 : transient ? -1 : 0, time(NULL));
	if (pr->mech[0] == '\0')
		snprintf(pr->mech, sizeof(pr->mech), "%s",
		    pr->login ? login_mech(pr->login) : "?");
	for (pp = &pr->se->probes; *pp != NULL; pp = &(*pp)->next)
		if (*pp == pr) {
			*pp = pr->next;
			break;
		}
	session_log(pr->se, ok ? LOG_LVL_INFO : LOG_LVL_WARN,
	    "login probe %s (%s)%s%s", ok ? "succeeded" : "failed", pr->mech,
	    ok ? "" : ": ", ok ? "" : why);
	if (pr->cb != NULL)
		pr->cb(pr->arg, ok, transient, pr->mech, why);
	event_active(pr->reaper, 0, 0);
}

void
probe_cancel_all(struct session *se)
{
	struct probe	*pr;

	while ((pr = se->probes) != NULL) {
		pr->cb = NULL;
		pr_finish(pr, 0, "session closed");
	}
}

/*
 * The chain that started these probes is going (a stream restart chose
 * another profile): its callbacks must never run. Adopting probes belong
 * to the session itself and go on.
 */
void
probe_cancel_filters(struct session *se)
{
	struct probe	*pr, *next;

	for (pr = se->probes; pr != NULL; pr = next) {
		next = pr->next;
		if (pr->adopt)
			continue;
		pr->cb = NULL;
		pr_finish(pr, 0, "the filter chain that started it was replaced");
	}
}

static void
pr_reap(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*pr = arg;

	leg_free(&pr->leg);
	xs_free(pr->xs);
	login_free(pr->login);
	event_free(pr->timer);
	event_free(pr->reaper);
	free(pr);
}

static void
pr_timeout(evutil_socket_t fd, short what, void *arg)
{
	pr_finish(arg, 0, "login probe timed out");
}

/* 1 to go on, 0 when finished. */
static int
pr_unit(struct probe *pr, struct xs_unit *u)
{
	const struct st_node	*root;
	char			 why[1024];
	int			 r;

	if (pr->swallow)
		return pr_adopt_unit(pr, u);
	if (u->kind == XS_WS || u->kind == XS_HEADER)
		return 1;
	if (u->kind == XS_END) {
		pr_finish(pr, 0, "server closed the stream");
		return 0;
	}
	root = stanza_root(u->st);
	if (pr->tls == 1)
		return pr_tls_proceed(pr, root);
	if (strcmp(root->name, "stream:features") == 0 && pr->tls == 0 &&
	    tls_offered(root) && pr->se->opt.upstream_tls != UPSTREAM_TLS_NO &&
	    pr->se->px->tls_ctx != NULL) {
		evbuffer_add(leg_output(&pr->leg), TLS_STARTTLS,
		    strlen(TLS_STARTTLS));
		pr->tls = 1;
		return 1;
	}
	if (strcmp(root->name, "stream:features") == 0 && pr->tls == 0 &&
	    !tls_offered(root) && tls_pin_stripped(&pr->se->opt, why, sizeof(why))) {
		pr_finish(pr, 0, why);
		return 0;
	}
	if (strcmp(root->name, "stream:features") == 0)
		r = login_features(pr->login, root, leg_output(&pr->leg));
	else if (strcmp(root->name, "stream:error") == 0) {
		pr_finish(pr, 0, "server sent a stream error");
		return 0;
	} else
		r = login_input(pr->login, root, leg_output(&pr->leg));
	if (r == LOGIN_CONTINUE)
		return 1;
	if (r == LOGIN_SUCCESS && pr->adopt) {
		/* Restart the stream here; the session takes it after features. */
		snprintf(pr->mech, sizeof(pr->mech), "%s", login_mech(pr->login));
		evbuffer_add(leg_output(&pr->leg), pr->se->r_header,
		    pr->se->r_header_len);
		pr->swallow = 1;
		return 2;
	}
	pr_finish(pr, r == LOGIN_SUCCESS, login_error(pr->login));
	return 0;
}

/* <proceed/> (or not) after <starttls/>: 2 to reset the parser, 0 done. */
static int
pr_tls_proceed(struct probe *pr, const struct st_node *root)
{
	const char	*ns = st_xmlns(root);
	struct session	*se = pr->se;
	char		 err[256];

	if (strcmp(root->name, "proceed") != 0 || ns == NULL ||
	    strcmp(ns, TLS_NS) != 0) {
		pr_finish(pr, 0, "server refused STARTTLS");
		return 0;
	}
	if (tls_wrap(&pr->leg, se->px->tls_ctx, se->opt.upstream_tls_name[0] ?
	    se->opt.upstream_tls_name : se->who.domain, se->opt.upstream_verify,
	    err, sizeof(err)) == -1) {
		pr_finish(pr, 0, err);
		return 0;
	}
	pr->tls = 2;
	return 2;
}

/*
 * Adopt mode, after <success/>: the new header, then the features; then
 * the session takes the connection and its parser. 1 to go on, 0 done.
 */
static int
pr_adopt_unit(struct probe *pr, struct xs_unit *u)
{
	if (u->kind == XS_WS)
		return 1;
	if (pr->swallow == 1 && u->kind == XS_HEADER) {
		pr->swallow = 2;
		return 1;
	}
	if (pr->swallow == 2 && u->kind == XS_STANZA &&
	    strcmp(stanza_root(u->st)->name, "stream:features") == 0) {
		se_adopt_upstream(pr->se, &pr->leg, &pr->xs, u->st,
		    pr->tls == 3);
		pr_finish(pr, 1, "");
		return 0;
	}
	pr_finish(pr, 0, "server did not restart the stream after success");
	return 0;
}

static void
pr_read(struct leg *l, void *arg)
{
	struct probe		*pr = arg;
	struct evbuffer		*in = leg_input(l);
	struct evbuffer_ptr	 pos;
	struct evbuffer_iovec	 v;
	struct xs_unit		 u;
	int			 r, go = 1;

	while (go && !pr->done) {
		while (go && (r = xs_next(pr->xs, &u)) == 1) {
			/* Drained first: an adopting unit hands `in` over. */
			evbuffer_drain(in, u.len);
			go = pr_unit(pr, &u);
			stanza_free(u.st);
			if (go == 2 && xs_reset(pr->xs) == -1) {
				pr_finish(pr, 0, "out of memory");
				go = 0;
			}
		}
		if (pr->xs == NULL)	/* adopted: the session owns it all */
			return;
		if (r == -1) {
			pr_finish(pr, 0, "server sent bad XML");
			break;
		}
		if (!go || evbuffer_get_length(in) <= xs_buffered(pr->xs))
			break;
		if (evbuffer_ptr_set(in, &pos, xs_buffered(pr->xs),
		    EVBUFFER_PTR_SET) == -1 ||
		    evbuffer_peek(in, -1, &pos, &v, 1) < 1)
			break;
		if (xs_feed(pr->xs, v.iov_base, v.iov_len < XS_FEED_MAX ?
		    v.iov_len : XS_FEED_MAX) == -1) {
			pr_finish(pr, 0, "server sent bad XML");
			break;
		}
	}
}

static void
pr_drained(struct leg *l, void *arg)
{
}

static void
pr_connected(struct leg *l, void *arg)
{
	struct probe	*pr = arg;
	char		 why[1536];

	/* Finished (maybe with its session gone): only the reaper is left. */
	if (pr->done || pr->tls != 2)
		return;
	if (tls_pin_check(l, &pr->se->opt, why, sizeof(why)) == -1) {
		pr_finish(pr, 0, why);
		return;
	}
	pr->tls = 3;
	tls_established(&pr->leg);
	login_set_tls(pr->login, 1);
	evbuffer_add(leg_output(&pr->leg), pr->se->r_header,
	    pr->se->r_header_len);
}

static void
pr_eof(struct leg *l, void *arg)
{
	pr_finish(arg, 0, "server closed the connection");
}

static void
pr_error(struct leg *l, void *arg, const char *why, int connecting)
{
	struct probe	*pr = arg;
	char		 buf[256], reason[300];

	if (pr->tls == 2) {
		snprintf(reason, sizeof(reason), "TLS failed: %s",
		    *tls_error(l, buf, sizeof(buf)) ? buf : "handshake error");
		pr_finish(pr, 0, reason);
		return;
	}
	pr_finish(pr, 0, connecting ? "cannot connect to the server" :
	    "connection error");
}

static void
pr_closed(struct leg *l, void *arg)
{
}
