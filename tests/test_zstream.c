/*
 * test_zstream: proxy/zstream.c, the zlib layer of a leg (XEP-0138), over
 * real loopback TCP. A struct leg connects to nabtest.h's fake server and
 * is wrapped by zs_wrap(); the server's end is a plain bufferevent that
 * deflates what it sends and inflates what it gets with zlib directly.
 * Covered: zs_offered(), exact bytes both ways (1-byte and large writes,
 * a sync flush per leg write), bytes already buffered at the wrap, a
 * 200 MB decompression bomb held under the high-water mark (with a pause
 * that stops inflation), corrupt data, EOF after a burst, FIN through the
 * layer, and a second wrap. No sleeps: the loop turns until a condition
 * holds or the world's deadline fires.
 */
#include <poll.h>
#include <zlib.h>

#include "leg.h"
#include "nabtest.h"
#include "zutil.h"
#include "stanza.h"
#include "xmlstream.h"
#include "zstream.h"

#define MIB		(1024 * 1024)
#define BOMB		((size_t)200 * MIB)
#define STEP		4096		/* a slow reader's bite */
#define COMPRESSED	"<compressed xmlns='" ZS_NS "'/>"

/*
 * Turn the world's loop until cond holds; fail after ms milliseconds.
 * zs_deadline_cb() also breaks the loop: libevent 2.1.12 re-runs a read
 * callback that leaves its input at the high-water mark, endlessly.
 */
#define WAIT(w, cond, ms, what) do {					\
	struct timeval	tv_ = { (ms) / 1000, (ms) % 1000 * 1000 };	\
									\
	(w)->expired = 0;						\
	evtimer_add((w)->deadline, &tv_);				\
	while (!(cond) && !(w)->expired)				\
		event_base_loop((w)->base, EVLOOP_ONCE);		\
	evtimer_del((w)->deadline);					\
	CHECK((cond), "timed out after %d ms waiting for %s", (ms),	\
	    (what));							\
} while (0)

/* What the leg's read callback does. */
enum rmode {
	R_COLLECT = 0,	/* take everything into c->in */
	R_PREFIX,	/* drain <compressed/>, then zs_wrap() */
	R_SLOW		/* STEP bytes a bite (zcli_bite) */
};

/* The fake server's zlib side: inflates what the leg sends. */
struct zpeer {
	z_stream	 zi;
	struct evbuffer	*plain;
	int		 fin;		/* shutdown(SHUT_WR) done */
};

/* The leg under test and what its callbacks saw. */
struct zcli {
	struct leg	 l;
	enum rmode	 mode;
	struct evbuffer	*in;		/* plain bytes read (unless zeros) */
	int		 zeros;		/* R_SLOW: count, check, keep none */
	int		 nonzero;	/* a byte that was not zero */
	size_t		 nread;		/* plain bytes consumed */
	size_t		 peak;		/* most plain input buffered */
	size_t		 pause_at;	/* R_SLOW: pause here (0: never) */
	size_t		 ztotal;	/* compressed bytes sent to it */
	int		 paused;
	size_t		 wrap_left;	/* R_PREFIX: bytes below at wrap */
	struct event	*more;		/* R_SLOW: the next bite */
	int		 busy;		/* in a bite: no reentry */
	int		 connected, eofs, errors;
	size_t		 at_eof;	/* nread + input left at EOF */
	char		 why[256];	/* zs_error() when it failed */
};

struct zstate {
	struct nt_world	 w;
	struct zcli	 c;
	struct zpeer	 zp;
	struct nt_peer	*srv;
};

static void	zcli_read(struct leg *, void *);
static void	zcli_nop(struct leg *, void *);
static void	zcli_connected(struct leg *, void *);
static void	zcli_eof(struct leg *, void *);
static void	zcli_error(struct leg *, void *, const char *, int);

/* Neither drained nor closed matters here. */
static const struct leg_cbs zcli_cbs = {
	zcli_read, zcli_nop, zcli_connected, zcli_eof, zcli_error, zcli_nop
};

/* One zlib stream of p, sync-flushed every `every` bytes and at the end. */
static struct evbuffer *
zcompress(const char *p, size_t n, size_t every)
{
	struct evbuffer	*out = evbuffer_new();
	z_stream	 zo;
	size_t		 off, k;

	memset(&zo, 0, sizeof(zo));
	CHECK(out != NULL && deflateInit(&zo, 9) == Z_OK, "deflateInit");
	for (off = 0; off < n; off += k) {
		k = n - off < every ? n - off : every;
		zput(&zo, out, p + off, k, Z_SYNC_FLUSH);
	}
	deflateEnd(&zo);
	return out;
}

/* n bytes of XML-ish text: stanzas of varying ids, words and numbers. */
static char *
gen_text(size_t n, unsigned seed)
{
	static const char	*words[] = { "carrot", "ears", "<b>tts</b>",
		"weather", "&amp;", "choreography", "\xc3\xa9t\xc3\xa9",
		"nabaztag", "'quoted'", "0123456789" };
	struct evbuffer		*b = evbuffer_new();
	unsigned		 x = seed;
	char			*s;

	CHECK(b != NULL, "evbuffer_new");
	while (evbuffer_get_length(b) < n) {
		x = x * 1103515245u + 12345u;
		CHECK(evbuffer_add_printf(b, "<message id='m%u' to='r%u@"
		    "example.net'><body>%s %s %u</body></message>%s",
		    x >> 8, (x >> 20) % 97, words[(x >> 12) % 10],
		    words[(x >> 16) % 10], x % 100000, x & 1 ? "\n" : " ") > 0,
		    "printf");
	}
	CHECK((s = malloc(n)) != NULL && evbuffer_remove(b, s, n) ==
	    (int)n, "text");
	evbuffer_free(b);
	return s;
}

/* The server's read script: inflate everything the leg sent so far. */
static void
zpeer_script(struct nt_peer *p)
{
	struct zpeer		*zp = p->user;
	struct evbuffer_iovec	 v;
	unsigned char		 out[16384];
	int			 r;

	while (evbuffer_peek(p->in, -1, NULL, &v, 1) > 0) {
		zp->zi.next_in = v.iov_base;
		zp->zi.avail_in = (uInt)v.iov_len;
		do {
			zp->zi.next_out = out;
			zp->zi.avail_out = sizeof(out);
			r = inflate(&zp->zi, Z_SYNC_FLUSH);
			CHECK(r == Z_OK || r == Z_BUF_ERROR, "server inflate: "
			    "%d %s", r, zp->zi.msg ? zp->zi.msg : "");
			CHECK(evbuffer_add(zp->plain, out, sizeof(out) -
			    zp->zi.avail_out) == 0, "evbuffer_add");
		} while (zp->zi.avail_out == 0);
		evbuffer_drain(p->in, v.iov_len);
	}
}

/* Take n plain bytes off the leg's input: count, check or keep them. */
static void
zcli_take(struct zcli *c, size_t n)
{
	static const char	 zero[STEP];
	char			 buf[STEP];
	int			 k;

	while (n > 0 && (k = evbuffer_remove(leg_input(&c->l), buf,
	    n < sizeof(buf) ? n : sizeof(buf))) > 0) {
		if (c->zeros && memcmp(buf, zero, (size_t)k) != 0)
			c->nonzero = 1;
		else if (!c->zeros)
			CHECK(evbuffer_add(c->in, buf, (size_t)k) == 0, "add");
		c->nread += (size_t)k;
		n -= (size_t)k;
	}
}

/* Every compressed byte sent is in the leg: none waits in the socket. */
static int
zcli_all_in(struct zcli *c)
{
	struct bufferevent	*low = bufferevent_get_underlying(c->l.bev);
	unsigned long long	 v[4];

	zs_counts(&c->l, &v[0], &v[1], &v[2], &v[3]);
	return v[1] + evbuffer_get_length(bufferevent_get_input(low)) ==
	    c->ztotal;
}

/*
 * A slow reader's turn: one bite, the next after the loop polls again
 * (a zero timer). Draining may inflate and call the read callback from
 * inside (libevent's filter refills at once): busy skips that.
 * Past pause_at, once the socket has nothing more to wake the leg, it
 * pauses the leg and empties its input: only the layer can resume it.
 */
static void
zcli_bite(struct zcli *c)
{
	static const struct timeval	now = { 0, 0 };

	if (c->busy || c->paused || c->l.bev == NULL || c->l.eof)
		return;
	c->busy = 1;
	zcli_take(c, STEP);
	if (c->pause_at != 0 && c->nread >= c->pause_at && zcli_all_in(c)) {
		leg_pause(&c->l, LEG_PAUSE_PEER);
		c->paused = 1;
		zcli_take(c, SIZE_MAX);
	} else if (evbuffer_get_length(leg_input(&c->l)) > 0)
		evtimer_add(c->more, &now);
	c->busy = 0;
}

static void
zcli_more(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	zcli_bite(arg);		/* the timer of the next bite */
}

static void
zcli_read(struct leg *l, void *arg)
{
	struct zcli	*c = arg;
	struct evbuffer	*in = leg_input(l);
	char		 err[256];

	if (c->mode == R_SLOW) {
		zcli_bite(c);
		return;
	}
	if (c->mode == R_COLLECT) {
		c->nread += evbuffer_get_length(in);
		CHECK(evbuffer_add_buffer(c->in, in) == 0, "add_buffer");
		return;
	}
	if (evbuffer_get_length(in) < strlen(COMPRESSED))
		return;
	CHECK(memcmp(evbuffer_pullup(in, strlen(COMPRESSED)), COMPRESSED,
	    strlen(COMPRESSED)) == 0, "leg got in clear: %s", nt_vis((const
	    char *)evbuffer_pullup(in, -1), evbuffer_get_length(in)));
	evbuffer_drain(in, strlen(COMPRESSED));
	c->wrap_left = evbuffer_get_length(in);
	c->mode = R_COLLECT;
	CHECK(zs_wrap(l, err, sizeof(err)) == 0, "zs_wrap: %s", err);
}

static void
zcli_nop(struct leg *l UNUSED, void *arg UNUSED)
{
}

static void
zcli_connected(struct leg *l UNUSED, void *arg)
{
	((struct zcli *)arg)->connected++;
}

/* Like the session: what is buffered is read before the end is handled. */
static void
zcli_eof(struct leg *l, void *arg)
{
	struct zcli	*c = arg;

	c->eofs++;
	c->at_eof = c->nread + evbuffer_get_length(leg_input(l));
	if (c->mode == R_SLOW)
		zcli_take(c, SIZE_MAX);
}

static void
zcli_error(struct leg *l, void *arg, const char *why UNUSED,
    int connecting UNUSED)
{
	struct zcli	*c = arg;

	c->errors++;
	(void)zs_error(l, c->why, sizeof(c->why));
}

/* The size of the leg's plain input after every change: keep the peak. */
static void
zcli_watch(struct evbuffer *b UNUSED, const struct evbuffer_cb_info *i,
    void *arg)
{
	struct zcli	*c = arg;
	size_t		 now = i->orig_size + i->n_added - i->n_deleted;

	if (now > c->peak)
		c->peak = now;
}

static void
zs_deadline_cb(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct nt_world	*w = arg;

	w->expired = 1;
	event_base_loopbreak(w->base);
}

static int
setup(void **state)
{
	struct zstate	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	nt_world_init(&t->w);
	event_free(t->w.deadline);
	t->w.deadline = evtimer_new(t->w.base, zs_deadline_cb, &t->w);
	t->c.in = evbuffer_new();
	t->zp.plain = evbuffer_new();
	t->c.more = event_new(t->w.base, -1, 0, zcli_more, &t->c);
	CHECK(t->c.in && t->zp.plain && t->c.more && t->w.deadline,
	    "allocations");
	CHECK(inflateInit(&t->zp.zi) == Z_OK, "inflateInit");
	*state = t;
	return 0;
}

/* The leg first: its bufferevents live on the world's base. */
static int
teardown(void **state)
{
	struct zstate	*t = *state;

	leg_free(&t->c.l);
	event_free(t->c.more);
	evbuffer_free(t->c.in);
	evbuffer_free(t->zp.plain);
	inflateEnd(&t->zp.zi);
	nt_world_free(&t->w);
	free(t);
	return 0;
}

/*
 * Connect the leg to connection number n of the fake server, whose reads
 * are inflated into zp.plain (from a fresh zlib stream); wrap it if asked.
 */
static void
zstart(struct zstate *t, size_t n, int wrap)
{
	char	err[256];

	t->c.connected = 0;
	CHECK(inflateReset(&t->zp.zi) == Z_OK, "inflateReset");
	evbuffer_drain(t->zp.plain, evbuffer_get_length(t->zp.plain));
	CHECK(leg_connect(&t->c.l, t->w.base, t->w.px.dns, "127.0.0.1",
	    t->w.srv_port, &zcli_cbs, &t->c) == 0, "leg_connect");
	WAIT(&t->w, t->c.connected || t->c.errors, 5000, "the connect");
	CHECK(t->c.connected == 1 && t->c.errors == 0, "connect failed");
	t->srv = nt_server(&t->w, n);
	t->srv->user = &t->zp;
	t->srv->script = zpeer_script;
	if (!wrap)
		return;
	CHECK(zs_wrap(&t->c.l, err, sizeof(err)) == 0, "zs_wrap: %s", err);
	CHECK(evbuffer_add_cb(leg_input(&t->c.l), zcli_watch, &t->c) != NULL,
	    "evbuffer_add_cb");
}

/* The leg's zlib totals: in_plain, in_z, out_plain, out_z. */
static void
zcounts(struct zstate *t, unsigned long long v[4])
{
	zs_counts(&t->c.l, &v[0], &v[1], &v[2], &v[3]);
}

/* zs_offered() of the first stanza after a stream header, via xmlstream. */
static int
offered(const char *features)
{
	return nt_features_probe(features, zs_offered);
}

/* zlib among the methods of the right namespace, and nothing else. */
static void
test_offered(void **state UNUSED)
{
#define FEAT(x)	"<stream:features>" x "</stream:features>"
#define COMP(ns, m)	"<compression xmlns='" ns "'>" m "</compression>"
	static const struct {
		const char	*features;
		int		 want;
	} v[] = {
		{ FEAT(COMP(ZS_NS_FEATURE, "<method>zlib</method>")), 1 },
		{ FEAT(COMP(ZS_NS_FEATURE, "<method>lzw</method>")), 0 },
		{ FEAT(COMP(ZS_NS_FEATURE, "<method>lzw</method>"
		    "<method>zlib</method>")), 1 },
		{ FEAT(""), 0 },
		{ FEAT("<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
		    "<mechanism>PLAIN</mechanism></mechanisms>"), 0 },
		{ FEAT(COMP(ZS_NS, "<method>zlib</method>")), 0 },
		{ FEAT("<compression><method>zlib</method></compression>"), 0 },
	};
#undef COMP
#undef FEAT
	size_t	i;
	int	got;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		got = offered(v[i].features);
		CHECK(got == v[i].want, "zs_offered(%s) = %d, want %d",
		    v[i].features, got, v[i].want);
	}
}

/*
 * ~300 KB from the server: the first 2000 compressed bytes one write
 * each (each seen by the leg before the next), the rest in 64 KB writes;
 * the reader gets exactly the plain text. Then the leg's writes: each
 * one inflates completely at the server with no more input.
 */
static void
test_roundtrip(void **state)
{
	static const size_t	 sizes[] = { 1, 37, 4096, 65539, 200000 };
	struct zstate		*t = *state;
	struct evbuffer		*z;
	unsigned long long	 v[4];
	size_t			 n = 300 * 1024, zlen, off, k, i;
	size_t			 sent = 0;
	const unsigned char	*zp;
	char			*text, *up;

	text = gen_text(n, 1);
	z = zcompress(text, n, 8192);
	zlen = evbuffer_get_length(z);
	zp = evbuffer_pullup(z, -1);
	zstart(t, 0, 1);
	for (off = 0; off < zlen; off += k) {
		k = off < 2000 ? 1 : (zlen - off < 65536 ? zlen - off : 65536);
		CHECK(bufferevent_write(t->srv->bev, zp + off, k) == 0,
		    "write");
		WAIT(&t->w, (zcounts(t, v), v[1] >= off + k) || t->c.errors,
		    5000, "the leg to inflate the server's write");
	}
	WAIT(&t->w, t->c.nread >= n || t->c.errors, 5000, "the plain text");
	CHECK(t->c.errors == 0 && evbuffer_get_length(t->c.in) == n &&
	    memcmp(evbuffer_pullup(t->c.in, -1), text, n) == 0,
	    "leg read %zu bytes, not the %zu plain ones (error \"%s\")",
	    evbuffer_get_length(t->c.in), n, t->c.why);

	up = gen_text(1 << 20, 2);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		CHECK(evbuffer_add(leg_output(&t->c.l), up + sent, sizes[i]) ==
		    0, "leg write");
		sent += sizes[i];
		WAIT(&t->w, evbuffer_get_length(t->zp.plain) >= sent, 5000,
		    "a leg write to inflate whole at the server");
		CHECK(evbuffer_get_length(t->zp.plain) == sent &&
		    memcmp(evbuffer_pullup(t->zp.plain, -1), up, sent) == 0,
		    "server inflated %zu bytes, not the %zu written",
		    evbuffer_get_length(t->zp.plain), sent);
	}
	zcounts(t, v);
	CHECK(v[0] == n && v[1] == zlen && v[2] == sent &&
	    v[3] == t->zp.zi.total_in, "zs_counts %llu %llu %llu %llu, want "
	    "%zu %zu %zu %lu", v[0], v[1], v[2], v[3], n, zlen, sent,
	    t->zp.zi.total_in);
	CHECK(t->c.eofs == 0 && t->c.errors == 0 && *zs_error(&t->c.l,
	    t->c.why, sizeof(t->c.why)) == '\0', "leg eof %d error %d \"%s\"",
	    t->c.eofs, t->c.errors, t->c.why);
	evbuffer_free(z);
	free(text);
	free(up);
}

/*
 * <compressed/> and the first compressed bytes in one write: the reader
 * drains the clear prefix and wraps; the bytes already buffered below
 * are inflated as the start of the zlib stream.
 */
static void
test_wrap_buffered(void **state)
{
	struct zstate		*t = *state;
	struct evbuffer		*z, *w;
	unsigned long long	 v[4];
	size_t			 n = 20000, zlen;
	char			*text;

	text = gen_text(n, 3);
	z = zcompress(text, n, n);
	zlen = evbuffer_get_length(z);
	CHECK((w = evbuffer_new()) != NULL && evbuffer_add(w, COMPRESSED,
	    strlen(COMPRESSED)) == 0 && evbuffer_add_buffer(w, z) == 0,
	    "the server's write");
	t->c.mode = R_PREFIX;
	zstart(t, 0, 0);
	CHECK(bufferevent_write_buffer(t->srv->bev, w) == 0, "write");
	WAIT(&t->w, t->c.nread >= n || t->c.errors, 5000, "the plain text");
	CHECK(t->c.errors == 0 && evbuffer_get_length(t->c.in) == n &&
	    memcmp(evbuffer_pullup(t->c.in, -1), text, n) == 0,
	    "leg read %zu bytes, not the %zu plain ones (error \"%s\")",
	    evbuffer_get_length(t->c.in), n, t->c.why);
	/* Else the test did not test the buffered case. */
	CHECK(t->c.wrap_left > 0, "no compressed byte was buffered at wrap");
	zcounts(t, v);
	CHECK(v[0] == n && v[1] == zlen, "zs_counts in %llu/%llu, want %zu/%zu",
	    v[0], v[1], n, zlen);
	evbuffer_free(w);
	evbuffer_free(z);
	free(text);
}

/*
 * 200 MB of zeros in about 200 KB: a reader taking 4 KB a bite never
 * has more than the high-water mark buffered; paused, nothing more is
 * inflated (even when kicked); resumed, every zero arrives, exactly.
 */
static void
test_bomb(void **state)
{
	static const char	 zero[65536];
	struct zstate		*t = *state;
	struct evbuffer		*z;
	unsigned long long	 v[4], held;
	z_stream		 zo;
	size_t			 off, zlen;
	int			 i;

	memset(&zo, 0, sizeof(zo));
	CHECK((z = evbuffer_new()) != NULL && deflateInit(&zo, 9) == Z_OK,
	    "deflateInit");
	for (off = 0; off < BOMB; off += sizeof(zero))
		zput(&zo, z, zero, sizeof(zero), off + sizeof(zero) < BOMB ?
		    Z_NO_FLUSH : Z_SYNC_FLUSH);
	deflateEnd(&zo);
	zlen = evbuffer_get_length(z);
	CHECK(zlen < 300 * 1024, "the bomb is %zu bytes", zlen);
	t->c.mode = R_SLOW;
	t->c.zeros = 1;
	t->c.pause_at = 64 * MIB;
	t->c.ztotal = zlen;
	zstart(t, 0, 1);
	CHECK(bufferevent_write_buffer(t->srv->bev, z) == 0, "write");
	WAIT(&t->w, t->c.paused || t->c.errors, 30000, "64 MB of zeros");

	/* Paused, input empty, the rest below: nothing more may come up. */
	zcounts(t, v);
	held = v[0];
	CHECK(held == t->c.nread && v[1] < zlen, "paused at %zu read, %llu "
	    "inflated, %llu of %zu compressed bytes used", t->c.nread, held,
	    v[1], zlen);
	for (i = 0; i < 20; i++) {
		if (i == 10)
			zs_kick(&t->c.l);
		CHECK(event_base_loop(t->w.base, EVLOOP_NONBLOCK) != -1,
		    "loop");
	}
	zcounts(t, v);
	CHECK(v[0] == held && evbuffer_get_length(leg_input(&t->c.l)) == 0,
	    "inflated %llu bytes while paused", v[0] - held);

	/* Resumed with an empty input: only the layer wakes the reader. */
	t->c.pause_at = 0;
	t->c.paused = 0;
	leg_resume(&t->c.l, LEG_PAUSE_PEER);
	WAIT(&t->w, t->c.nread >= BOMB || t->c.errors, 90000,
	    "200 MB of zeros");
	for (i = 0; i < 5; i++)
		CHECK(event_base_loop(t->w.base, EVLOOP_NONBLOCK) != -1,
		    "loop");
	zcounts(t, v);
	CHECK(t->c.nread == BOMB && !t->c.nonzero && t->c.errors == 0,
	    "read %zu bytes (want %zu), nonzero %d, errors %d (%s)",
	    t->c.nread, BOMB, t->c.nonzero, t->c.errors, t->c.why);
	CHECK(t->c.peak <= ZS_HIGH_WATER + 16 * 1024, "%zu plain bytes "
	    "buffered at once (high water %d)", t->c.peak, ZS_HIGH_WATER);
	CHECK(v[0] == BOMB && v[1] == zlen && v[2] == 0 && v[3] == 0,
	    "zs_counts %llu %llu %llu %llu, want %zu %zu 0 0", v[0], v[1],
	    v[2], v[3], BOMB, zlen);
	evbuffer_free(z);
}

/*
 * Valid compressed bytes, then a block of a reserved type: the plain
 * bytes before it arrive, then the error callback, whose zs_error() says
 * what zlib found.
 */
static void
test_corrupt(void **state)
{
	static const unsigned char	 bad[] = { 0xff, 0xff, 0xff, 0xff };
	struct zstate			*t = *state;
	struct evbuffer			*z;
	const char			*want = "compressed stream: "
					    "invalid block type";

	z = zcompress("<presence/>", 11, 11);
	zstart(t, 0, 1);
	CHECK(bufferevent_write_buffer(t->srv->bev, z) == 0, "write");
	WAIT(&t->w, t->c.nread >= 11 || t->c.errors, 5000, "<presence/>");
	CHECK(bufferevent_write(t->srv->bev, bad, sizeof(bad)) == 0, "write");
	WAIT(&t->w, t->c.errors || t->c.eofs, 5000, "the error callback");
	CHECK(t->c.errors == 1 && t->c.eofs == 0 && t->c.nread == 11 &&
	    memcmp(evbuffer_pullup(t->c.in, -1), "<presence/>", 11) == 0,
	    "errors %d, eofs %d, read %s", t->c.errors, t->c.eofs,
	    nt_vis((const char *)evbuffer_pullup(t->c.in, -1), t->c.nread));
	CHECK(strcmp(t->c.why, want) == 0, "zs_error() \"%s\", want \"%s\"",
	    t->c.why, want);
	evbuffer_free(z);
}

/* Once the server's output is flushed, send FIN. */
static void
srv_fin_cb(struct bufferevent *bev, void *arg)
{
	struct nt_peer	*p = arg;

	CHECK(shutdown(bufferevent_getfd(bev), SHUT_WR) == 0, "shutdown: %s",
	    strerror(errno));
	((struct zpeer *)p->user)->fin = 1;
	bufferevent_setcb(bev, nt_peer_readcb, NULL, nt_peer_eventcb, arg);
}

/*
 * 64 KB of text, then 32 MB of "<a/>" (about 1000:1), then FIN at once;
 * when the EOF callback runs, every plain byte was read or waits in the
 * input. A reading leg inflates and drains its whole backlog before
 * libevent reads the socket again, so the EOF can overtake compressed
 * bytes only if the socket reads before any refill: the reader pauses
 * once every compressed byte has left the socket, with megabytes to go,
 * the FIN arrives, and the layer reads again without leg_resume()'s kick.
 */
static void
test_eof_after_burst(void **state)
{
	struct zstate		*t = *state;
	struct pollfd		 pfd = { -1, POLLRDHUP, 0 };
	struct bufferevent	*low;
	struct evbuffer		*z;
	unsigned long long	 v[4];
	size_t			 n = 32 * MIB, zlen, off;
	char			*text;

	text = gen_text(n, 4);
	for (off = 65536; off < n; off++)
		text[off] = "<a/>"[off % 4];
	z = zcompress(text, n, n);
	zlen = evbuffer_get_length(z);
	t->c.mode = R_SLOW;
	t->c.pause_at = 1;
	t->c.ztotal = zlen;
	zstart(t, 0, 1);
	bufferevent_setcb(t->srv->bev, nt_peer_readcb, srv_fin_cb,
	    nt_peer_eventcb, t->srv);
	CHECK(bufferevent_write_buffer(t->srv->bev, z) == 0, "write");
	WAIT(&t->w, (t->c.paused && t->zp.fin) || t->c.eofs || t->c.errors,
	    10000, "the pause and the server's FIN");
	low = bufferevent_get_underlying(t->c.l.bev);
	CHECK(t->c.eofs == 0 && t->c.errors == 0 &&
	    evbuffer_get_length(bufferevent_get_input(low)) > 0,
	    "eof %d, error %d, %zu compressed bytes waiting", t->c.eofs,
	    t->c.errors, evbuffer_get_length(bufferevent_get_input(low)));
	/* The FIN is in the leg's socket: the next turn reads it. */
	pfd.fd = bufferevent_getfd(low);
	CHECK(poll(&pfd, 1, 5000) == 1 && (pfd.revents & POLLRDHUP),
	    "the FIN did not reach the leg's socket");
	t->c.pause_at = 0;
	t->c.paused = 0;
	bufferevent_enable(t->c.l.bev, EV_READ);
	WAIT(&t->w, t->c.eofs || t->c.errors, 10000, "the EOF callback");
	CHECK(t->c.eofs == 1 && t->c.errors == 0 && t->c.at_eof == n,
	    "eof %d, error %d (%s): %zu of %zu plain bytes before the EOF",
	    t->c.eofs, t->c.errors, t->c.why, t->c.at_eof, n);
	CHECK(t->c.nread == n && memcmp(evbuffer_pullup(t->c.in, -1), text,
	    n) == 0, "the reader got %zu other bytes", t->c.nread);
	zcounts(t, v);
	CHECK(v[0] == n && v[1] == zlen, "zs_counts in %llu/%llu, want %zu/%zu",
	    v[0], v[1], n, zlen);
	evbuffer_free(z);
	free(text);
}

/*
 * leg_shutdown() on a zlib leg: FIN once the compressed output left,
 * found through the layer. First with nothing pending (FIN at once),
 * then with 1 MB queued (FIN from the write callback).
 */
static void
test_shutdown(void **state)
{
	struct zstate	*t = *state;
	size_t		 n[2] = { 11, MIB };
	char		*text;
	int		 i;

	text = gen_text(MIB, 5);
	for (i = 0; i < 2; i++) {
		if (i > 0)
			leg_free(&t->c.l);
		zstart(t, (size_t)i, 1);
		CHECK(evbuffer_add(leg_output(&t->c.l), text, n[i]) == 0,
		    "leg write");
		if (i == 0)
			WAIT(&t->w, leg_pending(&t->c.l) == 0, 5000, "flush");
		leg_shutdown(&t->c.l);
		CHECK(i == 0 ? t->c.l.shut && !t->c.l.shut_pending :
		    !t->c.l.shut && t->c.l.shut_pending,
		    "case %d: shut %d, shut_pending %d", i, t->c.l.shut,
		    t->c.l.shut_pending);
		nt_wait_eof(t->srv, "FIN at the server");
		CHECK(evbuffer_get_length(t->zp.plain) == n[i] &&
		    memcmp(evbuffer_pullup(t->zp.plain, -1), text, n[i]) == 0,
		    "case %d: server inflated %zu bytes before FIN, want %zu",
		    i, evbuffer_get_length(t->zp.plain), n[i]);
		CHECK(t->c.l.shut && !t->c.l.shut_pending && t->c.errors == 0,
		    "case %d: leg state after FIN", i);
	}
	free(text);
}

/*
 * A second zs_wrap() fails with a reason and changes nothing; so does
 * one on a leg without a connection. zs_error() and zs_counts() on a leg
 * without the layer: "" and zeros.
 */
static void
test_wrap_twice(void **state)
{
	struct zstate		*t = *state;
	struct leg		 none;
	unsigned long long	 v[4];
	char			 err[256];

	zstart(t, 0, 0);
	zcounts(t, v);
	CHECK(v[0] == 0 && v[1] == 0 && v[2] == 0 && v[3] == 0 &&
	    *zs_error(&t->c.l, err, sizeof(err)) == '\0',
	    "counts or error on a plain leg");
	CHECK(zs_wrap(&t->c.l, err, sizeof(err)) == 0, "zs_wrap: %s", err);
	err[0] = '\0';
	CHECK(zs_wrap(&t->c.l, err, sizeof(err)) == -1 &&
	    strcmp(err, "connection already compressed") == 0,
	    "second zs_wrap: \"%s\"", err);
	memset(&none, 0, sizeof(none));
	CHECK(zs_wrap(&none, err, sizeof(err)) == -1 &&
	    strcmp(err, "connection gone") == 0 && none.zs == NULL,
	    "zs_wrap without a connection: \"%s\"", err);
	/* Still one working layer. */
	CHECK(evbuffer_add(leg_output(&t->c.l), "<iq/>", 5) == 0, "write");
	WAIT(&t->w, evbuffer_get_length(t->zp.plain) >= 5, 5000, "<iq/>");
	CHECK(evbuffer_get_length(t->zp.plain) == 5 && memcmp(
	    evbuffer_pullup(t->zp.plain, -1), "<iq/>", 5) == 0, "server got %s",
	    nt_vis((const char *)evbuffer_pullup(t->zp.plain, -1),
	    evbuffer_get_length(t->zp.plain)));
	zcounts(t, v);
	CHECK(v[2] == 5, "deflated %llu plain bytes, want 5", v[2]);
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offered),
		T(test_roundtrip),
		T(test_wrap_buffered),
		T(test_bomb),
		T(test_corrupt),
		T(test_eof_after_burst),
		T(test_shutdown),
		T(test_wrap_twice),
	};
#undef T

	nt_main_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
