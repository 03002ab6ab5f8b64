/*
 * t-verdict: a test filter that gives one configured verdict for the
 * stanzas it matches (and NAB_PASS for the rest), so tests can check
 * how the host treats each verdict, garbage and slowness included.
 *
 * Config: match = NAME (element name; default every stanza),
 * verdict = pass | drop | replace | handled | close | garbage | slow,
 * condition = COND (for close), open = fail, init = fail.
 * Counters are exported in t_verdict_stats.
 */
#include <time.h>

#include "tfilter.h"

struct t_verdict_stats {
	unsigned	inits, finis, opens, closes, calls;
};

__attribute__((visibility("default"))) struct t_verdict_stats t_verdict_stats;

struct conf {
	char	match[64];
	char	verdict[16];
	char	condition[64];
	int	open_fail;
};

static const struct nab_host	*host;

static int
v_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	struct conf	*c = tf_conf_new(h, &host, sizeof(*c));
	size_t		 i;

	if (c == NULL)
		return -1;
	snprintf(c->verdict, sizeof(c->verdict), "pass");
	snprintf(c->condition, sizeof(c->condition), "policy-violation");
	for (i = 0; i < n; i++) {
		if (TF_STR(&kv[i], "match", c->match) ||
		    TF_STR(&kv[i], "verdict", c->verdict) ||
		    TF_STR(&kv[i], "condition", c->condition))
			continue;
		if (strcmp(kv[i].key, "open") == 0)
			c->open_fail = strcmp(kv[i].value, "fail") == 0;
		else if (strcmp(kv[i].key, "init") == 0) {
			snprintf(err, errlen, "%s:%d: init refused as asked by "
			    "'%s'", kv[i].file, kv[i].line, kv[i].key);
			free(c);
			return -1;
		}
	}
	t_verdict_stats.inits++;
	*state = c;
	return 0;
}

static void
v_fini(void *state)
{
	t_verdict_stats.finis++;
	free(state);
}

static int
v_open(struct nab_ctx *ctx)
{
	struct conf	*c = host->filter_state(ctx);

	if (c->open_fail)
		return -1;
	t_verdict_stats.opens++;
	return 0;
}

static void
v_close(struct nab_ctx *ctx)
{
	t_verdict_stats.closes++;
}

static enum nab_verdict
v_stanza(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *st)
{
	struct conf		*c = host->filter_state(ctx);
	struct nab_stanza	*n;
	struct timespec		 ts = { 0, 300 * 1000 * 1000 };
	const char		*id = host->attr(st, "id");

	if (c->match[0] != '\0' && strcmp(host->name(st), c->match) != 0)
		return NAB_PASS;
	t_verdict_stats.calls++;
	if (strcmp(c->verdict, "drop") == 0)
		return NAB_DROP;
	if (strcmp(c->verdict, "replace") == 0) {
		n = host->stanza_new(ctx, "replaced");
		if (n == NULL || (id != NULL &&
		    host->set_attr(ctx, n, "id", id) == -1) ||
		    host->replace(ctx, n) == -1)
			return NAB_CLOSE;
		return NAB_REPLACE;
	}
	if (strcmp(c->verdict, "handled") == 0) {
		n = host->stanza_new(ctx, "iq");
		if (n == NULL || host->set_attr(ctx, n, "type", "result") ||
		    (id != NULL && host->set_attr(ctx, n, "id", id) == -1) ||
		    host->inject(ctx, d == NAB_FROM_RABBIT ? NAB_FROM_SERVER :
		    NAB_FROM_RABBIT, n) == -1)
			return NAB_CLOSE;
		return NAB_HANDLED;
	}
	if (strcmp(c->verdict, "close") == 0) {
		host->close_with(ctx, c->condition, "t-verdict closes");
		return NAB_CLOSE;
	}
	if (strcmp(c->verdict, "garbage") == 0)
		return (enum nab_verdict)42;
	if (strcmp(c->verdict, "slow") == 0)
		nanosleep(&ts, NULL);
	return NAB_PASS;
}

__attribute__((visibility("default")))
const struct nab_filter nab_filter = {
	NAB_FILTER_INIT,
	.name = "t-verdict",
	.version = "1",
	.description = "test: one configured verdict",
	.init = v_init,
	.fini = v_fini,
	.open = v_open,
	.close = v_close,
	.on_stanza = v_stanza,
};
