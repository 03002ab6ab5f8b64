/*
 * session_guard: what bounds one session against a hostile or broken peer,
 * and what the sessions hold together (for the listener's memory budget).
 *
 * - The upstream is dialled when the rabbit's stream header arrives, not
 *   at accept: a connection that never opens a stream costs no server
 *   connection. Until then the session timer is header-timeout from
 *   accept (session.c se_timer), which no byte resets. At most max-dials
 *   upstream streams are being opened at once (from the dial to the
 *   server's stream header): beyond that a session waits in a FIFO with
 *   its stanzas held, so a storm of reconnecting rabbits never overflows
 *   the server's accept queue (whose dropped SYNs TCP retries only after
 *   1, 3, 7, 15 s...). A waiting rabbit is not read; its header unit is
 *   kept and handed on once it dials. Waiting counts against
 *   connect-timeout.
 * - login-timeout from accept covers the header, the login and the
 *   resource bind: a stream that is not bound by then is closed with
 *   connection-timeout, however much it sends.
 * - write-timeout: a leg whose output stays above the high-water mark
 *   (the peer does not read) that long is reset and the session closed;
 *   its output never grows past the mark meanwhile (se_flow pauses the
 *   other side).
 * - session_mem_all(): every session's buffered bytes plus a fixed charge,
 *   what memory-budget is held against.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "log.h"
#include "session-int.h"
#include "stanza.h"

/* Per-session charge on top of its buffers (struct, parsers, events). */
#define SE_MEM_BASE	(16 * 1024)

#define NS_BIND		"urn:ietf:params:xml:ns:xmpp-bind"

static void	se_deadline(evutil_socket_t, short, void *);
static int	se_dial_now(struct session *);
static void	se_stall(evutil_socket_t, short, void *);

/*
 * The rabbit's header unit u is in: dial now (0), or, with max-dials
 * streams being opened, keep the unit (its bytes stay at the front of the
 * input, its tree is taken from u) and stop reading the rabbit until a
 * slot is free (1: the caller stops; se_kick() runs se_dial_go()). -1 if
 * the session failed.
 */
int
se_dial(struct session *se, struct xs_unit *u)
{
	struct proxy	*px = se->px;

	se->dialled = 1;
	se_arm_timer(se, se->opt->connect_timeout);
	if (se->opt->max_dials == 0 || px->ndialing < se->opt->max_dials) {
		se->dialing = 1;
		px->ndialing++;
		return se_dial_now(se);
	}
	se->dial_unit = *u;
	u->st = NULL;
	/* LAYER: se_process() takes no further unit while it is set. */
	leg_pause(&se->r, LEG_PAUSE_LAYER);
	se->dial_waiting = 1;
	se->dial_next = NULL;
	if (px->dial_head == NULL)
		px->dial_head = se;
	else
		px->dial_tail->dial_next = se;
	px->dial_tail = se;
	log_debug("session %llu: stream header in, waiting for one of "
	    "max-dials (%u)", (unsigned long long)se->id, se->opt->max_dials);
	return 1;
}

/* Take se out of the FIFO (its turn came, or it ended while waiting). */
static void
se_dial_unqueue(struct session *se)
{
	struct proxy	*px = se->px;
	struct session	**pp, *prev = NULL;

	for (pp = &px->dial_head; *pp != NULL; prev = *pp,
	    pp = &(*pp)->dial_next)
		if (*pp == se) {
			*pp = se->dial_next;
			if (px->dial_tail == se)
				px->dial_tail = prev;
			break;
		}
	se->dial_waiting = 0;
}

void
se_dial_done(struct session *se)
{
	struct proxy	*px = se->px;
	struct session	*next;

	if (se->dial_waiting)
		se_dial_unqueue(se);
	if (!se->dialing)
		return;
	se->dialing = 0;
	px->ndialing--;
	/* The slot goes to the first in line; it dials from its own kick. */
	while ((next = px->dial_head) != NULL &&
	    (next->opt->max_dials == 0 || px->ndialing < next->opt->max_dials)) {
		se_dial_unqueue(next);
		if (next->failing || next->dead)
			continue;
		next->dialing = 1;
		next->dial_go = 1;
		px->ndialing++;
		event_active(next->kick, 0, 0);
	}
}

/* Its turn (from se_kick): dial, then hand on the header unit it kept. */
int
se_dial_go(struct session *se, struct xs_unit *u)
{
	se->dial_go = 0;
	*u = se->dial_unit;
	memset(&se->dial_unit, 0, sizeof(se->dial_unit));
	leg_resume(&se->r, LEG_PAUSE_LAYER);
	return se_dial_now(se);
}

static int
se_dial_now(struct session *se)
{
	log_debug("session %llu: stream header in, dialling %s:%u",
	    (unsigned long long)se->id, se->opt->upstream_host,
	    se->opt->upstream_port);
	/* Errors may be reported synchronously (se_error, connecting). */
	if (leg_connect(&se->s, se->px->base, se->px->dns,
	    se->opt->upstream_host, se->opt->upstream_port, &se_leg_cbs,
	    se) == -1) {
		session_fail(se, "remote-connection-failed", NULL,
		    "cannot start the upstream connection");
		return -1;
	}
	return 0;
}

/*
 * login-timeout: a connection must be logged in (our login or its own
 * SASL accepted by the server) and have a resource bound this long after
 * accept, or it is closed, however much it sends: no slowloris holds a
 * slot or an upstream connection with a header trickled byte by byte, or
 * by keeping an unauthenticated or unbound stream busy.
 */
static void
se_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct session	*se = arg;
	char		 why[96];

	if (se->dead || se->failing || se->bound)
		return;
	if (!se->authenticated)
		snprintf(why, sizeof(why), "not logged in within "
		    "login-timeout (%u s)", se->opt->login_timeout);
	else
		snprintf(why, sizeof(why), "no resource bound within "
		    "login-timeout (%u s)", se->opt->login_timeout);
	session_fail(se, "connection-timeout", "", why);
}

void
se_arm_deadline(struct session *se)
{
	struct timeval	tv = { se->opt->login_timeout, 0 };

	if (se->opt->login_timeout == 0 || (se->deadline =
	    evtimer_new(se->px->base, se_deadline, se)) == NULL)
		return;
	evtimer_add(se->deadline, &tv);
}

/* A server stanza: the result of a resource bind ends the deadline. */
void
se_note_bound(struct session *se, const struct xs_unit *u)
{
	const struct st_node	*root;
	const char		*type;

	if (se->bound || u->kind != XS_STANZA || u->st == NULL)
		return;
	root = stanza_root(u->st);
	if (strcmp(root->name, "iq") != 0 ||
	    (type = st_attr(root, "type")) == NULL ||
	    strcmp(type, "result") != 0 ||
	    st_child(root, "bind", NS_BIND) == NULL)
		return;
	se->bound = 1;
	if (se->deadline != NULL)	/* never armed again: free it */
		event_free(se->deadline);
	se->deadline = NULL;
}

/* The leg whose output is above the high-water mark, or NULL. */
static struct leg *
se_stuck(struct session *se)
{
	if (se->r.bev != NULL && leg_pending(&se->r) > LEG_HIGH_WATER)
		return &se->r;
	if (se->s.bev != NULL && leg_pending(&se->s) > LEG_HIGH_WATER)
		return &se->s;
	return NULL;
}

/* After se_flow: a full output starts the write-timeout clock. */
void
se_stall_check(struct session *se)
{
	struct timeval	tv = { se->opt->write_timeout, 0 };

	if (se->opt->write_timeout == 0 || se->failing || se_stuck(se) == NULL)
		return;
	if (se->stall == NULL &&
	    (se->stall = evtimer_new(se->px->base, se_stall, se)) == NULL)
		return;
	if (!evtimer_pending(se->stall, NULL))
		evtimer_add(se->stall, &tv);
}

/* After an output drained: no leg full any more stops the clock. */
void
se_stall_clear(struct session *se)
{
	if (se->stall != NULL && se_stuck(se) == NULL)
		evtimer_del(se->stall);
}

static void
se_stall(evutil_socket_t fd, short what, void *arg)
{
	struct session	*se = arg;
	struct leg	*l;
	char		 why[160];
	int		 rabbit;

	if (se->dead || se->failing || (l = se_stuck(se)) == NULL)
		return;
	rabbit = l == &se->r;
	snprintf(why, sizeof(why), "%s did not read for write-timeout "
	    "(%u s, %zu bytes waiting)", rabbit ? "rabbit" : "server",
	    se->opt->write_timeout, leg_pending(l));
	leg_abort(l);
	session_end_reason(se, "timeout", why);
	session_fail(se, rabbit ? NULL : "connection-timeout",
	    rabbit ? "" : NULL, why);
}

/* Bytes one session holds: its buffers and a fixed charge. */
static size_t
se_mem(struct session *se)
{
	size_t	n = SE_MEM_BASE + se->r_header_len;

	if (se->r.bev != NULL)
		n += leg_pending(&se->r) +
		    evbuffer_get_length(leg_input(&se->r));
	if (se->s.bev != NULL)
		n += leg_pending(&se->s) +
		    evbuffer_get_length(leg_input(&se->s));
	if (se->held != NULL)
		n += evbuffer_get_length(se->held);
	return n;
}

size_t
session_mem_all(struct proxy *px)
{
	struct session	*se;
	size_t		 n = 0;

	TAILQ_FOREACH(se, &px->sessions, entry)
		n += se_mem(se);
	return n;
}

void
se_guard_free(struct session *se)
{
	se_dial_done(se);
	stanza_free(se->dial_unit.st);
	se->dial_unit.st = NULL;
	if (se->deadline != NULL)
		event_free(se->deadline);
	if (se->stall != NULL)
		event_free(se->stall);
	se->deadline = se->stall = NULL;
}
