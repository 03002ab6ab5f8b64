/*
 * config: owns what nabproxy.conf means, from the sections config_parse.c
 * reads: the [nabproxy] keys and their defaults and the rules across keys;
 * the filters and the profiles are config_profile.c's.
 *
 * It promises that a struct config handed out is complete and consistent:
 * every [nabproxy] key holds a checked value or its default, every filter
 * a profile names exists, and the cross-key rules hold. Nothing is ever
 * half-applied: config_load() returns a config only if no error was
 * found, after reporting all of them, and config_set() rolls back.
 * All strings live in one pool owned by the config, freed with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-int.h"

#define OFF(f)		offsetof(struct config, f)
#define MIB		(1024UL * 1024)

/* Values of the CT_ENUM keys, in the order of their enums. */
static const char *const log_formats[] = { "vm", "raw", "both", "none",
    NULL };
static const char *const tls_modes[] = { "no", "starttls", "required",
    NULL };
/* enum config_verify: "yes" is the old spelling of chain. */
static const char *const verify_modes[] = { "no", "chain", "pin", "tofu",
    "yes", NULL };

/* Sorted by name for bsearch(); test_config sets every key. */
static const struct config_key keys[] = {
	{ "allow-plain-cleartext", CT_BOOL, 0, 1, "no", 0,
	    OFF(allow_plain_cleartext), NULL },
	{ "chroot", CT_STR, 0, 0, "", 0, OFF(chroot_dir), NULL },
	{ "connect-timeout", CT_DURATION, 1, 3600, "10", 0,
	    OFF(connect_timeout), NULL },
	{ "control-socket", CT_STR, 0, 0, "", 0, OFF(control_socket), NULL },
	{ "credentials", CT_STR, 0, 0, "", 0, OFF(credentials), NULL },
	{ "drain-timeout", CT_DURATION, 0, 3600, "30", 0, OFF(drain_timeout), NULL },
	{ "header-timeout", CT_DURATION, 1, 3600, "10", 0,
	    OFF(header_timeout), NULL },
	{ "hold-queue", CT_SIZE, 1024, 64 * MIB, "65536", 0, OFF(hold_queue), NULL },
	{ "http-listen", CT_STR, 0, 0, "", 0, OFF(http_listen), NULL },
	{ "http-token", CT_STR, 0, 0, "", 0, OFF(http_token), NULL },
	{ "http-token-file", CT_STR, 0, 0, "", 0, OFF(http_token_file), NULL },
	{ "idle-timeout", CT_DURATION, 1, 86400, "300", 0, OFF(idle_timeout), NULL },
	{ "listen", CT_LISTEN, 0, 0, "0.0.0.0:5222", 1, OFF(listen), NULL },
	{ "log-dir", CT_STR, 0, 0, "", 0, OFF(log_dir), NULL },
	{ "log-file", CT_STR, 0, 0, "", 0, OFF(log_file), NULL },
	{ "log-format", CT_ENUM, 0, 0, "vm", 0, OFF(log_format), log_formats },
	{ "log-prefix", CT_BOOL, 0, 1, "no", 0, OFF(log_prefix), NULL },
	{ "login-timeout", CT_DURATION, 0, 3600, "60", 0, OFF(login_timeout), NULL },
	{ "max-connections", CT_UINT, 1, 1048576, "1024", 0,
	    OFF(max_connections), NULL },
	{ "max-depth", CT_UINT, 4, 256, "32", 0, OFF(max_depth), NULL },
	{ "max-dials", CT_UINT, 1, 65536, "64", 0, OFF(max_dials), NULL },
	{ "max-per-source", CT_UINT, 0, 1048576, "32", 0, OFF(max_per_source), NULL },
	{ "max-probes", CT_UINT, 1, 4096, "16", 0, OFF(max_probes), NULL },
	{ "max-stanza", CT_SIZE, 1024, 16 * MIB, "65536", 0, OFF(max_stanza), NULL },
	{ "memory-budget", CT_SIZE, 0, 4095 * MIB, "256M", 0,
	    OFF(memory_budget), NULL },
	{ "pid-file", CT_STR, 0, 0, "", 0, OFF(pid_file), NULL },
	{ "probe-backoff-max", CT_DURATION, 1, 86400, "300", 0,
	    OFF(probe_backoff_max), NULL },
	{ "probe-backoff-min", CT_DURATION, 1, 3600, "2", 0,
	    OFF(probe_backoff_min), NULL },
	{ "profile", CT_STR, 0, 0, "auto", 0, OFF(profile), NULL },
	{ "redact", CT_BOOL, 0, 1, "yes", 0, OFF(redact), NULL },
	{ "scram-max-iterations", CT_UINT, 4096, 10000000, "100000", 0,
	    OFF(scram_max_iterations), NULL },
	{ "scram-min-iterations", CT_UINT, 1, 10000000, "4096", 0,
	    OFF(scram_min_iterations), NULL },
	{ "state-dir", CT_STR, 0, 0, "/var/lib/nabproxy", 0, OFF(state_dir), NULL },
	{ "upstream", CT_UPSTREAM, 0, 0, "", 0, OFF(upstream_host), NULL },
	{ "upstream-ca", CT_STR, 0, 0, "", 0, OFF(upstream_ca), NULL },
	{ "upstream-pin", CT_PIN, 0, 0, "", 1, OFF(upstream_pins), NULL },
	{ "upstream-tls", CT_ENUM, 0, 0, "starttls", 0, OFF(upstream_tls),
	    tls_modes },
	{ "upstream-tls-name", CT_STR, 0, 0, "", 0, OFF(upstream_tls_name),
	    NULL },
	{ "upstream-verify", CT_ENUM, 0, 0, "tofu", 0, OFF(upstream_verify),
	    verify_modes },
	{ "user", CT_STR, 0, 0, "", 0, OFF(user), NULL },
	{ "verbose", CT_BOOL, 0, 1, "no", 0, OFF(verbose), NULL },
	{ "watch", CT_STR, 0, 0, "", 0, OFF(watch), NULL },
	{ "write-timeout", CT_DURATION, 1, 86400, "60", 0,
	    OFF(write_timeout), NULL },
};
#define NKEYS		(sizeof(keys) / sizeof(keys[0]))

/* Cross-key rules: the first key is blamed unless only the second is set. */
static const char *const cross_keys[][2] = {
	{ "connect-timeout", "idle-timeout" },
	{ "max-per-source", "max-connections" },
	{ "hold-queue", "max-stanza" },
	{ "profile", "profile" },
	{ "upstream-verify", "upstream-pin" },
	{ "scram-min-iterations", "scram-max-iterations" },
};
#define NCROSS		(sizeof(cross_keys) / sizeof(cross_keys[0]))

enum src { SRC_DEFAULT = 0, SRC_FILE, SRC_CMDLINE };

struct origin {
	const char	*o_file;	/* NULL while the default holds */
	unsigned int	 o_line;
	int		 o_bad;		/* a value was refused */
};

struct config_private {
	struct config_pool	 pool;		/* every string it owns */
	struct origin		 origin[NKEYS];
	enum src		 listen_src;	/* who wrote the listen list */
	int			 cred_derived;	/* credentials from state-dir */
};

static int		 key_cmp(const void *, const void *);
static const struct config_key *key_find(const char *);
static int		 listen_add(struct config *, const char *, enum src,
			    char *, size_t);
static int		 derive_credentials(struct config *);
static int		 pin_add(struct config *, const char *, char *, size_t);
static int		 cross_check(const struct config *, size_t, char *,
			    size_t);
static void		 apply_nabproxy(struct config_parse *);
static void		 apply_defaults(struct config_parse *);
static void		 check_all(struct config_parse *);

static int
key_cmp(const void *name, const void *k)
{
	return strcmp(name, ((const struct config_key *)k)->k_name);
}

/* The [nabproxy] key called name, or NULL. */
static const struct config_key *
key_find(const char *name)
{
	return bsearch(name, keys, NKEYS, sizeof(keys[0]), key_cmp);
}

/*
 * Adds one listen address from src. The first address from a new source
 * replaces the list (the file replaces the default, the command line the
 * file). Returns 0, or -1 with err set and the list unchanged.
 */
static int
listen_add(struct config *cfg, const char *s, enum src src, char *err,
    size_t errlen)
{
	struct config_addr	*l;
	union config_val	 v;
	size_t			 i;

	if (config_val_parse(key_find("listen"), s, &v, err, errlen) == -1)
		return -1;
	if ((l = config_push(cfg->listen, cfg->nlisten, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "listen: out of memory");
		return -1;
	}
	cfg->listen = l;
	if (cfg->priv->listen_src != src) {
		cfg->priv->listen_src = src;
		cfg->nlisten = 0;
	}
	for (i = 0; i < cfg->nlisten; i++)
		if (strcmp(l[i].host, v.a.host) == 0 && l[i].port == v.a.port) {
			snprintf(err, errlen, "listen: '%s' is listed twice,"
			    " allowed once per address", s);
			return -1;
		}
	l[cfg->nlisten++] = v.a;
	return 0;
}

/*
 * Adds one upstream-pin. Returns 0, or -1 with err set and the list
 * unchanged.
 */
static int
pin_add(struct config *cfg, const char *s, char *err, size_t errlen)
{
	unsigned char		(*l)[CONFIG_PIN_LEN];
	union config_val	 v;
	size_t			 i;

	if (config_val_parse(key_find("upstream-pin"), s, &v, err,
	    errlen) == -1)
		return -1;
	for (i = 0; i < cfg->nupstream_pins; i++)
		if (memcmp(cfg->upstream_pins[i], v.pin, CONFIG_PIN_LEN) == 0) {
			snprintf(err, errlen, "upstream-pin: '%s' is listed"
			    " twice, allowed once per key", s);
			return -1;
		}
	if (cfg->nupstream_pins == CONFIG_PINS_MAX) {
		snprintf(err, errlen, "upstream-pin: more than %d, allowed at"
		    " most %d", CONFIG_PINS_MAX, CONFIG_PINS_MAX);
		return -1;
	}
	if ((l = config_push(cfg->upstream_pins, cfg->nupstream_pins,
	    sizeof(*l))) == NULL) {
		snprintf(err, errlen, "upstream-pin: out of memory");
		return -1;
	}
	cfg->upstream_pins = l;
	memcpy(l[cfg->nupstream_pins++], v.pin, CONFIG_PIN_LEN);
	return 0;
}

/*
 * Sets credentials to state-dir/credentials unless it was set to a
 * non-empty path, and upstream-verify = yes to chain. Returns 0, or -1 on
 * ENOMEM with credentials unchanged.
 */
static int
derive_credentials(struct config *cfg)
{
	const char	*sd = cfg->state_dir;
	size_t		 n = strlen(sd);
	char		*s;

	if (cfg->upstream_verify == CONFIG_VERIFY_YES)
		cfg->upstream_verify = CONFIG_VERIFY_CHAIN;
	if (!cfg->priv->cred_derived && cfg->credentials[0] != '\0')
		return 0;
	if (asprintf(&s, "%s%scredentials", sd,
	    n > 0 && sd[n - 1] == '/' ? "" : "/") == -1)
		return -1;
	free(cfg->credentials);
	cfg->credentials = s;
	cfg->priv->cred_derived = 1;
	return 0;
}

/*
 * Cross-key rule number i (see cross_keys). Returns 0 if it holds, or -1
 * with what is wrong in msg.
 */
static int
cross_check(const struct config *cfg, size_t i, char *msg, size_t len)
{
	const char	*sep = "";
	size_t		 j, off;

	if (i == 0 && cfg->connect_timeout >= cfg->idle_timeout)
		snprintf(msg, len, "connect-timeout (%us) must be less than"
		    " idle-timeout (%us)", cfg->connect_timeout,
		    cfg->idle_timeout);
	else if (i == 1 && cfg->max_per_source > cfg->max_connections)
		snprintf(msg, len, "max-per-source (%u) must not exceed"
		    " max-connections (%u)", cfg->max_per_source,
		    cfg->max_connections);
	else if (i == 2 && cfg->hold_queue < cfg->max_stanza)
		snprintf(msg, len, "hold-queue (%u) must be at least"
		    " max-stanza (%u), so that a whole stanza can be held",
		    cfg->hold_queue, cfg->max_stanza);
	else if (i == 3 && strcmp(cfg->profile, "auto") != 0 &&
	    config_profile_find(cfg, cfg->profile) == NULL) {
		off = (size_t)snprintf(msg, len, "profile: no [profile %s],"
		    " defined profiles are:", cfg->profile);
		for (j = 0; j < cfg->nprofiles && off < len; j++, sep = ",")
			off += (size_t)snprintf(msg + off, len - off, "%s %s",
			    sep, cfg->profiles[j].name);
	} else if (i == 4 && cfg->upstream_verify == CONFIG_VERIFY_PIN &&
	    cfg->nupstream_pins == 0)
		snprintf(msg, len, "upstream-verify = pin needs at least one"
		    " upstream-pin = sha256:<64 hex digits>");
	else if (i == 5 &&
	    cfg->scram_min_iterations > cfg->scram_max_iterations)
		snprintf(msg, len, "scram-min-iterations (%u) must not exceed"
		    " scram-max-iterations (%u)", cfg->scram_min_iterations,
		    cfg->scram_max_iterations);
	else
		return 0;
	return -1;
}

/* Every key's default, through the same parser as the file. */
static void
apply_defaults(struct config_parse *p)
{
	union config_val	 v, old;
	char			 err[256];
	size_t			 i;

	for (i = 0; i < NKEYS; i++) {
		if (keys[i].k_type == CT_PIN)
			continue;
		if (keys[i].k_type == CT_LISTEN) {
			if (listen_add(p->cfg, keys[i].k_def, SRC_DEFAULT, err,
			    sizeof(err)) == -1)
				config_errors_add(p->errs, NULL, 0, "%s", err);
			continue;
		}
		if (config_val_parse(&keys[i], keys[i].k_def, &v, err,
		    sizeof(err)) == -1) {
			config_errors_add(p->errs, NULL, 0, "%s", err);
			continue;
		}
		config_val_store(p->cfg, &keys[i], &v, &old);
	}
	p->cfg->priv->cred_derived = 1;
}

/* The [nabproxy] section's entries onto the defaults. */
static void
apply_nabproxy(struct config_parse *p)
{
	struct config_section	*sec, *first = NULL;
	struct config_entry	*e;
	struct origin		*o;
	const struct config_key	*k;
	union config_val	 v, old;
	char			 err[512];
	size_t			 i, j;

	for (i = 0; i < p->cfg->nsections; i++) {
		sec = &p->cfg->sections[i];
		if (sec->kind != CONFIG_NABPROXY)
			continue;
		if (first != NULL) {
			config_errors_add(p->errs, sec->file, sec->line,
			    "[nabproxy] is already at %s:%u, allowed once",
			    first->file, first->line);
			continue;
		}
		first = sec;
		for (j = 0; j < sec->nentries; j++) {
			e = &sec->entries[j];
			if ((k = key_find(e->key)) == NULL) {
				config_errors_add(p->errs, e->file, e->line,
				    "unknown key '%s' in [nabproxy]", e->key);
				continue;
			}
			o = &p->cfg->priv->origin[k - keys];
			if (o->o_file != NULL && !k->k_repeat) {
				config_errors_add(p->errs, e->file, e->line,
				    "'%s' is already set at %s:%u, only listen"
				    " and upstream-pin may be repeated", e->key,
				    o->o_file,
				    o->o_line);
				continue;
			}
			if (k->k_type == CT_LISTEN ? listen_add(p->cfg,
			    e->value, SRC_FILE, err, sizeof(err)) :
			    k->k_type == CT_PIN ? pin_add(p->cfg, e->value,
			    err, sizeof(err)) : config_val_parse(k, e->value,
			    &v, err, sizeof(err))) {
				config_errors_add(p->errs, e->file, e->line,
				    "%s", err);
				o->o_bad = 1;
				continue;
			}
			if (k->k_type != CT_LISTEN && k->k_type != CT_PIN) {
				config_val_store(p->cfg, k, &v, &old);
				if (k->k_type == CT_STR)
					free(old.s);
			}
			o->o_file = e->file;
			o->o_line = e->line;
			if (strcmp(k->k_name, "credentials") == 0)
				p->cfg->priv->cred_derived = 0;
		}
	}
}

/*
 * The cross-key rules, blamed on the line that set a key; rules on keys
 * whose value was already refused are skipped. Then derived defaults.
 */
static void
check_all(struct config_parse *p)
{
	const struct origin	*o, *o2;
	char			 msg[1024];
	size_t			 i;

	for (i = 0; i < NCROSS; i++) {
		o = &p->cfg->priv->origin[key_find(cross_keys[i][0]) - keys];
		o2 = &p->cfg->priv->origin[key_find(cross_keys[i][1]) - keys];
		if (o->o_bad || o2->o_bad ||
		    cross_check(p->cfg, i, msg, sizeof(msg)) == 0)
			continue;
		if (o->o_file == NULL)
			o = o2;
		config_errors_add(p->errs, o->o_file ? o->o_file : p->path,
		    o->o_line, "%s", msg);
	}
	if (derive_credentials(p->cfg) == -1)
		config_errors_add(p->errs, p->path, 0, "out of memory");
}

struct config *
config_load(const char *path, const char *const *builtin_filters,
    struct config_errors *errs)
{
	struct config_parse	 p;
	struct config		*cfg;
	size_t			 before = errs->ce_count + errs->ce_dropped, i;

	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->priv = calloc(1, sizeof(*cfg->priv))) == NULL) {
		free(cfg);
		config_errors_add(errs, path, 0, "out of memory");
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.pool = &cfg->priv->pool;
	p.errs = errs;
	p.path = path;
	if ((cfg->path = config_pool_dup(p.pool, path, strlen(path))) == NULL)
		config_errors_add(errs, path, 0, "out of memory");
	apply_defaults(&p);
	config_parse_file(&p, path, NULL, 0);
	apply_nabproxy(&p);
	config_build_filters(&p, builtin_filters);
	for (i = 0; i < cfg->nsections; i++)
		if (cfg->sections[i].kind == CONFIG_PROFILE)
			config_build_profile(&p, &cfg->sections[i]);
	if (config_profile_find(cfg, "passthrough") == NULL &&
	    config_profile_add(cfg, "passthrough", NULL) == NULL)
		config_errors_add(errs, path, 0, "out of memory");
	check_all(&p);
	if (errs->ce_count + errs->ce_dropped != before) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

void
config_free(struct config *cfg)
{
	struct config_profile	*pr;
	size_t			 i;

	if (cfg == NULL)
		return;
	config_sections_free(cfg);
	for (i = 0; i < cfg->nprofiles; i++) {
		pr = &cfg->profiles[i];
		free(pr->filters);
		free(pr->match_mac);
		free(pr->match_jid);
		free(pr->match_firmware);
	}
	free(cfg->profiles);
	free(cfg->filters);
	free(cfg->listen);
	free(cfg->log_file);
	free(cfg->log_dir);
	free(cfg->control_socket);
	free(cfg->watch);
	free(cfg->http_listen);
	if (cfg->http_token != NULL)
		explicit_bzero(cfg->http_token, strlen(cfg->http_token));
	free(cfg->http_token);
	free(cfg->http_token_file);
	free(cfg->state_dir);
	free(cfg->credentials);
	free(cfg->profile);
	free(cfg->upstream_ca);
	free(cfg->upstream_tls_name);
	free(cfg->upstream_pins);
	free(cfg->user);
	free(cfg->pid_file);
	free(cfg->chroot_dir);
	config_pool_free(&cfg->priv->pool);
	free(cfg->priv);
	free(cfg);
}

int
config_set(struct config *cfg, const char *key, const char *value,
    char *err, size_t errlen)
{
	struct config_private	*pv = cfg->priv;
	const struct config_key	*k;
	union config_val	 v, old, undo;
	int			 derived = pv->cred_derived;
	size_t			 i;

	if ((k = key_find(key)) == NULL) {
		snprintf(err, errlen, "%s: unknown key, allowed the keys of"
		    " [nabproxy] in nabproxy.conf", key);
		return -1;
	}
	if (k->k_type == CT_LISTEN)
		return listen_add(cfg, value, SRC_CMDLINE, err, errlen);
	if (k->k_type == CT_PIN)
		return pin_add(cfg, value, err, errlen);
	if (config_val_parse(k, value, &v, err, errlen) == -1)
		return -1;
	memset(&old, 0, sizeof(old));
	config_val_store(cfg, k, &v, &old);
	if (strcmp(key, "credentials") == 0)
		pv->cred_derived = 0;
	for (i = 0; i < NCROSS; i++)
		if (cross_check(cfg, i, err, errlen) == -1)
			goto undo;
	if (derive_credentials(cfg) == -1) {
		snprintf(err, errlen, "%s: out of memory", key);
		goto undo;
	}
	if (k->k_type == CT_STR)
		free(old.s);
	pv->origin[k - keys].o_file = "command line";
	pv->origin[k - keys].o_line = 0;
	return 0;
 undo:
	config_val_store(cfg, k, &old, &undo);
	if (k->k_type == CT_STR)
		free(undo.s);
	pv->cred_derived = derived;
	return -1;
}

