/* Something exported as nab_filter that is not a filter descriptor. */
#include <nabproxy/filter.h>

__attribute__((visibility("default")))
const struct nab_filter nab_filter = {
	.magic = 0x12345678,
	.abi_major = NAB_ABI_MAJOR,
	.abi_minor = NAB_ABI_MINOR,
	.struct_size = sizeof(struct nab_filter),
	.name = "bad-magic",
};
