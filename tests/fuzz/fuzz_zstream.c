/*
 * libFuzzer target for the zlib layer (zstream.c) on a real leg over an
 * AF_UNIX socket pair, with a real event loop. The first byte picks the
 * mode (bit 0: the rest is sent as compressed bytes as it is; else it is
 * deflated here, with a sync flush every few bytes), the layer's
 * high-water mark (bits 1-3) and how much the reader takes at a time
 * (bits 4-5). Meanwhile the leg sends the same bytes the other way.
 * Checks: inflation never runs ahead of the high-water mark, a valid
 * stream arrives exactly and then EOF, a broken one fails with a reason,
 * the loop never stalls, and what the leg deflates inflates back to what
 * it sent.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <zlib.h>

#include "leg.h"
#include "zstream.h"

#define PLAIN_MAX	(8u * 1024 * 1024)	/* a bomb is read this far */
#define BITES_MAX	2000u			/* or for this many bites */
#define WIRE_MAX	(64u * 1024)		/* under the socket's buffer */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fz {
	struct leg	 l;
	struct event	*more;		/* the reader's next bite */
	struct event	*deadline;
	size_t		 bite, high, peak, nread, nbites;
	const uint8_t	*expect;	/* deflate mode: the plain bytes */
	size_t		 expectlen;
	int		 done, eof, failed, expired, mismatch;
};

static void	fz_nothing(struct leg *, void *);
static void	fz_read(struct leg *, void *);
static void	fz_eof(struct leg *, void *);
static void	fz_error(struct leg *, void *, const char *, int);
static void	fz_more(evutil_socket_t, short, void *);
static void	fz_expire(evutil_socket_t, short, void *);
static size_t	zdeflate(const uint8_t *, size_t, size_t, uint8_t *, size_t);
static void	check_sent(int, const uint8_t *, size_t);
static void	run(struct event_base *, struct fz *, int);

static const struct leg_cbs cbs = {
	.read = fz_read, .drained = fz_nothing, .connected = fz_nothing,
	.eof = fz_eof, .error = fz_error, .closed = fz_nothing
};
static const size_t highs[8] = { 1, 2, 7, 64, 1000, 4096, 16384,
	ZS_HIGH_WATER };
static const size_t bites[4] = { 1, 13, 4096, SIZE_MAX };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t		 wire[WIRE_MAX];
	struct event_base	*base;
	struct fz		 f;
	size_t			 wlen;
	char			 err[256];
	int			 sv[2];

	if (size < 1 || size - 1 > WIRE_MAX / 2)
		return 0;
	memset(&f, 0, sizeof(f));
	f.high = highs[(data[0] >> 1) & 7];
	f.bite = bites[(data[0] >> 4) & 3];
	if (data[0] & 1) {
		memcpy(wire, data + 1, size - 1);
		wlen = size - 1;
	} else {
		wlen = zdeflate(data + 1, size - 1, (data[0] >> 6) * 97 + 1,
		    wire, sizeof(wire));
		f.expect = data + 1;
		f.expectlen = size - 1;
	}
	if ((base = event_base_new()) == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 ||
	    (f.more = event_new(base, -1, 0, fz_more, &f)) == NULL ||
	    (f.deadline = evtimer_new(base, fz_expire, &f)) == NULL)
		abort();
	/* The peer's bytes wait in the socket: the layer's first input. */
	if (write(sv[1], wire, wlen) != (ssize_t)wlen ||
	    shutdown(sv[1], SHUT_WR) == -1 ||
	    leg_accept(&f.l, base, sv[0], &cbs, &f) == -1 ||
	    zs_wrap(&f.l, err, sizeof(err)) == -1)
		abort();
	zs_set_high_water(&f.l, f.high);
	if (evbuffer_add(leg_output(&f.l), data + 1, size - 1) == -1)
		abort();
	run(base, &f, sv[1]);
	if (f.expect != NULL && (f.failed || f.mismatch ||
	    (f.nbites <= BITES_MAX && (!f.eof || f.nread != f.expectlen))))
		abort();
	if (f.failed && zs_error(&f.l, err, sizeof(err))[0] == '\0')
		abort();
	if (!f.failed)
		check_sent(sv[1], data + 1, size - 1);
	leg_free(&f.l);
	close(sv[1]);
	event_free(f.more);
	event_free(f.deadline);
	event_base_free(base);
	return 0;
}

/* Turn the loop until EOF or failure and the output is flushed. */
static void
run(struct event_base *base, struct fz *f, int peer)
{
	struct timeval	tv = { 30, 0 };

	(void)peer;
	evtimer_add(f->deadline, &tv);
	while (!f->expired && (!f->done || (!f->failed &&
	    leg_pending(&f->l) > 0)))
		event_base_loop(base, EVLOOP_ONCE);
	if (f->expired)
		abort();	/* the layer stalled */
	evtimer_del(f->deadline);
}

/* Drained, connected, closed: nothing to do. */
static void
fz_nothing(struct leg *l, void *arg)
{
	(void)l;
	(void)arg;
}

/* A bite of plain input; more later if some is left. */
static void
fz_read(struct leg *l, void *arg)
{
	struct fz	*f = arg;
	struct evbuffer	*in = leg_input(l);
	size_t		 have = evbuffer_get_length(in), n;
	unsigned char	 buf[4096];

	if (f->done) {
		/* Enough read: stop, as a session pauses a leg it won't read. */
		evbuffer_drain(in, have);
		leg_pause(l, LEG_PAUSE_OWN);
		return;
	}
	if (have > f->peak)
		f->peak = have;
	if (f->peak > f->high)
		abort();	/* inflated past the high-water mark */
	n = have < f->bite ? have : f->bite;
	while (n > 0) {
		size_t k = n < sizeof(buf) ? n : sizeof(buf);

		if (evbuffer_remove(in, buf, k) != (int)k)
			abort();
		if (f->expect != NULL && (f->nread + k > f->expectlen ||
		    memcmp(buf, f->expect + f->nread, k) != 0))
			f->mismatch = 1;
		f->nread += k;
		n -= k;
	}
	if (f->nread > PLAIN_MAX || ++f->nbites > BITES_MAX) {
		f->done = 1;
		leg_pause(l, LEG_PAUSE_OWN);
	} else if (evbuffer_get_length(in) > 0)
		event_active(f->more, 0, 0);
}

static void
fz_more(evutil_socket_t fd, short what, void *arg)
{
	struct fz	*f = arg;

	(void)fd;
	(void)what;
	if (!f->done)
		fz_read(&f->l, f);
}

static void
fz_eof(struct leg *l, void *arg)
{
	struct fz	*f = arg;

	if (evbuffer_get_length(leg_input(l)) > 0)
		abort();	/* EOF before the bytes in front of it */
	f->eof = f->done = 1;
}

static void
fz_error(struct leg *l, void *arg, const char *why, int connecting)
{
	struct fz	*f = arg;

	(void)l;
	(void)why;
	(void)connecting;
	f->failed = f->done = 1;
}

static void
fz_expire(evutil_socket_t fd, short what, void *arg)
{
	struct fz	*f = arg;

	(void)fd;
	(void)what;
	f->expired = 1;
}

/* Deflate p with a sync flush every `every` bytes; returns the length. */
static size_t
zdeflate(const uint8_t *p, size_t n, size_t every, uint8_t *out, size_t cap)
{
	z_stream	z;
	size_t		k;

	memset(&z, 0, sizeof(z));
	if (deflateInit(&z, Z_DEFAULT_COMPRESSION) != Z_OK)
		abort();
	z.next_out = out;
	z.avail_out = (uInt)cap;
	do {
		k = n < every ? n : every;
		z.next_in = (Bytef *)(uintptr_t)p;
		z.avail_in = (uInt)k;
		if (deflate(&z, Z_SYNC_FLUSH) != Z_OK || z.avail_in != 0)
			abort();
		p += k;
		n -= k;
	} while (n > 0);
	deflateEnd(&z);
	return cap - z.avail_out;
}

/* What the leg sent, inflated, is what it was given. */
static void
check_sent(int fd, const uint8_t *p, size_t n)
{
	static uint8_t	wire[WIRE_MAX], plain[WIRE_MAX];
	z_stream	z;
	ssize_t		got;
	size_t		len = 0;

	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
		abort();
	while ((got = read(fd, wire + len, sizeof(wire) - len)) > 0)
		len += (size_t)got;
	if (got == -1 && errno != EAGAIN)
		abort();
	memset(&z, 0, sizeof(z));
	if (inflateInit(&z) != Z_OK)
		abort();
	z.next_in = wire;
	z.avail_in = (uInt)len;
	z.next_out = plain;
	z.avail_out = sizeof(plain);
	if ((len > 0 && inflate(&z, Z_SYNC_FLUSH) != Z_OK) ||
	    z.avail_in != 0 || sizeof(plain) - z.avail_out != n ||
	    memcmp(plain, p, n) != 0)
		abort();
	inflateEnd(&z);
}
