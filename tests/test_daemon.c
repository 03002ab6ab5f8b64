/*
 * test_daemon: proxy/daemon.c turning a config file into a running proxy
 * and back: daemon_opts, daemon_chains, daemon_setup serving a real
 * session through the configured filter, daemon_teardown closing it with
 * system-shutdown, and the reload rule (build the new chains first, keep
 * the running ones when that fails; open sessions keep their chain).
 * Reload is driven by calling the functions SIGHUP uses, not by signals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "config.h"
#include "daemon.h"
#include "nabtest.h"

struct fixture {
	struct nt_world	 w;
	char		 dir[64];
	char		 conf[128];
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	nt_world_init(&f->w);
	/* daemon_setup() makes its own resolver. */
	evdns_base_free(f->w.px.dns, 0);
	f->w.px.dns = NULL;
	snprintf(f->dir, sizeof(f->dir), "/tmp/nabtest.XXXXXX");
	NT_CHECK(mkdtemp(f->dir) != NULL, "mkdtemp");
	snprintf(f->conf, sizeof(f->conf), "%s/nabproxy.conf", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		 path[160];

	daemon_teardown(&f->w.px);
	nt_world_free(&f->w);
	unlink(f->conf);
	snprintf(path, sizeof(path), "%s/credentials", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/*
 * Write the config: the fake server upstream, t-host with state=`state`
 * (or the module `so` instead), extra lines appended to [nabproxy].
 */
static void
write_conf(struct fixture *f, const char *so, const char *state,
    const char *extra)
{
	FILE	*fp = fopen(f->conf, "w");

	NT_CHECK(fp != NULL, "cannot write %s", f->conf);
	fprintf(fp, "[nabproxy]\nlisten = 127.0.0.1:0\n"
	    "upstream = 127.0.0.1:%u\n"
	    "state-dir = %s\ncredentials = %s/credentials\nlog-format = none\n"
	    "profile = test\nconnect-timeout = 3\nidle-timeout = 40\n%s\n"
	    "[filter t-host]\npath = %s\nstate = %s\n\n[profile test]\n"
	    "filters = t-host\n", f->w.srv_port, f->dir, f->dir, extra,
	    nt_filter_path(so), state);
	fclose(fp);
}

/* config_load() the file; NULL (with the errors shown) when it fails. */
static struct config *
load(struct fixture *f, int must)
{
	struct config_errors	 errs;
	struct config		*cfg;

	char			 msg[512];

	config_errors_init(&errs);
	cfg = config_load(f->conf, chain_builtin_names(), &errs);
	snprintf(msg, sizeof(msg), "%s", errs.ce_count ? errs.ce_msg[0] : "?");
	config_errors_free(&errs);
	NT_CHECK(cfg != NULL || !must, "config_load: %s", msg);
	return cfg;
}

/* daemon_setup() from the file, then point the world at its listener. */
static void
start(struct fixture *f)
{
	struct config	*cfg = load(f, 1);
	char		 err[1024];

	NT_CHECK(daemon_setup(&f->w.px, f->w.base, cfg, geteuid(), err,
	    sizeof(err)) == 0,
	    "daemon_setup: %s", err);
	f->w.px_port = listener_port(f->w.px.lst, 0);
	NT_CHECK(f->w.px_port != 0, "no port bound");
	config_free(cfg);
}

/* A new session, asked which filter state its chain runs with. */
static struct nt_peer *
session_state(struct fixture *f, const char *want_state)
{
	struct nt_peer	*rabbit, *srv;
	char		 want[128];

	nt_open(&f->w, &rabbit, &srv);
	nt_send(rabbit, "<t op='data'/>");
	snprintf(want, sizeof(want), "<r op='data' count='1' state='%s'></r>",
	    want_state);
	nt_expect(rabbit, want, "rabbit (its chain's filter state)");
	nt_clear(rabbit);
	return rabbit;
}

static void
test_opts(void **state)
{
	struct fixture		*f = *state;
	struct config		*cfg;
	struct proxy_opts	 o;

	write_conf(f, "t_host", "v1", "max-stanza = 4K\nhold-queue = 8K\n"
	    "allow-plain-cleartext = yes\nredact = no\n");
	cfg = load(f, 1);
	daemon_opts(cfg, &o);
	NT_CHECK(strcmp(o.upstream_host, "127.0.0.1") == 0 &&
	    o.upstream_port == f->w.srv_port, "upstream %s:%u",
	    o.upstream_host, o.upstream_port);
	NT_CHECK(o.connect_timeout == 3 && o.idle_timeout == 40,
	    "timeouts %u/%u", o.connect_timeout, o.idle_timeout);
	NT_CHECK(o.max_stanza == 4096 && o.hold_queue == 8192, "sizes %zu/%zu",
	    o.max_stanza, o.hold_queue);
	NT_CHECK(o.allow_plain_cleartext == 1 && o.redact == 0 &&
	    o.log_format == LOGFMT_NONE, "plain %d redact %d format %d",
	    o.allow_plain_cleartext, o.redact, o.log_format);
	config_free(cfg);
}

static void
test_setup_serves_and_teardown_shuts_down(void **state)
{
	struct fixture	*f = *state;
	struct nt_peer	*rabbit;

	write_conf(f, "t_host", "v1", "");
	start(f);
	rabbit = session_state(f, "v1");
	NT_CHECK(f->w.px.nsessions == 1, "%u sessions", f->w.px.nsessions);
	daemon_teardown(&f->w.px);
	nt_expect(rabbit, NT_ERR("system-shutdown"), "rabbit (shutdown)");
	nt_wait_gone(rabbit, "the rabbit's connection to close");
	NT_CHECK(f->w.px.nsessions == 0 && f->w.px.lst == NULL &&
	    f->w.px.chains == NULL, "teardown left state behind");
}

static void
test_setup_refuses_broken_filter(void **state)
{
	struct fixture	*f = *state;
	struct config	*cfg;
	char		 err[2048];

	write_conf(f, "t_badmagic", "v1", "");
	cfg = load(f, 1);
	NT_CHECK(daemon_setup(&f->w.px, f->w.base, cfg, geteuid(), err,
	    sizeof(err)) == -1,
	    "daemon_setup accepted a broken filter");
	NT_CHECK(strstr(err, nt_filter_path("t_badmagic")) != NULL &&
	    strstr(err, "bad magic") != NULL, "error: %s", err);
	NT_CHECK(f->w.px.lst == NULL, "listening despite the error");
	config_free(cfg);
}

static void
test_setup_refuses_busy_port(void **state)
{
	struct fixture	*f = *state;
	struct config	*cfg;
	char		 err[2048], line[64];

	snprintf(line, sizeof(line), "listen = 127.0.0.1:%u\n", f->w.srv_port);
	write_conf(f, "t_host", "v1", line);
	cfg = load(f, 1);
	NT_CHECK(daemon_setup(&f->w.px, f->w.base, cfg, geteuid(), err,
	    sizeof(err)) == -1,
	    "daemon_setup bound a busy port");
	snprintf(line, sizeof(line), "listen 127.0.0.1:%u", f->w.srv_port);
	NT_CHECK(strstr(err, line) != NULL, "error does not name the address: "
	    "%s", err);
	config_free(cfg);
}

/*
 * What on_sighup() does: a new config, its chains built before anything
 * is swapped. Returns 1 if swapped, 0 if the running ones were kept.
 */
static int
reload(struct fixture *f)
{
	struct config	*cfg = load(f, 0);
	struct chainset	*cs;
	char		 err[2048];

	if (cfg == NULL)
		return 0;
	cs = daemon_chains(cfg, err, sizeof(err));
	if (cs != NULL) {
		chainset_unref(f->w.px.chains);
		f->w.px.chains = cs;
		daemon_opts(cfg, &f->w.px.opt);
	}
	config_free(cfg);
	return cs != NULL;
}

static void
test_reload(void **state)
{
	struct fixture	*f = *state;
	struct nt_peer	*old, *r2, *r3;

	write_conf(f, "t_host", "v1", "");
	start(f);
	old = session_state(f, "v1");
	write_conf(f, "t_badmagic", "v2", "");
	NT_CHECK(reload(f) == 0, "a broken filter replaced the chains");
	write_conf(f, "t_host", "v3", "max-stanza = banana\n");
	NT_CHECK(reload(f) == 0, "a broken config replaced the chains");
	r2 = session_state(f, "v1");
	write_conf(f, "t_host", "v4", "");
	NT_CHECK(reload(f) == 1, "a good config was refused");
	r3 = session_state(f, "v4");
	/* Open sessions keep the chain (and filter state) they started with. */
	nt_send(old, "<t op='data'/>");
	nt_expect(old, "<r op='data' count='2' state='v1'></r>",
	    "first rabbit (old chain)");
	nt_send(r2, "<t op='data'/>");
	nt_expect(r2, "<r op='data' count='2' state='v1'></r>",
	    "second rabbit (old chain)");
	nt_send(r3, "<t op='data'/>");
	nt_expect(r3, "<r op='data' count='2' state='v4'></r>",
	    "third rabbit (new chain)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_opts),
		T(test_setup_serves_and_teardown_shuts_down),
		T(test_setup_refuses_broken_filter),
		T(test_setup_refuses_busy_port),
		T(test_reload),
#undef T
	};

	nt_main_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
