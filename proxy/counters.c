/*
 * counters: bounded name tables and the rendering of struct counters as
 * Prometheus text (see counters.h). Label values come from the config
 * (filter and profile names) or from a fixed list (mechanisms, classes);
 * config names are escaped as the exposition format wants anyway.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "config.h"
#include "counters.h"
#include "proxy.h"
#include "session-int.h"

static const char *const mech_names[CNT_NMECH] = {
	"PLAIN", "DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "ANONYMOUS",
	"other"
};
/* By enum xs_error, XS_ERR_NONE (0) unused. */
static const char *const parse_classes[COUNTERS_PARSE_CLASSES] = {
	NULL, "not-well-formed", "restricted-xml", "policy-violation",
	"internal-server-error"
};
static const char *const dir_names[2] = { "from_rabbit", "from_server" };
static const char *const outcomes[2] = { "success", "failure" };

static struct cnt_named	*named_slot(struct cnt_named *, size_t *,
			    const char *);
static int		 add_label(struct evbuffer *, const char *);

enum cnt_mech
counters_mech(const char *name)
{
	int	i;

	for (i = 0; name != NULL && i < CNT_MECH_OTHER; i++)
		if (strcasecmp(name, mech_names[i]) == 0)
			return (enum cnt_mech)i;
	return CNT_MECH_OTHER;
}

const char *
counters_mech_name(enum cnt_mech m)
{
	return (unsigned)m < CNT_NMECH ? mech_names[m] : "other";
}

/* The entry for name, added if there is room; else the "_other" entry. */
static struct cnt_named *
named_slot(struct cnt_named *t, size_t *n, const char *name)
{
	size_t	i;

	if (name == NULL || name[0] == '\0')
		name = "_none";
	for (i = 0; i < *n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	if (*n < COUNTERS_NAMES && strlen(name) < COUNTERS_NAME_MAX) {
		snprintf(t[*n].name, sizeof(t[*n].name), "%s", name);
		return &t[(*n)++];
	}
	snprintf(t[COUNTERS_NAMES].name, sizeof(t[0].name), "_other");
	return &t[COUNTERS_NAMES];
}

uint64_t *
counters_filter(struct counters *c, const char *name)
{
	if (c == NULL)
		return NULL;
	return &named_slot(c->filters, &c->nfilters, name)->n[0];
}

void
counters_auth(struct counters *c, enum cnt_side side, const char *mech,
    const char *profile, int ok)
{
	int	o = ok ? CNT_SUCCESS : CNT_FAILURE;

	if (c == NULL)
		return;
	c->auth[side != CNT_RABBIT][counters_mech(mech)][o]++;
	if (side == CNT_RABBIT)
		named_slot(c->profiles, &c->nprofiles, profile)->n[o]++;
}

void
counters_declare(struct counters *c, const struct config *cfg)
{
	const struct config_profile	*p;
	size_t				 i, j;

	for (i = 0; i < cfg->nprofiles; i++) {
		p = &cfg->profiles[i];
		(void)named_slot(c->profiles, &c->nprofiles, p->name);
		for (j = 0; j < p->nfilters; j++)
			(void)named_slot(c->filters, &c->nfilters,
			    p->filters[j]->name);
	}
}

struct counters *
session_counters(struct session *se)
{
	return se != NULL && se->px != NULL ? &se->px->cnt : NULL;
}

/* A label value, escaped as the text format says (\\, \", \n). */
static int
add_label(struct evbuffer *out, const char *v)
{
	int	rc = 0;

	for (; *v != '\0' && rc == 0; v++)
		if (*v == '\\' || *v == '"')
			rc = evbuffer_add_printf(out, "\\%c", *v) < 0 ? -1 : 0;
		else if (*v == '\n')
			rc = evbuffer_add(out, "\\n", 2);
		else
			rc = evbuffer_add(out, v, 1);
	return rc;
}

#define FAMILY(out, name, help) \
	evbuffer_add_printf(out, "# HELP nabproxy_" name " " help "\n" \
	    "# TYPE nabproxy_" name " counter\n")

/* Named table: one line per name, with outcome labels when two. */
static int
render_named(struct evbuffer *out, const char *family, const char *label,
    const struct cnt_named *t, size_t n, int outcome)
{
	size_t	i;
	int	rc = 0, o;

	for (i = 0; i <= COUNTERS_NAMES; i++) {
		if (i == n)
			i = COUNTERS_NAMES;	/* then "_other" if used */
		if (t[i].name[0] == '\0')
			continue;
		for (o = 0; o < (outcome ? 2 : 1); o++) {
			rc |= evbuffer_add_printf(out, "nabproxy_%s{%s=\"",
			    family, label);
			rc |= add_label(out, t[i].name);
			if (outcome)
				rc |= evbuffer_add_printf(out, "\",outcome="
				    "\"%s", outcomes[o]);
			rc |= evbuffer_add_printf(out, "\"} %llu\n",
			    (unsigned long long)t[i].n[o]);
		}
	}
	return rc < 0 ? -1 : 0;
}

int
counters_render(const struct counters *c, struct evbuffer *out)
{
	static const char *const sides[2] = { "rabbit", "nabproxy" };
	int	rc = 0, s, m, o, d, k;

	rc |= FAMILY(out, "filter_repairs_total", "Units a filter edited, "
	    "replaced, dropped or answered itself, by filter.");
	rc |= render_named(out, "filter_repairs_total", "filter", c->filters,
	    c->nfilters, 0);
	rc |= FAMILY(out, "auth_total", "SASL outcomes by who logged in (the "
	    "rabbit, or nabproxy upstream), mechanism and outcome.");
	for (s = 0; s < 2; s++)
		for (m = 0; m < CNT_NMECH; m++)
			for (o = 0; o < 2; o++)
				rc |= evbuffer_add_printf(out, "nabproxy_auth_"
				    "total{side=\"%s\",mechanism=\"%s\","
				    "outcome=\"%s\"} %llu\n", sides[s],
				    mech_names[m], outcomes[o],
				    (unsigned long long)c->auth[s][m][o]);
	rc |= FAMILY(out, "auth_profile_total", "SASL outcomes the rabbits "
	    "got, by profile and outcome.");
	rc |= render_named(out, "auth_profile_total", "profile", c->profiles,
	    c->nprofiles, 1);
	rc |= FAMILY(out, "upstream_connect_failures_total", "Server "
	    "connections that failed or timed out before TCP was up.");
	rc |= evbuffer_add_printf(out, "nabproxy_upstream_connect_failures_"
	    "total %llu\n", (unsigned long long)c->upstream_connect_failed);
	rc |= FAMILY(out, "upstream_tls_failures_total", "Server connections "
	    "whose STARTTLS failed (refused, handshake, certificate, pin).");
	rc |= evbuffer_add_printf(out, "nabproxy_upstream_tls_failures_total "
	    "%llu\n", (unsigned long long)c->upstream_tls_failed);
	rc |= FAMILY(out, "parser_errors_total", "Streams closed for bad "
	    "input, by direction and class (the stream error condition).");
	for (d = 0; d < 2; d++)
		for (k = 1; k < COUNTERS_PARSE_CLASSES; k++)
			rc |= evbuffer_add_printf(out, "nabproxy_parser_errors_"
			    "total{direction=\"%s\",class=\"%s\"} %llu\n",
			    dir_names[d], parse_classes[k],
			    (unsigned long long)c->parse_errors[d][k]);
	rc |= FAMILY(out, "login_probe_backoffs_total", "Password attempts "
	    "refused because the account or address is backing off.");
	rc |= evbuffer_add_printf(out, "nabproxy_login_probe_backoffs_total "
	    "%llu\n", (unsigned long long)c->probe_backoffs);
	return rc < 0 ? -1 : 0;
}
