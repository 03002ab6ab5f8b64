/*
 * t-old: a filter as built against the ABI 1.1 header: abi_minor 1, the
 * descriptor ending after on_whitespace, its own keys read in init()
 * (any key is accepted: the host must not judge them), per-session data
 * from set_data() in open(), freed in close(). Rabbit stanzas get
 * old='VALUE OF tag'; open/close calls are counted in t_old_stats. The
 * 1.4 fields past struct_size are set to values the host must ignore.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <nabproxy/filter.h>

struct t_old_stats {
	unsigned	opens, closes;
};

__attribute__((visibility("default"))) struct t_old_stats t_old_stats;

static const struct nab_host	*host;
static char			 tag[32] = "none";

static int
o_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	size_t	i;

	host = h;
	for (i = 0; i < n; i++)
		if (strcmp(kv[i].key, "tag") == 0)
			strncpy(tag, kv[i].value, sizeof(tag) - 1);
	*state = NULL;
	return 0;
}

static int
o_open(struct nab_ctx *ctx)
{
	host->set_data(ctx, calloc(1, 16));
	t_old_stats.opens++;
	return 0;
}

static void
o_close(struct nab_ctx *ctx)
{
	free(host->get_data(ctx));
	t_old_stats.closes++;
}

/*
 * Past struct_size: a host that read these fields anyway would refuse the
 * keys (empty table), allocate a huge session block or abort at close.
 */
static const struct nab_setting none[] = { NAB_SETTINGS_END };

static void
o_never(struct nab_ctx *ctx, const char *reason)
{
	abort();
}

static enum nab_verdict
o_stanza(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *st)
{
	if (d == NAB_FROM_RABBIT && host->set_attr(ctx, st, "old", tag) == -1)
		return NAB_CLOSE;
	return NAB_PASS;
}

__attribute__((visibility("default")))
const struct nab_filter nab_filter = {
	.magic = NAB_FILTER_MAGIC,
	.abi_major = 1,
	.abi_minor = 1,
	.struct_size = offsetof(struct nab_filter, settings),
	.name = "t-old",
	.version = "1.1",
	.init = o_init,
	.open = o_open,
	.close = o_close,
	.on_stanza = o_stanza,
	.settings = none,
	.state_size = (size_t)1 << 40,
	.session_size = (size_t)1 << 40,
	.on_close = o_never,
};
