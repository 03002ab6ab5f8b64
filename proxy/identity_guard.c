/*
 * identity_guard: the process-wide guard on password proofs by login probe
 * (identity.h). A probe proves or refutes a password with a full login on
 * the server, so without limits the 409 repair would be a guessing oracle
 * and a login storm. Failures back off per account and per source address
 * (doubling from backoff_min up to backoff_max; a source is keyed as
 * max-per-source counts it, listener_source_key(): an IPv4 address as
 * is, IPv6 by its /64, so a host cannot step past its backoff by taking
 * the next address of its prefix); a success clears the
 * account's entry; at most max_running probes run at once. Tables are
 * fixed-size (the oldest entry is recycled), so memory is bounded whatever
 * the peers do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "listener.h"

#define GUARD_SLOTS	512

struct gslot {
	char		key[ID_JID_MAX];
	unsigned	failures;
	time_t		until;
	time_t		last;
};

struct idguard {
	struct idguard_opts	o;
	unsigned		running;
	struct gslot		acct[GUARD_SLOTS];
	struct gslot		src[GUARD_SLOTS];
};

struct idguard *
idguard_new(const struct idguard_opts *o)
{
	struct idguard	*g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->o = *o;
	if (g->o.max_running == 0)
		g->o.max_running = 1;
	return g;
}

void
idguard_free(struct idguard *g)
{
	free(g);
}

static struct gslot *
gfind(struct gslot *tab, const char *key, int create)
{
	struct gslot	*old = &tab[0];
	size_t		 i;

	for (i = 0; i < GUARD_SLOTS; i++) {
		if (tab[i].key[0] != '\0' && strcmp(tab[i].key, key) == 0)
			return &tab[i];
		if (tab[i].last < old->last)
			old = &tab[i];
	}
	if (!create)
		return NULL;
	memset(old, 0, sizeof(*old));
	snprintf(old->key, sizeof(old->key), "%s", key);
	return old;
}

static unsigned
gwait(const struct gslot *s, time_t now)
{
	return s != NULL && s->until > now ? (unsigned)(s->until - now) : 0;
}

/* The source's slot: keyed as max-per-source counts it. */
static struct gslot *
src_find(struct idguard *g, const char *source, int create)
{
	char	key[ID_JID_MAX];

	listener_source_key(source, key, sizeof(key));
	return gfind(g->src, key, create);
}

int
idguard_begin(struct idguard *g, const char *jid, const char *source,
    time_t now, unsigned *wait)
{
	unsigned	a = gwait(gfind(g->acct, jid, 0), now);
	unsigned	b = gwait(src_find(g, source, 0), now);

	*wait = a > b ? a : b;
	if (*wait > 0)
		return -1;
	if (g->running >= g->o.max_running)
		return -1;
	g->running++;
	return 0;
}

static void
gfail(const struct idguard *g, struct gslot *s, time_t now)
{
	unsigned	w;

	w = g->o.backoff_min << (s->failures < 16 ? s->failures : 16);
	if (w > g->o.backoff_max || w == 0)
		w = g->o.backoff_max;
	s->failures++;
	s->until = now + w;
	s->last = now;
}

int
idguard_check(struct idguard *g, const char *jid, const char *source,
    time_t now, unsigned *wait)
{
	unsigned	a = gwait(gfind(g->acct, jid, 0), now);
	unsigned	b = gwait(src_find(g, source, 0), now);

	*wait = a > b ? a : b;
	return *wait > 0 ? -1 : 0;
}

void
idguard_end(struct idguard *g, const char *jid, const char *source, int ok,
    time_t now)
{
	if (g->running > 0)
		g->running--;
	idguard_note(g, jid, source, ok, now);
}

void
idguard_note(struct idguard *g, const char *jid, const char *source, int ok,
    time_t now)
{
	struct gslot	*s;

	if (ok == 1) {
		if ((s = gfind(g->acct, jid, 0)) != NULL)
			memset(s, 0, sizeof(*s));
		return;
	}
	if (ok == -1)
		return;
	if ((s = gfind(g->acct, jid, 1)) != NULL)
		gfail(g, s, now);
	if ((s = src_find(g, source, 1)) != NULL)
		gfail(g, s, now);
}

unsigned
idguard_running(const struct idguard *g)
{
	return g->running;
}
