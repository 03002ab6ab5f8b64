/*
 * leg: one TCP side of a session (the rabbit's or the server's).
 *
 * Owns its bufferevent and the flow-control state: why reading is paused
 * (a bitmask, so backpressure and the hold queue never undo each other),
 * whether the peer half-closed, and flush-then-close. It knows nothing
 * about XML or filters; the session gets the callbacks.
 *
 * Speculative send: a plain leg (no TLS or zlib layer) writes what was
 * queued on its output once the callbacks of the current loop turn have
 * run, without waiting for the socket to be reported writable; only what
 * the socket refuses waits for EV_WRITE. The write-side callbacks
 * (drained, shutdown after flush, close after flush, write errors) come
 * exactly as if libevent had written the bytes.
 */
#ifndef NAB_LEG_H
#define NAB_LEG_H

#include <stddef.h>

#include "attrib.h"

struct bufferevent;
struct event_base;
struct evbuffer;
struct evdns_base;

/* Reasons reading is paused. */
#define LEG_PAUSE_PEER	0x01	/* the other leg's output is full */
#define LEG_PAUSE_HOLD	0x02	/* the hold queue is full */
#define LEG_PAUSE_LOGIN	0x04	/* a login runs on this stream */
#define LEG_PAUSE_OWN	0x08	/* this leg's own output is full */
#define LEG_PAUSE_LAYER	0x10	/* a layer (compression) is being set up */

/* Output above this pauses the peer; resumes below half of it. */
#define LEG_HIGH_WATER	(256 * 1024)

struct leg;

struct leg_cbs {
	void	(*read)(struct leg *, void *arg);	/* new input */
	void	(*drained)(struct leg *, void *arg);	/* output below low */
	void	(*connected)(struct leg *, void *arg);
	void	(*eof)(struct leg *, void *arg);
	/* Error; the leg is dead. `connecting` tells a failed connect. */
	void	(*error)(struct leg *, void *arg, const char *why, int connecting);
	void	(*closed)(struct leg *, void *arg);	/* flushed and closed */
};

struct leg {
	struct bufferevent	*bev;
	const struct leg_cbs	*cbs;
	void			*arg;
	int			 pause;		/* LEG_PAUSE_* */
	unsigned		 connected:1;
	unsigned		 eof:1;		/* peer sent FIN */
	unsigned		 shut:1;	/* we sent FIN */
	unsigned		 shut_pending:1;
	unsigned		 closing:1;	/* flush, then close */
	unsigned		 closed:1;
	unsigned		 hooked:1;	/* plain: adds are watched */
	void			*zs;		/* zlib layer (zstream.c) */
	/* On the list of plain legs whose output waits for a flush. */
	struct leg		*flush_next;
	struct leg		**flush_prev;	/* NULL: not on it */
};

/* Wrap an accepted socket. -1 on ENOMEM (fd left open). */
int	leg_accept(struct leg *, struct event_base *, int fd,
	    const struct leg_cbs *, void *arg) WUNRES;
/* Start connecting to host:port, resolving with evdns. -1 on failure. */
int	leg_connect(struct leg *, struct event_base *, struct evdns_base *,
	    const char *host, unsigned short port, const struct leg_cbs *,
	    void *arg) WUNRES;
struct evbuffer *leg_input(struct leg *);
struct evbuffer *leg_output(struct leg *);
/* Bytes waiting to be written, below a layer (TLS) too. */
size_t	leg_pending(const struct leg *);
void	leg_pause(struct leg *, int why);
void	leg_resume(struct leg *, int why);
/* Send FIN once the output is flushed. */
void	leg_shutdown(struct leg *);
/* Stop reading, flush the output, then close and call cbs->closed. */
void	leg_close(struct leg *);
/* Close now with a TCP reset (propagating a reset). */
void	leg_abort(struct leg *);
/*
 * Move a leg to new storage with new callbacks (the bufferevent is
 * re-pointed at dst); src is left empty. Used to hand a probe's
 * connection to a session.
 */
void	leg_move(struct leg *dst, struct leg *src, const struct leg_cbs *,
	    void *arg);
/*
 * Put a layer (a filter bufferevent that owns the old one) on top of the
 * leg: callbacks, watermarks and enabled events move to it.
 */
void	leg_rebind(struct leg *, struct bufferevent *top);
/* Free the bufferevent (no callback). */
void	leg_free(struct leg *);

#endif /* NAB_LEG_H */
