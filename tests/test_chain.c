/*
 * test_chain: filter loading, profiles and per-session dispatch of
 * proxy/chain.c. Filters are the test modules of tests/filters/, loaded
 * from their .so files exactly as an operator's [filter] path= loads
 * them, and driven through real sessions on loopback sockets.
 */
#include "nabfixture.h"

#define LOGFILE	NAB_BINARY_DIR "/tests/test_chain.log"

struct t_verdict_stats {
	unsigned	inits, finis, opens, closes, calls;
};

static struct t_verdict_stats	*vstats;
static char			*trace;

static int
setup(void **state)
{
	memset(vstats, 0, sizeof(*vstats));
	trace[0] = '\0';
	return nt_setup_log(state, LOGFILE);
}

/* A filter conf for test module `so` under `name`, with key=value pairs. */
static struct chain_filter_conf
fconf(const char *name, const char *so, const struct nab_kv *kv, size_t nkv)
{
	struct chain_filter_conf	fc;

	memset(&fc, 0, sizeof(fc));
	fc.name = name;
	fc.path = nt_filter_path(so);
	fc.kv = kv;
	fc.nkv = nkv;
	fc.file = "test.conf";
	fc.line = 1;
	return fc;
}

static void
test_order(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;
	struct nab_kv	 ka = { "tag", "a", "test.conf", 2 };
	struct nab_kv	 kb = { "tag", "b", "test.conf", 3 };
	struct chain_filter_conf fc[2];

	fc[0] = fconf("mark-a", "t_mark", &ka, 1);
	fc[1] = fconf("mark-b", "t_mark", &kb, 1);
	nt_chain(w, fc, 2);
	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, "<message id='1'/>");
	nt_expect(srv, "<message id='1' trail='ab'></message>",
	    "server (rabbit's stanza tagged a then b)");
	nt_send(srv, "<message id='2'/>\n");
	nt_expect(rabbit, "<message id='2' trail='ab'></message>\n",
	    "rabbit (server's stanza tagged a then b)");
	nt_send(rabbit, NT_END);
	nt_expect(srv, "<message id='1' trail='ab'></message>" NT_END,
	    "server (stream end)");
	NT_CHECK(strcmp(trace, "a:hdr:R b:hdr:R a:hdr:S b:hdr:S a:st:R b:st:R "
	    "a:st:S b:st:S a:ws:S b:ws:S a:end:R b:end:R ") == 0,
	    "hook order: %s", trace);
}

static void
test_order_reversed(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;
	struct nab_kv	 ka = { "tag", "a", "test.conf", 2 };
	struct nab_kv	 kb = { "tag", "b", "test.conf", 3 };
	struct chain_filter_conf fc[2];

	fc[0] = fconf("mark-b", "t_mark", &kb, 1);
	fc[1] = fconf("mark-a", "t_mark", &ka, 1);
	nt_chain(w, fc, 2);
	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, "<x/>");
	nt_expect(srv, "<x trail='ba'></x>", "server (b then a)");
	nt_send(srv, "<y/>");
	nt_expect(rabbit, "<y trail='ba'></y>", "rabbit (b then a)");
}

/* One t-verdict filter with the given settings, matching `match`. */
static void
verdict(struct nt_world *w, const char *v, const char *match,
    const char *cond)
{
	static struct nab_kv		kv[3];
	struct chain_filter_conf	fc;

	kv[0] = (struct nab_kv){ "verdict", v, "test.conf", 2 };
	kv[1] = (struct nab_kv){ "match", match, "test.conf", 3 };
	kv[2] = (struct nab_kv){ "condition", cond ? cond : "policy-violation",
	    "test.conf", 4 };
	fc = fconf("judge", "t_verdict", kv, 3);
	nt_chain(w, &fc, 1);
	nt_proxy_start(w);
}

static void
test_verdict_pass(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	verdict(w, "pass", "message", NULL);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, "<message  id=\"p\" />");
	nt_expect(srv, "<message  id=\"p\" />", "server (original bytes)");
	NT_CHECK(vstats->calls == 1, "filter saw %u stanzas", vstats->calls);
}

static void
test_verdict_drop(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	verdict(w, "drop", "message", NULL);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, "<message id='d'/><iq id='k'/>");
	nt_expect(srv, "<iq id='k'/>", "server (message dropped)");
	nt_send(srv, "<message id='s'/><presence/>");
	nt_expect(rabbit, "<presence/>", "rabbit (message dropped)");
}

static void
test_verdict_replace(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	verdict(w, "replace", "message", NULL);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, "<message id='x1' type='chat'><body>b</body>"
	    "</message>");
	nt_expect(srv, "<replaced id='x1'></replaced>", "server (replaced)");
	nt_send(srv, "<message id='x2'/>");
	nt_expect(rabbit, "<replaced id='x2'></replaced>", "rabbit (replaced)");
}

static void
test_verdict_handled(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	verdict(w, "handled", "iq", NULL);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, "<iq type='get' id='h1'><ping xmlns='urn:xmpp:ping'/>"
	    "</iq><message id='after'/>");
	nt_expect(rabbit, "<iq type='result' id='h1'></iq>",
	    "rabbit (answered locally)");
	nt_expect(srv, "<message id='after'/>", "server (iq not forwarded)");
}

static void
test_verdict_close(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	verdict(w, "close", "message", "not-authorized");
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, "<presence/><message id='c'/><presence id='never'/>");
	nt_expect(rabbit, NT_ERR("not-authorized"), "rabbit (filter closes)");
	nt_expect(srv, "<presence/>" NT_END, "server (stream end)");
	nt_wait_eof(rabbit, "rabbit EOF");
}

/* A bad verdict or a slow hook closes that session, never the other. */
static void
only_one_closes(struct nt_world *w, const char *v, const char *logline)
{
	struct nt_peer	*r1, *s1, *r2, *s2;

	verdict(w, v, "boom", NULL);
	nt_open(w, &r1, &s1);
	nt_open(w, &r2, &s2);
	nt_send(r1, "<boom/>");
	nt_expect(r1, NT_ERR("internal-server-error"), "rabbit 1");
	nt_expect(s1, NT_END, "server 1");
	nt_wait_eof(r1, "rabbit 1 EOF");
	nt_send(r2, "<message id='alive'/>");
	nt_expect(s2, "<message id='alive'/>", "server 2 (still served)");
	nt_send(s2, "<message id='back'/>");
	nt_expect(r2, "<message id='back'/>", "rabbit 2 (still served)");
	NT_CHECK(!r2->gone && !s2->gone, "the second session was closed too");
	NT_CHECK(nt_log_has(LOGFILE, logline), "log lacks \"%s\"", logline);
}

static void
test_garbage_verdict(void **state)
{
	only_one_closes(*state, "garbage",
	    "filter judge returned invalid verdict 42: closing this session");
}

static void
test_time_budget(void **state)
{
	only_one_closes(*state, "slow", "filter judge took ");
}

static void
test_null_hooks(void **state)
{
	struct nt_world		*w = *state;
	struct nt_peer		*rabbit, *srv;
	struct chain_filter_conf fc = fconf("nothing", "t_null", NULL, 0);

	nt_chain(w, &fc, 1);
	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, " <a x=\"1\"/>\n<b>t</b>" NT_END);
	nt_expect(srv, " <a x=\"1\"/>\n<b>t</b>" NT_END, "server (verbatim)");
	nt_send(srv, "<c/> \n<d/>" NT_END);
	nt_expect(rabbit, "<c/> \n<d/>" NT_END, "rabbit (verbatim)");
}

static void
test_open_fails(void **state)
{
	struct nt_world		*w = *state;
	struct nt_peer		*rabbit;
	struct nab_kv		 kv = { "open", "fail", "test.conf", 9 };
	struct chain_filter_conf fc[2];

	fc[0] = fconf("opener", "t_verdict", NULL, 0);
	fc[1] = fconf("refuser", "t_verdict", &kv, 1);
	nt_chain(w, fc, 2);
	nt_proxy_start(w);
	rabbit = nt_rabbit(w);
	nt_expect(rabbit, "<stream:stream xmlns='jabber:client' xmlns:stream="
	    "'http://etherx.jabber.org/streams' id='nabproxy-1' version='1.0'>"
	    NT_ERR("internal-server-error"),
	    "rabbit (no chain, no session)");
	nt_wait_eof(rabbit, "rabbit EOF");
	NT_CHECK(vstats->opens == 1 && vstats->closes == 1, "opened %u, closed "
	    "%u: the filter opened before the refusal must be closed",
	    vstats->opens, vstats->closes);
	NT_CHECK(w->nsrvc == 0, "an upstream connection was made");
	bufferevent_free(rabbit->bev);
	rabbit->bev = NULL;
	nt_wait_sessions(w, 0, 5 * NT_SEC);
	NT_CHECK(nt_log_has(LOGFILE, "filter refuser refused to open"),
	    "log does not name the refusing filter");
}

static void
expect_err(const char *err, const char *what)
{
	NT_CHECK(strstr(err, what) != NULL, "error lacks \"%s\":\n%s", what,
	    err);
}

static void
test_load_refusals(void **state)
{
	struct nab_kv			 kv = { "init", "fail", "x.conf", 7 };
	struct chain_filter_conf	 fc[7];
	struct chain_profile_conf	 pc;
	struct chainset			*cs;
	const char			*names[] = { "good" };
	char				 err[8192], want[1024];

	fc[0] = fconf("good", "t_verdict", NULL, 0);
	fc[1] = fconf("magic", "t_badmagic", NULL, 0);
	fc[2] = fconf("abi", "t_badabi", NULL, 0);
	fc[3] = fconf("nosym", "t_nosym", NULL, 0);
	fc[4] = fconf("small", "t_small", NULL, 0);
	fc[5] = fconf("initfail", "t_verdict", &kv, 1);
	fc[6] = fconf("missing", "t_does_not_exist", NULL, 0);
	memset(&pc, 0, sizeof(pc));
	pc.name = "p";
	pc.filters = names;
	pc.nfilters = 1;
	cs = chainset_build(fc, 7, &pc, 1, "p", err, sizeof(err));
	NT_CHECK(cs == NULL, "a chainset with broken filters was built");
	snprintf(want, sizeof(want), "test.conf:1: filter magic in %s: not a "
	    "nabproxy filter (bad magic 0x12345678)",
	    nt_filter_path("t_badmagic"));
	expect_err(err, want);
	snprintf(want, sizeof(want), "test.conf:1: filter abi in %s: filter "
	    "ABI %d.%d, this nabproxy speaks ABI %d.x",
	    nt_filter_path("t_badabi"), NAB_ABI_MAJOR + 1, NAB_ABI_MINOR,
	    NAB_ABI_MAJOR);
	expect_err(err, want);
	snprintf(want, sizeof(want), "test.conf:1: filter nosym in %s: not a "
	    "nabproxy filter: no symbol 'nab_filter'",
	    nt_filter_path("t_nosym"));
	expect_err(err, want);
	snprintf(want, sizeof(want), "test.conf:1: filter small in %s: filter "
	    "descriptor struct_size %zu is smaller", nt_filter_path("t_small"),
	    offsetof(struct nab_filter, open));
	expect_err(err, want);
	snprintf(want, sizeof(want), "x.conf:7: filter initfail in %s: init "
	    "refused as asked by 'init'", nt_filter_path("t_verdict"));
	expect_err(err, want);
	snprintf(want, sizeof(want), "test.conf:1: filter missing in %s: "
	    "cannot load: ", nt_filter_path("t_does_not_exist"));
	expect_err(err, want);
	NT_CHECK(vstats->inits == 1 && vstats->finis == 1, "the good filter "
	    "stayed initialised (inits %u, finis %u)", vstats->inits,
	    vstats->finis);
}

static void
test_profile_select(void **state)
{
	static const char *const ex[] = { "0013d3010203" };
	static const char *const pre[] = { "0013d4*" };
	static const char *const jid[] = { "*@example.org" };
	static const char *const fw[] = { "bootcode-*" };
	static const char *const both_mac[] = { "0013d5*" };
	static const char *const both_fw[] = { "simulator" };
	struct chain_profile_conf	 pc[6];
	struct chainset			*cs;

	memset(pc, 0, sizeof(pc));
	pc[0].name = "exact";
	pc[0].match_mac = ex;
	pc[0].nmatch_mac = 1;
	pc[1].name = "prefix";
	pc[1].match_mac = pre;
	pc[1].nmatch_mac = 1;
	pc[2].name = "both";
	pc[2].match_mac = both_mac;
	pc[2].nmatch_mac = 1;
	pc[2].match_firmware = both_fw;
	pc[2].nmatch_firmware = 1;
	pc[3].name = "jid";
	pc[3].match_jid = jid;
	pc[3].nmatch_jid = 1;
	pc[4].name = "fw";
	pc[4].match_firmware = fw;
	pc[4].nmatch_firmware = 1;
	pc[5].name = "fallback";
	cs = nt_build(NULL, 0, pc, 6, "fallback");
#define SEL(m, j, f, want)						\
	NT_CHECK(strcmp(chainset_select(cs, m, j, f), want) == 0,	\
	    "select(%s, %s, %s) = %s, want %s", m, j, f,		\
	    chainset_select(cs, m, j, f), want)
	SEL("0013d3010203", NULL, NULL, "exact");
	SEL("0013d3010204", NULL, NULL, "fallback");
	SEL("0013d4abcdef", NULL, NULL, "prefix");
	SEL("0013d4abcdef", "x@example.org", "bootcode-1", "prefix");
	SEL("0013d5000000", NULL, NULL, "fallback");
	SEL("0013d5000000", NULL, "simulator", "both");
	SEL("0013d6000000", NULL, "simulator", "fallback");
	SEL(NULL, "Rabbit@Example.ORG", NULL, "jid");
	SEL(NULL, "rabbit@example.org.evil", NULL, "fallback");
	SEL(NULL, NULL, "bootcode-18673", "fw");
	SEL("", "", "", "fallback");
	SEL(NULL, NULL, NULL, "fallback");
#undef SEL
	chainset_unref(cs);
}

/* The rabbit's own SASL success restarts the stream: profile by firmware. */
static void
test_profile_at_restart(void **state)
{
	static const char *const fw[] = { "bootcode-*" };
	static const char *const marks[] = { "mark-f" };
	struct nt_world			*w = *state;
	struct nt_peer			*rabbit, *srv;
	struct nab_kv			 kv = { "tag", "f", "test.conf", 2 };
	struct chain_filter_conf	 fc = fconf("mark-f", "t_mark", &kv, 1);
	struct chain_profile_conf	 pc[2];

	memset(pc, 0, sizeof(pc));
	pc[0].name = "firmware";
	pc[0].filters = marks;
	pc[0].nfilters = 1;
	pc[0].match_firmware = fw;
	pc[0].nmatch_firmware = 1;
	pc[1].name = "plain";
	w->px.chains = nt_build(&fc, 1, pc, 2, "plain");
	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	NT_CHECK(strcmp(chain_profile(nt_session(w)->chain), "plain") == 0,
	    "starts with the default profile");
	nt_send(rabbit, "<iq type='set' id='r'><query xmlns='violet:iq:"
	    "register'/></iq>");
	nt_expect(srv, "<iq type='set' id='r'><query xmlns='violet:iq:"
	    "register'/></iq>", "server (no filter yet)");
	nt_send(srv, "<success xmlns='" NT_NS_SASL "'/>");
	nt_expect(rabbit, "<success xmlns='" NT_NS_SASL "'/>", "rabbit");
	NT_CHECK(strcmp(chain_profile(nt_session(w)->chain), "firmware") == 0,
	    "profile after the restart: %s",
	    chain_profile(nt_session(w)->chain));
	nt_clear(srv);
	nt_send(rabbit, NT_RHDR "<message/>");
	nt_expect(srv, NT_RHDR "<message trail='f'></message>",
	    "server (new stream, new chain)");
	NT_CHECK(strcmp(trace, "f:hdr:R f:st:R ") == 0, "trace %s", trace);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, nt_teardown)
		T(test_order),
		T(test_order_reversed),
		T(test_verdict_pass),
		T(test_verdict_drop),
		T(test_verdict_replace),
		T(test_verdict_handled),
		T(test_verdict_close),
		T(test_garbage_verdict),
		T(test_time_budget),
		T(test_null_hooks),
		T(test_open_fails),
		T(test_load_refusals),
		T(test_profile_select),
		T(test_profile_at_restart),
#undef T
	};

	nt_main_init();
	vstats = nt_filter_sym("t_verdict", "t_verdict_stats");
	trace = nt_filter_sym("t_mark", "t_mark_trace");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
