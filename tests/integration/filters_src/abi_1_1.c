/*
 * A filter as built against the ABI 1.1 header: abi_minor 1, the
 * descriptor ending after on_whitespace, its own keys checked in init()
 * (it accepts `greeting` and refuses anything else, at the key's line).
 * The host must load it, hand it its keys and read nothing past
 * struct_size.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <nabproxy/filter.h>

static int
old_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(kv[i].key, "path") != 0 &&
		    strcmp(kv[i].key, "greeting") != 0) {
			snprintf(err, errlen, "%s:%d: unknown key '%s'",
			    kv[i].file, kv[i].line, kv[i].key);
			return -1;
		}
	*state = NULL;
	return 0;
}

__attribute__((visibility("default")))
const struct nab_filter nab_filter = {
	.magic = NAB_FILTER_MAGIC,
	.abi_major = 1,
	.abi_minor = 1,
	.struct_size = offsetof(struct nab_filter, settings),
	.name = "abi-1-1",
	.version = "1.1",
	.init = old_init,
};
