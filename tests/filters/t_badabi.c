/* t-badabi: a test descriptor built for the next ABI major; refused. */
#include <nabproxy/filter.h>

__attribute__((visibility("default")))
const struct nab_filter nab_filter = {
	.magic = NAB_FILTER_MAGIC,
	.abi_major = NAB_ABI_MAJOR + 1,
	.abi_minor = NAB_ABI_MINOR,
	.struct_size = sizeof(struct nab_filter),
	.name = "t-badabi",
	.version = "1",
};
