/*
 * t-mark: a test filter that records every hook call in the exported
 * t_mark_trace ("TAG:KIND:DIR " per call) and appends its tag to the
 * `trail` attribute of every stanza, so tests see the order filters run
 * in, per direction, both in the trace and in the bytes.
 *
 * Config: tag = WORD (default "m"); header = NAME sets attribute NAME="1"
 * on every stream header, so the host must serialise the edited header.
 */
#include "tfilter.h"

__attribute__((visibility("default"))) char t_mark_trace[4096];

static const struct nab_host	*host;

struct conf {
	char	tag[32];
	char	header[32];
};

static void
trace(struct nab_ctx *ctx, const char *kind, enum nab_dir d)
{
	const struct conf	*c = host->filter_state(ctx);
	size_t			 n = strlen(t_mark_trace);

	snprintf(t_mark_trace + n, sizeof(t_mark_trace) - n, "%s:%s:%c ",
	    c->tag, kind, d == NAB_FROM_RABBIT ? 'R' : 'S');
}

static int
mark_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	struct conf	*c = tf_conf_new(h, &host, sizeof(*c));
	size_t		 i;

	if (c == NULL)
		return -1;
	snprintf(c->tag, sizeof(c->tag), "m");
	for (i = 0; i < n; i++) {
		TF_STR(&kv[i], "tag", c->tag);
		TF_STR(&kv[i], "header", c->header);
	}
	*state = c;
	return 0;
}

static void
mark_fini(void *state)
{
	free(state);
}

static enum nab_verdict
mark_header(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *st)
{
	const struct conf	*c = host->filter_state(ctx);

	trace(ctx, "hdr", d);
	if (c->header[0] != '\0' &&
	    host->set_attr(ctx, st, c->header, "1") == -1)
		return NAB_CLOSE;
	return NAB_PASS;
}

static enum nab_verdict
mark_stanza(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *st)
{
	const char	*old = host->attr(st, "trail");
	char		 buf[256];

	trace(ctx, "st", d);
	snprintf(buf, sizeof(buf), "%s%s", old ? old : "",
	    ((const struct conf *)host->filter_state(ctx))->tag);
	return host->set_attr(ctx, st, "trail", buf) == 0 ? NAB_PASS :
	    NAB_CLOSE;
}

static enum nab_verdict
mark_end(struct nab_ctx *ctx, enum nab_dir d)
{
	trace(ctx, "end", d);
	return NAB_PASS;
}

static enum nab_verdict
mark_ws(struct nab_ctx *ctx, enum nab_dir d, const char *b, size_t len)
{
	trace(ctx, "ws", d);
	return NAB_PASS;
}

static void
mark_restart(struct nab_ctx *ctx, enum nab_dir d)
{
	trace(ctx, "restart", d);
}

__attribute__((visibility("default")))
const struct nab_filter nab_filter = {
	NAB_FILTER_INIT,
	.name = "t-mark",
	.version = "1",
	.description = "test: trace hook order, tag stanzas",
	.init = mark_init,
	.fini = mark_fini,
	.on_header = mark_header,
	.on_stanza = mark_stanza,
	.on_end = mark_end,
	.on_restart = mark_restart,
	.on_whitespace = mark_ws,
};
