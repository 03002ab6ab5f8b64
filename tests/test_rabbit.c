/*
 * test_rabbit: rabbit/rabbit.c and rabbit_fw.c against a server played
 * by the test on a loopback socket, one scripted write at a time, the
 * rabbit's event loop run between writes so each write is one read on
 * its side. Checks the exact bytes it sends (A1, A2, A4, the seed's
 * first stanza) and that it fails the right step for what the firmware
 * cannot survive: leading text, a stream header split across reads, an
 * attribute-less <x/>, </stream:stream>, data after <success> in the
 * same read; a SASL failure forgets the password; a refused connection
 * and a silent server (timeout). it_rabbit runs the full boots through
 * nabproxy to real servers.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "rabbit.h"
#include "script.h"
#include "testutil.h"

#define FEATURES	"<stream:features><mechanisms xmlns='urn:ietf:params:" \
			"xml:ns:xmpp-sasl'><mechanism>DIGEST-MD5</mechanism>" \
			"</mechanisms></stream:features>"
#define HEADER		"<?xml version='1.0'?><stream:stream xmlns='jabber:" \
			"client' xmlns:stream='http://etherx.jabber.org/" \
			"streams' id='1' from='almacska' version='1.0'>"

struct t {
	struct event_base	*base;
	struct rabbit_opts	 o;
	int			 lfd, sfd;	/* listener, server side */
	int			 done;
	struct report_rabbit	 rep;
	char			 pw[64];
};

static void
on_done(const struct report_rabbit *rep, const char *pw, void *arg)
{
	struct t	*t = arg;

	t->rep = *rep;
	snprintf(t->pw, sizeof(t->pw), "%s", pw);
	t->done = 1;
}

static void
start(struct t *t, int fw, const char *pw, double timeout)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&t->o.ro_addr;
	socklen_t		 len = sizeof(*sin);
	struct timeval		 tv = { 10, 0 };

	memset(t, 0, sizeof(*t));
	t->base = event_base_new();
	t->lfd = socket(AF_INET, SOCK_STREAM, 0);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(t->lfd, (struct sockaddr *)sin, sizeof(*sin)) == 0 &&
	    listen(t->lfd, 4) == 0 && getsockname(t->lfd,
	    (struct sockaddr *)sin, &len) == 0, "listen");
	t->o.ro_addrlen = sizeof(*sin);
	t->o.ro_firmware = fw;
	t->o.ro_timeout = timeout;
	snprintf(t->o.ro_domain, sizeof(t->o.ro_domain), "almacska");
	assert_int_equal(rabbit_start(t->base, &t->o, "0013d3000001", pw,
	    on_done, t), 0);
	t->sfd = accept(t->lfd, NULL, NULL);
	CHECK(t->sfd != -1, "accept");
	setsockopt(t->sfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Let the rabbit run until it has sent exactly `want`. */
static void
expect(struct t *t, const char *want)
{
	char	buf[4096];
	size_t	n = strlen(want), got = 0;
	ssize_t	r;

	while (got < n) {
		if (event_base_loop(t->base, EVLOOP_NONBLOCK) == -1)
			break;
		r = recv(t->sfd, buf + got, n - got, MSG_DONTWAIT);
		if (r > 0)
			got += (size_t)r;
		else if (t->done)
			break;
		else
			(void)event_base_loop(t->base, EVLOOP_ONCE);
	}
	buf[got] = '\0';
	assert_string_equal(buf, want);
}

/* One write from the server, then one turn of the rabbit's loop. */
static void
serve(struct t *t, const char *s)
{
	CHECK(write(t->sfd, s, strlen(s)) == (ssize_t)strlen(s), "write");
	(void)event_base_loop(t->base, EVLOOP_ONCE);
}

static void
finish(struct t *t, const char *step, const char *reason)
{
	while (!t->done)
		(void)event_base_loop(t->base, EVLOOP_ONCE);
	assert_false(t->rep.rr_idle);
	assert_true(t->rep.rr_nsteps > 0);
	assert_string_equal(t->rep.rr_steps[t->rep.rr_nsteps - 1].rs_name,
	    step);
	CHECK(strstr(t->rep.rr_reason, reason) != NULL, "reason '%s' lacks "
	    "'%s'", t->rep.rr_reason, reason);
	close(t->sfd);
	close(t->lfd);
	event_base_free(t->base);
}

static const char a1[] = "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<stream:stream to='almacska' xmlns='jabber:client' xmlns:stream="
    "'http://etherx.jabber.org/streams' version='1.0'>\n";

static void
test_register_bytes_and_deaf(void **state)
{
	struct t	t;

	start(&t, RABBIT_18673, NULL, 10);
	expect(&t, a1);
	serve(&t, HEADER FEATURES);
	expect(&t, "<iq type='get' id='1'><query xmlns='violet:iq:register'/>"
	    "</iq>");
	serve(&t, " <iq type='result' id='1'></iq>");
	finish(&t, "register", "deaf for good");
}

static void
test_split_header(void **state)
{
	struct t	t;

	start(&t, RABBIT_18673, "0123456789ab", 10);
	expect(&t, a1);
	serve(&t, "<?xml version='1.0'?><stream:str");
	serve(&t, "eam xmlns='jabber:client'>" FEATURES);
	finish(&t, "stream", "split across reads");
}

static void
test_bare_empty(void **state)
{
	struct t	t;

	start(&t, RABBIT_18673, "0123456789ab", 10);
	expect(&t, a1);
	serve(&t, HEADER "<stream:features><mechanisms xmlns='urn:ietf:params:"
	    "xml:ns:xmpp-sasl'><required/></mechanisms></stream:features>");
	finish(&t, "stream", "attribute-less <x/>");
}

static void
test_sasl_failure_forgets(void **state)
{
	struct t	t;

	start(&t, RABBIT_18673, "0123456789ab", 10);
	expect(&t, a1);
	serve(&t, HEADER FEATURES);
	expect(&t, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='DIGEST-MD5'/>");
	serve(&t, "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
	    "<not-authorized></not-authorized></failure>");
	finish(&t, "sasl", "SASL failure");
	assert_int_equal(t.rep.rr_steps[2].rs_outcome, REPORT_SKIPPED);
	assert_string_equal(t.pw, "");
}

static void
test_after_success(void **state)
{
	struct t	t;

	start(&t, RABBIT_18673, "0123456789ab", 10);
	expect(&t, a1);
	serve(&t, HEADER FEATURES);
	expect(&t, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='DIGEST-MD5'/>");
	serve(&t, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
	    "</success>" HEADER);
	finish(&t, "restart", "after <success> in the same read");
}

static void
test_simulator(void **state)
{
	struct t	t;
	char		first[256];

	start(&t, RABBIT_SIMULATOR, "83279de2ea5c", 10);
	expect(&t, a1);
	serve(&t, HEADER "\n" FEATURES);
	snprintf(first, sizeof(first), "%s", script_seed[0]);
	expect(&t, first);
	serve(&t, "\n<iq type='result' id='1'><query/></iq>\n");
	expect(&t, "\n<iq to='almacska' type='set' id='2'>\n\t<query xmlns="
	    "\"jabber:iq:register\">\n\t\t<username>0013d3000001</username>\n"
	    "\t\t<password>83279de2ea5c</password>\n\t\t<name>0013d3000001"
	    "</name>\n\t\t<email>0013d3000001@bunny.lab</email>\n\t</query>\n"
	    "</iq>");
	serve(&t, "</stream:stream>");
	finish(&t, "register", "</stream:stream> received");
}

static void
test_refused_and_silent(void **state)
{
	struct t	t;

	start(&t, RABBIT_SIMULATOR, NULL, 0.2);
	expect(&t, a1);
	finish(&t, "stream", "timed out");
	/* The listener is closed now: nothing accepts on that port. */
	memset(&t.rep, 0, sizeof(t.rep));
	t.done = 0;
	t.base = event_base_new();
	assert_int_equal(rabbit_start(t.base, &t.o, "0013d3000001", NULL,
	    on_done, &t), 0);
	while (!t.done)
		(void)event_base_loop(t.base, EVLOOP_ONCE);
	assert_string_equal(t.rep.rr_steps[0].rs_name, "connect");
	assert_non_null(strstr(t.rep.rr_reason, "connect: Connection refused"));
	event_base_free(t.base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_bytes_and_deaf),
		cmocka_unit_test(test_split_header),
		cmocka_unit_test(test_bare_empty),
		cmocka_unit_test(test_sasl_failure_forgets),
		cmocka_unit_test(test_after_success),
		cmocka_unit_test(test_simulator),
		cmocka_unit_test(test_refused_and_silent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
