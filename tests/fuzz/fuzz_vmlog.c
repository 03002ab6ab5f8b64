/*
 * libFuzzer target for the firmware-parser emulation that renders the
 * [vm] log: arbitrary bytes, all renderers. It must terminate, stay in
 * bounds and produce output bounded by a constant times the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <event2/buffer.h>

#include "vmlog.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer	*out = evbuffer_new();
	char		 why[VMLOG_WHY_SIZE];
	int		 misread;
	size_t		 end;

	if (out == NULL)
		return 0;
	(void)vmlog_receive(out, "p ", (const char *)data, size, &misread);
	(void)vmlog_sending(out, "", (const char *)data, size);
	(void)vmlog_raw(out, "", 1, (const char *)data, size);
	(void)vmlog_misread((const char *)data, size, why, sizeof(why));
	(void)vmlog_header_end((const char *)data, size, &end);
	if (evbuffer_get_length(out) > 64 * size + 4096)
		abort();
	evbuffer_free(out);
	return 0;
}
