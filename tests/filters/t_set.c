/*
 * t-set: a filter ABI 1.4 test filter: one setting of every type, the
 * host's state and session blocks, on_close. A <t/> from the rabbit is
 * answered with <conf .../> showing the filled settings and n, a
 * per-session counter; <close/> closes the session with
 * policy-violation. Every on_close reason is appended to the exported
 * t_set_reasons ("REASON|"), every init to t_set_inits.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <nabproxy/filter.h>

__attribute__((visibility("default"))) char t_set_reasons[1024];
__attribute__((visibility("default"))) unsigned t_set_inits;

struct conf {
	int		flag;
	long long	count;
	long long	wait;
	char		word[8];
	int		mode;
};

struct sess {
	unsigned	n;
};

static const struct nab_host	*host;
static const char *const	 modes[] = { "fast", "slow", "off", NULL };

/* A word without an 'x'. */
static int
no_x(const char *v, char *why, size_t len)
{
	if (strchr(v, 'x') == NULL)
		return 0;
	snprintf(why, len, "'%s' has an x", v);
	return -1;
}

static const struct nab_setting settings[] = {
	NAB_SETTING_BOOL("flag", struct conf, flag, "no", "a flag"),
	NAB_SETTING_INT("count", struct conf, count, 1, 10, "3", "a count"),
	NAB_SETTING_DURATION("wait", struct conf, wait, 0, 60000, "1500ms",
	    "a wait"),
	NAB_SETTING_STRING("word", struct conf, word, 2, NULL, no_x,
	    "a word without x"),
	NAB_SETTING_ENUM("mode", struct conf, mode, modes, "slow", "a mode"),
	NAB_SETTINGS_END
};

static int
s_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	host = h;
	t_set_inits++;
	return 0;
}

static enum nab_verdict
s_stanza(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *st)
{
	const struct conf	*c = host->filter_state(ctx);
	struct sess		*s = host->get_data(ctx);
	struct nab_stanza	*r;
	char			 v[160];

	if (d != NAB_FROM_RABBIT)
		return NAB_PASS;
	if (strcmp(host->name(st), "close") == 0) {
		host->close_with(ctx, "policy-violation", "asked to");
		return NAB_CLOSE;
	}
	if (strcmp(host->name(st), "t") != 0)
		return NAB_PASS;
	s->n++;
	snprintf(v, sizeof(v), "%d %lld %lld %s %s %u", c->flag, c->count,
	    c->wait, c->word, modes[c->mode], s->n);
	if ((r = host->stanza_new(ctx, "conf")) == NULL ||
	    host->set_attr(ctx, r, "v", v) == -1 ||
	    host->inject(ctx, NAB_FROM_SERVER, r) == -1)
		return NAB_PASS;
	return NAB_HANDLED;
}

static void
s_close(struct nab_ctx *ctx, const char *reason)
{
	size_t	n = strlen(t_set_reasons);

	snprintf(t_set_reasons + n, sizeof(t_set_reasons) - n, "%s|", reason);
}

__attribute__((visibility("default")))
const struct nab_filter nab_filter = {
	NAB_FILTER_INIT,
	.name = "t-set",
	.version = "1",
	.init = s_init,
	.on_stanza = s_stanza,
	.settings = settings,
	.state_size = sizeof(struct conf),
	.session_size = sizeof(struct sess),
	.on_close = s_close,
};
