/*
 * test_session_io: what a session writes (proxy/session_io.c): stream
 * errors with and without a header of our own, the stream end written
 * once, serialised replacements of headers, the hold queue (order, its
 * bound and the paused reading), injection past the hold queue, and the
 * traffic log with passwords redacted by protocol state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nabtest.h"

#define LOGFILE	NAB_BINARY_DIR "/tests/test_session_io.log"
#define HDR_NODECL "<stream:stream to='example.net' xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"

static int
setup(void **state)
{
	struct nt_world	*w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -1;
	nt_world_init(w);
	nt_log_to(LOGFILE);
	*state = w;
	return 0;
}

static int
teardown(void **state)
{
	nt_world_free(*state);
	free(*state);
	return 0;
}

static void
host_chain(struct nt_world *w)
{
	struct chain_filter_conf	fc;

	memset(&fc, 0, sizeof(fc));
	fc.name = "t-host";
	fc.path = nt_filter_path("t_host");
	nt_chain(w, &fc, 1);
}

/* A rabbit whose first bytes are no stream: our header, no declaration. */
static void
test_error_before_any_header(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	nt_proxy_start(w);
	rabbit = nt_rabbit(w);
	srv = nt_server(w, 0);
	nt_send(rabbit, "<foo>");
	nt_expect(rabbit, "<stream:stream xmlns='jabber:client' xmlns:stream="
	    "'http://etherx.jabber.org/streams' id='nabproxy-1' version='1.0'>"
	    NT_ERR("not-well-formed"), "rabbit (our header, no from)");
	nt_wait_eof(srv, "server EOF");
	NT_CHECK(evbuffer_get_length(srv->in) == 0, "the server got %zu bytes "
	    "though no stream was opened", evbuffer_get_length(srv->in));
}

/* Without a declaration from the rabbit, none in our header either. */
static void
test_error_header_mirrors_declaration(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit;

	evconnlistener_free(w->srv);
	w->srv = NULL;
	nt_proxy_start(w);
	rabbit = nt_rabbit(w);
	nt_send(rabbit, HDR_NODECL);
	nt_expect(rabbit, "<stream:stream xmlns='jabber:client' xmlns:stream="
	    "'http://etherx.jabber.org/streams' id='nabproxy-1' from='example."
	    "net' version='1.0'>" NT_ERR("remote-connection-failed"),
	    "rabbit (header without declaration, with from)");
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
	host_chain(w);
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

	host_chain(w);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_error_before_any_header),
		T(test_error_header_mirrors_declaration),
		T(test_stream_end_once),
		T(test_replaced_header),
		T(test_hold_queue_bound),
		T(test_inject_skips_hold),
		T(test_log_redacted),
		T(test_log_unredacted),
#undef T
	};

	nt_main_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
