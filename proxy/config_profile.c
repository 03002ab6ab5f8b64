/*
 * config_profile: owns the [filter NAME] and [profile NAME] sections of
 * nabproxy.conf: which filters exist (the built-ins, then external ones
 * with a path), the profiles with their filter lists and match lists, and
 * which profile a rabbit gets. Errors go to the parse's error list as
 * "file:line: what is wrong, what is allowed"; config.c calls in here
 * from config_load() after the [nabproxy] keys.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-int.h"

/* [profile NAME] keys; only filters is single. */
enum { PK_FILTERS = 0, PK_FIRMWARE, PK_JID, PK_MAC };
static const char *const profile_keys[] = {
	"filters", "match-firmware", "match-jid", "match-mac"
};

static struct config_filter *filter_add(struct config *, const char *);
static void		 filter_names(const struct config *, char *, size_t);
static int		 list_match(char *const *, size_t, const char *, int,
			    int);
static void		 profile_words(struct config_parse *,
			    struct config_profile *, int,
			    const struct config_entry *);

/*
 * Appends a filter called name (a string the pool owns). Returns it, or
 * NULL on ENOMEM with cfg->filters unchanged.
 */
static struct config_filter *
filter_add(struct config *cfg, const char *name)
{
	struct config_filter	*f;

	if ((f = config_push(cfg->filters, cfg->nfilters, sizeof(*f))) == NULL)
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
void
config_build_filters(struct config_parse *p, const char *const *builtin)
{
	struct config		*cfg = p->cfg;
	struct config_section	*sec;
	struct config_filter	*f;
	const char		*path, *name;
	size_t			 i, j;

	for (i = 0; builtin[i] != NULL; i++)
		if ((name = config_pool_dup(p->pool, builtin[i],
		    strlen(builtin[i]))) == NULL ||
		    filter_add(cfg, name) == NULL) {
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
		else if ((path = config_path_join(p->pool, sec->file,
		    path)) == NULL ||
		    (f = filter_add(cfg, sec->name)) == NULL)
			config_errors_add(p->errs, sec->file, sec->line,
			    "out of memory");
		else {
			f->path = path;
			f->section = sec;
		}
	}
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
struct config_profile *
config_profile_add(struct config *cfg, const char *name,
    const struct config_section *sec)
{
	struct config_profile	*pr;

	if ((pr = config_push(cfg->profiles, cfg->nprofiles,
	    sizeof(*pr))) == NULL)
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
profile_words(struct config_parse *p, struct config_profile *pr, int k,
    const struct config_entry *e)
{
	const struct config_filter	*f, **fl;
	const char			*s = e->value, *w;
	char				 buf[512], **l, ***list;
	size_t				 len, j, *n;

	while ((w = config_next_word(&s, &len)) != NULL) {
		if (k == PK_MAC && config_mac_norm(w, len, buf, 1) == -1) {
			config_errors_add(p->errs, e->file, e->line, "'%.*s' is"
			    " not a MAC address, allowed 12 hex digits, ':' or"
			    " '-' separated, or a prefix ending in '*'",
			    (int)len, w);
			continue;
		}
		if (k != PK_MAC && k != PK_FILTERS && len >= sizeof(buf)) {
			config_errors_add(p->errs, e->file, e->line, "%s pattern"
			    " of %zu bytes, allowed at most %zu",
			    profile_keys[k], len, sizeof(buf) - 1);
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
			if ((fl = config_push(pr->filters, pr->nfilters,
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
		if ((l = config_push(*list, *n, sizeof(*l))) == NULL)
			goto nomem;
		*list = l;
		if ((l[*n] = config_pool_dup(p->pool, buf,
		    strlen(buf))) == NULL)
			goto nomem;
		(*n)++;
	}
	return;
 nomem:
	config_errors_add(p->errs, e->file, e->line, "out of memory");
}

/* One [profile NAME] section into cfg->profiles. */
void
config_build_profile(struct config_parse *p, struct config_section *sec)
{
	const struct config_profile	*old;
	const struct config_entry	*e, *filters = NULL;
	struct config_profile		*pr;
	size_t				 i, k;

	if (strcmp(sec->name, "auto") == 0) {
		config_errors_add(p->errs, sec->file, sec->line, "[profile auto]:"
		    " 'auto' is reserved (profile = auto chooses a profile by "
		    "the firmware the rabbit shows)");
		return;
	}
	if ((old = config_profile_find(p->cfg, sec->name)) != NULL) {
		config_errors_add(p->errs, sec->file, sec->line, "[profile %s]"
		    " is already at %s:%u, allowed once", sec->name,
		    old->section->file, old->section->line);
		return;
	}
	if ((pr = config_profile_add(p->cfg, sec->name, sec)) == NULL) {
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

	if (mac != NULL && config_mac_norm(mac, strlen(mac), m, 0) == -1)
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
	/* auto: a rabbit that matches nothing is passed through. */
	return config_profile_find(cfg, strcmp(cfg->profile, "auto") == 0 ?
	    "passthrough" : cfg->profile);
}
