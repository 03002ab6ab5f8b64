/*
 * session: one rabbit, two legs, one stream parser per direction.
 *
 * Bytes flow one way through each half: read from a leg, cut into units
 * by xmlstream, judged by the filter chain, then moved (untouched units,
 * no copy) or serialised (replaced units) into the other leg's output or
 * the hold queue. A session ends only through session_fail(), which sends
 * the stream errors, logs one summary line and lets both legs flush; the
 * memory is freed from a deferred event, never inside a callback that
 * still uses it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "chain.h"
#include "ctlreg.h"
#include "leg.h"
#include "listener.h"
#include "log.h"
#include "rabbitlog.h"
#include "proxy.h"
#include "session-int.h"
#include "stanza.h"
#include "xmlstream.h"

static void	se_read(struct leg *, void *);
static void	se_drained(struct leg *, void *);
static void	se_connected(struct leg *, void *);
static void	se_eof(struct leg *, void *);
static void	se_error(struct leg *, void *, const char *, int);
static void	se_closed(struct leg *, void *);
static void	se_timer(evutil_socket_t, short, void *);
static void	se_reap(evutil_socket_t, short, void *);
static void	se_kick(evutil_socket_t, short, void *);
static void	se_process(struct session *, enum nab_dir);

/* se->upstream_failed when its message could not be copied. */
static char	se_nomem_upstream[] = "cannot connect upstream (out of memory)";
static void	se_unit(struct session *, enum nab_dir, struct xs_unit *);
static int	se_feed(struct session *, enum nab_dir);
static void	se_parse_error(struct session *, enum nab_dir);
static void	se_maybe_done(struct session *);
static void	se_pass_eof(struct session *, enum nab_dir);
static void	se_unit_after(struct session *, enum nab_dir,
		    const struct xs_unit *, enum nab_verdict);
static void	se_flow(struct session *, enum nab_dir);
static void	se_unpause(struct session *, enum nab_dir, int);

const struct leg_cbs se_leg_cbs = {
	se_read, se_drained, se_connected, se_eof, se_error, se_closed
};

/* The leg a direction reads from, and the one it writes to. */
struct leg *
se_src(struct session *se, enum nab_dir d)
{
	return d == NAB_FROM_RABBIT ? &se->r : &se->s;
}

struct leg *
se_dst(struct session *se, enum nab_dir d)
{
	return d == NAB_FROM_RABBIT ? &se->s : &se->r;
}

int
session_new(struct proxy *px, int fd, const struct sockaddr *sa, int salen)
{
	struct session	*se;
	struct xs_limits lim;
	char		 host[INET6_ADDRSTRLEN];
	unsigned short	 port = 0;

	if ((se = calloc(1, sizeof(*se))) == NULL)
		goto enomem;
	se->px = px;
	se->id = ++px->next_id;
	if ((se->opt = proxy_opts_hold(px)) == NULL)
		goto enomem;
	host[0] = '\0';
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(se->peer, sizeof(se->peer), "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(se->peer, sizeof(se->peer), "[%s]:%u", host, port);
	} else
		snprintf(se->peer, sizeof(se->peer), "local");
	snprintf(se->peer_ip, sizeof(se->peer_ip), "%s", host);
	lim.max_stanza = se->opt->max_stanza;
	lim.max_depth = se->opt->max_depth;
	lim.max_attrs = 64;
	if ((se->xs[NAB_FROM_RABBIT] = xs_new(&lim)) == NULL ||
	    (se->xs[NAB_FROM_SERVER] = xs_new(&lim)) == NULL ||
	    (se->held = evbuffer_new()) == NULL ||
	    (se->timer = evtimer_new(px->base, se_timer, se)) == NULL ||
	    (se->reaper = event_new(px->base, -1, 0, se_reap, se)) == NULL ||
	    (se->kick = event_new(px->base, -1, 0, se_kick, se)) == NULL)
		goto enomem;
	se_identity_init(se);
	se_upstream_init(se);
	if (leg_accept(&se->r, px->base, fd, &se_leg_cbs, se) == -1)
		goto enomem;
	fd = -1;
	TAILQ_INSERT_TAIL(&px->sessions, se, entry);
	px->nsessions++;
	se->linked = 1;
	se->rec = ctlreg_open(px->reg, se, se->id, se->peer);
	if (px->chains != NULL &&
	    (se->chain = chain_open(px->chains, se_profile_for(se), se)) ==
	    NULL) {
		session_fail(se, "internal-server-error", NULL,
		    "cannot open the filter chain");
		return 0;
	}
	/* The upstream is dialled at the rabbit's header (se_dial). */
	se_arm_timer(se, se->opt->header_timeout);
	se_arm_deadline(se);
	log_info("session %llu: accepted from %s, profile %s",
	    (unsigned long long)se->id, se->peer,
	    se->chain ? chain_profile(se->chain) : "none");
	return 0;
enomem:
	log_warnx("session: out of memory accepting a connection");
	if (fd != -1)
		close(fd);
	if (se != NULL) {
		xs_free(se->xs[0]);
		xs_free(se->xs[1]);
		if (se->held)
			evbuffer_free(se->held);
		if (se->timer)
			event_free(se->timer);
		if (se->reaper)
			event_free(se->reaper);
		if (se->kick)
			event_free(se->kick);
		leg_free(&se->r);
		proxy_opts_release(px, se->opt);
		free(se);
	}
	return -1;
}

const char *
session_peer(const struct session *se)
{
	return se->peer;
}

/* (Re)arm the session deadline: connect timeout, then idle timeout. */
void
se_arm_timer(struct session *se, unsigned sec)
{
	struct timeval	tv = { sec, 0 };

	if (sec > 0)
		evtimer_add(se->timer, &tv);
}

static void
se_timer(evutil_socket_t fd, short what, void *arg)
{
	struct session	*se = arg;
	struct timeval	 now, left;
	char		 why[96];

	if (se->dead)
		return;
	if (se->failing) {
		/*
		 * Peers that never read their stream error get cut off, and
		 * so does an upstream connect still pending: checked first,
		 * or a session failed while connecting would never be freed.
		 */
		leg_abort(&se->r);
		leg_abort(&se->s);
		se_maybe_done(se);
		return;
	}
	if (!se->dialled) {
		/* Armed once at accept: no byte the rabbit sends resets it. */
		snprintf(why, sizeof(why), "no stream header within "
		    "header-timeout (%u s)", se->opt->header_timeout);
		session_fail(se, "connection-timeout", "", why);
		return;
	}
	if (!se->s.connected) {
		if (!se->s.closed)	/* not counted by se_error already */
			se->px->cnt.upstream_connect_failed++;
		session_end_reason(se, "timeout", "upstream connect timed out");
		session_fail(se, "remote-connection-failed", NULL,
		    "upstream connect timed out");
		return;
	}
	event_base_gettimeofday_cached(se->px->base, &now);
	left.tv_sec = se->last_active.tv_sec + se->opt->idle_timeout - now.tv_sec;
	if (left.tv_sec > 0) {
		se_arm_timer(se, (unsigned)left.tv_sec);
		return;
	}
	session_fail(se, "connection-timeout", "",
	    "idle timeout, no traffic for the configured idle-timeout");
}

/* Input waits after a hold was released from inside a hook: resume it. */
static void
se_kick(evutil_socket_t fd, short what, void *arg)
{
	struct session	*se = arg;

	if (se->dead || se->failing)
		return;
	if (se->close_cond != NULL) {
		session_fail(se, se->close_cond, "", se->close_reason);
		return;
	}
	if (se->dial_go) {
		struct xs_unit	u;

		if (se_dial_go(se, &u) == 0)
			se_unit(se, NAB_FROM_RABBIT, &u);
		stanza_free(u.st);
		if (se->failing)
			return;
	}
	se_process(se, NAB_FROM_RABBIT);
	if (!se->failing)
		se_process(se, NAB_FROM_SERVER);
	if (!se->failing && se->eof_deferred && !se->eof_sent[NAB_FROM_RABBIT])
		se_pass_eof(se, NAB_FROM_RABBIT);
}

static void
se_read(struct leg *l, void *arg)
{
	struct session	*se = arg;

	event_base_gettimeofday_cached(se->px->base, &se->last_active);
	se_process(se, l == &se->r ? NAB_FROM_RABBIT : NAB_FROM_SERVER);
}

/*
 * Cut as much input as possible into units and hand each on. Stops when
 * the input is exhausted, reading is paused, or the session fails.
 */
static void
se_process(struct session *se, enum nab_dir d)
{
	struct xs_unit	 u;
	int		 r;

	if (se->in_process[d])
		return;
	se->in_process[d] = 1;
	while (!se->failing && se_src(se, d)->bev != NULL) {
		/* A layer being set up: what follows is not XML yet. */
		r = 0;
		while (!se->failing &&
		    !(se_src(se, d)->pause & LEG_PAUSE_LAYER) &&
		    (r = xs_next(se->xs[d], &u)) == 1) {
			se_unit(se, d, &u);
			stanza_free(u.st);
		}
		if (se->failing)
			break;
		if (r == -1) {
			se_parse_error(se, d);
			break;
		}
		if (se_src(se, d)->pause != 0 || se_feed(se, d) <= 0)
			break;
	}
	se->in_process[d] = 0;
}

/* Feed the next unfed chunk of input to the parser: 1 fed, 0 none, -1 err. */
static int
se_feed(struct session *se, enum nab_dir d)
{
	struct evbuffer		*in = leg_input(se_src(se, d));
	struct evbuffer_ptr	 pos;
	struct evbuffer_iovec	 v;
	size_t			 off = xs_buffered(se->xs[d]), n;

	if (evbuffer_get_length(in) <= off)
		return 0;
	if (evbuffer_ptr_set(in, &pos, off, EVBUFFER_PTR_SET) == -1 ||
	    evbuffer_peek(in, -1, &pos, &v, 1) < 1)
		return 0;
	n = v.iov_len < XS_FEED_MAX ? v.iov_len : XS_FEED_MAX;
	xs_set_light(se->xs[d], se_light_names(se));
	if (xs_feed(se->xs[d], v.iov_base, n) == -1) {
		se_parse_error(se, d);
		return -1;
	}
	return 1;
}

static void
se_parse_error(struct session *se, enum nab_dir d)
{
	const char	*why, *cond;
	char		 reason[256];
	enum xs_error	 e;

	e = xs_error(se->xs[d], &why);
	if ((unsigned)e < COUNTERS_PARSE_CLASSES)
		se->px->cnt.parse_errors[d != NAB_FROM_RABBIT][e]++;
	cond = xs_error_condition(e);
	snprintf(reason, sizeof(reason), "%s sent bad XML: %s (%s)",
	    d == NAB_FROM_RABBIT ? "rabbit" : "server", cond, why);
	if (d == NAB_FROM_RABBIT)
		session_fail(se, cond, "", reason);
	else
		session_fail(se, "", cond, reason);
}

/* Handle one unit: login interception, the chain, then the verdict. */
static void
se_unit(struct session *se, enum nab_dir d, struct xs_unit *u)
{
	struct evbuffer		*in = leg_input(se_src(se, d));
	struct stanza		*repl = NULL;
	enum nab_verdict	 v = NAB_PASS;
	const char		*bytes;

	if ((bytes = (const char *)evbuffer_pullup(in, u->len)) == NULL &&
	    u->len > 0) {
		session_fail(se, "internal-server-error", "", "out of memory");
		return;
	}
	if (u->light) {		/* a stanza nothing reads as a tree */
		se_light_unit(se, d, u, in, bytes);
		if (se->close_cond != NULL)	/* as se_unit_after() */
			session_fail(se, se->close_cond, "", se->close_reason);
		else
			se_flow(se, d);
		return;
	}
	if (d == NAB_FROM_RABBIT && u->kind == XS_HEADER && !se->dialled &&
	    se_dial(se, u) != 0)
		return;		/* failed, or waits for max-dials (unit kept) */
	if (d == NAB_FROM_SERVER && u->kind == XS_HEADER)
		se_dial_done(se);
	ctlreg_unit(se->rec, d == NAB_FROM_SERVER, u);
	if (d == NAB_FROM_SERVER && upstream_unit(&se->up, u, in))
		return;
	if (d == NAB_FROM_SERVER) {
		se_note_bound(se, u);
		se_note_register_answer(se, u);
	}
	if (d == NAB_FROM_RABBIT)
		se_log_unit(se, d, bytes, u->len, u->kind, LOGU_PEER);
	if (u->kind == XS_HEADER)
		se_note_header(se, d, u, bytes);
	if (se->failing)
		return;
	if (u->kind == XS_STANZA && d == NAB_FROM_SERVER &&
	    strcmp(stanza_root(u->st)->name, "stream:features") == 0)
		se_keep_features(se, u->st);
	if (u->kind == XS_STANZA && d == NAB_FROM_RABBIT &&
	    se_rabbit_stanza(se, stanza_root(u->st))) {
		evbuffer_drain(in, u->len);
		se_flow(se, d);
		return;
	}
	if (se->chain != NULL)
		v = chain_unit(se->chain, d, u, bytes, &repl);
	if (u->kind == XS_STANZA && d == NAB_FROM_RABBIT &&
	    (v == NAB_PASS || v == NAB_REPLACE))
		identity_note_sasl(&se->who, stanza_root(repl != NULL ? repl :
		    u->st));
	switch (v) {
	case NAB_PASS:
		if (d == NAB_FROM_SERVER && u->kind == XS_STANZA)
			ctlreg_stanza(se->rec, 1, u->st);
		se_send_unit(se, d, in, bytes, u->len, u->kind);
		break;
	case NAB_REPLACE:
		evbuffer_drain(in, u->len);
		se_send_stanza(se, d, repl != NULL ? repl : u->st,
		    u->kind == XS_HEADER);
		break;
	case NAB_DROP:
	case NAB_HANDLED:
		evbuffer_drain(in, u->len);
		break;
	case NAB_CLOSE:
	default:
		evbuffer_drain(in, u->len);
		session_fail(se, se->close_cond ? se->close_cond :
		    "policy-violation", "", se->close_reason ?
		    se->close_reason : "closed by a filter");
		break;
	}
	stanza_free(repl);
	if (!se->failing)
		se_unit_after(se, d, u, v);
}

/* What a unit that went its way changes: restarts, layers, flow. */
static void
se_unit_after(struct session *se, enum nab_dir d, const struct xs_unit *u,
    enum nab_verdict v)
{
	if (se->close_cond != NULL) {
		session_fail(se, se->close_cond, "", se->close_reason);
		return;
	}
	if (v == NAB_PASS && d == NAB_FROM_SERVER) {
		se_check_restart(se, u);
		se_z_server_unit(se, u);
		if (se->failing)
			return;
	} else if (v == NAB_PASS)
		se_z_rabbit_unit(se, u);
	if (u->kind == XS_END)
		se->ended[d] = 1;
	if (d == NAB_FROM_RABBIT && se->restart_rabbit) {
		se->restart_rabbit = 0;
		se->r_header_seen = 0;
		if (xs_reset(se->xs[NAB_FROM_RABBIT]) == -1) {
			session_fail(se, "internal-server-error", "",
			    "out of memory");
			return;
		}
	}
	se_flow(se, d);
}

/*
 * Pause the source when its destination (or the hold queue) is full, or
 * when its own output is: the chain may answer a peer's stanzas itself,
 * and a peer that sends without reading must not grow that output.
 */
static void
se_flow(struct session *se, enum nab_dir d)
{
	struct leg	*dst = se_dst(se, d);

	if (leg_pending(dst) > LEG_HIGH_WATER)
		leg_pause(se_src(se, d), LEG_PAUSE_PEER);
	if (leg_pending(se_src(se, d)) > LEG_HIGH_WATER)
		leg_pause(se_src(se, d), LEG_PAUSE_OWN);
	if (d == NAB_FROM_RABBIT && se->holds > 0 &&
	    evbuffer_get_length(se->held) > se->opt->hold_queue)
		leg_pause(&se->r, LEG_PAUSE_HOLD);
	se_stall_check(se);
}

/* l's output went below the low mark: l itself and its peer may go on. */
static void
se_drained(struct leg *l, void *arg)
{
	struct session	*se = arg;
	enum nab_dir	 from = l == &se->r ? NAB_FROM_SERVER : NAB_FROM_RABBIT;

	se_unpause(se, from == NAB_FROM_RABBIT ? NAB_FROM_SERVER :
	    NAB_FROM_RABBIT, LEG_PAUSE_OWN);
	se_unpause(se, from, LEG_PAUSE_PEER);
	se_stall_clear(se);
	/* A half-closed side's last bytes left: that may end the session. */
	if (!se->failing && l->bev != NULL && leg_pending(l) == 0)
		se_maybe_done(se);
}

/*
 * Resume direction d if it paused for `why` and handle its input; a FIN
 * it got meanwhile is passed on once no output pause holds input back.
 */
static void
se_unpause(struct session *se, enum nab_dir d, int why)
{
	struct leg	*src = se_src(se, d);

	if (se->failing || src->bev == NULL)
		return;
	if (src->pause & why) {
		leg_resume(src, why);
		se_process(se, d);
	}
	if (!se->failing && src->bev != NULL && src->eof &&
	    !se->eof_sent[d] && !(src->pause & (LEG_PAUSE_PEER | LEG_PAUSE_OWN)))
		se_pass_eof(se, d);
}

static void
se_connected(struct leg *l, void *arg)
{
	struct session	*se = arg;

	if (l == &se->s && upstream_connected(&se->up))
		return;
	event_base_gettimeofday_cached(se->px->base, &se->last_active);
	se_arm_timer(se, se->opt->idle_timeout);
	log_debug("session %llu: connected upstream to %s:%u",
	    (unsigned long long)se->id, se->opt->upstream_host,
	    se->opt->upstream_port);
}

/* A FIN from one side becomes a FIN to the other once all is flushed. */
void
se_propagate_eof(struct session *se, enum nab_dir from)
{
	if (xs_buffered(se->xs[from]) > 0 && !se->ended[from])
		log_info("session %llu: %s closed mid-stanza (%zu bytes dropped)",
		    (unsigned long long)se->id,
		    from == NAB_FROM_RABBIT ? "rabbit" : "server",
		    xs_buffered(se->xs[from]));
	se->eof_sent[from] = 1;
	leg_shutdown(se_dst(se, from));
	se_maybe_done(se);
}

static void
se_eof(struct leg *l, void *arg)
{
	struct session	*se = arg;
	enum nab_dir	 from = l == &se->r ? NAB_FROM_RABBIT : NAB_FROM_SERVER;

	se_process(se, from);
	if (se->failing)
		return;
	log_info("session %llu: %s closed the connection",
	    (unsigned long long)se->id,
	    from == NAB_FROM_RABBIT ? "rabbit" : "server");
	ctlreg_closing(se->rec, NULL, from == NAB_FROM_RABBIT ?
	    "rabbit closed the connection" : "server closed the connection");
	session_end_reason(se, from == NAB_FROM_RABBIT ? "rabbit closed" :
	    "server closed", NULL);
	/* Input waiting for an output to drain: se_unpause() passes the FIN. */
	if (l->pause & (LEG_PAUSE_PEER | LEG_PAUSE_OWN))
		return;
	se_pass_eof(se, from);
}

/*
 * Pass a FIN on. A half-close is not a rabbit leaving: it still reads.
 * Its held stanzas, and the login they wait for, go first; se_kick()
 * calls again once the server stream is free.
 */
static void
se_pass_eof(struct session *se, enum nab_dir from)
{
	if (from == NAB_FROM_RABBIT && se_upstream_busy(se)) {
		if (!se->eof_deferred)
			log_info("session %llu: %zu held bytes go to the "
			    "server first", (unsigned long long)se->id,
			    evbuffer_get_length(se->held));
		se->eof_deferred = 1;
		return;
	}
	se->eof_deferred = 0;
	se_propagate_eof(se, from);
}

/*
 * Is the server stream in the middle of something the rabbit's FIN must
 * not cut: held stanzas, our login, a restart we hide, STARTTLS?
 */
int
se_upstream_busy(const struct session *se)
{
	return se->holds > 0 || se->adopting || se->login_cb != NULL ||
	    upstream_busy(&se->up);
}

static void
se_error(struct leg *l, void *arg, const char *why, int connecting)
{
	struct session	*se = arg;
	char		 reason[256];

	if (l == &se->s && connecting) {
		se_dial_done(se);
		se->px->cnt.upstream_connect_failed++;
		snprintf(reason, sizeof(reason), "cannot connect to %s:%u: %s",
		    se->opt->upstream_host, se->opt->upstream_port, why);
		if (!se->r_header_seen) {
			/* Answer once the rabbit has opened its stream. */
			if ((se->upstream_failed = strdup(reason)) == NULL)
				se->upstream_failed = se_nomem_upstream;
			log_info("session %llu: %s", (unsigned long long)se->id,
			    reason);
			leg_free(&se->s);
			se->s.closed = 1;
			return;
		}
		session_fail(se, "remote-connection-failed", NULL, reason);
		return;
	}
	if (l == &se->s && upstream_error(&se->up))
		return;
	if (se_z_failed(se, l))
		return;
	/* A reset on one side is passed on as a reset. */
	snprintf(reason, sizeof(reason), "%s connection error: %s",
	    l == &se->r ? "rabbit" : "server", why);
	leg_free(l);
	l->closed = 1;
	leg_abort(l == &se->r ? &se->s : &se->r);
	session_end_reason(se, l == &se->r ? "rabbit closed" : "server closed",
	    reason);
	session_fail(se, NULL, NULL, reason);
}

static void
se_closed(struct leg *l, void *arg)
{
	se_maybe_done(arg);
}

/* Free once both legs are closed, or both half-closed and flushed. */
static void
se_maybe_done(struct session *se)
{
	int	rdone, sdone;

	rdone = se->r.closed || se->r.bev == NULL ||
	    (se->r.eof && se->eof_sent[NAB_FROM_SERVER] && leg_pending(&se->r) == 0);
	sdone = se->s.closed || se->s.bev == NULL ||
	    (se->s.eof && se->eof_sent[NAB_FROM_RABBIT] && leg_pending(&se->s) == 0);
	if (rdone && sdone && !se->dead) {
		se->dead = 1;
		event_active(se->reaper, 0, 0);
	}
}

/*
 * The only way a session ends. to_rabbit / to_server: stream error
 * condition for that side, "" for a plain </stream:stream>, NULL for
 * nothing (the side is gone). Logs one summary line with the reason.
 */
void
session_fail(struct session *se, const char *to_rabbit, const char *to_server,
    const char *reason)
{
	if (se->failing)
		return;
	se->failing = 1;
	se_end_failed(se, to_rabbit, reason);
	ctlreg_closing(se->rec, to_rabbit, reason);
	log_info("session %llu: closing (%s%s%s): %s",
	    (unsigned long long)se->id, se->who.pub.bare_jid[0] ?
	    se->who.pub.bare_jid : se->peer,
	    to_rabbit && *to_rabbit ? ", rabbit gets " : "",
	    to_rabbit && *to_rabbit ? to_rabbit : "", reason ? reason : "");
	if (to_rabbit != NULL && se->r.bev != NULL && !se->r.closed)
		se_send_error(se, NAB_FROM_SERVER, to_rabbit);
	if (to_server != NULL && se->s.bev != NULL && !se->s.closed &&
	    se->r_header_seen)
		se_send_error(se, NAB_FROM_RABBIT, to_server);
	leg_close(&se->r);
	leg_close(&se->s);
	se_arm_timer(se, 5);
	se_maybe_done(se);
}

void
session_shutdown(struct session *se, const char *condition)
{
	session_end_reason(se, "shutdown", NULL);
	session_fail(se, condition, "", "proxy shutting down");
}

void
session_shutdown_all(struct proxy *px, const char *condition)
{
	struct session	*se;

	TAILQ_FOREACH(se, &px->sessions, entry)
		session_shutdown(se, condition);
}

void
session_free_all(struct proxy *px)
{
	struct session	*se;

	while ((se = TAILQ_FIRST(&px->sessions)) != NULL) {
		leg_abort(&se->r);
		leg_abort(&se->s);
		if (se->dead)
			event_del(se->reaper);
		se_reap(-1, 0, se);
	}
}

static void
se_reap(evutil_socket_t fd, short what, void *arg)
{
	struct session	*se = arg;

	if (se->linked) {
		TAILQ_REMOVE(&se->px->sessions, se, entry);
		se->px->nsessions--;
	}
	ctlreg_close(se->rec);
	se->rec = NULL;
	if (se->chain != NULL)
		chain_close(se->chain, se->end_reason != NULL ?
		    se->end_reason : "closed");
	se_login_free(se);
	probe_cancel_all(se);
	leg_free(&se->r);
	leg_free(&se->s);
	xs_free(se->xs[0]);
	xs_free(se->xs[1]);
	stanza_free(se->features);
	evbuffer_free(se->held);
	event_free(se->timer);
	event_free(se->reaper);
	event_free(se->kick);
	if (se->login_timer != NULL)
		event_free(se->login_timer);
	se_guard_free(se);
	rabbitlog_close(se->rlog, se->who.mac);
	free(se->r_header);
	free(se->close_reason);
	free(se->end_reason);
	identity_free(&se->who);
	if (se->upstream_failed != se_nomem_upstream)
		free(se->upstream_failed);
	if (se->px->lst != NULL)
		listener_release(se->px->lst, se->peer_ip);
	log_debug("session %llu: freed", (unsigned long long)se->id);
	proxy_opts_release(se->px, se->opt);
	proxy_session_gone(se->px);
	free(se);
}
