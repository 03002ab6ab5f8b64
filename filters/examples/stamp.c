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
 * It is also the worked example of filters/examples/README.md: a settings
 * table the host validates (with file:line errors) and fills into the
 * filter's state, a check function for what a type alone cannot say, a
 * host-allocated per-session block, on_close with the reason, an in-place
 * edit that returns NAB_PASS so later filters still see the stanza.
 *
 * Build: gcc -shared -fPIC -fvisibility=hidden -I include \
 *	      -o stamp.so filters/examples/stamp.c
 */
#include <stdio.h>
#include <string.h>

#include <nabproxy/filter.h>

#define STAMP_NAME_MAX		64	/* attribute and element names */
#define STAMP_STANZAS_MAX	8

/*
 * Per filter (per load), allocated by the host: the settings first, then
 * what init() derives from them. Never a global: after a reload the old
 * and the new load run side by side.
 */
struct stamp_conf {
	char	attr[STAMP_NAME_MAX];
	char	value[256];
	char	list[256];		/* the `stanzas` setting */
	int	overwrite;
	char	stanzas[STAMP_STANZAS_MAX][STAMP_NAME_MAX];	/* from list */
	size_t	nstanzas;
};

/* Per session, allocated (zeroed) and freed by the host. */
struct stamp_sess {
	unsigned long	stamped;
	unsigned long	kept;		/* already had the attribute */
};

/* The services table: the same for every load, valid until fini(). */
static const struct nab_host	*host;

static int	check_attr(const char *, char *, size_t);
static int	check_value(const char *, char *, size_t);
static int	check_list(const char *, char *, size_t);

static const struct nab_setting stamp_settings[] = {
	NAB_SETTING_STRING("attribute", struct stamp_conf, attr, 1, NULL,
	    check_attr, "name of the attribute to set (xml:NAME allowed, "
	    "xmlns refused)"),
	NAB_SETTING_STRING("value", struct stamp_conf, value, 0, NULL,
	    check_value, "its value; {mac} {firmware} {profile} {session} "
	    "are filled in, {{ is a '{'"),
	NAB_SETTING_STRING("stanzas", struct stamp_conf, list, 1,
	    "iq message presence", check_list, "names of the top-level "
	    "stanzas to stamp, at most 8"),
	NAB_SETTING_BOOL("overwrite", struct stamp_conf, overwrite, "no",
	    "replace an attribute the rabbit already set"),
	NAB_SETTINGS_END
};

/*
 * 1 if s (n bytes) is an element or attribute name: ASCII letters,
 * digits, '_', '-', '.', not starting with a digit, '-' or '.'.
 */
static int
is_name(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n >= STAMP_NAME_MAX || (*s >= '0' && *s <= '9') ||
	    *s == '-' || *s == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}

/*
 * The attribute: a name, or "xml:NAME" (the only prefix that needs no
 * declaration); never xmlns or xmlns:*, which would change what every
 * child means.
 */
static int
check_attr(const char *v, char *why, size_t len)
{
	const char	*n = strncmp(v, "xml:", 4) == 0 ? v + 4 : v;

	if (strcmp(v, "xmlns") != 0 && strncmp(v, "xmlns:", 6) != 0 &&
	    is_name(n, strlen(n)))
		return 0;
	snprintf(why, len, "'%s' is not allowed: use letters, digits, '_', "
	    "'-', '.', optionally after 'xml:'; not xmlns", v);
	return -1;
}

/*
 * The value: every '{' starts {mac}, {firmware}, {profile}, {session} or
 * {{, and the bytes are UTF-8 (the host already refused control
 * characters and values too long for the field).
 */
static int
check_value(const char *v, char *why, size_t len)
{
	static const char *const	 ph[] = { "{mac}", "{firmware}",
					    "{profile}", "{session}", "{{" };
	const unsigned char		*p = (const unsigned char *)v;
	size_t				 i, n;

	while (*p != '\0') {
		if (*p == '{') {
			for (i = 0; i < 5 && strncmp((const char *)p, ph[i],
			    strlen(ph[i])) != 0; i++)
				;
			if (i == 5) {
				snprintf(why, len, "has an unknown placeholder "
				    "at '%.12s', allowed {mac}, {firmware}, "
				    "{profile}, {session} and {{ for '{'",
				    (const char *)p);
				return -1;
			}
			p += strlen(ph[i]);
			continue;
		}
		/* A lead byte and its continuation bytes. */
		n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 :
		    (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : 4;
		for (i = 1; n < 4 && i <= n && (p[i] & 0xc0) == 0x80; i++)
			;
		if (n == 4 || i <= n || (n == 1 && *p < 0xc2)) {
			snprintf(why, len, "is not valid UTF-8");
			return -1;
		}
		p += n + 1;
	}
	return 0;
}

/* Split list into c->stanzas (c may be NULL: check only). 0, or -1. */
static int
split_list(const char *s, struct stamp_conf *c)
{
	size_t	n, count = 0;

	for (;;) {
		s += strspn(s, " \t");
		if (*s == '\0')
			return count > 0 ? 0 : -1;
		n = strcspn(s, " \t");
		if (count == STAMP_STANZAS_MAX || !is_name(s, n))
			return -1;
		if (c != NULL) {
			memcpy(c->stanzas[count], s, n);
			c->stanzas[count][n] = '\0';
			c->nstanzas = count + 1;
		}
		count++;
		s += n;
	}
}

static int
check_list(const char *v, char *why, size_t len)
{
	if (split_list(v, NULL) == 0)
		return 0;
	snprintf(why, len, "'%s' is not a list of 1 to %d element names (iq "
	    "message presence ...)", v, STAMP_STANZAS_MAX);
	return -1;
}

/*
 * The host has checked and filled the settings into *state before this
 * runs; what is left is to keep the host and derive the stanza list.
 */
static int
stamp_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	/*
	 * A host older than ABI 1.4 ignores the settings table and the sizes:
	 * refuse it instead of running with an unfilled state.
	 */
	if (h->abi_minor < 4) {
		snprintf(err, errlen, "stamp needs filter ABI 1.4 (this "
		    "nabproxy speaks %u.%u)", h->abi_major, h->abi_minor);
		return -1;
	}
	host = h;
	return split_list(((struct stamp_conf *)*state)->list, *state);
}

/* The session ended (reason: "rabbit closed", "timeout", ...). */
static void
stamp_close(struct nab_ctx *ctx, const char *reason)
{
	struct stamp_sess	*s = host->get_data(ctx);

	host->log(ctx, NAB_LOG_INFO, "stamped %lu stanzas, %lu already had "
	    "the attribute (%s)", s->stamped, s->kept, reason);
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
		n = strcspn(p, "{");
		add = p;
		if (n == 0) {		/* a placeholder check_value allowed */
			snprintf(num, sizeof(num), "%llu",
			    (unsigned long long)id->session_id);
			add = strncmp(p, "{mac}", 5) == 0 ? id->mac :
			    strncmp(p, "{firmware}", 10) == 0 ? id->firmware :
			    strncmp(p, "{profile}", 9) == 0 ? id->profile :
			    strncmp(p, "{session}", 9) == 0 ? num : "{";
			n = strlen(add);
			p += p[1] == '{' ? 2 : strcspn(p, "}") + 1;
		} else
			p += n;
		if (used + n >= len)
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
	for (i = 0; i < c->nstanzas && strcmp(name, c->stanzas[i]) != 0; i++)
		;
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
	.version = "1.4",
	.description = "set a configurable attribute on stanzas to the server",
	.init = stamp_init,
	.on_stanza = stamp_stanza,
	.settings = stamp_settings,
	.state_size = sizeof(struct stamp_conf),
	.session_size = sizeof(struct stamp_sess),
	.on_close = stamp_close,
};
