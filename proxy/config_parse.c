/*
 * config_parse: the syntax of nabproxy.conf, with no idea what a key
 * means. It owns the error list, the string pool, reading a file and its
 * includes (glob(3) patterns, loops refused, at most CONFIG_INCLUDE_DEPTH
 * files deep) into sections of key/value entries that keep their file
 * and line, and the value types a key can have (numbers with units,
 * booleans, addresses, MACs), each refusal saying what is allowed.
 *
 * It promises that every error reads "file:line: what is wrong, what is
 * allowed", that reading goes on past a bad line so one run reports them
 * all, and that every string it makes belongs to the caller's pool.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config-int.h"
#include "tls_pin.h"

#define MIB		(1024UL * 1024)


static const struct {
	const char	*w_word;
	int		 w_value;
} bools[] = {
	{ "yes", 1 }, { "no", 0 }, { "true", 1 }, { "false", 0 },
	{ "on", 1 }, { "off", 0 }, { "1", 1 }, { "0", 0 },
};

static const struct {
	enum config_type	 u_type;
	const char	*u_suffix;
	unsigned long	 u_mult;
} units[] = {
	{ CT_SIZE, "K", 1024 }, { CT_SIZE, "k", 1024 },
	{ CT_SIZE, "M", MIB }, { CT_SIZE, "m", MIB },
	{ CT_DURATION, "s", 1 }, { CT_DURATION, "m", 60 },
	{ CT_DURATION, "h", 3600 },
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

static char		*trim(char *);
static int		 valid_name(const char *);
static void		 parse_line(struct config_parse *, const char *,
			    unsigned int, char *, long *);
static long		 parse_header(struct config_parse *, const char *,
			    unsigned int, char *);
static void		 parse_include(struct config_parse *, const char *,
			    unsigned int, const char *);
static void		 key_allowed(const struct config_key *, char *, size_t);
static const char	*val_number(const struct config_key *, const char *,
			    unsigned long *);
static const char	*val_addr(const struct config_key *, const char *,
			    struct config_addr *);

char *
config_pool_keep(struct config_pool *pool, char *s)
{
	char	**p;

	if (s == NULL)
		return NULL;
	if (pool->cp_n == pool->cp_cap) {
		p = reallocarray(pool->cp_str, pool->cp_cap ?
		    pool->cp_cap * 2 : 64, sizeof(*p));
		if (p == NULL) {
			free(s);
			return NULL;
		}
		pool->cp_str = p;
		pool->cp_cap = pool->cp_cap ? pool->cp_cap * 2 : 64;
	}
	pool->cp_str[pool->cp_n++] = s;
	return s;
}

char *
config_pool_dup(struct config_pool *pool, const char *s, size_t n)
{
	return config_pool_keep(pool, strndup(s, n));
}

void
config_pool_free(struct config_pool *pool)
{
	size_t	i;

	for (i = 0; i < pool->cp_n; i++)
		free(pool->cp_str[i]);
	free(pool->cp_str);
	memset(pool, 0, sizeof(*pool));
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
	if ((v = config_push(e->ce_msg, e->ce_count, sizeof(*v))) == NULL) {
		free(s);
		e->ce_dropped++;
		return;
	}
	e->ce_msg = v;
	e->ce_msg[e->ce_count++] = s;
}

const char *
config_path_join(struct config_pool *pool, const char *file, const char *rel)
{
	const char	*slash = strrchr(file, '/');
	char		*s;

	if (rel[0] == '/' || slash == NULL)
		return rel;
	if (asprintf(&s, "%.*s/%s", (int)(slash - file), file, rel) == -1)
		return NULL;
	return config_pool_keep(pool, s);
}

void
config_parse_file(struct config_parse *p, const char *path, const char *from,
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
	if ((file = config_pool_dup(p->pool, path, strlen(path))) == NULL) {
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
parse_line(struct config_parse *p, const char *file, unsigned int line, char *buf,
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
	if ((e = config_push(sec->entries, sec->nentries, sizeof(*e))) == NULL) {
		config_errors_add(p->errs, file, line, "out of memory");
		return;
	}
	sec->entries = e;
	e = &sec->entries[sec->nentries];
	e->file = file;
	e->line = line;
	e->key = config_pool_dup(p->pool, key, strlen(key));
	e->value = config_pool_dup(p->pool, value, strlen(value));
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
parse_header(struct config_parse *p, const char *file, unsigned int line, char *s)
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
	if ((sec = config_push(p->cfg->sections, p->cfg->nsections,
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
	    (sec->name = config_pool_dup(p->pool, name, strlen(name))) == NULL) {
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
parse_include(struct config_parse *p, const char *file, unsigned int line,
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
	if ((pat = config_path_join(p->pool, file, value)) == NULL) {
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
		config_parse_file(p, g.gl_pathv[i], file, line);
	if (r == 0)
		globfree(&g);
}

void
config_sections_free(struct config *cfg)
{
	size_t	i;

	for (i = 0; i < cfg->nsections; i++)
		free(cfg->sections[i].entries);
	free(cfg->sections);
	cfg->sections = NULL;
	cfg->nsections = 0;
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

const char *
config_next_word(const char **sp, size_t *len)
{
	const char	*w = *sp + strspn(*sp, " \t");

	if (*w == '\0')
		return NULL;
	*len = strcspn(w, " \t");
	*sp = w + *len;
	return w;
}

int
config_mac_norm(const char *s, size_t len, char *out, int prefix_ok)
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

int
config_val_parse(const struct config_key *k, const char *s, union config_val *v,
    char *err, size_t errlen)
{
	const char	*why = NULL;
	char		 allowed[160];
	unsigned long	 n;
	size_t		 i;

	switch (k->k_type) {
	case CT_STR:
		if ((v->s = strdup(s)) == NULL)
			why = "could not be stored: out of memory";
		break;
	case CT_LISTEN:
	case CT_UPSTREAM:
		why = val_addr(k, s, &v->a);
		break;
	case CT_UINT:
	case CT_SIZE:
	case CT_DURATION:
		if ((why = val_number(k, s, &n)) == NULL)
			v->u = (unsigned int)n;
		break;
	case CT_BOOL:
		why = "is not a boolean";
		for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
			if (strcasecmp(s, bools[i].w_word) == 0) {
				v->i = bools[i].w_value;
				why = NULL;
			}
		break;
	case CT_ENUM:
		why = "is not a known value";
		for (i = 0; k->k_words[i] != NULL; i++)
			if (strcmp(s, k->k_words[i]) == 0) {
				v->i = (int)i;
				why = NULL;
			}
		break;
	case CT_PIN:
		if (tls_pin_parse(s, v->pin) == -1)
			why = "is not a key fingerprint";
		break;
	}
	if (why == NULL)
		return 0;
	key_allowed(k, allowed, sizeof(allowed));
	snprintf(err, errlen, "%s: '%s' %s, allowed %s", k->k_name, s, why,
	    allowed);
	return -1;
}

void
config_val_store(struct config *cfg, const struct config_key *k, union config_val *in,
    union config_val *out)
{
	void	*f = (char *)cfg + k->k_off;

	switch (k->k_type) {
	case CT_STR:
		out->s = *(char **)f;
		*(char **)f = in->s;
		break;
	case CT_UPSTREAM:
		memcpy(out->a.host, cfg->upstream_host, sizeof(out->a.host));
		out->a.port = cfg->upstream_port;
		memcpy(cfg->upstream_host, in->a.host, sizeof(in->a.host));
		cfg->upstream_port = in->a.port;
		break;
	case CT_UINT:
	case CT_SIZE:
	case CT_DURATION:
		out->u = *(unsigned int *)f;
		*(unsigned int *)f = in->u;
		break;
	default:
		out->i = *(int *)f;
		*(int *)f = in->i;
		break;
	}
}

/* What k accepts, as text for an error message. */
static void
key_allowed(const struct config_key *k, char *buf, size_t len)
{
	size_t	i;

	switch (k->k_type) {
	case CT_LISTEN:
		snprintf(buf, len, "ADDR:PORT with a numeric IPv4 address or"
		    " [IPv6] address and port 0..65535");
		break;
	case CT_UPSTREAM:
		snprintf(buf, len, "HOST:PORT or [IPv6]:PORT with port"
		    " 1..65535, or nothing for demo mode");
		break;
	case CT_UINT:
		snprintf(buf, len, "%lu..%lu", k->k_min, k->k_max);
		break;
	case CT_SIZE:
		snprintf(buf, len, "%lu..%lu bytes, suffix K or M allowed",
		    k->k_min, k->k_max);
		break;
	case CT_DURATION:
		snprintf(buf, len, "%lu..%lu seconds, suffix s, m or h"
		    " allowed", k->k_min, k->k_max);
		break;
	case CT_BOOL:
		snprintf(buf, len, "yes or no (true/false, on/off, 1/0)");
		break;
	case CT_PIN:
		snprintf(buf, len, "sha256: and 64 hex digits, the SHA-256 of"
		    " the server key's DER SubjectPublicKeyInfo");
		break;
	case CT_ENUM:
		buf[0] = '\0';
		for (i = 0; k->k_words[i] != NULL; i++)
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
			    i == 0 ? "" : k->k_words[i + 1] == NULL ? " or " :
			    ", ", k->k_words[i]);
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
			return k->k_type == CT_UINT ? "is not a number" :
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
	if (k->k_type == CT_UPSTREAM && *s == '\0')
		return NULL;
	if (config_parse_hostport(s, a->host, sizeof(a->host), &a->port) == -1)
		return "is not HOST:PORT";
	v4 = inet_pton(AF_INET, a->host, bin) == 1;
	v6 = inet_pton(AF_INET6, a->host, bin) == 1;
	if (k->k_type == CT_LISTEN && !v4 && !v6)
		return "is not a numeric address";
	if (strchr(a->host, ':') != NULL && !v6)
		return "is not a valid IPv6 address";
	if (k->k_type == CT_UPSTREAM && a->port == 0)
		return "has port 0";
	return NULL;
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
