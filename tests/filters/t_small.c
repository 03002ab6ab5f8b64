/*
 * t-small: a descriptor whose struct_size stops before the ABI 1.0
 * hooks (as if built against a truncated header); must be refused.
 */
#include <stddef.h>

#include <nabproxy/filter.h>

__attribute__((visibility("default")))
const struct nab_filter nab_filter = {
	.magic = NAB_FILTER_MAGIC,
	.abi_major = NAB_ABI_MAJOR,
	.abi_minor = NAB_ABI_MINOR,
	.struct_size = offsetof(struct nab_filter, open),
	.name = "t-small",
	.version = "1",
};
