/*
 * leg: bufferevent mechanics for one side of a session.
 *
 * Backpressure follows libevent's le-proxy sample: when a leg's output
 * passes LEG_HIGH_WATER the session pauses the other leg's reads and sets
 * this leg's write low-water mark; the write callback then reports
 * "drained" and the session resumes. Half-close: leg_shutdown() sends FIN
 * after the output is flushed; leg_close() flushes and closes.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>

#include "leg.h"
#include "zstream.h"

static void	leg_readcb(struct bufferevent *, void *);
static void	leg_writecb(struct bufferevent *, void *);
static void	leg_eventcb(struct bufferevent *, short, void *);
static void	leg_setup(struct leg *, const struct leg_cbs *, void *);
static void	leg_finish(struct leg *);
static void	leg_nodelay(struct leg *);
static void	leg_close_step(struct leg *);
static void	leg_lower_cb(struct evbuffer *, const struct evbuffer_cb_info *,
		    void *);
static void	leg_unhook(struct leg *);
static struct bufferevent *leg_bottom(struct bufferevent *);
static int	leg_fd(const struct leg *);

/* The socket bufferevent under every layer. */
static struct bufferevent *
leg_bottom(struct bufferevent *bev)
{
	struct bufferevent	*lower;

	while ((lower = bufferevent_get_underlying(bev)) != NULL)
		bev = lower;
	return bev;
}

/* The socket under every layer (not every layer type answers getfd). */
static int
leg_fd(const struct leg *l)
{
	return l->bev != NULL ? bufferevent_getfd(leg_bottom(l->bev)) : -1;
}

/*
 * No Nagle on either side: XMPP is many small writes, and the firmware's
 * TCP is stop-and-wait, so a delayed small segment stalls a rabbit for the
 * peer's delayed-ACK time (40 ms and more, measured in bench/).
 */
static void
leg_nodelay(struct leg *l)
{
	int	on = 1, fd = leg_fd(l);

	if (fd != -1)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

static void
leg_setup(struct leg *l, const struct leg_cbs *cbs, void *arg)
{
	l->cbs = cbs;
	l->arg = arg;
	bufferevent_setcb(l->bev, leg_readcb, leg_writecb, leg_eventcb, l);
	bufferevent_setwatermark(l->bev, EV_WRITE, LEG_HIGH_WATER / 2, 0);
}

int
leg_accept(struct leg *l, struct event_base *base, int fd,
    const struct leg_cbs *cbs, void *arg)
{
	memset(l, 0, sizeof(*l));
	if ((l->bev = bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		return -1;
	leg_setup(l, cbs, arg);
	leg_nodelay(l);
	l->connected = 1;
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
	return 0;
}

int
leg_connect(struct leg *l, struct event_base *base, struct evdns_base *dns,
    const char *host, unsigned short port, const struct leg_cbs *cbs,
    void *arg)
{
	memset(l, 0, sizeof(*l));
	if ((l->bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		return -1;
	leg_setup(l, cbs, arg);
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
	/*
	 * Resolution and connect errors, even immediate ones for numeric
	 * hosts, arrive through the event callback, possibly before this
	 * returns: the caller must be fully set up before calling.
	 */
	if (bufferevent_socket_connect_hostname(l->bev, dns, AF_UNSPEC, host,
	    port) == -1)
		return -1;
	return 0;
}

struct evbuffer *
leg_input(struct leg *l)
{
	return bufferevent_get_input(l->bev);
}

struct evbuffer *
leg_output(struct leg *l)
{
	return bufferevent_get_output(l->bev);
}

/* A layer's own output empties before its bytes leave: count every level. */
size_t
leg_pending(const struct leg *l)
{
	struct bufferevent	*b;
	size_t			 n = 0;

	for (b = l->bev; b != NULL; b = bufferevent_get_underlying(b))
		n += evbuffer_get_length(bufferevent_get_output(b));
	return n;
}

void
leg_pause(struct leg *l, int why)
{
	l->pause |= why;
	if (l->bev != NULL)
		bufferevent_disable(l->bev, EV_READ);
}

void
leg_resume(struct leg *l, int why)
{
	l->pause &= ~why;
	if (l->pause == 0 && l->bev != NULL && !l->eof && !l->closing) {
		bufferevent_enable(l->bev, EV_READ);
		zs_kick(l);	/* its backlog does not wake on its own */
	}
}

void
leg_shutdown(struct leg *l)
{
	if (l->bev == NULL || l->shut || l->closing)
		return;
	if (leg_pending(l) > 0 || !l->connected) {
		l->shut_pending = 1;
		return;
	}
	shutdown(leg_fd(l), SHUT_WR);
	l->shut = 1;
}

void
leg_close(struct leg *l)
{
	if (l->bev == NULL || l->closed)
		return;
	/*
	 * Lingering close: keep reading and discarding, so unread input does
	 * not turn our close into a reset that destroys the stream error we
	 * just queued; FIN once flushed, close on the peer's FIN (or when the
	 * session's linger timer gives up). Not yet connected: the same,
	 * after the connect.
	 */
	l->closing = 1;
	if (!l->eof && l->connected) {
		bufferevent_enable(l->bev, EV_READ);
		zs_kick(l);	/* a deferred EOF waits behind its backlog */
	}
	leg_close_step(l);
}

void
leg_abort(struct leg *l)
{
	struct linger	lin = { 1, 0 };
	int		fd;

	if (l->bev == NULL || l->closed)
		return;
	if ((fd = leg_fd(l)) != -1)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
	evbuffer_drain(leg_output(l), evbuffer_get_length(leg_output(l)));
	leg_finish(l);
}

void
leg_move(struct leg *dst, struct leg *src, const struct leg_cbs *cbs,
    void *arg)
{
	int	ev;

	*dst = *src;
	memset(src, 0, sizeof(*src));
	if (dst->bev == NULL)
		return;
	ev = bufferevent_get_enabled(dst->bev);
	leg_setup(dst, cbs, arg);
	bufferevent_enable(dst->bev, ev);
}

void
leg_rebind(struct leg *l, struct bufferevent *top)
{
	/* The old bufferevent belongs to the filter, which set its callbacks. */
	leg_unhook(l);
	l->bev = top;
	leg_setup(l, l->cbs, l->arg);
	/*
	 * The layer empties its output into the lower one's at once: only
	 * the lower output draining tells that bytes left (a FIN sent
	 * earlier would cut them off), so it calls our write callback.
	 */
	evbuffer_add_cb(bufferevent_get_output(leg_bottom(top)), leg_lower_cb,
	    top);
	bufferevent_enable(top, EV_READ | EV_WRITE);
}

/* Bytes left the lower bufferevent: run the layer's write callback. */
static void
leg_lower_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *top)
{
	if (info->n_deleted > 0 &&
	    evbuffer_get_length(buf) <= LEG_HIGH_WATER / 2)
		bufferevent_trigger(top, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS |
		    BEV_TRIG_DEFER_CALLBACKS);
}

/* Before a layered bufferevent goes: no more calls from its lower one. */
static void
leg_unhook(struct leg *l)
{
	struct bufferevent	*lower = leg_bottom(l->bev);

	if (lower != l->bev)
		evbuffer_remove_cb(bufferevent_get_output(lower), leg_lower_cb,
		    l->bev);
}

void
leg_free(struct leg *l)
{
	if (l->bev == NULL)
		return;
	leg_unhook(l);
	zs_detach(l);
	bufferevent_free(l->bev);
	l->bev = NULL;
}

/* Closing: FIN once flushed, finish once the peer's FIN came too. */
static void
leg_close_step(struct leg *l)
{
	if (leg_pending(l) > 0 || !l->connected)
		return;
	if (!l->shut) {
		shutdown(leg_fd(l), SHUT_WR);
		l->shut = 1;
	}
	if (l->eof)
		leg_finish(l);
}

/* Output flushed while closing: close the socket now. */
static void
leg_finish(struct leg *l)
{
	leg_unhook(l);
	zs_detach(l);
	bufferevent_free(l->bev);
	l->bev = NULL;
	l->closed = 1;
	l->cbs->closed(l, l->arg);
}

static void
leg_readcb(struct bufferevent *bev, void *arg)
{
	struct leg	*l = arg;

	if (l->closing) {
		evbuffer_drain(leg_input(l), evbuffer_get_length(leg_input(l)));
		return;
	}
	l->cbs->read(l, l->arg);
}

static void
leg_writecb(struct bufferevent *bev, void *arg)
{
	struct leg	*l = arg;

	if (l->closing) {
		leg_close_step(l);
		return;
	}
	if (leg_pending(l) == 0) {
		if (l->shut_pending && l->connected) {
			l->shut_pending = 0;
			shutdown(leg_fd(l), SHUT_WR);
			l->shut = 1;
		}
	}
	/* A layer's lower output may still be full: leg_lower_cb() recalls. */
	if (leg_pending(l) <= LEG_HIGH_WATER / 2)
		l->cbs->drained(l, l->arg);
}

static void
leg_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct leg	*l = arg;
	const char	*why;
	int		 dnserr, connecting = !l->connected;

	if (what & BEV_EVENT_CONNECTED) {
		l->connected = 1;
		leg_nodelay(l);
		if (l->closing) {
			bufferevent_enable(l->bev, EV_READ);
			leg_close_step(l);
			return;
		}
		if (l->shut_pending && leg_pending(l) == 0) {
			l->shut_pending = 0;
			shutdown(leg_fd(l), SHUT_WR);
			l->shut = 1;
		}
		l->cbs->connected(l, l->arg);
		return;
	}
	if ((what & BEV_EVENT_EOF) && zs_defer_eof(l))
		return;		/* compressed bytes first */
	if (what & BEV_EVENT_EOF) {
		l->eof = 1;
		bufferevent_disable(l->bev, EV_READ);
		if (l->closing) {
			leg_close_step(l);
			return;
		}
		l->cbs->eof(l, l->arg);
		return;
	}
	if ((what & BEV_EVENT_ERROR) && l->closing) {
		leg_finish(l);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		dnserr = bufferevent_socket_get_dns_error(bev);
		why = dnserr ? evutil_gai_strerror(dnserr) :
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
		/* Bad compressed input: the socket still carries the error. */
		if (!zs_failed(l))
			l->closed = 1;
		l->cbs->error(l, l->arg, why, connecting);
	}
}
