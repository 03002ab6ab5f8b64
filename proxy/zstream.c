/*
 * zstream: the zlib layer of a leg (XEP-0138), a libevent filter
 * bufferevent with zlib's inflate on the way in and deflate on the way out.
 *
 * libevent's filter stops calling the input filter once the plain input
 * reaches the read high-water mark, but nothing calls it again when the
 * reader drains that buffer without new bytes arriving on the socket: a
 * callback on the plain input schedules a refill, and leg_resume() kicks
 * one too. The peer's EOF waits until every compressed byte it sent
 * before it has been inflated and read.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <zlib.h>

#include "leg.h"
#include "stanza.h"
#include "zstream.h"

#define ZS_CHUNK	(16 * 1024)

struct zs {
	z_stream		 in;
	z_stream		 out;
	struct bufferevent	*top;
	struct event		*refill;
	int			 eof_seen;	/* the lower layer's EOF waits */
	int			 out_failed;	/* deflate broke: no more output */
	int			 full;		/* inflate stopped for room */
	size_t			 high;		/* plain input ahead, at most */
	char			 err[160];
	unsigned long long	 in_plain, in_z, out_plain, out_z;
};

static enum bufferevent_filter_result zs_inflate(struct evbuffer *,
		    struct evbuffer *, ev_ssize_t, enum bufferevent_flush_mode,
		    void *);
static enum bufferevent_filter_result zs_deflate(struct evbuffer *,
		    struct evbuffer *, ev_ssize_t, enum bufferevent_flush_mode,
		    void *);
static void	zs_free(void *);
static void	zs_plain_cb(struct evbuffer *, const struct evbuffer_cb_info *,
		    void *);
static void	zs_refill_cb(evutil_socket_t, short, void *);

int
zs_offered(const struct st_node *features)
{
	const struct st_node	*c, *m, *t;

	if ((c = st_child(features, "compression", ZS_NS_FEATURE)) == NULL)
		return 0;
	for (m = c->first; m != NULL; m = m->next) {
		if (m->name == NULL || strcmp(m->name, "method") != 0)
			continue;
		t = m->first;
		if (t != NULL && t->name == NULL && t->next == NULL &&
		    t->textlen == 4 && memcmp(t->text, "zlib", 4) == 0)
			return 1;
	}
	return 0;
}

/*
 * Our deflate uses a 4 KB window and memLevel 5 (about 24 KB a stream
 * instead of 256 KB): XMPP stanzas are small, and any inflate accepts a
 * smaller window than its own. The peer's window is up to it: 32 KB.
 */
static struct zs *
zs_new(char *err, size_t errlen)
{
	struct zs	*z;

	if ((z = calloc(1, sizeof(*z))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (inflateInit(&z->in) != Z_OK) {
		snprintf(err, errlen, "zlib inflate: %s", z->in.msg ?
		    z->in.msg : "cannot start");
		free(z);
		return NULL;
	}
	if (deflateInit2(&z->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 12, 5,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		snprintf(err, errlen, "zlib deflate: cannot start");
		inflateEnd(&z->in);
		free(z);
		return NULL;
	}
	return z;
}

int
zs_wrap(struct leg *l, char *err, size_t errlen)
{
	struct bufferevent	*top;
	struct zs		*z;

	if (l->bev == NULL || l->zs != NULL) {
		snprintf(err, errlen, "connection %s", l->bev == NULL ?
		    "gone" : "already compressed");
		return -1;
	}
	if ((z = zs_new(err, errlen)) == NULL)
		return -1;
	if ((z->refill = event_new(bufferevent_get_base(l->bev), -1, 0,
	    zs_refill_cb, z)) == NULL ||
	    (top = bufferevent_filter_new(l->bev, zs_inflate, zs_deflate,
	    BEV_OPT_CLOSE_ON_FREE, zs_free, z)) == NULL) {
		zs_free(z);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	z->top = top;
	z->high = ZS_HIGH_WATER;
	leg_rebind(l, top);
	if (l->pause != 0)	/* the rebind enabled reading: keep the pause */
		bufferevent_disable(top, EV_READ);
	l->zs = z;
	bufferevent_setwatermark(top, EV_READ, 0, ZS_HIGH_WATER);
	if (evbuffer_add_cb(bufferevent_get_input(top), zs_plain_cb,
	    z) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* What already waits below is compressed: inflate it now. */
	event_active(z->refill, 0, 0);
	return 0;
}

void
zs_set_high_water(struct leg *l, size_t high)
{
	struct zs	*z = l->zs;

	if (z == NULL || z->top == NULL || high == 0)
		return;
	z->high = high;
	bufferevent_setwatermark(z->top, EV_READ, 0, high);
}

void
zs_detach(struct leg *l)
{
	struct zs	*z = l->zs;

	/* libevent may finalise the bufferevent later: no refill till then. */
	if (z != NULL) {
		event_del(z->refill);
		z->top = NULL;
	}
	l->zs = NULL;
}

static void
zs_free(void *arg)
{
	struct zs	*z = arg;

	inflateEnd(&z->in);
	deflateEnd(&z->out);
	if (z->refill != NULL)
		event_free(z->refill);
	free(z);
}

/* Fail the layer: the leg's error callback runs (deferred) and asks why. */
static enum bufferevent_filter_result
zs_fail(struct zs *z, const char *what)
{
	if (z->err[0] == '\0') {
		snprintf(z->err, sizeof(z->err), "compressed stream: %s", what);
		bufferevent_trigger_event(z->top, BEV_EVENT_ERROR |
		    BEV_EVENT_READING, BEV_TRIG_DEFER_CALLBACKS);
	}
	return BEV_ERROR;
}

/*
 * Inflate at most `lim` bytes (the room under the high-water mark): the
 * bound that makes a bomb harmless. Compressed bytes left over wait in
 * the lower input buffer for the next refill.
 */
static enum bufferevent_filter_result
zs_inflate(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct zs		*z = arg;
	struct evbuffer_iovec	 v, o;
	size_t			 room, used, made, total = 0;
	int			 r;

	room = lim < 0 || (size_t)lim > z->high ? z->high : (size_t)lim;
	if (z->err[0] != '\0' || z->top == NULL) {
		/* Broken: discard, or a lingering close would pile it up. */
		evbuffer_drain(src, evbuffer_get_length(src));
		return BEV_ERROR;
	}
	while (room > 0 && evbuffer_peek(src, -1, NULL, &v, 1) > 0) {
		if (evbuffer_reserve_space(dst, room < ZS_CHUNK ? room :
		    ZS_CHUNK, &o, 1) < 1)
			return zs_fail(z, "out of memory");
		if (o.iov_len > room)
			o.iov_len = room;
		z->in.next_in = v.iov_base;
		z->in.avail_in = v.iov_len > UINT_MAX ? UINT_MAX :
		    (uInt)v.iov_len;
		z->in.next_out = o.iov_base;
		z->in.avail_out = (uInt)o.iov_len;
		r = inflate(&z->in, Z_SYNC_FLUSH);
		used = (size_t)(z->in.next_in - (Bytef *)v.iov_base);
		made = o.iov_len - z->in.avail_out;
		o.iov_len = made;
		evbuffer_commit_space(dst, &o, 1);
		evbuffer_drain(src, used);
		z->in_z += used;
		z->in_plain += made;
		room -= made;
		total += made;
		if (r == Z_STREAM_END)
			(void)zs_fail(z, "the peer ended its zlib stream");
		else if (r == Z_NEED_DICT || r == Z_DATA_ERROR ||
		    r == Z_MEM_ERROR)
			(void)zs_fail(z, z->in.msg ? z->in.msg : "corrupt data");
		if (z->err[0] != '\0')
			/* What came before the damage is read first. */
			return total > 0 ? BEV_OK : BEV_ERROR;
		if (used == 0 && made == 0)
			break;
	}
	/* zlib may hold output with no input left below: refill anyway. */
	z->full = room == 0;
	(void)mode;
	return BEV_OK;
}

/* One piece of plain output through deflate, appended to dst. */
static int
zs_deflate_piece(struct zs *z, struct evbuffer *dst, void *p, size_t n,
    int flush)
{
	struct evbuffer_iovec	o;
	int			r;

	z->out.next_in = p;
	z->out.avail_in = (uInt)n;
	do {
		if (evbuffer_reserve_space(dst, ZS_CHUNK, &o, 1) < 1)
			return -1;
		if (o.iov_len > UINT_MAX)
			o.iov_len = UINT_MAX;
		z->out.next_out = o.iov_base;
		z->out.avail_out = (uInt)o.iov_len;
		r = deflate(&z->out, flush);
		o.iov_len -= z->out.avail_out;
		if (evbuffer_commit_space(dst, &o, 1) == -1 ||
		    r == Z_STREAM_ERROR)
			return -1;
		z->out_z += o.iov_len;
	} while (z->out.avail_in > 0 || z->out.avail_out == 0);
	return 0;
}

/*
 * Everything waiting, then a sync flush: the peer can parse each write at
 * once (XEP-0138 leaves flushing to us; latency matters more than ratio).
 */
static enum bufferevent_filter_result
zs_deflate(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct zs		*z = arg;
	struct evbuffer_iovec	 v;
	size_t			 left, n;

	(void)lim;
	(void)mode;
	/* Corrupt input does not stop output: the stream error goes out. */
	if (z->out_failed)
		return BEV_ERROR;
	while ((left = evbuffer_get_length(src)) > 0) {
		if (evbuffer_peek(src, -1, NULL, &v, 1) < 1)
			break;
		n = v.iov_len > ZS_CHUNK ? ZS_CHUNK : v.iov_len;
		if (zs_deflate_piece(z, dst, v.iov_base, n, n == left ?
		    Z_SYNC_FLUSH : Z_NO_FLUSH) == -1) {
			z->out_failed = 1;
			return zs_fail(z, "deflate failed");
		}
		z->out_plain += n;
		evbuffer_drain(src, n);
	}
	return BEV_OK;
}

/* The reader consumed plain input: inflate more if some waits below. */
static void
zs_plain_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct zs	*z = arg;

	(void)buf;
	if (z->top != NULL && info->n_deleted > 0)
		event_active(z->refill, 0, 0);
}

static void
zs_refill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct zs		*z = arg;
	struct bufferevent	*lower;

	(void)fd;
	(void)what;
	if (z->top == NULL || z->err[0] != '\0')
		return;
	lower = bufferevent_get_underlying(z->top);
	if ((evbuffer_get_length(bufferevent_get_input(lower)) > 0 ||
	    z->full) && (bufferevent_get_enabled(z->top) & EV_READ) &&
	    bufferevent_flush(z->top, EV_READ, BEV_NORMAL) > 0)
		bufferevent_trigger(z->top, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
	if (z->eof_seen && !z->full &&
	    evbuffer_get_length(bufferevent_get_input(lower)) == 0) {
		z->eof_seen = 0;
		bufferevent_trigger_event(z->top, BEV_EVENT_EOF |
		    BEV_EVENT_READING, BEV_TRIG_DEFER_CALLBACKS);
	}
}

void
zs_kick(struct leg *l)
{
	struct zs	*z = l->zs;

	if (z != NULL && z->top != NULL)
		event_active(z->refill, 0, 0);
}

int
zs_defer_eof(struct leg *l)
{
	struct zs		*z = l->zs;
	struct bufferevent	*lower;

	if (z == NULL || z->top == NULL || z->err[0] != '\0')
		return 0;
	lower = bufferevent_get_underlying(z->top);
	if (evbuffer_get_length(bufferevent_get_input(lower)) == 0 && !z->full)
		return 0;
	z->eof_seen = 1;
	event_active(z->refill, 0, 0);
	return 1;
}

int
zs_failed(const struct leg *l)
{
	return l->zs != NULL && ((struct zs *)l->zs)->err[0] != '\0';
}

const char *
zs_error(struct leg *l, char *buf, size_t len)
{
	snprintf(buf, len, "%s", l->zs != NULL ?
	    ((struct zs *)l->zs)->err : "");
	return buf;
}

void
zs_counts(struct leg *l, unsigned long long *in_plain,
    unsigned long long *in_z, unsigned long long *out_plain,
    unsigned long long *out_z)
{
	struct zs	*z = l->zs;

	*in_plain = z ? z->in_plain : 0;
	*in_z = z ? z->in_z : 0;
	*out_plain = z ? z->out_plain : 0;
	*out_z = z ? z->out_z : 0;
}
