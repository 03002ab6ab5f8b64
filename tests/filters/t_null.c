/*
 * t-null: a test filter with every hook NULL. The host must treat each
 * missing hook as NAB_PASS and still forward everything byte for byte.
 */
#include <nabproxy/filter.h>

__attribute__((visibility("default")))
const struct nab_filter nab_filter = {
	NAB_FILTER_INIT,
	.name = "t-null",
	.version = "1",
	.description = "test: no hooks at all",
};
