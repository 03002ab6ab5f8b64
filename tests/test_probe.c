/*
 * test_probe: login probes (proxy/probe.c), i.e. a full SASL login on a
 * separate upstream connection, started by the t-host test filter
 * against the fake SASL server of nabtest.h: success, failure, timeout,
 * a server that hangs up, and cancellation when the session goes first
 * (also when a stream restart replaces the chain that asked).
 */
#include "nabfixture.h"

#define USER		"0013d3010203"
#define PW		"s3cret"
#define MECHS		"<mechanism>PLAIN</mechanism>"
#define PROBE(pw)	"<t op='probe' user='" USER "' pw='" pw "'/>"
#define AUTH_PLAIN	"<auth xmlns='" NT_NS_SASL "' mechanism='PLAIN'>" \
	"ADAwMTNkMzAxMDIwMwBzM2NyZXQ=</auth>"

struct t_host_stats {
	unsigned	opens, closes, timers, logins, probes, restarts;
};

static struct t_host_stats	*hstats;
static struct nt_sasl		 proto;

/* t-host in profile "p"; with fw, a second profile for bootcode rabbits. */
static void
chains(struct nt_world *w, int fw)
{
	static const char *const	 names[] = { "t-host" };
	static const char *const	 boot[] = { "bootcode-*" };
	struct chain_filter_conf	 fc;
	struct chain_profile_conf	 pc[2];

	memset(&fc, 0, sizeof(fc));
	fc.name = "t-host";
	fc.path = nt_filter_path("t_host");
	memset(pc, 0, sizeof(pc));
	pc[0].name = "boot";
	pc[0].filters = names;
	pc[0].nfilters = 1;
	pc[0].match_firmware = boot;
	pc[0].nmatch_firmware = 1;
	pc[1].name = "p";
	pc[1].filters = names;
	pc[1].nfilters = 1;
	w->px.chains = nt_build(&fc, 1, fw ? pc : pc + 1, fw ? 2 : 1, "p");
}

static int
setup(void **state)
{
	memset(hstats, 0, sizeof(*hstats));
	if (nt_setup(state) != 0)
		return -1;
	nt_sasl_serve(*state, &proto, MECHS, USER, PW);
	return 0;
}

/* Start the proxy, open a stream, start a probe with password pw. */
static struct nt_peer *
probe(struct nt_world *w, const char *cmd)
{
	struct nt_peer	*rabbit;

	if (w->px.chains == NULL)
		chains(w, 0);
	nt_proxy_start(w);
	rabbit = nt_rabbit(w);
	nt_send(rabbit, NT_RHDR);
	nt_wait_len(rabbit, strlen(NT_SHDR), "rabbit (server header)");
	nt_expect(rabbit, NT_SHDR "<stream:features><mechanisms xmlns='"
	    NT_NS_SASL "'>" MECHS "</mechanisms></stream:features>", "rabbit");
	nt_clear(rabbit);
	nt_send(rabbit, cmd);
	return rabbit;
}

/* The session's own stream is untouched by a probe. */
static void
still_served(struct nt_world *w, struct nt_peer *rabbit, const char *before)
{
	struct nt_peer	*srv = nt_server(w, 0);
	char		 want[512];

	nt_send(rabbit, "<message id='own'/>");
	nt_expect(srv, NT_RHDR "<message id='own'/>", "server (own stream)");
	nt_send(srv, "<message id='back'/>");
	snprintf(want, sizeof(want), "%s<message id='back'/>", before);
	nt_expect(rabbit, want, "rabbit (own stream)");
}

static void
test_probe_success(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit = probe(w, PROBE(PW)), *pc;
	const char	*res = "<probe ok='1' mechanism='PLAIN' reason='' "
			    "auth='0' restarts='0'></probe>";

	nt_expect(rabbit, res, "rabbit (probe succeeded)");
	pc = nt_server(w, 1);
	nt_wait_eof(pc, "the probe connection to close");
	nt_expect(pc, NT_RHDR AUTH_PLAIN,
	    "probe connection (own header, auth)");
	still_served(w, rabbit, res);
	NT_CHECK(hstats->probes == 1, "%u probe callbacks", hstats->probes);
}

static void
test_probe_failure(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit = probe(w, PROBE("wrong"));
	const char	*res = "<probe ok='0' mechanism='PLAIN' reason='server "
			    "refused authentication: not-authorized' auth='0' "
			    "restarts='0'></probe>";

	nt_expect(rabbit, res, "rabbit (probe failed)");
	nt_wait_eof(nt_server(w, 1), "the probe connection to close");
	still_served(w, rabbit, res);
}

static void
test_probe_timeout(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit;

	proto.mode = NT_SASL_MUTE;
	w->px.opt.connect_timeout = 1;	/* the probe gets three times that */
	rabbit = probe(w, PROBE(PW));
	nt_expect(rabbit, "<probe ok='0' mechanism='PLAIN' reason='login probe "
	    "timed out' auth='0' restarts='0'></probe>", "rabbit (timeout)");
	nt_wait_eof(nt_server(w, 1), "the probe connection to close");
}

static void
test_probe_server_closes(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	chains(w, 0);
	w->on_accept = NULL;
	nt_proxy_start(w);
	rabbit = nt_rabbit(w);
	srv = nt_open_with(w, rabbit);
	/* The session knows its features; the probe's server hangs up. */
	nt_send(srv, "<stream:features><mechanisms xmlns='" NT_NS_SASL "'>"
	    MECHS "</mechanisms></stream:features>");
	nt_wait_len(rabbit, 10, "rabbit (features)");
	nt_clear(rabbit);
	proto.mode = NT_SASL_CLOSE;
	w->on_accept = nt_sasl_accept;
	nt_send(rabbit, PROBE(PW));
	nt_expect(rabbit, "<probe ok='0' mechanism='none' reason='server "
	    "closed the connection' auth='0' restarts='0'></probe>",
	    "rabbit (server hung up)");
	NT_CHECK(!srv->gone, "the session's own server stream was closed");
}

static void
test_probe_cancelled_with_session(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *pc;

	proto.mode = NT_SASL_MUTE;
	rabbit = probe(w, PROBE(PW));
	pc = nt_server(w, 1);
	nt_wait_len(pc, strlen(NT_RHDR AUTH_PLAIN), "the probe's auth");
	nt_send(rabbit, "<bad></xml>");
	nt_expect(rabbit, NT_ERR("not-well-formed"), "rabbit (session ends)");
	bufferevent_free(rabbit->bev);
	rabbit->bev = NULL;
	nt_wait_eof(nt_server(w, 0), "the session's server stream to end");
	bufferevent_free(w->srvc[0]->bev);
	w->srvc[0]->bev = NULL;
	nt_wait_sessions(w, 0, 5 * NT_SEC);
	nt_wait_gone(pc, "the probe connection to close with its session");
	/* A late answer reaches nobody. */
	NT_CHECK(hstats->probes == 0, "a probe callback ran after its session "
	    "closed");
}

/*
 * The rabbit's own SASL success restarts the stream and its firmware
 * selects another profile: the chain that started the probe closes, so
 * the probe's answer must not reach it.
 */
static void
test_probe_across_profile_change(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv, *pc;

	proto.mode = NT_SASL_MUTE;
	chains(w, 1);
	rabbit = probe(w, "<iq type='get' id='q'><query xmlns='violet:iq:"
	    "register'/></iq>" PROBE(PW));
	srv = nt_server(w, 0);
	pc = nt_server(w, 1);
	nt_wait_len(pc, strlen(NT_RHDR AUTH_PLAIN), "the probe's auth");
	nt_send(srv, "<success xmlns='" NT_NS_SASL "'/>");
	nt_expect(rabbit, "<success xmlns='" NT_NS_SASL "'/>", "rabbit");
	NT_CHECK(strcmp(chain_profile(nt_session(w)->chain), "boot") == 0,
	    "profile %s after the restart",
	    chain_profile(nt_session(w)->chain));
	nt_send(pc, "<failure xmlns='" NT_NS_SASL "'><not-authorized/>"
	    "</failure>");
	nt_wait_gone(pc, "the probe connection to close");
	nt_clear(rabbit);
	nt_send(rabbit, NT_RHDR "<t op='data'/>");
	nt_expect(rabbit, "<r op='data' count='1' state='none'></r>",
	    "rabbit (the new chain answers, the probe's report went nowhere)");
	NT_CHECK(hstats->probes == 0, "the old chain's callback ran");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, nt_teardown)
		T(test_probe_success),
		T(test_probe_failure),
		T(test_probe_timeout),
		T(test_probe_server_closes),
		T(test_probe_cancelled_with_session),
		T(test_probe_across_profile_change),
#undef T
	};

	nt_main_init();
	hstats = nt_filter_sym("t_host", "t_host_stats");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
