/*
 * chain: filter registry, loading, profiles and per-session dispatch.
 *
 * Built-in and external filters are the same descriptor; the only
 * difference is where it comes from (a table here, or dlsym of
 * NAB_FILTER_SYMBOL in a .so opened RTLD_NOW|RTLD_LOCAL). A chainset owns
 * the initialised filters and profiles and is reference counted so a
 * reload never pulls a filter from under an open session. The host
 * services table lives in chain_host.c.
 */
#include <dlfcn.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain.h"
#include "chain-int.h"
#include "counters.h"
#include "log.h"
#include "session.h"
#include "stanza.h"
#include "xmlstream.h"

/* Every field of an ABI 1.0 descriptor: the least the host reads. */
#define NAB_FILTER_SIZE_1_0						\
	(offsetof(struct nab_filter, on_whitespace) +			\
	    sizeof(((struct nab_filter *)0)->on_whitespace))

/* Wall time a hook may take before its session is closed. */
#define CHAIN_BUDGET_MS	250

static const struct nab_filter *const builtins[] = {
	&nab_builtin_auth,
	&nab_builtin_register,
	&nab_builtin_bind,
	&nab_builtin_firmware_guard,
	&nab_builtin_digest_server,
	&nab_builtin_presence_echo,
	&nab_builtin_sources,
	&nab_builtin_iq_answer,
	NULL
};

static const char	*builtin_names[sizeof(builtins) / sizeof(builtins[0])];

static int	load_filter(struct cs_filter *, const struct chain_filter_conf *,
		    char *, size_t);
static int	check_desc(const struct nab_filter *, const char *, char *,
		    size_t);
static int	init_filter(struct cs_filter *, const struct chain_filter_conf *,
		    const char *, char *, size_t);
static struct cs_filter *find_filter(struct chainset *, const char *);
static char	**strv_dup(const char *const *, size_t);
static void	strv_free(char **, size_t);
static int	match_list(const char *, const char *const *, size_t, int);
static enum nab_verdict run_hook(struct chain *, struct chain_slot *,
		    enum nab_dir, const struct xs_unit *, const char *);

const char *const *
chain_builtin_names(void)
{
	size_t	i;

	for (i = 0; builtins[i] != NULL; i++)
		builtin_names[i] = builtins[i]->name;
	builtin_names[i] = NULL;
	return builtin_names;
}

const struct nab_filter *
chain_builtin(const char *name)
{
	size_t	i;

	for (i = 0; builtins[i] != NULL; i++)
		if (strcmp(builtins[i]->name, name) == 0)
			return builtins[i];
	return NULL;
}

int
chain_describe(FILE *out, const char *name, const char *path, char *err,
    size_t errlen)
{
	const struct nab_filter	*f;
	void			*dl = NULL;
	char			 file[4096];
	int			 rc = -1;

	err[0] = '\0';
	if (path == NULL) {
		if ((f = chain_builtin(name)) == NULL) {
			chain_errf(err, errlen, "%s: no such built-in filter", name);
			return -1;
		}
		if (settings_check_desc(f, name, err, errlen) == -1)
			return -1;
		settings_print(out, f, "built-in");
		return 0;
	}
	snprintf(file, sizeof(file), "%s%s", strchr(path, '/') ? "" : "./",
	    path);
	if ((dl = dlopen(file, RTLD_NOW | RTLD_LOCAL)) == NULL)
		chain_errf(err, errlen, "%s: cannot load: %s", path, dlerror());
	else if ((f = dlsym(dl, NAB_FILTER_SYMBOL)) == NULL)
		chain_errf(err, errlen, "%s: not a nabproxy filter: no symbol '%s' "
		    "exported", path, NAB_FILTER_SYMBOL);
	else if (check_desc(f, path, err, errlen) == 0 &&
	    settings_check_desc(f, path, err, errlen) == 0) {
		settings_print(out, f, path);
		rc = 0;
	}
	if (dl != NULL)
		dlclose(dl);
	return rc;
}

/* Append one "message\n" to err (chain-int.h). */
void
chain_errf(char *err, size_t len, const char *fmt, ...)
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

/* 0 if the descriptor is one we can use, else -1 with a message. */
static int
check_desc(const struct nab_filter *f, const char *where, char *err,
    size_t errlen)
{
	if (f->magic != NAB_FILTER_MAGIC) {
		chain_errf(err, errlen, "%s: not a nabproxy filter (bad magic 0x%08x)",
		    where, f->magic);
		return -1;
	}
	if (f->abi_major != NAB_ABI_MAJOR) {
		chain_errf(err, errlen, "%s: filter ABI %u.%u, this nabproxy speaks "
		    "ABI %u.x: rebuild the filter with this nabproxy's "
		    "<nabproxy/filter.h>", where, f->abi_major, f->abi_minor,
		    NAB_ABI_MAJOR);
		return -1;
	}
	if (f->struct_size < NAB_FILTER_SIZE_1_0) {
		chain_errf(err, errlen, "%s: filter descriptor struct_size %u is "
		    "smaller than the ABI %u.0 descriptor (%zu bytes)", where,
		    f->struct_size, NAB_ABI_MAJOR, NAB_FILTER_SIZE_1_0);
		return -1;
	}
	if (f->name == NULL || *f->name == '\0') {
		chain_errf(err, errlen, "%s: filter descriptor has no name", where);
		return -1;
	}
	return 0;
}

static int
load_filter(struct cs_filter *cf, const struct chain_filter_conf *fc,
    char *err, size_t errlen)
{
	const struct nab_filter	*f;
	char			 where[512], file[4096];

	snprintf(where, sizeof(where), "%s:%d: filter %s%s%s", fc->file ?
	    fc->file : "(built-in)", fc->line, fc->name, fc->path ? " in " : "",
	    fc->path ? fc->path : "");
	/* Named even when refused: find_filter() walks every slot. */
	if ((cf->name = strdup(fc->name)) == NULL) {
		chain_errf(err, errlen, "%s: out of memory", where);
		return -1;
	}
	if (fc->path != NULL) {
		/*
		 * A path is a file, never a name for the library search path:
		 * dlopen() searches for one without a '/'.
		 */
		snprintf(file, sizeof(file), "%s%s", strchr(fc->path, '/') ?
		    "" : "./", fc->path);
		if ((cf->dl = dlopen(file, RTLD_NOW | RTLD_LOCAL)) == NULL) {
			chain_errf(err, errlen, "%s: cannot load: %s", where, dlerror());
			return -1;
		}
		if ((f = dlsym(cf->dl, NAB_FILTER_SYMBOL)) == NULL) {
			chain_errf(err, errlen, "%s: not a nabproxy filter: no symbol "
			    "'%s' exported (declare the descriptor with "
			    "__attribute__((visibility(\"default\"))))", where,
			    NAB_FILTER_SYMBOL);
			return -1;
		}
	} else if ((f = chain_builtin(fc->name)) == NULL) {
		chain_errf(err, errlen, "%s: unknown built-in filter (add 'path = "
		    "FILE.so' for an external one)", where);
		return -1;
	}
	if (check_desc(f, where, err, errlen) == -1)
		return -1;
	if (strcmp(f->name, fc->name) != 0 && fc->path == NULL) {
		chain_errf(err, errlen, "%s: descriptor is named '%s'", where, f->name);
		return -1;
	}
	cf->f = f;
	return init_filter(cf, fc, where, err, errlen);
}

/*
 * ABI 1.4: the host's state block with the settings filled in (none for
 * an older filter). 0, or -1 with every settings problem in err.
 */
static int
settings_filter(struct cs_filter *cf, const struct chain_filter_conf *fc,
    const char *where, char *err, size_t errlen)
{
	const struct nab_filter	*f = cf->f;
	char			 who[512];

	if (settings_check_desc(f, where, err, errlen) == -1)
		return -1;
	if (NAB_FILTER_HAS(f, state_size) && f->state_size > 0) {
		if ((cf->state = calloc(1, f->state_size)) == NULL) {
			chain_errf(err, errlen, "%s: out of memory", where);
			return -1;
		}
		cf->host_state = 1;
	}
	snprintf(who, sizeof(who), "filter %s%s%s", fc->name, fc->path ?
	    " in " : "", fc->path ? fc->path : "");
	if (settings_of(f) != NULL &&
	    settings_apply(f, cf->state, fc, who, err, errlen) == -1)
		return -1;
	return 0;
}

/* Settings, then init(): 0, or -1 with err appended. */
static int
init_filter(struct cs_filter *cf, const struct chain_filter_conf *fc,
    const char *where, char *err, size_t errlen)
{
	const struct nab_filter	*f = cf->f;
	void			*st;
	char			 ierr[1024], file[4096];
	size_t			 i, n = 0;

	if (settings_filter(cf, fc, where, err, errlen) == -1)
		return -1;
	ierr[0] = '\0';
	st = cf->state;
	if (f->init != NULL && f->init(chain_host(), fc->kv, fc->nkv,
	    &st, ierr, sizeof(ierr)) == -1) {
		/*
		 * "FILE:LINE: why" naming one of its keys is shown at that
		 * line instead of the section's.
		 */
		for (i = 0; i < fc->nkv; i++) {
			snprintf(file, sizeof(file), "%s:%d: ", fc->kv[i].file ?
			    fc->kv[i].file : "", fc->kv[i].line);
			n = strlen(file);
			if (fc->kv[i].file != NULL && strncmp(ierr, file, n) == 0)
				break;
		}
		if (i < fc->nkv)
			chain_errf(err, errlen, "%.*sfilter %s%s%s: %s", (int)n, ierr,
			    fc->name, fc->path ? " in " : "", fc->path ?
			    fc->path : "", ierr + n);
		else
			chain_errf(err, errlen, "%s: %s", where, ierr[0] ? ierr :
			    "initialisation failed");
		return -1;
	}
	cf->inited = 1;
	if (cf->host_state && st != cf->state) {
		chain_errf(err, errlen, "%s: init() replaced the state the host "
		    "allocated (state_size): leave *state as it is", where);
		return -1;
	}
	cf->state = st;
	return 0;
}

static struct cs_filter *
find_filter(struct chainset *cs, const char *name)
{
	size_t	i;

	for (i = 0; i < cs->nfilters; i++)
		if (strcmp(cs->filters[i].name, name) == 0)
			return &cs->filters[i];
	return NULL;
}

/* Load the filters named in fc plus every built-in a profile uses. */
static int
load_all(struct chainset *cs, const struct chain_filter_conf *fc, size_t nfc,
    const struct chain_profile_conf *pc, size_t npc, char *err, size_t errlen)
{
	struct chain_filter_conf	 bc;
	size_t				 i, j, max = nfc;
	int				 bad = 0;

	for (i = 0; i < npc; i++)
		max += pc[i].nfilters;
	if ((cs->filters = calloc(max + 1, sizeof(*cs->filters))) == NULL)
		return -1;
	for (i = 0; i < nfc; i++) {
		if (find_filter(cs, fc[i].name) != NULL)
			continue;
		if (load_filter(&cs->filters[cs->nfilters], &fc[i], err,
		    errlen) == -1)
			bad = 1;
		cs->nfilters++;
	}
	for (i = 0; i < npc; i++) {
		for (j = 0; j < pc[i].nfilters; j++) {
			if (find_filter(cs, pc[i].filters[j]) != NULL)
				continue;
			memset(&bc, 0, sizeof(bc));
			bc.name = pc[i].filters[j];
			if (load_filter(&cs->filters[cs->nfilters], &bc, err,
			    errlen) == -1)
				bad = 1;
			cs->nfilters++;
		}
	}
	return bad ? -1 : 0;
}

struct chainset *
chainset_build(const struct chain_filter_conf *fc, size_t nfc,
    const struct chain_profile_conf *pc, size_t npc,
    const char *default_profile, char *err, size_t errlen)
{
	struct chainset	*cs;
	struct cs_profile *p;
	size_t		 i, j;
	int		 bad = 0;

	err[0] = '\0';
	if ((cs = calloc(1, sizeof(*cs))) == NULL ||
	    (cs->profiles = calloc(npc + 1, sizeof(*cs->profiles))) == NULL) {
		free(cs);
		chain_errf(err, errlen, "out of memory");
		return NULL;
	}
	cs->refs = 1;
	if (load_all(cs, fc, nfc, pc, npc, err, errlen) == -1)
		bad = 1;
	for (i = 0; i < npc; i++) {
		p = &cs->profiles[cs->nprofiles++];
		p->name = strdup(pc[i].name);
		p->mac = strv_dup(pc[i].match_mac, pc[i].nmatch_mac);
		p->nmac = pc[i].nmatch_mac;
		p->jid = strv_dup(pc[i].match_jid, pc[i].nmatch_jid);
		p->njid = pc[i].nmatch_jid;
		p->fw = strv_dup(pc[i].match_firmware, pc[i].nmatch_firmware);
		p->nfw = pc[i].nmatch_firmware;
		p->filters = calloc(pc[i].nfilters + 1, sizeof(*p->filters));
		for (j = 0; p->filters != NULL && j < pc[i].nfilters; j++)
			if ((p->filters[p->nfilters++] =
			    find_filter(cs, pc[i].filters[j])) == NULL)
				bad = 1;
	}
	cs->default_profile = strdup(default_profile ? default_profile :
	    "passthrough");
	if (npc > 0 && strcmp(cs->default_profile, "auto") != 0 &&
	    chainset_profile(cs, cs->default_profile) == NULL) {
		chain_errf(err, errlen, "default profile '%s' is not defined",
		    cs->default_profile);
		bad = 1;
	}
	if (bad) {
		chainset_unref(cs);
		return NULL;
	}
	return cs;
}

void
chainset_ref(struct chainset *cs)
{
	cs->refs++;
}

void
chainset_unref(struct chainset *cs)
{
	size_t	i;

	if (cs == NULL || --cs->refs > 0)
		return;
	for (i = 0; i < cs->nfilters; i++) {
		struct cs_filter *cf = &cs->filters[i];
		if (cf->inited && cf->f->fini != NULL)
			cf->f->fini(cf->state);
		if (cf->host_state)
			free(cf->state);
		if (cf->dl != NULL)
			dlclose(cf->dl);
		free(cf->name);
	}
	for (i = 0; i < cs->nprofiles; i++) {
		free(cs->profiles[i].name);
		free(cs->profiles[i].filters);
		strv_free(cs->profiles[i].mac, cs->profiles[i].nmac);
		strv_free(cs->profiles[i].jid, cs->profiles[i].njid);
		strv_free(cs->profiles[i].fw, cs->profiles[i].nfw);
	}
	free(cs->filters);
	free(cs->profiles);
	free(cs->default_profile);
	free(cs);
}

const struct cs_profile *
chainset_profile(const struct chainset *cs, const char *name)
{
	size_t	i;

	for (i = 0; i < cs->nprofiles; i++)
		if (strcmp(cs->profiles[i].name, name) == 0)
			return &cs->profiles[i];
	return NULL;
}

static char **
strv_dup(const char *const *v, size_t n)
{
	char	**r;
	size_t	  i;

	if (n == 0 || (r = calloc(n, sizeof(*r))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		r[i] = strdup(v[i]);
	return r;
}

static void
strv_free(char **v, size_t n)
{
	size_t	i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * Does v match one of the glob patterns (fnmatch, as the config module
 * documents them)? An unknown value (NULL or "") matches nothing.
 */
static int
match_list(const char *v, const char *const *list, size_t n, int fold)
{
	size_t	i;

	if (v == NULL || *v == '\0')
		return 0;
	for (i = 0; i < n; i++)
		if (list[i] != NULL &&
		    fnmatch(list[i], v, fold ? FNM_CASEFOLD : 0) == 0)
			return 1;
	return 0;
}

/*
 * The first profile, in file order, that has at least one match list and
 * whose every non-empty list matches; else the default profile. The same
 * rule as config_profile_select().
 */
const char *
chainset_select(const struct chainset *cs, const char *mac, const char *jid,
    const char *firmware)
{
	const struct cs_profile	*c;
	size_t			 i;

	for (i = 0; i < cs->nprofiles; i++) {
		c = &cs->profiles[i];
		if (c->nmac + c->njid + c->nfw == 0)
			continue;
		if (c->nmac > 0 &&
		    !match_list(mac, (const char *const *)c->mac, c->nmac, 1))
			continue;
		if (c->njid > 0 &&
		    !match_list(jid, (const char *const *)c->jid, c->njid, 1))
			continue;
		if (c->nfw > 0 &&
		    !match_list(firmware, (const char *const *)c->fw, c->nfw, 0))
			continue;
		return c->name;
	}
	return cs->default_profile;
}

struct chain *
chain_open(struct chainset *cs, const char *profile, struct session *se)
{
	const struct cs_profile	*p;
	struct chain		*ch;
	size_t			 i;

	if (profile == NULL)
		profile = cs->default_profile;
	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		return NULL;
	ch->cs = cs;
	ch->se = se;
	chainset_ref(cs);
	snprintf(ch->profile, sizeof(ch->profile), "%s", profile);
	p = chainset_profile(cs, profile);
	ch->nslots = p ? p->nfilters : 0;
	if (ch->nslots > 0 &&
	    (ch->slots = calloc(ch->nslots, sizeof(*ch->slots))) == NULL) {
		ch->nslots = 0;
		chain_close(ch, "closed: out of memory");
		return NULL;
	}
	for (i = 0; i < ch->nslots; i++) {
		struct chain_slot *sl = &ch->slots[i];
		const struct nab_filter *f = p->filters[i]->f;

		sl->cf = p->filters[i];
		sl->ctx.ch = ch;
		sl->ctx.slot = sl;
		sl->repairs = counters_filter(session_counters(se),
		    p->filters[i]->name);
		/* ABI 1.4: the host's zeroed per-session block. */
		if (NAB_FILTER_HAS(f, session_size) && f->session_size > 0 &&
		    (sl->data = sl->sdata = calloc(1, f->session_size)) ==
		    NULL) {
			chain_close(ch, "closed: out of memory");
			return NULL;
		}
	}
	for (i = 0; i < ch->nslots; i++) {
		if (ch->slots[i].cf->f->open != NULL &&
		    ch->slots[i].cf->f->open(&ch->slots[i].ctx) == -1) {
			log_warnx("filter %s refused to open a session",
			    ch->slots[i].cf->name);
			ch->nopened = i;
			chain_close(ch, "closed: a filter refused to open the "
			    "session");
			return NULL;
		}
		ch->nopened = i + 1;
	}
	return ch;
}

void
chain_close(struct chain *ch, const char *reason)
{
	const struct nab_filter	*f;
	size_t			 i;

	for (i = ch->nopened; i > 0; i--) {
		f = ch->slots[i - 1].cf->f;
		if (NAB_FILTER_HAS(f, on_close) && f->on_close != NULL)
			f->on_close(&ch->slots[i - 1].ctx, reason != NULL ?
			    reason : "closed");
		else if (f->close != NULL)
			f->close(&ch->slots[i - 1].ctx);
	}
	chain_host_cleanup(ch);
	/* Wiped: a session block may have held a password. */
	for (i = 0; i < ch->nslots; i++)
		if (ch->slots[i].sdata != NULL) {
			explicit_bzero(ch->slots[i].sdata,
			    ch->slots[i].cf->f->session_size);
			free(ch->slots[i].sdata);
		}
	free(ch->slots);
	chainset_unref(ch->cs);
	free(ch);
}

const char *
chain_profile(const struct chain *ch)
{
	return ch->profile;
}

/* Call one filter's hook for this unit, timing it. */
static enum nab_verdict
run_hook(struct chain *ch, struct chain_slot *sl, enum nab_dir d,
    const struct xs_unit *u, const char *bytes)
{
	const struct nab_filter	*f = sl->cf->f;
	struct nab_stanza	*st = u->st ?
				    (struct nab_stanza *)stanza_root(u->st) : NULL;
	struct timespec		 t0, t1;
	enum nab_verdict	 v = NAB_PASS;
	long			 ms;
	int			 edited = ch->edited;

	ch->edited = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	switch (u->kind) {
	case XS_HEADER:
		if (f->on_header != NULL)
			v = f->on_header(&sl->ctx, d, st);
		break;
	case XS_STANZA:
		if (f->on_stanza != NULL)
			v = f->on_stanza(&sl->ctx, d, st);
		break;
	case XS_WS:
		if (f->on_whitespace != NULL)
			v = f->on_whitespace(&sl->ctx, d, bytes, u->len);
		break;
	case XS_END:
		if (f->on_end != NULL)
			v = f->on_end(&sl->ctx, d);
		break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (ms > CHAIN_BUDGET_MS) {
		session_log(ch->se, 1, "filter %s took %ld ms on one unit "
		    "(budget %d ms): closing this session", sl->cf->name, ms,
		    CHAIN_BUDGET_MS);
		session_close_with(ch->se, "internal-server-error",
		    "filter exceeded its time budget");
		return NAB_CLOSE;
	}
	if ((unsigned)v > NAB_CLOSE) {
		session_log(ch->se, 1, "filter %s returned invalid verdict %d: "
		    "closing this session", sl->cf->name, (int)v);
		session_close_with(ch->se, "internal-server-error",
		    "filter returned an invalid verdict");
		return NAB_CLOSE;
	}
	/* A repair: this hook edited, replaced, dropped or answered. */
	if (sl->repairs != NULL && (ch->edited || (v != NAB_PASS &&
	    v != NAB_CLOSE)))
		(*sl->repairs)++;
	ch->edited |= edited;
	return v;
}

enum nab_verdict
chain_unit(struct chain *ch, enum nab_dir d, const struct xs_unit *u,
    const char *bytes, struct stanza **repl)
{
	enum nab_verdict	v = NAB_PASS;
	size_t			i;

	*repl = NULL;
	ch->cur = u->st;
	ch->repl = NULL;
	ch->edited = 0;
	ch->running++;
	for (i = 0; i < ch->nslots && v == NAB_PASS; i++)
		v = run_hook(ch, &ch->slots[i], d, u, bytes);
	ch->running--;
	if (v == NAB_PASS && ch->edited)
		v = NAB_REPLACE;
	if (v == NAB_REPLACE) {
		*repl = ch->repl;	/* NULL: the edited unit tree */
		ch->repl = NULL;
	}
	stanza_free(ch->repl);
	ch->repl = NULL;
	ch->cur = NULL;
	if (ch->running == 0)
		chain_host_after_unit(ch);
	return v;
}

int
chain_reads_stanzas(const struct chain *ch)
{
	size_t	i;

	for (i = 0; i < ch->nslots; i++)
		if (ch->slots[i].cf->f->on_stanza != NULL)
			return 1;
	return 0;
}

void
chain_restart(struct chain *ch, enum nab_dir d)
{
	size_t	i;

	for (i = 0; i < ch->nslots; i++)
		if (ch->slots[i].cf->f->on_restart != NULL)
			ch->slots[i].cf->f->on_restart(&ch->slots[i].ctx, d);
}
