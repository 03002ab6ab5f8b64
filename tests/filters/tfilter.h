/*
 * tfilter.h: what the test filters share. Each filter keeps the host it
 * was given and reads its key = value settings into fixed string fields
 * of its own configuration. Header-only, for tests/filters/NAME.c.
 */
#ifndef NAB_TFILTER_H
#define NAB_TFILTER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nabproxy/filter.h>

#define TF_FN	__attribute__((unused)) static

/*
 * The start of init(): keep h in *host and return a zeroed configuration
 * of size bytes (NULL when out of memory: init() returns -1).
 */
TF_FN void *
tf_conf_new(const struct nab_host *h, const struct nab_host **host,
    size_t size)
{
	*host = h;
	return calloc(1, size);
}

/* If kv is the setting `key`, copy its value to buf (len bytes): 1, else 0. */
TF_FN int
tf_str(const struct nab_kv *kv, const char *key, char *buf, size_t len)
{
	if (strcmp(kv->key, key) != 0)
		return 0;
	snprintf(buf, len, "%s", kv->value);
	return 1;
}

/* tf_str() into a char array field. */
#define TF_STR(kv, key, field)	tf_str(kv, key, field, sizeof(field))

#endif /* NAB_TFILTER_H */
