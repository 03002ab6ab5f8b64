/*
 * firmware-guard: never send the rabbit what its XML parser cannot read
 * (bootcode-xmpp.md section 7). Whitespace between stanzas (keep-alives,
 * pretty-printing) would make the firmware deaf for good, so it is
 * dropped on the way to the rabbit; whitespace from the rabbit (its own
 * keep-alive) passes to the server untouched.
 */
#include <nabproxy/filter.h>

static const struct nab_host	*host;

static int
guard_init(const struct nab_host *h, const struct nab_kv *cfg, size_t n,
    void **state, char *err, size_t errlen)
{
	host = h;
	*state = NULL;
	return 0;
}

static enum nab_verdict
guard_ws(struct nab_ctx *ctx, enum nab_dir d, const char *b, size_t len)
{
	return d == NAB_FROM_SERVER ? NAB_DROP : NAB_PASS;
}

const struct nab_filter nab_builtin_firmware_guard = {
	NAB_FILTER_INIT,
	.name = "firmware-guard",
	.version = "0.1",
	.description = "keep the rabbit's fragile XML parser fed only what it reads",
	.init = guard_init,
	.on_whitespace = guard_ws,
};
