/*
 * hostsvc: filter-level services and the boot-stage hook (hostsvc.h).
 *
 * Timers and watches are plain libevent events on the daemon's base.
 * Resolution goes through the daemon's evdns base and always answers on
 * a later turn of the loop, so a caller holds its handle before the
 * callback. rabbit_call finds the newest online session of a MAC whose
 * connection proved the account's password and whose chain holds the
 * calling filter and runs the callback as a hook would
 * (per-hook memory freed after). Stages are queued per chain and
 * delivered on the next turn (never inside another filter's hook); the
 * end of a session flushes them and adds "offline" at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "chain-int.h"
#include "ctlreg-int.h"
#include "hostsvc.h"
#include "log.h"
#include "proxy.h"
#include "session-int.h"

static struct proxy	*hs_px;

struct nab_ftimer {
	struct event	*ev;
	nab_ftimer_cb	*cb;
	void		*arg;
};

struct nab_watch {
	struct event	*ev;
	int		 fd;
	unsigned	 what;
	nab_fd_cb	*cb;
	void		*arg;
};

struct nab_resolve {
	struct evdns_getaddrinfo_request *req;
	struct event	*ev;		/* delivers on a later turn */
	nab_resolve_cb	*cb;
	void		*arg;
	int		 cancelled;
	char		 addr[64];
	const char	*why;
};

void
hostsvc_attach(struct proxy *px)
{
	hs_px = px;
}

void
hostsvc_detach(void)
{
	hs_px = NULL;
}

struct event_base *
hostsvc_base(void)
{
	return hs_px != NULL ? hs_px->base : NULL;
}

struct evdns_base *
hostsvc_dns(void)
{
	return hs_px != NULL ? hs_px->dns : NULL;
}

static void
ftimer_fire(evutil_socket_t fd, short what, void *arg)
{
	struct nab_ftimer	*t = arg;
	nab_ftimer_cb		*cb = t->cb;
	void			*cbarg = t->arg;

	(void)fd;
	(void)what;
	event_free(t->ev);
	free(t);
	cb(cbarg);
}

struct nab_ftimer *
hostsvc_ftimer_add(unsigned msec, nab_ftimer_cb *cb, void *arg)
{
	struct nab_ftimer	*t;
	struct timeval		 tv = { msec / 1000, (msec % 1000) * 1000 };

	if (hostsvc_base() == NULL || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->ev = evtimer_new(hostsvc_base(), ftimer_fire, t)) == NULL) {
		free(t);
		return NULL;
	}
	t->cb = cb;
	t->arg = arg;
	evtimer_add(t->ev, &tv);
	return t;
}

void
hostsvc_ftimer_del(struct nab_ftimer *t)
{
	if (t == NULL)
		return;
	event_free(t->ev);
	free(t);
}

static void
watch_fire(evutil_socket_t fd, short what, void *arg)
{
	struct nab_watch	*w = arg;
	unsigned		 got = 0;

	if (what & EV_READ)
		got |= NAB_FD_READ;
	if (what & EV_WRITE)
		got |= NAB_FD_WRITE;
	w->cb((int)fd, got, w->arg);
}

/* (Re)arm w's event for w->what; 0 leaves it unarmed. */
static int
watch_arm(struct nab_watch *w)
{
	short	ev = EV_PERSIST;

	if (w->ev != NULL)
		event_free(w->ev);
	w->ev = NULL;
	if (w->what == 0)
		return 0;
	if (w->what & NAB_FD_READ)
		ev |= EV_READ;
	if (w->what & NAB_FD_WRITE)
		ev |= EV_WRITE;
	if ((w->ev = event_new(hostsvc_base(), w->fd, ev, watch_fire,
	    w)) == NULL || event_add(w->ev, NULL) == -1)
		return -1;
	return 0;
}

struct nab_watch *
hostsvc_watch_add(int fd, unsigned what, nab_fd_cb *cb, void *arg)
{
	struct nab_watch	*w;

	if (hostsvc_base() == NULL || fd < 0 ||
	    (w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->fd = fd;
	w->what = what & (NAB_FD_READ | NAB_FD_WRITE);
	w->cb = cb;
	w->arg = arg;
	if (watch_arm(w) == -1) {
		hostsvc_watch_del(w);
		return NULL;
	}
	return w;
}

int
hostsvc_watch_set(struct nab_watch *w, unsigned what)
{
	what &= NAB_FD_READ | NAB_FD_WRITE;
	if (w == NULL)
		return -1;
	if (what == w->what && (w->ev != NULL || what == 0))
		return 0;
	w->what = what;
	return watch_arm(w);
}

void
hostsvc_watch_del(struct nab_watch *w)
{
	if (w == NULL)
		return;
	if (w->ev != NULL)
		event_free(w->ev);
	free(w);
}

static void
resolve_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct nab_resolve	*r = arg;
	nab_resolve_cb		*cb = r->cb;
	void			*cbarg = r->arg;
	char			 addr[64];
	const char		*why = r->why;

	(void)fd;
	(void)what;
	memcpy(addr, r->addr, sizeof(addr));
	event_free(r->ev);
	free(r);
	cb(why == NULL ? addr : NULL, why, cbarg);
}

static void
resolve_done(int err, struct evutil_addrinfo *ai, void *arg)
{
	struct nab_resolve	*r = arg;
	const void		*a = NULL;

	r->req = NULL;
	if (r->cancelled) {
		if (ai != NULL)
			evutil_freeaddrinfo(ai);
		event_free(r->ev);
		free(r);
		return;
	}
	if (err != 0 || ai == NULL)
		r->why = err == EVUTIL_EAI_NONAME ? "no such host" :
		    "name resolution failed";
	else {
		if (ai->ai_family == AF_INET)
			a = &((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		else
			a = &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		if (evutil_inet_ntop(ai->ai_family, a, r->addr,
		    sizeof(r->addr)) == NULL)
			r->why = "name resolution failed";
	}
	if (ai != NULL)
		evutil_freeaddrinfo(ai);
	event_active(r->ev, EV_TIMEOUT, 0);
}

struct nab_resolve *
hostsvc_resolve(const char *name, nab_resolve_cb *cb, void *arg)
{
	struct nab_resolve		*r;
	struct evutil_addrinfo		 hints;
	struct evdns_getaddrinfo_request *req;

	if (hostsvc_base() == NULL || hostsvc_dns() == NULL || name == NULL ||
	    *name == '\0' || (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->ev = event_new(hostsvc_base(), -1, 0, resolve_deliver,
	    r)) == NULL) {
		free(r);
		return NULL;
	}
	r->cb = cb;
	r->arg = arg;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
	/* May answer at once (an address, /etc/hosts): then req is NULL. */
	req = evdns_getaddrinfo(hostsvc_dns(), name, NULL, &hints,
	    resolve_done, r);
	r->req = req;
	return r;
}

void
hostsvc_resolve_cancel(struct nab_resolve *r)
{
	if (r == NULL)
		return;
	if (r->req != NULL) {
		r->cancelled = 1;
		evdns_getaddrinfo_cancel(r->req);	/* resolve_done frees */
		return;
	}
	event_free(r->ev);
	free(r);
}

/* The slot of filter f in a chain, or NULL. */
static struct chain_slot *
slot_of(struct chain *ch, const struct nab_filter *f)
{
	size_t	i;

	for (i = 0; ch != NULL && i < ch->nopened; i++)
		if (ch->slots[i].cf->f == f)
			return &ch->slots[i];
	return NULL;
}

int
hostsvc_rabbit_call(const struct nab_filter *self, const char *mac,
    nab_rabbit_cb *cb, void *arg)
{
	struct session		*se, *found = NULL;
	struct chain_slot	*sl = NULL, *s;
	const char		*m;
	int			 rc;

	if (hs_px == NULL || mac == NULL)
		return -1;
	TAILQ_FOREACH(se, &hs_px->sessions, entry) {
		if (se->chain == NULL || se->rec == NULL ||
		    se->rec->stage < CTL_SESSION || se->r.closing ||
		    se->r.bev == NULL)
			continue;
		/* Only a connection that proved the account's password. */
		if (session_identity(se)->proof == NULL ||
		    *session_identity(se)->proof == '\0')
			continue;
		m = session_identity(se)->mac;
		if (m == NULL || strcmp(m, mac) != 0 ||
		    (s = slot_of(se->chain, self)) == NULL)
			continue;
		found = se;
		sl = s;
	}
	if (found == NULL)
		return -1;
	found->chain->running++;
	rc = cb(&sl->ctx, arg);
	if (--found->chain->running == 0)
		chain_host_after_unit(found->chain);
	return rc;
}

/* Deliver one stage to every filter of the chain that wants it. */
static void
stage_deliver(struct chain *ch, const char *stage)
{
	const struct nab_filter	*f;
	size_t			 i;

	ch->running++;
	for (i = 0; i < ch->nopened; i++) {
		f = ch->slots[i].cf->f;
		if (f->struct_size >= offsetof(struct nab_filter, on_stage) +
		    sizeof(f->on_stage) && f->on_stage != NULL)
			f->on_stage(&ch->slots[i].ctx, stage);
	}
	if (--ch->running == 0)
		chain_host_after_unit(ch);
}

static void
stage_flush(struct chain *ch)
{
	char		q[CHAIN_STAGEQ][16];
	unsigned	n = ch->nstage, i;

	memcpy(q, ch->stage_q, sizeof(q));
	ch->nstage = 0;
	for (i = 0; i < n; i++)
		stage_deliver(ch, q[i]);
}

/* The event goes with the queue (an idle rabbit keeps none); a stage
   reported while flushing makes a new one. */
static void
stage_fire(evutil_socket_t fd, short what, void *arg)
{
	struct chain	*ch = arg;

	(void)fd;
	(void)what;
	event_free(ch->stage_ev);
	ch->stage_ev = NULL;
	stage_flush(ch);
}

void
hostsvc_stage(struct session *se, const char *stage)
{
	struct chain	*ch;

	if (hs_px == NULL || se == NULL || (ch = se->chain) == NULL)
		return;
	if (ch->stage_ev == NULL && (ch->stage_ev = event_new(hs_px->base,
	    -1, 0, stage_fire, ch)) == NULL)
		return;
	if (ch->nstage == CHAIN_STAGEQ) {	/* keep the newest */
		memmove(ch->stage_q[0], ch->stage_q[1],
		    sizeof(ch->stage_q[0]) * (CHAIN_STAGEQ - 1));
		ch->nstage--;
	}
	snprintf(ch->stage_q[ch->nstage++], sizeof(ch->stage_q[0]), "%s",
	    stage);
	event_active(ch->stage_ev, EV_TIMEOUT, 0);
}

void
hostsvc_offline(struct session *se)
{
	struct chain	*ch;

	if (hs_px == NULL || se == NULL || (ch = se->chain) == NULL)
		return;
	if (ch->stage_ev != NULL)
		event_del(ch->stage_ev);
	stage_flush(ch);
	stage_deliver(ch, "offline");
}

void
hostsvc_flog(const struct nab_filter *f, enum nab_loglevel lvl,
    const char *fmt, ...)
{
	char	buf[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (lvl <= NAB_LOG_WARN)
		log_warnx("filter %s: %s", f != NULL ? f->name : "?", buf);
	else if (lvl == NAB_LOG_INFO)
		log_info("filter %s: %s", f != NULL ? f->name : "?", buf);
	else
		log_debug("filter %s: %s", f != NULL ? f->name : "?", buf);
}
