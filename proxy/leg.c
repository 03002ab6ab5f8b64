/*
 * leg: bufferevent mechanics for one side of a session.
 *
 * Backpressure follows libevent's le-proxy sample: when a leg's output
 * passes LEG_HIGH_WATER the session pauses the other leg's reads and sets
 * this leg's write low-water mark; the write callback then reports
 * "drained" and the session resumes. Half-close: leg_shutdown() sends FIN
 * after the output is flushed; leg_close() flushes and closes.
 *
 * Speculative send (plain legs only; TLS and zlib layers keep libevent's
 * own writing): EV_WRITE stays disabled while the output is empty. An
 * evbuffer callback notices bytes added to an empty output and puts the
 * leg on a flush list; one event_base_once() callback per loop turn,
 * queued behind the callbacks that are running, writes every listed
 * output with evbuffer_write(), so a turn's stanzas leave in one writev
 * per leg and epoll never hears of the write side. What the socket
 * refuses stays queued with EV_WRITE enabled, as before; leg_writecb()
 * disables it again once the output is empty. After a flush that wrote
 * something and left at most the low-water mark, leg_writecb() runs as
 * libevent would have run it: "drained", the FIN of leg_shutdown() and
 * the close of leg_close() wait for it, and must not wait forever for a
 * socket event that a flushed output never gets. A failed send is
 * reported through leg_eventcb() like libevent's own write error.
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
#include <event2/util.h>

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
static void	leg_hook(struct leg *);
static void	leg_out_cb(struct evbuffer *, const struct evbuffer_cb_info *,
		    void *);
static void	leg_queue(struct leg *);
static void	leg_dequeue(struct leg *);
static void	leg_flush_all(evutil_socket_t, short, void *);
static void	leg_flush(struct leg *);

/*
 * Plain legs whose output waits for the flush at the end of this loop
 * turn. One list per process (the daemon runs one event base); the base
 * of the last scheduled flush, so a leg of another base schedules its own.
 */
static struct leg		*flush_head;
static struct event_base	*flush_base;
static int			 flushing;

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
	leg_hook(l);
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
	/* A new bufferevent starts with EV_WRITE enabled: off until needed. */
	if (l->hooked)
		bufferevent_disable(l->bev, EV_WRITE);
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
	/* Writing waits for the connect; leg_eventcb() turns it off after. */
	leg_hook(l);
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

	if (l->hooked)		/* plain: no layer below (per unit, twice) */
		return evbuffer_get_length(bufferevent_get_output(l->bev));
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
	int	ev, hooked = src->hooked, queued = src->flush_prev != NULL;

	leg_dequeue(src);
	if (hooked)
		evbuffer_remove_cb(leg_output(src), leg_out_cb, src);
	*dst = *src;
	memset(src, 0, sizeof(*src));
	dst->hooked = 0;
	if (dst->bev == NULL)
		return;
	ev = bufferevent_get_enabled(dst->bev);
	leg_setup(dst, cbs, arg);
	if (hooked) {
		leg_hook(dst);
		if (!dst->hooked)
			ev |= EV_WRITE;
	}
	bufferevent_enable(dst->bev, ev);
	if (queued && dst->hooked)
		leg_queue(dst);
}

void
leg_rebind(struct leg *l, struct bufferevent *top)
{
	struct bufferevent	*old = l->bev;
	int			 plain = l->hooked;

	/* The old bufferevent belongs to the filter, which set its callbacks. */
	leg_unhook(l);
	/* Layers write through libevent: the socket writes when writable. */
	if (plain)
		bufferevent_enable(old, EV_WRITE);
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

/*
 * Before the bufferevent goes or gets a layer: no more calls from its
 * output (plain) or from its lower one's (layered), off the flush list.
 */
static void
leg_unhook(struct leg *l)
{
	struct bufferevent	*lower = leg_bottom(l->bev);

	leg_dequeue(l);
	if (l->hooked) {
		evbuffer_remove_cb(leg_output(l), leg_out_cb, l);
		l->hooked = 0;
	}
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

	/* Plain and empty: the next bytes go out speculatively again. */
	if (l->hooked && evbuffer_get_length(leg_output(l)) == 0)
		bufferevent_disable(bev, EV_WRITE);
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
		/* libevent writes what was queued, if any, right after this. */
		if (l->hooked && leg_pending(l) == 0)
			bufferevent_disable(l->bev, EV_WRITE);
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

/* A plain leg: watch its output for bytes added while EV_WRITE is off. */
static void
leg_hook(struct leg *l)
{
	if (evbuffer_add_cb(leg_output(l), leg_out_cb, l) != NULL)
		l->hooked = 1;
}

static void
leg_out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct leg	*l = arg;

	if (info->n_added == 0 || l->flush_prev != NULL || !l->connected ||
	    l->closed || l->bev == NULL ||
	    (bufferevent_get_enabled(l->bev) & EV_WRITE))
		return;
	leg_queue(l);
}

/* Put l on the flush list; the first leg of a turn schedules the flush. */
static void
leg_queue(struct leg *l)
{
	struct event_base	*base = bufferevent_get_base(l->bev);
	int			 first = flush_head == NULL;

	l->flush_next = flush_head;
	if (flush_head != NULL)
		flush_head->flush_prev = &l->flush_next;
	flush_head = l;
	l->flush_prev = &flush_head;
	/*
	 * A stale flush (its legs gone) is harmless: it finds nothing or
	 * writes early. Running the list already: it takes this leg too.
	 */
	if (flushing || (!first && base == flush_base))
		return;
	if (event_base_once(base, -1, EV_TIMEOUT, leg_flush_all, NULL,
	    NULL) == -1) {
		leg_dequeue(l);
		bufferevent_enable(l->bev, EV_WRITE);	/* libevent writes */
		return;
	}
	flush_base = base;
}

static void
leg_dequeue(struct leg *l)
{
	if (l->flush_prev == NULL)
		return;
	if (l->flush_next != NULL)
		l->flush_next->flush_prev = l->flush_prev;
	*l->flush_prev = l->flush_next;
	l->flush_next = NULL;
	l->flush_prev = NULL;
}

/* End of a loop turn's callbacks: send every listed output. */
static void
leg_flush_all(evutil_socket_t fd, short what, void *arg)
{
	struct leg	*l;

	(void)fd;
	(void)what;
	(void)arg;
	flushing = 1;
	while ((l = flush_head) != NULL) {
		leg_dequeue(l);
		leg_flush(l);		/* may free l or other legs */
	}
	flushing = 0;
	flush_base = NULL;
}

/* One speculative send, then what libevent's write callback would do. */
static void
leg_flush(struct leg *l)
{
	struct bufferevent	*bev = l->bev;
	struct evbuffer		*out;
	ev_ssize_t		 n;
	size_t			 left;
	int			 err;

	if (bev == NULL || l->closed || !l->hooked ||
	    (bufferevent_get_enabled(bev) & EV_WRITE) ||
	    evbuffer_get_length(out = leg_output(l)) == 0)
		return;
	/* A socket bufferevent keeps its output's front frozen. */
	evbuffer_unfreeze(out, 1);
	n = evbuffer_write(out, leg_fd(l));
	err = errno;
	evbuffer_freeze(out, 1);
	if (n <= 0 && !(n == -1 && (err == EAGAIN || err == EWOULDBLOCK ||
	    err == EINTR))) {
		errno = err;	/* what leg_eventcb() reports */
		leg_eventcb(bev, BEV_EVENT_WRITING |
		    (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), l);
		return;
	}
	if ((left = evbuffer_get_length(out)) > 0)
		bufferevent_enable(bev, EV_WRITE);
	if (n > 0 && left <= LEG_HIGH_WATER / 2)
		leg_writecb(bev, l);	/* may free l */
}
