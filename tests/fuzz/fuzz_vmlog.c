/*
 * libFuzzer target for the firmware-parser emulation that renders the
 * [vm] log: arbitrary bytes, all renderers, and the offline renderer
 * (render_capture) in both directions and every format, per stanza and
 * as one read. It must
 * terminate, stay in bounds and produce output bounded by a constant
 * times the input; a misread's reason is one non-empty line, and the
 * firmware's header end lies just past a '>' inside the input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "main-int.h"
#include "proxy.h"
#include "render.h"
#include "vmlog.h"

#define BOUND(n)	(64 * (n) + 4096)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	render(const uint8_t *, size_t);

/* render.c's command line needs main.c's usage exit; never called here. */
void
errx_usage(const char *fmt, ...)
{
	(void)fmt;
	abort();
}

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
	if (vmlog_misread((const char *)data, size, why, sizeof(why)) == 1 &&
	    (why[0] == '\0' || strnlen(why, sizeof(why)) == sizeof(why) ||
	    strchr(why, '\n') != NULL))
		abort();
	if (vmlog_header_end((const char *)data, size, &end) == 1 &&
	    (end == 0 || end > size || data[end - 1] != '>'))
		abort();
	if (evbuffer_get_length(out) > BOUND(size))
		abort();
	evbuffer_free(out);
	render(data, size);
	return 0;
}

/* A pasted capture, from either side, in the [vm] and raw formats. */
static void
render(const uint8_t *data, size_t size)
{
	struct render_opts	 o = { 0, LOGFMT_BOTH, "> ", 0 };
	struct evbuffer		*out;
	char			 err[256];
	int			 i;

	for (i = 0; i < 4; i++) {
		/* Both directions, per stanza and as one read. */
		o.from_server = i & 1;
		o.one_read = i >> 1;
		if ((out = evbuffer_new()) == NULL)
			return;
		(void)render_capture(out, &o, (const char *)data, size, err,
		    sizeof(err));
		/* Both formats, and an implicit header: twice the bound. */
		if (evbuffer_get_length(out) > 2 * BOUND(size) + 4096)
			abort();
		evbuffer_free(out);
	}
}
