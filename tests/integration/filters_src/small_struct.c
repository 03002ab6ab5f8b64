/*
 * A descriptor claiming to end after its name: smaller than any ABI 1
 * descriptor, so the host must not read its hooks.
 */
#include <stddef.h>

#include <nabproxy/filter.h>

__attribute__((visibility("default")))
const struct nab_filter nab_filter = {
	.magic = NAB_FILTER_MAGIC,
	.abi_major = NAB_ABI_MAJOR,
	.abi_minor = NAB_ABI_MINOR,
	.struct_size = offsetof(struct nab_filter, version),
	.name = "small-struct",
};
