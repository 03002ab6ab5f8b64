/*
 * config: owns everything read from nabproxy.conf and its includes.
 *
 * It promises that a struct config handed out is complete and consistent:
 * every [nabproxy] key holds a checked value or its default, every filter
 * a profile names exists, and the cross-key rules hold. Nothing is ever
 * half-applied: config_load() returns a config only if no error was
 * found, after reporting all of them, and config_set() rolls back.
 * All strings live in one pool owned by the config, freed with it.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

enum key_type {
	T_STR = 0,
	T_LISTEN,
	T_UPSTREAM,
	T_UINT,
	T_SIZE,		/* bytes, K and M suffixes */
	T_DURATION,	/* seconds, s, m and h suffixes */
	T_BOOL,
	T_ENUM
};

/* One [nabproxy] key; the default goes through the same parser. */
struct config_key {
	const char		*k_name;
	enum key_type		 k_type;
	unsigned long		 k_min;
	unsigned long		 k_max;
	const char		*k_def;
	int			 k_repeat;
	size_t			 k_off;
};

#define OFF(f)		offsetof(struct config, f)
#define MIB		(1024UL * 1024)

/* Sorted by name for bsearch(); test_config sets every key. */
static const struct config_key keys[] = {
	{ "allow-plain-cleartext", T_BOOL, 0, 1, "no", 0,
	    OFF(allow_plain_cleartext) },
	{ "connect-timeout", T_DURATION, 1, 3600, "10", 0,
	    OFF(connect_timeout) },
	{ "credentials", T_STR, 0, 0, "", 0, OFF(credentials) },
	{ "drain-timeout", T_DURATION, 0, 3600, "30", 0, OFF(drain_timeout) },
	{ "hold-queue", T_SIZE, 1024, 64 * MIB, "65536", 0, OFF(hold_queue) },
	{ "idle-timeout", T_DURATION, 1, 86400, "300", 0, OFF(idle_timeout) },
	{ "listen", T_LISTEN, 0, 0, "0.0.0.0:5222", 1, OFF(listen) },
	{ "log-dir", T_STR, 0, 0, "", 0, OFF(log_dir) },
	{ "log-file", T_STR, 0, 0, "", 0, OFF(log_file) },
	{ "log-format", T_ENUM, 0, 0, "vm", 0, OFF(log_format) },
	{ "log-prefix", T_BOOL, 0, 1, "no", 0, OFF(log_prefix) },
	{ "max-connections", T_UINT, 1, 1048576, "1024", 0,
	    OFF(max_connections) },
	{ "max-depth", T_UINT, 4, 256, "32", 0, OFF(max_depth) },
	{ "max-per-source", T_UINT, 0, 1048576, "32", 0, OFF(max_per_source) },
	{ "max-stanza", T_SIZE, 1024, 16 * MIB, "65536", 0, OFF(max_stanza) },
	{ "profile", T_STR, 0, 0, "passthrough", 0, OFF(profile) },
	{ "redact", T_BOOL, 0, 1, "yes", 0, OFF(redact) },
	{ "scram-max-iterations", T_UINT, 4096, 10000000, "100000", 0,
	    OFF(scram_max_iterations) },
	{ "state-dir", T_STR, 0, 0, "/var/lib/nabproxy", 0, OFF(state_dir) },
	{ "upstream", T_UPSTREAM, 0, 0, "", 0, OFF(upstream_host) },
	{ "verbose", T_BOOL, 0, 1, "no", 0, OFF(verbose) },
};
#define NKEYS		(sizeof(keys) / sizeof(keys[0]))

/* log-format values, in enum config_log_format order. */
static const char *const log_formats[] = { "vm", "raw", "both", "none" };

static const struct {
	const char	*w_word;
	int		 w_value;
} bools[] = {
	{ "yes", 1 }, { "no", 0 }, { "true", 1 }, { "false", 0 },
	{ "on", 1 }, { "off", 0 }, { "1", 1 }, { "0", 0 },
};

static const struct {
	enum key_type	 u_type;
	const char	*u_suffix;
	unsigned long	 u_mult;
} units[] = {
	{ T_SIZE, "K", 1024 }, { T_SIZE, "k", 1024 },
	{ T_SIZE, "M", MIB }, { T_SIZE, "m", MIB },
	{ T_DURATION, "s", 1 }, { T_DURATION, "m", 60 },
	{ T_DURATION, "h", 3600 },
};

static const struct {
	const char		*s_word;
	enum config_kind	 s_kind;
	int			 s_named;
} kinds[] = {
	{ "filter", CONFIG_FILTER, 1 },
	{ "nabproxy", CONFIG_NABPROXY, 0 },
	{ "profile", CONFIG_PROFILE, 1 },
};

/* [profile NAME] keys; only filters is single. */
enum { PK_FILTERS = 0, PK_FIRMWARE, PK_JID, PK_MAC };
static const char *const profile_keys[] = {
	"filters", "match-firmware", "match-jid", "match-mac"
};

/* Cross-key rules: the first key is blamed unless only the second is set. */
static const char *const cross_keys[][2] = {
	{ "connect-timeout", "idle-timeout" },
	{ "max-per-source", "max-connections" },
	{ "hold-queue", "max-stanza" },
	{ "profile", "profile" },
};
#define NCROSS		(sizeof(cross_keys) / sizeof(cross_keys[0]))

enum src { SRC_DEFAULT = 0, SRC_FILE, SRC_CMDLINE };

struct origin {
	const char	*o_file;	/* NULL while the default holds */
	unsigned int	 o_line;
	int		 o_bad;		/* a value was refused */
};

struct config_private {
	char		**pool;		/* every string the config owns */
	size_t		  npool;
	size_t		  poolcap;
	struct origin	  origin[NKEYS];
	enum src	  listen_src;	/* who wrote the listen list */
	int		  cred_derived;	/* credentials = state-dir/... */
};

union kval {
	unsigned int		 u;
	int			 i;
	char			*s;
	struct config_addr	 a;
};

/* One config_load() run. */
struct parse {
	struct config		*cfg;
	struct config_errors	*errs;
	const char		*path;
	struct stat		 open[CONFIG_INCLUDE_DEPTH + 1];
	size_t			 depth;
};

static void		*push(void *, size_t, size_t);
static char		*pool_keep(struct config *, char *);
static char		*pool_dup(struct config *, const char *, size_t);
static char		*trim(char *);
static int		 valid_name(const char *);
static const char	*next_word(const char **, size_t *);
static void		 parse_file(struct parse *, const char *, const char *,
			    unsigned int);
static void		 parse_line(struct parse *, const char *, unsigned int,
			    char *, long *);
static long		 parse_header(struct parse *, const char *,
			    unsigned int, char *);
static void		 parse_include(struct parse *, const char *,
			    unsigned int, const char *);
static const char	*path_join(struct config *, const char *,
			    const char *);
static struct config_filter *filter_add(struct config *, const char *);
static struct config_profile *profile_add(struct config *, const char *,
			    const struct config_section *);
static void		 filter_names(const struct config *, char *, size_t);
static int		 list_match(char *const *, size_t, const char *, int,
			    int);
static int		 key_cmp(const void *, const void *);
static const struct config_key *key_find(const char *);
static void		 key_allowed(const struct config_key *, char *, size_t);
static const char	*val_number(const struct config_key *, const char *,
			    unsigned long *);
static const char	*val_addr(const struct config_key *, const char *,
			    struct config_addr *);
static int		 val_parse(const struct config_key *, const char *,
			    union kval *, char *, size_t);
static void		 val_store(struct config *, const struct config_key *,
			    union kval *, union kval *);
static int		 listen_add(struct config *, const char *, enum src,
			    char *, size_t);
static int		 derive_credentials(struct config *);
static int		 cross_check(const struct config *, size_t, char *,
			    size_t);
static void		 apply_nabproxy(struct parse *);
static void		 apply_defaults(struct parse *);
static void		 build_filters(struct parse *, const char *const *);
static void		 build_profile(struct parse *, struct config_section *);
static void		 profile_words(struct parse *, struct config_profile *,
			    int, const struct config_entry *);
static int		 mac_norm(const char *, size_t, char *, int);
static void		 check_all(struct parse *);

/*
 * Grows a malloc'd array of n elements of size bytes to n + 1. Returns
 * the new array, or NULL on ENOMEM with arr still valid and unchanged.
 */
static void *
push(void *arr, size_t n, size_t size)
{
	return reallocarray(arr, n + 1, size);
}

/*
 * Hands the malloc'd string s to cfg's pool. Returns s, or NULL on ENOMEM
 * after freeing s. NULL s is passed through, so pool_keep(asprintf...)
 * chains work.
 */
static char *
pool_keep(struct config *cfg, char *s)
{
	struct config_private	*pv = cfg->priv;
	char			**p;

	if (s == NULL)
		return NULL;
	if (pv->npool == pv->poolcap) {
		p = reallocarray(pv->pool, pv->poolcap ? pv->poolcap * 2 : 64,
		    sizeof(*p));
		if (p == NULL) {
			free(s);
			return NULL;
		}
		pv->pool = p;
		pv->poolcap = pv->poolcap ? pv->poolcap * 2 : 64;
	}
	pv->pool[pv->npool++] = s;
	return s;
}

/* Copy of the first n bytes of s, owned by cfg's pool. NULL on ENOMEM. */
static char *
pool_dup(struct config *cfg, const char *s, size_t n)
{
	return pool_keep(cfg, strndup(s, n));
}

/* Cuts leading and trailing white space in place; returns the start. */
static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* 1 if s is a non-empty run of letters, digits, '-', '_' and '.'. */
static int
valid_name(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("-_.", *s) == NULL)
			return 0;
	return 1;
}

/*
 * Next white-space separated word of *sp: returns its start and sets
 * *len, advancing *sp past it. NULL when no word is left.
 */
static const char *
next_word(const char **sp, size_t *len)
{
	const char	*w = *sp + strspn(*sp, " \t");

	if (*w == '\0')
		return NULL;
	*len = strcspn(w, " \t");
	*sp = w + *len;
	return w;
}

void
config_errors_init(struct config_errors *e)
{
	memset(e, 0, sizeof(*e));
}

void
config_errors_free(struct config_errors *e)
{
	size_t	i;

	for (i = 0; i < e->ce_count; i++)
		free(e->ce_msg[i]);
	free(e->ce_msg);
	memset(e, 0, sizeof(*e));
}

void
config_errors_add(struct config_errors *e, const char *file,
    unsigned int line, const char *fmt, ...)
{
	char	 msg[1024], *s, **v;
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e->ce_count >= CONFIG_ERRORS_MAX) {
		e->ce_dropped++;
		return;
	}
	if (file == NULL)
		n = asprintf(&s, "%s", msg);
	else if (line == 0)
		n = asprintf(&s, "%s: %s", file, msg);
	else
		n = asprintf(&s, "%s:%u: %s", file, line, msg);
	if (n == -1) {
		e->ce_dropped++;
		return;
	}
	if ((v = push(e->ce_msg, e->ce_count, sizeof(*v))) == NULL) {
		free(s);
		e->ce_dropped++;
		return;
	}
	e->ce_msg = v;
	e->ce_msg[e->ce_count++] = s;
}

/*
 * Reads one file into sections. from/fromline name the include line, or
 * are NULL/0 for the main file. Errors go to p->errs; reading goes on
 * past bad lines so that all of them are reported.
 */
static void
parse_file(struct parse *p, const char *path, const char *from,
    unsigned int fromline)
{
	FILE		*f;
	struct stat	 st;
	char		*buf = NULL, *file;
	size_t		 cap = 0, i;
	ssize_t		 n;
	unsigned int	 line = 0;
	long		 cur = -1;	/* section index; -1 none, -2 bad */

	if ((f = fopen(path, "re")) == NULL || fstat(fileno(f), &st) == -1) {
		config_errors_add(p->errs, from ? from : path, fromline,
		    "%s%s: %s", from ? "cannot include " : "cannot open",
		    from ? path : "", strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		config_errors_add(p->errs, from ? from : path, fromline,
		    "%s%s%snot a regular file", from ? "cannot include " : "",
		    from ? path : "", from ? ": " : "");
		goto done;
	}
	for (i = 0; i < p->depth; i++)
		if (p->open[i].st_dev == st.st_dev &&
		    p->open[i].st_ino == st.st_ino) {
			config_errors_add(p->errs, from, fromline,
			    "include loop: %s is already being read", path);
			goto done;
		}
	if ((file = pool_dup(p->cfg, path, strlen(path))) == NULL) {
		config_errors_add(p->errs, path, 0, "out of memory");
		goto done;
	}
	p->open[p->depth++] = st;
	while ((n = getline(&buf, &cap, f)) != -1) {
		line++;
		if ((size_t)n != strlen(buf))
			config_errors_add(p->errs, file, line,
			    "NUL byte in line, text only");
		else
			parse_line(p, file, line, buf, &cur);
	}
	if (ferror(f))
		config_errors_add(p->errs, file, line + 1, "read error: %s",
		    strerror(errno));
	p->depth--;
 done:
	free(buf);
	if (f != NULL)
		fclose(f);
}

/*
 * One line: blank, comment, header, include or entry. *cur is the
 * section the file is in; a bad header sets it to -2 so that the keys
 * under it are skipped instead of reported once more.
 */
static void
parse_line(struct parse *p, const char *file, unsigned int line, char *buf,
    long *cur)
{
	struct config_section	*sec;
	struct config_entry	*e;
	char			*s, *eq, *key, *value;

	s = trim(buf);
	if (*s == '\0' || *s == '#')
		return;
	if (*s == '[') {
		*cur = parse_header(p, file, line, s);
		return;
	}
	if ((eq = strchr(s, '=')) == NULL) {
		config_errors_add(p->errs, file, line, "expected 'key = value',"
		    " a [section] header or a # comment");
		return;
	}
	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	if (!valid_name(key)) {
		config_errors_add(p->errs, file, line, "bad key '%s', keys use"
		    " letters, digits, '-', '_' and '.'", key);
		return;
	}
	if (strcmp(key, "include") == 0) {
		parse_include(p, file, line, value);
		return;
	}
	if (*cur == -2)
		return;
	if (*cur == -1) {
		config_errors_add(p->errs, file, line, "'%s' is outside any"
		    " section, put it under [nabproxy], [filter NAME] or"
		    " [profile NAME]", key);
		return;
	}
	sec = &p->cfg->sections[*cur];
	if ((e = push(sec->entries, sec->nentries, sizeof(*e))) == NULL) {
		config_errors_add(p->errs, file, line, "out of memory");
		return;
	}
	sec->entries = e;
	e = &sec->entries[sec->nentries];
	e->file = file;
	e->line = line;
	e->key = pool_dup(p->cfg, key, strlen(key));
	e->value = pool_dup(p->cfg, value, strlen(value));
	if (e->key == NULL || e->value == NULL)
		config_errors_add(p->errs, file, line, "out of memory");
	else
		sec->nentries++;
}

/*
 * "[kind]" or "[kind NAME]" at s. Returns the index of the new section,
 * or -2 after reporting a malformed or unknown header.
 */
static long
parse_header(struct parse *p, const char *file, unsigned int line, char *s)
{
	struct config_section	*sec;
	char			*end, *word, *name;
	size_t			 i;

	if ((end = strchr(s, ']')) == NULL || end[1] != '\0') {
		config_errors_add(p->errs, file, line, "malformed section"
		    " header, expected [KIND] or [KIND NAME]");
		return -2;
	}
	*end = '\0';
	word = trim(s + 1);
	name = word + strcspn(word, " \t");
	if (*name != '\0')
		*name++ = '\0';
	name = trim(name);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(word, kinds[i].s_word) == 0)
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0])) {
		config_errors_add(p->errs, file, line, "unknown section [%s],"
		    " expected [nabproxy], [filter NAME] or [profile NAME]",
		    word);
		return -2;
	}
	if (kinds[i].s_named && !valid_name(name)) {
		config_errors_add(p->errs, file, line, "[%s] needs one name of"
		    " letters, digits, '-', '_' and '.', as in [%s NAME]",
		    word, word);
		return -2;
	}
	if (!kinds[i].s_named && *name != '\0') {
		config_errors_add(p->errs, file, line, "[%s] takes no name",
		    word);
		return -2;
	}
	if ((sec = push(p->cfg->sections, p->cfg->nsections,
	    sizeof(*sec))) == NULL) {
		config_errors_add(p->errs, file, line, "out of memory");
		return -2;
	}
	p->cfg->sections = sec;
	sec = &sec[p->cfg->nsections];
	memset(sec, 0, sizeof(*sec));
	sec->kind = kinds[i].s_kind;
	sec->file = file;
	sec->line = line;
	if (kinds[i].s_named &&
	    (sec->name = pool_dup(p->cfg, name, strlen(name))) == NULL) {
		config_errors_add(p->errs, file, line, "out of memory");
		return -2;
	}
	return (long)p->cfg->nsections++;
}

/*
 * "include = PATTERN": every file the glob(3) pattern matches, in sorted
 * order, relative to the including file's directory. A pattern without
 * wildcards must match; one with wildcards may match nothing.
 */
static void
parse_include(struct parse *p, const char *file, unsigned int line,
    const char *value)
{
	const char	*pat;
	glob_t		 g;
	size_t		 i;
	int		 r;

	if (*value == '\0') {
		config_errors_add(p->errs, file, line,
		    "include needs a file name or a glob pattern");
		return;
	}
	if (p->depth >= CONFIG_INCLUDE_DEPTH) {
		config_errors_add(p->errs, file, line, "include %s: more than"
		    " %d nested files", value, CONFIG_INCLUDE_DEPTH);
		return;
	}
	if ((pat = path_join(p->cfg, file, value)) == NULL) {
		config_errors_add(p->errs, file, line, "out of memory");
		return;
	}
	r = glob(pat, 0, NULL, &g);
	if (r == GLOB_NOMATCH && strpbrk(value, "*?[") == NULL)
		config_errors_add(p->errs, file, line,
		    "cannot include %s: No such file or directory", pat);
	else if (r != 0 && r != GLOB_NOMATCH)
		config_errors_add(p->errs, file, line,
		    "cannot include %s: glob failed", pat);
	for (i = 0; r == 0 && i < g.gl_pathc; i++)
		parse_file(p, g.gl_pathv[i], file, line);
	if (r == 0)
		globfree(&g);
}

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

/* What k accepts, as text for an error message. */
static void
key_allowed(const struct config_key *k, char *buf, size_t len)
{
	switch (k->k_type) {
	case T_LISTEN:
		snprintf(buf, len, "ADDR:PORT with a numeric IPv4 address or"
		    " [IPv6] address and port 0..65535");
		break;
	case T_UPSTREAM:
		snprintf(buf, len, "HOST:PORT or [IPv6]:PORT with port"
		    " 1..65535, or nothing for demo mode");
		break;
	case T_UINT:
		snprintf(buf, len, "%lu..%lu", k->k_min, k->k_max);
		break;
	case T_SIZE:
		snprintf(buf, len, "%lu..%lu bytes, suffix K or M allowed",
		    k->k_min, k->k_max);
		break;
	case T_DURATION:
		snprintf(buf, len, "%lu..%lu seconds, suffix s, m or h"
		    " allowed", k->k_min, k->k_max);
		break;
	case T_BOOL:
		snprintf(buf, len, "yes or no (true/false, on/off, 1/0)");
		break;
	case T_ENUM:
		snprintf(buf, len, "vm, raw, both or none");
		break;
	default:
		snprintf(buf, len, "any text");
		break;
	}
}

/*
 * Decimal number with an optional unit suffix, in k's range. Returns NULL
 * with *out set, or what is wrong with s.
 */
static const char *
val_number(const struct config_key *k, const char *s, unsigned long *out)
{
	unsigned long	 v, mult = 1;
	char		*end;
	size_t		 i;

	if (!isdigit((unsigned char)*s))
		return "is not a number";
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno == ERANGE)
		return "is out of range";
	if (*end != '\0') {
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (units[i].u_type == k->k_type &&
			    strcmp(end, units[i].u_suffix) == 0)
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return k->k_type == T_UINT ? "is not a number" :
			    "has an unknown unit";
		mult = units[i].u_mult;
	}
	if (v > ULONG_MAX / mult || v * mult < k->k_min ||
	    v * mult > k->k_max)
		return "is out of range";
	*out = v * mult;
	return NULL;
}

/*
 * listen or upstream address. Returns NULL with *a set, or what is wrong
 * with s. An empty upstream is demo mode: host "" and port 0.
 */
static const char *
val_addr(const struct config_key *k, const char *s, struct config_addr *a)
{
	unsigned char	bin[sizeof(struct in6_addr)];
	int		v4, v6;

	memset(a, 0, sizeof(*a));
	if (k->k_type == T_UPSTREAM && *s == '\0')
		return NULL;
	if (config_parse_hostport(s, a->host, sizeof(a->host), &a->port) == -1)
		return "is not HOST:PORT";
	v4 = inet_pton(AF_INET, a->host, bin) == 1;
	v6 = inet_pton(AF_INET6, a->host, bin) == 1;
	if (k->k_type == T_LISTEN && !v4 && !v6)
		return "is not a numeric address";
	if (strchr(a->host, ':') != NULL && !v6)
		return "is not a valid IPv6 address";
	if (k->k_type == T_UPSTREAM && a->port == 0)
		return "has port 0";
	return NULL;
}

/*
 * Parses s for key k into *v (a new string for T_STR, which the caller
 * then owns). Returns 0, or -1 with "key: 's' what, allowed ..." in err.
 */
static int
val_parse(const struct config_key *k, const char *s, union kval *v,
    char *err, size_t errlen)
{
	const char	*why = NULL;
	char		 allowed[160];
	unsigned long	 n;
	size_t		 i;

	switch (k->k_type) {
	case T_STR:
		if ((v->s = strdup(s)) == NULL)
			why = "could not be stored: out of memory";
		break;
	case T_LISTEN:
	case T_UPSTREAM:
		why = val_addr(k, s, &v->a);
		break;
	case T_UINT:
	case T_SIZE:
	case T_DURATION:
		if ((why = val_number(k, s, &n)) == NULL)
			v->u = (unsigned int)n;
		break;
	case T_BOOL:
		why = "is not a boolean";
		for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
			if (strcasecmp(s, bools[i].w_word) == 0) {
				v->i = bools[i].w_value;
				why = NULL;
			}
		break;
	case T_ENUM:
		why = "is not a known value";
		for (i = 0; i < sizeof(log_formats) / sizeof(log_formats[0]);
		    i++)
			if (strcmp(s, log_formats[i]) == 0) {
				v->i = (int)i;
				why = NULL;
			}
		break;
	}
	if (why == NULL)
		return 0;
	key_allowed(k, allowed, sizeof(allowed));
	snprintf(err, errlen, "%s: '%s' %s, allowed %s", k->k_name, s, why,
	    allowed);
	return -1;
}

/* Puts *in into k's field of cfg and the previous value into *out. */
static void
val_store(struct config *cfg, const struct config_key *k, union kval *in,
    union kval *out)
{
	void	*f = (char *)cfg + k->k_off;

	switch (k->k_type) {
	case T_STR:
		out->s = *(char **)f;
		*(char **)f = in->s;
		break;
	case T_UPSTREAM:
		memcpy(out->a.host, cfg->upstream_host, sizeof(out->a.host));
		out->a.port = cfg->upstream_port;
		memcpy(cfg->upstream_host, in->a.host, sizeof(in->a.host));
		cfg->upstream_port = in->a.port;
		break;
	case T_UINT:
	case T_SIZE:
	case T_DURATION:
		out->u = *(unsigned int *)f;
		*(unsigned int *)f = in->u;
		break;
	default:
		out->i = *(int *)f;
		*(int *)f = in->i;
		break;
	}
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
	union kval		 v;
	size_t			 i;

	if (val_parse(key_find("listen"), s, &v, err, errlen) == -1)
		return -1;
	if ((l = push(cfg->listen, cfg->nlisten, sizeof(*l))) == NULL) {
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
 * Sets credentials to state-dir/credentials unless it was set to a
 * non-empty path. Returns 0, or -1 on ENOMEM with credentials unchanged.
 */
static int
derive_credentials(struct config *cfg)
{
	const char	*sd = cfg->state_dir;
	size_t		 n = strlen(sd);
	char		*s;

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
	else if (i == 3 && config_profile_find(cfg, cfg->profile) == NULL) {
		off = (size_t)snprintf(msg, len, "profile: no [profile %s],"
		    " defined profiles are:", cfg->profile);
		for (j = 0; j < cfg->nprofiles && off < len; j++, sep = ",")
			off += (size_t)snprintf(msg + off, len - off, "%s %s",
			    sep, cfg->profiles[j].name);
	} else
		return 0;
	return -1;
}

/* Every key's default, through the same parser as the file. */
static void
apply_defaults(struct parse *p)
{
	union kval	 v, old;
	char		 err[256];
	size_t		 i;

	for (i = 0; i < NKEYS; i++) {
		if (keys[i].k_type == T_LISTEN) {
			if (listen_add(p->cfg, keys[i].k_def, SRC_DEFAULT, err,
			    sizeof(err)) == -1)
				config_errors_add(p->errs, NULL, 0, "%s", err);
			continue;
		}
		if (val_parse(&keys[i], keys[i].k_def, &v, err,
		    sizeof(err)) == -1) {
			config_errors_add(p->errs, NULL, 0, "%s", err);
			continue;
		}
		val_store(p->cfg, &keys[i], &v, &old);
	}
	p->cfg->priv->cred_derived = 1;
}

/* The [nabproxy] section's entries onto the defaults. */
static void
apply_nabproxy(struct parse *p)
{
	struct config_section	*sec, *first = NULL;
	struct config_entry	*e;
	struct origin		*o;
	const struct config_key	*k;
	union kval		 v, old;
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
				    " may be repeated", e->key, o->o_file,
				    o->o_line);
				continue;
			}
			if (k->k_type == T_LISTEN ? listen_add(p->cfg,
			    e->value, SRC_FILE, err, sizeof(err)) :
			    val_parse(k, e->value, &v, err, sizeof(err))) {
				config_errors_add(p->errs, e->file, e->line,
				    "%s", err);
				o->o_bad = 1;
				continue;
			}
			if (k->k_type != T_LISTEN) {
				val_store(p->cfg, k, &v, &old);
				if (k->k_type == T_STR)
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
 * rel taken relative to the directory of file: rel itself if it is
 * absolute or file has no directory part, else "dir/rel" in cfg's pool.
 * NULL on ENOMEM.
 */
static const char *
path_join(struct config *cfg, const char *file, const char *rel)
{
	const char	*slash = strrchr(file, '/');
	char		*s;

	if (rel[0] == '/' || slash == NULL)
		return rel;
	if (asprintf(&s, "%.*s/%s", (int)(slash - file), file, rel) == -1)
		return NULL;
	return pool_keep(cfg, s);
}

/*
 * Appends a filter called name (a string the pool owns). Returns it, or
 * NULL on ENOMEM with cfg->filters unchanged.
 */
static struct config_filter *
filter_add(struct config *cfg, const char *name)
{
	struct config_filter	*f;

	if ((f = push(cfg->filters, cfg->nfilters, sizeof(*f))) == NULL)
		return NULL;
	cfg->filters = f;
	f += cfg->nfilters++;
	memset(f, 0, sizeof(*f));
	f->name = name;
	return f;
}

/*
 * cfg->filters: the built-ins, then one per [filter NAME] with a path,
 * which is taken relative to the directory of its file.
 */
static void
build_filters(struct parse *p, const char *const *builtin)
{
	struct config		*cfg = p->cfg;
	struct config_section	*sec;
	struct config_filter	*f;
	const char		*path, *name;
	size_t			 i, j;

	for (i = 0; builtin[i] != NULL; i++)
		if ((name = pool_dup(cfg, builtin[i], strlen(builtin[i]))) ==
		    NULL || filter_add(cfg, name) == NULL) {
			config_errors_add(p->errs, p->path, 0, "out of memory");
			return;
		}
	for (i = 0; i < cfg->nsections; i++) {
		if ((sec = &cfg->sections[i])->kind != CONFIG_FILTER)
			continue;
		f = (struct config_filter *)config_filter_find(cfg, sec->name);
		if (f != NULL && f->section != NULL) {
			config_errors_add(p->errs, sec->file, sec->line,
			    "[filter %s] is already at %s:%u, allowed once",
			    sec->name, f->section->file, f->section->line);
			continue;
		}
		path = config_section_get(sec, "path");
		for (j = 0; j < sec->nentries; j++)
			if (strcmp(sec->entries[j].key, "path") == 0 &&
			    sec->entries[j].value != path)
				config_errors_add(p->errs, sec->entries[j].file,
				    sec->entries[j].line, "'path' is set more"
				    " than once in [filter %s]", sec->name);
		if (f != NULL && path != NULL)
			config_errors_add(p->errs, sec->file, sec->line,
			    "[filter %s] is a built-in filter and takes no"
			    " path, give an external filter another name",
			    sec->name);
		else if (f != NULL)
			f->section = sec;
		else if (path == NULL || *path == '\0')
			config_errors_add(p->errs, sec->file, sec->line,
			    "[filter %s] is not built in and has no path,"
			    " add path = FILE.so", sec->name);
		else if ((path = path_join(cfg, sec->file, path)) == NULL ||
		    (f = filter_add(cfg, sec->name)) == NULL)
			config_errors_add(p->errs, sec->file, sec->line,
			    "out of memory");
		else {
			f->path = path;
			f->section = sec;
		}
	}
}

/*
 * Normalises the len bytes at s, a MAC or, with prefix_ok, a prefix
 * ending in '*', into out (16 bytes): ':' and '-' dropped, hex in lower
 * case. Returns 0, or -1 if s is neither.
 */
static int
mac_norm(const char *s, size_t len, char *out, int prefix_ok)
{
	size_t	i, n = 0;
	int	star = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == ':' || s[i] == '-')
			continue;
		if (s[i] == '*' && prefix_ok && i == len - 1)
			star = 1;
		else if (isxdigit((unsigned char)s[i]) && n < 12)
			out[n++] = (char)tolower((unsigned char)s[i]);
		else
			return -1;
	}
	if (!star && n != 12)
		return -1;
	if (star)
		out[n++] = '*';
	out[n] = '\0';
	return 0;
}

/* Names of all filters, ", " separated, into buf. */
static void
filter_names(const struct config *cfg, char *buf, size_t len)
{
	size_t	i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < cfg->nfilters && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i ? ", " : "", cfg->filters[i].name);
}

/*
 * Appends a profile called name for section sec (NULL if implicit).
 * Returns it, or NULL on ENOMEM with cfg->profiles unchanged.
 */
static struct config_profile *
profile_add(struct config *cfg, const char *name,
    const struct config_section *sec)
{
	struct config_profile	*pr;

	if ((pr = push(cfg->profiles, cfg->nprofiles, sizeof(*pr))) == NULL)
		return NULL;
	cfg->profiles = pr;
	pr += cfg->nprofiles++;
	memset(pr, 0, sizeof(*pr));
	pr->name = name;
	pr->section = sec;
	return pr;
}

/* The words of entry e, a profile key of kind k, onto profile pr. */
static void
profile_words(struct parse *p, struct config_profile *pr, int k,
    const struct config_entry *e)
{
	const struct config_filter	*f, **fl;
	const char			*s = e->value, *w;
	char				 buf[512], **l, ***list;
	size_t				 len, j, *n;

	while ((w = next_word(&s, &len)) != NULL) {
		if (k == PK_MAC && mac_norm(w, len, buf, 1) == -1) {
			config_errors_add(p->errs, e->file, e->line, "'%.*s' is"
			    " not a MAC address, allowed 12 hex digits, ':' or"
			    " '-' separated, or a prefix ending in '*'",
			    (int)len, w);
			continue;
		}
		if (k != PK_MAC)
			snprintf(buf, sizeof(buf), "%.*s", (int)len, w);
		if (k == PK_FILTERS) {
			if ((f = config_filter_find(p->cfg, buf)) == NULL) {
				filter_names(p->cfg, buf, sizeof(buf));
				config_errors_add(p->errs, e->file, e->line,
				    "unknown filter '%.*s' in [profile %s],"
				    " known filters are: %s", (int)len, w,
				    pr->name, buf);
				continue;
			}
			for (j = 0; j < pr->nfilters; j++)
				if (pr->filters[j] == f)
					break;
			if (j < pr->nfilters) {
				config_errors_add(p->errs, e->file, e->line,
				    "filter '%s' is listed twice in [profile"
				    " %s], allowed once", f->name, pr->name);
				continue;
			}
			if ((fl = push(pr->filters, pr->nfilters,
			    sizeof(*fl))) == NULL)
				goto nomem;
			pr->filters = fl;
			pr->filters[pr->nfilters++] = f;
			continue;
		}
		list = k == PK_MAC ? &pr->match_mac : k == PK_JID ?
		    &pr->match_jid : &pr->match_firmware;
		n = k == PK_MAC ? &pr->nmatch_mac : k == PK_JID ?
		    &pr->nmatch_jid : &pr->nmatch_firmware;
		if ((l = push(*list, *n, sizeof(*l))) == NULL)
			goto nomem;
		*list = l;
		if ((l[*n] = pool_dup(p->cfg, buf, strlen(buf))) == NULL)
			goto nomem;
		(*n)++;
	}
	return;
 nomem:
	config_errors_add(p->errs, e->file, e->line, "out of memory");
}

/* One [profile NAME] section into cfg->profiles. */
static void
build_profile(struct parse *p, struct config_section *sec)
{
	const struct config_profile	*old;
	const struct config_entry	*e, *filters = NULL;
	struct config_profile		*pr;
	size_t				 i, k;

	if ((old = config_profile_find(p->cfg, sec->name)) != NULL) {
		config_errors_add(p->errs, sec->file, sec->line, "[profile %s]"
		    " is already at %s:%u, allowed once", sec->name,
		    old->section->file, old->section->line);
		return;
	}
	if ((pr = profile_add(p->cfg, sec->name, sec)) == NULL) {
		config_errors_add(p->errs, sec->file, sec->line,
		    "out of memory");
		return;
	}
	for (i = 0; i < sec->nentries; i++) {
		e = &sec->entries[i];
		for (k = 0; k < sizeof(profile_keys) / sizeof(profile_keys[0]);
		    k++)
			if (strcmp(e->key, profile_keys[k]) == 0)
				break;
		if (k == sizeof(profile_keys) / sizeof(profile_keys[0])) {
			config_errors_add(p->errs, e->file, e->line, "unknown"
			    " key '%s' in [profile %s], allowed filters,"
			    " match-mac, match-jid and match-firmware", e->key,
			    sec->name);
			continue;
		}
		if (k == PK_FILTERS && filters != NULL) {
			config_errors_add(p->errs, e->file, e->line, "'filters'"
			    " is already set at %s:%u, allowed once per"
			    " profile", filters->file, filters->line);
			continue;
		}
		if (k == PK_FILTERS)
			filters = e;
		profile_words(p, pr, (int)k, e);
	}
}

/*
 * The cross-key rules, blamed on the line that set a key; rules on keys
 * whose value was already refused are skipped. Then derived defaults.
 */
static void
check_all(struct parse *p)
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
	struct parse	 p;
	struct config	*cfg;
	size_t		 before = errs->ce_count + errs->ce_dropped, i;

	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->priv = calloc(1, sizeof(*cfg->priv))) == NULL) {
		free(cfg);
		config_errors_add(errs, path, 0, "out of memory");
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.errs = errs;
	p.path = path;
	apply_defaults(&p);
	parse_file(&p, path, NULL, 0);
	apply_nabproxy(&p);
	build_filters(&p, builtin_filters);
	for (i = 0; i < cfg->nsections; i++)
		if (cfg->sections[i].kind == CONFIG_PROFILE)
			build_profile(&p, &cfg->sections[i]);
	if (config_profile_find(cfg, "passthrough") == NULL &&
	    profile_add(cfg, "passthrough", NULL) == NULL)
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
	for (i = 0; i < cfg->nsections; i++)
		free(cfg->sections[i].entries);
	free(cfg->sections);
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
	free(cfg->state_dir);
	free(cfg->credentials);
	free(cfg->profile);
	for (i = 0; i < cfg->priv->npool; i++)
		free(cfg->priv->pool[i]);
	free(cfg->priv->pool);
	free(cfg->priv);
	free(cfg);
}

int
config_set(struct config *cfg, const char *key, const char *value,
    char *err, size_t errlen)
{
	struct config_private	*pv = cfg->priv;
	const struct config_key	*k;
	union kval		 v, old, undo;
	int			 derived = pv->cred_derived;
	size_t			 i;

	if ((k = key_find(key)) == NULL) {
		snprintf(err, errlen, "%s: unknown key, allowed the keys of"
		    " [nabproxy] in nabproxy.conf", key);
		return -1;
	}
	if (k->k_type == T_LISTEN)
		return listen_add(cfg, value, SRC_CMDLINE, err, errlen);
	if (val_parse(k, value, &v, err, errlen) == -1)
		return -1;
	memset(&old, 0, sizeof(old));
	val_store(cfg, k, &v, &old);
	if (strcmp(key, "credentials") == 0)
		pv->cred_derived = 0;
	for (i = 0; i < NCROSS; i++)
		if (cross_check(cfg, i, err, errlen) == -1)
			goto undo;
	if (derive_credentials(cfg) == -1) {
		snprintf(err, errlen, "%s: out of memory", key);
		goto undo;
	}
	if (k->k_type == T_STR)
		free(old.s);
	pv->origin[k - keys].o_file = "command line";
	pv->origin[k - keys].o_line = 0;
	return 0;
 undo:
	val_store(cfg, k, &old, &undo);
	if (k->k_type == T_STR)
		free(undo.s);
	pv->cred_derived = derived;
	return -1;
}

int
config_parse_hostport(const char *s, char *host, size_t hostlen,
    unsigned short *port)
{
	const char	*h = s, *end, *c;
	unsigned long	 n = 0;
	size_t		 hlen;

	if (*s == '[') {
		h = s + 1;
		if ((end = strchr(h, ']')) == NULL || end[1] != ':')
			return -1;
		hlen = (size_t)(end - h);
		end++;
	} else {
		if ((end = strchr(s, ':')) == NULL)
			return -1;
		hlen = (size_t)(end - h);
	}
	if (hlen == 0 || hlen >= hostlen ||
	    (*s == '[' && memchr(h, ':', hlen) == NULL))
		return -1;
	for (c = h; c < h + hlen; c++)
		if (!isalnum((unsigned char)*c) &&
		    strchr(*s == '[' ? "-._:%" : "-._", *c) == NULL)
			return -1;
	for (c = end + 1; isdigit((unsigned char)*c) && c - end <= 5; c++)
		n = n * 10 + (unsigned long)(*c - '0');
	if (c == end + 1 || *c != '\0' || n > 65535)
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (unsigned short)n;
	return 0;
}

const struct config_section *
config_section_find(const struct config *cfg, enum config_kind kind,
    const char *name)
{
	const struct config_section	*sec;
	size_t				 i;

	for (i = 0; i < cfg->nsections; i++) {
		sec = &cfg->sections[i];
		if (sec->kind == kind && (name == NULL ? sec->name == NULL :
		    sec->name != NULL && strcmp(sec->name, name) == 0))
			return sec;
	}
	return NULL;
}

const struct config_filter *
config_filter_find(const struct config *cfg, const char *name)
{
	size_t	i;

	for (i = 0; i < cfg->nfilters; i++)
		if (strcmp(cfg->filters[i].name, name) == 0)
			return &cfg->filters[i];
	return NULL;
}

const struct config_profile *
config_profile_find(const struct config *cfg, const char *name)
{
	size_t	i;

	for (i = 0; i < cfg->nprofiles; i++)
		if (strcmp(cfg->profiles[i].name, name) == 0)
			return &cfg->profiles[i];
	return NULL;
}

const char *
config_section_get(const struct config_section *sec, const char *key)
{
	const char	*v = NULL;
	size_t		 i;

	for (i = 0; i < sec->nentries; i++)
		if (strcmp(sec->entries[i].key, key) == 0)
			v = sec->entries[i].value;
	return v;
}

/*
 * 1 if s matches one of the n patterns: MAC prefixes with mac set, else
 * fnmatch(3) with flags.
 */
static int
list_match(char *const *pats, size_t n, const char *s, int flags, int mac)
{
	size_t	i, len;

	for (i = 0; i < n; i++) {
		len = strlen(pats[i]);
		if (mac && pats[i][len - 1] == '*' ?
		    strncmp(s, pats[i], len - 1) == 0 :
		    mac ? strcmp(s, pats[i]) == 0 :
		    fnmatch(pats[i], s, flags) == 0)
			return 1;
	}
	return 0;
}

const struct config_profile *
config_profile_select(const struct config *cfg, const char *mac,
    const char *jid, const char *firmware)
{
	const struct config_profile	*pr;
	char				 m[16];
	size_t				 i;

	if (mac != NULL && mac_norm(mac, strlen(mac), m, 0) == -1)
		mac = NULL;
	for (i = 0; i < cfg->nprofiles; i++) {
		pr = &cfg->profiles[i];
		if (pr->nmatch_mac + pr->nmatch_jid + pr->nmatch_firmware == 0)
			continue;
		if (pr->nmatch_mac && (mac == NULL ||
		    !list_match(pr->match_mac, pr->nmatch_mac, m, 0, 1)))
			continue;
		if (pr->nmatch_jid && (jid == NULL || !list_match(pr->match_jid,
		    pr->nmatch_jid, jid, FNM_CASEFOLD, 0)))
			continue;
		if (pr->nmatch_firmware && (firmware == NULL ||
		    !list_match(pr->match_firmware, pr->nmatch_firmware,
		    firmware, 0, 0)))
			continue;
		return pr;
	}
	return config_profile_find(cfg, cfg->profile);
}
