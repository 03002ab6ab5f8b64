/*
 * test_register: the register filter (filters/register.c) over loopback
 * sockets, against the fake SASL server of nabtest.h and a credential
 * store in a scratch directory: a password is stored only for the account
 * whose login proved it, even when the rabbit sends another register set
 * while the proof runs; a username that does not fit is never learned cut
 * short; only a MAC becomes the session's identity.
 */
#include "nabfixture.h"

#define USER		"0013d3010203"
#define PW		"s3cret"
#define MECHS		"<mechanism>PLAIN</mechanism>"
#define AUTH_PLAIN	"<auth xmlns='" NT_NS_SASL "' mechanism='PLAIN'>" \
	"ADAwMTNkMzAxMDIwMwBzM2NyZXQ=</auth>"
#define REG(id, u, p)	"<iq type='set' id='" id "'><query xmlns='jabber:iq:" \
	"register'><username>" u "</username><password>" p "</password>"   \
	"</query></iq>"
#define CONFLICT(id)	"<iq type='error' id='" id "'><error code='409' "   \
	"type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'" \
	"/></error></iq>"
#define FEATURES	"<stream:features><mechanisms xmlns='" NT_NS_SASL "'>" \
	MECHS "</mechanisms></stream:features>"
/* 130 bytes: longer than the filter's username buffer. */
#define LONGUSER	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"  \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"		\
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaab"

static struct nt_sasl	proto;

static int
setup(void **state)
{
	return nt_setup_filter(state, "test_register", "register", &proto,
	    MECHS, USER, PW);
}

/*
 * A 409 starts a login probe for USER with PW. While it runs, the rabbit
 * sends a set for another account with another password; when the probe
 * for USER succeeds, USER's password is stored, never the second one.
 */
static void
test_probe_stores_what_it_proved(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv, *pc;
	const char	*pw;

	rabbit = nt_rabbit_up(w, NT_RHDR, FEATURES, &srv);
	proto.mode = NT_SASL_MUTE;	/* the probe's server waits for us */
	nt_send(rabbit, REG("r1", USER, PW));
	nt_expect(srv, REG("r1", USER, PW), "server (first register set)");
	nt_send(srv, CONFLICT("r1"));
	pc = nt_server(w, 1);
	nt_wait_len(pc, strlen(NT_RHDR AUTH_PLAIN), "the probe's auth");
	nt_send(rabbit, REG("r2", "victim", "evil"));
	nt_expect(srv, REG("r1", USER, PW) REG("r2", "victim", "evil"),
	    "server (second register set, while the probe runs)");
	nt_send(pc, "<success xmlns='" NT_NS_SASL "'/>");
	nt_expect(rabbit, "<iq type='result' id='r1'></iq>",
	    "rabbit (its first set answered with a result)");
	NT_CHECK(creds_get(w->px.creds, "victim@example.net") == NULL,
	    "the unproven password of the second set was stored for victim");
	pw = creds_get(w->px.creds, USER "@example.net");
	NT_CHECK(pw != NULL && strcmp(pw, PW) == 0,
	    "the proven password of %s was not stored", USER);
}

/* A username longer than the filter can hold is not learned cut short. */
static void
test_long_username_not_truncated(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;
	char		 cut[160];

	rabbit = nt_rabbit_up(w, NT_RHDR, FEATURES, &srv);
	nt_send(rabbit, REG("r1", LONGUSER, PW));
	nt_expect(srv, REG("r1", LONGUSER, PW), "server (register set)");
	nt_send(srv, "<iq type='result' id='r1'/>");
	nt_expect(rabbit, "<iq type='result' id='r1'/>", "rabbit (result)");
	snprintf(cut, sizeof(cut), "%.127s@example.net", LONGUSER);
	NT_CHECK(creds_get(w->px.creds, cut) == NULL,
	    "password stored under a truncated username");
	NT_CHECK(creds_count(w->px.creds) == 0, "%zu entries stored",
	    creds_count(w->px.creds));
}

/*
 * The identity's MAC is 12 lowercase hex digits (filter.h): a register
 * username that is no MAC (here one that would make log-dir write
 * outside its directory) is not taken, a MAC is taken in lower case.
 */
static void
test_identity_only_a_mac(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	rabbit = nt_rabbit_up(w, NT_RHDR, FEATURES, &srv);
	nt_send(rabbit, REG("r1", "../../../tmp/x", PW));
	nt_expect(srv, REG("r1", "../../../tmp/x", PW), "server (set)");
	NT_CHECK(nt_session(w)->who.mac[0] == '\0', "identity MAC set to '%s'",
	    nt_session(w)->who.mac);
	nt_send(rabbit, REG("r2", "0013D3010203", PW));
	nt_expect(srv, REG("r1", "../../../tmp/x", PW)
	    REG("r2", "0013D3010203", PW), "server (second set)");
	NT_CHECK(strcmp(nt_session(w)->who.mac, USER) == 0,
	    "identity MAC '%s', want %s", nt_session(w)->who.mac, USER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, nt_teardown_filter)
		T(test_probe_stores_what_it_proved),
		T(test_long_username_not_truncated),
		T(test_identity_only_a_mac),
#undef T
	};

	nt_main_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
