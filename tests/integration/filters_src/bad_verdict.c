/*
 * A filter that answers a <message> from the rabbit with a verdict outside
 * enum nab_verdict (42). The host must close only that session and name
 * the filter in the log. Everything else passes.
 */
#include <string.h>

#include <nabproxy/filter.h>

static const struct nab_host	*host;

static int
bv_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	host = h;
	*state = NULL;
	return 0;
}

static enum nab_verdict
bv_stanza(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *st)
{
	if (d == NAB_FROM_RABBIT && strcmp(host->name(st), "message") == 0)
		return (enum nab_verdict)42;
	return NAB_PASS;
}

__attribute__((visibility("default")))
const struct nab_filter nab_filter = {
	NAB_FILTER_INIT,
	.name = "bad-verdict",
	.version = "1.0",
	.description = "returns verdict 42 for messages from the rabbit",
	.init = bv_init,
	.on_stanza = bv_stanza,
};
