/*
 * nabfixture.h: the per-test set-ups the loopback tests share, on top of
 * nabtest.h (included here): a world per test as cmocka's setup and
 * teardown, a chain of one filter, the fake SASL server on every
 * upstream connection, a credential store in a scratch directory, and a
 * rabbit past the server's first features. Header-only, like nabtest.h.
 */
#ifndef NAB_FIXTURE_H
#define NAB_FIXTURE_H

#include "nabtest.h"

/* The scratch directory of nt_setup_filter(), one per test program. */
static char	nt_scratch[64] __attribute__((unused));

/* cmocka setup: a fresh world (nt_world_init()) in *state. */
NT_FN int
nt_setup(void **state)
{
	struct nt_world	*w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -1;
	nt_world_init(w);
	*state = w;
	return 0;
}

/* nt_setup(), the daemon log going to logfile. */
NT_FN int
nt_setup_log(void **state, const char *logfile)
{
	if (nt_setup(state) != 0)
		return -1;
	nt_log_to(logfile);
	return 0;
}

/* cmocka teardown: everything nt_setup() made. */
NT_FN int
nt_teardown(void **state)
{
	nt_world_free(*state);
	free(*state);
	return 0;
}

/* The chain: filter `name` alone, the test module `so` or built in (NULL). */
NT_FN void
nt_chain1(struct nt_world *w, const char *name, const char *so)
{
	struct chain_filter_conf	fc;

	memset(&fc, 0, sizeof(fc));
	fc.name = name;
	if (so != NULL)
		fc.path = nt_filter_path(so);
	nt_chain(w, &fc, 1);
}

/*
 * Every upstream connection a SASL server like *proto: reset here to
 * offer mechs and accept user's password; the test may change it later
 * (mode, mech). proto must outlive the world.
 */
NT_FN void
nt_sasl_serve(struct nt_world *w, struct nt_sasl *proto, const char *mechs,
    const char *user, const char *password)
{
	memset(proto, 0, sizeof(*proto));
	proto->mode = NT_SASL_OK;
	proto->mechs = mechs;
	proto->user = user;
	proto->password = password;
	w->on_accept = nt_sasl_accept;
	w->accept_arg = proto;
}

/*
 * cmocka setup for a built-in filter that uses the credential store: the
 * store in a scratch directory /tmp/NAME.XXXXXX (nt_scratch), the chain
 * of `filter` alone, nt_sasl_serve() upstream, the proxy started.
 */
NT_FN int
nt_setup_filter(void **state, const char *name, const char *filter,
    struct nt_sasl *proto, const char *mechs, const char *user,
    const char *password)
{
	struct nt_world	*w;
	char		 path[128], err[256];

	if (nt_setup(state) != 0)
		return -1;
	w = *state;
	tu_mkdtemp(nt_scratch, sizeof(nt_scratch), name);
	snprintf(path, sizeof(path), "%s/credentials", nt_scratch);
	w->px.creds = creds_open(path, err, sizeof(err));
	NT_CHECK(w->px.creds != NULL, "creds_open: %s", err);
	nt_chain1(w, filter, NULL);
	nt_sasl_serve(w, proto, mechs, user, password);
	nt_proxy_start(w);
	return 0;
}

/* cmocka teardown after nt_setup_filter(): the scratch directory too. */
NT_FN int
nt_teardown_filter(void **state)
{
	nt_teardown(state);
	tu_rmtree(nt_scratch);
	return 0;
}

/* A rabbit of the started proxy whose server is gone: nothing listens. */
NT_FN struct nt_peer *
nt_rabbit_unserved(struct nt_world *w)
{
	evconnlistener_free(w->srv);
	w->srv = NULL;
	nt_proxy_start(w);
	return nt_rabbit(w);
}

/*
 * A rabbit that sent hdr and got the server's header and `features`, and
 * in *srv the server connection that got hdr; both buffers cleared.
 */
NT_FN struct nt_peer *
nt_rabbit_up(struct nt_world *w, const char *hdr, const char *features,
    struct nt_peer **srv)
{
	struct nt_peer	*rabbit = nt_rabbit(w);
	char		 want[1024];

	nt_send(rabbit, hdr);
	snprintf(want, sizeof(want), "%s%s", NT_SHDR, features);
	nt_expect(rabbit, want, "rabbit (server header, features)");
	nt_clear(rabbit);
	*srv = nt_server(w, 0);
	nt_expect(*srv, hdr, "server (rabbit's header)");
	nt_clear(*srv);
	return rabbit;
}

#endif /* NAB_FIXTURE_H */
