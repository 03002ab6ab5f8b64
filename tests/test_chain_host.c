/*
 * test_chain_host: every host service of proxy/chain_host.c, called by
 * the test filter tests/filters/t_host.c on the rabbit's command
 * (<t op='...'/>) inside real sessions, with its results asserted as
 * the exact bytes each side receives. close_with() from a freed string
 * and from a timer is driven by tests/filters/t_closer.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "nabtest.h"

#define LOGFILE	NAB_BINARY_DIR "/tests/test_chain_host.log"
#define JID_USER	"0013d3010203"
#define JID	JID_USER "@example.net"

struct t_host_stats {
	unsigned	opens, closes, timers, logins, probes, restarts;
};

struct fixture {
	struct nt_world	 w;
	struct nt_peer	*rabbit, *srv;
	char		 dir[64];
	char		 store[128];
};

static struct t_host_stats	*hstats;
static unsigned			*closer_fired;	/* t-closer's timer runs */

/* A world whose chain is fc[0..n), and an open stream through it. */
static int
setup_chain_n(void **state, const struct chain_filter_conf *fc, size_t n)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	char		 err[256];

	if (f == NULL)
		return -1;
	nt_world_init(&f->w);
	nt_log_to(LOGFILE);
	memset(hstats, 0, sizeof(*hstats));
	*closer_fired = 0;
	snprintf(f->dir, sizeof(f->dir), "/tmp/nabtest.XXXXXX");
	NT_CHECK(mkdtemp(f->dir) != NULL, "mkdtemp");
	snprintf(f->store, sizeof(f->store), "%s/credentials", f->dir);
	f->w.px.creds = creds_open(f->store, err, sizeof(err));
	NT_CHECK(f->w.px.creds != NULL, "creds_open: %s", err);
	nt_chain(&f->w, fc, n);
	nt_proxy_start(&f->w);
	nt_open(&f->w, &f->rabbit, &f->srv);
	*state = f;
	return 0;
}

static int
setup_chain(void **state, const struct chain_filter_conf *fc)
{
	return setup_chain_n(state, fc, 1);
}

static int
setup(void **state)
{
	static const struct nab_kv	kv = { "state", "S1", "test.conf", 3 };
	struct chain_filter_conf	fc;

	memset(&fc, 0, sizeof(fc));
	fc.name = "t-host";
	fc.path = nt_filter_path("t_host");
	fc.kv = &kv;
	fc.nkv = 1;
	return setup_chain(state, &fc);
}

/* t-host, then the built-in firmware-guard. */
static int
setup_guarded(void **state)
{
	struct chain_filter_conf	fc[2];

	memset(fc, 0, sizeof(fc));
	fc[0].name = "t-host";
	fc[0].path = nt_filter_path("t_host");
	fc[1].name = "firmware-guard";
	return setup_chain_n(state, fc, 2);
}

/* The chain of t-closer (tests/filters/t_closer.c) instead. */
static int
setup_closer(void **state)
{
	struct chain_filter_conf	fc;

	memset(&fc, 0, sizeof(fc));
	fc.name = "t-closer";
	fc.path = nt_filter_path("t_closer");
	return setup_chain(state, &fc);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	nt_world_free(&f->w);
	unlink(f->store);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Nothing else reached the server: the next stanza arrives alone. */
static void
server_got_nothing(struct fixture *f)
{
	nt_send(f->rabbit, "<ping/>");
	nt_expect(f->srv, "<ping/>", "server (nothing before the ping)");
	nt_clear(f->srv);
}

static void
test_walk(void **state)
{
	struct fixture	*f = *state;

	nt_send(f->rabbit, "<t op='walk' xmlns='t:ns'><a k='1'>one</a>mid<b/>"
	    "<c k='3'>th&amp;ree</c></t>");
	nt_expect(f->rabbit, "<r op='walk' name='t' ns='t:ns' a='a:1:one' "
	    "b='b:-:' c='c:3:th&amp;ree' end='null' byname='c:3:th&amp;ree' "
	    "nsok='b:-:' nsmiss='null' text='mid' missing='(null)'></r>",
	    "rabbit (name/attr/xmlns/child/next/text)");
	server_got_nothing(f);
}

static void
test_edit(void **state)
{
	struct fixture	*f = *state;

	nt_send(f->rabbit, "<t op='edit' drop='x' keep=\"y\"><k/></t>");
	nt_expect(f->srv, "<t op='edit' keep='z' added='a&lt;b'><k></k></t>",
	    "server (set_attr/del_attr, serialised)");
}

static void
test_build(void **state)
{
	struct fixture	*f = *state;

	nt_send(f->rabbit, "<t op='build'/><after/>");
	nt_expect(f->srv, "<built id='b1'><c>x &amp; y</c><d></d></built>"
	    "<after/>", "server (stanza_new/add_child/add_text, injected)");
}

static void
test_copy(void **state)
{
	struct fixture	*f = *state;

	nt_send(f->rabbit, "<t op=\"copy\"><x/></t>");
	nt_expect(f->rabbit, "<t op='copy' copied='yes'><x></x><extra></extra>"
	    "</t>", "rabbit (the edited copy)");
	nt_expect(f->srv, "<t op=\"copy\"><x/></t>",
	    "server (the original, untouched bytes)");
}

/*
 * What a filter injects toward the rabbit and what firmware-guard
 * re-serialises from the server are one form, byte for byte: never
 * self-closing, single quotes, the same escapes.
 */
static void
test_inject_same_form(void **state)
{
	struct fixture	*f = *state;
	const char	*want = "<t op='copy' copied='yes'><x a='&apos;&quot;"
			    "&amp;&lt;&gt;'></x>it's \"q\" &amp; &lt; &gt;<y "
			    "xmlns='urn:y'></y><extra></extra></t>";

	nt_send(f->rabbit, "<t op=\"copy\"><x a=\"'&quot;&amp;&lt;>\"/>it's "
	    "\"q\" &amp; &lt; &gt;<y xmlns=\"urn:y\"/></t>");
	nt_expect(f->rabbit, want, "rabbit (injected copy)");
	nt_clear(f->rabbit);
	nt_send(f->srv, "<t op=\"copy\" copied=\"yes\"><x a=\"'&quot;&amp;"
	    "&lt;>\"/>it&apos;s &quot;q&quot; &amp; &lt; ><y xmlns='urn:y'/>"
	    "<extra/></t>");
	nt_expect(f->rabbit, want, "rabbit (the server's, re-serialised by "
	    "firmware-guard)");
}

static void
test_serialize(void **state)
{
	struct fixture	*f = *state;

	nt_send(f->rabbit, "<t op=\"ser\"><x a=\"&quot;\"/>t&amp;</t>");
	nt_expect(f->rabbit, "<t op='ser'><x a='&quot;'></x>t&amp;</t>",
	    "rabbit (serialize, then inject_raw)");
	server_got_nothing(f);
}

static void
test_replace(void **state)
{
	struct fixture	*f = *state;

	nt_send(f->rabbit, "<t op='replace' id='r1'><junk/></t>");
	nt_expect(f->srv, "<new id='r1'></new>", "server (replace)");
}

static void
test_inject_raw(void **state)
{
	struct fixture	*f = *state;

	nt_send(f->rabbit, "<t op='raw'/>");
	nt_expect(f->srv, " ", "server (raw keep-alive)");
	nt_expect(f->rabbit, "<raw/>", "rabbit (raw bytes)");
}

static int
c_held(const struct nt_cond *c)
{
	struct session	*se = TAILQ_FIRST(&c->w->px.sessions);

	return se != NULL && evbuffer_get_length(se->held) == c->n;
}

static void
test_hold_release(void **state)
{
	struct fixture	*f = *state;
	const char	*held = "<t op='hold'/><m1/> <m2/>";
	struct nt_cond	 c = { c_held, &f->w, NULL, strlen(held), NULL };

	nt_send(f->rabbit, held);
	nt_run(&c, 5 * NT_SEC, "the hold queue to fill");
	NT_CHECK(evbuffer_get_length(f->srv->in) == 0 &&
	    leg_pending(&nt_session(&f->w)->s) == 0, "held bytes leaked out");
	nt_send(f->rabbit, "<t op='release'/><m3/>");
	nt_expect(f->srv, "<t op='hold'/><m1/> <m2/><t op='release'/><m3/>",
	    "server (held stanzas in order, then the rest)");
}

static void
test_timers(void **state)
{
	struct fixture	*f = *state;

	nt_send(f->rabbit, "<t op='timer'/>");
	nt_expect(f->rabbit, "<timer name='early'></timer><timer name='late'>"
	    "</timer>", "rabbit (timers in deadline order, deleted one never)");
	NT_CHECK(hstats->timers == 2, "%u timers fired", hstats->timers);
}

static void
test_timer_cancelled_at_close(void **state)
{
	struct fixture	*f = *state;

	nt_send(f->rabbit, "<t op='timer-long'/><data op='data'/>");
	nt_expect(f->srv, "<data op='data'/>", "server");
	nt_send(f->rabbit, "<bad></xml>");
	nt_expect(f->rabbit, NT_ERR("not-well-formed"), "rabbit");
	bufferevent_free(f->rabbit->bev);
	f->rabbit->bev = NULL;
	bufferevent_free(f->srv->bev);
	f->srv->bev = NULL;
	nt_wait_sessions(&f->w, 0, 5 * NT_SEC);
	NT_CHECK(hstats->timers == 0 && hstats->closes == 1, "timers %u, "
	    "closes %u", hstats->timers, hstats->closes);
}

static void
test_creds(void **state)
{
	struct fixture	*f = *state;
	struct creds	*other;
	struct stat	 st;
	char		 err[256];

	nt_send(f->rabbit, "<t op='cred-get' jid='" JID "'/>");
	nt_expect(f->rabbit, "<r op='cred-get' pw='(null)'></r>",
	    "rabbit (no password yet)");
	nt_clear(f->rabbit);
	/* A password is stored only for the account this connection proved. */
	nt_send(f->rabbit, "<t op='cred-put' jid='" JID "' pw='s3cret'/>"
	    "<t op='cred-get' jid='" JID "'/>");
	nt_expect(f->rabbit, "<r op='cred-put' rc='0'></r><r op='cred-get' "
	    "pw='(null)'></r>", "rabbit (refused: not proven)");
	nt_clear(f->rabbit);
	NT_CHECK(identity_prove(&nt_session(&f->w)->who, JID_USER,
	    "stored") == 0, "identity_prove");
	/* Proven, but no login probe proved this password: not written. */
	nt_send(f->rabbit, "<t op='cred-put' jid='" JID "' pw='s3cret'/>"
	    "<t op='cred-get' jid='" JID "'/>");
	nt_expect(f->rabbit, "<r op='cred-put' rc='0'></r><r op='cred-get' "
	    "pw='(null)'></r>", "rabbit (refused: no probe proved it)");
	nt_clear(f->rabbit);
	/* What a successful probe of it records. */
	SHA256((const unsigned char *)"s3cret", 6,
	    nt_session(&f->w)->who.probed);
	nt_session(&f->w)->who.has_probed = 1;
	nt_send(f->rabbit, "<t op='cred-put' jid='" JID "' pw='other'/>"
	    "<t op='cred-get' jid='" JID "'/>");
	nt_expect(f->rabbit, "<r op='cred-put' rc='0'></r><r op='cred-get' "
	    "pw='(null)'></r>", "rabbit (refused: another password)");
	nt_clear(f->rabbit);
	nt_send(f->rabbit, "<t op='cred-put' jid='" JID "' pw='s3cret'/>"
	    "<t op='cred-get' jid='" JID "'/>");
	nt_expect(f->rabbit, "<r op='cred-put' rc='1'></r><r op='cred-get' "
	    "pw='s3cret'></r>", "rabbit (stored, then read back)");
	NT_CHECK(stat(f->store, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "store not 0600");
	/* `nabproxy credentials` changes the file behind the daemon's back. */
	other = creds_open(f->store, err, sizeof(err));
	NT_CHECK(other != NULL, "creds_open: %s", err);
	NT_CHECK(creds_put(other, JID, "n3w", err, sizeof(err)) >= 0,
	    "creds_put: %s", err);
	creds_close(other);
	nt_clear(f->rabbit);
	nt_send(f->rabbit, "<t op='cred-get' jid='" JID "'/>");
	nt_expect(f->rabbit, "<r op='cred-get' pw='n3w'></r>",
	    "rabbit (the store was re-read)");
}

static void
test_identity(void **state)
{
	struct fixture	*f = *state;

	nt_send(f->rabbit, "<t op='ident'/>");
	nt_expect(f->rabbit, "<r op='ident' mac='' domain='example.net' jid='' "
	    "fw='' profile='p' sid='1' peer-ok='1'></r>",
	    "rabbit (identity from the stream header)");
	nt_clear(f->rabbit);
	nt_send(f->rabbit, "<t op='ident' mac='0013d3010203' fw='simulator'/>");
	nt_expect(f->rabbit, "<r op='ident' mac='0013d3010203' domain="
	    "'example.net' jid='" JID "' fw='simulator' profile='p' sid='1' "
	    "peer-ok='1'></r>", "rabbit (after set_identity)");
}

static void
test_close_with(void **state)
{
	struct fixture	*f = *state;

	nt_send(f->rabbit, "<t op='close' cond='conflict'/><never/>");
	nt_expect(f->rabbit, NT_ERR("conflict"), "rabbit (close_with)");
	nt_expect(f->srv, NT_END, "server (stream end)");
}

static void
test_close_with_pass(void **state)
{
	struct fixture	*f = *state;

	nt_send(f->rabbit, "<t op='close-pass' cond='reset'/><never/>");
	nt_expect(f->rabbit, NT_ERR("reset"), "rabbit (close after the unit)");
	nt_expect(f->srv, "<t op='close-pass' cond='reset'/>" NT_END,
	    "server (the unit passed, then the stream end)");
}

/*
 * The session ended with exactly err to the rabbit and a plain end to
 * the server: nothing injected, nothing of the closing unit or after it.
 */
static void
expect_closed_with(struct fixture *f, const char *err)
{
	nt_expect(f->rabbit, err, "rabbit (the stream error)");
	nt_expect(f->srv, NT_END, "server (the stream end)");
	nt_wait_eof(f->rabbit, "rabbit EOF after the stream error");
	nt_wait_eof(f->srv, "server EOF after the stream end");
	nt_expect(f->rabbit, err, "rabbit (nothing after the error)");
	nt_expect(f->srv, NT_END, "server (nothing after the end)");
	bufferevent_free(f->rabbit->bev);
	f->rabbit->bev = NULL;
	bufferevent_free(f->srv->bev);
	f->srv->bev = NULL;
	nt_wait_sessions(&f->w, 0, 5 * NT_SEC);
}

/* t-closer scribbles over and frees its condition: the host copied it. */
static void
test_close_with_freed_condition(void **state)
{
	struct fixture	*f = *state;

	nt_send(f->rabbit, "<close cond='policy-violation' how='heap'/>"
	    "<never/>");
	expect_closed_with(f, NT_ERR("policy-violation"));
}

/* A condition becomes an element name: no markup gets through it. */
static void
test_close_with_bad_condition(void **state)
{
	struct fixture	*f = *state;

	nt_send(f->rabbit, "<close cond=\"bad'/&gt;&lt;x\" how='heap'/>"
	    "<never/>");
	expect_closed_with(f, NT_ERR("undefined-condition"));
}

/* The same from a live string: the check alone, no use after free. */
static void
test_close_with_markup_condition(void **state)
{
	struct fixture	*f = *state;

	nt_send(f->rabbit, "<t op='close' cond=\"bad'/&gt;&lt;x\"/><never/>");
	expect_closed_with(f, NT_ERR("undefined-condition"));
}

/* One too long for the host's copy is not cut short either. */
static void
test_close_with_long_condition(void **state)
{
	struct fixture	*f = *state;
	char		 cmd[128], cond[49];

	memset(cond, 'a', sizeof(cond) - 1);
	cond[sizeof(cond) - 1] = '\0';
	snprintf(cmd, sizeof(cmd), "<t op='close' cond='%s'/><never/>", cond);
	nt_send(f->rabbit, cmd);
	expect_closed_with(f, NT_ERR("undefined-condition"));
}

/* From a timer, outside any hook: no further unit comes to act on it. */
static void
test_close_with_from_timer(void **state)
{
	struct fixture	*f = *state;

	nt_send(f->rabbit, "<close cond='conflict' how='timer'/>");
	expect_closed_with(f, NT_ERR("conflict"));
	NT_CHECK(*closer_fired == 1, "timer ran %u times", *closer_fired);
}

static void
test_data_and_state(void **state)
{
	struct fixture	*f = *state;
	struct nt_peer	*r2, *s2;

	nt_send(f->rabbit, "<t op='data'/><t op='data'/>");
	nt_expect(f->rabbit, "<r op='data' count='1' state='S1'></r>"
	    "<r op='data' count='2' state='S1'></r>",
	    "rabbit (per-session data, per-filter state)");
	nt_open(&f->w, &r2, &s2);
	nt_send(r2, "<t op='data'/>");
	nt_expect(r2, "<r op='data' count='1' state='S1'></r>",
	    "second rabbit (its own data)");
	NT_CHECK(hstats->opens == 2, "%u opens", hstats->opens);
}

static void
test_abi_and_auth(void **state)
{
	struct fixture	*f = *state;
	char		 want[128];

	nt_send(f->rabbit, "<t op='abi'/><t op='auth'/>");
	snprintf(want, sizeof(want), "<r op='abi' major='%d' has='1'></r>"
	    "<r op='auth' v='0'></r>", NAB_ABI_MAJOR);
	nt_expect(f->rabbit, want, "rabbit (abi, upstream_authenticated)");
}

static void
test_log(void **state)
{
	struct fixture	*f = *state;

	nt_send(f->rabbit, "<t op='log' msg='hello'/>");
	nt_expect(f->rabbit, "<r op='log'></r>", "rabbit");
	NT_CHECK(nt_log_has(LOGFILE, "session 1: t-host: t-host says hello"),
	    "log line missing or without session and filter");
}

static void
test_server_features(void **state)
{
	struct fixture	*f = *state;
	const char	*feat = "<stream:features><bind xmlns='urn:ietf:params:"
			    "xml:ns:xmpp-bind'/></stream:features>";

	nt_send(f->srv, feat);
	nt_expect(f->rabbit, feat, "rabbit (features passed)");
	nt_clear(f->rabbit);
	nt_send(f->rabbit, "<t op='features'/>");
	nt_expect(f->rabbit, "<stream:features><bind xmlns='urn:ietf:params:"
	    "xml:ns:xmpp-bind'></bind></stream:features>",
	    "rabbit (server_features copy, injected)");
}

static void
test_restart_rabbit(void **state)
{
	struct fixture	*f = *state;

	nt_send(f->rabbit, "<t op='restart-rabbit'/>" NT_RHDR "<after/>");
	nt_expect(f->srv, NT_RHDR "<after/>",
	    "server (a second header parses as a new stream)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_walk),
		T(test_edit),
		T(test_build),
		T(test_copy),
		cmocka_unit_test_setup_teardown(test_inject_same_form,
		    setup_guarded, teardown),
		T(test_serialize),
		T(test_replace),
		T(test_inject_raw),
		T(test_hold_release),
		T(test_timers),
		T(test_timer_cancelled_at_close),
		T(test_creds),
		T(test_identity),
		T(test_close_with),
		T(test_close_with_pass),
		T(test_close_with_markup_condition),
		T(test_close_with_long_condition),
		T(test_data_and_state),
		T(test_abi_and_auth),
		T(test_log),
		T(test_server_features),
		T(test_restart_rabbit),
#undef T
#define T(f)	cmocka_unit_test_setup_teardown(f, setup_closer, teardown)
		T(test_close_with_freed_condition),
		T(test_close_with_bad_condition),
		T(test_close_with_from_timer),
#undef T
	};

	nt_main_init();
	hstats = nt_filter_sym("t_host", "t_host_stats");
	closer_fired = nt_filter_sym("t_closer", "t_closer_fired");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
