/*
 * test_session: the session lifecycle of proxy/session.c over real
 * loopback sockets: byte-exact passthrough, stream errors for bad input,
 * upstream failures and timeouts, half-close, resets and backpressure.
 * No filters are loaded: px.chains is NULL, as with an empty profile.
 */
#include "nabfixture.h"

/* Bytes accounted for on the way from `from` to `to` through the proxy. */
struct flow {
	struct nt_world	*w;
	struct nt_peer	*to;
	struct leg	*src, *dst;
	size_t		 sent;
};

static int
c_flowed(const struct nt_cond *c)
{
	const struct flow *f = c->arg;

	return (f->to ? evbuffer_get_length(f->to->in) : 0) +
	    (f->src->bev ? evbuffer_get_length(leg_input(f->src)) : 0) +
	    leg_pending(f->dst) == f->sent;
}

/*
 * Write s to `from` in odd-sized pieces (1, 2, 3, 5, 7, 11, 13 bytes),
 * each one read by the proxy before the next is written, so every tag
 * and every UTF-8 sequence is split somewhere. to is NULL for the
 * rabbit's header: the upstream is dialled once it is complete.
 */
static void
odd_writes(struct nt_world *w, struct nt_peer *from, struct nt_peer *to,
    int from_rabbit, const char *s)
{
	static const size_t	 sizes[] = { 1, 2, 3, 5, 7, 11, 13 };
	struct session		*se = nt_session(w);
	struct flow		 f;
	struct nt_cond		 c = { c_flowed, w, NULL, 0, &f };
	size_t			 len = strlen(s), off = 0, n, i = 0;

	f.w = w;
	f.to = to;
	f.src = from_rabbit ? &se->r : &se->s;
	f.dst = from_rabbit ? &se->s : &se->r;
	f.sent = (to ? evbuffer_get_length(to->in) : 0) +
	    evbuffer_get_length(leg_input(f.src)) + leg_pending(f.dst);
	while (off < len) {
		n = sizes[i++ % 7];
		if (n > len - off)
			n = len - off;
		NT_CHECK(bufferevent_write(from->bev, s + off, n) == 0,
		    "write");
		off += n;
		f.sent += n;
		nt_run(&c, 5 * NT_SEC, "the proxy to read one piece");
	}
}

/* Split tags, UTF-8, entities, CDATA, both quote styles, whitespace. */
#define R1	"\n  <message to=\"a@b\" id='m1'><body>caf\xc3\xa9 "	\
	"&amp; &lt;x&gt; <![CDATA[1<2]]></body><x xmlns=\"y\"/>"	\
	"</message> "							\
	"<presence/>\r\n\t<iq type='get' id='i1'><query "		\
	"xmlns='jabber:iq:roster'/></iq>"
#define S1	"<stream:features><bind xmlns='urn:ietf:params:xml:ns:"	\
	"xmpp-bind'/></stream:features>\n\n<message from='x@y'><body>"	\
	"\xe2\x82\xac \"q\" &apos;</body></message>  "

static void
test_passthrough_exact(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	nt_proxy_start(w);
	rabbit = nt_rabbit(w);
	nt_wait_sessions(w, 1, 5 * NT_SEC);
	odd_writes(w, rabbit, NULL, 1, NT_RHDR);
	NT_CHECK(w->nsrvc == 0 && nt_session(w)->s.bev != NULL,
	    "the upstream is dialled with the header's last byte");
	srv = nt_server(w, 0);
	nt_wait_len(srv, strlen(NT_RHDR), "the header upstream");
	odd_writes(w, rabbit, srv, 1, R1);
	odd_writes(w, srv, rabbit, 0, NT_SHDR);
	odd_writes(w, srv, rabbit, 0, S1);
	odd_writes(w, rabbit, srv, 1, NT_END);
	odd_writes(w, srv, rabbit, 0, NT_END);
	nt_expect(srv, NT_RHDR R1 NT_END, "server (every byte, unchanged)");
	nt_expect(rabbit, NT_SHDR S1 NT_END, "rabbit (every byte, unchanged)");
}

static void
test_server_whitespace_passes(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	nt_send(srv, "<a/>\n \n<b/> ");
	nt_expect(rabbit, "<a/>\n \n<b/> ", "rabbit (keep-alive whitespace)");
	nt_send(srv, "\n");
	nt_expect(rabbit, "<a/>\n \n<b/> \n", "rabbit (lone whitespace)");
}

/* After a stream error both peers see EOF; closing them frees the session. */
static void
expect_closed(struct nt_world *w, struct nt_peer *rabbit, struct nt_peer *srv)
{
	nt_wait_eof(rabbit, "rabbit EOF after the stream error");
	if (srv != NULL)
		nt_wait_eof(srv, "server EOF after the stream end");
	bufferevent_free(rabbit->bev);
	rabbit->bev = NULL;
	if (srv != NULL) {
		bufferevent_free(srv->bev);
		srv->bev = NULL;
	}
	nt_wait_sessions(w, 0, 5 * NT_SEC);
}

/* The rabbit sends `bad` after the headers and gets exactly `err`. */
static void
rabbit_error(struct nt_world *w, const char *bad, const char *err)
{
	struct nt_peer	*rabbit, *srv;

	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, bad);
	nt_expect(rabbit, err, "rabbit (stream error)");
	nt_expect(srv, NT_END, "server (stream end)");
	expect_closed(w, rabbit, srv);
}

static void
test_bad_xml(void **state)
{
	rabbit_error(*state, "<message></iq>", NT_ERR("not-well-formed"));
}

static void
test_text_between_stanzas(void **state)
{
	rabbit_error(*state, "hello<a/>", NT_ERR("not-well-formed"));
}

static void
test_restricted_xml(void **state)
{
	rabbit_error(*state, "<!-- hi -->", NT_ERR("restricted-xml"));
}

static void
test_restricted_pi(void **state)
{
	rabbit_error(*state, "<?evil x?>", NT_ERR("restricted-xml"));
}

static void
test_policy_size(void **state)
{
	struct nt_world	*w = *state;
	char		 big[2100];

	w->px.opt.max_stanza = 1024;
	memset(big, 'x', sizeof(big));
	memcpy(big, "<message><body>", 15);
	big[sizeof(big) - 1] = '\0';
	rabbit_error(w, big, NT_ERR("policy-violation"));
}

static void
test_policy_depth(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;
	const char	*ok = "<a><b><c><d>x</d></c></b></a>";

	w->px.opt.max_depth = 4;
	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, ok);
	nt_expect(srv, ok, "server (depth 4 is allowed)");
	nt_send(rabbit, "<a><b><c><d><e/></d></c></b></a>");
	nt_expect(rabbit, NT_ERR("policy-violation"), "rabbit (depth 5)");
	nt_expect(srv, "<a><b><c><d>x</d></c></b></a>" NT_END, "server");
	expect_closed(w, rabbit, srv);
}

static void
test_server_bad_xml(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	nt_send(srv, "<a></b>");
	nt_expect(rabbit, NT_END, "rabbit (plain stream end)");
	nt_expect(srv, NT_ERR("not-well-formed"), "server (stream error)");
	expect_closed(w, rabbit, srv);
}

#define REG_SET(id)	"<iq type='set' id='" id "'><query xmlns='jabber:iq:" \
	"register'><username>u</username><password>p</password></query></iq>"

/* One stanza from `from`, passed byte for byte to `to`. */
static void
pass_one(struct nt_peer *from, struct nt_peer *to, const char *st,
    const char *what)
{
	nt_send(from, st);
	nt_expect(to, st, what);
	nt_clear(to);
}

/*
 * Only the server's result to a register set means the stream registered
 * an account (session_login.c then logs in on another connection): a 409
 * or a result to another id does not.
 */
static void
test_registered_only_on_result(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;
	struct session	*se;

	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	se = nt_session(w);
	pass_one(rabbit, srv, REG_SET("r1"), "server (register set)");
	pass_one(srv, rabbit, "<iq type='error' id='r1'><error type='cancel'>"
	    "<conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
	    "</iq>", "rabbit (409)");
	assert_int_equal(se->registered, 0);
	pass_one(rabbit, srv, "<iq type='get' id='g1'><query xmlns='jabber:iq:"
	    "register'/></iq>", "server (register form)");
	pass_one(srv, rabbit, "<iq type='result' id='g1'/>", "rabbit (form)");
	assert_int_equal(se->registered, 0);
	pass_one(rabbit, srv, REG_SET("r2"), "server (register set again)");
	pass_one(srv, rabbit, "<iq type='result' id='x9'/>", "rabbit (other)");
	assert_int_equal(se->registered, 0);
	pass_one(srv, rabbit, "<iq type='result' id='r2'/>", "rabbit (result)");
	assert_int_equal(se->registered, 1);
}

/* What a rabbit gets when the proxy never reached the server. */
static void
expect_no_upstream(struct nt_world *w, struct nt_peer *rabbit,
    unsigned long long id)
{
	char	want[512];

	snprintf(want, sizeof(want), "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/"
	    "streams' id='nabproxy-%llu' from='example.net' version='1.0'>"
	    NT_ERR("remote-connection-failed"),
	    id);
	nt_expect(rabbit, want, "rabbit (header and remote-connection-failed)");
}

static void
test_connect_refused(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit;

	/* Nothing listens on the server's port once its listener is gone. */
	rabbit = nt_rabbit_unserved(w);
	nt_send(rabbit, NT_RHDR);
	expect_no_upstream(w, rabbit, 1);
	expect_closed(w, rabbit, NULL);
}

/* A listener whose accept queue is full: SYNs are dropped, connect hangs. */
static int
full_listener(int fds[3], unsigned short *port)
{
	struct sockaddr_in	sin;
	socklen_t		sl = sizeof(sin);
	int			i;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fds[0] = socket(AF_INET, SOCK_STREAM, 0);
	NT_CHECK(fds[0] != -1 && bind(fds[0], (struct sockaddr *)&sin,
	    sizeof(sin)) == 0 && listen(fds[0], 0) == 0 &&
	    getsockname(fds[0], (struct sockaddr *)&sin, &sl) == 0,
	    "backlog listener");
	*port = ntohs(sin.sin_port);
	for (i = 1; i < 3; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		NT_CHECK(fds[i] != -1, "socket");
		(void)connect(fds[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	return 0;
}

static void
test_connect_timeout(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit;
	struct timespec	 t0, t1;
	int		 fds[3], i;
	long		 ms;

	full_listener(fds, &w->px.opt.upstream_port);
	w->px.opt.connect_timeout = 1;
	nt_proxy_start(w);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rabbit = nt_rabbit(w);
	nt_send(rabbit, NT_RHDR);
	expect_no_upstream(w, rabbit, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	NT_CHECK(ms >= 900, "connect timeout fired after %ld ms, not ~1 s", ms);
	/* The upstream leg is still connecting: the linger timer ends it. */
	nt_wait_eof(rabbit, "rabbit EOF");
	bufferevent_free(rabbit->bev);
	rabbit->bev = NULL;
	nt_wait_sessions(w, 0, 8 * NT_SEC);
	for (i = 0; i < 3; i++)
		close(fds[i]);
}

/*
 * header-timeout: a rabbit trickling its header one byte at a time is
 * closed header-timeout after accept however many bytes it sends, with
 * connection-timeout, and no upstream connection is ever made.
 */
static void
test_header_timeout(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit;
	struct nt_cond	 c = { nt_c_len_or_gone, w, NULL, 1, NULL };
	struct timespec	 t0, t1;
	struct timeval	 tick = { 0, 100000 };
	char		 one[2] = "";
	size_t		 i;
	long		 ms;

	w->px.opt.header_timeout = 1;
	nt_proxy_start(w);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rabbit = nt_rabbit(w);
	c.p = rabbit;
	/* A byte every 100 ms: each read by the proxy, none resets the clock. */
	for (i = 0; i + 1 < strlen(NT_RHDR) && evbuffer_get_length(rabbit->in)
	    == 0 && !rabbit->gone && !rabbit->eof; i++) {
		one[0] = NT_RHDR[i];
		nt_send(rabbit, one);
		w->expired = 0;
		evtimer_add(w->deadline, &tick);
		while (!w->expired && evbuffer_get_length(rabbit->in) == 0)
			event_base_loop(w->base, EVLOOP_ONCE);
		evtimer_del(w->deadline);
	}
	nt_run(&c, 5 * NT_SEC, "the header-timeout answer");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	NT_CHECK(ms >= 900 && ms < 3000, "header-timeout fired after %ld ms",
	    ms);
	NT_CHECK(i >= 5 && i + 1 < strlen(NT_RHDR), "%zu header bytes sent",
	    i);
	nt_expect(rabbit, "<stream:stream xmlns='jabber:client' xmlns:stream="
	    "'http://etherx.jabber.org/streams' id='nabproxy-1' version='1.0'>"
	    NT_ERR("connection-timeout"), "rabbit (header timeout)");
	nt_wait_eof(rabbit, "rabbit EOF");
	NT_CHECK(w->nsrvc == 0, "an upstream connection for a header that "
	    "never ended");
}

static int
c_dial_waiting(const struct nt_cond *c)
{
	struct session	*se;

	TAILQ_FOREACH(se, &c->w->px.sessions, entry)
		if (se->dial_waiting)
			return 1;
	return 0;
}

/*
 * max-dials: with one upstream stream being opened, a second rabbit's
 * header and stanza are held (no server connection) until the server's
 * header answers the first; then it dials and they arrive, in order.
 */
static void
test_max_dials(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*r1, *r2, *s1, *s2;
	struct nt_cond	 c = { c_dial_waiting, w, NULL, 0, NULL };

	w->px.opt.max_dials = 1;
	nt_proxy_start(w);
	r1 = nt_rabbit(w);
	nt_send(r1, NT_RHDR);
	s1 = nt_server(w, 0);
	nt_expect(s1, NT_RHDR, "server 1 (header)");
	r2 = nt_rabbit(w);
	nt_send(r2, NT_RHDR "<presence/>");
	nt_run(&c, 5 * NT_SEC, "the second rabbit waiting for max-dials");
	NT_CHECK(w->nsrvc == 1 && w->px.ndialing == 1, "%zu server "
	    "connections, %u dialing, with max-dials = 1", w->nsrvc,
	    w->px.ndialing);
	nt_send(s1, NT_SHDR);
	nt_expect(r1, NT_SHDR, "rabbit 1 (server header)");
	s2 = nt_server(w, 1);
	nt_expect(s2, NT_RHDR "<presence/>", "server 2 (held, then sent)");
	NT_CHECK(w->px.ndialing == 1 && w->px.dial_head == NULL,
	    "%u dialing after the first header", w->px.ndialing);
	nt_send(s2, NT_SHDR);
	nt_expect(r2, NT_SHDR, "rabbit 2 (server header)");
	NT_CHECK(w->px.ndialing == 0, "%u dialing after both headers",
	    w->px.ndialing);
}

static void
test_idle_timeout(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	w->px.opt.idle_timeout = 1;
	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	nt_expect(rabbit, NT_ERR("connection-timeout"), "rabbit (idle)");
	nt_expect(srv, NT_END, "server (idle)");
	expect_closed(w, rabbit, srv);
}

/* One side half-closes; the other still talks, then half-closes too. */
static void
half_close(struct nt_world *w, int rabbit_first)
{
	struct nt_peer	*rabbit, *srv, *a, *b;

	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	a = rabbit_first ? rabbit : srv;
	b = rabbit_first ? srv : rabbit;
	nt_send(a, "<last/>");
	nt_expect(b, "<last/>", "peer before the FIN");
	NT_CHECK(shutdown(bufferevent_getfd(a->bev), SHUT_WR) == 0, "shutdown");
	nt_wait_eof(b, "FIN passed on");
	nt_send(b, "<after-fin/>");
	nt_expect(a, "<after-fin/>", "half-closed side still receives");
	NT_CHECK(w->px.nsessions == 1, "session alive while half-open");
	NT_CHECK(shutdown(bufferevent_getfd(b->bev), SHUT_WR) == 0, "shutdown");
	nt_wait_eof(a, "second FIN passed on");
	nt_wait_sessions(w, 0, 5 * NT_SEC);
	NT_CHECK(rabbit->error == 0 && srv->error == 0, "no reset on a clean "
	    "half-close (rabbit %d, server %d)", rabbit->error, srv->error);
}

static void
test_half_close_rabbit_first(void **state)
{
	half_close(*state, 1);
}

static void
test_half_close_server_first(void **state)
{
	half_close(*state, 0);
}

/*
 * A clean close on both sides: `a` ends its stream with a FIN, `b`
 * answers with its own end and FIN in one go. Only b's end draining to
 * `a` can free the session; when that went unnoticed the session stayed
 * until the idle timeout (60 s here), so 2 s is a short leash.
 */
static void
clean_close(struct nt_world *w, int rabbit_first)
{
	struct nt_peer	*rabbit, *srv, *a, *b;

	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	a = rabbit_first ? rabbit : srv;
	b = rabbit_first ? srv : rabbit;
	nt_send_with_fin(a, "<bye/>" NT_END);
	nt_expect(b, "<bye/>" NT_END, "peer (the first side's end)");
	nt_wait_eof(b, "the first FIN passed on");
	nt_send_with_fin(b, NT_END);
	nt_wait_eof(a, "the answering FIN passed on");
	nt_expect(a, NT_END, "first side (exactly the answering end)");
	nt_expect(b, "<bye/>" NT_END, "peer (nothing after the end)");
	nt_wait_sessions(w, 0, 2 * NT_SEC);
	NT_CHECK(rabbit->error == 0 && srv->error == 0, "no reset on a clean "
	    "close (rabbit %d, server %d)", rabbit->error, srv->error);
}

static void
test_clean_close_rabbit_first(void **state)
{
	clean_close(*state, 1);
}

static void
test_clean_close_server_first(void **state)
{
	clean_close(*state, 0);
}

/* Send a TCP reset: linger 0, then close. */
static void
send_reset(struct nt_peer *p)
{
	struct linger	lin = { 1, 0 };

	setsockopt(bufferevent_getfd(p->bev), SOL_SOCKET, SO_LINGER, &lin,
	    sizeof(lin));
	bufferevent_free(p->bev);
	p->bev = NULL;
}

static void
reset(struct nt_world *w, int rabbit_resets)
{
	struct nt_peer	*rabbit, *srv, *a, *b;

	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	a = rabbit_resets ? rabbit : srv;
	b = rabbit_resets ? srv : rabbit;
	send_reset(a);
	nt_wait_gone(b, "the other side to go");
	NT_CHECK(b->error == ECONNRESET, "reset became %s, want ECONNRESET",
	    b->error ? strerror(b->error) : "a clean EOF");
	nt_wait_sessions(w, 0, 5 * NT_SEC);
}

static void
test_reset_from_rabbit(void **state)
{
	reset(*state, 1);
}

static void
test_reset_from_server(void **state)
{
	reset(*state, 0);
}

/* ---- Backpressure: 20 MB from the server to a rabbit that does not read */

#define BP_TOTAL	(20u * 1024 * 1024)
#define BP_STANZA	8192

struct bp {
	struct nt_world	*w;
	struct nt_peer	*srv, *rabbit;
	char		*expect;	/* every byte the rabbit must get */
	size_t		 queued;	/* bytes handed to the server's bev */
	size_t		 max_out, max_in, max_total;
};

static void
bp_fill(struct bufferevent *bev, void *arg)
{
	struct bp	*b = ((struct nt_peer *)arg)->user;
	size_t		 n;

	while (b->queued < BP_TOTAL &&
	    evbuffer_get_length(bufferevent_get_output(bev)) < 65536) {
		n = BP_TOTAL - b->queued < BP_STANZA ? BP_TOTAL - b->queued :
		    BP_STANZA;
		bufferevent_write(bev, b->expect + b->queued, n);
		b->queued += n;
	}
}

static void
bp_sample(struct bp *b)
{
	struct session	*se = TAILQ_FIRST(&b->w->px.sessions);
	size_t		 out, in, total;

	if (se == NULL)
		return;
	out = leg_pending(&se->r);
	in = se->s.bev ? evbuffer_get_length(leg_input(&se->s)) : 0;
	total = out + in + leg_pending(&se->s) + evbuffer_get_length(se->held) +
	    (se->r.bev ? evbuffer_get_length(leg_input(&se->r)) : 0);
	b->max_out = out > b->max_out ? out : b->max_out;
	b->max_in = in > b->max_in ? in : b->max_in;
	b->max_total = total > b->max_total ? total : b->max_total;
}

static int
c_bp_stalled(const struct nt_cond *c)
{
	struct bp	*b = c->arg;
	struct session	*se = TAILQ_FIRST(&b->w->px.sessions);

	bp_sample(b);
	return se != NULL && (se->s.pause & LEG_PAUSE_PEER) &&
	    evbuffer_get_length(bufferevent_get_output(b->srv->bev)) > 0;
}

static int
c_bp_done(const struct nt_cond *c)
{
	struct bp	*b = c->arg;

	bp_sample(b);
	return evbuffer_get_length(b->rabbit->in) >= BP_TOTAL;
}

static void
test_backpressure(void **state)
{
	struct nt_world	*w = *state;
	struct bp	 b;
	struct nt_cond	 c = { c_bp_stalled, w, NULL, 0, &b };
	size_t		 off, k = 0, stalled;
	int		 n;

	memset(&b, 0, sizeof(b));
	b.w = w;
	NT_CHECK((b.expect = malloc(BP_TOTAL)) != NULL, "malloc");
	for (off = 0; off + BP_STANZA <= BP_TOTAL; off += BP_STANZA, k++) {
		memset(b.expect + off, 'a' + (int)(k % 26), BP_STANZA);
		n = snprintf(b.expect + off, 40, "<message id='%08zu'><body>",
		    k);
		b.expect[off + (size_t)n] = 'x';
		memcpy(b.expect + off + BP_STANZA - 17, "</body></message>",
		    17);
	}
	nt_proxy_start(w);
	b.rabbit = nt_rabbit_rcvbuf(w, 4096);
	b.srv = nt_open_with(w, b.rabbit);
	bufferevent_disable(b.rabbit->bev, EV_READ);
	bufferevent_setwatermark(b.srv->bev, EV_WRITE, 32768, 0);
	bufferevent_setcb(b.srv->bev, nt_peer_readcb, bp_fill, nt_peer_eventcb,
	    b.srv);
	b.srv->user = &b;
	bp_fill(b.srv->bev, b.srv);
	nt_run(&c, 30 * NT_SEC, "the proxy to push back on the server");
	stalled = b.queued;
	NT_CHECK(b.queued < BP_TOTAL, "the server could send all %u bytes to "
	    "a rabbit that reads nothing", BP_TOTAL);
	bufferevent_enable(b.rabbit->bev, EV_READ);
	c.fn = c_bp_done;
	nt_run(&c, 90 * NT_SEC, "the rabbit to get 20 MB");
	NT_CHECK(evbuffer_get_length(b.rabbit->in) == BP_TOTAL &&
	    memcmp(evbuffer_pullup(b.rabbit->in, -1), b.expect, BP_TOTAL) == 0,
	    "20 MB arrived altered (%zu bytes)",
	    evbuffer_get_length(b.rabbit->in));
	print_message("backpressure: paused after %zu bytes queued; max rabbit "
	    "output %zu, server input %zu, all session buffers %zu\n",
	    stalled, b.max_out, b.max_in, b.max_total);
	NT_CHECK(b.max_out <= LEG_HIGH_WATER + 2 * BP_STANZA, "rabbit-side "
	    "output reached %zu bytes", b.max_out);
	NT_CHECK(b.max_in <= 64 * 1024, "server-side input reached %zu bytes",
	    b.max_in);
	NT_CHECK(b.max_total <= 384 * 1024, "the proxy buffered %zu bytes",
	    b.max_total);
	free(b.expect);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, nt_setup, nt_teardown)
		T(test_passthrough_exact),
		T(test_server_whitespace_passes),
		T(test_bad_xml),
		T(test_text_between_stanzas),
		T(test_restricted_xml),
		T(test_restricted_pi),
		T(test_policy_size),
		T(test_policy_depth),
		T(test_server_bad_xml),
		T(test_connect_refused),
		T(test_connect_timeout),
		T(test_header_timeout),
		T(test_max_dials),
		T(test_idle_timeout),
		T(test_half_close_rabbit_first),
		T(test_half_close_server_first),
		T(test_clean_close_rabbit_first),
		T(test_clean_close_server_first),
		T(test_reset_from_rabbit),
		T(test_reset_from_server),
		T(test_backpressure),
		T(test_registered_only_on_result),
#undef T
	};

	nt_main_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
