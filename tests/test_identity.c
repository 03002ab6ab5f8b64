/*
 * test_identity: who a rabbit is (proxy/identity.c) and the login probe
 * guard (proxy/identity_guard.c), on the firmware's and the seed's exact
 * bytes parsed by the real stream parser: the Nabaztag header shape, the
 * firmware detection rules, the MAC of a register set, the username of a
 * rabbit's own SASL exchange, proof set once, and the backoff and cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "identity.h"
#include "stanza.h"
#include "xmlstream.h"

#define UNUSED	__attribute__((unused))

/* bootcode-xmpp.md Table A, A1 with {DOM} = almacska (the seed's too). */
#define A1	"<?xml version='1.0' encoding='UTF-8'?>\n<stream:stream "	\
	"to='almacska' xmlns='jabber:client' xmlns:stream='http://etherx."	\
	"jabber.org/streams' version='1.0'>"
#define HDR	"<stream:stream to='almacska' xmlns='jabber:client' "	\
	"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
#define A2	"<iq type='get' id='1'><query xmlns='violet:iq:register'/></iq>"
#define A3	"<iq to='almacska' type='set' id='2'><query xmlns=\"violet:iq:"	\
	"register\"><username>F81EDFEE27C1</username><password>b64df9cf54ab"	\
	"</password></query></iq>"
#define A4	"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "		\
	"mechanism='DIGEST-MD5'/>"
#define A7	"<iq from=\"f81edfee27c1@almacska/\" to=\"almacska\" "	\
	"type='set' id='1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"	\
	"<resource>boot</resource></bind></iq>"
/* The seed's simulator. */
#define S_FORM	"<iq type='get' id='1'><query xmlns='jabber:iq:register'/></iq>"
#define S_SET	"<iq to='almacska' type='set' id='2'><query xmlns=\"jabber:iq:"	\
	"register\"><username>f81edfee27c1</username><password>83279de2ea5c"	\
	"</password><name>f81edfee27c1</name><email>f81edfee27c1@bunny.lab"	\
	"</email></query></iq>"
#define S_BIND	"<iq from='f81edfee27c1@almacska' type='set' id='3'><bind "	\
	"xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>idle</resource>"	\
	"</bind></iq>"

static const struct xs_limits	lim = { 65536, 32, 64 };

/* The first stanza after a header, parsed by the real stream parser. */
static struct stanza *
parse(const char *stanza)
{
	struct xmlstream	*xs = xs_new(&lim);
	struct xs_unit		 u;
	struct stanza		*got = NULL;
	char			 buf[2048];
	int			 r;

	assert_non_null(xs);
	snprintf(buf, sizeof(buf), "%s%s", HDR, stanza);
	assert_int_equal(xs_feed(xs, buf, strlen(buf)), 0);
	while ((r = xs_next(xs, &u)) == 1) {
		if (u.kind == XS_STANZA && got == NULL)
			got = u.st;
		else
			stanza_free(u.st);
	}
	assert_int_not_equal(r, -1);
	xs_free(xs);
	assert_non_null(got);
	return got;
}

static const char *
detect(const char *stanza, int nab_header)
{
	struct stanza	*st = parse(stanza);
	const char	*fw = identity_detect(stanza_root(st), nab_header);

	stanza_free(st);
	return fw != NULL ? fw : "(none)";
}

static void
test_nabaztag_header(void **state UNUSED)
{
	static const char	ns[] = "<?xml version='1.0' encoding='UTF-8'?>\n"
	    "<stream:stream to='almacska' xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams' version=\"1.0\">";

	assert_int_equal(identity_nabaztag_header(A1, strlen(A1)), 1);
	/* The trailing LF of A1 is not part of the header unit. */
	assert_int_equal(identity_nabaztag_header(A1 "\n", strlen(A1) + 1), 0);
	assert_int_equal(identity_nabaztag_header(HDR, strlen(HDR)), 0);
	assert_int_equal(identity_nabaztag_header(ns, strlen(ns)), 0);
	/* Truncated anywhere: never a match, never a read past the end. */
	for (size_t n = 0; n < strlen(A1); n++)
		assert_int_equal(identity_nabaztag_header(A1, n), 0);
	assert_int_equal(identity_nabaztag_header("<?xml version='1.0' "
	    "encoding='UTF-8'?>\n<stream:stream to='' xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
	    strlen(A1) - 8), 0);
}

static void
test_detect(void **state UNUSED)
{
	assert_string_equal(detect(A2, 1), "bootcode-18673");
	assert_string_equal(detect(A3, 0), "bootcode-18673");
	assert_string_equal(detect(A4, 1), "bootcode-18673");
	/* A DIGEST-MD5 auth after any other header is any client's. */
	assert_string_equal(detect(A4, 0), "(none)");
	assert_string_equal(detect(A7, 0), "bootcode-18673");
	assert_string_equal(detect(S_SET, 0), "simulator");
	assert_string_equal(detect(S_BIND, 0), "simulator");
	assert_string_equal(detect(S_FORM, 1), "simulator");
	assert_string_equal(detect(S_FORM, 0), "(none)");
	/* A register set without name/email is nobody's in particular. */
	assert_string_equal(detect("<iq type='set' id='r'><query xmlns="
	    "'jabber:iq:register'><username>x</username></query></iq>", 1),
	    "(none)");
	assert_string_equal(detect("<message to='a@b'><body>x</body>"
	    "</message>", 1), "(none)");
	assert_string_equal(detect("<auth xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-sasl' mechanism='SCRAM-SHA-1'>eA==</auth>", 1), "(none)");
}

static void
test_register_mac(void **state UNUSED)
{
	struct stanza	*st;
	char		 mac[13];

	st = parse(A3);
	assert_int_equal(identity_register_mac(stanza_root(st), mac), 0);
	assert_string_equal(mac, "f81edfee27c1");
	stanza_free(st);
	st = parse(S_FORM);
	assert_int_equal(identity_register_mac(stanza_root(st), mac), -1);
	stanza_free(st);
	st = parse("<iq type='set' id='r'><query xmlns='jabber:iq:register'>"
	    "<username>../../etc/x</username></query></iq>");
	assert_int_equal(identity_register_mac(stanza_root(st), mac), -1);
	stanza_free(st);
	st = parse("<iq type='set' id='r'><query xmlns='jabber:iq:register'>"
	    "<username>f81edfee27c1aa</username></query></iq>");
	assert_int_equal(identity_register_mac(stanza_root(st), mac), -1);
	stanza_free(st);
}

/* Feed the rabbit's own SASL stanzas; return the username seen. */
static const char *
sasl_user(struct identity *id, const char *auth, const char *response)
{
	struct stanza	*st;

	st = parse(auth);
	identity_note_sasl(id, stanza_root(st));
	stanza_free(st);
	if (response != NULL) {
		st = parse(response);
		identity_note_sasl(id, stanza_root(st));
		stanza_free(st);
	}
	return identity_sasl_user(id);
}

static void
test_sasl_user(void **state UNUSED)
{
	struct identity	id;

	/* PLAIN "\0f81edfee27c1\0secret": the authcid, never the password. */
	identity_init(&id, "peer", 1);
	assert_string_equal(sasl_user(&id, "<auth xmlns='urn:ietf:params:xml:"
	    "ns:xmpp-sasl' mechanism='PLAIN'>AGY4MWVkZmVlMjdjMQBzZWNyZXQ=</auth>",
	    NULL), "f81edfee27c1");
	assert_null(memmem(&id, sizeof(id), "secret", 6));
	/* SCRAM client-first "n,,n=f81edfee27c1,r=abc". */
	identity_free(&id);
	identity_init(&id, "peer", 1);
	assert_string_equal(sasl_user(&id, "<auth xmlns='urn:ietf:params:xml:"
	    "ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>biwsbj1mODFlZGZlZTI3YzEscj1h"
	    "YmM=</auth>", NULL), "f81edfee27c1");
	/*
	 * DIGEST-MD5 with the firmware's short padding: 'username=
	 * "f81edfee27c1",realm=""' is 32 bytes (2 mod 3), which the firmware
	 * sends without its '='.
	 */
	identity_free(&id);
	identity_init(&id, "peer", 1);
	assert_string_equal(sasl_user(&id, A4, "<response xmlns='urn:ietf:"
	    "params:xml:ns:xmpp-sasl'>dXNlcm5hbWU9ImY4MWVkZmVlMjdjMSIscmVhbG09"
	    "IiI</response>"), "f81edfee27c1");
	/* Garbage base64 and an empty response learn nothing. */
	identity_free(&id);
	identity_init(&id, "peer", 1);
	assert_string_equal(sasl_user(&id, A4, "<response xmlns='urn:ietf:"
	    "params:xml:ns:xmpp-sasl'>!!!!</response>"), "");
	assert_string_equal(sasl_user(&id, A4, "<response xmlns='urn:ietf:"
	    "params:xml:ns:xmpp-sasl'/>"), "");
	/* A <response> in another namespace is not SASL. */
	assert_string_equal(sasl_user(&id, A4, "<response xmlns='x'>dXNlcm5h"
	    "bWU9ImY4MWVkZmVlMjdjMSIscmVhbG09IiI=</response>"), "");
	identity_free(&id);
}

static void
test_proof_once(void **state UNUSED)
{
	struct identity	id;

	identity_init(&id, "peer", 7);
	identity_claim(&id, "F81EDFEE27C1", "almacska", NULL);
	assert_string_equal(id.pub.bare_jid, "f81edfee27c1@almacska");
	assert_string_equal(id.pub.proof, "");
	assert_int_equal(identity_is(&id, "f81edfee27c1@almacska"), 0);
	/* Not a MAC: no claim. */
	identity_claim(&id, "../x", NULL, NULL);
	assert_string_equal(id.mac, "f81edfee27c1");
	/* Proof names the proven account, whatever was claimed. */
	assert_int_equal(identity_prove(&id, "0013d3000101", "probe"), 0);
	assert_string_equal(id.pub.proof, "probe");
	assert_string_equal(id.pub.bare_jid, "0013d3000101@almacska");
	assert_int_equal(identity_is(&id, "0013d3000101@almacska"), 1);
	/* Set once: another account, or a later claim, changes nothing. */
	assert_int_equal(identity_prove(&id, "f81edfee27c1", "stored"), -1);
	assert_int_equal(identity_prove(&id, "0013d3000101", "stored"), 0);
	assert_string_equal(id.pub.proof, "probe");
	identity_claim(&id, "f81edfee27c1", "evil.example", "simulator");
	assert_string_equal(id.pub.bare_jid, "0013d3000101@almacska");
	assert_string_equal(id.pub.firmware, "simulator");
	/* No domain yet, or an empty user: nothing to prove. */
	identity_free(&id);
	identity_init(&id, "peer", 8);
	assert_int_equal(identity_prove(&id, "f81edfee27c1", "probe"), -1);
	identity_claim(&id, NULL, "almacska", NULL);
	assert_int_equal(identity_prove(&id, "", "probe"), -1);
	assert_int_equal(identity_proven(&id), 0);
	identity_free(&id);
}

static void
test_guard(void **state UNUSED)
{
	struct idguard_opts	 o = { 2, 8, 2 };
	struct idguard		*g = idguard_new(&o);
	unsigned		 wait;
	time_t			 t = 1000;

	assert_non_null(g);
	/* The cap: two at once. */
	assert_int_equal(idguard_begin(g, "a@d", "10.0.0.1", t, &wait), 0);
	assert_int_equal(idguard_begin(g, "b@d", "10.0.0.2", t, &wait), 0);
	assert_int_equal(idguard_begin(g, "c@d", "10.0.0.3", t, &wait), -1);
	assert_int_equal(wait, 0);
	assert_int_equal(idguard_running(g), 2);
	/* A failure backs off the account and the source: 2 s, then 4 s. */
	idguard_end(g, "a@d", "10.0.0.1", 0, t);
	assert_int_equal(idguard_begin(g, "a@d", "10.0.0.9", t + 1, &wait), -1);
	assert_int_equal(wait, 1);
	assert_int_equal(idguard_begin(g, "z@d", "10.0.0.1", t + 1, &wait), -1);
	assert_int_equal(idguard_begin(g, "a@d", "10.0.0.9", t + 2, &wait), 0);
	idguard_end(g, "a@d", "10.0.0.9", 0, t + 2);
	assert_int_equal(idguard_begin(g, "a@d", "10.0.0.8", t + 5, &wait), -1);
	assert_int_equal(wait, 1);
	/* ... capped at backoff_max. */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(idguard_begin(g, "a@d", "10.0.1.1", t + 100 *
		    (i + 1), &wait), 0);
		idguard_end(g, "a@d", "10.0.1.1", 0, t + 100 * (i + 1));
	}
	assert_int_equal(idguard_begin(g, "a@d", "10.0.1.2", t + 500, &wait),
	    -1);
	assert_int_equal(wait, 8);
	/* Nothing judged (a transient fault): no backoff. */
	idguard_end(g, "b@d", "10.0.0.2", -1, t);
	assert_int_equal(idguard_begin(g, "b@d", "10.0.0.2", t, &wait), 0);
	/* A success clears the account. */
	idguard_end(g, "b@d", "10.0.0.2", 1, t);
	assert_int_equal(idguard_running(g), 0);
	assert_int_equal(idguard_begin(g, "a@d", "10.0.2.2", t + 600, &wait),
	    0);
	idguard_end(g, "a@d", "10.0.2.2", 1, t + 600);
	assert_int_equal(idguard_begin(g, "a@d", "10.0.2.3", t + 600, &wait),
	    0);
	idguard_end(g, "a@d", "10.0.2.3", -1, t + 600);
	/*
	 * check/note (a stored password compared, a DIGEST-MD5 checked
	 * here): the backoff without the cap, and nothing left running.
	 */
	assert_int_equal(idguard_begin(g, "x@d", "10.0.3.1", t + 700, &wait), 0);
	assert_int_equal(idguard_begin(g, "y@d", "10.0.3.2", t + 700, &wait), 0);
	assert_int_equal(idguard_check(g, "c@d", "10.0.3.3", t + 700, &wait), 0);
	idguard_note(g, "c@d", "10.0.3.3", 0, t + 700);
	assert_int_equal(idguard_running(g), 2);
	assert_int_equal(idguard_check(g, "c@d", "10.0.3.4", t + 701, &wait),
	    -1);
	assert_int_equal(wait, 1);
	/*
	 * Sources are keyed as max-per-source counts them: an IPv4 address
	 * on its own (the next address is another source), IPv6 by /64 (the
	 * next address of the prefix is the same source, the next /64 not).
	 */
	idguard_note(g, "v4@d", "10.0.4.1", 0, t + 800);
	assert_int_equal(idguard_check(g, "w@d", "10.0.4.1", t + 800, &wait),
	    -1);
	assert_int_equal(idguard_check(g, "w@d", "10.0.4.2", t + 800, &wait),
	    0);
	idguard_note(g, "v6@d", "2001:db8:1:2::1", 0, t + 800);
	assert_int_equal(idguard_check(g, "w@d", "2001:db8:1:2::99", t + 800,
	    &wait), -1);
	assert_int_equal(idguard_check(g, "w@d", "2001:db8:1:2:ffff::7",
	    t + 800, &wait), -1);
	assert_int_equal(idguard_check(g, "w@d", "2001:db8:1:3::1", t + 800,
	    &wait), 0);
	assert_int_equal(idguard_check(g, "q@d", "10.0.3.3", t + 701, &wait),
	    -1);
	assert_int_equal(idguard_check(g, "c@d", "10.0.3.4", t + 702, &wait),
	    0);
	idguard_note(g, "c@d", "10.0.3.4", 1, t + 702);
	idguard_end(g, "x@d", "10.0.3.1", 1, t + 702);
	idguard_end(g, "y@d", "10.0.3.2", 1, t + 702);
	assert_int_equal(idguard_running(g), 0);
	idguard_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nabaztag_header),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_register_mac),
		cmocka_unit_test(test_sasl_user),
		cmocka_unit_test(test_proof_once),
		cmocka_unit_test(test_guard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
