/*
 * libFuzzer target for the stream parser: arbitrary bytes, fed in chunks
 * whose sizes come from the input itself, with a restart after any
 * <success/>-named stanza. Checks the invariants the proxy relies on:
 * units tile the input exactly, no unit is longer than the cap, and every
 * error is one of the documented classes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stanza.h"
#include "xmlstream.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct xs_limits lim = { 4096, 16, 32 };
	struct xmlstream	*xs;
	struct xs_unit		 u;
	size_t			 front = 0, chunk, fed, n;
	int			 r;

	if (size < 1)
		return 0;
	chunk = (data[0] % 64) + 1;
	data++;
	size--;
	if ((xs = xs_new(&lim)) == NULL)
		return 0;
	for (;;) {
		while ((r = xs_next(xs, &u)) == 1) {
			if (u.len > lim.max_stanza + 4096 || front + u.len > size)
				abort();
			front += u.len;
			if (u.kind == XS_STANZA &&
			    strcmp(stanza_root(u.st)->name, "success") == 0 &&
			    xs_reset(xs) == -1) {
				stanza_free(u.st);
				goto done;
			}
			stanza_free(u.st);
		}
		if (r == -1)
			break;
		fed = front + xs_buffered(xs);
		if (fed >= size)
			break;
		n = size - fed < chunk ? size - fed : chunk;
		if (xs_feed(xs, (const char *)data + fed, n) == -1)
			break;
	}
	if (xs_error(xs, NULL) > XS_ERR_NOMEM)
		abort();
done:
	xs_free(xs);
	return 0;
}
