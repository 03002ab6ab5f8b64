/* A filter built for a future ABI 2: refused, the major must match. */
#include <nabproxy/filter.h>

__attribute__((visibility("default")))
const struct nab_filter nab_filter = {
	.magic = NAB_FILTER_MAGIC,
	.abi_major = 2,
	.abi_minor = 0,
	.struct_size = sizeof(struct nab_filter),
	.name = "abi-major2",
};
