/* t-badmagic: a test descriptor with the wrong magic; must be refused. */
#include <nabproxy/filter.h>

__attribute__((visibility("default")))
const struct nab_filter nab_filter = {
	.magic = 0x12345678u,
	.abi_major = NAB_ABI_MAJOR,
	.abi_minor = NAB_ABI_MINOR,
	.struct_size = sizeof(struct nab_filter),
	.name = "t-badmagic",
	.version = "1",
};
