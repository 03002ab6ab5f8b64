/*
 * stamp: an example external filter. It sets one configurable attribute
 * on the stanzas the rabbit sends to the server, for instance to let the
 * server's logs tell proxied rabbits apart:
 *
 *	[filter stamp]
 *	path = /usr/local/lib/nabproxy/stamp.so
 *	attribute = x-proxy
 *	value = nabproxy {profile} {session}
 *	stanzas = iq message presence
 *	overwrite = no
 *
 * It is also the worked example of filters/examples/README.md: settings
 * validated in init() with file:line errors, per-filter state from init()
 * instead of globals, per-session data freed in close(), an in-place edit
 * that returns NAB_PASS so later filters still see the stanza.
 *
 * Build: gcc -shared -fPIC -fvisibility=hidden -I include \
 *	      -o stamp.so filters/examples/stamp.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nabproxy/filter.h>

#define STAMP_NAME_MAX		64	/* attribute and element names */
#define STAMP_VALUE_MAX		256	/* the configured value, unexpanded */
#define STAMP_STANZAS_MAX	8
#define STAMP_DEFAULT_STANZAS	"iq message presence"

/* Everything init() learned from the config: per filter, never global. */
struct stamp_conf {
	char	attr[STAMP_NAME_MAX];
	char	value[STAMP_VALUE_MAX];
	char	stanzas[STAMP_STANZAS_MAX][STAMP_NAME_MAX];
	size_t	nstanzas;
	int	overwrite;
};

/* Per session, from open() to close(). */
struct stamp_sess {
	unsigned long	stamped;
	unsigned long	kept;		/* already had the attribute */
};

/*
 * The services table. It is the same table for every load and stays valid
 * until fini(), so one pointer for the whole .so is enough; everything that
 * depends on the config lives in struct stamp_conf.
 */
static const struct nab_host	*host;

static int	stamp_init(const struct nab_host *, const struct nab_kv *,
		    size_t, void **, char *, size_t);
static void	stamp_fini(void *);
static int	stamp_open(struct nab_ctx *);
static void	stamp_close(struct nab_ctx *);
static enum nab_verdict stamp_stanza(struct nab_ctx *, enum nab_dir,
		    struct nab_stanza *);
static int	check_name(const char *, int);
static int	check_value(const char *, char *, size_t);
static int	set_stanzas(struct stamp_conf *, const char *);
static int	expand(const struct stamp_conf *, const struct nab_identity *,
		    char *, size_t);

/*
 * 1 if s is an element or attribute name this filter accepts: ASCII
 * letters, digits, '_', '-' and '.', not starting with a digit, '-' or
 * '.'. With attr set, "xml:NAME" is allowed too (the only prefix that
 * needs no declaration) and namespace declarations (xmlns, xmlns:*) are
 * refused: changing them would change what every child means.
 */
static int
check_name(const char *s, int attr)
{
	const char	*p;

	if (attr && strncmp(s, "xml:", 4) == 0)
		s += 4;
	else if (attr && (strcmp(s, "xmlns") == 0 ||
	    strncmp(s, "xmlns:", 6) == 0))
		return 0;
	if (*s == '\0' || strlen(s) >= STAMP_NAME_MAX ||
	    (*s >= '0' && *s <= '9') || *s == '-' || *s == '.')
		return 0;
	for (p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		    *p == '.'))
			return 0;
	return 1;
}

/*
 * 0 if v is a usable value: shorter than STAMP_VALUE_MAX, no control
 * characters (XML cannot carry most of them), valid UTF-8, and every '{'
 * starts {mac}, {firmware}, {profile}, {session} or {{. Else -1 with the
 * reason in why.
 */
static int
check_value(const char *v, char *why, size_t len)
{
	static const char *const	 names[] = { "{mac}", "{firmware}",
					    "{profile}", "{session}", "{{" };
	const unsigned char		*p = (const unsigned char *)v;
	size_t				 i, n;

	if (strlen(v) >= STAMP_VALUE_MAX) {
		snprintf(why, len, "is %zu bytes long, allowed at most %d",
		    strlen(v), STAMP_VALUE_MAX - 1);
		return -1;
	}
	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(why, len, "contains control character 0x%02x",
			    *p);
			return -1;
		}
		if (*p == '{') {
			for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
				if (strncmp((const char *)p, names[i],
				    strlen(names[i])) == 0)
					break;
			if (i == sizeof(names) / sizeof(names[0])) {
				snprintf(why, len, "has an unknown placeholder "
				    "at '%.12s', allowed {mac}, {firmware}, "
				    "{profile}, {session} and {{ for '{'",
				    (const char *)p);
				return -1;
			}
			p += strlen(names[i]);
			continue;
		}
		/* UTF-8: a lead byte and its continuation bytes. */
		n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 :
		    (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : 4;
		for (i = 1; n < 4 && i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				break;
		if (n == 4 || i <= n || (n == 1 && *p < 0xc2)) {
			snprintf(why, len, "is not valid UTF-8");
			return -1;
		}
		p += n + 1;
	}
	return 0;
}

/* Split a white-space separated list of element names; -1 if bad. */
static int
set_stanzas(struct stamp_conf *c, const char *list)
{
	const char	*s = list;
	size_t		 n;

	c->nstanzas = 0;
	for (;;) {
		s += strspn(s, " \t");
		if (*s == '\0')
			break;
		n = strcspn(s, " \t");
		if (c->nstanzas == STAMP_STANZAS_MAX || n >= STAMP_NAME_MAX)
			return -1;
		memcpy(c->stanzas[c->nstanzas], s, n);
		c->stanzas[c->nstanzas][n] = '\0';
		if (!check_name(c->stanzas[c->nstanzas], 0))
			return -1;
		c->nstanzas++;
		s += n;
	}
	return c->nstanzas > 0 ? 0 : -1;
}

/*
 * One `key = value` line of the section into c. attr/value remember the
 * lines that set those keys (each allowed once). 0, or -1 with err set.
 */
static int
stamp_key(struct stamp_conf *c, const struct nab_kv *kv,
    const struct nab_kv **attr, const struct nab_kv **value, char *err,
    size_t errlen)
{
	const struct nab_kv	**seen = NULL;
	char			  why[160];

	if (strcmp(kv->key, "attribute") == 0 ||
	    strcmp(kv->key, "value") == 0) {
		seen = kv->key[0] == 'a' ? attr : value;
		if (*seen != NULL) {
			snprintf(err, errlen, "%s:%d: '%s' is already set at "
			    "line %d, allowed once", kv->file, kv->line,
			    kv->key, (*seen)->line);
			return -1;
		}
		*seen = kv;
	}
	if (seen == attr) {
		if (!check_name(kv->value, 1)) {
			snprintf(err, errlen, "%s:%d: attribute '%s' is not "
			    "allowed: use letters, digits, '_', '-', '.', "
			    "optionally after 'xml:'; not xmlns", kv->file,
			    kv->line, kv->value);
			return -1;
		}
		snprintf(c->attr, sizeof(c->attr), "%s", kv->value);
	} else if (seen == value) {
		if (check_value(kv->value, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s:%d: value %s", kv->file,
			    kv->line, why);
			return -1;
		}
		snprintf(c->value, sizeof(c->value), "%s", kv->value);
	} else if (strcmp(kv->key, "stanzas") == 0) {
		if (set_stanzas(c, kv->value) == -1) {
			snprintf(err, errlen, "%s:%d: stanzas '%s' is not a "
			    "list of 1 to %d element names (iq message "
			    "presence ...)", kv->file, kv->line, kv->value,
			    STAMP_STANZAS_MAX);
			return -1;
		}
	} else if (strcmp(kv->key, "overwrite") == 0 &&
	    (strcmp(kv->value, "yes") == 0 || strcmp(kv->value, "no") == 0)) {
		c->overwrite = strcmp(kv->value, "yes") == 0;
	} else if (strcmp(kv->key, "overwrite") == 0) {
		snprintf(err, errlen, "%s:%d: overwrite '%s', allowed yes or "
		    "no", kv->file, kv->line, kv->value);
		return -1;
	} else {
		snprintf(err, errlen, "%s:%d: unknown key '%s', allowed "
		    "attribute, value, stanzas and overwrite", kv->file,
		    kv->line, kv->key);
		return -1;
	}
	return 0;
}

/*
 * Read the [filter stamp] section. Every key comes with its file and line,
 * so a bad one is reported as "file:line: why" (the host shows the filter
 * and its .so after the line). The host also passes `path`, the key that
 * told it which .so to load: skip it.
 */
static int
stamp_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	struct stamp_conf	*c;
	const struct nab_kv	*attr = NULL, *value = NULL;
	size_t			 i;

	/*
	 * Every service used here is in ABI 1.0, so a 1.x host has them all;
	 * a filter using a service added in 1.N checks it like this (or does
	 * without it) before calling it.
	 */
	if (!NAB_HAS_SERVICE(h, set_attr) || !NAB_HAS_SERVICE(h, identity)) {
		snprintf(err, errlen, "this nabproxy lacks services stamp needs");
		return -1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	set_stanzas(c, STAMP_DEFAULT_STANZAS);
	for (i = 0; i < n; i++)
		if (strcmp(kv[i].key, "path") != 0 &&
		    stamp_key(c, &kv[i], &attr, &value, err, errlen) == -1) {
			free(c);
			return -1;
		}
	if (attr == NULL || value == NULL) {
		snprintf(err, errlen, "'%s' is not set: stamp needs attribute "
		    "and value", attr == NULL ? "attribute" : "value");
		free(c);
		return -1;
	}
	host = h;
	*state = c;
	return 0;
}

/* After the last session using this load has closed. */
static void
stamp_fini(void *state)
{
	free(state);
}

static int
stamp_open(struct nab_ctx *ctx)
{
	struct stamp_sess	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;		/* the host closes this session */
	host->set_data(ctx, s);
	return 0;
}

static void
stamp_close(struct nab_ctx *ctx)
{
	struct stamp_sess	*s = host->get_data(ctx);

	host->log(ctx, NAB_LOG_INFO, "stamped %lu stanzas, %lu already had "
	    "the attribute", s->stamped, s->kept);
	free(s);
	host->set_data(ctx, NULL);
}

/*
 * The configured value with its placeholders filled in from what the
 * session knows now (fields not known yet are empty). 0, or -1 if it does
 * not fit in len.
 */
static int
expand(const struct stamp_conf *c, const struct nab_identity *id, char *out,
    size_t len)
{
	const char	*p = c->value, *add;
	char		 num[24];
	size_t		 used = 0, n;

	while (*p != '\0') {
		if (strncmp(p, "{mac}", 5) == 0) {
			add = id->mac;
			p += 5;
		} else if (strncmp(p, "{firmware}", 10) == 0) {
			add = id->firmware;
			p += 10;
		} else if (strncmp(p, "{profile}", 9) == 0) {
			add = id->profile;
			p += 9;
		} else if (strncmp(p, "{session}", 9) == 0) {
			snprintf(num, sizeof(num), "%llu",
			    (unsigned long long)id->session_id);
			add = num;
			p += 9;
		} else {
			/* "{{" is a '{' (init() let no other '{' through). */
			add = *p == '{' ? "{" : NULL;
			n = 1;
			if (add == NULL) {
				add = p;
				n = strcspn(p, "{");
			}
			if (used + n >= len)
				return -1;
			memcpy(out + used, add, n);
			used += n;
			p += *p == '{' ? 2 : n;
			continue;
		}
		if ((n = strlen(add)) + used >= len)
			return -1;
		memcpy(out + used, add, n);
		used += n;
	}
	out[used] = '\0';
	return 0;
}

/*
 * Stamp a stanza from the rabbit whose name is listed. The edit is made in
 * place and the verdict stays NAB_PASS: later filters see the stamped
 * stanza and the host forwards it re-serialised. (NAB_REPLACE would stop
 * the chain here.) A stanza that cannot be stamped goes on unstamped.
 */
static enum nab_verdict
stamp_stanza(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *st)
{
	const struct stamp_conf	*c = host->filter_state(ctx);
	struct stamp_sess	*s = host->get_data(ctx);
	const char		*name = host->name(st);
	char			 v[1024];
	size_t			 i;

	if (d != NAB_FROM_RABBIT)
		return NAB_PASS;
	for (i = 0; i < c->nstanzas; i++)
		if (strcmp(name, c->stanzas[i]) == 0)
			break;
	if (i == c->nstanzas)
		return NAB_PASS;
	if (!c->overwrite && host->attr(st, c->attr) != NULL) {
		s->kept++;
		return NAB_PASS;
	}
	if (expand(c, host->identity(ctx), v, sizeof(v)) == -1 ||
	    host->set_attr(ctx, st, c->attr, v) == -1) {
		host->log(ctx, NAB_LOG_WARN, "cannot stamp <%s>, forwarding it "
		    "unchanged", name);
		return NAB_PASS;
	}
	s->stamped++;
	return NAB_PASS;
}

/*
 * The one exported symbol. Built with -fvisibility=hidden, everything else
 * in this file stays private to the .so.
 */
__attribute__((visibility("default")))
const struct nab_filter nab_filter = {
	NAB_FILTER_INIT,
	.name = "stamp",
	.version = "1.0",
	.description = "set a configurable attribute on stanzas to the server",
	.init = stamp_init,
	.fini = stamp_fini,
	.open = stamp_open,
	.close = stamp_close,
	.on_stanza = stamp_stanza,
};
