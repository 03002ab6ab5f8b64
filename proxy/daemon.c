/*
 * daemon: the long-running process. One event loop; SIGTERM drains
 * (listeners off, sessions finish until drain-timeout, then are cut with
 * system-shutdown), SIGINT cuts at once, SIGHUP reloads: a new config is
 * parsed and its chains and credentials built before anything is swapped,
 * so a broken file leaves the running configuration in force, and the
 * log file is reopened (logrotate); SIGUSR1 reopens the per-rabbit files
 * of log-dir (rabbitlog.c). Before serving, run_daemon hardens
 * the process (harden.c): no core dumps, a descriptor limit that fits,
 * safe state, then, once the listeners are bound, the store read and the
 * pid file written, the drop from root to `user`.
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
#include "hostsvc.h"
#include "harden.h"
#include "identity.h"
#include "listener.h"
#include "metrics.h"
#include "log.h"
#include "main-int.h"
#include "proxy.h"
#include "rabbitlog.h"
#include "sasl.h"
#include "session.h"
#include "tls.h"
#include "tls_pin.h"
#include "webauth.h"

struct daemon_run {
	struct proxy	  px;
	struct config	 *cfg;
	struct config	*(*reload)(void);
	struct event	 *sig[4];
	char		  pid_file[PATH_MAX];	/* "" = none written */
	pid_t		  pid;
	char		  root[PATH_MAX];	/* chroot, "" = none */
};

static void	on_sigterm(evutil_socket_t, short, void *);
static void	on_sigint(evutil_socket_t, short, void *);
static void	on_sighup(evutil_socket_t, short, void *);
static void	on_sigusr1(evutil_socket_t, short, void *);
static void	on_drain_timeout(evutil_socket_t, short, void *);
static int	daemon_reload(void *, char *, size_t);
static int	daemon_ctl(struct daemon_run *, const struct config *,
		    const struct harden_user *);
static int	daemon_metrics(struct daemon_run *, const struct config *);
static int	daemon_prepare(const struct config *, struct harden_user *);
static int	daemon_privdrop(struct daemon_run *, const struct config *,
		    const struct harden_user *);
static void	daemon_pidfile_gone(struct daemon_run *);
static int	daemon_rebase(struct daemon_run *, const struct config *);
static void	chroot_sighup(struct daemon_run *);
static int	reload_fits(const struct config *, const struct config *);

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
	o->login_timeout = cfg->login_timeout;
	o->header_timeout = cfg->header_timeout;
	o->write_timeout = cfg->write_timeout;
	o->memory_budget = cfg->memory_budget;
	o->max_dials = cfg->max_dials;
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
	o->scram_min_iterations = cfg->scram_min_iterations;
	/* SCRAM clients read it at each exchange: process-wide. */
	sasl_scram_set_min_iterations(cfg->scram_min_iterations);
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
    const struct config *cfg, uid_t owner, char *err, size_t errlen)
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
	hostsvc_attach(px);	/* filter-level services (ABI 1.4, events) */
	if ((px->chains = daemon_chains(cfg, err, errlen)) == NULL)
		return -1;
	counters_declare(&px->cnt, cfg);
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
	ctlreg_set_counters(px->reg, &px->cnt);
	if (px->guard == NULL) {
		struct idguard_opts go = { cfg->probe_backoff_min,
		    cfg->probe_backoff_max, cfg->max_probes };

		if ((px->guard = idguard_new(&go)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if ((px->creds = creds_open_owner(cfg->credentials, owner, err,
	    errlen)) == NULL) {
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
	hostsvc_detach();
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
	proxy_doze_gone(px);
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

/*
 * What a reload cannot change, said once each: these are applied at
 * start only (sockets bound, ids dropped, pid file written). Returns 0,
 * or -1 when the new config needs more descriptors than the hard limit
 * allows (logged): the reload is refused.
 */
static int
reload_fits(const struct config *old, const struct config *cfg)
{
	char	err[1024];
	size_t	i;
	int	same = old->nlisten == cfg->nlisten;

	for (i = 0; same && i < cfg->nlisten; i++)
		same = strcmp(old->listen[i].host, cfg->listen[i].host) == 0 &&
		    old->listen[i].port == cfg->listen[i].port;
	if (!same)
		log_warnx("reload: listen changed: needs a restart, still"
		    " listening where it was");
	if (strcmp(old->user, cfg->user) != 0)
		log_warnx("reload: user changed: needs a restart");
	if (strcmp(old->pid_file, cfg->pid_file) != 0)
		log_warnx("reload: pid-file changed: needs a restart");
	if (strcmp(old->chroot_dir, cfg->chroot_dir) != 0)
		log_warnx("reload: chroot changed: needs a restart");
	if (strcmp(old->log_file, cfg->log_file) != 0)
		log_warnx("reload: log-file changed: needs a restart, still"
		    " logging to the old one");
	if (strcmp(old->http_listen, cfg->http_listen) != 0 ||
	    strcmp(old->http_token, cfg->http_token) != 0 ||
	    strcmp(old->http_token_file, cfg->http_token_file) != 0)
		log_warnx("reload: http-listen, http-token or http-token-file "
		    "changed: needs a restart, the listener and its token stay");
	switch (harden_nofile(cfg, err, sizeof(err))) {
	case -1:
		log_warnx("reload refused, keeping the running one: %s", err);
		return -1;
	case 1:
		log_info("%s", err);
		break;
	}
	return 0;
}

/* SIGUSR1: the per-rabbit files (log-dir) are opened again by name. */
static void
on_sigusr1(evutil_socket_t sig, short what, void *arg)
{
	rabbitlog_reopen();
	log_info("SIGUSR1: per-rabbit log files reopened");
}

static void
on_sighup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon_run	*d = arg;
	char			 msg[4096] = "";

	/* First, so that what follows is in the new file. */
	if (log_reopen() == -1)
		log_warn("SIGHUP: cannot reopen the log file %s, still writing"
		    " to the old one", log_path());
	if (d->root[0] != '\0') {
		chroot_sighup(d);
		return;
	}
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

	/* In a chroot the configuration cannot be read again. */
	if (d->root[0] != '\0') {
		chroot_sighup(d);
		snprintf(msg, msglen, "in chroot %s only the credentials are "
		    "read again (restart to apply changes)", d->root);
		return -1;
	}
	if ((cfg = d->reload()) == NULL) {
		snprintf(msg, msglen, "configuration has errors");
		return -1;
	}
	if (reload_fits(d->cfg, cfg) == -1) {
		snprintf(msg, msglen, "the new configuration does not fit the "
		    "descriptor limit (see above)");
		config_free(cfg);
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
	counters_declare(&d->px.cnt, cfg);
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
 * state directory may not exist where nobody asked for the socket. It is
 * made before the privilege drop, and handed to `user` (and its group).
 */
static int
daemon_ctl(struct daemon_run *d, const struct config *cfg,
    const struct harden_user *u)
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
	if (u->hu_switch && chown(path, u->hu_uid, u->hu_gid) == -1)
		log_warn("control socket %s: chown to %s", path, u->hu_name);
	log_info("control socket %s", path);
	return 0;
}

/* /metrics on http-listen, when set: -1 stops the start. */
static int
daemon_metrics(struct daemon_run *d, const struct config *cfg)
{
	char	err[512], tok[WEBAUTH_TOKEN_MAX + 1];

	if (cfg->http_listen == NULL || cfg->http_listen[0] == '\0')
		return 0;
	/* Read here, as root and before any chroot; only its digest stays. */
	if (webauth_token(cfg, tok, sizeof(tok), err, sizeof(err)) == 0)
		d->px.metrics = metrics_new_token(&d->px, cfg->http_listen, tok,
		    err, sizeof(err));
	explicit_bzero(tok, sizeof(tok));
	if (d->px.metrics == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	log_info("metrics on http://%s/metrics (port %u)%s", cfg->http_listen,
	    metrics_port(d->px.metrics), cfg->http_token[0] != '\0' ||
	    cfg->http_token_file[0] != '\0' ?
	    ", every request needs the http-token" : "");
	return 0;
}

/*
 * Before anything is opened: who to run as, a descriptor limit that fits
 * max-connections, and safe owners and modes for the state directory and
 * the store. Returns 0 with *u set, or -1 (logged): do not start.
 */
static int
daemon_prepare(const struct config *cfg, struct harden_user *u)
{
	char	err[1024];

	if (harden_user_resolve(cfg->user, geteuid(), u, err,
	    sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	if (u->hu_name[0] != '\0' && u->hu_uid == 0)
		log_warnx("user = %s: running as root, as configured",
		    u->hu_name);
	switch (harden_nofile(cfg, err, sizeof(err))) {
	case -1:
		log_warnx("%s", err);
		return -1;
	case 1:
		log_info("%s", err);
		break;
	}
	if (harden_check_state(cfg->state_dir, cfg->credentials, u, err,
	    sizeof(err)) == -1 || harden_check_chroot(cfg, u, err,
	    sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

/*
 * Inside chroot: the names, below the new root, of what the daemon still
 * opens (store, pin file, per-rabbit logs, the log for SIGHUP, the pid
 * file for exit), all checked below it but the last two. The store is
 * read again by its new name, as the user. Returns 0, or -1 (logged).
 */
static int
daemon_rebase(struct daemon_run *d, const struct config *cfg)
{
	const char	*root = cfg->chroot_dir, *in;
	char		 err[1024], tmp[PATH_MAX];
	struct proxy	*px = &d->px;

	snprintf(d->root, sizeof(d->root), "%s", root);
	if (d->pid_file[0] != '\0') {
		if ((in = harden_inside(root, d->pid_file)) == NULL)
			log_warnx("pid-file %s is outside chroot %s: it will not"
			    " be removed on exit", d->pid_file, root);
		snprintf(tmp, sizeof(tmp), "%s", in ? in : "");
		snprintf(d->pid_file, sizeof(d->pid_file), "%s", tmp);
	}
	if (log_path() != NULL) {
		if ((in = harden_inside(root, log_path())) == NULL)
			log_warnx("log-file %s is outside chroot %s: SIGHUP"
			    " cannot reopen it", log_path(), root);
		if (log_set_path(in) == -1)
			return -1;
	}
	tls_pin_path(harden_inside(root, cfg->state_dir), px->opt.pin_file,
	    sizeof(px->opt.pin_file));
	if (cfg->log_dir[0] != '\0')
		snprintf(px->opt.log_dir, sizeof(px->opt.log_dir), "%s",
		    harden_inside(root, cfg->log_dir));
	creds_close(px->creds);
	if ((px->creds = creds_open_owner(harden_inside(root,
	    cfg->credentials), geteuid(), err, sizeof(err))) == NULL) {
		log_warnx("inside chroot %s: %s", root, err);
		return -1;
	}
	return 0;
}

/*
 * SIGHUP inside chroot: the config, its includes and filters are outside,
 * so only the store is read again (the log was reopened already).
 */
static void
chroot_sighup(struct daemon_run *d)
{
	char	err[1024];

	if (d->px.creds != NULL && creds_reload(d->px.creds, err,
	    sizeof(err)) == -1)
		log_warnx("credentials reload failed, keeping the old: %s", err);
	log_warnx("SIGHUP in chroot %s: credentials read again; the"
	    " configuration is not reloaded (restart to apply changes)",
	    d->root);
}

/*
 * After daemon(3): the pid file (as root, so that it may live in /run),
 * then the drop to u. Returns 0, or -1 (logged): exit.
 */
static int
daemon_privdrop(struct daemon_run *d, const struct config *cfg,
    const struct harden_user *u)
{
	char	err[1024];

	d->pid = getpid();
	if (cfg->pid_file[0] != '\0') {
		if (harden_pidfile_write(cfg->pid_file, d->pid, err,
		    sizeof(err)) == -1) {
			log_warnx("%s", err);
			return -1;
		}
		snprintf(d->pid_file, sizeof(d->pid_file), "%s",
		    cfg->pid_file);
	}
	if (harden_drop(u, cfg->chroot_dir, err, sizeof(err)) == -1) {
		log_warnx("cannot drop privileges: %s", err);
		return -1;
	}
	if (cfg->chroot_dir[0] != '\0' && daemon_rebase(d, cfg) == -1)
		return -1;
	log_info("running as uid %u gid %u%s%s, pid %ld%s%s%s",
	    (unsigned int)geteuid(), (unsigned int)getegid(),
	    u->hu_name[0] ? " (user " : "", u->hu_name[0] ?
	    u->hu_name : "", (long)d->pid, u->hu_name[0] ? ")" : "",
	    d->root[0] ? " in chroot " : "", d->root);
	return 0;
}

/* Removes the pid file if this process wrote it. */
static void
daemon_pidfile_gone(struct daemon_run *d)
{
	if (d->pid_file[0] != '\0' &&
	    harden_pidfile_remove(d->pid_file, d->pid) == -1)
		log_warn("cannot remove the pid file %s", d->pid_file);
	d->pid_file[0] = '\0';
}

/* The credential writer's outcome (creds_written_cb), for the log. */
static void
daemon_creds_written(void *arg, int rc, size_t nops, const char *err)
{
	(void)arg;
	if (rc == 0)
		log_debug("credentials: %zu change(s) written", nops);
	else if (rc == -1)
		log_warnx("credentials: %zu change(s) not written yet, kept in "
		    "memory and tried again in %d s: %s", nops,
		    CREDS_RETRY_MS / 1000, err);
	else
		log_warnx("credentials: %s", err);
}

int
run_daemon(struct config *cfg, int foreground, struct config *(*reload)(void))
{
	static struct daemon_run	 d;
	struct harden_user		 u;
	struct event_base		*base = NULL;
	char				 err[4096];
	int				 i, rc = 1;

	d.cfg = cfg;
	d.reload = reload;
	if (log_open(cfg->log_file, cfg->verbose) == -1) {
		fprintf(stderr, "nabproxy: log file %s: %s\n", cfg->log_file,
		    strerror(errno));
		goto done;
	}
	if (!foreground && (cfg->log_file == NULL || *cfg->log_file == '\0')) {
		log_warnx("running in the background needs log-file "
		    "(or use --foreground)");
		goto done;
	}
	if (daemon_prepare(cfg, &u) == -1)
		goto done;
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	if (daemon_setup(&d.px, base, cfg, u.hu_uid, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		goto done;
	}
	if (daemon_ctl(&d, cfg, &u) == -1 || daemon_metrics(&d, cfg) == -1)
		goto done;
	if (!foreground && daemon(1, 0) == -1)
		fatalx("daemon: %s", strerror(errno));
	if (daemon_privdrop(&d, cfg, &u) == -1)
		goto done;
	/* Threads after the fork: they would not survive it. */
	if ((d.px.kdf = kdf_pool_new(base, KDF_THREADS, KDF_QUEUE, err,
	    sizeof(err))) == NULL)
		log_warnx("%s: SCRAM key derivation runs on the event loop",
		    err);
	if (d.px.creds != NULL && creds_async(d.px.creds, base,
	    CREDS_RETRY_MS, daemon_creds_written, NULL, err,
	    sizeof(err)) == -1)
		log_warnx("%s: the credential store is written on the event "
		    "loop", err);
	d.sig[0] = evsignal_new(base, SIGTERM, on_sigterm, &d);
	d.sig[1] = evsignal_new(base, SIGINT, on_sigint, &d);
	d.sig[2] = evsignal_new(base, SIGHUP, on_sighup, &d);
	d.sig[3] = evsignal_new(base, SIGUSR1, on_sigusr1, &d);
	for (i = 0; i < 4; i++)
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
	rc = 0;
 done:
	daemon_teardown(&d.px);
	rabbitlog_shutdown();	/* after the sessions: their last lines */
	daemon_pidfile_gone(&d);
	for (i = 0; i < 4; i++)
		if (d.sig[i] != NULL)
			event_free(d.sig[i]);
	if (base != NULL)
		event_base_free(base);
	config_free(d.cfg);
	sasl_scram_cache_clear();
	log_close();
	return rc;
}
