/*
 * test_config: config.c against files written to a scratch directory and
 * against the shipped etc/nabproxy.conf. Every error class is checked for
 * its exact "file:line: message".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config.h"
#include "testutil.h"

#ifndef NAB_SOURCE_DIR
#define NAB_SOURCE_DIR "."
#endif

static const char *const builtins[] = {
	"auth", "register", "bind", "firmware-guard", "digest-server",
	"presence-echo", "sources", "iq-answer", NULL
};

/* Scratch directory of the running test. */
static char	dir[64];

static int
setup(void **state)
{
	tu_mkdtemp(dir, sizeof(dir), "test_config");
	return 0;
}

static int
teardown(void **state)
{
	tu_rmtree(dir);
	return 0;
}

/* config_load(dir/name); errs must be empty iff ok. */
static struct config *
load(const char *name, struct config_errors *errs, int ok)
{
	char		 path[PATH_MAX];
	struct config	*cfg;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	config_errors_init(errs);
	cfg = config_load(path, builtins, errs);
	if (ok)
		EXPECT(cfg != NULL && errs->ce_count == 0, "%s: %zu errors,"
		    " first: %s", name, errs->ce_count,
		    errs->ce_count ? errs->ce_msg[0] : "-");
	else
		EXPECT(cfg == NULL && errs->ce_count > 0,
		    "%s: loaded although it is wrong", name);
	return cfg;
}

/* Asserts message i of errs is "dir/file:line: msg" (line 0: no line). */
static void
expect_msg(const struct config_errors *errs, size_t i, const char *file,
    unsigned int line, const char *msg)
{
	const char	*want = tu_want_error(i, errs->ce_count, dir, file,
			    line, msg);

	assert_string_equal(errs->ce_msg[i], want);
}

static void
test_defaults(void **state)
{
	struct config_errors	 errs;
	struct config		*cfg;

	tu_put(dir, "d.conf", "# nothing but a comment\n\n[nabproxy]\n");
	cfg = load("d.conf", &errs, 1);
	assert_int_equal(cfg->nlisten, 1);
	assert_string_equal(cfg->listen[0].host, "0.0.0.0");
	assert_int_equal(cfg->listen[0].port, 5222);
	assert_string_equal(cfg->upstream_host, "");
	assert_int_equal(cfg->upstream_port, 0);
	assert_int_equal(cfg->connect_timeout, 10);
	assert_int_equal(cfg->idle_timeout, 300);
	assert_int_equal(cfg->drain_timeout, 30);
	assert_int_equal(cfg->max_connections, 1024);
	assert_int_equal(cfg->max_per_source, 32);
	assert_int_equal(cfg->max_stanza, 65536);
	assert_int_equal(cfg->max_depth, 32);
	assert_int_equal(cfg->hold_queue, 65536);
	assert_string_equal(cfg->log_file, "");
	assert_string_equal(cfg->log_dir, "");
	assert_int_equal(cfg->log_format, CONFIG_LOG_VM);
	assert_int_equal(cfg->log_prefix, 0);
	assert_int_equal(cfg->redact, 1);
	assert_string_equal(cfg->state_dir, "/var/lib/nabproxy");
	assert_string_equal(cfg->credentials,
	    "/var/lib/nabproxy/credentials");
	assert_int_equal(cfg->scram_max_iterations, 100000);
	assert_int_equal(cfg->allow_plain_cleartext, 0);
	assert_string_equal(cfg->profile, "auto");
	assert_int_equal(cfg->verbose, 0);
	assert_string_equal(cfg->user, "");
	assert_string_equal(cfg->pid_file, "");
	/* The implicit passthrough profile, and every built-in filter. */
	assert_int_equal(cfg->nprofiles, 1);
	assert_string_equal(cfg->profiles[0].name, "passthrough");
	assert_null(cfg->profiles[0].section);
	assert_int_equal(cfg->profiles[0].nfilters, 0);
	assert_int_equal(cfg->nfilters, 8);
	assert_null(cfg->filters[0].path);
	config_free(cfg);
	config_errors_free(&errs);
}

/* Every key set to something other than its default. */
static const char good_text[] =
    "  # indented comment\n"
    "[nabproxy]\n"
    "listen = 127.0.0.1:5222\n"
    "listen=[::1]:5223\n"
    "  listen =\t[fe80::1]:0  \n"
    "upstream = xmpp.example.org:5269\n"
    "connect-timeout = 5s\n"
    "idle-timeout = 2m\n"
    "drain-timeout = 0\n"
    "max-connections = 4000\n"
    "max-per-source = 0\n"
    "max-stanza = 1M\n"
    "max-depth = 256\n"
    "hold-queue = 2M\n"
    "log-file = /var/log/nab log.txt\n"
    "log-dir = /var/log/nab\n"
    "log-format = both\n"
    "log-prefix = yes\n"
    "redact = off\n"
    "state-dir = /srv/nab/\n"
    "scram-max-iterations = 4096\n"
    "allow-plain-cleartext = true\n"
    "profile = mine\n"
    "verbose = 1\n"
    "user = nabproxy\n"
    "pid-file = /run/nabproxy/nabproxy.pid\n"
    "[filter ext]\n"
    "path = lib/ext.so\n"
    "greeting = hello = world\n"
    "[filter auth]\n"
    "mechanisms = SCRAM-SHA-256 PLAIN\n"
    "[profile mine]\n"
    "filters = ext auth\n"
    "match-mac = F8:1E:DF:EE:27:C1 00-13-d3*\n"
    "match-mac = 0019db*\n"
    "match-jid = *@nabaztag.example.org\n";

static void
test_good_values(void **state)
{
	struct config_errors	 errs;
	struct config		*cfg;

	tu_put(dir, "g.conf", good_text);
	cfg = load("g.conf", &errs, 1);
	assert_int_equal(cfg->nlisten, 3);
	assert_string_equal(cfg->listen[0].host, "127.0.0.1");
	assert_int_equal(cfg->listen[0].port, 5222);
	assert_string_equal(cfg->listen[1].host, "::1");
	assert_int_equal(cfg->listen[1].port, 5223);
	assert_string_equal(cfg->listen[2].host, "fe80::1");
	assert_int_equal(cfg->listen[2].port, 0);
	assert_string_equal(cfg->upstream_host, "xmpp.example.org");
	assert_int_equal(cfg->upstream_port, 5269);
	assert_int_equal(cfg->connect_timeout, 5);
	assert_int_equal(cfg->idle_timeout, 120);
	assert_int_equal(cfg->drain_timeout, 0);
	assert_int_equal(cfg->max_connections, 4000);
	assert_int_equal(cfg->max_per_source, 0);
	assert_int_equal(cfg->max_stanza, 1048576);
	assert_int_equal(cfg->max_depth, 256);
	assert_int_equal(cfg->hold_queue, 2097152);
	assert_string_equal(cfg->log_file, "/var/log/nab log.txt");
	assert_string_equal(cfg->log_dir, "/var/log/nab");
	assert_int_equal(cfg->log_format, CONFIG_LOG_BOTH);
	assert_int_equal(cfg->log_prefix, 1);
	assert_int_equal(cfg->redact, 0);
	assert_string_equal(cfg->state_dir, "/srv/nab/");
	assert_string_equal(cfg->credentials, "/srv/nab/credentials");
	assert_int_equal(cfg->scram_max_iterations, 4096);
	assert_int_equal(cfg->allow_plain_cleartext, 1);
	assert_string_equal(cfg->profile, "mine");
	assert_int_equal(cfg->verbose, 1);
	assert_string_equal(cfg->user, "nabproxy");
	assert_string_equal(cfg->pid_file, "/run/nabproxy/nabproxy.pid");
	config_free(cfg);
	config_errors_free(&errs);
}

/* The same file's sections, filters and profiles. */
static void
test_good_sections(void **state)
{
	struct config_errors	 errs;
	struct config		*cfg;
	const struct config_section *sec;
	char			 want[PATH_MAX];

	tu_put(dir, "g.conf", good_text);
	cfg = load("g.conf", &errs, 1);

	/* Generic layer: sections, entries, lines. */
	assert_int_equal(cfg->nsections, 4);
	sec = config_section_find(cfg, CONFIG_FILTER, "ext");
	EXPECT(sec != NULL, "no [filter ext]");
	assert_int_equal(sec->line, 27);
	assert_int_equal(sec->nentries, 2);
	assert_string_equal(sec->entries[1].key, "greeting");
	assert_string_equal(sec->entries[1].value, "hello = world");
	assert_int_equal(sec->entries[1].line, 29);
	assert_string_equal(config_section_get(sec, "path"), "lib/ext.so");
	assert_null(config_section_get(sec, "nope"));
	EXPECT(config_section_find(cfg, CONFIG_NABPROXY, NULL) != NULL,
	    "no [nabproxy]");

	/* Filters: built-ins first, external path from the file's dir. */
	assert_int_equal(cfg->nfilters, 9);
	assert_string_equal(cfg->filters[8].name, "ext");
	snprintf(want, sizeof(want), "%s/lib/ext.so", dir);
	assert_string_equal(cfg->filters[8].path, want);
	EXPECT(config_filter_find(cfg, "auth")->section != NULL,
	    "[filter auth] not attached to the built-in");

	/* Profiles. */
	assert_int_equal(cfg->nprofiles, 2);
	assert_string_equal(cfg->profiles[0].name, "mine");
	assert_int_equal(cfg->profiles[0].nfilters, 2);
	assert_string_equal(cfg->profiles[0].filters[0]->name, "ext");
	assert_string_equal(cfg->profiles[0].filters[1]->name, "auth");
	assert_int_equal(cfg->profiles[0].nmatch_mac, 3);
	assert_string_equal(cfg->profiles[0].match_mac[0], "f81edfee27c1");
	assert_string_equal(cfg->profiles[0].match_mac[1], "0013d3*");
	assert_string_equal(cfg->profiles[0].match_mac[2], "0019db*");
	assert_int_equal(cfg->profiles[0].nmatch_jid, 1);
	config_free(cfg);
	config_errors_free(&errs);
}

#define P10	"pppppppppp"
#define P100	P10 P10 P10 P10 P10 P10 P10 P10 P10 P10

/* One broken file per error class: exactly one message each. */
static const struct {
	const char	*text;
	unsigned int	 line;
	const char	*msg;
} error_cases[] = {
	{ "[nabproxy]\nbogus = 1\n", 2,
	  "unknown key 'bogus' in [nabproxy]" },
	{ "[nabproxy]\nmax-stanza = 100\n", 2,
	  "max-stanza: '100' is out of range, allowed 1024..16777216"
	  " bytes, suffix K or M allowed" },
	{ "[nabproxy]\nmax-stanza = 17M\n", 2,
	  "max-stanza: '17M' is out of range, allowed 1024..16777216"
	  " bytes, suffix K or M allowed" },
	{ "[nabproxy]\nmax-depth = x\n", 2,
	  "max-depth: 'x' is not a number, allowed 4..256" },
	{ "[nabproxy]\nmax-depth = -4\n", 2,
	  "max-depth: '-4' is not a number, allowed 4..256" },
	{ "[nabproxy]\nmax-connections = 99999999999999999999999\n", 2,
	  "max-connections: '99999999999999999999999' is out of range,"
	  " allowed 1..1048576" },
	{ "[nabproxy]\nidle-timeout = 5d\n", 2,
	  "idle-timeout: '5d' has an unknown unit, allowed 1..86400"
	  " seconds, suffix s, m or h allowed" },
	{ "[nabproxy]\nredact = maybe\n", 2,
	  "redact: 'maybe' is not a boolean, allowed yes or no"
	  " (true/false, on/off, 1/0)" },
	{ "[nabproxy]\nlog-format = xml\n", 2,
	  "log-format: 'xml' is not a known value, allowed vm, raw,"
	  " both or none" },
	{ "[nabproxy]\nlisten = localhost:5222\n", 2,
	  "listen: 'localhost:5222' is not a numeric address, allowed"
	  " ADDR:PORT with a numeric IPv4 address or [IPv6] address"
	  " and port 0..65535" },
	{ "[nabproxy]\nlisten = ::1:5222\n", 2,
	  "listen: '::1:5222' is not HOST:PORT, allowed ADDR:PORT with"
	  " a numeric IPv4 address or [IPv6] address and port"
	  " 0..65535" },
	{ "[nabproxy]\nlisten = 1.2.3.4:1\nlisten = 1.2.3.4:1\n", 3,
	  "listen: '1.2.3.4:1' is listed twice, allowed once per"
	  " address" },
	{ "[nabproxy]\nupstream = example.org:0\n", 2,
	  "upstream: 'example.org:0' has port 0, allowed HOST:PORT or"
	  " [IPv6]:PORT with port 1..65535, or nothing for demo mode" },
	{ "[nabproxy]\nupstream = [nothex]:5222\n", 2,
	  "upstream: '[nothex]:5222' is not HOST:PORT, allowed"
	  " HOST:PORT or [IPv6]:PORT with port 1..65535, or nothing"
	  " for demo mode" },
	{ "[nabproxy]\nupstream = a:1\nupstream = b:2\n", 3,
	  "'upstream' is already set at %s/e.conf:2, only listen and"
	  " upstream-pin may be repeated" },
	{ "[nabproxy]\n[nabproxy]\n", 2,
	  "[nabproxy] is already at %s/e.conf:1, allowed once" },
	{ "[nabproxy\n", 1,
	  "malformed section header, expected [KIND] or [KIND NAME]" },
	{ "[nabproxy] x\n", 1,
	  "malformed section header, expected [KIND] or [KIND NAME]" },
	{ "[server]\n", 1, "unknown section [server], expected"
	  " [nabproxy], [filter NAME] or [profile NAME]" },
	{ "[profile]\n", 1, "[profile] needs one name of letters,"
	  " digits, '-', '_' and '.', as in [profile NAME]" },
	{ "[profile a b]\n", 1, "[profile] needs one name of letters,"
	  " digits, '-', '_' and '.', as in [profile NAME]" },
	{ "[nabproxy main]\n", 1, "[nabproxy] takes no name" },
	{ "[nabproxy]\njust words\n", 2, "expected 'key = value', a"
	  " [section] header or a # comment" },
	{ "[nabproxy]\nmax stanza = 1\n", 2, "bad key 'max stanza',"
	  " keys use letters, digits, '-', '_' and '.'" },
	{ "listen = 1.2.3.4:5\n", 1, "'listen' is outside any"
	  " section, put it under [nabproxy], [filter NAME] or"
	  " [profile NAME]" },
	{ "[nabproxy]\nidle-timeout = 20\nconnect-timeout = 20\n", 3,
	  "connect-timeout (20s) must be less than idle-timeout"
	  " (20s)" },
	{ "[nabproxy]\nidle-timeout = 5\n", 2,
	  "connect-timeout (10s) must be less than idle-timeout (5s)" },
	{ "[nabproxy]\nmax-connections = 10\n", 2,
	  "max-per-source (32) must not exceed max-connections (10)" },
	{ "[nabproxy]\nmax-stanza = 128K\n", 2,
	  "hold-queue (65536) must be at least max-stanza (131072),"
	  " so that a whole stanza can be held" },
	{ "[nabproxy]\nprofile = nope\n", 2, "profile: no [profile"
	  " nope], defined profiles are: passthrough" },
	{ "[profile p]\nfilters = auth nope\n", 2, "unknown filter"
	  " 'nope' in [profile p], known filters are: auth, register,"
	  " bind, firmware-guard, digest-server, presence-echo,"
	  " sources, iq-answer" },
	{ "[profile p]\nfilters = auth bind auth\n", 2, "filter 'auth'"
	  " is listed twice in [profile p], allowed once" },
	{ "[profile p]\nfilters = auth\nfilters = bind\n", 3,
	  "'filters' is already set at %s/e.conf:2, allowed once per"
	  " profile" },
	{ "[profile p]\n[profile p]\n", 2,
	  "[profile p] is already at %s/e.conf:1, allowed once" },
	{ "[profile p]\nmatch-mac = 00:13:d3\n", 2, "'00:13:d3' is not"
	  " a MAC address, allowed 12 hex digits, ':' or '-'"
	  " separated, or a prefix ending in '*'" },
	/* A glob cut short would mean something else (no final '*'). */
	{ "[profile p]\nmatch-jid = " P100 P100 P100 P100 P100 P100 "*\n", 2,
	  "match-jid pattern of 601 bytes, allowed at most 511" },
	{ "[profile p]\nmatch-model = x\n", 2, "unknown key"
	  " 'match-model' in [profile p], allowed filters, match-mac,"
	  " match-jid and match-firmware" },
	{ "[filter ext]\nx = 1\n", 1, "[filter ext] is not built in"
	  " and has no path, add path = FILE.so" },
	{ "[filter auth]\npath = auth.so\n", 1, "[filter auth] is a"
	  " built-in filter and takes no path, give an external"
	  " filter another name" },
	{ "[filter ext]\npath = a.so\npath = b.so\n", 2, "'path' is set"
	  " more than once in [filter ext]" },
	{ "[filter ext]\npath = a.so\n[filter ext]\npath = a.so\n", 3,
	  "[filter ext] is already at %s/e.conf:1, allowed once" },
	{ "[nabproxy]\ninclude =\n", 2,
	  "include needs a file name or a glob pattern" },
	{ "[nabproxy]\ninclude = missing.conf\n", 2, "cannot include"
	  " %s/missing.conf: No such file or directory" },
};

static void
test_each_error(void **state)
{
	struct config_errors	 errs;
	char			 msg[1024];
	size_t			 i;

	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		tu_put(dir, "e.conf", error_cases[i].text);
		assert_null(load("e.conf", &errs, 0));
		snprintf(msg, sizeof(msg), error_cases[i].msg, dir);
		EXPECT(errs.ce_count == 1, "case %zu: %zu errors, first: %s",
		    i, errs.ce_count, errs.ce_msg[0]);
		expect_msg(&errs, 0, "e.conf", error_cases[i].line, msg);
		config_errors_free(&errs);
	}
}

static void
test_many_errors(void **state)
{
	struct config_errors	 errs;

	tu_put(dir, "m.conf",
	    "[nabproxy]\n"
	    "bogus = 1\n"
	    "max-depth = 1000\n"
	    "listen = nowhere\n"
	    "listen = 10.0.0.1:5222\n"
	    "idle-timeout = 5\n"
	    "[what]\n"
	    "ignored = because the header was bad\n"
	    "[profile p]\n"
	    "filters = ghost\n"
	    "match-mac = xyz\n");
	assert_null(load("m.conf", &errs, 0));
	assert_int_equal(errs.ce_count, 7);
	/* Generic layer first, then [nabproxy], profiles, cross checks. */
	expect_msg(&errs, 0, "m.conf", 7, "unknown section [what], expected"
	    " [nabproxy], [filter NAME] or [profile NAME]");
	expect_msg(&errs, 1, "m.conf", 2, "unknown key 'bogus' in"
	    " [nabproxy]");
	expect_msg(&errs, 2, "m.conf", 3, "max-depth: '1000' is out of"
	    " range, allowed 4..256");
	expect_msg(&errs, 3, "m.conf", 4, "listen: 'nowhere' is not"
	    " HOST:PORT, allowed ADDR:PORT with a numeric IPv4 address or"
	    " [IPv6] address and port 0..65535");
	expect_msg(&errs, 4, "m.conf", 10, "unknown filter 'ghost' in"
	    " [profile p], known filters are: auth, register, bind,"
	    " firmware-guard, digest-server, presence-echo, sources,"
	    " iq-answer");
	expect_msg(&errs, 5, "m.conf", 11, "'xyz' is not a MAC address,"
	    " allowed 12 hex digits, ':' or '-' separated, or a prefix"
	    " ending in '*'");
	expect_msg(&errs, 6, "m.conf", 6, "connect-timeout (10s) must be"
	    " less than idle-timeout (5s)");
	config_errors_free(&errs);
}

static void
test_includes(void **state)
{
	struct config_errors	 errs;
	struct config		*cfg;
	const struct config_section *sec;

	tu_put(dir, "inc/main.conf",
	    "[nabproxy]\n"
	    "max-depth = 8\n"
	    "include = profiles/*.conf\n"
	    "max-stanza = 2K\n"		/* still [nabproxy] */
	    "include = profiles/none-*.conf\n");
	tu_put(dir, "inc/profiles/b.conf", "[profile b]\nfilters = bind\n"
	    "include = ../extra/one.conf\n");
	tu_put(dir, "inc/profiles/a.conf", "[profile a]\nfilters = auth\n");
	tu_put(dir, "inc/extra/one.conf", "[filter auth]\nretries = 3\n");
	cfg = load("inc/main.conf", &errs, 1);
	assert_int_equal(cfg->max_depth, 8);
	assert_int_equal(cfg->max_stanza, 2048);
	/* Sorted glob order, then the nested include. */
	assert_int_equal(cfg->nprofiles, 3);
	assert_string_equal(cfg->profiles[0].name, "a");
	assert_string_equal(cfg->profiles[1].name, "b");
	assert_string_equal(cfg->profiles[2].name, "passthrough");
	sec = config_filter_find(cfg, "auth")->section;
	EXPECT(sec != NULL, "[filter auth] from the nested include missing");
	{
		char want[PATH_MAX];

		snprintf(want, sizeof(want),
		    "%s/inc/profiles/../extra/one.conf", dir);
		assert_string_equal(sec->file, want);
		assert_string_equal(sec->entries[0].file, want);
		assert_int_equal(sec->entries[0].line, 2);
	}
	config_free(cfg);
	config_errors_free(&errs);

	/* An error inside an included file names that file. */
	tu_put(dir, "inc/profiles/c.conf", "[profile c]\nfilters = nope\n");
	assert_null(load("inc/main.conf", &errs, 0));
	assert_int_equal(errs.ce_count, 1);
	EXPECT(strstr(errs.ce_msg[0], "/inc/profiles/c.conf:2: unknown"
	    " filter 'nope'") != NULL, "got %s", errs.ce_msg[0]);
	config_errors_free(&errs);

	/* A loop is refused, not followed. */
	tu_put(dir, "loop/a.conf", "[nabproxy]\ninclude = b.conf\n");
	tu_put(dir, "loop/b.conf", "include = a.conf\n");
	assert_null(load("loop/a.conf", &errs, 0));
	assert_int_equal(errs.ce_count, 1);
	{
		char want[PATH_MAX];

		snprintf(want, sizeof(want), "include loop: %s/loop/a.conf is"
		    " already being read", dir);
		expect_msg(&errs, 0, "loop/b.conf", 1, want);
	}
	config_errors_free(&errs);

	/* The main file itself missing. */
	assert_null(load("absent.conf", &errs, 0));
	assert_int_equal(errs.ce_count, 1);
	expect_msg(&errs, 0, "absent.conf", 0,
	    "cannot open: No such file or directory");
	config_errors_free(&errs);
}

static void
test_set(void **state)
{
	struct config_errors	 errs;
	struct config		*cfg;
	char			 err[512];

	tu_put(dir, "s.conf", "[nabproxy]\nlisten = 10.0.0.1:5222\n"
	    "listen = 10.0.0.2:5222\nupstream = a.example:5222\n");
	cfg = load("s.conf", &errs, 1);
	assert_int_equal(cfg->nlisten, 2);

	/* The first --listen replaces the file's list, the next append. */
	assert_int_equal(config_set(cfg, "listen", "[::]:5222", err,
	    sizeof(err)), 0);
	assert_int_equal(cfg->nlisten, 1);
	assert_string_equal(cfg->listen[0].host, "::");
	assert_int_equal(config_set(cfg, "listen", "127.0.0.1:15222", err,
	    sizeof(err)), 0);
	assert_int_equal(cfg->nlisten, 2);
	assert_int_equal(cfg->listen[1].port, 15222);
	assert_int_equal(config_set(cfg, "listen", "127.0.0.1:15222", err,
	    sizeof(err)), -1);
	assert_int_equal(cfg->nlisten, 2);

	/* Same validation as the file; cfg unchanged on error. */
	assert_int_equal(config_set(cfg, "upstream", "", err, sizeof(err)), 0);
	assert_string_equal(cfg->upstream_host, "");
	assert_int_equal(config_set(cfg, "upstream", "[2001:db8::1]:5222",
	    err, sizeof(err)), 0);
	assert_string_equal(cfg->upstream_host, "2001:db8::1");
	assert_int_equal(config_set(cfg, "upstream", "host:99999", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "upstream: 'host:99999' is not HOST:PORT,"
	    " allowed HOST:PORT or [IPv6]:PORT with port 1..65535, or"
	    " nothing for demo mode");
	assert_string_equal(cfg->upstream_host, "2001:db8::1");
	assert_int_equal(cfg->upstream_port, 5222);
	assert_int_equal(config_set(cfg, "log-format", "raw", err,
	    sizeof(err)), 0);
	assert_int_equal(cfg->log_format, CONFIG_LOG_RAW);
	assert_int_equal(config_set(cfg, "log-file", "/tmp/x.log", err,
	    sizeof(err)), 0);
	assert_string_equal(cfg->log_file, "/tmp/x.log");
	assert_int_equal(config_set(cfg, "verbose", "yes", err, sizeof(err)),
	    0);
	assert_int_equal(cfg->verbose, 1);

	/* Cross checks roll back. */
	assert_int_equal(config_set(cfg, "idle-timeout", "10", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "connect-timeout (10s) must be less than"
	    " idle-timeout (10s)");
	assert_int_equal(cfg->idle_timeout, 300);
	assert_int_equal(config_set(cfg, "profile", "ghost", err,
	    sizeof(err)), -1);
	assert_string_equal(cfg->profile, "auto");

	/* credentials follows state-dir until set itself. */
	assert_int_equal(config_set(cfg, "state-dir", "/srv/s", err,
	    sizeof(err)), 0);
	assert_string_equal(cfg->credentials, "/srv/s/credentials");
	assert_int_equal(config_set(cfg, "credentials", "/etc/c", err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "state-dir", "/srv/t", err,
	    sizeof(err)), 0);
	assert_string_equal(cfg->credentials, "/etc/c");
	assert_int_equal(config_set(cfg, "credentials", "", err,
	    sizeof(err)), 0);
	assert_string_equal(cfg->credentials, "/srv/t/credentials");

	assert_int_equal(config_set(cfg, "nope", "1", err, sizeof(err)), -1);
	assert_string_equal(err, "nope: unknown key, allowed the keys of"
	    " [nabproxy] in nabproxy.conf");
	config_free(cfg);
	config_errors_free(&errs);
}

/* Every documented key can be set: also proves the table is sorted. */
static void
test_every_key(void **state)
{
	static const char *const kv[][2] = {
		{ "allow-plain-cleartext", "no" }, { "connect-timeout", "1" },
		{ "control-socket", "/run/n.sock" },
		{ "credentials", "/c" }, { "drain-timeout", "1" },
		{ "header-timeout", "5" }, { "memory-budget", "1M" },
		{ "max-dials", "8" },
		{ "write-timeout", "2m" },
		{ "hold-queue", "16M" }, { "http-listen", "127.0.0.1:9188" }, { "idle-timeout", "1h" },
		{ "listen", "0.0.0.0:1" }, { "log-dir", "/l" },
		{ "log-file", "/f" }, { "log-format", "none" },
		{ "log-prefix", "on" }, { "max-connections", "100" },
		{ "max-depth", "4" }, { "max-per-source", "100" },
		{ "max-stanza", "16M" }, { "profile", "passthrough" },
		{ "redact", "yes" }, { "scram-max-iterations", "10000000" },
		{ "scram-min-iterations", "4096" },
		{ "state-dir", "/s" }, { "upstream", "h:1" },
		{ "verbose", "off" }, { "user", "nobody" },
		{ "pid-file", "/p.pid" }, { "watch", "0013d3840001" },
	};
	struct config_errors	 errs;
	struct config		*cfg;
	char			 err[512];
	size_t			 i;

	tu_put(dir, "k.conf", "");
	cfg = load("k.conf", &errs, 1);
	for (i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		EXPECT(config_set(cfg, kv[i][0], kv[i][1], err,
		    sizeof(err)) == 0, "%s = %s: %s", kv[i][0], kv[i][1], err);
	assert_int_equal(cfg->max_stanza, 16 * 1024 * 1024);
	assert_int_equal(cfg->idle_timeout, 3600);
	assert_string_equal(cfg->user, "nobody");
	assert_string_equal(cfg->pid_file, "/p.pid");
	config_free(cfg);
	config_errors_free(&errs);
}

static void
test_hostport(void **state)
{
	static const struct {
		const char	*in;
		int		 rc;
		const char	*host;
		unsigned short	 port;
	} cases[] = {
		{ "127.0.0.1:5222", 0, "127.0.0.1", 5222 },
		{ "[::1]:5222", 0, "::1", 5222 },
		{ "[fe80::1%eth0]:1", 0, "fe80::1%eth0", 1 },
		{ "example.org:65535", 0, "example.org", 65535 },
		{ "h:0", 0, "h", 0 },
		{ "h:65536", -1, NULL, 0 },
		{ "h:", -1, NULL, 0 },
		{ ":5222", -1, NULL, 0 },
		{ "h", -1, NULL, 0 },
		{ "::1:5222", -1, NULL, 0 },
		{ "[::1]5222", -1, NULL, 0 },
		{ "[::1:5222", -1, NULL, 0 },
		{ "h:+1", -1, NULL, 0 },
		{ "h:1 ", -1, NULL, 0 },
		{ "h h:1", -1, NULL, 0 },
		{ "h:000005222", -1, NULL, 0 },
	};
	char		host[64];
	unsigned short	port;
	size_t		i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EXPECT(config_parse_hostport(cases[i].in, host, sizeof(host),
		    &port) == cases[i].rc, "%s: wrong result", cases[i].in);
		if (cases[i].rc == 0) {
			assert_string_equal(host, cases[i].host);
			assert_int_equal(port, cases[i].port);
		}
	}
	/* The host must fit. */
	assert_int_equal(config_parse_hostport("abcd:1", host, 4, &port), -1);
	assert_int_equal(config_parse_hostport("abc:1", host, 4, &port), 0);
}

/* The file we ship loads as-is with the documented values. */
static void
test_shipped(void **state)
{
	struct config_errors		 errs;
	struct config			*cfg;
	const struct config_profile	*pr;
	static const char *const boot[] = {
		"firmware-guard", "digest-server", "auth", "register", "bind",
		"presence-echo", "sources", "iq-answer"
	};
	size_t				 i, j;

	config_errors_init(&errs);
	cfg = config_load(NAB_SOURCE_DIR "/etc/nabproxy.conf", builtins,
	    &errs);
	EXPECT(cfg != NULL, "shipped config: %s",
	    errs.ce_count ? errs.ce_msg[0] : "?");
	assert_int_equal(cfg->nlisten, 1);
	assert_string_equal(cfg->listen[0].host, "127.0.0.1");
	assert_int_equal(cfg->listen[0].port, 5222);
	assert_string_equal(cfg->upstream_host, "");
	assert_string_equal(cfg->state_dir, "/var/lib/nabproxy");
	assert_string_equal(cfg->credentials,
	    "/var/lib/nabproxy/credentials");
	assert_string_equal(cfg->profile, "auto");
	/* Shipped commented out: the packager or the operator sets them. */
	assert_string_equal(cfg->user, "");
	assert_string_equal(cfg->pid_file, "");
	assert_int_equal(cfg->nprofiles, 3);
	/*
	 * The bootcode profile may ship without the filters not built yet,
	 * but those it names keep the canonical order, guard first.
	 */
	pr = config_profile_select(cfg, NULL, NULL, "bootcode-18673");
	assert_string_equal(pr->name, "bootcode-18673");
	EXPECT(pr->nfilters >= 1, "bootcode-18673 has no filters");
	assert_string_equal(pr->filters[0]->name, "firmware-guard");
	for (i = j = 0; i < pr->nfilters; i++, j++) {
		while (j < 8 && strcmp(pr->filters[i]->name, boot[j]) != 0)
			j++;
		EXPECT(j < 8, "bootcode-18673: filter %s out of order",
		    pr->filters[i]->name);
	}
	pr = config_profile_select(cfg, NULL, NULL, "simulator");
	assert_string_equal(pr->name, "simulator");
	assert_int_equal(pr->nfilters, 3);
	assert_string_equal(pr->filters[0]->name, "auth");
	assert_string_equal(pr->filters[1]->name, "register");
	assert_string_equal(pr->filters[2]->name, "bind");
	pr = config_profile_select(cfg, NULL, NULL, "something-else");
	assert_string_equal(pr->name, "passthrough");
	assert_non_null(pr->section);
	assert_int_equal(pr->nfilters, 0);
	config_free(cfg);
	config_errors_free(&errs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_good_values, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_good_sections, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_each_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_many_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_includes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_key, setup,
		    teardown),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_shipped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
