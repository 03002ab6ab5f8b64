/*
 * session_zlib: XEP-0138 stream compression that a client negotiates with
 * the server through nabproxy.
 *
 * nabproxy must read both streams, so it cannot just pass compressed bytes
 * on: it keeps one zlib stream with each peer. The rabbit's <compress/>
 * goes up unchanged and its reads pause (what follows </compress> will be
 * compressed). The server's <compressed/> goes down as plain bytes, then
 * both legs get a zlib layer at the byte after it and both parsers restart,
 * as after SASL. <failure/> passes on and the rabbit goes on in clear.
 * Rabbits' firmware never compresses; desktop clients tested through
 * nabproxy do, when the server offers it.
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "chain.h"
#include "leg.h"
#include "log.h"
#include "session-int.h"
#include "stanza.h"
#include "xmlstream.h"
#include "zstream.h"

static int	se_z_is(const struct xs_unit *, const char *name);

/* Is this unit <name xmlns='http://jabber.org/protocol/compress'>? */
static int
se_z_is(const struct xs_unit *u, const char *name)
{
	const struct st_node	*root;
	const char		*ns;

	if (u->kind != XS_STANZA)
		return 0;
	root = stanza_root(u->st);
	return strcmp(root->name, name) == 0 &&
	    (ns = st_xmlns(root)) != NULL && strcmp(ns, ZS_NS) == 0;
}

void
se_z_rabbit_unit(struct session *se, const struct xs_unit *u)
{
	if (se->z_state != SE_Z_NONE || !se_z_is(u, "compress"))
		return;
	se->z_state = SE_Z_ASKED;
	leg_pause(&se->r, LEG_PAUSE_LAYER);
	log_debug("session %llu: rabbit asked for stream compression",
	    (unsigned long long)se->id);
}

/* Both legs compressed from the next byte on; both streams restart. */
static void
se_z_start(struct session *se)
{
	char	err[200], why[256];

	if (zs_wrap(&se->s, err, sizeof(err)) == -1 ||
	    zs_wrap(&se->r, err, sizeof(err)) == -1) {
		snprintf(why, sizeof(why), "cannot start compression: %s", err);
		session_fail(se, "internal-server-error", "", why);
		return;
	}
	/* A unit waits whole in the input: room for the largest, and more. */
	zs_set_high_water(&se->s, se->opt->max_stanza + ZS_HIGH_WATER);
	zs_set_high_water(&se->r, se->opt->max_stanza + ZS_HIGH_WATER);
	if (xs_reset(se->xs[NAB_FROM_SERVER]) == -1 ||
	    xs_reset(se->xs[NAB_FROM_RABBIT]) == -1) {
		session_fail(se, "internal-server-error", "", "out of memory");
		return;
	}
	se->z_state = SE_Z_ON;
	se->rabbit_has_header = 0;
	se->r_header_seen = 0;
	if (se->chain != NULL) {
		chain_restart(se->chain, NAB_FROM_SERVER);
		chain_restart(se->chain, NAB_FROM_RABBIT);
	}
	log_info("session %llu: stream compression (zlib) on, with the rabbit "
	    "and with the server", (unsigned long long)se->id);
}

/*
 * After a server unit passed to the rabbit. The unit has left the input
 * buffer already, so what remains there is the first compressed data.
 */
void
se_z_server_unit(struct session *se, const struct xs_unit *u)
{
	if (se->z_state != SE_Z_ASKED)
		return;
	if (se_z_is(u, "compressed"))
		se_z_start(se);
	else if (se_z_is(u, "failure"))
		se->z_state = SE_Z_NONE;
	else
		return;
	if (!se->failing) {
		leg_resume(&se->r, LEG_PAUSE_LAYER);
		event_active(se->kick, 0, 0);	/* units parsed but not handled */
	}
}

int
se_z_failed(struct session *se, struct leg *l)
{
	char	why[200], reason[300];

	if (l->zs == NULL || *zs_error(l, why, sizeof(why)) == '\0')
		return 0;
	snprintf(reason, sizeof(reason), "%s: %s", l == &se->r ? "rabbit" :
	    "server", why);
	/* XEP-0138 section 7: undefined-condition, to the side at fault. */
	if (l == &se->r)
		session_fail(se, "undefined-condition", "", reason);
	else
		session_fail(se, "", "undefined-condition", reason);
	return 1;
}
