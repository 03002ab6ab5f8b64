/*
 * optsnap: the sessions' shared, immutable copy of the proxy's options.
 *
 * Sessions used to copy struct proxy_opts (2.4 KB) at accept; now every
 * session accepted under the same options holds one reference-counted
 * snapshot. proxy_opts_hold() returns the current snapshot, or makes a
 * new one when px->opt no longer matches it (a reload, or a test that
 * changed the options), so a running session keeps the options it was
 * accepted with until it ends. The proxy keeps no reference of its own:
 * px->optsnap is forgotten when the last holder lets go, so nothing
 * outlives the sessions and there is nothing to free at shutdown.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

struct optsnap {
	struct proxy_opts	 o;		/* first: what holders see */
	unsigned		 refs;
};

const struct proxy_opts *
proxy_opts_hold(struct proxy *px)
{
	struct optsnap	*s = px->optsnap;

	if (s != NULL && memcmp(&s->o, &px->opt, sizeof(s->o)) == 0) {
		s->refs++;
		return &s->o;
	}
	if ((s = malloc(sizeof(*s))) == NULL)
		return NULL;
	memcpy(&s->o, &px->opt, sizeof(s->o));
	s->refs = 1;
	px->optsnap = s;	/* the old one lives on with its holders */
	return &s->o;
}

void
proxy_opts_release(struct proxy *px, const struct proxy_opts *o)
{
	struct optsnap	*s;

	if (o == NULL)
		return;
	s = (struct optsnap *)(void *)((char *)(uintptr_t)o -
	    offsetof(struct optsnap, o));
	if (--s->refs > 0)
		return;
	if (px->optsnap == s)
		px->optsnap = NULL;
	free(s);
}
