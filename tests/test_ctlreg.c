/*
 * test_ctlreg: the control socket's registry (proxy/ctlreg.c) fed real
 * units from the stream parser: the firmware's and the simulator's boot
 * stages in order, the server's errors as the record's error, the history
 * of attempts that never got online, the watch list and its replay to a
 * tap by MAC, tap selectors and sinks, and the exact list, history and
 * stats lines.
 */
#include "testutil.h"

#include <regex.h>

#include <event2/buffer.h>

#include "ctlreg.h"
#include "proxy.h"
#include "stanza.h"
#include "xmlstream.h"

#define SASL	"urn:ietf:params:xml:ns:xmpp-sasl"
/* PLAIN "\0" "0013d3840001" "\0" "pw": the SASL user names the MAC. */
#define PLAIN_B64	"ADAwMTNkMzg0MDAwMQBwdw=="

static const char rabbit_hdr[] = "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<stream:stream to='almacska' xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>\n";
static const char server_hdr[] = "<stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' id='1' version='1.0'>";

struct feed {
	struct xmlstream	*xs[2];
};

struct sink {
	char	buf[65536];
	size_t	len;
	int	calls;
};

static void
sink_cb(void *arg, const char *lines, size_t len)
{
	struct sink	*s = arg;

	CHECK(s->len + len < sizeof(s->buf), "sink overflow");
	memcpy(s->buf + s->len, lines, len);
	s->len += len;
	s->buf[s->len] = '\0';
	s->calls++;
}

static void
feed_open(struct feed *f, struct ctlrec *r)
{
	struct xs_limits lim = { 65536, 32, 64 };

	f->xs[0] = xs_new(&lim);
	f->xs[1] = xs_new(&lim);
	CHECK(f->xs[0] != NULL && f->xs[1] != NULL, "xs_new");
}

static void
feed_close(struct feed *f)
{
	xs_free(f->xs[0]);
	xs_free(f->xs[1]);
}

/* Parse bytes from one side and hand every unit to the record. */
static void
feed(struct feed *f, struct ctlrec *r, int from_server, const char *s)
{
	struct xs_unit	u;
	size_t		off = 0;
	int		rc;

	CHECK(xs_feed(f->xs[from_server], s, strlen(s)) == 0, "xs_feed %s", s);
	while ((rc = xs_next(f->xs[from_server], &u)) == 1) {
		/* What the session logs: units tile the input. */
		ctlreg_unit(r, from_server, &u);
		/* What the session does with a server stanza it passes on. */
		if (from_server && u.kind == XS_STANZA)
			ctlreg_stanza(r, 1, u.st);
		ctlreg_traffic(r, from_server, from_server ? (u.kind ==
		    XS_STANZA ? LOGSAFE_VM_RECEIVE : LOGSAFE_VM_NONE) :
		    u.kind == XS_WS ? LOGSAFE_VM_NONE : LOGSAFE_VM_SENDING,
		    NULL, s + off, u.len, -1);
		off += u.len;
		stanza_free(u.st);
	}
	CHECK(rc == 0, "xs_next on %s", s);
}

static char *
list(struct ctlreg *reg, int json, int history, const char *mac)
{
	static char	 out[8192];
	struct evbuffer	*eb = evbuffer_new();
	size_t		 n;

	CHECK(eb != NULL, "evbuffer_new");
	if (history)
		CHECK(ctlreg_history(reg, eb, mac, json) == 0, "history");
	else
		CHECK(ctlreg_list(reg, eb, json) == 0, "list");
	n = evbuffer_get_length(eb);
	CHECK(n < sizeof(out), "too long");
	evbuffer_remove(eb, out, n);
	out[n] = '\0';
	evbuffer_free(eb);
	return out;
}

static void
match(const char *re, const char *s)
{
	regex_t	r;

	CHECK(regcomp(&r, re, REG_EXTENDED | REG_NOSUB) == 0, "regcomp %s", re);
	EXPECT(regexec(&r, s, 0, NULL, 0) == 0, "'%s'\ndoes not match\n'%s'",
	    s, re);
	regfree(&r);
}

/* The firmware's boot (Table A's shape) through to idle. */
static void
test_firmware_stages(void **state)
{
	struct ctlreg	*reg = ctlreg_new();
	struct ctlrec	*r;
	struct feed	 f;

	CHECK(reg != NULL, "ctlreg_new");
	r = ctlreg_open(reg, NULL, 7, "192.0.2.7:5000");
	feed_open(&f, r);
	feed(&f, r, 0, rabbit_hdr);
	feed(&f, r, 1, server_hdr);
	feed(&f, r, 0, "<iq type='get' id='1'><query xmlns='violet:iq:register'"
	    "/></iq>");
	feed(&f, r, 0, "<auth xmlns='" SASL "' mechanism='PLAIN'>" PLAIN_B64
	    "</auth>");
	feed(&f, r, 1, "<success xmlns='" SASL "'/>");
	feed(&f, r, 0, "<iq type='set' id='2'><bind xmlns='urn:ietf:params:xml:"
	    "ns:xmpp-bind'><resource>boot</resource></bind></iq>");
	feed(&f, r, 0, "<iq type='set' id='3'><session xmlns='urn:ietf:params:"
	    "xml:ns:xmpp-session'/></iq>");
	feed(&f, r, 1, "<iq type='result' id='3'/>");
	feed(&f, r, 0, "<iq type='get' id='4'><query xmlns='violet:iq:sources'"
	    "/></iq>");
	feed(&f, r, 0, "<iq type='set' id='5'><bind xmlns='urn:ietf:params:xml:"
	    "ns:xmpp-bind'><resource>idle</resource></bind></iq>");
	feed(&f, r, 0, "<presence id='6'/>");
	feed(&f, r, 1, "<presence from='x@y/idle'/>");
	match("^id=7 addr=192\\.0\\.2\\.7:5000 mac=0013d3840001 jid=- "
	    "firmware=- profile=- stage=idle error=- warning=- hazard=- "
	    "since=[0-9T:-]+Z "
	    "online=yes up=[0-9]+ down=[0-9]+ timeline=connected@\\+0ms,"
	    "stream@\\+[0-9]+ms,register@\\+[0-9]+ms,auth@\\+[0-9]+ms,"
	    "bind-boot@\\+[0-9]+ms,session@\\+[0-9]+ms,sources@\\+[0-9]+ms,"
	    "bind-idle@\\+[0-9]+ms,presence@\\+[0-9]+ms,idle@\\+[0-9]+ms\n$",
	    list(reg, 0, 0, NULL));
	match("^\\{\"id\":7,\"addr\":\"192\\.0\\.2\\.7:5000\",\"mac\":"
	    "\"0013d3840001\",\"jid\":\"\",\"firmware\":\"\",\"profile\":\"\","
	    "\"stage\":\"idle\",\"error\":\"\",\"warning\":\"\",\"hazard\":\"\","
	    "\"since\":"
	    "\"[0-9T:-]+Z\",\"online\":true,\"bytes_from_rabbit\":[0-9]+,"
	    "\"bytes_from_server\":[0-9]+,\"timeline\":\\[\\{\"stage\":"
	    "\"connected\",\"ms\":0\\},\\{\"stage\":\"stream\",\"ms\":[0-9]+\\}"
	    ".*\\{\"stage\":\"idle\",\"ms\":[0-9]+\\}\\]\\}\n$",
	    list(reg, 1, 0, NULL));
	/* Online: ending leaves no history. */
	ctlreg_close(r);
	assert_string_equal(list(reg, 0, 0, NULL), "");
	assert_string_equal(list(reg, 0, 1, NULL), "");
	feed_close(&f);
	ctlreg_free(reg);
}

/* The simulator, and attempts that fail: stage and why, in the history. */
static void
test_failures(void **state)
{
	struct ctlreg	*reg = ctlreg_new();
	struct ctlrec	*r;
	struct feed	 f;
	struct evbuffer	*eb = evbuffer_new();
	struct ctlreg_counts c;
	char		*h;

	CHECK(reg != NULL && eb != NULL, "new");
	r = ctlreg_open(reg, NULL, 1, "192.0.2.1:1");
	feed_open(&f, r);
	feed(&f, r, 0, rabbit_hdr);
	feed(&f, r, 1, server_hdr);
	feed(&f, r, 0, "<iq type='set' id='r'><query xmlns='jabber:iq:register'>"
	    "<username>0013d3840002</username><password>pw</password></query>"
	    "</iq>");
	feed(&f, r, 1, "<iq type='error' id='r'><error type='cancel'><conflict "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text>x</text></error>"
	    "</iq>");
	ctlreg_warning(r, "a warning\nwith a newline");
	ctlreg_closing(r, NULL, "rabbit closed the connection");
	ctlreg_close(r);
	feed_close(&f);
	r = ctlreg_open(reg, NULL, 2, "192.0.2.1:2");
	feed_open(&f, r);
	feed(&f, r, 0, rabbit_hdr);
	feed(&f, r, 1, server_hdr);
	feed(&f, r, 0, "<auth xmlns='" SASL "' mechanism='PLAIN'>" PLAIN_B64
	    "</auth>");
	feed(&f, r, 1, "<failure xmlns='" SASL "'><not-authorized/></failure>");
	ctlreg_closing(r, "not-authorized", NULL);
	ctlreg_closing(r, "reset", "ignored: the first reason stays");
	ctlreg_close(r);
	feed_close(&f);
	h = list(reg, 0, 1, NULL);
	match("^id=2 addr=192\\.0\\.2\\.1:2 mac=0013d3840001 .* stage=auth "
	    "error=\"authentication failed at auth: not-authorized\" warning=- "
	    "hazard=\"markup read as text: [^ ]*not-authorized/>.* online=no .* ended=\\+[0-9]+ms reason=closed timeline="
	    "connected@\\+0ms,stream@\\+[0-9]+ms,auth@\\+[0-9]+ms\n"
	    "id=1 .* stage=register error=\"refused at register: conflict\" "
	    "warning=\"a warning\\\\x0awith a newline\" .* reason=\"rabbit closed "
	    "the connection\" timeline=connected@\\+0ms,stream@\\+[0-9]+ms,"
	    "register@\\+[0-9]+ms\n$", h);
	match("^id=2 ", list(reg, 0, 1, "00:13:D3:84:00:01"));
	assert_string_equal(list(reg, 0, 1, "0013d3849999"), "");
	assert_int_equal(ctlreg_history(reg, eb, "nope", 0), -2);
	match("\"reason\":\"rabbit closed the connection\"", list(reg, 1, 1,
	    NULL));
	assert_int_equal(ctlreg_stats(reg, eb), 0);
	evbuffer_add(eb, "", 1);
	h = (char *)evbuffer_pullup(eb, -1);
	match("^sessions=0 opened=2 never_online=2 kicked=0 history=2 "
	    "bytes_from_rabbits=[0-9]+ bytes_from_server=[0-9]+ watch=0\n", h);
	assert_int_equal(ctlreg_kick(reg, 1), -1);
	ctlreg_counts(reg, &c);
	assert_string_equal(ctlreg_cond_name(12), "not-authorized");
	assert_string_equal(ctlreg_cond_name(CTLREG_NCONDS - 1), "other");
	assert_string_equal(ctlreg_cond_name(99), "other");
	assert_int_equal(c.closed[0], 1);
	assert_int_equal(c.closed[12], 1);
	assert_int_equal(c.never_online, 2);
	assert_int_equal(c.history, 2);
	evbuffer_free(eb);
	ctlreg_free(reg);
}

/* The history keeps the newest CTLREG_HISTORY attempts. */
static void
test_history_bound(void **state)
{
	struct ctlreg	*reg = ctlreg_new();
	struct ctlrec	*r;
	uint64_t	 i;
	char		*h;

	CHECK(reg != NULL, "ctlreg_new");
	for (i = 1; i <= CTLREG_HISTORY + 5; i++) {
		r = ctlreg_open(reg, NULL, i, "192.0.2.1:1");
		ctlreg_close(r);
	}
	h = list(reg, 0, 1, NULL);
	match("^id=37 ", h);
	EXPECT(strstr(h, "\nid=6 ") != NULL && strstr(h, "\nid=5 ") == NULL,
	    "the oldest went: %s", h);
	ctlreg_free(reg);
}

static void
test_watch_and_taps(void **state)
{
	struct ctlreg	*reg = ctlreg_new();
	struct ctlrec	*r, *r2;
	struct ctltap	*all, *byid, *bymac;
	struct sink	 sa = { .len = 0 }, si = { .len = 0 }, sm = { .len = 0 };
	struct feed	 f, f2;
	char		 err[128];

	CHECK(reg != NULL, "ctlreg_new");
	assert_int_equal(ctlreg_set_watch(reg, "0013d3840001, 00-13-d3-84-00-09",
	    err, sizeof(err)), 0);
	assert_int_equal(ctlreg_set_watch(reg, "0013d3840001 0013d38400", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "watch: '0013d38400' is not a MAC (12 hex "
	    "digits)");
	assert_null(ctlreg_tap(reg, "x1", LOGFMT_VM, sink_cb, &sa, err,
	    sizeof(err)));
	assert_string_equal(err, "tap: 'x1' is not all, a session id or a MAC");
	r = ctlreg_open(reg, NULL, 3, "192.0.2.1:3");
	r2 = ctlreg_open(reg, NULL, 4, "192.0.2.1:4");
	all = ctlreg_tap(reg, "all", LOGFMT_VM, sink_cb, &sa, err, sizeof(err));
	byid = ctlreg_tap(reg, "4", LOGFMT_RAW, sink_cb, &si, err, sizeof(err));
	CHECK(all != NULL && byid != NULL, "taps: %s", err);
	feed_open(&f, r);
	feed_open(&f2, r2);
	feed(&f, r, 0, rabbit_hdr);
	feed(&f, r, 1, server_hdr);
	feed(&f2, r2, 0, "<?xml version='1.0'?><stream:stream to='a' "
	    "xmlns:stream='http://etherx.jabber.org/streams'>");
	feed(&f, r, 0, "<auth xmlns='" SASL "' mechanism='PLAIN'>" PLAIN_B64
	    "</auth>");
	feed(&f, r, 1, "<failure xmlns='" SASL "'><not-authorized>"
	    "</not-authorized></failure>");
	assert_string_equal(si.buf, "4 SEND:\n4 \n4 <?xml version='1.0'?>"
	    "<stream:stream to='a' xmlns:stream='http://etherx.jabber.org/"
	    "streams'>\n4 \n");
	EXPECT(strstr(sa.buf, "3 [vm] Sending : <auth xmlns='" SASL "' "
	    "mechanism='PLAIN'>" PLAIN_B64 "</auth>(end)\n") != NULL,
	    "tap all: %s", sa.buf);
	EXPECT(strstr(sa.buf, "3 [vm]     |..not-authorized\n") != NULL,
	    "tap all: %s", sa.buf);
	ctlreg_untap(reg, byid);
	ctlreg_close(r);
	ctlreg_close(r2);
	/* The watched MAC's attempt replays, from its very first unit. */
	bymac = ctlreg_tap(reg, "00:13:d3:84:00:01", LOGFMT_VM, sink_cb, &sm,
	    err, sizeof(err));
	CHECK(bymac != NULL, "tap by MAC: %s", err);
	EXPECT(strncmp(sm.buf, "3 [vm] Sending : <?xml version='1.0' "
	    "encoding='UTF-8'?>\n3 [vm] <stream:stream", 58) == 0,
	    "replay: %s", sm.buf);
	EXPECT(strstr(sm.buf, "3 [vm]     |..not-authorized\n") != NULL,
	    "replay: %s", sm.buf);
	EXPECT(strstr(sm.buf, "4 ") == NULL, "another rabbit: %s", sm.buf);
	/* The unwatched session 4 (no MAC) stays in the history, unreplayed. */
	match("^id=4 .*\nid=3 ", list(reg, 0, 1, NULL));
	ctlreg_untap(reg, bymac);
	ctlreg_untap(reg, all);
	feed_close(&f);
	feed_close(&f2);
	ctlreg_free(reg);
}

/* No registry: every call is a no-op. */
static void
test_null(void **state)
{
	assert_null(ctlreg_open(NULL, NULL, 1, "x"));
	ctlreg_unit(NULL, 0, NULL);
	ctlreg_traffic(NULL, 0, LOGSAFE_VM_NONE, NULL, "x", 1, -1);
	ctlreg_stanza(NULL, 0, NULL);
	ctlreg_warning(NULL, "x");
	ctlreg_closing(NULL, "reset", "x");
	ctlreg_close(NULL);
	ctlreg_free(NULL);
	assert_string_equal(ctlreg_stage_name(CTL_BIND_BOOT), "bind-boot");
	assert_string_equal(ctlreg_stage_name((enum ctl_stage)99), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_firmware_stages),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_history_bound),
		cmocka_unit_test(test_watch_and_taps),
		cmocka_unit_test(test_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
