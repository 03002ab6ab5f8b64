/*
 * test_chain_settings: filter ABI 1.4 on the host side (proxy/
 * chain_settings.c and chain.c): settings validated and filled into the
 * host-allocated state, every error at its FILE:LINE, bad tables refused,
 * the per-session block, on_close and its reasons, `nabproxy filters`'
 * text, and an ABI 1.1 filter that still loads with its own keys. The
 * test filters tests/filters/t_set.c and t_old.c are loaded from their
 * .so files and driven through real sessions on loopback sockets.
 */
#include "nabfixture.h"
#include "chain-int.h"
#include "ctlreg.h"

#define LOGFILE	NAB_BINARY_DIR "/tests/test_chain_settings.log"

struct t_old_stats {
	unsigned	opens, closes;
};

static char			*reasons;
static unsigned			*inits;
static struct t_old_stats	*ostats;

static int
setup(void **state)
{
	reasons[0] = '\0';
	memset(ostats, 0, sizeof(*ostats));
	return nt_setup_log(state, LOGFILE);
}

static struct chain_filter_conf
fconf(const char *so, const struct nab_kv *kv, size_t nkv)
{
	struct chain_filter_conf	fc;

	memset(&fc, 0, sizeof(fc));
	fc.name = "s";
	fc.path = nt_filter_path(so);
	fc.kv = kv;
	fc.nkv = nkv;
	fc.file = "t.conf";
	fc.line = 1;
	return fc;
}

/* One side closes, then the other: the session is gone. */
static void
hang_up(struct nt_world *w, struct nt_peer *first, struct nt_peer *second)
{
	bufferevent_free(first->bev);
	first->bev = NULL;
	nt_wait_eof(second, "EOF passed on");
	bufferevent_free(second->bev);
	second->bev = NULL;
	nt_wait_sessions(w, 0, 5 * NT_SEC);
}

/* Values in, the filter's view of them out, twice in one session. */
static void
test_values(void **state)
{
	struct nt_world		*w = *state;
	struct nt_peer		*rabbit, *srv;
	struct nab_kv		 kv[] = {
		{ "path", "ignored: the host's key", "t.conf", 2 },
		{ "word", "ab", "t.conf", 3 },
		{ "flag", "on", "t.conf", 4 },
		{ "wait", "45s", "t.conf", 5 },
		{ "mode", "off", "t.conf", 6 },
	};
	struct chain_filter_conf fc = fconf("t_set", kv, 5);

	nt_chain(w, &fc, 1);
	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, "<t/>");
	nt_expect(rabbit, "<conf v='1 3 45000 ab off 1'></conf>",
	    "rabbit (values and defaults, session block n=1)");
	nt_clear(rabbit);
	nt_send(rabbit, "<t/>");
	nt_expect(rabbit, "<conf v='1 3 45000 ab off 2'></conf>",
	    "rabbit (same session block, n=2)");
	nt_send(rabbit, "<close/>");
	nt_wait_eof(rabbit, "rabbit EOF");
	hang_up(w, rabbit, srv);
	NT_CHECK(strcmp(reasons, "stream error: policy-violation: asked "
	    "to|") == 0, "reasons: %s", reasons);
}

/* A second session gets a fresh (zeroed) block; closing says why. */
static void
test_reasons(void **state)
{
	struct nt_world		*w = *state;
	struct nt_peer		*rabbit, *srv;
	struct nab_kv		 kv = { "word", "zz", "t.conf", 2 };
	struct chain_filter_conf fc = fconf("t_set", &kv, 1);

	nt_chain(w, &fc, 1);
	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, "<t/>");
	nt_expect(rabbit, "<conf v='0 3 1500 zz slow 1'></conf>", "rabbit");
	hang_up(w, rabbit, srv);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, "<t/>");
	nt_expect(rabbit, "<conf v='0 3 1500 zz slow 1'></conf>",
	    "rabbit (a new session starts at n=1)");
	hang_up(w, srv, rabbit);
	NT_CHECK(strcmp(reasons, "rabbit closed|server closed|") == 0,
	    "reasons: %s", reasons);
}

/* A session through t-set, past one <t/>. */
static void
open_set(struct nt_world *w, struct nt_peer **rabbit, struct nt_peer **srv)
{
	static const struct nab_kv	kv = { "word", "zz", "t.conf", 2 };
	struct chain_filter_conf	fc = fconf("t_set", &kv, 1);

	nt_chain(w, &fc, 1);
	nt_proxy_start(w);
	nt_open(w, rabbit, srv);
	nt_send(*rabbit, "<t/>");
	nt_expect(*rabbit, "<conf v='0 3 1500 zz slow 1'></conf>", "rabbit");
	nt_clear(*rabbit);
}

/* The control socket's kick, then the daemon's shutdown. */
static void
test_reasons_kick_shutdown(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	NT_CHECK((w->px.reg = ctlreg_new()) != NULL, "ctlreg_new");
	open_set(w, &rabbit, &srv);
	NT_CHECK(ctlreg_kick(w->px.reg, nt_session(w)->id) == 0, "kick");
	nt_expect(rabbit, NT_ERR("reset"), "rabbit (kicked)");
	hang_up(w, rabbit, srv);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, "<t/>");
	nt_expect(rabbit, "<conf v='0 3 1500 zz slow 1'></conf>", "rabbit");
	nt_clear(rabbit);
	session_shutdown_all(&w->px, "system-shutdown");
	nt_expect(rabbit, NT_ERR("system-shutdown"), "rabbit (shutdown)");
	hang_up(w, rabbit, srv);
	ctlreg_free(w->px.reg);
	w->px.reg = NULL;
	NT_CHECK(strcmp(reasons, "kicked|shutdown|") == 0, "reasons: %s",
	    reasons);
}

/* A profile change at a stream restart closes the old chain, not the session. */
static void
test_reason_profile_changed(void **state)
{
	static const char *const fw[] = { "bootcode-*" };
	static const char *const set[] = { "s" };
	struct nt_world			*w = *state;
	struct nt_peer			*rabbit, *srv;
	struct nab_kv			 kv = { "word", "zz", "t.conf", 2 };
	struct chain_filter_conf	 fc = fconf("t_set", &kv, 1);
	struct chain_profile_conf	 pc[2];

	memset(pc, 0, sizeof(pc));
	pc[0].name = "firmware";
	pc[0].match_firmware = fw;
	pc[0].nmatch_firmware = 1;
	pc[1].name = "plain";
	pc[1].filters = set;
	pc[1].nfilters = 1;
	w->px.chains = nt_build(&fc, 1, pc, 2, "plain");
	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, "<iq type='set' id='r'><query xmlns='violet:iq:"
	    "register'/></iq>");
	nt_expect(srv, "<iq type='set' id='r'><query xmlns='violet:iq:"
	    "register'/></iq>", "server");
	nt_send(srv, "<success xmlns='" NT_NS_SASL "'/>");
	nt_expect(rabbit, "<success xmlns='" NT_NS_SASL "'/>", "rabbit");
	NT_CHECK(strcmp(chain_profile(nt_session(w)->chain), "firmware") == 0,
	    "profile after the restart: %s",
	    chain_profile(nt_session(w)->chain));
	NT_CHECK(strcmp(reasons, "profile changed|") == 0, "reasons: %s",
	    reasons);
	hang_up(w, rabbit, srv);
	NT_CHECK(strcmp(reasons, "profile changed|") == 0, "closed twice: %s",
	    reasons);
}

/* idle-timeout (1 s here). */
static void
test_reason_timeout(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	w->px.opt.idle_timeout = 1;
	open_set(w, &rabbit, &srv);
	nt_expect(rabbit, NT_ERR("connection-timeout"), "rabbit (idle)");
	hang_up(w, rabbit, srv);
	NT_CHECK(strcmp(reasons, "timeout: idle timeout, no traffic for the "
	    "configured idle-timeout|") == 0, "reasons: %s", reasons);
}

static void
expect_line(const char *err, const char *line)
{
	char	want[1024];

	snprintf(want, sizeof(want), "%s\n", line);
	NT_CHECK(strstr(err, want) != NULL, "error lacks \"%s\":\n%s", line,
	    err);
}

/* Every bad line reported at its own FILE:LINE, in one build. */
static void
test_errors(void **state)
{
	struct nab_kv		 kv[] = {
		{ "colour", "red", "t.conf", 2 },
		{ "flag", "maybe", "t.conf", 3 },
		{ "count", "11", "t.conf", 4 },
		{ "count", "3", "t.conf", 5 },
		{ "wait", "5", "t.conf", 6 },
		{ "mode", "quick", "t.conf", 7 },
		{ "word", "x", "inc.conf", 8 },
	};
	struct nab_kv		 kv2[] = {
		{ "wait", "61s", "t.conf", 3 },
		{ "count", "two", "t.conf", 4 },
	};
	struct nab_kv		 kv3[] = { { "word", "xy", "t.conf", 9 } };
	struct nab_kv		 kv4[] = { { "word", "toolongw", "t.conf", 2 } };
	struct chain_filter_conf fc;
	struct chainset		*cs;
	char			 err[8192], p[1024];
	unsigned		 before = *inits;

	fc = fconf("t_set", kv, 7);
	cs = chainset_build(&fc, 1, NULL, 0, NULL, err, sizeof(err));
	NT_CHECK(cs == NULL, "a filter with bad settings was built");
	snprintf(p, sizeof(p), "filter s in %s", nt_filter_path("t_set"));
#define L(pre, why)	do { char l_[1200]; snprintf(l_, sizeof(l_),	\
	"%s: %s: %s", pre, p, why); expect_line(err, l_); } while (0)
	L("t.conf:2", "colour: unknown setting (allowed: flag, count, wait, "
	    "word, mode)");
	L("t.conf:3", "flag: 'maybe' is not a boolean (yes or no)");
	L("t.conf:4", "count: 11 is out of range 1..10");
	L("t.conf:5", "count: already set at line 4, allowed once");
	L("t.conf:6", "wait: '5' is not a duration (a number and a unit: ms, "
	    "s, m, h or d)");
	L("t.conf:7", "mode: 'quick' is not one of fast, slow or off");
	L("inc.conf:8", "word: is 1 bytes long, allowed 2..7");
	fc = fconf("t_set", kv2, 2);
	err[0] = '\0';
	NT_CHECK(chainset_build(&fc, 1, NULL, 0, NULL, err, sizeof(err)) ==
	    NULL, "built");
	L("t.conf:3", "wait: 61s is out of range 0..60000 ms");
	L("t.conf:4", "count: 'two' is not an integer");
	L("t.conf:1", "word: required, not set");
	fc = fconf("t_set", kv3, 1);
	NT_CHECK(chainset_build(&fc, 1, NULL, 0, NULL, err, sizeof(err)) ==
	    NULL, "built");
	L("t.conf:9", "word: 'xy' has an x");
	fc = fconf("t_set", kv4, 1);
	NT_CHECK(chainset_build(&fc, 1, NULL, 0, NULL, err, sizeof(err)) ==
	    NULL, "built");
	L("t.conf:2", "word: is 8 bytes long, allowed 2..7");
#undef L
	NT_CHECK(*inits == before, "init() ran %u times for refused settings",
	    *inits - before);
}

/* Tables the host cannot apply are refused with the descriptor. */
static void
test_bad_tables(void **state)
{
	struct conf { long long a; char s[4]; int e; } c;
	static const char *const none[] = { NULL };
	const struct nab_setting bad[][2] = {
		{ NAB_SETTING_INT("a", struct conf, a, 0, 9, "10", NULL),
		    NAB_SETTINGS_END },
		{ NAB_SETTING_INT("A", struct conf, a, 0, 9, "1", NULL),
		    NAB_SETTINGS_END },
		{ NAB_SETTING_STRING("s", struct conf, s, 0, "long", NULL, NULL),
		    NAB_SETTINGS_END },
		{ NAB_SETTING_ENUM("e", struct conf, e, none, "x", NULL),
		    NAB_SETTINGS_END },
		{ NAB_SETTING_INT("path", struct conf, a, 0, 9, "1", NULL),
		    NAB_SETTINGS_END },
	};
	const char *const why[] = {
		"w: setting 'a' default 10 is out of range 0..9",
		"w: setting 'A' is not a usable setting name",
		"w: setting 's' default is 4 bytes long, allowed 0..3",
		"w: setting 'e' is an enum without words",
		"w: setting 'path' is not a usable setting name",
	};
	struct nab_filter	 f = { NAB_FILTER_INIT, .name = "f" };
	char			 err[1024];
	size_t			 i;

	(void)c;
	for (i = 0; i < sizeof(why) / sizeof(why[0]); i++) {
		f.settings = bad[i];
		f.state_size = sizeof(struct conf);
		err[0] = '\0';
		NT_CHECK(settings_check_desc(&f, "w", err, sizeof(err)) == -1,
		    "table %zu accepted", i);
		NT_CHECK(strncmp(err, why[i], strlen(why[i])) == 0,
		    "table %zu: %s", i, err);
	}
	f.settings = bad[0];
	f.state_size = 4;	/* smaller than the long long at offset 0 */
	err[0] = '\0';
	NT_CHECK(settings_check_desc(&f, "w", err, sizeof(err)) == -1 &&
	    strstr(err, "lies outside the filter's state") != NULL, "%s", err);
	f.state_size = 0;
	err[0] = '\0';
	NT_CHECK(settings_check_desc(&f, "w", err, sizeof(err)) == -1 &&
	    strstr(err, "has settings but no state_size") != NULL, "%s", err);
}

/* `nabproxy filters`: the exact text for one filter. */
static void
test_print(void **state)
{
	char	*buf = NULL, err[512];
	size_t	 len = 0;
	FILE	*f = open_memstream(&buf, &len);
	char	 want[2048];

	NT_CHECK(f != NULL, "open_memstream");
	NT_CHECK(chain_describe(f, NULL, nt_filter_path("t_set"), err,
	    sizeof(err)) == 0, "%s", err);
	NT_CHECK(chain_describe(f, "presence-echo", NULL, err,
	    sizeof(err)) == 0, "%s", err);
	fclose(f);
	snprintf(want, sizeof(want),
	    "t-set 1 (%s, ABI 1.%d)\n"
	    "  flag: bool, default no\n"
	    "      a flag\n"
	    "  count: int 1..10, default 3\n"
	    "      a count\n"
	    "  wait: duration 0..60000 ms, default 1500ms\n"
	    "      a wait\n"
	    "  word: string 2..7 bytes, required\n"
	    "      a word without x\n"
	    "  mode: enum (fast, slow or off), default slow\n"
	    "      a mode\n"
	    "presence-echo 1.0 (built-in, ABI 1.%d)\n"
	    "  echo the rabbit's presence when the server does not\n"
	    "  timeout-ms: int 1..60000, default 1000\n"
	    "      milliseconds to wait for the server's own echo\n",
	    nt_filter_path("t_set"), NAB_ABI_MINOR, NAB_ABI_MINOR);
	NT_CHECK(strcmp(buf, want) == 0, "got:\n%s\nwant:\n%s", buf, want);
	free(buf);
}

/* An ABI 1.1 filter: its own keys, open/close, nothing past struct_size. */
static void
test_old_filter(void **state)
{
	struct nt_world		*w = *state;
	struct nt_peer		*rabbit, *srv;
	struct nab_kv		 kv[] = {
		{ "tag", "v1", "t.conf", 2 },
		{ "anything", "goes", "t.conf", 3 },
	};
	struct chain_filter_conf fc = fconf("t_old", kv, 2);
	char			*buf = NULL, err[512];
	size_t			 len = 0;
	FILE			*f;

	nt_chain(w, &fc, 1);
	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, "<message id='1'/>");
	nt_expect(srv, "<message id='1' old='v1'></message>", "server");
	hang_up(w, rabbit, srv);
	NT_CHECK(ostats->opens == 1 && ostats->closes == 1, "opens %u closes "
	    "%u", ostats->opens, ostats->closes);
	NT_CHECK((f = open_memstream(&buf, &len)) != NULL, "open_memstream");
	NT_CHECK(chain_describe(f, NULL, nt_filter_path("t_old"), err,
	    sizeof(err)) == 0, "%s", err);
	fclose(f);
	NT_CHECK(strstr(buf, "t-old 1.1 (") != NULL && strstr(buf, ", ABI "
	    "1.1)\n  settings: not declared (the filter reads its own "
	    "keys)\n") != NULL, "%s", buf);
	free(buf);
}

/* The pkg-config file's Version is the header's filter ABI. */
static void
test_pkgconfig(void **state)
{
	FILE	*f = fopen(NAB_BINARY_DIR "/nabproxy-filter.pc", "r");
	char	 line[256], want[64], wvar[64];
	int	 version = 0, var = 0;

	NT_CHECK(f != NULL, "no nabproxy-filter.pc in the build tree");
	snprintf(want, sizeof(want), "Version: %d.%d\n", NAB_ABI_MAJOR,
	    NAB_ABI_MINOR);
	snprintf(wvar, sizeof(wvar), "abi_minor=%d\n", NAB_ABI_MINOR);
	while (fgets(line, sizeof(line), f) != NULL) {
		version |= strcmp(line, want) == 0;
		var |= strcmp(line, wvar) == 0;
	}
	fclose(f);
	NT_CHECK(version && var, "nabproxy-filter.pc lacks \"%s\" or \"%s\"",
	    want, wvar);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, nt_teardown)
		T(test_values),
		T(test_reasons),
		T(test_reasons_kick_shutdown),
		T(test_reason_timeout),
		T(test_reason_profile_changed),
		T(test_errors),
		T(test_bad_tables),
		T(test_print),
		T(test_old_filter),
		T(test_pkgconfig),
#undef T
	};

	nt_main_init();
	reasons = nt_filter_sym("t_set", "t_set_reasons");
	inits = nt_filter_sym("t_set", "t_set_inits");
	ostats = nt_filter_sym("t_old", "t_old_stats");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
