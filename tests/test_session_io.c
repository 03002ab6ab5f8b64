/*
 * test_session_io: what a session writes (proxy/session_io.c): stream
 * errors with and without a header of our own, the stream end written
 * once, serialised replacements of headers, the hold queue (order, its
 * bound and the paused reading), injection past the hold queue, a bound
 * on answers to a rabbit that does not read, the MAC a filter may set,
 * and the traffic log with passwords redacted by protocol state (in
 * linear time).
 */
#include <sys/stat.h>

#include "nabfixture.h"

#define LOGFILE	NAB_BINARY_DIR "/tests/test_session_io.log"
#define HDR_NODECL "<stream:stream to='example.net' xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"

static int
setup(void **state)
{
	return nt_setup_log(state, LOGFILE);
}

/* A rabbit whose first bytes are no stream: our header, no declaration. */
static void
test_error_before_any_header(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit;

	nt_proxy_start(w);
	rabbit = nt_rabbit(w);
	nt_send(rabbit, "<foo>");
	nt_expect(rabbit, "<stream:stream xmlns='jabber:client' xmlns:stream="
	    "'http://etherx.jabber.org/streams' id='nabproxy-1' version='1.0'>"
	    NT_ERR("not-well-formed"), "rabbit (our header, no from)");
	nt_wait_eof(rabbit, "rabbit EOF");
	/* No stream was opened: the upstream was never dialled. */
	NT_CHECK(w->nsrvc == 0, "%zu upstream connections for a rabbit that "
	    "opened no stream", w->nsrvc);
}

/* Without a declaration from the rabbit, none in our header either. */
static void
test_error_header_mirrors_declaration(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit;

	rabbit = nt_rabbit_unserved(w);
	nt_send(rabbit, HDR_NODECL);
	nt_expect(rabbit, "<stream:stream xmlns='jabber:client' xmlns:stream="
	    "'http://etherx.jabber.org/streams' id='nabproxy-1' from='example."
	    "net' version='1.0'>" NT_ERR("remote-connection-failed"),
	    "rabbit (header without declaration, with from)");
}

/*
 * The longest domain a session keeps (255 bytes) in our own header, with
 * the longest stream error: every byte arrives, nothing past our buffer.
 */
static void
test_error_header_long_domain(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit;
	char		 dom[256], hdr[512], want[1024];

	memset(dom, 'd', sizeof(dom) - 1);
	dom[sizeof(dom) - 1] = '\0';
	rabbit = nt_rabbit_unserved(w);
	snprintf(hdr, sizeof(hdr), "<?xml version='1.0'?><stream:stream to='%s' "
	    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/"
	    "streams' version='1.0'>", dom);
	nt_send(rabbit, hdr);
	snprintf(want, sizeof(want), "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/"
	    "streams' id='nabproxy-1' from='%s' version='1.0'>"
	    NT_ERR("remote-connection-failed"), dom);
	nt_expect(rabbit, want, "rabbit (long domain: header and error whole)");
}

/* The domain comes from the rabbit's `to`: escaped in our header. */
static void
test_error_header_escapes_domain(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit;

	rabbit = nt_rabbit_unserved(w);
	nt_send(rabbit, "<stream:stream to=\"x'/&gt;&lt;a&amp;\" xmlns="
	    "'jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
	    "version='1.0'>");
	nt_expect(rabbit, "<stream:stream xmlns='jabber:client' xmlns:stream="
	    "'http://etherx.jabber.org/streams' id='nabproxy-1' from='x&apos;/"
	    "&gt;&lt;a&amp;' version='1.0'>" NT_ERR("remote-connection-failed"),
	    "rabbit (well-formed header)");
}

/* The rabbit ended its stream: the server gets that end only once. */
static void
test_stream_end_once(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, NT_END "<x/>");
	nt_expect(rabbit, NT_ERR("not-well-formed"), "rabbit");
	nt_wait_eof(srv, "server EOF");
	nt_expect(srv, NT_END, "server (one stream end)");
}

static void
test_replaced_header(void **state)
{
	struct nt_world			*w = *state;
	struct nt_peer			*rabbit, *srv;
	struct nab_kv			 kv = { "header", "seen", "t.conf", 1 };
	struct chain_filter_conf	 fc;

	memset(&fc, 0, sizeof(fc));
	fc.name = "edit-headers";
	fc.path = nt_filter_path("t_mark");
	fc.kv = &kv;
	fc.nkv = 1;
	nt_chain(w, &fc, 1);
	nt_proxy_start(w);
	rabbit = nt_rabbit(w);
	nt_send(rabbit, NT_RHDR);
	srv = nt_server(w, 0);
	nt_expect(srv, "<stream:stream to='example.net' xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' "
	    "seen='1'>", "server (edited header: the open tag only)");
	nt_send(srv, NT_SHDR "<a/>");
	nt_expect(rabbit, "<stream:stream xmlns='jabber:client' xmlns:stream="
	    "'http://etherx.jabber.org/streams' id='srv1' from='example.net' "
	    "version='1.0' seen='1'><a trail='m'></a>", "rabbit");
}

static int
c_hold_full(const struct nt_cond *c)
{
	struct session	*se = TAILQ_FIRST(&c->w->px.sessions);

	return se != NULL && (se->r.pause & LEG_PAUSE_HOLD);
}

static void
test_hold_queue_bound(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;
	struct nt_cond	 c = { c_hold_full, w, NULL, 0, NULL };
	struct evbuffer	*all = evbuffer_new();
	struct session	*se;
	size_t		 i, held;

	w->px.opt.hold_queue = 2048;
	nt_chain1(w, "t-host", "t_host");
	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	evbuffer_add_printf(all, "<t op='hold'/>");
	for (i = 0; i < 100; i++)
		evbuffer_add_printf(all, "<message id='%03zu'><body>%0180d"
		    "</body></message>", i, 0);
	bufferevent_write(rabbit->bev, evbuffer_pullup(all, -1),
	    evbuffer_get_length(all));
	nt_run(&c, 5 * NT_SEC, "the hold queue to pause the rabbit");
	se = nt_session(w);
	held = evbuffer_get_length(se->held);
	NT_CHECK(held > 2048 && held <= 2048 + XS_FEED_MAX + 256,
	    "%zu bytes held for a 2048-byte queue", held);
	NT_CHECK(evbuffer_get_length(srv->in) == 0 && leg_pending(&se->s) == 0,
	    "held stanzas reached the server");
	nt_send(srv, "<t op='release'/>");
	nt_expect_n(srv, (const char *)evbuffer_pullup(all, -1),
	    evbuffer_get_length(all), "server (everything, in order)");
	NT_CHECK(rabbit->in != NULL && evbuffer_get_length(rabbit->in) == 0,
	    "the server's release reached the rabbit");
	evbuffer_free(all);
}

/* Injected stanzas skip the hold queue. */
static void
test_inject_skips_hold(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	nt_chain1(w, "t-host", "t_host");
	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, "<t op='hold'/><m1/><t op='build'/><t op='data'/>");
	nt_expect(srv, "<built id='b1'><c>x &amp; y</c><d></d></built>",
	    "server (injected while holding)");
	nt_expect(rabbit, "<r op='data' count='1' state='none'></r>",
	    "rabbit (injected while holding)");
	nt_send(srv, "<t op='release'/>");
	nt_expect(srv, "<built id='b1'><c>x &amp; y</c><d></d></built>"
	    "<t op='hold'/><m1/>", "server (then the held stanzas)");
}

/*
 * A rabbit that sends but never reads, each stanza answered by the chain
 * itself: its reading pauses once the answers fill its output, and every
 * answer arrives once it reads again.
 */
#define ECHO_N	100000

static int
c_echo_stalled(const struct nt_cond *c)
{
	struct session	*se = TAILQ_FIRST(&c->w->px.sessions);
	size_t		*max = c->arg;

	if (se == NULL)
		return 0;
	if (leg_pending(&se->r) > *max)
		*max = leg_pending(&se->r);
	return *max > 4 * LEG_HIGH_WATER || (se->r.pause != 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->p->bev)) > 0);
}

static void
test_answers_backpressure(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit;
	struct evbuffer	*all = evbuffer_new();
	size_t		 i, want = 0, max = 0;
	struct nt_cond	 c = { c_echo_stalled, w, NULL, 0, &max };
	char		 r[128];

	nt_chain1(w, "t-host", "t_host");
	nt_proxy_start(w);
	rabbit = nt_rabbit_rcvbuf(w, 4096);
	(void)nt_open_with(w, rabbit);
	bufferevent_disable(rabbit->bev, EV_READ);
	for (i = 1; i <= ECHO_N; i++) {
		evbuffer_add(all, "<t op='data'/>", 14);
		want += (size_t)snprintf(r, sizeof(r), "<r op='data' count="
		    "'%zu' state='none'></r>", i);
	}
	c.p = rabbit;
	bufferevent_write_buffer(rabbit->bev, all);
	nt_run(&c, 30 * NT_SEC, "the proxy to stop reading the rabbit");
	NT_CHECK(max <= LEG_HIGH_WATER + XS_FEED_MAX * 4, "%zu bytes of "
	    "answers queued for a rabbit that does not read", max);
	bufferevent_enable(rabbit->bev, EV_READ);
	nt_run(&(struct nt_cond){ nt_c_len, w, rabbit, want, NULL },
	    60 * NT_SEC, "every answer");
	NT_CHECK(evbuffer_get_length(rabbit->in) == want, "the rabbit got "
	    "%zu bytes of answers, want %zu", evbuffer_get_length(rabbit->in),
	    want);
	evbuffer_free(all);
}

/*
 * The MAC names the rabbit's file under log-dir: a filter cannot set one
 * that is not 12 hex digits (filter.h), so no path leaves the directory.
 */
static void
test_identity_mac_checked(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;
	const char	*dir = NAB_BINARY_DIR "/tests/rlog.d";
	const char	*out = NAB_BINARY_DIR "/tests/rl-escaped.log";

	(void)mkdir(dir, 0700);
	unlink(out);
	w->px.opt.log_format = LOGFMT_RAW;
	snprintf(w->px.opt.log_dir, sizeof(w->px.opt.log_dir), "%s", dir);
	nt_chain1(w, "t-host", "t_host");
	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, "<t op='ident' mac='../rl-escaped'/>");
	nt_expect(rabbit, "<r op='ident' mac='' domain='example.net' jid='' "
	    "fw='' profile='p' sid='1' peer-ok='1'></r>",
	    "rabbit (no MAC from a path)");
	nt_clear(rabbit);
	nt_send(rabbit, "<t op='ident' mac='0013D3ABCDEF'/>");
	nt_expect(rabbit, "<r op='ident' mac='0013d3abcdef' domain='example."
	    "net' jid='0013d3abcdef@example.net' fw='' profile='p' sid='1' "
	    "peer-ok='1'></r>", "rabbit (a MAC, in lower case)");
	NT_CHECK(access(out, F_OK) == -1, "a log file was written outside "
	    "log-dir: %s", out);
}

/* The raw traffic log, with or without redaction. */
static void
traffic_log(struct nt_world *w, int redact)
{
	struct nt_peer	*rabbit, *srv;
	const char	*reg = "<iq type='set' id='r1'><query xmlns='jabber:iq:"
			    "register'><username>0013d3010203</username>"
			    "<password>Zanzib4r</password></query></iq>";
	const char	*auth = "<auth xmlns='" NT_NS_SASL "' mechanism="
			    "'PLAIN'>AHVzZXIAc2VjcmV0UGFzcw==</auth>";

	w->px.opt.log_format = LOGFMT_BOTH;
	w->px.opt.redact = redact;
	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, reg);
	nt_expect(srv, reg, "server (the password, untouched)");
	nt_send(rabbit, auth);
	nt_wait_len(srv, strlen(reg) + strlen(auth), "server (auth)");
	NT_CHECK(nt_log_has(LOGFILE, "<username>0013d3010203</username>"),
	    "the traffic is not logged");
	NT_CHECK(nt_log_has(LOGFILE, "Zanzib4r") == !redact,
	    "the register password is %s", redact ? "logged" : "missing");
	NT_CHECK(nt_log_has(LOGFILE, "AHVzZXIAc2VjcmV0UGFzcw==") == !redact,
	    "the SASL payload is %s", redact ? "logged" : "missing");
	if (redact)
		NT_CHECK(nt_log_has(LOGFILE, "<password>***</password>"),
		    "no redaction mark");
}

static void
test_log_redacted(void **state)
{
	traffic_log(*state, 1);
}

static void
test_log_unredacted(void **state)
{
	traffic_log(*state, 0);
}

/*
 * An empty or self-closing element with a secret's name does not end the
 * redaction of the unit: the password after it is still hidden.
 */
static void
test_log_redacts_after_empty(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;
	const char	*s1 = "<iq type='set' id='a'><query xmlns='jabber:iq:"
			    "register'><auth a='1'/><username>u</username>"
			    "<password>Sekr3tOne</password></query></iq>";
	const char	*s2 = "<iq type='set' id='b'><query xmlns='jabber:iq:"
			    "register'><password></password><password>"
			    "Sekr3tTwo</password></query></iq>";

	w->px.opt.log_format = LOGFMT_BOTH;
	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, s1);
	nt_send(rabbit, s2);
	nt_wait_len(srv, strlen(s1) + strlen(s2), "server (both stanzas)");
	NT_CHECK(nt_log_has(LOGFILE, "<username>u</username>"),
	    "the traffic is not logged");
	NT_CHECK(!nt_log_has(LOGFILE, "Sekr3tOne"), "the password after a "
	    "self-closing <auth/> is logged");
	NT_CHECK(!nt_log_has(LOGFILE, "Sekr3tTwo"), "the password after an "
	    "empty <password></password> is logged");
}

/*
 * Redaction is linear in the unit: a 128K stanza of thousands of small
 * secret elements costs the loop milliseconds, not seconds.
 */
static void
test_log_redaction_linear(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;
	struct evbuffer	*big = evbuffer_new();
	struct timespec	 t0, t1;
	size_t		 len;
	long		 ms;

	w->px.opt.log_format = LOGFMT_BOTH;
	/* The tree of 9,000 tiny elements needs ~3 MB (2 x max-stanza cap). */
	w->px.opt.max_stanza = w->px.opt.hold_queue = 4096 * 1024;
	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	evbuffer_add_printf(big, "<message>");
	while (evbuffer_get_length(big) < 128 * 1024)
		evbuffer_add_printf(big, "<auth>a</auth>");
	evbuffer_add_printf(big, "</message>");
	len = evbuffer_get_length(big);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bufferevent_write_buffer(rabbit->bev, big);
	nt_wait_len(srv, len, "server (the whole stanza)");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	NT_CHECK(ms < 3000, "one %zu-byte stanza took %ld ms to log", len, ms);
	evbuffer_free(big);
}

/* The session's rabbit-side parser has taken n bytes beyond its units. */
static int
c_rabbit_buffered(const struct nt_cond *c)
{
	struct session	*se = TAILQ_FIRST(&c->w->px.sessions);

	return se != NULL && xs_buffered(se->xs[NAB_FROM_RABBIT]) == c->n;
}

/*
 * Byte for byte through an idle proxy: every unit (the rabbit's header
 * with its declaration, whitespace keep-alives, stanzas whose tags are
 * split across reads, entity-laden text, the stream end) reaches the
 * other side exactly as sent, while both parsers are put to sleep at
 * every boundary (the idle sweep, forced) and woken by the next byte.
 */
static void
test_exact_bytes_dozing(void **state)
{
	static const char *const r_units[] = {
	    " ", "\n\t",
	    "<iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq>",
	    "<message to='a@b' xml:lang='en'><body>caf\xc3\xa9 &amp; &lt;"
	    "&#x41;\r\n</body></message>",
	    "<presence/>", "  ",
	};
	static const char *const s_units[] = {
	    "<iq type='result' id='1'/>", "\n",
	    "<message from='x' xmlns:v='violet:packet'><v:packet format='1.0'"
	    " ttl='604800'>AQAAAP8=</v:packet></message>",
	};
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;
	struct nt_cond	 half = { c_rabbit_buffered, w, NULL, 0, NULL };
	struct evbuffer	*rsent = evbuffer_new(), *ssent = evbuffer_new();
	struct session	*se;
	char		 part[256];
	size_t		 i, n;

	nt_proxy_start(w);
	rabbit = nt_rabbit(w);
	srv = nt_open_with(w, rabbit);
	se = nt_session(w);
	for (i = 0; i < sizeof(r_units) / sizeof(r_units[0]); i++) {
		/* Both streams stand at a boundary: both go to sleep. */
		NT_CHECK(session_doze_idle(&w->px, 0) == 2 ||
		    (xs_dozing(se->xs[0]) && xs_dozing(se->xs[1])),
		    "streams did not doze before unit %zu", i);
		n = strlen(r_units[i]);
		if (n > 4) {
			/* Half a tag first: the parser wakes mid-unit. */
			memcpy(part, r_units[i], n / 2);
			part[n / 2] = '\0';
			nt_send(rabbit, part);
			half.n = n / 2;
			nt_run(&half, 5 * NT_SEC, "the proxy reading half a unit");
			NT_CHECK(!xs_dozing(se->xs[NAB_FROM_RABBIT]),
			    "a stream with half a unit buffered dozed");
			(void)session_doze_idle(&w->px, 0);
			NT_CHECK(!xs_dozing(se->xs[NAB_FROM_RABBIT]),
			    "a stream with half a unit buffered dozed");
			nt_send(rabbit, r_units[i] + n / 2);
		} else
			nt_send(rabbit, r_units[i]);
		evbuffer_add(rsent, r_units[i], n);
		nt_expect_n(srv, (const char *)evbuffer_pullup(rsent, -1),
		    evbuffer_get_length(rsent), "server (rabbit's units)");
		if (i < sizeof(s_units) / sizeof(s_units[0])) {
			(void)session_doze_idle(&w->px, 0);
			nt_send(srv, s_units[i]);
			evbuffer_add(ssent, s_units[i], strlen(s_units[i]));
			nt_expect_n(rabbit, (const char *)evbuffer_pullup(ssent,
			    -1), evbuffer_get_length(ssent),
			    "rabbit (server's units)");
		}
	}
	(void)session_doze_idle(&w->px, 0);
	nt_send(rabbit, NT_END);
	evbuffer_add(rsent, NT_END, strlen(NT_END));
	nt_expect_n(srv, (const char *)evbuffer_pullup(rsent, -1),
	    evbuffer_get_length(rsent), "server (the stream end)");
	evbuffer_free(rsent);
	evbuffer_free(ssent);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, nt_teardown)
		T(test_error_before_any_header),
		T(test_error_header_mirrors_declaration),
		T(test_error_header_long_domain),
		T(test_error_header_escapes_domain),
		T(test_stream_end_once),
		T(test_replaced_header),
		T(test_hold_queue_bound),
		T(test_inject_skips_hold),
		T(test_answers_backpressure),
		T(test_identity_mac_checked),
		T(test_log_redacted),
		T(test_log_unredacted),
		T(test_log_redacts_after_empty),
		T(test_log_redaction_linear),
		T(test_exact_bytes_dozing),
#undef T
	};

	nt_main_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
