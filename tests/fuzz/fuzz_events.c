/*
 * libFuzzer target for what the events filter reads from the broker
 * (filters/events_packet.c): a command's JSON payload (ev_json_int,
 * ev_json_str, ev_json_each_int, as set/ears, set/ambient and set/led
 * read it) and a raw packet's base64 (ev_b64dec, then ev_pkt_valid). A
 * string read must be NUL-terminated inside its buffer; a decoded packet
 * never longer than its buffer; the JSON quoting of any string read
 * must fit or fail cleanly.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events-int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
each(const char *key, long v, void *arg)
{
	size_t	*n = arg;

	(void)v;
	if (strlen(key) > 4096)
		abort();
	return ++*n > 64 ? -1 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*js = (const char *)data;
	unsigned char	 pkt[1024];
	char		 s[64], q[160];
	long		 v;
	size_t		 n = 0;
	int		 k;

	(void)ev_json_int(js, size, "left", &v);
	(void)ev_json_int(js, size, "right", &v);
	if (ev_json_str(js, size, "color", s, sizeof(s)) == 0) {
		if (strnlen(s, sizeof(s)) == sizeof(s))
			abort();
		q[0] = '\0';
		(void)ev_json_quote(q, sizeof(q), s);
		if (strnlen(q, sizeof(q)) == sizeof(q))
			abort();
	}
	(void)ev_json_each_int(js, size, each, &n);
	if ((k = ev_b64dec(js, size, pkt, sizeof(pkt))) > (int)sizeof(pkt))
		abort();
	if (k >= 0)
		(void)ev_pkt_valid(pkt, (size_t)k);
	return 0;
}
