/*
 * libFuzzer target for the payload decoder (proxy/vpacket.c): the input
 * as a violet:packet's base64 text, as a whole stanza, and wrapped in a
 * message's packet element, so the decoder runs both on its own and
 * behind the firmware-parser emulation. The first byte, when there is
 * one, also picks the caller's line size (1 to 256, or VPACKET_LINE_MAX).
 * Every line must be NUL-terminated inside its buffer and hold printable
 * ASCII only; a description is non-empty exactly when it says so.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpacket.h"

#define WRAP_HEAD	"<message to='a@b/idle' id='1'><packet " \
			"xmlns='violet:packet' format='1.0'>"
#define WRAP_TAIL	"</packet></message>"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Abort unless line is a clean line of at most sz - 1 bytes. */
static void
check(const char *line, size_t sz)
{
	size_t	i, n = strnlen(line, sz);

	if (n == sz)
		abort();
	for (i = 0; i < n; i++)
		if (line[i] < 0x20 || line[i] > 0x7e)
			abort();
}

static void
describe(const char *buf, size_t len, char *line, size_t sz)
{
	int	rc = vpacket_describe(buf, len, line, sz);

	check(line, sz);
	if (rc == 1 && sz > 1 && line[0] == '\0')
		abort();
	if (rc == 0 && line[0] != '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	 line[VPACKET_LINE_MAX];
	size_t	 sz = size > 0 && data[0] != 0 ? (size_t)data[0] :
		    sizeof(line);
	char	*w;

	vpacket_decode((const char *)data, size, line, sizeof(line));
	check(line, sizeof(line));
	if (strncmp(line, "packet:", 7) != 0)
		abort();
	vpacket_decode((const char *)data, size, line, sz);
	check(line, sz);
	describe((const char *)data, size, line, sizeof(line));
	describe((const char *)data, size, line, sz);
	if ((w = malloc(sizeof(WRAP_HEAD) + size + sizeof(WRAP_TAIL))) == NULL)
		return 0;
	memcpy(w, WRAP_HEAD, sizeof(WRAP_HEAD) - 1);
	if (size > 0)
		memcpy(w + sizeof(WRAP_HEAD) - 1, data, size);
	memcpy(w + sizeof(WRAP_HEAD) - 1 + size, WRAP_TAIL,
	    sizeof(WRAP_TAIL) - 1);
	describe(w, sizeof(WRAP_HEAD) - 1 + size + sizeof(WRAP_TAIL) - 1,
	    line, sizeof(line));
	free(w);
	return 0;
}
