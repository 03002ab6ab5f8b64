/*
 * daemon: the long-running process. One event loop; SIGTERM drains
 * (listeners off, sessions finish until drain-timeout, then are cut with
 * system-shutdown), SIGINT cuts at once, SIGHUP reloads: a new config is
 * parsed and its chains and credentials built before anything is swapped,
 * so a broken file leaves the running configuration in force.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "chain.h"
#include "config.h"
#include "creds.h"
#include "ctl.h"
#include "ctlreg.h"
#include "kdf.h"
#include "daemon.h"
#include "identity.h"
#include "listener.h"
#include "metrics.h"
#include "log.h"
#include "main-int.h"
#include "proxy.h"
#include "sasl.h"
#include "session.h"
#include "tls.h"
#include "tls_pin.h"

struct daemon_run {
	struct proxy	  px;
	struct config	 *cfg;
	struct config	*(*reload)(void);
	struct event	 *sig[4];
};

static void	on_sigterm(evutil_socket_t, short, void *);
static void	on_sigint(evutil_socket_t, short, void *);
static void	on_sighup(evutil_socket_t, short, void *);
static void	on_drain_timeout(evutil_socket_t, short, void *);
static int	daemon_reload(void *, char *, size_t);
static int	daemon_ctl(struct daemon_run *, const struct config *);
static int	daemon_metrics(struct daemon_run *, const struct config *);

void
daemon_opts(const struct config *cfg, struct proxy_opts *o)
{
	static const int fmt[] = { LOGFMT_VM, LOGFMT_RAW, LOGFMT_BOTH,
	    LOGFMT_NONE };
	char		 abs[PATH_MAX];
	size_t		 i;

	memset(o, 0, sizeof(*o));
	snprintf(o->upstream_host, sizeof(o->upstream_host), "%s",
	    cfg->upstream_host);
	o->upstream_port = cfg->upstream_port;
	o->connect_timeout = cfg->connect_timeout;
	o->idle_timeout = cfg->idle_timeout;
	o->drain_timeout = cfg->drain_timeout;
	o->max_connections = cfg->max_connections;
	o->max_per_source = cfg->max_per_source;
	o->max_stanza = cfg->max_stanza;
	o->max_depth = cfg->max_depth;
	o->hold_queue = cfg->hold_queue;
	o->log_format = fmt[cfg->log_format & 3];
	o->log_prefix = cfg->log_prefix;
	snprintf(o->log_dir, sizeof(o->log_dir), "%s",
	    cfg->log_dir ? cfg->log_dir : "");
	o->redact = cfg->redact;
	o->scram_max_iterations = cfg->scram_max_iterations;
	o->allow_plain_cleartext = cfg->allow_plain_cleartext;
	o->upstream_tls = cfg->upstream_tls == CONFIG_TLS_REQUIRED ?
	    UPSTREAM_TLS_REQUIRED : cfg->upstream_tls == CONFIG_TLS_NO ?
	    UPSTREAM_TLS_NO : UPSTREAM_TLS_STARTTLS;
	snprintf(o->upstream_tls_name, sizeof(o->upstream_tls_name), "%s",
	    cfg->upstream_tls_name ? cfg->upstream_tls_name : "");
	o->upstream_verify = cfg->upstream_verify;	/* same numbers */
	for (i = 0; i < cfg->nupstream_pins && i < CONFIG_PINS_MAX; i++)
		memcpy(o->upstream_pins[i], cfg->upstream_pins[i],
		    sizeof(o->upstream_pins[i]));
	o->nupstream_pins = i;
	tls_pin_path(cfg->state_dir, o->pin_file, sizeof(o->pin_file));
	/* Absolute when it can be: messages quote it in commands. */
	if (cfg->path == NULL || realpath(cfg->path, abs) == NULL)
		snprintf(abs, sizeof(abs), "%s", cfg->path ? cfg->path : "");
	snprintf(o->conf_path, sizeof(o->conf_path), "%s", abs);
}

struct chainset *
daemon_chains(const struct config *cfg, char *err, size_t errlen)
{
	struct chain_filter_conf	*fc;
	struct chain_profile_conf	*pc;
	struct nab_kv			*kv = NULL;
	struct chainset			*cs = NULL;
	const char			**names = NULL;
	size_t				 i, j, nkv = 0, nn = 0;

	fc = calloc(cfg->nfilters + 1, sizeof(*fc));
	pc = calloc(cfg->nprofiles + 1, sizeof(*pc));
	for (i = 0; i < cfg->nfilters; i++)
		if (cfg->filters[i].section != NULL)
			nkv += cfg->filters[i].section->nentries;
	for (i = 0; i < cfg->nprofiles; i++)
		nn += cfg->profiles[i].nfilters;
	kv = calloc(nkv + 1, sizeof(*kv));
	names = calloc(nn + 1, sizeof(*names));
	if (fc == NULL || pc == NULL || kv == NULL || names == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	nkv = nn = 0;
	for (i = 0; i < cfg->nfilters; i++) {
		const struct config_section *s = cfg->filters[i].section;
		fc[i].name = cfg->filters[i].name;
		fc[i].path = cfg->filters[i].path;
		fc[i].kv = &kv[nkv];
		fc[i].file = s ? s->file : NULL;
		fc[i].line = s ? (int)s->line : 0;
		for (j = 0; s != NULL && j < s->nentries; j++, nkv++) {
			kv[nkv].key = s->entries[j].key;
			kv[nkv].value = s->entries[j].value;
			kv[nkv].file = s->entries[j].file;
			kv[nkv].line = (int)s->entries[j].line;
		}
		fc[i].nkv = (size_t)(&kv[nkv] - fc[i].kv);
	}
	for (i = 0; i < cfg->nprofiles; i++) {
		const struct config_profile *p = &cfg->profiles[i];
		pc[i].name = p->name;
		pc[i].filters = &names[nn];
		for (j = 0; j < p->nfilters; j++)
			names[nn++] = p->filters[j]->name;
		pc[i].nfilters = p->nfilters;
		pc[i].match_mac = (const char *const *)p->match_mac;
		pc[i].nmatch_mac = p->nmatch_mac;
		pc[i].match_jid = (const char *const *)p->match_jid;
		pc[i].nmatch_jid = p->nmatch_jid;
		pc[i].match_firmware = (const char *const *)p->match_firmware;
		pc[i].nmatch_firmware = p->nmatch_firmware;
	}
	cs = chainset_build(fc, cfg->nfilters, pc, cfg->nprofiles, cfg->profile,
	    err, errlen);
done:
	free(fc);
	free(pc);
	free(kv);
	free(names);
	return cs;
}

int
daemon_setup(struct proxy *px, struct event_base *base,
    const struct config *cfg, char *err, size_t errlen)
{
	struct listen_addr	*la;
	size_t			 i;

	memset(px, 0, sizeof(*px));
	TAILQ_INIT(&px->sessions);
	px->base = base;
	daemon_opts(cfg, &px->opt);
	if ((px->dns = evdns_base_new(base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL &&
	    (px->dns = evdns_base_new(base, 0)) == NULL) {
		snprintf(err, errlen, "cannot set up the DNS resolver");
		return -1;
	}
	if ((px->chains = daemon_chains(cfg, err, errlen)) == NULL)
		return -1;
	if (cfg->upstream_tls != CONFIG_TLS_NO &&
	    (px->tls_ctx = tls_client_ctx(cfg->upstream_ca,
	    cfg->upstream_verify, err, errlen)) == NULL)
		return -1;
	if ((px->reg = ctlreg_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (ctlreg_set_watch(px->reg, cfg->watch, err, errlen) == -1)
		return -1;
	if (px->guard == NULL) {
		struct idguard_opts go = { cfg->probe_backoff_min,
		    cfg->probe_backoff_max, cfg->max_probes };

		if ((px->guard = idguard_new(&go)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if ((px->creds = creds_open(cfg->credentials, err, errlen)) == NULL) {
		/* A missing or unsafe store disables learning, not the proxy. */
		log_warnx("credentials %s: %s (continuing without)",
		    cfg->credentials, err);
		err[0] = '\0';
	}
	if ((la = calloc(cfg->nlisten, sizeof(*la))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < cfg->nlisten; i++) {
		la[i].host = cfg->listen[i].host;
		la[i].port = cfg->listen[i].port;
	}
	px->lst = listener_new(px, la, cfg->nlisten, err, errlen);
	free(la);
	return px->lst == NULL ? -1 : 0;
}

void
daemon_teardown(struct proxy *px)
{
	ctl_free(px->ctl);
	px->ctl = NULL;
	metrics_free(px->metrics);
	px->metrics = NULL;
	session_shutdown_all(px, "system-shutdown");
	/* One pass to flush the stream errors, then cut what is left. */
	if (px->base != NULL)
		event_base_loop(px->base, EVLOOP_NONBLOCK);
	session_free_all(px);
	/* Cancelled probes free themselves from deferred events: run them. */
	if (px->base != NULL)
		event_base_loop(px->base, EVLOOP_NONBLOCK);
	listener_free(px->lst);
	px->lst = NULL;
	ctlreg_free(px->reg);
	px->reg = NULL;
	chainset_unref(px->chains);
	px->chains = NULL;
	SSL_CTX_free(px->tls_ctx);
	px->tls_ctx = NULL;
	if (px->creds != NULL)
		creds_close(px->creds);
	px->creds = NULL;
	idguard_free(px->guard);
	px->guard = NULL;
	/* After the sessions: their logins cancelled their jobs. */
	kdf_pool_free(px->kdf);
	px->kdf = NULL;
	if (px->dns != NULL)
		evdns_base_free(px->dns, 0);
	px->dns = NULL;
	if (px->drain_ev != NULL)
		event_free(px->drain_ev);
	px->drain_ev = NULL;
}

void
proxy_session_gone(struct proxy *px)
{
	if (px->draining && px->nsessions == 0)
		event_base_loopexit(px->base, NULL);
}

static void
on_sigterm(evutil_socket_t sig, short what, void *arg)
{
	struct daemon_run	*d = arg;
	struct proxy		*px = &d->px;
	struct timeval		 tv = { px->opt.drain_timeout, 0 };

	if (px->draining)
		return;
	px->draining = 1;
	listener_disable(px->lst);
	log_info("SIGTERM: draining %u sessions (up to %us)", px->nsessions,
	    px->opt.drain_timeout);
	if (px->nsessions == 0) {
		event_base_loopexit(px->base, NULL);
		return;
	}
	if ((px->drain_ev = evtimer_new(px->base, on_drain_timeout, d)) != NULL)
		evtimer_add(px->drain_ev, &tv);
}

static void
on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct daemon_run	*d = arg;

	log_info("drain timeout: closing %u sessions", d->px.nsessions);
	event_base_loopexit(d->px.base, NULL);
}

static void
on_sigint(evutil_socket_t sig, short what, void *arg)
{
	struct daemon_run	*d = arg;

	log_info("SIGINT: exiting");
	event_base_loopexit(d->px.base, NULL);
}

static void
on_sighup(evutil_socket_t sig, short what, void *arg)
{
	char	msg[4096] = "";

	log_info("SIGHUP: reloading");
	if (daemon_reload(arg, msg, sizeof(msg)) == -1 &&
	    strcmp(msg, "configuration has errors") == 0)
		log_warnx("reload refused: configuration has errors, "
		    "keeping the running one");
	else if (msg[0] != '\0')
		log_warnx("reload refused, keeping the running one: %s", msg);
	else
		log_info("reload done");
}

/*
 * Parse and build everything a new configuration needs, then swap; on
 * any error keep the running one and say why in msg (-1). The control
 * socket's path is read at start only.
 */
static int
daemon_reload(void *arg, char *msg, size_t msglen)
{
	struct daemon_run	*d = arg;
	struct config		*cfg;
	struct chainset		*cs;
	SSL_CTX			*ctx = NULL;
	char			 err[4096];

	if ((cfg = d->reload()) == NULL) {
		snprintf(msg, msglen, "configuration has errors");
		return -1;
	}
	if ((cs = daemon_chains(cfg, err, sizeof(err))) == NULL) {
		snprintf(msg, msglen, "%s", err);
		config_free(cfg);
		return -1;
	}
	if (cfg->upstream_tls != CONFIG_TLS_NO && (ctx = tls_client_ctx(
	    cfg->upstream_ca, cfg->upstream_verify, err, sizeof(err))) == NULL) {
		snprintf(msg, msglen, "%s", err);
		chainset_unref(cs);
		config_free(cfg);
		return -1;
	}
	if (ctlreg_set_watch(d->px.reg, cfg->watch, msg, msglen) == -1) {
		SSL_CTX_free(ctx);
		chainset_unref(cs);
		config_free(cfg);
		return -1;
	}
	SSL_CTX_free(d->px.tls_ctx);
	d->px.tls_ctx = ctx;
	if (d->px.creds != NULL && creds_reload(d->px.creds, err,
	    sizeof(err)) == -1)
		log_warnx("credentials reload failed, keeping the old: %s", err);
	chainset_unref(d->px.chains);
	d->px.chains = cs;
	/* Open sessions keep their copied options; new ones get these. */
	daemon_opts(cfg, &d->px.opt);
	config_free(d->cfg);
	d->cfg = cfg;
	return 0;
}

/*
 * Open the control socket. An explicit control-socket that cannot be
 * opened stops the start (-1); the default one only warns, since the
 * state directory may not exist where nobody asked for the socket.
 */
static int
daemon_ctl(struct daemon_run *d, const struct config *cfg)
{
	const char	*cs = cfg->control_socket ? cfg->control_socket : "";
	char		 path[128], err[512];

	if (ctl_path(cs, cfg->state_dir, path, sizeof(path)) == -1) {
		log_warnx("control-socket: the path is too long");
		return cs[0] != '\0' ? -1 : 0;
	}
	if (path[0] == '\0')
		return 0;
	if ((d->px.ctl = ctl_new(&d->px, d->px.reg, path, daemon_reload, d,
	    err, sizeof(err))) == NULL) {
		log_warnx("%s%s", err, cs[0] != '\0' ? "" :
		    " (continuing without a control socket)");
		return cs[0] != '\0' ? -1 : 0;
	}
	log_info("control socket %s", path);
	return 0;
}

/* /metrics on http-listen, when set: -1 stops the start. */
static int
daemon_metrics(struct daemon_run *d, const struct config *cfg)
{
	char	err[512];

	if (cfg->http_listen == NULL || cfg->http_listen[0] == '\0')
		return 0;
	if ((d->px.metrics = metrics_new(&d->px, cfg->http_listen, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	log_info("metrics on http://%s/metrics (port %u)", cfg->http_listen,
	    metrics_port(d->px.metrics));
	return 0;
}

int
run_daemon(struct config *cfg, int foreground, struct config *(*reload)(void))
{
	static struct daemon_run	 d;
	struct event_base		*base;
	char				 err[4096];
	int				 i;

	if (log_open(cfg->log_file, cfg->verbose) == -1) {
		fprintf(stderr, "nabproxy: log file %s: %s\n", cfg->log_file,
		    strerror(errno));
		config_free(cfg);
		return 1;
	}
	if (!foreground && (cfg->log_file == NULL || *cfg->log_file == '\0')) {
		log_warnx("running in the background needs log-file "
		    "(or use --foreground)");
		config_free(cfg);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	d.cfg = cfg;
	d.reload = reload;
	if (daemon_setup(&d.px, base, cfg, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		daemon_teardown(&d.px);
		event_base_free(base);
		config_free(cfg);
		return 1;
	}
	if (daemon_ctl(&d, cfg) == -1 || daemon_metrics(&d, cfg) == -1) {
		daemon_teardown(&d.px);
		event_base_free(base);
		config_free(cfg);
		return 1;
	}
	if (!foreground && daemon(1, 0) == -1)
		fatalx("daemon: %s", strerror(errno));
	/* Threads after the fork: they would not survive it. */
	if ((d.px.kdf = kdf_pool_new(base, KDF_THREADS, KDF_QUEUE, err,
	    sizeof(err))) == NULL)
		log_warnx("%s: SCRAM key derivation runs on the event loop",
		    err);
	d.sig[0] = evsignal_new(base, SIGTERM, on_sigterm, &d);
	d.sig[1] = evsignal_new(base, SIGINT, on_sigint, &d);
	d.sig[2] = evsignal_new(base, SIGHUP, on_sighup, &d);
	for (i = 0; i < 3; i++)
		if (d.sig[i] == NULL || evsignal_add(d.sig[i], NULL) == -1)
			fatalx("cannot install signal handlers");
	if (log_attach(base) == -1)
		fatalx("cannot set up the log writer");
	for (i = 0; i < (int)cfg->nlisten; i++)
		log_info("listening on %s:%u, upstream %s:%u",
		    cfg->listen[i].host, listener_port(d.px.lst, (size_t)i),
		    cfg->upstream_host, cfg->upstream_port);
	event_base_dispatch(base);
	log_info("exiting: %llu accepted, %llu refused, %u still open, %lu "
	    "key derivations on worker threads",
	    (unsigned long long)d.px.n_accepted,
	    (unsigned long long)d.px.n_refused, d.px.nsessions,
	    d.px.kdf != NULL ? kdf_done_count(d.px.kdf) : 0UL);
	daemon_teardown(&d.px);
	for (i = 0; i < 3; i++)
		if (d.sig[i] != NULL)
			event_free(d.sig[i]);
	event_base_free(base);
	config_free(d.cfg);
	sasl_scram_cache_clear();
	log_close();
	return 0;
}
