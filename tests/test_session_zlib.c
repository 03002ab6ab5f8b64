/*
 * test_session_zlib: XEP-0138 stream compression a client negotiates
 * through the proxy (proxy/session_zlib.c), over nabtest.h's loopback
 * world. The rabbit and the fake server run zlib themselves (deflate with
 * a sync flush per write, inflate of everything they get), so every
 * assertion is on exact plain bytes: <compress/> up and <compressed/>
 * down in clear, the restarted streams compressed both ways, a refusal
 * that leaves the stream in clear (the rabbit paused meanwhile), corrupt
 * data from either side (<undefined-condition/> to that side, the plain
 * stream end to the other), and a bomb that meets the stanza cap while
 * the proxy's plain input stays under max-stanza + ZS_HIGH_WATER.
 */
#include <sys/ioctl.h>

#include <zlib.h>

#include "nabfixture.h"
#include "zutil.h"
#include "zstream.h"

#define LOGFILE		NAB_BINARY_DIR "/tests/test_session_zlib.log"
#define FEAT_Z		"<stream:features><compression xmlns='"		\
	ZS_NS_FEATURE "'><method>zlib</method></compression>"		\
	"</stream:features>"
#define COMPRESS	"<compress xmlns='" ZS_NS "'><method>zlib</method>" \
	"</compress>"
#define COMPRESSED	"<compressed xmlns='" ZS_NS "'/>"
#define FAILURE		"<failure xmlns='" ZS_NS "'><setup-failed/></failure>"
/* After a sync flush, 0xff opens a block of the reserved type 3. */
#define GARBAGE		"\xff\xfe this is not deflate data"
#define M1		"<message to='a@example.net' id='z1'><body>caf\xc3\xa9 " \
	"&amp; <![CDATA[1<2]]></body></message>"
#define EARLY		"<iq type='get' id='early'/>"
#define IQ		"<iq type='get' id='after'><ping xmlns='urn:xmpp:ping'/>" \
	"</iq>"
#define RESULT		"<iq type='result' id='after'/>"
#define S1		"<message from='a@example.net' id='s1'><body>hi</body>" \
	"</message>"
/* Our own header, before a stream error to a rabbit that has none. */
#define OWN_HDR		"<?xml version='1.0'?><stream:stream xmlns='jabber:" \
	"client' xmlns:stream='http://etherx.jabber.org/streams' "	\
	"id='nabproxy-1' from='example.net' version='1.0'>"
#define BIG_BODY	40000
#define BOMB		((size_t)8 * 1024 * 1024)
#define MIB		(1024 * 1024)

/* One end's own zlib streams: what it sends, and what it got. */
struct zside {
	z_stream	 zi, zo;
	struct evbuffer	*plain;		/* inflated, not yet expected */
	int		 zerr;		/* inflate's error, Z_OK if none */
};

/* A test's state: the world first, so *state is a struct nt_world too. */
struct zt {
	struct nt_world	 w;
	struct zside	 zr, zsv;	/* the rabbit's, the server's */
	struct nt_peer	*rabbit, *srv;
	size_t		 peak;		/* the rabbit leg's plain input */
};

static void
zside_init(struct zside *z)
{
	memset(z, 0, sizeof(*z));
	NT_CHECK(inflateInit(&z->zi) == Z_OK && deflateInit(&z->zo,
	    Z_DEFAULT_COMPRESSION) == Z_OK, "zlib init");
	NT_CHECK((z->plain = evbuffer_new()) != NULL, "evbuffer_new");
}

static void
zside_free(struct zside *z)
{
	inflateEnd(&z->zi);
	deflateEnd(&z->zo);
	if (z->plain != NULL)
		evbuffer_free(z->plain);
	z->plain = NULL;
}

static int
setup(void **state)
{
	struct zt	*t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	nt_world_init(&t->w);
	nt_log_to(LOGFILE);
	zside_init(&t->zr);
	zside_init(&t->zsv);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct zt	*t = *state;

	/* First: the rabbit leg's input still calls back into t->peak. */
	nt_world_free(&t->w);
	zside_free(&t->zr);
	zside_free(&t->zsv);
	free(t);
	return 0;
}

/* Send n bytes compressed, sync-flushed, in one write (as clients do). */
static void
zsend(struct nt_peer *p, struct zside *z, const void *s, size_t n)
{
	struct evbuffer	*out = evbuffer_new();

	NT_CHECK(out != NULL, "evbuffer_new");
	zput(&z->zo, out, s, n, Z_SYNC_FLUSH);
	NT_CHECK(bufferevent_write_buffer(p->bev, out) == 0, "write");
	evbuffer_free(out);
}

#define ZSEND(p, z, s)	zsend((p), (z), (s), strlen(s))

/* Inflate everything p received so far into z->plain. */
static void
zpull(struct nt_peer *p, struct zside *z)
{
	unsigned char		buf[16384];
	struct evbuffer_iovec	v;
	size_t			used;
	int			r = Z_OK;

	while (z->zerr == Z_OK && evbuffer_peek(p->in, -1, NULL, &v, 1) > 0) {
		z->zi.next_in = v.iov_base;
		z->zi.avail_in = (uInt)v.iov_len;
		do {
			z->zi.next_out = buf;
			z->zi.avail_out = sizeof(buf);
			r = inflate(&z->zi, Z_SYNC_FLUSH);
			evbuffer_add(z->plain, buf, sizeof(buf) -
			    z->zi.avail_out);
		} while (r == Z_OK && (z->zi.avail_in > 0 ||
		    z->zi.avail_out == 0));
		if (r != Z_OK && r != Z_BUF_ERROR)
			z->zerr = r;	/* Z_STREAM_END too: never ours */
		used = v.iov_len - z->zi.avail_in;
		evbuffer_drain(p->in, z->zerr != Z_OK ?
		    evbuffer_get_length(p->in) : used);
		if (used == 0)
			break;
	}
}

/* Enough plain bytes, a broken stream, or the proxy hung up. */
static int
c_zlen(const struct nt_cond *c)
{
	struct zside	*z = c->arg;

	zpull(c->p, z);
	return evbuffer_get_length(z->plain) >= c->n || z->zerr != Z_OK ||
	    c->p->gone;
}

/* Wait for want, inflated, and compare exactly; then forget it. */
static void
zexpect(struct nt_peer *p, struct zside *z, const char *want, size_t n,
    const char *who)
{
	struct nt_cond	 c = { c_zlen, p->w, p, n, z };
	const char	*got;
	size_t		 len;

	nt_run(&c, 10 * NT_SEC, who);
	len = evbuffer_get_length(z->plain);
	got = (const char *)evbuffer_pullup(z->plain, -1);
	NT_CHECK(z->zerr == Z_OK, "%s: inflate failed (%d) after %zu bytes: "
	    "%s", who, z->zerr, len, nt_vis(got, len));
	NT_CHECK(len == n && memcmp(got, want, n) == 0,
	    "%s inflated %zu bytes:\n  %s\nwant %zu bytes:\n  %s", who, len,
	    nt_vis(got, len), n, nt_vis(want, n));
	evbuffer_drain(z->plain, len);
}

#define ZEXPECT(p, z, s, who)	zexpect((p), (z), (s), strlen(s), (who))

/* The proxy's last bytes to p, then its FIN: nothing after want. */
static void
zexpect_end(struct nt_peer *p, struct zside *z, const char *want,
    const char *who)
{
	nt_wait_eof(p, who);
	ZEXPECT(p, z, want, who);
	NT_CHECK(p->error == 0, "%s: %s, not a clean EOF", who,
	    strerror(p->error));
}

/* Both ends close their sockets; the session must go at once. */
static void
closed(struct zt *t)
{
	bufferevent_free(t->rabbit->bev);
	t->rabbit->bev = NULL;
	bufferevent_free(t->srv->bev);
	t->srv->bev = NULL;
	/* Under the session's 5 s linger timer: the EOFs end it, not that. */
	nt_wait_sessions(&t->w, 0, 4 * NT_SEC);
}

/*
 * Headers, features offering zlib and the rabbit's <compress/>, all in
 * clear and unchanged; the rabbit's reading paused. Buffers cleared.
 */
static void
z_offer(struct zt *t)
{
	struct session	*se;

	nt_proxy_start(&t->w);
	t->rabbit = nt_rabbit(&t->w);
	nt_send(t->rabbit, NT_RHDR);
	t->srv = nt_server(&t->w, 0);
	nt_expect(t->srv, NT_RHDR, "server (the rabbit's header)");
	nt_send(t->srv, NT_SHDR FEAT_Z);
	nt_expect(t->rabbit, NT_SHDR FEAT_Z, "rabbit (header, features "
	    "offering zlib)");
	nt_send(t->rabbit, COMPRESS);
	nt_expect(t->srv, NT_RHDR COMPRESS, "server (<compress/>, unchanged)");
	se = nt_session(&t->w);
	NT_CHECK(se->z_state == SE_Z_ASKED && (se->r.pause & LEG_PAUSE_LAYER),
	    "after <compress/>: state %d, rabbit pause %#x", se->z_state,
	    se->r.pause);
	nt_clear(t->rabbit);
	nt_clear(t->srv);
}

/* z_offer(), then the server's <compressed/>: both legs compressed. */
static void
z_on(struct zt *t)
{
	struct session	*se;

	z_offer(t);
	nt_send(t->srv, COMPRESSED);
	nt_expect(t->rabbit, COMPRESSED, "rabbit (<compressed/> in clear)");
	se = nt_session(&t->w);
	NT_CHECK(se->z_state == SE_Z_ON && se->r.zs != NULL &&
	    se->s.zs != NULL && se->r.pause == 0, "after <compressed/>: "
	    "state %d, layers %p %p, rabbit pause %#x", se->z_state,
	    se->r.zs, se->s.zs, se->r.pause);
	nt_clear(t->rabbit);
	nt_clear(t->srv);
}

/* z_on(), then both streams restarted, compressed. */
static void
z_restart(struct zt *t)
{
	z_on(t);
	ZSEND(t->rabbit, &t->zr, NT_RHDR);
	ZEXPECT(t->srv, &t->zsv, NT_RHDR, "server (the restarted header)");
	ZSEND(t->srv, &t->zsv, NT_SHDR NT_FEATURES2);
	ZEXPECT(t->rabbit, &t->zr, NT_SHDR NT_FEATURES2, "rabbit (the "
	    "server's restarted header and features)");
}

/* "<message id='big'><body>" and n letters a..z, closed; malloc'd. */
static char *
big_message(size_t n, size_t *len)
{
	static const char	 head[] = "<message id='big'><body>";
	static const char	 tail[] = "</body></message>";
	char			*s;
	size_t			 i, o = sizeof(head) - 1;

	*len = o + n + sizeof(tail) - 1;
	NT_CHECK((s = malloc(*len + 1)) != NULL, "malloc");
	memcpy(s, head, o);
	for (i = 0; i < n; i++)
		s[o + i] = (char)('a' + i % 26);
	memcpy(s + o + n, tail, sizeof(tail));
	return s;
}

/*
 * The whole negotiation: every byte in clear until <compressed/>, then
 * a restarted header and stanzas (one of 40 KB) inflated exactly on
 * either side; the layer's counters agree, and the daemon, raw and [vm]
 * logs show plain XML.
 */
static void
test_compressed_session(void **state)
{
	struct zt		*t = *state;
	struct session		*se;
	unsigned long long	 ip, iz, op, oz;
	char			*big;
	size_t			 blen, up, down;

	t->w.px.opt.log_format = LOGFMT_BOTH;
	z_on(t);
	ZSEND(t->rabbit, &t->zr, NT_RHDR M1);
	ZEXPECT(t->srv, &t->zsv, NT_RHDR M1, "server (restarted header and "
	    "a stanza, inflated)");
	ZSEND(t->srv, &t->zsv, NT_SHDR NT_FEATURES2 S1);
	ZEXPECT(t->rabbit, &t->zr, NT_SHDR NT_FEATURES2 S1, "rabbit "
	    "(header, features and a stanza, inflated)");
	big = big_message(BIG_BODY, &blen);
	zsend(t->rabbit, &t->zr, big, blen);
	zexpect(t->srv, &t->zsv, big, blen, "server (a 40 KB stanza)");
	zsend(t->srv, &t->zsv, big, blen);
	zexpect(t->rabbit, &t->zr, big, blen, "rabbit (a 40 KB stanza)");
	free(big);
	up = strlen(NT_RHDR M1) + blen;
	down = strlen(NT_SHDR NT_FEATURES2 S1) + blen;
	se = nt_session(&t->w);
	zs_counts(&se->r, &ip, &iz, &op, &oz);
	NT_CHECK(ip == up && op == down && iz > 0 && oz > 0 && iz < ip &&
	    oz < op, "rabbit leg: in %llu plain / %llu z, out %llu plain / "
	    "%llu z; want %zu in, %zu out", ip, iz, op, oz, up, down);
	zs_counts(&se->s, &ip, &iz, &op, &oz);
	NT_CHECK(ip == down && op == up, "server leg: in %llu plain, out "
	    "%llu plain; want %zu in, %zu out", ip, op, down, up);
	NT_CHECK(nt_log_has(LOGFILE, "session 1: rabbit asked for stream "
	    "compression"), "the log does not say the rabbit asked");
	NT_CHECK(nt_log_has(LOGFILE, "session 1: stream compression (zlib) "
	    "on"), "the log does not say compression is on");
	/* The logs show the plain XML, as if nothing were compressed. */
	NT_CHECK(nt_log_has(LOGFILE, "SEND:\n\n" M1 "\n") &&
	    nt_log_has(LOGFILE, "[vm] Sending : " M1 "(end)"), "the traffic "
	    "log lacks the rabbit's plain stanza");
	NT_CHECK(nt_log_has(LOGFILE, "RECEIVE:\n\n" S1 "\n") &&
	    nt_log_has(LOGFILE, "[vm]     | id => s1\n[vm]     |..body\n"
	    "[vm]     !....hi\n"), "the traffic log lacks the server's plain "
	    "stanza");
}

/* The rabbit's writes left for the kernel (on loopback: arrived). */
static int
c_flushed(const struct nt_cond *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->p->bev)) == 0;
}

/* Bytes that arrived on fd and wait unread in its socket buffer. */
static size_t
unread(int fd)
{
	int	n = 0;

	NT_CHECK(ioctl(fd, FIONREAD, &n) == 0 && n >= 0, "FIONREAD");
	return (size_t)n;
}

/*
 * <failure/> passes in clear and the rabbit goes on in clear. A stanza
 * the rabbit sends too early stays unread while <compress/> is pending
 * (the proxy meanwhile passes the server's whitespace), then goes up.
 */
static void
test_refused(void **state)
{
	struct zt	*t = *state;
	struct session	*se;
	struct nt_cond	 c = { c_flushed, &t->w, NULL, 0, NULL };

	z_offer(t);
	se = nt_session(&t->w);
	c.p = t->rabbit;
	nt_send(t->rabbit, EARLY);
	nt_run(&c, 5 * NT_SEC, "the early stanza to leave the rabbit");
	/* A round trip through the proxy: it runs, the stanza waits. */
	nt_send(t->srv, " ");
	nt_expect(t->rabbit, " ", "rabbit (the server's whitespace)");
	NT_CHECK(unread(bufferevent_getfd(se->r.bev)) == strlen(EARLY) &&
	    evbuffer_get_length(t->srv->in) == 0, "the proxy read the "
	    "rabbit while <compress/> was pending (%zu bytes unread)",
	    unread(bufferevent_getfd(se->r.bev)));
	nt_send(t->srv, FAILURE);
	nt_expect(t->rabbit, " " FAILURE, "rabbit (<failure/> in clear)");
	nt_expect(t->srv, EARLY, "server (the early stanza, in clear)");
	NT_CHECK(se->z_state == SE_Z_NONE && se->r.pause == 0 &&
	    se->r.zs == NULL && se->s.zs == NULL, "after <failure/>: state "
	    "%d, rabbit pause %#x, layers %p %p", se->z_state, se->r.pause,
	    se->r.zs, se->s.zs);
	nt_send(t->rabbit, IQ);
	nt_expect(t->srv, EARLY IQ, "server (the next stanza, in clear, "
	    "byte for byte)");
	nt_send(t->srv, RESULT);
	nt_expect(t->rabbit, " " FAILURE RESULT, "rabbit (the answer, in "
	    "clear)");
}

/*
 * A client that does not wait: <compress/> and a stanza in one write. The
 * stanza is not handled while the answer is pending (it could be zlib);
 * after <failure/> it goes up in clear, without waiting for more input.
 */
static void
test_pipelined_refused(void **state)
{
	struct zt	*t = *state;
	struct session	*se;

	nt_proxy_start(&t->w);
	t->rabbit = nt_rabbit(&t->w);
	nt_send(t->rabbit, NT_RHDR);
	t->srv = nt_server(&t->w, 0);
	nt_expect(t->srv, NT_RHDR, "server (the rabbit's header)");
	nt_send(t->srv, NT_SHDR FEAT_Z);
	nt_expect(t->rabbit, NT_SHDR FEAT_Z, "rabbit (header, features)");
	nt_send(t->rabbit, COMPRESS EARLY);
	nt_expect(t->srv, NT_RHDR COMPRESS, "server (<compress/> alone)");
	nt_send(t->srv, " ");
	nt_expect(t->rabbit, NT_SHDR FEAT_Z " ", "rabbit (a round trip)");
	NT_CHECK(evbuffer_get_length(t->srv->in) == strlen(NT_RHDR COMPRESS),
	    "the pipelined stanza went up before the answer to <compress/>");
	nt_send(t->srv, FAILURE);
	nt_expect(t->srv, NT_RHDR COMPRESS EARLY, "server (the pipelined "
	    "stanza, in clear, after <failure/>)");
	se = nt_session(&t->w);
	NT_CHECK(se->z_state == SE_Z_NONE && se->r.pause == 0,
	    "after <failure/>: state %d, pause %#x", se->z_state, se->r.pause);
}

/*
 * Corrupt zlib data from one side after the restart: it gets
 * <undefined-condition/> on its compressed stream, the other side a
 * compressed </stream:stream>, both a FIN, the log blames the right side,
 * and the session goes.
 */
static void
corrupt_from(struct zt *t, int rabbit)
{
	struct nt_peer	*bad, *good;
	struct zside	*zbad = rabbit ? &t->zr : &t->zsv;
	struct zside	*zgood = rabbit ? &t->zsv : &t->zr;

	z_restart(t);
	bad = rabbit ? t->rabbit : t->srv;
	good = rabbit ? t->srv : t->rabbit;
	nt_send(bad, GARBAGE);
	zexpect_end(bad, zbad, NT_ERR("undefined-condition"),
	    "the corrupt side (stream error, compressed)");
	zexpect_end(good, zgood, NT_END, "the other side (stream end, "
	    "compressed)");
	NT_CHECK(nt_log_has(LOGFILE, rabbit ? "rabbit: compressed stream: " :
	    "server: compressed stream: "), "the log does not blame the %s's "
	    "compressed stream", rabbit ? "rabbit" : "server");
	closed(t);
}

static void
test_corrupt_from_rabbit(void **state)
{
	corrupt_from(*state, 1);
}

/*
 * A stanza and corrupt data in one write: the stanza inflated before the
 * corruption still reaches the server, then the stream ends.
 */
static void
test_corrupt_after_stanza(void **state)
{
	struct zt	*t = *state;
	struct evbuffer	*out = evbuffer_new();

	NT_CHECK(out != NULL, "evbuffer_new");
	z_restart(t);
	zput(&t->zr.zo, out, M1, strlen(M1), Z_SYNC_FLUSH);
	evbuffer_add(out, GARBAGE, strlen(GARBAGE));
	NT_CHECK(bufferevent_write_buffer(t->rabbit->bev, out) == 0, "write");
	evbuffer_free(out);
	zexpect_end(t->rabbit, &t->zr, NT_ERR("undefined-condition"),
	    "rabbit (stream error, compressed)");
	zexpect_end(t->srv, &t->zsv, M1 NT_END, "server (the intact stanza, "
	    "then the stream end)");
	closed(t);
}

/*
 * Corrupt data before the rabbit restarted its stream: it gets a header
 * of ours and the error, compressed; the server, whose restarted stream
 * was never opened, gets nothing but a FIN.
 */
static void
test_corrupt_before_restart(void **state)
{
	struct zt	*t = *state;

	z_on(t);
	nt_send(t->rabbit, GARBAGE);
	zexpect_end(t->rabbit, &t->zr, OWN_HDR NT_ERR("undefined-condition"),
	    "rabbit (our header and the stream error, compressed)");
	nt_wait_eof(t->srv, "server EOF");
	NT_CHECK(evbuffer_get_length(t->srv->in) == 0, "the server got %zu "
	    "bytes on a stream nobody restarted",
	    evbuffer_get_length(t->srv->in));
	closed(t);
}

static void
test_corrupt_from_server(void **state)
{
	corrupt_from(*state, 0);
}

/*
 * A clean end through both layers: each side's compressed
 * </stream:stream> and FIN reach the other, and the session goes.
 */
static void
test_clean_close(void **state)
{
	struct zt	*t = *state;
	struct nt_cond	 c = { c_flushed, &t->w, NULL, 0, NULL };

	z_restart(t);
	ZSEND(t->rabbit, &t->zr, M1 NT_END);
	c.p = t->rabbit;
	nt_run(&c, 5 * NT_SEC, "the rabbit's last bytes to leave");
	NT_CHECK(shutdown(bufferevent_getfd(t->rabbit->bev), SHUT_WR) == 0,
	    "shutdown");
	zexpect_end(t->srv, &t->zsv, M1 NT_END, "server (the last stanza "
	    "and the stream end, then FIN)");
	ZSEND(t->srv, &t->zsv, S1 NT_END);
	c.p = t->srv;
	nt_run(&c, 5 * NT_SEC, "the server's last bytes to leave");
	NT_CHECK(shutdown(bufferevent_getfd(t->srv->bev), SHUT_WR) == 0,
	    "shutdown");
	zexpect_end(t->rabbit, &t->zr, S1 NT_END, "rabbit (the last stanza "
	    "and the stream end, then FIN)");
	nt_wait_sessions(&t->w, 0, 4 * NT_SEC);
}

/* Every change of the rabbit leg's plain input: keep the largest. */
static void
peak_cb(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	size_t	*peak = arg, n = info->orig_size + info->n_added;

	if (n > *peak)
		*peak = n;
}

/*
 * A bomb: one stanza of 8 MB of one letter, about 8 KB compressed. The
 * stanza cap answers <policy-violation/>, and the plain input the proxy
 * buffers for the rabbit never passes max-stanza + ZS_HIGH_WATER (plus
 * a 16 KiB inflate chunk of slack).
 */
static void
test_bomb(void **state)
{
	struct zt	*t = *state;
	struct session	*se;
	struct evbuffer	*out = evbuffer_new();
	const char	*head = "<message to='x@example.net'><body>";
	const char	*tail = "</body></message>";
	char		*chunk = malloc(MIB);
	size_t		 i, max = t->w.px.opt.max_stanza + ZS_HIGH_WATER +
			    16 * 1024;

	NT_CHECK(out != NULL && chunk != NULL, "malloc");
	z_restart(t);
	se = nt_session(&t->w);
	NT_CHECK(evbuffer_add_cb(leg_input(&se->r), peak_cb, &t->peak) !=
	    NULL, "evbuffer_add_cb");
	memset(chunk, 'A', MIB);
	zput(&t->zr.zo, out, head, strlen(head), Z_NO_FLUSH);
	for (i = 0; i < BOMB / MIB; i++)
		zput(&t->zr.zo, out, chunk, MIB, Z_NO_FLUSH);
	zput(&t->zr.zo, out, tail, strlen(tail), Z_SYNC_FLUSH);
	free(chunk);
	print_message("bomb: %zu bytes inflate to %zu\n",
	    evbuffer_get_length(out), BOMB + strlen(head) + strlen(tail));
	NT_CHECK(bufferevent_write_buffer(t->rabbit->bev, out) == 0, "write");
	evbuffer_free(out);
	zexpect_end(t->rabbit, &t->zr, NT_ERR("policy-violation"),
	    "rabbit (stream error, compressed)");
	zexpect_end(t->srv, &t->zsv, NT_END, "server (stream end, "
	    "compressed)");
	print_message("bomb: the rabbit leg's plain input peaked at %zu "
	    "bytes (bound %zu)\n", t->peak, max);
	NT_CHECK(t->peak > t->w.px.opt.max_stanza && t->peak <= max,
	    "the rabbit leg's plain input peaked at %zu bytes (want over "
	    "max-stanza %zu, at most %zu)", t->peak, t->w.px.opt.max_stanza,
	    max);
	closed(t);
}

/*
 * Idle on a compressed stream (restarted after <compressed/>): both
 * parsers are freed; the rabbit's is woken by a stanza that is not plain
 * (UTF-8), the server's stays asleep through a plain one (framed by
 * xframe); every stanza still arrives exactly.
 */
static void
test_compressed_dozing(void **state)
{
	struct zt	*t = *state;
	struct session	*se;

	z_restart(t);
	se = nt_session(&t->w);
	NT_CHECK(session_doze_idle(&t->w.px, 0) == 2, "both streams should "
	    "doze after the compressed restart");
	ZSEND(t->rabbit, &t->zr, M1);
	ZEXPECT(t->srv, &t->zsv, M1, "server (a stanza after a doze)");
	NT_CHECK(xs_dozing(se->xs[NAB_FROM_SERVER]) &&
	    !xs_dozing(se->xs[NAB_FROM_RABBIT]), "only the rabbit's stream "
	    "woke");
	ZSEND(t->srv, &t->zsv, S1);
	ZEXPECT(t->rabbit, &t->zr, S1, "rabbit (a stanza after a doze)");
	/* S1 is plain ASCII and nothing reads it: framed, the parser sleeps. */
	NT_CHECK(xs_dozing(se->xs[NAB_FROM_SERVER]), "a plain stanza nothing "
	    "reads should not wake the server's stream");
	NT_CHECK(session_doze_idle(&t->w.px, 0) == 1, "the rabbit's stream "
	    "dozes again");
	ZSEND(t->rabbit, &t->zr, " " M1);
	ZEXPECT(t->srv, &t->zsv, " " M1, "server (again)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_compressed_session),
		T(test_compressed_dozing),
		T(test_refused),
		T(test_pipelined_refused),
		T(test_corrupt_from_rabbit),
		T(test_corrupt_after_stanza),
		T(test_corrupt_before_restart),
		T(test_corrupt_from_server),
		T(test_clean_close),
		T(test_bomb),
#undef T
	};

	nt_main_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
