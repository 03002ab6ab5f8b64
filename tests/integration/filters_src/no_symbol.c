/*
 * A descriptor that -fvisibility=hidden keeps private: the .so exports
 * no nab_filter symbol (the usual mistake), so it is refused.
 */
#include <nabproxy/filter.h>

const struct nab_filter nab_filter = {
	NAB_FILTER_INIT,
	.name = "no-symbol",
};
