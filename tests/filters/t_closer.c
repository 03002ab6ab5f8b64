/*
 * t-closer: a test filter that closes its session with close_with() in
 * the ways a filter may legitimately do it, on the rabbit's command
 * <close cond='COND' how='heap|timer'/> (every other stanza passes).
 *
 * heap: the condition is a heap copy, scribbled over and freed before
 * the hook returns NAB_CLOSE, so a host that kept the pointer shows it.
 * timer: the hook only arms a 10 ms timer; its callback calls
 * close_with() outside any hook, and no unit follows to act on it.
 * Timer callbacks that ran are counted in t_closer_fired.
 */
#include "tfilter.h"

__attribute__((visibility("default"))) unsigned t_closer_fired;

/* Per session: the condition the timer closes with. */
struct sess {
	char	cond[64];
};

static const struct nab_host	*host;

static int
c_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	host = h;
	*state = NULL;
	return 0;
}

static int
c_open(struct nab_ctx *ctx)
{
	struct sess	*s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -1;
	host->set_data(ctx, s);
	return 0;
}

static void
c_close(struct nab_ctx *ctx)
{
	free(host->get_data(ctx));
	host->set_data(ctx, NULL);
}

static void
c_timer(struct nab_ctx *ctx, void *arg)
{
	struct sess	*s = host->get_data(ctx);

	t_closer_fired++;
	host->close_with(ctx, s->cond, "t-closer timer");
}

/* close_with() with a condition that is garbage once the hook returns. */
static enum nab_verdict
c_close_heap(struct nab_ctx *ctx, const char *cond)
{
	char	*tmp = strdup(cond);

	if (tmp == NULL)
		return NAB_CLOSE;
	host->close_with(ctx, tmp, "t-closer heap");
	memset(tmp, 'X', strlen(tmp));
	free(tmp);
	return NAB_CLOSE;
}

static enum nab_verdict
c_stanza(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *st)
{
	struct sess	*s = host->get_data(ctx);
	const char	*cond = host->attr(st, "cond");
	const char	*how = host->attr(st, "how");

	if (d != NAB_FROM_RABBIT || strcmp(host->name(st), "close") != 0 ||
	    cond == NULL || how == NULL)
		return NAB_PASS;
	if (strcmp(how, "heap") == 0)
		return c_close_heap(ctx, cond);
	if (strcmp(how, "timer") != 0)
		return NAB_PASS;
	snprintf(s->cond, sizeof(s->cond), "%s", cond);
	if (host->timer_add(ctx, 10, c_timer, NULL) == NULL)
		return NAB_CLOSE;
	return NAB_DROP;
}

__attribute__((visibility("default")))
const struct nab_filter nab_filter = {
	NAB_FILTER_INIT,
	.name = "t-closer",
	.version = "1",
	.description = "test: close_with from a hook and from a timer",
	.init = c_init,
	.open = c_open,
	.close = c_close,
	.on_stanza = c_stanza,
};
