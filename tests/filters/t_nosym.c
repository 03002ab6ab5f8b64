/*
 * t-nosym: a shared object that exports a descriptor under another name,
 * so NAB_FILTER_SYMBOL is missing; must be refused.
 */
#include <nabproxy/filter.h>

__attribute__((visibility("default")))
const struct nab_filter nab_filter_v0 = {
	NAB_FILTER_INIT,
	.name = "t-nosym",
	.version = "1",
};
