/*
 * test_auth: the auth filter (filters/auth.c) over loopback sockets,
 * against the fake SASL server of nabtest.h and a credential store in a
 * scratch directory: the rabbit's identity is learned only from a MAC,
 * and a bare JID longer than the filter can hold is never looked up or
 * logged in with cut short.
 */
#include "nabfixture.h"

#define USER		"0013d3010203"
#define PW		"s3cret"
#define MECHS		"<mechanism>PLAIN</mechanism>"
#define FEATURES	"<stream:features><mechanisms xmlns='" NT_NS_SASL "'>" \
	MECHS "</mechanisms></stream:features>"
#define BIND(from)	"<iq type='set' id='b' from='" from "'><bind xmlns="  \
	"'urn:ietf:params:xml:ns:xmpp-bind'></bind></iq>"
/* 200 bytes: USER@LONGDOM does not fit the filter's JID buffer. */
#define LONGDOM		"dddddddddddddddddddddddddddddddddddddddddddddddddd"  \
	"dddddddddddddddddddddddddddddddddddddddddddddddddd"		\
	"dddddddddddddddddddddddddddddddddddddddddddddddddd"		\
	"ddddddddddddddddddddddddddddddddddddddddddddd.net"
#define LONGHDR		"<?xml version='1.0'?><stream:stream to='" LONGDOM   \
	"' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/"   \
	"streams' version='1.0'>"

static struct nt_sasl	proto;

static int
setup(void **state)
{
	return nt_setup_filter(state, "test_auth", "auth", &proto, MECHS, USER,
	    PW);
}

/*
 * The identity's MAC is 12 lowercase hex digits (filter.h): the local
 * part of a `from` that is no MAC (here one that would make log-dir write
 * outside its directory) is not taken, a MAC is taken in lower case.
 */
static void
test_identity_only_a_mac(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	rabbit = nt_rabbit_up(w, NT_RHDR, FEATURES, &srv);
	nt_send(rabbit, BIND("../../x@example.net/"));
	nt_expect(srv, BIND("../../x@example.net/"), "server (bind)");
	NT_CHECK(nt_session(w)->who.mac[0] == '\0', "identity MAC set to '%s'",
	    nt_session(w)->who.mac);
	nt_clear(srv);
	nt_send(rabbit, BIND("0013D3010203@example.net/"));
	nt_expect(srv, BIND("0013D3010203@example.net/"), "server (bind)");
	NT_CHECK(strcmp(nt_session(w)->who.mac, USER) == 0,
	    "identity MAC '%s', want %s", nt_session(w)->who.mac, USER);
}

/*
 * The rabbit's bare JID is 213 bytes. Its first 127 bytes are stored as
 * another account: that password must not be used for this rabbit.
 */
static void
test_long_jid_not_truncated(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;
	char		 cut[160], err[256];

	snprintf(cut, sizeof(cut), "%.127s", USER "@" LONGDOM);
	NT_CHECK(creds_put(w->px.creds, cut, PW, err, sizeof(err)) != -1,
	    "creds_put: %s", err);
	rabbit = nt_rabbit_up(w, LONGHDR, FEATURES, &srv);
	nt_send(rabbit, BIND(USER "@" LONGDOM "/"));
	nt_expect(srv, BIND(USER "@" LONGDOM "/"),
	    "server (the bind as it is: no login with another account's "
	    "password)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, nt_teardown_filter)
		T(test_identity_only_a_mac),
		T(test_long_jid_not_truncated),
#undef T
	};

	nt_main_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
