/*
 * chain_settings: the declarative settings of filter ABI 1.4 (struct
 * nab_setting in include/nabproxy/filter.h).
 *
 * Contract:
 *  - settings_check_desc() refuses a table the host cannot apply safely
 *    (a field outside state_size, a string field of no size, an enum
 *    without words, a name twice, a default that does not parse); a
 *    refused table refuses the filter at load.
 *  - settings_apply() fills the filter's zeroed state: every default,
 *    then every `key = value` line of its section (`path` is the host's
 *    own key and skipped). Every problem is appended to err as
 *    "FILE:LINE: filter NAME[ in PATH]: KEY: why" (the section's line for
 *    a required key that is missing), all of them, not only the first;
 *    -1 if there was one.
 *  - settings_print() is `nabproxy filters`' text for one descriptor.
 * Nothing here blocks or touches the network; values are parsed with no
 * locale and no allocation.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain-int.h"

#define NAB_SETTINGS_MAX	64

static const char *const type_names[] = {
	"?", "bool", "int", "duration", "string", "enum"
};

/* Append one "message\n" to err (as chain.c's errf). */
static void
serr(char *err, size_t len, const char *fmt, ...) PRINTF(3, 4);

static void
serr(char *err, size_t len, const char *fmt, ...)
{
	size_t	used = strlen(err);
	va_list	ap;

	if (used + 2 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(err + used, len - used - 1, fmt, ap);
	va_end(ap);
	used = strlen(err);
	err[used] = '\n';
	err[used + 1] = '\0';
}

/* The settings table of f if it has one (ABI 1.4), else NULL. */
const struct nab_setting *
settings_of(const struct nab_filter *f)
{
	return NAB_FILTER_HAS(f, settings) ? f->settings : NULL;
}

/* A decimal integer with optional sign, nothing else. 0, or -1. */
static int
parse_ll(const char *v, long long *out)
{
	char	*end;

	if (*v == '\0' || isspace((unsigned char)*v))
		return -1;
	errno = 0;
	*out = strtoll(v, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

/* NUMBER UNIT (ms s m h d), or "0": milliseconds. 0, or -1. */
static int
parse_duration(const char *v, long long *ms)
{
	static const struct { const char *u; long long ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 }
	};
	unsigned long long	 n;
	char			*end;
	size_t			 i;

	if (strcmp(v, "0") == 0) {
		*ms = 0;
		return 0;
	}
	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].u) == 0) {
			if (n > (unsigned long long)LLONG_MAX /
			    (unsigned long long)units[i].ms)
				return -1;
			*ms = (long long)n * units[i].ms;
			return 0;
		}
	return -1;
}

static int
parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };
	size_t	i;

	for (i = 0; yes[i] != NULL; i++)
		if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
			*out = strcmp(v, yes[i]) == 0;
			return 0;
		}
	return -1;
}

/* "a, b or c" of an enum's words into buf. */
static const char *
words_list(const char *const *w, char *buf, size_t len)
{
	size_t	i, used = 0;

	buf[0] = '\0';
	for (i = 0; w != NULL && w[i] != NULL && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
		    i == 0 ? "" : w[i + 1] == NULL ? " or " : ", ", w[i]);
	return buf;
}

/*
 * Parse v for setting s; store it at state + offset when state is not
 * NULL. 0, or -1 with the reason in why.
 */
static int
parse_value(const struct nab_setting *s, const char *v, void *state,
    char *why, size_t whylen)
{
	char		 *dst = state ? (char *)state + s->offset : NULL;
	char		  w[256];
	const char	 *p;
	long long	  ll = 0;
	int		  i = 0;

	switch (s->type) {
	case NAB_SET_BOOL:
		if (parse_bool(v, &i) == -1) {
			snprintf(why, whylen, "'%s' is not a boolean (yes or "
			    "no)", v);
			return -1;
		}
		break;
	case NAB_SET_INT:
	case NAB_SET_DURATION:
		if ((s->type == NAB_SET_INT ? parse_ll(v, &ll) :
		    parse_duration(v, &ll)) == -1) {
			snprintf(why, whylen, s->type == NAB_SET_INT ?
			    "'%s' is not an integer" : "'%s' is not a duration "
			    "(a number and a unit: ms, s, m, h or d)", v);
			return -1;
		}
		if (ll < s->min || ll > s->max) {
			snprintf(why, whylen, "%s is out of range %lld..%lld%s",
			    v, s->min, s->max, s->type == NAB_SET_DURATION ?
			    " ms" : "");
			return -1;
		}
		break;
	case NAB_SET_STRING:
		if (strlen(v) < (size_t)s->min || strlen(v) >= s->size) {
			snprintf(why, whylen, "is %zu bytes long, allowed "
			    "%lld..%zu", strlen(v), s->min, s->size - 1);
			return -1;
		}
		for (p = v; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				snprintf(why, whylen, "contains control "
				    "character 0x%02x", (unsigned char)*p);
				return -1;
			}
		break;
	case NAB_SET_ENUM:
		for (i = 0; s->words[i] != NULL; i++)
			if (strcmp(v, s->words[i]) == 0)
				break;
		if (s->words[i] == NULL) {
			snprintf(why, whylen, "'%s' is not one of %s", v,
			    words_list(s->words, w, sizeof(w)));
			return -1;
		}
		break;
	}
	if (s->check != NULL && s->check(v, why, whylen) == -1)
		return -1;
	if (dst == NULL)
		return 0;
	if (s->type == NAB_SET_BOOL || s->type == NAB_SET_ENUM)
		memcpy(dst, &i, sizeof(i));
	else if (s->type == NAB_SET_STRING)
		memcpy(dst, v, strlen(v) + 1);
	else
		memcpy(dst, &ll, sizeof(ll));
	return 0;
}

/* Bytes a setting occupies in the state, or 0 if its type is unknown. */
static size_t
field_size(const struct nab_setting *s)
{
	switch (s->type) {
	case NAB_SET_BOOL:
	case NAB_SET_ENUM:
		return sizeof(int);
	case NAB_SET_INT:
	case NAB_SET_DURATION:
		return sizeof(long long);
	case NAB_SET_STRING:
		return s->size;
	}
	return 0;
}

/* One entry of the table: 0, or -1 with err appended. */
static int
check_entry(const struct nab_setting *s, size_t state_size, const char *where,
    char *err, size_t errlen)
{
	const char	*p, *what = "";
	size_t		 n = field_size(s);
	char		 why[256];

	for (p = s->name; *p != '\0'; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
		    *p != '-')
			break;
	if (*s->name == '\0' || *p != '\0' || strcmp(s->name, "path") == 0)
		snprintf(why, sizeof(why), "is not a usable setting name "
		    "([a-z0-9-]+, not path)");
	else if (n == 0 && s->type == NAB_SET_STRING)
		snprintf(why, sizeof(why), "is a string field of size 0");
	else if (n == 0)
		snprintf(why, sizeof(why), "has unknown type %d", (int)s->type);
	else if (s->offset > state_size || n > state_size - s->offset)
		snprintf(why, sizeof(why), "lies outside the filter's state "
		    "(offset %zu + %zu bytes > state_size %zu)", s->offset, n,
		    state_size);
	else if (s->type == NAB_SET_ENUM &&
	    (s->words == NULL || s->words[0] == NULL))
		snprintf(why, sizeof(why), "is an enum without words");
	else if (s->type == NAB_SET_STRING && s->min < 0)
		snprintf(why, sizeof(why), "has a negative minimum length");
	else if (s->def != NULL &&
	    parse_value(s, s->def, NULL, why, sizeof(why)) == -1)
		what = "default ";
	else
		return 0;
	serr(err, errlen, "%s: setting '%s' %s%s", where, s->name, what, why);
	return -1;
}

int
settings_check_desc(const struct nab_filter *f, const char *where, char *err,
    size_t errlen)
{
	const struct nab_setting	*t = settings_of(f);
	size_t				 i, j, state_size;

	if (t == NULL)
		return 0;
	state_size = NAB_FILTER_HAS(f, state_size) ? f->state_size : 0;
	if (state_size == 0 && t[0].name != NULL) {
		serr(err, errlen, "%s: filter has settings but no state_size "
		    "to hold them", where);
		return -1;
	}
	for (i = 0; t[i].name != NULL; i++) {
		if (i == NAB_SETTINGS_MAX) {
			serr(err, errlen, "%s: more than %d settings", where,
			    NAB_SETTINGS_MAX);
			return -1;
		}
		if (check_entry(&t[i], state_size, where, err, errlen) == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(t[i].name, t[j].name) == 0) {
				serr(err, errlen, "%s: setting '%s' is declared "
				    "twice", where, t[i].name);
				return -1;
			}
	}
	return 0;
}

/* The table's names, "a, b, c", for an unknown key's message. */
static const char *
names_list(const struct nab_setting *t, char *buf, size_t len)
{
	size_t	i, used = 0;

	buf[0] = '\0';
	for (i = 0; t[i].name != NULL && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
		    i ? ", " : "", t[i].name);
	return buf;
}

int
settings_apply(const struct nab_filter *f, void *state,
    const struct chain_filter_conf *fc, const char *who, char *err,
    size_t errlen)
{
	const struct nab_setting	*t = settings_of(f);
	const struct nab_kv		*seen[NAB_SETTINGS_MAX];
	const struct nab_kv		*kv;
	char				 why[512], names[512];
	size_t				 i, k;
	int				 bad = 0;

	memset(seen, 0, sizeof(seen));
	for (i = 0; t[i].name != NULL; i++)
		if (t[i].def != NULL)
			(void)parse_value(&t[i], t[i].def, state, why,
			    sizeof(why));
	for (k = 0; k < fc->nkv; k++) {
		kv = &fc->kv[k];
		if (strcmp(kv->key, "path") == 0 && fc->path != NULL)
			continue;
		for (i = 0; t[i].name != NULL; i++)
			if (strcmp(kv->key, t[i].name) == 0)
				break;
		if (t[i].name == NULL && t[0].name == NULL)
			snprintf(why, sizeof(why), "unknown setting (this "
			    "filter has no settings)");
		else if (t[i].name == NULL)
			snprintf(why, sizeof(why), "unknown setting (allowed: "
			    "%s)", names_list(t, names, sizeof(names)));
		else if (seen[i] != NULL)
			snprintf(why, sizeof(why), "already set at line %d, "
			    "allowed once", seen[i]->line);
		else if (seen[i] = kv, parse_value(&t[i], kv->value, state,
		    why, sizeof(why)) == 0)
			continue;
		serr(err, errlen, "%s:%d: %s: %s: %s", kv->file ? kv->file :
		    "(built-in)", kv->line, who, kv->key, why);
		bad = 1;
	}
	for (i = 0; t[i].name != NULL; i++)
		if (t[i].def == NULL && seen[i] == NULL) {
			serr(err, errlen, "%s:%d: %s: %s: required, not set",
			    fc->file ? fc->file : "(built-in)", fc->line, who,
			    t[i].name);
			bad = 1;
		}
	return bad ? -1 : 0;
}

/* One setting for `nabproxy filters`. */
static void
print_setting(FILE *out, const struct nab_setting *s)
{
	char	w[256];

	fprintf(out, "  %s: %s", s->name, type_names[s->type]);
	if (s->type == NAB_SET_INT)
		fprintf(out, " %lld..%lld", s->min, s->max);
	else if (s->type == NAB_SET_DURATION)
		fprintf(out, " %lld..%lld ms", s->min, s->max);
	else if (s->type == NAB_SET_STRING)
		fprintf(out, " %lld..%zu bytes", s->min, s->size - 1);
	else if (s->type == NAB_SET_ENUM)
		fprintf(out, " (%s)", words_list(s->words, w, sizeof(w)));
	if (s->def == NULL)
		fprintf(out, ", required\n");
	else
		fprintf(out, ", default %s%s%s\n", *s->def ? "" : "\"",
		    s->def, *s->def ? "" : "\"");
	if (s->help != NULL)
		fprintf(out, "      %s\n", s->help);
}

void
settings_print(FILE *out, const struct nab_filter *f, const char *origin)
{
	const struct nab_setting	*t = settings_of(f);
	size_t				 i;

	fprintf(out, "%s %s (%s, ABI %u.%u)\n", f->name,
	    f->version ? f->version : "?", origin, f->abi_major, f->abi_minor);
	if (f->description != NULL)
		fprintf(out, "  %s\n", f->description);
	if (t == NULL) {
		fprintf(out, "  settings: not declared (the filter reads its "
		    "own keys)\n");
		return;
	}
	if (t[0].name == NULL)
		fprintf(out, "  settings: none\n");
	for (i = 0; t[i].name != NULL; i++)
		print_setting(out, &t[i]);
}
