/*
 * probe: a login probe, i.e. a complete SASL login on a separate server
 * connection, used to prove a password before trusting it (register
 * repair, credential learning). The probe sends the rabbit's own stream
 * header, logs in with the best mechanism the server offers, reports
 * success or failure once, and closes. Nothing on the server changes.
 *
 * A probe is an upstream (upstream.c: STARTTLS, SASL) without a chain:
 * this file only connects it, starts the login at the server's features
 * and reports. An adopting probe (a session's login on a fresh
 * connection) also restarts the stream and hands the connection to the
 * session.
 *
 * A probe belongs to its session: if the session goes first, the probe is
 * cancelled and its callback never runs.
 *
 * Keeping: when the session will need a login on a fresh connection (its
 * stream registered an account, session_login.c), a probe that succeeded
 * reports at <success/> as always, then restarts its stream and stays
 * open for connect-timeout: the session's login for the same account and
 * password (SHA-256 of it, compared in constant time) adopts it once its
 * new features arrived, instead of dialling again (one connection and one
 * SASL exchange fewer). A kept probe is closed at session end, at its
 * deadline, when the server closes it or sends anything but the restarted
 * header and features, and when the session's stream authenticates. A
 * login that took a kept probe waits for its features; if the probe dies
 * first, that login dials a fresh connection as before (the probe keeps
 * the password for that, wiped when it goes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "leg.h"
#include "log.h"
#include "login.h"
#include "session-int.h"
#include "stanza.h"
#include "upstream.h"
#include "xmlstream.h"

struct probe {
	struct probe		*next;
	struct session		*se;
	struct leg		 leg;
	struct xmlstream	*xs;
	struct upstream		 up;
	struct event		*timer;
	struct event		*reaper;
	session_login_cb	*cb;
	void			*arg;
	char			 user[ID_JID_MAX];
	char			*password;	/* until the login starts, or
						   while kept; wiped */
	int			 done;
	int			 adopt;		/* hand the stream to the session */
	int			 guarded;	/* counted by the proxy's idguard */
	int			 counted;	/* in px->nprobes: connecting */
	int			 parked;	/* waiting for a slot (the cap) */
	int			 park;		/* keep it open after success */
	int			 kept;		/* succeeded, kept open */
	int			 login_started;
	int			 adopt_now;	/* the session takes it (timer) */
	struct stanza		*features;	/* a kept probe's, after restart */
	char			 kept_mech[32];
	unsigned char		 pwhash[SHA256_DIGEST_LENGTH];
	struct probe		*wait_next;	/* px->probe_wait */
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
static void	pr_finish(struct probe *, int, int, const char *);
static int	pr_unit(struct probe *, struct xs_unit *);
static int	probe_run(struct session *, const char *, const char *, int,
		    session_login_cb *, void *);
static int	pr_guard(struct session *, const char *);
static void	pr_forget(struct probe *);
static void	pr_launch(struct probe *);
static void	guard_refused(struct session *, const char *, unsigned);
static void	pr_unqueue(struct probe *);
static void	pr_unpark(struct proxy *);
static void	pr_up_nothing(void *);
static void	pr_up_login_done(void *, int, int, const char *, const char *,
		    struct stanza *);
static void	pr_up_fail(void *, const char *, int);
static void	pr_drop(struct probe *, const char *);
static int	pr_keep(struct probe *);
static int	pr_kept_unit(struct probe *, struct xs_unit *);
static void	pr_fail(struct probe *, const char *);
static void	probe_hand_over(struct probe *);

static const struct leg_cbs pr_cbs = {
	pr_read, pr_drained, pr_connected, pr_eof, pr_error, pr_closed
};

static const struct upstream_ops pr_up_ops = {
	pr_up_nothing, pr_up_nothing, pr_up_login_done, pr_up_fail
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
	struct probe		**pp;
	struct xs_limits	 lim = { se->opt->max_stanza, se->opt->max_depth, 64 };
	struct timeval		 tv = { se->opt->connect_timeout * 3, 0 };
	int			 g = 0;

	if (se->r_header == NULL || (pr = calloc(1, sizeof(*pr))) == NULL)
		return -1;
	snprintf(pr->jid, sizeof(pr->jid), "%s@%s", localpart, se->who.domain);
	if (!adopt && (g = pr_guard(se, pr->jid)) == -1) {
		free(pr);
		cb(arg, 0, 1, "?", "login probes for this account or address "
		    "are backing off");
		return 0;
	}
	if (g == -2 && se->px->nprobe_wait >= se->opt->max_connections) {
		free(pr);
		session_log(se, LOG_LVL_WARN, "login probe for %s refused: %u "
		    "probes wait already", localpart, se->px->nprobe_wait);
		cb(arg, 0, 1, "?", "too many login probes waiting");
		return 0;
	}
	pr->guarded = !adopt && se->px->guard != NULL && g == 0;
	pr->se = se;
	pr->cb = cb;
	pr->arg = arg;
	pr->adopt = adopt;
	/* The session will log in on a fresh connection: maybe this one. */
	pr->park = !adopt && se->registered && !se->authenticated &&
	    !se->adopting;
	if (pr->park)
		SHA256((const unsigned char *)password, strlen(password),
		    pr->pwhash);
	snprintf(pr->user, sizeof(pr->user), "%s", localpart);
	upstream_init(&pr->up, &pr->leg, &pr->xs, se->opt, se->px->tls_ctx,
	    se->who.domain, &se->r_header, &se->r_header_len, &pr_up_ops, pr,
	    adopt);
	pr->up.kdf = se->px->kdf;
	pr->up.cnt = &se->px->cnt;
	if ((pr->password = strdup(password)) == NULL ||
	    (pr->xs = xs_new(&lim)) == NULL ||
	    (pr->timer = evtimer_new(se->px->base, pr_timeout, pr)) == NULL ||
	    (pr->reaper = event_new(se->px->base, -1, 0, pr_reap, pr)) == NULL)
		goto fail;
	pr->next = se->probes;
	se->probes = pr;
	/* Also bounds the wait for a slot. */
	evtimer_add(pr->timer, &tv);
	if (g == -2) {
		pr->parked = 1;
		pr->wait_next = NULL;
		for (pp = &se->px->probe_wait; *pp != NULL;
		    pp = &(*pp)->wait_next)
			;
		*pp = pr;
		se->px->nprobe_wait++;
		session_log(se, LOG_LVL_INFO, "login probe for %s waits: %u "
		    "probes running (the limit)", pr->jid,
		    idguard_running(se->px->guard));
		return 0;
	}
	pr_launch(pr);
	return 0;
fail:
	if (pr->guarded)
		idguard_end(se->px->guard, pr->jid, se->peer_ip, -1, time(NULL));
	xs_free(pr->xs);
	pr_forget(pr);
	if (pr->timer)
		event_free(pr->timer);
	free(pr);
	return -1;
}

/* Wipe the password the probe keeps until its login starts. */
static void
pr_forget(struct probe *pr)
{
	if (pr->password == NULL)
		return;
	explicit_bzero(pr->password, strlen(pr->password));
	free(pr->password);
	pr->password = NULL;
}

/*
 * Probes other than a proven session's own fresh login pass the proxy's
 * guard: backoff per account and per source (-1, logged), and a cap on
 * running probes (-2: the probe waits for a slot).
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
	if (wait == 0)
		return -2;
	guard_refused(se, jid, wait);
	return -1;
}

static void
guard_refused(struct session *se, const char *jid, unsigned wait)
{
	se->px->cnt.probe_backoffs++;
	session_log(se, LOG_LVL_WARN, "password attempt for %s refused: "
	    "backing off after failed attempts for this account or from %s "
	    "(%u s left)", jid, se->peer_ip, wait);
}

int
session_guard_check(struct session *se, const char *jid)
{
	unsigned	wait;

	if (se->px->guard == NULL || idguard_check(se->px->guard, jid,
	    se->peer_ip, time(NULL), &wait) == 0)
		return 0;
	guard_refused(se, jid, wait);
	return -1;
}

void
session_guard_note(struct session *se, const char *jid, int ok)
{
	if (se->px->guard != NULL)
		idguard_note(se->px->guard, jid, se->peer_ip, ok, time(NULL));
}

/* Unlink a waiting probe from the proxy's queue. */
static void
pr_unqueue(struct probe *pr)
{
	struct proxy	*px = pr->se->px;
	struct probe	**pp;

	if (!pr->parked)
		return;
	for (pp = &px->probe_wait; *pp != NULL; pp = &(*pp)->wait_next)
		if (*pp == pr) {
			*pp = pr->wait_next;
			break;
		}
	pr->parked = 0;
	px->nprobe_wait--;
}

/* A guarded probe ended: start the ones that waited, first come first. */
static void
pr_unpark(struct proxy *px)
{
	struct probe	*pr;
	unsigned	 wait;

	if (px->unparking)
		return;
	px->unparking = 1;
	while ((pr = px->probe_wait) != NULL) {
		if (idguard_begin(px->guard, pr->jid, pr->se->peer_ip,
		    time(NULL), &wait) == -1 && wait == 0)
			break;			/* still at the cap */
		pr_unqueue(pr);
		if (wait > 0) {
			pr_finish(pr, 0, 1, "login probes for this account or "
			    "address are backing off");
			continue;
		}
		pr->guarded = 1;
		session_log(pr->se, LOG_LVL_INFO, "login probe for %s started "
		    "(it waited for a slot)", pr->jid);
		pr_launch(pr);
	}
	px->unparking = 0;
}

/* Connect and send the rabbit's header: the probe runs. */
static void
pr_launch(struct probe *pr)
{
	struct session	*se = pr->se;

	se->px->nprobes++;
	pr->counted = 1;
	if (leg_connect(&pr->leg, se->px->base, se->px->dns,
	    se->opt->upstream_host, se->opt->upstream_port, &pr_cbs, pr) == -1) {
		pr_finish(pr, 0, 1, "cannot start the probe connection");
		return;
	}
	if (!pr->done)
		evbuffer_add(leg_output(&pr->leg), se->r_header,
		    se->r_header_len);
}

/* Report once, unlink from the session, free from a deferred event. */
static void
pr_finish(struct probe *pr, int ok, int transient, const char *why)
{
	struct probe	**pp;
	const char	 *mech = pr->up.mech;

	if (pr->done)
		return;
	pr->done = 1;
	transient = !ok && transient;
	if (!pr->kept)
		pr_forget(pr);
	upstream_clear(&pr->up);
	pr_unqueue(pr);
	if (pr->counted && !pr->kept) {	/* a kept one still counts */
		pr->se->px->nprobes--;
		pr->counted = 0;
	}
	if (pr->guarded)
		idguard_end(pr->se->px->guard, pr->jid, pr->se->peer_ip,
		    ok ? 1 : transient ? -1 : 0, time(NULL));
	if (!pr->kept)
		for (pp = &pr->se->probes; *pp != NULL; pp = &(*pp)->next)
			if (*pp == pr) {
				*pp = pr->next;
				break;
			}
	session_log(pr->se, ok ? LOG_LVL_INFO : LOG_LVL_WARN,
	    "login probe %s (%s)%s%s%s", ok ? "succeeded" : "failed", mech,
	    ok ? "" : ": ", ok ? "" : why, pr->kept ? "; its connection is "
	    "kept for the session's login" : "");
	if (pr->cb != NULL)
		pr->cb(pr->arg, ok, transient, mech, why);
	if (!pr->kept)
		event_active(pr->reaper, 0, 0);
	/* A slot is free: a waiting probe may start. */
	if (pr->guarded)
		pr_unpark(pr->se->px);
}

void
probe_cancel_all(struct session *se)
{
	struct probe	*pr;

	while ((pr = se->probes) != NULL) {
		pr->cb = NULL;
		if (pr->kept)
			pr_drop(pr, "session closed");
		else
			pr_finish(pr, 0, 1, "session closed");
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
		if (pr->adopt || pr->kept)	/* the session's */
			continue;
		pr->cb = NULL;
		pr_finish(pr, 0, 1, "the filter chain that started it was "
		    "replaced");
	}
}

static void
pr_reap(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*pr = arg;

	pr_forget(pr);
	leg_free(&pr->leg);
	xs_free(pr->xs);
	stanza_free(pr->features);
	upstream_clear(&pr->up);
	event_free(pr->timer);
	event_free(pr->reaper);
	free(pr);
}

static void
pr_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*pr = arg;

	if (pr->adopt_now && pr->features != NULL)
		probe_hand_over(pr);
	else
		pr_fail(pr, "login probe timed out");
}

/*
 * What the upstream did not consume (already drained): the features that
 * start the login, the end of the stream. 1 to go on, 0 when finished.
 */
static int
pr_unit(struct probe *pr, struct xs_unit *u)
{
	const struct st_node	*root;
	char			 err[256];

	if (pr->kept)
		return pr_kept_unit(pr, u);
	if (u->kind == XS_END) {
		pr_finish(pr, 0, 1, "server closed the stream");
		return 0;
	}
	if (u->kind != XS_STANZA)
		return 1;
	root = stanza_root(u->st);
	if (strcmp(root->name, "stream:error") == 0) {
		pr_finish(pr, 0, 1, "server sent a stream error");
		return 0;
	}
	if (strcmp(root->name, "stream:features") != 0 ||
	    pr->password == NULL || pr->login_started)
		return 1;
	pr->login_started = 1;
	if (upstream_login(&pr->up, pr->user, pr->password, root, err,
	    sizeof(err)) == -1) {
		pr_finish(pr, 0, 1, err);
		return 0;
	}
	if (!pr->park)
		pr_forget(pr);
	return !pr->done;
}

static void
pr_up_nothing(void *arg)
{
}

static void
pr_up_login_done(void *arg, int ok, int transient, const char *mech,
    const char *reason, struct stanza *features)
{
	struct probe	*pr = arg;

	if (ok && pr->park && !pr->adopt && !pr->se->authenticated &&
	    !pr->se->adopting && pr_keep(pr) == 0) {
		pr_finish(pr, ok, transient, reason);
		return;
	}
	if (ok && pr->adopt) {
		if (features == NULL) {
			pr_finish(pr, 0, 1, "no features after the restart");
			return;
		}
		se_adopt_upstream(pr->se, &pr->leg, &pr->xs, features,
		    pr->up.tls_active);
	}
	pr_finish(pr, ok, transient, reason);
}

static void
pr_up_fail(void *arg, const char *reason, int clean)
{
	pr_finish(arg, 0, 1, reason);
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

	while (go && (!pr->done || pr->kept)) {
		while (go && (!pr->done || pr->kept) &&
		    (r = xs_next(pr->xs, &u)) == 1) {
			if (!upstream_unit(&pr->up, &u, in)) {
				evbuffer_drain(in, u.len);
				go = pr_unit(pr, &u);
			}
			stanza_free(u.st);
			if (pr->xs == NULL)	/* adopted: the session owns it */
				return;
		}
		if (pr->done && !pr->kept)
			break;
		if (r == -1) {
			pr_fail(pr, "server sent bad XML");
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
			pr_fail(pr, "server sent bad XML");
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

	/* Finished (maybe with its session gone): only the reaper is left. */
	if (!pr->done)
		(void)upstream_connected(&pr->up);
}

static void
pr_eof(struct leg *l, void *arg)
{
	pr_fail(arg, "server closed the connection");
}

static void
pr_error(struct leg *l, void *arg, const char *why, int connecting)
{
	struct probe	*pr = arg;

	if (pr->kept) {
		pr_drop(pr, "connection error");
		return;
	}
	if (pr->done || upstream_error(&pr->up))
		return;
	if (connecting)
		pr->se->px->cnt.upstream_connect_failed++;
	pr_finish(pr, 0, 1, connecting ? "cannot connect to the server" :
	    "connection error");
}

static void
pr_closed(struct leg *l, void *arg)
{
}

/* A failure: a running probe reports it, a kept one is closed. */
static void
pr_fail(struct probe *pr, const char *why)
{
	if (pr->kept)
		pr_drop(pr, why);
	else
		pr_finish(pr, 0, 1, why);
}

/*
 * A succeeded probe stays for the session's login: restart the stream
 * (the rabbit's header again) and wait connect-timeout at most.
 */
static int
pr_keep(struct probe *pr)
{
	struct timeval	 tv = { pr->se->opt->connect_timeout, 0 };

	if (pr->se->r_header == NULL || xs_reset(pr->xs) == -1)
		return -1;
	evbuffer_add(leg_output(&pr->leg), pr->se->r_header,
	    pr->se->r_header_len);
	snprintf(pr->kept_mech, sizeof(pr->kept_mech), "%s", pr->up.mech);
	pr->kept = 1;
	evtimer_add(pr->timer, &tv);
	return 0;
}

/*
 * A kept probe's restarted stream: its header, then its features (copied:
 * the probe is ready for the session). Anything else closes it. 1 to go
 * on reading.
 */
static int
pr_kept_unit(struct probe *pr, struct xs_unit *u)
{
	struct st_node	*root;

	if (u->kind == XS_WS || (u->kind == XS_HEADER && pr->features == NULL))
		return 1;
	if (u->kind != XS_STANZA || pr->features != NULL ||
	    strcmp(stanza_root(u->st)->name, "stream:features") != 0) {
		pr_drop(pr, "server sent more than the restarted stream");
		return 0;
	}
	if ((pr->features = stanza_new(stanza_used(u->st) * 2 + 4096)) ==
	    NULL || (root = st_copy(pr->features, stanza_root(u->st))) ==
	    NULL) {
		pr_drop(pr, "out of memory");
		return 0;
	}
	stanza_set_root(pr->features, root);
	if (pr->adopt_now)		/* a login waits for it */
		event_active(pr->timer, EV_TIMEOUT, 0);
	return 1;
}

/*
 * Close a kept probe: unlink it, free it from the reaper. A session login
 * that was taking it hears that it failed (transient).
 */
static void
pr_drop(struct probe *pr, const char *why)
{
	struct probe		**pp;
	session_login_cb	*cb = pr->adopt_now ? pr->cb : NULL;
	void			*arg = pr->arg;
	char			 user[sizeof(pr->user)];

	if (!pr->kept)
		return;
	snprintf(user, sizeof(user), "%s", pr->user);
	pr->kept = 0;
	pr->adopt_now = 0;
	pr->cb = NULL;
	if (pr->counted) {		/* against max-connections until now */
		pr->se->px->nprobes--;
		pr->counted = 0;
	}
	explicit_bzero(pr->pwhash, sizeof(pr->pwhash));
	for (pp = &pr->se->probes; *pp != NULL; pp = &(*pp)->next)
		if (*pp == pr) {
			*pp = pr->next;
			break;
		}
	evtimer_del(pr->timer);
	event_active(pr->reaper, 0, 0);
	if (why != NULL)
		session_log(pr->se, cb != NULL ? LOG_LVL_INFO : LOG_LVL_DEBUG,
		    "kept login probe connection for %s closed: %s%s",
		    pr->jid, why, cb != NULL ? "; the login dials a fresh "
		    "connection" : "");
	/* A login was waiting for it: dial as if it had never been kept. */
	if (cb != NULL && (pr->password == NULL || probe_start_adopt(pr->se,
	    user, pr->password, cb, arg) == -1))
		cb(arg, 0, 1, pr->kept_mech, why);
	pr_forget(pr);
}

/*
 * The session's own stream authenticated: its kept probes are of no use.
 */
void
probe_drop_kept(struct session *se)
{
	struct probe	*pr, *next;

	for (pr = se->probes; pr != NULL; pr = next) {
		next = pr->next;
		if (pr->kept && !pr->adopt_now)
			pr_drop(pr, "not needed");
	}
}

/*
 * The session's fresh-connection login for localpart with password: take
 * a kept probe that logged in with exactly these and has its restarted
 * features, instead of dialling. The hand-over runs from the probe's
 * timer (never inside the caller); cb then reports as an adopting probe
 * would. 1 if a kept probe was taken.
 */
int
probe_take_kept(struct session *se, const char *localpart,
    const char *password, session_login_cb *cb, void *arg)
{
	struct probe	*pr, *next;
	unsigned char	 h[SHA256_DIGEST_LENGTH];
	int		 taken = 0;

	SHA256((const unsigned char *)password, strlen(password), h);
	for (pr = se->probes; pr != NULL; pr = next) {
		next = pr->next;
		if (!pr->kept || pr->adopt_now)
			continue;
		if (taken || strcmp(pr->user, localpart) != 0 ||
		    CRYPTO_memcmp(h, pr->pwhash, sizeof(h)) != 0) {
			pr_drop(pr, "not needed");
			continue;
		}
		pr->adopt_now = 1;
		pr->cb = cb;
		pr->arg = arg;
		/* Features there: hand over now; else when they come. */
		if (pr->features != NULL)
			event_active(pr->timer, EV_TIMEOUT, 0);
		taken = 1;
	}
	explicit_bzero(h, sizeof(h));
	return taken;
}

/* The kept probe's connection becomes the session's server leg. */
static void
probe_hand_over(struct probe *pr)
{
	struct session		*se = pr->se;
	session_login_cb	*cb = pr->cb;
	void			*arg = pr->arg;
	char			 mech[32];

	snprintf(mech, sizeof(mech), "%s", pr->kept_mech);
	se_adopt_upstream(se, &pr->leg, &pr->xs, pr->features,
	    pr->up.tls_active);
	session_log(se, LOG_LVL_INFO, "the server connection of the login "
	    "probe for %s is the session's now (no new connection)", pr->jid);
	pr->adopt_now = 0;
	pr_drop(pr, NULL);
	if (cb != NULL)
		cb(arg, 1, 0, mech, "");
}
